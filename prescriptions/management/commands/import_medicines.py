"""Import a medicine database file (docs/medicine-database.md): new and changed packages by VNR, packages
missing from the file marked as no longer marketed, bad rows rejected with their line numbers.

Exit status 0 when the file was imported (even with rejected rows: they are in the report), 1 when the file
was refused as a whole and nothing changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from django.utils.translation import gettext as _
from tqdm import tqdm

from prescriptions.medicine_db import MedicineFileError, import_products

SHOWN_REJECTIONS = 20


class _ProgressBar:
    """A tqdm bar on stderr, drawn once the import knows how many rows the file has."""

    def __init__(self, name: str, *, enabled: bool) -> None:
        self.name = name
        self.enabled = enabled
        self.bar: tqdm | None = None

    def reset(self, total: int | None = None) -> None:
        self.bar = tqdm(total=total, desc=self.name, unit=" rows", file=sys.stderr, disable=not self.enabled)

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.close()


class Command(BaseCommand):
    # argparse needs plain strings: command help stays in English, like Django's own commands.
    help = (
        "Import the medicine database from a CSV file (UTF-8, ';'-separated, header row; see "
        "docs/medicine-database.md). Packages are inserted or updated by VNR; packages missing from the file "
        "are marked as no longer marketed, never deleted. Running it again with the same file changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The CSV file, e.g. prescriptions/data/medicines.csv.")
        parser.add_argument(
            "--allow-mass-withdrawal",
            action="store_true",
            help="Import even if the file takes more than 10%% (and more than 100) of the marketed packages off "
            "the market; without it such a file is refused as probably incomplete.",
        )

    def handle(self, *args, path: str, allow_mass_withdrawal: bool = False, **options) -> None:
        file = Path(path)
        if not file.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        bar = _ProgressBar(file.name, enabled=options["verbosity"] > 0)
        try:
            with bar:
                result = import_products(path=file, progress=bar, allow_mass_withdrawal=allow_mass_withdrawal)
        except MedicineFileError as error:
            raise CommandError(
                _("%(file)s was not imported: %(error)s") % {"file": path, "error": error}
            ) from error
        self._report(path, result)

    def _report(self, path: str, result) -> None:
        rejected = result.rejected
        counts = [
            (_("new packages"), result.created),
            (_("updated packages"), result.updated),
            (_("unchanged packages"), result.unchanged),
            (_("no longer marketed"), result.no_longer_marketed),
            (_("rejected rows"), rejected),
        ]
        width = max(len(name) for name, _count in counts) + 1
        lines = [_("Imported %(file)s.") % {"file": path}]
        lines += [f"  {name + ':':<{width}} {count:>7}" for name, count in counts]
        if result.ignored_columns:
            lines.append(_("Ignored columns: %(columns)s") % {"columns": ", ".join(result.ignored_columns)})
        self.stdout.write("\n".join(lines))
        if rejected:
            shown = result.rejections[:SHOWN_REJECTIONS]
            heading = (
                _("Rejected rows (the first %(shown)s of %(total)s):")
                % {"shown": len(shown), "total": rejected}
                if rejected > len(shown)
                else _("Rejected rows:")
            )
            self.stdout.write(self.style.WARNING(heading))
            for rejection in shown:
                self.stdout.write(f"  {rejection}")
        url = reverse("admin:prescriptions_productimport_change", args=[result.pk])
        self.stdout.write(
            _("The full report is the medicine database import #%(id)s in the admin: %(url)s")
            % {"id": result.pk, "url": url}
        )
