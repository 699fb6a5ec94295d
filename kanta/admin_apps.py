"""The admin app's configuration: django.contrib.admin with Kanta's site (kanta.admin_site), which asks for the
one-time code. A module of its own, because INSTALLED_APPS imports it before any model is loaded."""

from django.contrib.admin.apps import AdminConfig


class KantaAdminConfig(AdminConfig):
    default_site = "kanta.admin_site.KantaAdminSite"
