"""The medicine database import (docs/medicine-database.md): the shipped sample, refreshes that keep
prescriptions pointing at their packages, rejected rows with line numbers, refused files."""

from __future__ import annotations

import csv
import io
import re
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from kanta.models import AuditEvent
from prescriptions.medicine_db import COLUMNS, MedicineFileError, import_products
from prescriptions.models import Product, ProductImport
from tests.factories_prescriptions import DispensingFactory, PrescriptionFactory

pytestmark = pytest.mark.django_db

SAMPLE = Path(settings.BASE_DIR) / "prescriptions" / "data" / "medicines.csv"
HEADER = ";".join(COLUMNS)
ATC = re.compile(r"^[A-Z]\d\d[A-Z][A-Z]\d\d$")


def row(**changes: str) -> str:
    """One valid data line (amlodipine 5 mg, 100 tablets) with some values changed."""
    values = {
        "vnr": "123456",
        "name": "Amlodipin",
        "atc": "C08CA01",
        "active_substance": "amlodipine",
        "strength": "5 mg",
        "form": "tablet",
        "package_size": "100 tabl",
        "package_quantity": "100",
        "substitution_group": "C08CA01-5",
        "retail_price": "6,40",
        "reimbursement": "lower_special",
        "narcotic": "0",
        "pkv": "0",
        "special_permit": "0",
        "marketed": "1",
    } | changes
    return ";".join(values[name] for name in COLUMNS)


def run(*rows: str, header: str = HEADER) -> ProductImport:
    return import_products(lines=[f"{line}\n" for line in (header, *rows)], file_name="test.csv")


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file, delimiter=";"))


# -- the shipped sample -------------------------------------------------------------------------------------


def test_the_sample_imports_without_a_single_rejected_row():
    rows = sample_rows()

    result = import_products(path=SAMPLE)

    assert result.rejections == []
    assert (result.created, result.updated, result.rejected) == (len(rows), 0, 0)
    assert Product.objects.count() == len(rows)
    assert result.file_name == "medicines.csv"


def test_every_atc_code_in_the_sample_is_a_full_who_atc_code():
    rows = sample_rows()

    bad = [r["atc"] for r in rows if not ATC.match(r["atc"])]

    assert bad == []
    assert len({r["atc"] for r in rows}) >= 200  # a few hundred real codes
    assert {r["atc"][0] for r in rows} == set("ABCDGHJLMNPRSV")  # every anatomical main group


def test_the_sample_has_unique_six_digit_vnrs_and_what_the_rules_need():
    rows = sample_rows()
    vnrs = [r["vnr"] for r in rows]

    assert len(vnrs) == len(set(vnrs))
    assert all(re.fullmatch(r"[1-5]\d{5}", vnr) for vnr in vnrs)
    assert 250 <= len(rows) <= 500
    # the one-month purchase rule, the one-year validity and the "no longer marketed" state all occur
    assert sum(Decimal(r["retail_price"].replace(",", ".")) > 1000 for r in rows) >= 5
    assert any(r["narcotic"] == "1" for r in rows)
    assert any(r["pkv"] == "1" and r["narcotic"] == "0" for r in rows)
    assert any(r["special_permit"] == "1" for r in rows)
    assert any(r["marketed"] == "0" for r in rows)


def test_sample_substitution_groups_join_one_substance_strength_and_form():
    groups = defaultdict(list)
    for r in sample_rows():
        if r["substitution_group"]:
            groups[r["substitution_group"]].append(r)

    for name, members in groups.items():
        assert len(members) >= 2, name
        assert len({(m["atc"], m["strength"], m["form"]) for m in members}) == 1, name
    amlodipine = [m for m in groups["C08CA01-5"] if m["package_size"] == "100 tabl"]
    assert len({m["name"] for m in amlodipine}) >= 3


# -- refreshes ----------------------------------------------------------------------------------------------


def test_importing_the_same_file_again_changes_nothing():
    import_products(path=SAMPLE)
    before = dict(Product.objects.values_list("vnr", "updated_at"))

    again = import_products(path=SAMPLE)

    assert (again.created, again.updated, again.no_longer_marketed, again.rejected) == (0, 0, 0, 0)
    assert again.unchanged == len(before)
    assert dict(Product.objects.values_list("vnr", "updated_at")) == before
    assert f"Unchanged packages: {len(before)}" in again.report


def test_a_refresh_updates_price_and_group_and_retires_a_missing_package_without_breaking_prescriptions():
    run(
        row(vnr="111111", retail_price="6,40"),
        row(vnr="222222", name="Vasidan", retail_price="8,20"),
        row(vnr="333333", name="Amlopres", retail_price="6,90"),
    )
    retired = Product.objects.get(vnr="333333")
    prescription = PrescriptionFactory(product=retired)
    dispensing = DispensingFactory(prescription=prescription)

    result = run(
        row(vnr="111111", retail_price="5.95", substitution_group="C08CA01-5B", name="Amlodipin Plus"),
        row(vnr="222222", name="Vasidan", retail_price="8,20"),
    )

    assert (result.created, result.updated, result.unchanged, result.no_longer_marketed) == (0, 1, 1, 1)
    changed = Product.objects.get(vnr="111111")
    assert (changed.retail_price, changed.substitution_group, changed.name) == (
        Decimal("5.95"),
        "C08CA01-5B",
        "Amlodipin Plus",
    )
    retired.refresh_from_db()
    assert retired.marketed is False
    assert retired.retail_price == Decimal("6.90")  # the last known data stays
    prescription.refresh_from_db()
    dispensing.refresh_from_db()
    assert prescription.product_id == retired.pk
    assert dispensing.product_id == retired.pk
    assert Product.objects.count() == 3
    assert "No longer marketed: 1" in result.report


def test_a_package_back_in_the_file_is_marketed_again():
    run(row(vnr="111111"), row(vnr="222222"))
    run(row(vnr="111111"))
    assert not Product.objects.get(vnr="222222").marketed

    result = run(row(vnr="111111"), row(vnr="222222"))

    assert Product.objects.get(vnr="222222").marketed
    assert (result.updated, result.unchanged) == (1, 1)


def test_a_package_already_off_the_market_is_not_counted_again():
    run(row(vnr="111111"), row(vnr="222222"))
    run(row(vnr="111111"))

    result = run(row(vnr="111111"))

    assert result.no_longer_marketed == 0


def test_the_file_may_say_a_package_is_no_longer_marketed():
    run(row(vnr="111111"))

    result = run(row(vnr="111111", marketed="0"))

    assert result.updated == 1
    assert not Product.objects.get(vnr="111111").marketed


# -- rejected rows ------------------------------------------------------------------------------------------


def test_bad_rows_are_rejected_with_line_numbers_and_reasons_and_the_good_rows_import():
    result = run(
        row(vnr="111111"),  # line 2
        row(vnr="12345"),  # line 3
        row(vnr="222222", atc="C8CA01"),  # line 4
        row(vnr="333333", retail_price="-1,00"),  # line 5
        row(vnr="444444", reimbursement="full"),  # line 6
        ";".join(row(vnr="555555").split(";")[:-1]),  # line 7: the marketed column is missing
        row(vnr="666666"),  # line 8
    )

    assert sorted(Product.objects.values_list("vnr", flat=True)) == ["111111", "666666"]
    assert result.created == 2
    assert result.rejected == 5
    reasons = {rejection.line: rejection.reason for rejection in result.rejections}
    assert list(reasons) == [3, 4, 5, 6, 7]
    assert "VNR “12345” must be exactly 6 digits" in reasons[3]
    assert "ATC code “C8CA01” is not a 7-character WHO ATC code" in reasons[4]
    assert "retail_price -1,00 must not be negative" in reasons[5]
    assert "reimbursement “full” is not one of none, basic, lower_special, higher_special" in reasons[6]
    assert "missing: marketed" in reasons[7]
    assert "line 3: VNR “12345” must be exactly 6 digits" in result.report
    assert "Rejected rows: 5" in result.report


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"atc": "c08ca01"}, "is not a 7-character WHO ATC code"),
        ({"atc": "C08CA1"}, "is not a 7-character WHO ATC code"),
        ({"atc": "X08CA01"}, "does not start with an anatomical main group"),
        ({"vnr": "12345a"}, "must be exactly 6 digits"),
        ({"package_quantity": "0"}, "package_quantity 0 must be more than zero"),
        ({"package_quantity": "-5"}, "package_quantity -5 must be more than zero"),
        ({"retail_price": "1 092,80"}, "is not a number such as 12,50 (no thousands separators)"),
        ({"retail_price": "1,005"}, "has more than two decimals"),
        ({"retail_price": ""}, "retail_price “” is not a number"),
        ({"narcotic": "yes"}, "narcotic must be 0 or 1, not “yes”"),
        ({"marketed": ""}, "marketed must be 0 or 1"),
        ({"name": ""}, "name is empty"),
        ({"form": "x" * 61}, "form is 61 characters long, at most 60 allowed"),
    ],
)
def test_a_row_breaking_a_rule_is_rejected_with_the_reason(changes, reason):
    result = run(row(**changes))

    assert result.rejected == 1
    assert reason in result.rejections[0].reason
    assert not Product.objects.exists()


def test_all_problems_of_a_row_are_named():
    result = run(row(atc="C8", retail_price="-2", pkv="2"))

    reason = result.rejections[0].reason
    assert "ATC code" in reason
    assert "retail_price -2 must not be negative" in reason
    assert "pkv must be 0 or 1" in reason


def test_a_row_with_an_extra_field_is_rejected():
    result = run(row() + ";extra")

    assert "the row has 16 fields but the header has 15" in result.rejections[0].reason


def test_a_rejected_row_keeps_its_package_as_it_was_and_on_the_market():
    run(row(vnr="111111", retail_price="6,40"))

    result = run(row(vnr="111111", retail_price="6,40 EUR"))

    product = Product.objects.get(vnr="111111")
    assert (product.retail_price, product.marketed) == (Decimal("6.40"), True)
    assert (result.rejected, result.no_longer_marketed) == (1, 0)


def test_a_vnr_given_twice_keeps_the_first_row():
    result = run(row(vnr="111111", retail_price="6,40"), row(vnr="111111", retail_price="9,90"))

    assert Product.objects.get(vnr="111111").retail_price == Decimal("6.40")
    assert str(result.rejections[0]) == "line 3: VNR 111111 is already on line 2."


# -- the file as a whole ------------------------------------------------------------------------------------


def test_a_file_without_the_header_row_is_refused_and_nothing_changes():
    with pytest.raises(MedicineFileError) as refused:
        import_products(lines=[row(vnr="111111") + "\n", row(vnr="222222") + "\n"], file_name="x.csv")

    message = str(refused.value)
    assert "The file has no header row" in message
    assert "vnr;name;atc;" in message
    assert "line 1 starts with “111111”" in message
    assert not Product.objects.exists()
    assert not ProductImport.objects.exists()


def test_a_header_without_a_column_is_refused():
    header = HEADER.replace(";pkv", "")

    with pytest.raises(MedicineFileError, match="The header row lacks the column"):
        run(row(), header=header)


def test_a_comma_separated_file_is_refused_with_a_clear_message():
    with pytest.raises(MedicineFileError, match=r"separated by semicolons \(;\), not by commas"):
        run(row().replace(";", ","), header=HEADER.replace(";", ","))


def test_an_empty_file_is_refused():
    with pytest.raises(MedicineFileError, match="The file is empty"):
        import_products(lines=[], file_name="empty.csv")


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{HEADER}\n{row()}\n".encode() + row(vnr="222222", name="Lääke").encode("latin-1"))

    with pytest.raises(MedicineFileError, match="Line 3 is not valid UTF-8"):
        import_products(path=path)
    assert not Product.objects.exists()


def test_spreadsheet_conventions_are_accepted(tmp_path):
    """A byte order mark, Windows line ends, a decimal point or comma, header case, quotes, blank lines."""
    path = tmp_path / "excel.csv"
    quoted = row(vnr="222222", name='"Amlodipin; ""Forte"""', retail_price="7.10")
    text = f"\ufeff{HEADER.upper()}\r\n{row(vnr='111111')}\r\n\r\n{quoted}\r\n"
    path.write_text(text, encoding="utf-8")

    result = import_products(path=path)

    assert result.rejections == []
    assert Product.objects.get(vnr="222222").name == 'Amlodipin; "Forte"'
    assert Product.objects.get(vnr="222222").retail_price == Decimal("7.10")
    assert Product.objects.get(vnr="111111").retail_price == Decimal("6.40")


def test_unknown_columns_are_ignored_and_named_in_the_report():
    result = run(row() + ";ALV 14", header=HEADER + ";vat_class")

    assert result.created == 1
    assert result.ignored_columns == ["vat_class"]
    assert "Ignored columns: vat_class" in result.report


def test_an_import_is_audited():
    result = run(row())

    event = AuditEvent.objects.get(action="medicine_database.import")
    assert event.object_ids == [str(result.pk)]


def test_ten_thousand_rows_import_in_a_few_seconds_with_a_bounded_number_of_queries(
    django_assert_max_num_queries,
):
    rows = [row(vnr=f"{100000 + n}", retail_price=f"{n % 500},{n % 100:02d}") for n in range(10_000)]

    started = time.monotonic()
    with django_assert_max_num_queries(40):
        result = run(*rows)
    seconds = time.monotonic() - started

    assert result.created == 10_000
    assert seconds < 20
    with django_assert_max_num_queries(40):
        refreshed = run(*rows[:9_500])
    assert (refreshed.unchanged, refreshed.no_longer_marketed) == (9_500, 500)


def test_a_file_that_would_retire_most_packages_is_refused_as_probably_incomplete():
    import_products(path=SAMPLE)
    marketed = Product.objects.filter(marketed=True).count()

    with pytest.raises(
        MedicineFileError, match=rf"would take {marketed} of the {marketed} marketed packages"
    ):
        run(row(vnr="111111"))

    assert Product.objects.filter(marketed=True).count() == marketed
    assert not Product.objects.filter(vnr="111111").exists()
    assert ProductImport.objects.count() == 1


def test_a_mass_withdrawal_goes_through_when_it_is_meant():
    import_products(path=SAMPLE)
    marketed = Product.objects.filter(marketed=True).count()

    result = import_products(lines=[HEADER + "\n", row(vnr="111111") + "\n"], allow_mass_withdrawal=True)

    assert result.no_longer_marketed == marketed
    assert list(Product.objects.filter(marketed=True).values_list("vnr", flat=True)) == ["111111"]


# -- the command --------------------------------------------------------------------------------------------


def test_the_command_reports_counts_the_first_twenty_reasons_and_where_the_full_report_is(tmp_path):
    path = tmp_path / "refresh.csv"
    bad = [row(vnr=f"{n:05d}") for n in range(25)]
    path.write_text("\n".join([HEADER, row(vnr="111111"), *bad]) + "\n", encoding="utf-8")
    out = io.StringIO()

    call_command("import_medicines", str(path), stdout=out, verbosity=0)

    text = out.getvalue()
    assert re.search(r"new packages:\s+1\n", text)
    assert re.search(r"rejected rows:\s+25\n", text)
    assert "Rejected rows (the first 20 of 25):" in text
    assert "line 3: VNR “00000” must be exactly 6 digits" in text
    assert "line 22: " in text
    assert "line 23: " not in text
    product_import = ProductImport.objects.get()
    assert f"/admin/prescriptions/productimport/{product_import.pk}/change/" in text
    assert product_import.report.count("must be exactly 6 digits") == 25


def test_the_command_refuses_a_file_without_a_header(tmp_path):
    path = tmp_path / "noheader.csv"
    path.write_text(row() + "\n", encoding="utf-8")

    with pytest.raises(CommandError, match="was not imported: The file has no header row"):
        call_command("import_medicines", str(path), stdout=io.StringIO(), verbosity=0)
    assert not Product.objects.exists()


def test_the_command_refuses_a_mass_withdrawal_unless_allowed(tmp_path):
    call_command("import_medicines", str(SAMPLE), stdout=io.StringIO(), verbosity=0)
    path = tmp_path / "short.csv"
    path.write_text(f"{HEADER}\n{row()}\n", encoding="utf-8")

    with pytest.raises(CommandError, match="--allow-mass-withdrawal"):
        call_command("import_medicines", str(path), stdout=io.StringIO(), verbosity=0)
    assert not Product.objects.filter(marketed=True, vnr="123456").exists()

    out = io.StringIO()
    call_command("import_medicines", str(path), "--allow-mass-withdrawal", stdout=out, verbosity=0)
    assert Product.objects.filter(marketed=True).count() == 1


def test_the_command_loads_the_sample_idempotently():
    call_command("import_medicines", str(SAMPLE), stdout=io.StringIO(), verbosity=0)
    out = io.StringIO()

    call_command("import_medicines", str(SAMPLE), stdout=out, verbosity=0)

    assert re.search(rf"unchanged packages:\s+{len(sample_rows())}\n", out.getvalue())
    assert re.search(r"new packages:\s+0\n", out.getvalue())
