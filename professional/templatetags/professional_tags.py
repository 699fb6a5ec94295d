"""Small display helpers of the professional pages."""

from __future__ import annotations

from django import template

from archive import codes
from kanta.models import LegalBasis
from professional.writing import plain_number

register = template.Library()


@register.filter
def legal_basis(value: str) -> str:
    """The translated label of a legal basis the disclosure gate annotated (`basis`)."""
    try:
        return LegalBasis(value).label
    except ValueError:
        return value


# Entries store the code list's English title; pages show the title in the reader's language
# (archive.codes), and the stored one for a code the list no longer knows.


@register.filter
def diagnosis_title(diagnosis) -> str:
    item = codes.diagnosis(diagnosis.code)
    return item.title() if item else diagnosis.title


@register.filter
def lab_test_name(result) -> str:
    item = codes.lab_test(result.loinc)
    return item.name() if item else result.name


@register.filter
def measurement_name(measurement) -> str:
    item = codes.measurement_type(measurement.loinc)
    return item.name() if item else measurement.name


@register.filter
def vaccine_name(vaccination) -> str:
    item = codes.vaccine(vaccination.atc)
    return item.name() if item else vaccination.name


@register.simple_tag
def icd10_options() -> list[tuple[str, str]]:
    """(code, title) of the shipped ICD-10 list for a <datalist>, in the reader's language."""
    return [(item.code, item.title()) for item in codes.icd10().values()]


@register.filter
def number(value) -> str:
    """A measured value or reference limit without trailing zeros, in the page's number format."""
    return plain_number(value)
