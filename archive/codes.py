"""The code lists the archive ships as data (archive/codes/*.csv): ICD-10, LOINC and ATC subsets.

Each list is read once per process (functools.cache) and looked up by code. Titles come in Finnish, Swedish
and English; `title()` / `name()` answer in the active language and fall back to English.

- icd10.csv: a subset of the WHO ICD-10 (2019) codes common in Finnish primary and specialist care. The
  English title is the WHO title (tests check every code and title against the classification); the Finnish
  and Swedish titles follow the Finnish ICD-10 and the Swedish ICD-10-SE wording.
- lab_tests.csv: LOINC codes of common laboratory tests, with the SI unit and adult reference range as used
  in Finnish laboratories. Where the range differs by sex, `reference_low`/`reference_high` are the women's
  range and `male_reference_low`/`male_reference_high` the men's; blank means no limit on that side.
  Finnish laboratories report substance concentrations (mmol/L, µmol/L), so the list carries the LOINC codes
  whose property is a substance concentration (e.g. 14749-6 glucose, 14682-9 creatinine, 14647-2
  cholesterol) rather than the mass-concentration codes (2345-7, 2160-0, 2093-3) that mean mg/dL.
- measurements.csv: LOINC codes of vital signs and body measurements (blood pressure, weight...).
- vaccines.csv: vaccines by their ATC code (group J07) with the WHO ATC name.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.utils.translation import get_language

CODES_DIR = Path(__file__).resolve().parent / "codes"

ICD10_PATTERN = re.compile(r"^[A-Z]\d{2}(\.\d{1,2})?$")
LOINC_PATTERN = re.compile(r"^\d{1,7}-\d$")
ATC_PATTERN = re.compile(r"^[A-Z]\d{2}[A-Z]{2}\d{2}$")


def _language(language: str | None) -> str:
    """fi, sv or en: the given language or the active one, anything else as English."""
    code = (language or get_language() or "en").lower()
    for known in ("fi", "sv"):
        if code.startswith(known):
            return known
    return "en"


@dataclass(frozen=True)
class _Titled:
    en: str
    fi: str
    sv: str

    def text(self, language: str | None = None) -> str:
        return getattr(self, _language(language)) or self.en


@dataclass(frozen=True)
class Icd10Code:
    code: str
    titles: _Titled

    def title(self, language: str | None = None) -> str:
        return self.titles.text(language)

    @property
    def title_en(self) -> str:
        return self.titles.en


@dataclass(frozen=True)
class LabTest:
    loinc: str
    names: _Titled
    unit: str
    reference_low: Decimal | None
    reference_high: Decimal | None
    male_reference_low: Decimal | None
    male_reference_high: Decimal | None

    def name(self, language: str | None = None) -> str:
        return self.names.text(language)

    @property
    def name_en(self) -> str:
        return self.names.en

    def reference_range(self, sex: str = "") -> tuple[Decimal | None, Decimal | None]:
        """The adult reference range for a person of this sex ("male"/"female"; blank: the general one)."""
        if sex == "male" and (self.male_reference_low is not None or self.male_reference_high is not None):
            return self.male_reference_low, self.male_reference_high
        return self.reference_low, self.reference_high


@dataclass(frozen=True)
class MeasurementType:
    loinc: str
    names: _Titled
    unit: str

    def name(self, language: str | None = None) -> str:
        return self.names.text(language)

    @property
    def name_en(self) -> str:
        return self.names.en


@dataclass(frozen=True)
class Vaccine:
    atc: str
    names: _Titled

    def name(self, language: str | None = None) -> str:
        return self.names.text(language)

    @property
    def name_en(self) -> str:
        return self.names.en


def read_rows(filename: str) -> list[dict[str, str]]:
    """The rows of one shipped list, as dicts keyed by the header row."""
    with (CODES_DIR / filename).open(encoding="utf-8", newline="") as handle:
        return [{key: (value or "").strip() for key, value in row.items()} for row in csv.DictReader(handle)]


def _index(rows: list[dict[str, str]], key: str, build) -> dict:
    items: dict = {}
    for row in rows:
        code = row[key]
        # A duplicate would silently shadow a row; refuse to load a broken list instead.
        if code in items:
            raise ValueError(f"duplicate code {code} in the {key} list")
        items[code] = build(row)
    return items


def _decimal(value: str) -> Decimal | None:
    return Decimal(value) if value else None


def _titled(row: dict[str, str], prefix: str) -> _Titled:
    return _Titled(en=row[f"{prefix}_en"], fi=row[f"{prefix}_fi"], sv=row[f"{prefix}_sv"])


@functools.cache
def icd10() -> dict[str, Icd10Code]:
    return _index(
        read_rows("icd10.csv"), "code", lambda row: Icd10Code(code=row["code"], titles=_titled(row, "title"))
    )


@functools.cache
def lab_tests() -> dict[str, LabTest]:
    return _index(
        read_rows("lab_tests.csv"),
        "loinc",
        lambda row: LabTest(
            loinc=row["loinc"],
            names=_titled(row, "name"),
            unit=row["unit"],
            reference_low=_decimal(row["reference_low"]),
            reference_high=_decimal(row["reference_high"]),
            male_reference_low=_decimal(row["male_reference_low"]),
            male_reference_high=_decimal(row["male_reference_high"]),
        ),
    )


@functools.cache
def measurement_types() -> dict[str, MeasurementType]:
    return _index(
        read_rows("measurements.csv"),
        "loinc",
        lambda row: MeasurementType(loinc=row["loinc"], names=_titled(row, "name"), unit=row["unit"]),
    )


@functools.cache
def vaccines() -> dict[str, Vaccine]:
    return _index(
        read_rows("vaccines.csv"), "atc", lambda row: Vaccine(atc=row["atc"], names=_titled(row, "name"))
    )


# -- look-ups ----------------------------------------------------------------------------------------------


def normalize_icd10(code: str) -> str:
    """Upper case without spaces, with the dot after the category (`e119` → `E11.9`)."""
    code = (code or "").strip().upper().replace(" ", "")
    if len(code) > 3 and "." not in code:
        code = f"{code[:3]}.{code[3:]}"
    return code


def diagnosis(code: str) -> Icd10Code | None:
    return icd10().get(normalize_icd10(code))


def lab_test(loinc: str) -> LabTest | None:
    return lab_tests().get((loinc or "").strip())


def measurement_type(loinc: str) -> MeasurementType | None:
    return measurement_types().get((loinc or "").strip())


def vaccine(atc: str) -> Vaccine | None:
    return vaccines().get((atc or "").strip().upper())


def diagnosis_title(code: str, language: str | None = None) -> str:
    """The diagnosis title in the active language; the code itself when the list does not know it."""
    item = diagnosis(code)
    return item.title(language) if item else code


def lab_test_name(loinc: str, language: str | None = None) -> str:
    item = lab_test(loinc)
    return item.name(language) if item else loinc


def measurement_name(loinc: str, language: str | None = None) -> str:
    item = measurement_type(loinc)
    return item.name(language) if item else loinc


def vaccine_name(atc: str, language: str | None = None) -> str:
    item = vaccine(atc)
    return item.name(language) if item else atc
