"""Write use cases of the Patient Data Repository and the social welfare archive.

Each function is keyword-only, runs in one transaction and writes its audit event (category "change") in that
transaction. When a rule says no it raises RuleViolation with a translated message; every input is checked
before the first row is written and the transaction undoes anything written before a late failure, so a
refusal leaves nothing half-written.

The rules (DOMAIN.md, "The Patient Data Repository and the social welfare archive"; "Who may see what" 1, 3):

- A writer is a professional working in the unit they act in, whose unit has an active care (or client)
  relationship with the person. Medical students read but do not sign, so they write nothing.
- A unit writes into its own register: the register of its organisation of the kind the unit records into.
  A producer writes into an organiser's register under a purchased-service authorization granted to the
  producer's organisation, valid today, for the whole register or for this person.
- Documents are never edited in place: a correction is a new version that supersedes the old one (whose
  status is the only thing that changes), an invalidation keeps the document, nothing is deleted.
- Social welfare client documents live only in social welfare registers and are filed by service task; health
  documents never go into a social welfare register. Archivists of the controller manage a social welfare
  register's filing and metadata without a client relationship.
- Titles, names and units of structured entries come from the shipped code lists (archive.codes); an
  unknown code is refused by name. Stored titles are the lists' English ones (the classification's own
  text); pages show `archive.codes.*_title/_name` in the reader's language.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from archive import codes
from archive.forms_spec import clean_form_data
from archive.models import (
    SOCIAL_WELFARE_KINDS,
    AbnormalFlag,
    AuthorizationScope,
    CertificateForm,
    Diagnosis,
    Document,
    DocumentKind,
    DocumentStatus,
    ImagingStudy,
    LabResult,
    Measurement,
    Procedure,
    PurchasedServiceAuthorization,
    RecordView,
    RiskInformation,
    RiskKind,
    ServiceEvent,
    ServiceTask,
    Vaccination,
)
from kanta import audit
from kanta.access import active_care_relationship
from kanta.errors import RuleViolation
from kanta.models import (
    AuditCategory,
    DataType,
    LegalBasis,
    Organisation,
    OrganisationKind,
    Person,
    Profession,
    Professional,
    Register,
    RegisterKind,
    Unit,
)

TITLE_MAX = 200
REASON_MAX = 200
ORDERED_SERVICE_MAX = 300
DESCRIPTION_MAX = 300
# Organisations that can produce care or social services; pharmacies and outside recipients cannot.
PRODUCER_KINDS = {OrganisationKind.COUNTY, OrganisationKind.PRIVATE_HEALTH, OrganisationKind.PRIVATE_SOCIAL}
# DICOM modalities an imaging study reference may name.
MODALITIES = {"CR", "CT", "DX", "ES", "IO", "MG", "MR", "NM", "OCT", "OP", "OT", "PT", "RF", "US", "XA"}
DICOM_UID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$")
REGISTER_MANAGEMENT = "register_management"


# -- structured entry inputs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DiagnosisInput:
    code: str
    primary: bool = False
    diagnosed_on: datetime.date | str | None = None


@dataclass(frozen=True)
class RiskInput:
    kind: str
    description: str
    critical: bool = True
    recorded_on: datetime.date | str | None = None


@dataclass(frozen=True)
class ProcedureInput:
    description: str
    performed_on: datetime.date | str | None = None


@dataclass(frozen=True)
class MeasurementInput:
    loinc: str
    value: Decimal | int | float | str
    measured_on: datetime.date | str | None = None


@dataclass(frozen=True)
class VaccinationInput:
    atc: str
    given_on: datetime.date | str | None = None
    dose: int = 1


@dataclass(frozen=True)
class LabResultInput:
    loinc: str
    value: Decimal | int | float | str
    sampled_on: datetime.date | str | None = None


@dataclass(frozen=True)
class ImagingStudyInput:
    study_instance_uid: str
    modality: str
    examination: str
    performed_on: datetime.date | str | None = None


def _inputs[Input](cls: type[Input], items: Iterable[Input | Mapping[str, Any]]) -> list[Input]:
    """Entries may be given as the dataclasses above or as plain dicts with the same keys."""
    return [item if isinstance(item, cls) else cls(**item) for item in items or ()]


# -- who writes where -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Writer:
    professional: Professional
    unit: Unit
    register: Register
    basis: str  # own register or purchased service
    purpose: str  # the care relationship's reason


def _acting_professional(actor: audit.Actor) -> tuple[Professional, Unit]:
    if actor.professional is None or actor.unit is None:
        raise RuleViolation(_("Choose the unit you work in before writing a person's data."), code="no_unit")
    if not actor.professional.units.filter(pk=actor.unit.pk).exists():
        raise RuleViolation(_("You do not work in this unit."), code="not_in_unit")
    return actor.professional, actor.unit


def _is_own_register(unit: Unit, register: Register) -> bool:
    return register.controller_id == unit.organisation_id and register.kind == unit.register_kind


def _own_register(unit: Unit) -> Register:
    register = Register.objects.filter(controller_id=unit.organisation_id, kind=unit.register_kind).first()
    if register is None:
        raise RuleViolation(
            _("%(organisation)s has no %(kind)s register to record into.")
            % {"organisation": unit.organisation.name, "kind": RegisterKind(unit.register_kind).label},
            code="no_register",
        )
    return register


def valid_authorization(
    *, producer: Organisation | int, register: Register, person: Person, on: datetime.date | None = None
) -> PurchasedServiceAuthorization | None:
    """The purchased-service authorization that lets `producer` write into `register` for `person`, if any."""
    on = on or timezone.localdate()
    producer_id = producer.pk if isinstance(producer, Organisation) else producer
    return (
        PurchasedServiceAuthorization.objects.filter(
            producer_id=producer_id, register=register, starts_on__lte=on, ends_on__gte=on
        )
        .filter(Q(scope=AuthorizationScope.REGISTER) | Q(scope=AuthorizationScope.PATIENT, person=person))
        .order_by("-ends_on")
        .first()
    )


def _writer(actor: audit.Actor, *, person: Person, register: Register | None = None) -> _Writer:
    """Check that the actor may write this person's data into `register` (default: the unit's own one)."""
    professional, unit = _acting_professional(actor)
    if professional.profession == Profession.MEDICAL_STUDENT:
        raise RuleViolation(
            _("Medical students read patient data but do not sign it: ask a licensed professional to write."),
            code="student",
        )
    relationship = active_care_relationship(person=person, unit=unit)
    if relationship is None:
        raise RuleViolation(
            _("Your unit has no active care relationship with this person: confirm it before writing."),
            code="no_care_relationship",
        )
    if register is None or _is_own_register(unit, register):
        return _Writer(
            professional=professional,
            unit=unit,
            register=register or _own_register(unit),
            basis=LegalBasis.OWN_REGISTER,
            purpose=relationship.reason,
        )
    if valid_authorization(producer=unit.organisation_id, register=register, person=person) is None:
        raise RuleViolation(
            _(
                "Your organisation has no valid purchased-service authorization to write into the register of "
                "%(organiser)s for this person."
            )
            % {"organiser": register.controller.name},
            code="no_authorization",
        )
    return _Writer(
        professional=professional,
        unit=unit,
        register=register,
        basis=LegalBasis.PURCHASED_SERVICE,
        purpose=relationship.reason,
    )


def require_archivist(*, actor: audit.Actor, register: Register) -> Professional:
    """The acting archivist of the social welfare register's controller, or a RuleViolation.

    Archivists manage the register itself, so they need no client relationship with the persons in it.
    """
    professional, unit = _acting_professional(actor)
    if (
        professional.profession != Profession.ARCHIVIST
        or register.kind != RegisterKind.SOCIAL_WELFARE
        or register.controller_id != unit.organisation_id
    ):
        raise RuleViolation(
            _("Only an archivist of the controller of a social welfare register can manage its documents."),
            code="not_archivist",
        )
    return professional


def _data_type(register: Register) -> str:
    return DataType.SOCIAL_WELFARE if register.kind == RegisterKind.SOCIAL_WELFARE else DataType.PATIENT


def _record(
    actor: audit.Actor,
    *,
    action: str,
    person: Person | None,
    register: Register,
    object_type: str,
    object_ids: Iterable[object],
    basis: str,
    purpose: str = "",
    reason_text: str = "",
) -> None:
    audit.record(
        actor=actor,
        action=action,
        category=AuditCategory.CHANGE,
        person=person,
        data_type=_data_type(register),
        object_type=object_type,
        object_ids=object_ids,
        legal_basis=basis,
        purpose=purpose,
        reason_text=reason_text,
    )


# -- checking values --------------------------------------------------------------------------------------


def _required_text(value: str | None, *, limit: int, message: str, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise RuleViolation(message, field=field)
    if len(text) > limit:
        raise RuleViolation(
            _("At most %(limit)s characters, please (now %(length)s).")
            % {"limit": limit, "length": len(text)},
            field=field,
        )
    return text


def _title(value: str | None) -> str:
    return _required_text(value, limit=TITLE_MAX, message=_("A document needs a title."), field="title")


def _reason(value: str | None, message: str) -> str:
    return _required_text(value, limit=REASON_MAX, message=message, field="reason")


def _date(value: datetime.date | str | None, *, default: datetime.date, field: str) -> datetime.date:
    if value is None or value == "":
        return default
    if isinstance(value, datetime.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise RuleViolation(
            _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}, field=field
        ) from None


def _past_date(value: datetime.date | str | None, *, today: datetime.date, field: str) -> datetime.date:
    day = _date(value, default=today, field=field)
    if day > today:
        raise RuleViolation(
            _("The date %(date)s is in the future.") % {"date": day.strftime("%d.%m.%Y")}, field=field
        )
    return day


def _decimal(value: Any, *, field: models.DecimalField, label: str) -> Decimal:
    """The value as the field stores it: a decimal comma is accepted, extra decimals are rounded."""
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise RuleViolation(_("“%(value)s” is not a number (%(what)s).") % {"value": value, "what": label})
    limit = Decimal(10) ** (field.max_digits - field.decimal_places)
    if abs(number) < limit:  # only then: quantizing a huge number would overflow the decimal context
        number = number.quantize(Decimal(1).scaleb(-field.decimal_places), rounding=ROUND_HALF_UP)
    if abs(number) >= limit:  # also 999999999.9996, which rounds up past the limit
        raise RuleViolation(
            _("%(value)s is too large a value for %(what)s.") % {"value": value, "what": label}
        )
    return number


def abnormal_flag(value: Decimal, low: Decimal | None, high: Decimal | None) -> str:
    """L below the reference range, H above it, N within it (or when there is no range)."""
    if low is not None and value < low:
        return AbnormalFlag.LOW
    if high is not None and value > high:
        return AbnormalFlag.HIGH
    return AbnormalFlag.NORMAL


# -- structured entries -----------------------------------------------------------------------------------


def _entries(
    *,
    person: Person,
    diagnoses: Iterable,
    risks: Iterable,
    procedures: Iterable,
    measurements: Iterable,
    vaccinations: Iterable,
    lab_results: Iterable,
    imaging_studies: Iterable,
) -> list[models.Model]:
    """Unsaved entry rows for the inputs, every code checked against the code lists."""
    today = timezone.localdate()
    rows: list[models.Model] = []

    diagnosis_inputs = _inputs(DiagnosisInput, diagnoses)
    if sum(1 for item in diagnosis_inputs if item.primary) > 1:
        raise RuleViolation(_("A document has at most one primary diagnosis."), field="diagnoses")
    for item in diagnosis_inputs:
        code = codes.diagnosis(item.code)
        if code is None:
            raise RuleViolation(
                _("%(code)s is not a known ICD-10 code.") % {"code": (item.code or "").strip() or "—"},
                code="unknown_code",
                field="diagnoses",
            )
        rows.append(
            Diagnosis(
                person=person,
                recorded_on=_past_date(item.diagnosed_on, today=today, field="diagnoses"),
                code=code.code,
                title=code.title_en,
                primary=bool(item.primary),
            )
        )

    for item in _inputs(RiskInput, risks):
        if item.kind not in RiskKind.values:
            raise RuleViolation(_("Choose the kind of risk information."), field="risks")
        rows.append(
            RiskInformation(
                person=person,
                recorded_on=_past_date(item.recorded_on, today=today, field="risks"),
                kind=item.kind,
                description=_required_text(
                    item.description,
                    limit=DESCRIPTION_MAX,
                    message=_("Describe the risk."),
                    field="risks",
                ),
                critical=bool(item.critical),
            )
        )

    rows.extend(
        Procedure(
            person=person,
            recorded_on=_past_date(item.performed_on, today=today, field="procedures"),
            description=_required_text(
                item.description,
                limit=DESCRIPTION_MAX,
                message=_("Describe the procedure."),
                field="procedures",
            ),
        )
        for item in _inputs(ProcedureInput, procedures)
    )

    for item in _inputs(MeasurementInput, measurements):
        kind = codes.measurement_type(item.loinc)
        if kind is None:
            raise RuleViolation(
                _("%(code)s is not a known LOINC code for a measurement.") % {"code": item.loinc},
                code="unknown_code",
                field="measurements",
            )
        rows.append(
            Measurement(
                person=person,
                recorded_on=_past_date(item.measured_on, today=today, field="measurements"),
                loinc=kind.loinc,
                name=kind.name_en,
                value=_decimal(item.value, field=Measurement._meta.get_field("value"), label=kind.name()),
                unit_of_measure=kind.unit,
            )
        )

    for item in _inputs(VaccinationInput, vaccinations):
        vaccine = codes.vaccine(item.atc)
        if vaccine is None:
            raise RuleViolation(
                _("%(code)s is not a known ATC code of a vaccine.") % {"code": item.atc},
                code="unknown_code",
                field="vaccinations",
            )
        try:
            dose = int(item.dose)
        except (TypeError, ValueError):
            dose = 0
        if not 1 <= dose <= 20:  # no vaccination schedule has more doses
            raise RuleViolation(_("The dose number must be between 1 and 20."), field="vaccinations")
        rows.append(
            Vaccination(
                person=person,
                recorded_on=_past_date(item.given_on, today=today, field="vaccinations"),
                atc=vaccine.atc,
                name=vaccine.name_en,
                dose=dose,
            )
        )

    for item in _inputs(LabResultInput, lab_results):
        test = codes.lab_test(item.loinc)
        if test is None:
            raise RuleViolation(
                _("%(code)s is not a known LOINC code for a laboratory test.") % {"code": item.loinc},
                code="unknown_code",
                field="lab_results",
            )
        value = _decimal(item.value, field=LabResult._meta.get_field("value"), label=test.name())
        low, high = test.reference_range(person.sex)
        rows.append(
            LabResult(
                person=person,
                recorded_on=_past_date(item.sampled_on, today=today, field="lab_results"),
                loinc=test.loinc,
                name=test.name_en,
                value=value,
                unit_of_measure=test.unit,
                reference_low=low,
                reference_high=high,
                abnormal=abnormal_flag(value, low, high),
            )
        )

    for item in _inputs(ImagingStudyInput, imaging_studies):
        uid = (item.study_instance_uid or "").strip()
        if len(uid) > 64 or not DICOM_UID.match(uid):  # 64: the DICOM limit of a UID
            raise RuleViolation(
                _("“%(uid)s” is not a DICOM study instance UID.") % {"uid": uid}, field="imaging_studies"
            )
        modality = (item.modality or "").strip().upper()
        if modality not in MODALITIES:
            raise RuleViolation(
                _("“%(modality)s” is not a DICOM modality.") % {"modality": item.modality},
                field="imaging_studies",
            )
        rows.append(
            ImagingStudy(
                person=person,
                recorded_on=_past_date(item.performed_on, today=today, field="imaging_studies"),
                study_instance_uid=uid,
                modality=modality,
                examination=_required_text(
                    item.examination,
                    limit=TITLE_MAX,
                    message=_("Name the examination."),
                    field="imaging_studies",
                ),
            )
        )
    return rows


def _save_entries(document: Document, rows: list[models.Model]) -> None:
    by_model: dict[type[models.Model], list[models.Model]] = {}
    for row in rows:
        row.document = document
        by_model.setdefault(type(row), []).append(row)
    for model, items in by_model.items():
        model.objects.bulk_create(items)


def _content(
    *,
    person: Person,
    register: Register,
    kind: str,
    title: str,
    text: str,
    view: str,
    certificate_form: str,
    form_data: Mapping[str, Any] | None,
    service_task: str,
    service_event: ServiceEvent | None,
) -> dict[str, Any]:
    """The document's own fields, checked against its kind and register."""
    if kind not in DocumentKind.values:
        raise RuleViolation(_("Choose the kind of document."), field="kind")
    social_kind = kind in SOCIAL_WELFARE_KINDS
    social_register = register.kind == RegisterKind.SOCIAL_WELFARE
    if social_kind and not social_register:
        raise RuleViolation(
            _("Social welfare client documents are filed only in a social welfare register."), field="kind"
        )
    if social_register and not social_kind:
        raise RuleViolation(
            _("Health care documents are never filed in a social welfare register."), field="kind"
        )
    if social_kind:
        if service_task not in ServiceTask.values:
            raise RuleViolation(
                _("A social welfare client document is filed by service task: choose one."),
                field="service_task",
            )
    elif service_task:
        raise RuleViolation(
            _("Only social welfare client documents have a service task."), field="service_task"
        )

    if view and view not in RecordView.values:
        raise RuleViolation(_("Choose the view of the record entry."), field="view")
    if kind == DocumentKind.RECORD_ENTRY and not view:
        view = RecordView.GENERAL

    if kind == DocumentKind.CERTIFICATE:
        if certificate_form not in CertificateForm.values:
            raise RuleViolation(_("Choose the certificate form."), field="certificate_form")
        cleaned_form = clean_form_data(certificate_form, form_data)
    elif certificate_form or form_data:
        raise RuleViolation(_("Only a certificate has a certificate form."), field="certificate_form")
    else:
        cleaned_form = {}

    if service_event is not None and (
        service_event.person_id != person.pk or service_event.register_id != register.pk
    ):
        raise RuleViolation(
            _("The service event belongs to another person or register."), field="service_event"
        )
    return {
        "kind": kind,
        "title": _title(title),
        "text": (text or "").strip(),
        "view": view,
        "certificate_form": certificate_form if kind == DocumentKind.CERTIFICATE else "",
        "form_data": cleaned_form,
        "service_task": service_task if social_kind else "",
        "service_event": service_event,
    }


def _current_for_update(document: Document) -> Document:
    """The document row locked against a concurrent correction; it must be the current version."""
    locked = (
        Document.objects.select_for_update(of=("self",))
        .select_related("person", "register__controller", "service_event")
        .get(pk=document.pk)
    )
    if locked.status != DocumentStatus.CURRENT:
        raise RuleViolation(
            _("Only the current version of a document can be changed; this one is %(status)s.")
            % {"status": locked.get_status_display()},
            code="not_current",
        )
    return locked


# -- service events ---------------------------------------------------------------------------------------


def service_event_open(
    *,
    actor: audit.Actor,
    person: Person,
    title: str,
    started_on: datetime.date | str,
    organiser_register: Register | None = None,
) -> ServiceEvent:
    """Open a service event in the unit's own register, or in an organiser's register under authorization."""
    with transaction.atomic():
        writer = _writer(actor, person=person, register=organiser_register)
        event = ServiceEvent.objects.create(
            person=person,
            register=writer.register,
            unit=writer.unit,
            title=_title(title),
            started_on=_date(started_on, default=timezone.localdate(), field="started_on"),
        )
        _record(
            actor,
            action="service_event.open",
            person=person,
            register=writer.register,
            object_type="service_event",
            object_ids=[event.public_id],
            basis=writer.basis,
            purpose=writer.purpose,
        )
    return event


# -- documents --------------------------------------------------------------------------------------------


def document_create(
    *,
    actor: audit.Actor,
    person: Person,
    kind: str,
    title: str,
    text: str = "",
    service_event: ServiceEvent | None = None,
    view: str = "",
    certificate_form: str = "",
    form_data: Mapping[str, Any] | None = None,
    service_task: str = "",
    special_content: bool = False,
    disclosable_to_guardians: bool = False,
    diagnoses: Iterable[DiagnosisInput | Mapping[str, Any]] = (),
    risks: Iterable[RiskInput | Mapping[str, Any]] = (),
    procedures: Iterable[ProcedureInput | Mapping[str, Any]] = (),
    measurements: Iterable[MeasurementInput | Mapping[str, Any]] = (),
    vaccinations: Iterable[VaccinationInput | Mapping[str, Any]] = (),
    lab_results: Iterable[LabResultInput | Mapping[str, Any]] = (),
    imaging_studies: Iterable[ImagingStudyInput | Mapping[str, Any]] = (),
    organiser_register: Register | None = None,
) -> Document:
    """Write a new document (version 1) with its structured entries."""
    with transaction.atomic():
        writer = _writer(actor, person=person, register=organiser_register)
        content = _content(
            person=person,
            register=writer.register,
            kind=kind,
            title=title,
            text=text,
            view=view,
            certificate_form=certificate_form,
            form_data=form_data,
            service_task=service_task,
            service_event=service_event,
        )
        rows = _entries(
            person=person,
            diagnoses=diagnoses,
            risks=risks,
            procedures=procedures,
            measurements=measurements,
            vaccinations=vaccinations,
            lab_results=lab_results,
            imaging_studies=imaging_studies,
        )
        document = Document.objects.create(
            person=person,
            register=writer.register,
            unit=writer.unit,
            author=writer.professional,
            special_content=bool(special_content),
            disclosable_to_guardians=bool(disclosable_to_guardians),
            **content,
        )
        _save_entries(document, rows)
        _record(
            actor,
            action="document.create",
            person=person,
            register=writer.register,
            object_type="document",
            object_ids=[document.public_id],
            basis=writer.basis,
            purpose=writer.purpose,
        )
    return document


def document_correct(
    *,
    actor: audit.Actor,
    document: Document,
    title: str,
    text: str,
    form_data: Mapping[str, Any] | None = None,
    diagnoses: Iterable[DiagnosisInput | Mapping[str, Any]] = (),
    risks: Iterable[RiskInput | Mapping[str, Any]] = (),
    procedures: Iterable[ProcedureInput | Mapping[str, Any]] = (),
    measurements: Iterable[MeasurementInput | Mapping[str, Any]] = (),
    vaccinations: Iterable[VaccinationInput | Mapping[str, Any]] = (),
    lab_results: Iterable[LabResultInput | Mapping[str, Any]] = (),
    imaging_studies: Iterable[ImagingStudyInput | Mapping[str, Any]] = (),
) -> Document:
    """Correct the current version: a new version supersedes it, and the old one stays in the history.

    The new version keeps the person, register, service event, kind and lineage; its entries are the ones
    given here (a correction restates the whole document). A certificate keeps its form data unless new data
    is given. Only the old version's status changes.
    """
    with transaction.atomic():
        old = _current_for_update(document)
        person = old.person
        writer = _writer(actor, person=person, register=old.register)
        content = _content(
            person=person,
            register=old.register,
            kind=old.kind,
            title=title,
            text=text,
            view=old.view,
            certificate_form=old.certificate_form,
            form_data=old.form_data if form_data is None else form_data,
            service_task=old.service_task,
            service_event=old.service_event,
        )
        rows = _entries(
            person=person,
            diagnoses=diagnoses,
            risks=risks,
            procedures=procedures,
            measurements=measurements,
            vaccinations=vaccinations,
            lab_results=lab_results,
            imaging_studies=imaging_studies,
        )
        old.status = DocumentStatus.SUPERSEDED
        old.save(update_fields=["status"])
        new = Document.objects.create(
            lineage_id=old.lineage_id,
            version=old.version + 1,
            supersedes=old,
            person=person,
            register=old.register,
            unit=writer.unit,
            author=writer.professional,
            special_content=old.special_content,
            disclosable_to_guardians=old.disclosable_to_guardians,
            display_delayed_until=old.display_delayed_until,
            display_delay_reason=old.display_delay_reason,
            **content,
        )
        _save_entries(new, rows)
        _record(
            actor,
            action="document.correct",
            person=person,
            register=old.register,
            object_type="document",
            object_ids=[new.public_id, old.public_id],
            basis=writer.basis,
            purpose=writer.purpose,
        )
    return new


def document_invalidate(*, actor: audit.Actor, document: Document, reason: str) -> Document:
    """Invalidate the current version: hidden from summaries, kept and readable in the history."""
    with transaction.atomic():
        current = _current_for_update(document)
        writer = _writer(actor, person=current.person, register=current.register)
        current.invalidation_reason = _reason(reason, _("Give the reason for invalidating the document."))
        current.status = DocumentStatus.INVALIDATED
        current.save(update_fields=["status", "invalidation_reason"])
        _record(
            actor,
            action="document.invalidate",
            person=current.person,
            register=current.register,
            object_type="document",
            object_ids=[current.public_id],
            basis=writer.basis,
            purpose=writer.purpose,
            reason_text=current.invalidation_reason,
        )
    return current


def document_delay_display(
    *, actor: audit.Actor, document: Document, until: datetime.date | str, reason: str
) -> Document:
    """Hold the document back from MyKanta until a future date, for a reason."""
    with transaction.atomic():
        current = _current_for_update(document)
        writer = _writer(actor, person=current.person, register=current.register)
        today = timezone.localdate()
        day = _date(until, default=today, field="until")
        if day <= today:
            raise RuleViolation(_("The display can only be delayed until a future date."), field="until")
        current.display_delay_reason = _reason(reason, _("Give the reason for delaying the display."))
        current.display_delayed_until = day
        current.save(update_fields=["display_delayed_until", "display_delay_reason"])
        _record(
            actor,
            action="document.delay_display",
            person=current.person,
            register=current.register,
            object_type="document",
            object_ids=[current.public_id],
            basis=writer.basis,
            purpose=writer.purpose,
            reason_text=current.display_delay_reason,
        )
    return current


# -- archivists -------------------------------------------------------------------------------------------


def _for_archivist(actor: audit.Actor, document: Document) -> Document:
    locked = (
        Document.objects.select_for_update(of=("self",))
        .select_related("person", "register")
        .get(pk=document.pk)
    )
    require_archivist(actor=actor, register=locked.register)
    if locked.status == DocumentStatus.SUPERSEDED:
        # An old version is history: its filing follows the current version, never the other way round.
        raise RuleViolation(_("A superseded version is kept as it was; file the current version."))
    return locked


def _service_task(value: str) -> str:
    if value not in ServiceTask.values:
        raise RuleViolation(_("Choose the service task."), field="service_task")
    return value


def document_file(*, actor: audit.Actor, document: Document, service_task: str) -> Document:
    """An archivist files a social welfare document under a service task."""
    with transaction.atomic():
        current = _for_archivist(actor, document)
        current.service_task = _service_task(service_task)
        current.save(update_fields=["service_task"])
        _record(
            actor,
            action="document.file",
            person=current.person,
            register=current.register,
            object_type="document",
            object_ids=[current.public_id],
            basis=LegalBasis.OWN_REGISTER,
            purpose=REGISTER_MANAGEMENT,
            reason_text=f"service_task={current.service_task}",
        )
    return current


def document_correct_metadata(
    *, actor: audit.Actor, document: Document, title: str | None = None, service_task: str | None = None
) -> Document:
    """An archivist corrects a social welfare document's title or service task (the content stays)."""
    with transaction.atomic():
        current = _for_archivist(actor, document)
        changed = []
        if title is not None and _title(title) != current.title:
            current.title = _title(title)
            changed.append("title")
        if service_task is not None and _service_task(service_task) != current.service_task:
            current.service_task = service_task
            changed.append("service_task")
        if not changed:
            raise RuleViolation(_("Nothing to change: the metadata is already as given."))
        current.save(update_fields=changed)
        _record(
            actor,
            action="document.correct_metadata",
            person=current.person,
            register=current.register,
            object_type="document",
            object_ids=[current.public_id],
            basis=LegalBasis.OWN_REGISTER,
            purpose=REGISTER_MANAGEMENT,
            # which fields changed, not their content: the log is read widely, titles may be sensitive
            reason_text="changed: " + ", ".join(changed),
        )
    return current


# -- purchased-service authorizations ---------------------------------------------------------------------


def _organiser_professional(actor: audit.Actor, register: Register) -> Professional:
    professional, unit = _acting_professional(actor)
    if (
        register.controller_id != unit.organisation_id
        or professional.profession == Profession.MEDICAL_STUDENT
    ):
        raise RuleViolation(
            _("Only a professional of the register's controller can authorize a purchased service."),
            code="not_organiser",
        )
    return professional


def _producer(producer: Organisation | None, *, organiser_id: int) -> Organisation | None:
    if producer is None:
        return None
    if producer.pk == organiser_id:
        raise RuleViolation(
            _("An organisation does not need an authorization for its own register."), field="producer"
        )
    if producer.kind not in PRODUCER_KINDS:
        raise RuleViolation(
            _("%(organisation)s does not produce health or social services.")
            % {"organisation": producer.name},
            field="producer",
        )
    return producer


def _ordered_service(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > ORDERED_SERVICE_MAX:
        raise RuleViolation(
            _("At most %(limit)s characters, please (now %(length)s).")
            % {"limit": ORDERED_SERVICE_MAX, "length": len(text)},
            field="ordered_service",
        )
    return text


def authorization_create(
    *,
    actor: audit.Actor,
    register: Register,
    scope: str,
    person: Person | None = None,
    producer: Organisation | None = None,
    starts_on: datetime.date | str,
    ends_on: datetime.date | str,
    ordered_service: str = "",
) -> PurchasedServiceAuthorization:
    """The organiser authorizes a producer (which may be named later) for a patient or the whole register.

    For one patient the organiser's unit must have a care relationship with them: the authorization lets the
    producer read the register despite the patient's prohibitions, so it is given only for the organiser's
    own patients.
    """
    today = timezone.localdate()
    with transaction.atomic():
        professional = _organiser_professional(actor, register)
        if scope not in AuthorizationScope.values:
            raise RuleViolation(
                _("Choose whether the authorization covers one patient or the register."), field="scope"
            )
        if scope == AuthorizationScope.PATIENT:
            if person is None:
                raise RuleViolation(_("Choose the patient the authorization is for."), field="person")
            if active_care_relationship(person=person, unit=actor.unit) is None:
                raise RuleViolation(
                    _("Your unit has no active care relationship with this person: confirm it first."),
                    code="no_care_relationship",
                    field="person",
                )
        elif person is not None:
            raise RuleViolation(
                _("An authorization for the whole register names no patient."), field="person"
            )
        starts = _date(starts_on, default=today, field="starts_on")
        ends = _date(ends_on, default=today, field="ends_on")
        if ends < starts:
            raise RuleViolation(_("The authorization cannot end before it starts."), field="ends_on")
        if ends < today:
            raise RuleViolation(_("The authorization would already have ended."), field="ends_on")
        authorization = PurchasedServiceAuthorization.objects.create(
            organiser_id=register.controller_id,
            register=register,
            producer=_producer(producer, organiser_id=register.controller_id),
            scope=scope,
            person=person,
            starts_on=starts,
            ends_on=ends,
            ordered_service=_ordered_service(ordered_service),
            created_by=professional,
        )
        _record(
            actor,
            action="authorization.create",
            person=person,
            register=register,
            object_type="purchased_service_authorization",
            object_ids=[authorization.public_id],
            basis=LegalBasis.OWN_REGISTER,
        )
    return authorization


def authorization_update(
    *,
    actor: audit.Actor,
    authorization: PurchasedServiceAuthorization,
    producer: Organisation | None = None,
    ends_on: datetime.date | str | None = None,
    ordered_service: str | None = None,
) -> PurchasedServiceAuthorization:
    """The organiser names the producer (once), moves the end date or rewrites the ordered service.

    The scope and the patient never change: a different authorization is a new one. A producer, once named,
    stays: it may already have written under the authorization.
    """
    with transaction.atomic():
        current = (
            PurchasedServiceAuthorization.objects.select_for_update(of=("self",))
            .select_related("register", "person")
            .get(pk=authorization.pk)
        )
        _organiser_professional(actor, current.register)
        changed = []
        if producer is not None and producer.pk != current.producer_id:
            if current.producer_id is not None:
                raise RuleViolation(
                    _(
                        "The producer has already been named; create a new authorization for another producer."
                    ),
                    field="producer",
                )
            current.producer = _producer(producer, organiser_id=current.organiser_id)
            changed.append("producer")
        if ends_on is not None:
            ends = _date(ends_on, default=current.ends_on, field="ends_on")
            if ends < current.starts_on:
                raise RuleViolation(_("The authorization cannot end before it starts."), field="ends_on")
            if ends != current.ends_on:
                current.ends_on = ends
                changed.append("ends_on")
        if ordered_service is not None and _ordered_service(ordered_service) != current.ordered_service:
            current.ordered_service = _ordered_service(ordered_service)
            changed.append("ordered_service")
        if not changed:
            return current
        current.save(update_fields=changed)
        _record(
            actor,
            action="authorization.update",
            person=current.person,
            register=current.register,
            object_type="purchased_service_authorization",
            object_ids=[current.public_id],
            basis=LegalBasis.OWN_REGISTER,
            reason_text="changed: " + ", ".join(changed),
        )
    return current
