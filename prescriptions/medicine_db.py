"""The medicine database (Lääketietokanta): the CSV layout and its import. See docs/medicine-database.md.

The database is refreshed twice a month. A refresh is a full file, not a diff: every package in it is
inserted or updated by its VNR, and a package missing from it is marked as no longer marketed, never
deleted, because prescriptions and dispensings keep pointing at it.

Each row is checked on its own: a bad row is rejected with its line number and the reason, and the good rows
still import. A file that cannot be read as a whole (no header row, a missing column, not UTF-8) is refused
and nothing is written. The whole import runs in one transaction with bulk statements, so a 10,000-row file
takes a few seconds and a failure leaves the previous database as it was.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import AuditCategory
from prescriptions.models import Product, ProductImport, Reimbursement

DELIMITER = ";"
# The columns every file must name in its header row, in the documented order (any order is accepted).
COLUMNS = (
    "vnr",
    "name",
    "atc",
    "active_substance",
    "strength",
    "form",
    "package_size",
    "package_quantity",
    "substitution_group",
    "retail_price",
    "reimbursement",
    "narcotic",
    "pkv",
    "special_permit",
    "marketed",
)
# Product fields a refresh may change; the VNR is the key and never changes.
UPDATED_FIELDS = COLUMNS[1:]
TEXT_LIMITS = {
    name: Product._meta.get_field(name).max_length
    for name in ("name", "active_substance", "strength", "form", "package_size", "substitution_group")
}
OPTIONAL_TEXT = {"substitution_group"}
BOOLEAN_COLUMNS = ("narcotic", "pkv", "special_permit", "marketed")
# Where `marketed` sits in the (pk, *UPDATED_FIELDS) tuples of _existing_products().
MARKETED_POSITION = 1 + UPDATED_FIELDS.index("marketed")

VNR_PATTERN = re.compile(r"[0-9]{6}")
# The WHO ATC code of a chemical substance (level 5): C08CA01 = C (cardiovascular) 08 CA 01.
ATC_PATTERN = re.compile(r"[A-Z][0-9][0-9][A-Z][A-Z][0-9][0-9]")
ATC_MAIN_GROUPS = "ABCDGHJLMNPRSV"
# A plain decimal with a comma or a point and no thousands separator: 12,50 or 12.50 or 1250.
NUMBER_PATTERN = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")
MAX_AMOUNT = Decimal("99999999.99")  # the DecimalField(max_digits=10, decimal_places=2) limit
CENT = Decimal("0.01")

BATCH_ROWS = 1000
# A refresh retires a handful of packages. A file that would take more than this share of the marketed
# packages off the market, and more than MASS_WITHDRAWAL_MIN of them, is more likely cut short or the wrong
# file: it is refused unless the caller says the withdrawal is meant.
MASS_WITHDRAWAL_SHARE = Decimal("0.10")
MASS_WITHDRAWAL_MIN = 100


class MedicineFileError(RuleViolation):
    """The file as a whole cannot be imported; nothing was written."""


class Progress(Protocol):
    """What the import reports progress to: a tqdm bar fits."""

    def reset(self, total: int | None = None) -> None: ...

    def update(self, n: int = 1) -> Any: ...


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str

    def __str__(self) -> str:
        return _("line %(line)s: %(reason)s") % {"line": self.line, "reason": self.reason}


@dataclass
class _Counts:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    no_longer_marketed: int = 0
    rejections: list[Rejection] = field(default_factory=list)


def import_products(
    *,
    path: str | Path | None = None,
    lines: Iterable[str] | str | None = None,
    file_name: str | None = None,
    actor: audit.Actor | None = None,
    progress: Progress | None = None,
    allow_mass_withdrawal: bool = False,
) -> ProductImport:
    """Import a medicine database file given by its `path`, or as text `lines` (header row first).

    Returns the saved ProductImport. It also carries, for the caller's summary, `unchanged` and
    `no_longer_marketed` (counts the model has no column for: they are in the report text) and
    `rejections`, the rejected rows in file order. Raises MedicineFileError when the file is refused,
    including when it would take many packages off the market at once and `allow_mass_withdrawal` is not set.
    """
    if (path is None) == (lines is None):
        raise ValueError("Give either path or lines.")
    if path is not None:
        file_name = file_name or Path(path).name
        lines = _read_utf8(Path(path))
    elif isinstance(lines, str):
        lines = lines.splitlines(keepends=True)
    file_name = (file_name or _("(lines)"))[: ProductImport._meta.get_field("file_name").max_length]

    reader = csv.reader(_strip_bom(lines), delimiter=DELIMITER, quotechar='"', strict=True)
    records = _records(reader)
    _header_line, header = _header(records)
    positions = {name: header.index(name) for name in COLUMNS}
    ignored_columns = [name for name in header if name not in COLUMNS]
    rows = list(records)  # a 10,000-row file is a few megabytes: read it whole for the progress total
    if progress is not None:
        progress.reset(total=len(rows))

    counts = _Counts(rows=len(rows))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Two imports at once would each mark the other's new packages as no longer marketed. This lock
            # queues imports and writes to the table; reading it (prescribing, dispensing) goes on.
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE prescriptions_product IN SHARE ROW EXCLUSIVE MODE")
        existing = _existing_products()
        first_line_of: dict[str, int] = {}
        for start in range(0, len(rows), BATCH_ROWS):
            batch = rows[start : start + BATCH_ROWS]
            upserts: list[Product] = []
            for line, cells in batch:
                product = _checked_row(line, cells, header, positions, first_line_of, counts)
                if product is None:
                    continue
                before = existing.get(product.vnr)
                if before is None:
                    counts.created += 1
                    upserts.append(product)
                elif before[1:] != _values(product):
                    counts.updated += 1
                    upserts.append(product)
                else:
                    counts.unchanged += 1
            # One INSERT ... ON CONFLICT (vnr) DO UPDATE per batch; unchanged rows are not written, so
            # `updated_at` says when a package last changed.
            Product.objects.bulk_create(
                upserts,
                update_conflicts=True,
                unique_fields=["vnr"],
                update_fields=[*UPDATED_FIELDS, "updated_at"],
            )
            if progress is not None:
                progress.update(len(batch))

        # A package the file no longer lists has left the market. A rejected row still names its package
        # (first_line_of holds every well-formed VNR): it keeps its old data and stays marketed.
        gone = [
            values[0]
            for vnr, values in existing.items()
            if vnr not in first_line_of and values[MARKETED_POSITION]
        ]
        marketed = sum(1 for values in existing.values() if values[MARKETED_POSITION])
        if (
            not allow_mass_withdrawal
            and len(gone) > MASS_WITHDRAWAL_MIN
            and len(gone) > marketed * MASS_WITHDRAWAL_SHARE
        ):
            # Raised inside the transaction: every write of this import is rolled back.
            raise MedicineFileError(
                _(
                    "The file would take %(count)s of the %(marketed)s marketed packages off the market. A "
                    "refresh retires only a few: check that the file is complete. If it is, import it again "
                    "allowing a mass withdrawal (import_medicines --allow-mass-withdrawal)."
                )
                % {"count": len(gone), "marketed": marketed}
            )

        for start in range(0, len(gone), BATCH_ROWS):
            Product.objects.filter(pk__in=gone[start : start + BATCH_ROWS]).update(
                marketed=False, updated_at=timezone.now()
            )
        counts.no_longer_marketed = len(gone)
        product_import = ProductImport.objects.create(
            file_name=file_name,
            created=counts.created,
            updated=counts.updated,
            rejected=len(counts.rejections),
            report=_report(file_name, counts, ignored_columns),
        )
        audit.record(
            actor=actor or audit.Actor(),
            action="medicine_database.import",
            category=AuditCategory.CHANGE,
            object_type="product_import",
            object_ids=[product_import.pk],
        )
    product_import.unchanged = counts.unchanged
    product_import.no_longer_marketed = counts.no_longer_marketed
    product_import.rejections = counts.rejections
    product_import.ignored_columns = ignored_columns
    return product_import


# -- reading the file ---------------------------------------------------------------------------------------


def _read_utf8(path: Path) -> list[str]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise MedicineFileError(
            _("Line %(line)s is not valid UTF-8. Save the file as UTF-8 and import it again.")
            % {"line": line}
        ) from error
    return text.splitlines(keepends=True)


def _strip_bom(lines: Iterable[str]) -> Iterator[str]:
    first = True
    for line in lines:
        if first:
            # Spreadsheet programs start a UTF-8 file with a byte order mark.
            line = line.removeprefix("\ufeff")
            first = False
        yield line


def _records(reader) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank record; the line number is where the record ends."""
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise MedicineFileError(
                _("Line %(line)s cannot be read as CSV (%(error)s). Check the quotation marks.")
                % {"line": reader.line_num, "error": error}
            ) from error
        if any(cell.strip() for cell in cells):
            yield reader.line_num, cells


def _header(records: Iterator[tuple[int, list[str]]]) -> tuple[int, list[str]]:
    expected = DELIMITER.join(COLUMNS)
    try:
        line, cells = next(records)
    except StopIteration:
        raise MedicineFileError(
            _("The file is empty: it needs a header row (%(columns)s).") % {"columns": expected}
        ) from None
    names = [cell.strip().lower() for cell in cells]
    if "vnr" not in names:
        if len(cells) == 1 and "vnr" in names[0] and ("," in names[0] or "\t" in names[0]):
            raise MedicineFileError(
                _(
                    "The columns must be separated by semicolons (;), not by commas or tabs. Line %(line)s: %(text)s"
                )
                % {"line": line, "text": _shorten(cells[0])}
            )
        raise MedicineFileError(
            _(
                "The file has no header row. The first line must name the columns (%(columns)s), "
                "but line %(line)s starts with “%(text)s”."
            )
            % {"columns": expected, "line": line, "text": _shorten(cells[0])}
        )
    duplicates = sorted({name for name in names if name and names.count(name) > 1})
    if duplicates:
        raise MedicineFileError(
            _("The header row names a column twice: %(columns)s.") % {"columns": ", ".join(duplicates)}
        )
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        raise MedicineFileError(
            _("The header row lacks the column(s) %(missing)s. Expected: %(columns)s.")
            % {"missing": ", ".join(missing), "columns": expected}
        )
    return line, names


# -- checking one row ---------------------------------------------------------------------------------------


def _checked_row(
    line: int,
    cells: list[str],
    header: list[str],
    positions: dict[str, int],
    first_line_of: dict[str, int],
    counts: _Counts,
) -> Product | None:
    """The row as an unsaved Product, or None after recording why it was rejected."""
    problems: list[str] = []

    def cell(name: str) -> str | None:
        position = positions[name]
        return cells[position].strip() if position < len(cells) else None

    vnr = cell("vnr")
    well_formed_vnr = vnr is not None and VNR_PATTERN.fullmatch(vnr) is not None
    if well_formed_vnr:
        earlier = first_line_of.get(vnr)
        if earlier is not None:
            counts.rejections.append(
                Rejection(
                    line, _("VNR %(vnr)s is already on line %(earlier)s.") % {"vnr": vnr, "earlier": earlier}
                )
            )
            return None
        first_line_of[vnr] = line

    if len(cells) != len(header):
        absent = [name for name in header[len(cells) :]]
        if absent:
            problems.append(
                _("the row has %(cells)s fields but the header has %(columns)s; missing: %(missing)s")
                % {"cells": len(cells), "columns": len(header), "missing": ", ".join(absent)}
            )
        else:
            problems.append(
                _("the row has %(cells)s fields but the header has %(columns)s (an extra “;”?)")
                % {"cells": len(cells), "columns": len(header)}
            )
        counts.rejections.append(Rejection(line, "; ".join(problems)))
        return None

    values: dict[str, Any] = {}
    if not well_formed_vnr:
        problems.append(_("VNR “%(value)s” must be exactly 6 digits") % {"value": vnr})
    values["vnr"] = vnr

    atc = cell("atc") or ""
    if not ATC_PATTERN.fullmatch(atc):
        problems.append(
            _("ATC code “%(value)s” is not a 7-character WHO ATC code such as C08CA01") % {"value": atc}
        )
    elif atc[0] not in ATC_MAIN_GROUPS:
        problems.append(
            _("ATC code “%(value)s” does not start with an anatomical main group (%(groups)s)")
            % {"value": atc, "groups": ", ".join(ATC_MAIN_GROUPS)}
        )
    values["atc"] = atc

    for name, limit in TEXT_LIMITS.items():
        text = cell(name) or ""
        if not text and name not in OPTIONAL_TEXT:
            problems.append(_("%(column)s is empty") % {"column": name})
        elif len(text) > limit:
            problems.append(
                _("%(column)s is %(length)s characters long, at most %(limit)s allowed")
                % {"column": name, "length": len(text), "limit": limit}
            )
        values[name] = text

    quantity = _decimal("package_quantity", cell("package_quantity") or "", problems)
    if quantity is not None and quantity <= 0:
        problems.append(
            _("package_quantity %(value)s must be more than zero") % {"value": cell("package_quantity")}
        )
    values["package_quantity"] = quantity

    price = _decimal("retail_price", cell("retail_price") or "", problems)
    if price is not None and price < 0:
        problems.append(_("retail_price %(value)s must not be negative") % {"value": cell("retail_price")})
    values["retail_price"] = price

    reimbursement = cell("reimbursement") or ""
    if reimbursement not in Reimbursement.values:
        problems.append(
            _("reimbursement “%(value)s” is not one of %(choices)s")
            % {"value": reimbursement, "choices": ", ".join(Reimbursement.values)}
        )
    values["reimbursement"] = reimbursement

    for name in BOOLEAN_COLUMNS:
        flag = cell(name)
        if flag not in ("0", "1"):
            problems.append(_("%(column)s must be 0 or 1, not “%(value)s”") % {"column": name, "value": flag})
        values[name] = flag == "1"

    if problems:
        counts.rejections.append(Rejection(line, "; ".join(problems)))
        return None
    return Product(**values)


def _decimal(column: str, text: str, problems: list[str]) -> Decimal | None:
    if not NUMBER_PATTERN.fullmatch(text):
        problems.append(
            _("%(column)s “%(value)s” is not a number such as 12,50 (no thousands separators)")
            % {"column": column, "value": text}
        )
        return None
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        problems.append(_("%(column)s “%(value)s” is not a number") % {"column": column, "value": text})
        return None
    if value != value.quantize(CENT):
        problems.append(
            _("%(column)s %(value)s has more than two decimals") % {"column": column, "value": text}
        )
        return None
    if abs(value) > MAX_AMOUNT:
        problems.append(_("%(column)s %(value)s is too large") % {"column": column, "value": text})
        return None
    return value.quantize(CENT)


# -- comparing and reporting --------------------------------------------------------------------------------


def _existing_products() -> dict[str, tuple]:
    """vnr -> (pk, *UPDATED_FIELDS) of every package already in the database (about 15,000 in reality)."""
    return {
        vnr: (pk, *_normalised(values))
        for vnr, pk, *values in Product.objects.values_list("vnr", "pk", *UPDATED_FIELDS).iterator(
            chunk_size=5000
        )
    }


def _values(product: Product) -> tuple:
    return tuple(_normalised([getattr(product, name) for name in UPDATED_FIELDS]))


def _normalised(values: Iterable[Any]) -> list[Any]:
    # Decimals compare by value (12.5 == 12.50); SQLite may hand back a float-based Decimal, so round.
    return [value.quantize(CENT) if isinstance(value, Decimal) else value for value in values]


def _report(file_name: str, counts: _Counts, ignored_columns: list[str]) -> str:
    lines = [
        _("Medicine database import of %(file)s") % {"file": file_name},
        _("Rows read: %(count)s") % {"count": counts.rows},
        _("New packages: %(count)s") % {"count": counts.created},
        _("Updated packages: %(count)s") % {"count": counts.updated},
        _("Unchanged packages: %(count)s") % {"count": counts.unchanged},
        _("No longer marketed: %(count)s") % {"count": counts.no_longer_marketed},
        _("Rejected rows: %(count)s") % {"count": len(counts.rejections)},
    ]
    if ignored_columns:
        lines.append(_("Ignored columns: %(columns)s") % {"columns": ", ".join(ignored_columns)})
    if counts.rejections:
        lines.append("")
        lines.extend(str(rejection) for rejection in counts.rejections)
    return "\n".join(lines)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
