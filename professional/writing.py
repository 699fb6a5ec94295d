"""Helpers of the pages that write into the Patient Data Repository.

Which registers a professional may write a person's data into is decided by archive.services (it refuses
anything else); the helpers here only offer those registers as choices, restate a document's entries for a
correction, and turn a RuleViolation into form errors.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from archive import selectors as archive_selectors
from archive.models import AuthorizationScope, Document
from archive.services import (
    DiagnosisInput,
    ImagingStudyInput,
    LabResultInput,
    MeasurementInput,
    ProcedureInput,
    RiskInput,
    VaccinationInput,
)
from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import Person, Register


def writable_registers(*, actor: audit.Actor, person: Person) -> list[Register]:
    """The unit's own register, then the organisers' registers its organisation may write into for the person.

    Under a purchased-service authorization valid today, for the whole register or for this person (DOMAIN.md,
    "Purchased-service authorization"). archive.services checks the same again when writing.
    """
    unit = actor.unit
    if unit is None:
        return []
    registers: list[Register] = list(
        Register.objects.select_related("controller").filter(
            controller_id=unit.organisation_id, kind=unit.register_kind
        )
    )
    today = timezone.localdate()
    authorizations = (
        archive_selectors.authorizations_received(organisation=unit.organisation)
        .filter(starts_on__lte=today, ends_on__gte=today)
        .filter(Q(scope=AuthorizationScope.REGISTER) | Q(scope=AuthorizationScope.PATIENT, person=person))
        .select_related("register__controller")
        .order_by("register_id")
    )
    seen = {register.pk for register in registers}
    for authorization in authorizations:
        if authorization.register_id not in seen:
            seen.add(authorization.register_id)
            registers.append(authorization.register)
    return registers


def register_choices(registers: list[Register], *, own_unit) -> list[tuple[str, str]]:
    choices = []
    for register in registers:
        label = f"{register.controller.name}: {register.get_kind_display()}"
        if register.controller_id != own_unit.organisation_id:
            label = _("%(register)s (under a purchased-service authorization)") % {"register": label}
        choices.append((str(register.public_id), label))
    return choices


def plain_number(value: Decimal | None) -> str:
    """A stored decimal as people write it: no trailing zeros, no exponent, the page's decimal separator."""
    if value is None:
        return ""
    return number_format(Decimal(format(value.normalize(), "f")))


def add_violation(
    form: forms.BaseForm, violation: RuleViolation, *, fields: dict[str, str] | None = None
) -> None:
    """Show a service's refusal on the form: on the field it names when the form has one, else above it."""
    field = violation.field
    if field and fields and field in fields:
        field = fields[field]
    if field not in form.fields:
        field = None
    form.add_error(field, violation.message)


# -- restating entries for a correction ---------------------------------------------------------------------


def kept_entries(document: Document, *, edited: set[str]) -> dict[str, list]:
    """The document's entries the correction form does not edit, restated so that the new version keeps them.

    A correction restates the whole document (archive.services.document_correct): an entry left out is gone
    from the new version. `edited` names the keyword arguments the form supplies itself.
    """
    restated = {
        "diagnoses": lambda: [
            DiagnosisInput(code=d.code, primary=d.primary, diagnosed_on=d.recorded_on)
            for d in document.diagnosiss.all()
        ],
        "risks": lambda: [
            RiskInput(kind=r.kind, description=r.description, critical=r.critical, recorded_on=r.recorded_on)
            for r in document.riskinformations.all()
        ],
        "procedures": lambda: [
            ProcedureInput(description=p.description, performed_on=p.recorded_on)
            for p in document.procedures.all()
        ],
        "measurements": lambda: [
            MeasurementInput(loinc=m.loinc, value=m.value, measured_on=m.recorded_on)
            for m in document.measurements.all()
        ],
        "vaccinations": lambda: [
            VaccinationInput(atc=v.atc, given_on=v.recorded_on, dose=v.dose)
            for v in document.vaccinations.all()
        ],
        "lab_results": lambda: [
            LabResultInput(loinc=r.loinc, value=r.value, sampled_on=r.recorded_on)
            for r in document.labresults.all()
        ],
        "imaging_studies": lambda: [
            ImagingStudyInput(
                study_instance_uid=s.study_instance_uid,
                modality=s.modality,
                examination=s.examination,
                performed_on=s.recorded_on,
            )
            for s in document.imagingstudys.all()
        ],
    }
    return {name: build() for name, build in restated.items() if name not in edited}
