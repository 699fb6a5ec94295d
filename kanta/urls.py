"""Root URLconf. Apps above the core are included by dotted string so that kanta never imports them."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Kanta"
admin.site.site_title = "Kanta"

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("professional/", include("professional.urls")),
    path("", include("citizen.urls")),
]
