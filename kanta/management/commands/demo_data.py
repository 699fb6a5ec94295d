"""Load the demo data set (kanta.demo): organisations, professionals with sign-in, persons, care relationships.

Then each installed app's demo content: an app may have a module `demo_content.py` with a function
`load(*, stdout) -> None` that writes its demo rows through its own services and is idempotent. kanta sits at
the bottom of the import graph and never names the apps above it, so the modules are found by Django's
autodiscovery (by string, as the admin finds `admin.py`) and loaded in INSTALLED_APPS order: an app's demo
content may build on that of the apps listed before it (consents reads what archive wrote).

Operator output, in English like Django's own commands (management commands run with translation off).
"""

from __future__ import annotations

import sys
from types import ModuleType

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils.module_loading import autodiscover_modules

from kanta import demo
from kanta.models import (
    CareRelationship,
    Guardianship,
    Organisation,
    OrganisationKind,
    Person,
    Profession,
    Professional,
    Register,
    Unit,
)

CONTENT_MODULE = "demo_content"


def content_modules() -> list[ModuleType]:
    """Every installed app's `demo_content` module, in INSTALLED_APPS order."""
    autodiscover_modules(CONTENT_MODULE)
    return [
        sys.modules[name]
        for config in apps.get_app_configs()
        if (name := f"{config.name}.{CONTENT_MODULE}") in sys.modules
    ]


class Command(BaseCommand):
    help = (
        "Create or update the demo data set (idempotent). Every demo account gets the same, printed password; "
        "refused when DEBUG is off unless --force is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load even though DEBUG is off. The demo accounts have a published password: never in production.",
        )

    def handle(self, *args, force: bool = False, **options):
        # The password and the one-time code keys are public, so an accidental run against a production
        # database would open accounts to anyone: DEBUG is the signal that this is a demo.
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load demo data with DEBUG off: the demo accounts have a published password. "
                "Use --force if this database really is a demo."
            )
        demo.load()
        self._print_accounts()
        self._print_persons()
        self._print_summary()
        modules = content_modules()
        if modules:
            self.stdout.write("")
            self.stdout.write("Demo content of the apps:")
        for module in modules:
            module.load(stdout=self.stdout)

    def _print_accounts(self) -> None:
        unit_names = {unit.key: unit.name_fi for org in demo.ORGANISATIONS for unit in org.units}
        rows = [("admin", "superuser (Django admin)", "")]
        rows += [
            (org.admin_username, "organisation admin", org.name_fi)
            for org in demo.ORGANISATIONS
            if org.admin_username
        ]
        rows += [
            (p.username, str(Profession(p.profession).label), "; ".join(unit_names[key] for key in p.units))
            for p in demo.PROFESSIONALS
        ]
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(f"Password of every demo account: {demo.DEMO_PASSWORD}")
        self.stdout.write(
            "One-time code: manage.py demo_totp <username> (--uri gives a link for an authenticator app)."
        )
        self.stdout.write("")
        self._table(("username", "role", "works in"), rows)

    def _print_persons(self) -> None:
        self.stdout.write("")
        self.stdout.write("Persons to try on the test identification page:")
        self._table(
            ("identity code", "name", "notes"),
            [(p.identity_code, f"{p.first_names} {p.last_name}", p.note) for p in demo.PERSONS if p.note],
        )
        others = sum(1 for p in demo.PERSONS if not p.note)
        self.stdout.write(f"…and {others} other adults.")

    def _print_summary(self) -> None:
        kinds = dict(Organisation.objects.values_list("kind").annotate(n=Count("id")))
        organisations = ", ".join(
            f"{label} {kinds[kind]}" for kind, label in OrganisationKind.choices if kinds.get(kind)
        )
        self.stdout.write("")
        self.stdout.write(f"Organisations by kind: {organisations}.")
        self.stdout.write(
            f"{Unit.objects.count()} units, {Register.objects.count()} registers, "
            f"{Professional.objects.count()} professionals, {Person.objects.count()} persons, "
            f"{Guardianship.objects.count()} guardianships, "
            f"{CareRelationship.objects.active().count()} active care relationships."
        )

    def _table(self, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )
