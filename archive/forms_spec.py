"""The structured certificate forms: Kela SV 6 and SV 7, Traficom F122. One place for their fields.

A certificate document carries its form's fields in `Document.form_data`; `clean_form_data` checks them
(required fields, dates, ICD-10 codes, choices) and returns a JSON-ready dict with dates as ISO strings, so
that what is stored is always what the form allows. Pages build their inputs from `FORMS` too.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from archive import codes
from archive.models import CertificateForm
from kanta.errors import RuleViolation


class Kind:
    """Field kinds (a class, so that `match` compares values instead of capturing names)."""

    TEXT = "text"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    ICD10 = "icd10"


MAX_TEXT = 4000

TRUE_WORDS = {"true", "yes", "on", "1", "kyllä", "ja"}
FALSE_WORDS = {"false", "no", "off", "0", "ei", "nej"}


class LicenceGroup:
    """Traficom's medical groups of driving licence categories."""

    GROUP_1 = "group1"  # AM, A1, A2, A, B, BE, T
    GROUP_2 = "group2"  # C1, C1E, C, CE, D1, D1E, D, DE

    choices = (
        (GROUP_1, gettext_lazy("group 1 (AM, A, B, BE, T)")),
        (GROUP_2, gettext_lazy("group 2 (C, CE, D, DE and their sub-categories)")),
    )


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: Promise
    kind: str
    required: bool = True
    choices: tuple[tuple[str, Promise], ...] = ()


_SICKNESS_FIELDS = (
    FieldSpec("diagnosis_code", gettext_lazy("diagnosis (ICD-10)"), Kind.ICD10),
    FieldSpec("incapacity_from", gettext_lazy("incapacity for work from"), Kind.DATE),
    FieldSpec("incapacity_to", gettext_lazy("incapacity for work until"), Kind.DATE),
    FieldSpec("statement", gettext_lazy("statement"), Kind.TEXT),
)

FORMS: dict[str, tuple[FieldSpec, ...]] = {
    CertificateForm.SV6: _SICKNESS_FIELDS,
    CertificateForm.SV7: _SICKNESS_FIELDS,
    CertificateForm.F122: (
        FieldSpec("licence_group", gettext_lazy("licence group"), Kind.CHOICE, choices=LicenceGroup.choices),
        FieldSpec("fit_to_drive", gettext_lazy("fit to drive"), Kind.BOOLEAN),
        FieldSpec("restrictions", gettext_lazy("restrictions"), Kind.TEXT, required=False),
        FieldSpec("next_check_on", gettext_lazy("next check"), Kind.DATE, required=False),
    ),
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean(spec: FieldSpec, value: Any) -> Any:
    label = str(spec.label)
    match spec.kind:
        case Kind.TEXT:
            text = str(value).strip()
            if len(text) > MAX_TEXT:
                raise RuleViolation(
                    _("“%(field)s” is too long: at most %(limit)s characters.")
                    % {"field": label, "limit": MAX_TEXT},
                    field=spec.name,
                )
            return text
        case Kind.DATE:
            if isinstance(value, datetime.datetime):
                return value.date().isoformat()
            if isinstance(value, datetime.date):
                return value.isoformat()
            try:
                return datetime.date.fromisoformat(str(value).strip()).isoformat()
            except ValueError:
                raise RuleViolation(
                    _("“%(field)s” is not a date (YYYY-MM-DD).") % {"field": label}, field=spec.name
                ) from None
        case Kind.BOOLEAN:
            if isinstance(value, bool):
                return value
            word = str(value).strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise RuleViolation(_("“%(field)s” must be yes or no.") % {"field": label}, field=spec.name)
        case Kind.CHOICE:
            allowed = [key for key, _label in spec.choices]
            if value not in allowed:
                raise RuleViolation(
                    _("“%(value)s” is not a valid choice for “%(field)s”.")
                    % {"value": value, "field": label},
                    field=spec.name,
                )
            return value
        case Kind.ICD10:
            item = codes.diagnosis(str(value))
            if item is None:
                raise RuleViolation(
                    _("%(code)s is not a known ICD-10 code.") % {"code": str(value).strip()}, field=spec.name
                )
            return item.code
    raise ValueError(f"unknown field kind {spec.kind}")  # pragma: no cover - a programming error


def clean_form_data(form: str, data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The form's fields checked and normalised, or a RuleViolation naming the first field that is wrong."""
    if form not in FORMS:
        raise RuleViolation(_("Choose the certificate form."), field="certificate_form")
    specs = FORMS[form]
    data = dict(data or {})
    known = {spec.name for spec in specs}
    unknown = sorted(set(data) - known)
    if unknown:
        # Nothing is stored that the form does not define: no free-form extras in a certificate.
        raise RuleViolation(
            _("The form %(form)s has no field “%(field)s”.") % {"form": form, "field": unknown[0]},
            field=unknown[0],
        )
    cleaned: dict[str, Any] = {}
    for spec in specs:
        value = data.get(spec.name)
        if _blank(value):
            if spec.required:
                raise RuleViolation(
                    _("“%(field)s” is required on form %(form)s.") % {"field": str(spec.label), "form": form},
                    field=spec.name,
                )
            continue
        cleaned[spec.name] = _clean(spec, value)
    if "incapacity_from" in cleaned and "incapacity_to" in cleaned:
        if cleaned["incapacity_to"] < cleaned["incapacity_from"]:  # ISO dates compare as text
            raise RuleViolation(
                _("The incapacity for work cannot end before it starts."), field="incapacity_to"
            )
    return cleaned
