from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KantaConfig(AppConfig):
    name = "kanta"
    verbose_name = _("Kanta core")
