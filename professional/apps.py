from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProfessionalConfig(AppConfig):
    name = "professional"
    verbose_name = _("Professional pages")
