"""Root URLconf. Apps above the core are included by dotted string so that kanta never imports them."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("professional/", include("professional.urls")),
    path("", include("citizen.urls")),
]
