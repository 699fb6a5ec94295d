"""Write use cases of the Prescription service, prescriber side: prescribe, correct, invalidate, release a
pharmacy lock, renewal requests and their handling, and the nightly jobs. Dispensing (the pharmacy side) is in
prescriptions/dispensing.py.

Each function is keyword-only, runs in one transaction, writes its audit event (data type "prescription") in
that transaction, and keeps the prescription's history: every change of a prescription row adds a
PrescriptionEvent with a snapshot of the row after the change. When a rule says no it raises RuleViolation
with a translated message before anything is written. The rules themselves (who prescribes what, validity,
expiry, renewal windows) are in prescriptions/rules.py.

Decisions taken here *(chosen)*:

- A treating prescriber is a professional of the unit they act in, with the right to prescribe this medicine
  (physicians and dentists; nurses within the nurse list) and an active care relationship between that unit
  and the patient. Any unit's treating prescriber may correct, invalidate or release a lock
  (kanta-reference.md 3.4).
- Prescribing by active substance takes the narcotic, PKV and special-permit flags given, and also those of
  any product in the medicine database with the same ATC code, so a substance prescription cannot escape the
  1-year validity of its products.
- Handling a renewal request needs no separately confirmed care relationship: the patient's request to the
  unit is the care contact. The handler must work in the receiving unit and have the right to prescribe the
  medicine. A request may not be re-sent to a unit that returned it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kanta import audit
from kanta.access import active_care_relationship
from kanta.errors import RuleViolation
from kanta.models import AuditCategory, CareRelationship, DataType, LegalBasis, Person, Professional, Unit
from prescriptions import rules
from prescriptions.models import (
    DISPENSABLE_STATUSES,
    AmountKind,
    EventKind,
    InvalidationCategory,
    Prescription,
    PrescriptionEvent,
    PrescriptionStatus,
    Product,
    RenewalRequest,
    RenewalStatus,
)

DOSAGE_MAX = 1000
PURPOSE_MAX = 200
MESSAGE_MAX = 300
NAME_MAX = 120
STRENGTH_MAX = 40
FORM_MAX = 60
INVALIDATION_TEXT_MAX = 1000
REASON_MAX = 300
DAILY_MAX = Decimal("999999.99")  # prescription.daily_quantity: 8 digits, 2 decimals
TOTAL_MAX = Decimal("9999999999.99")  # prescription.total_quantity: 12 digits, 2 decimals
COUNT_MAX = 100_000  # packages or treatment days on one prescription
CENT = Decimal("0.01")
# The nightly jobs change rows in batches of this size, one transaction (and one audit event) per batch.
BATCH_SIZE = 1000

VALID_STATUSES = [*DISPENSABLE_STATUSES, PrescriptionStatus.FULLY_DISPENSED]
# What a correction (and a renewal) may set; the patient, the prescriber and the medicine never change.
CORRECTABLE = frozenset(
    {
        "dosage",
        "daily_quantity",
        "amount_kind",
        "amount_packages",
        "amount_quantity",
        "amount_treatment_days",
        "purpose",
        "message_to_pharmacy",
        "substitution_allowed",
        "valid_until",
    }
)
AMOUNT_FIELDS = frozenset({"amount_kind", "amount_packages", "amount_quantity", "amount_treatment_days"})
NEVER_CHANGE = frozenset({"person", "patient", "prescriber", "unit"})
INVALIDATION_CATEGORIES = (
    InvalidationCategory.CARE,
    InvalidationCategory.TECHNICAL,
    InvalidationCategory.PATIENT,
)

# The state kept in each history event: the prescription row after the change.
SNAPSHOT_FIELDS = (
    "version",
    "status",
    "product_id",
    "atc",
    "medicine_name",
    "active_substance",
    "strength",
    "form",
    "narcotic",
    "pkv",
    "special_permit",
    "pharmacy_made",
    "dosage",
    "daily_quantity",
    "amount_kind",
    "amount_packages",
    "amount_treatment_days",
    "total_quantity",
    "purpose",
    "message_to_pharmacy",
    "substitution_allowed",
    "valid_until",
    "quantity_dispensed",
    "locked_by_id",
    "lock_reason",
    "invalidation_category",
    "invalidation_text",
)


# -- history ----------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value


def prescription_snapshot(prescription: Prescription | Mapping[str, Any]) -> dict[str, Any]:
    """The state a history event keeps: from a Prescription, or from a `.values()` row of one."""
    if isinstance(prescription, Mapping):
        return {name: _jsonable(prescription.get(name)) for name in SNAPSHOT_FIELDS}
    return {name: _jsonable(getattr(prescription, name)) for name in SNAPSHOT_FIELDS}


def _event(
    prescription: Prescription,
    kind: str,
    *,
    professional: Professional | None = None,
    unit: Unit | None = None,
    note: str = "",
) -> PrescriptionEvent:
    return PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=kind,
        version=prescription.version,
        professional=professional,
        organisation=unit.organisation if unit else None,
        note=note,
        snapshot=prescription_snapshot(prescription),
    )


def _audit(
    actor: audit.Actor,
    *,
    action: str,
    person: Person | None,
    object_ids: Iterable[object],
    object_type: str = "prescription",
    legal_basis: str = LegalBasis.CARE_RELATIONSHIP,
    purpose: str = "",
    reason_text: str = "",
) -> None:
    audit.record(
        actor=actor,
        action=action,
        category=AuditCategory.CHANGE,
        person=person,
        data_type=DataType.PRESCRIPTION,
        object_type=object_type,
        object_ids=object_ids,
        legal_basis=legal_basis,
        purpose=purpose,
        reason_text=reason_text,
    )


# -- who acts ---------------------------------------------------------------------------------------------


def _acting_professional(actor: audit.Actor) -> tuple[Professional, Unit]:
    if actor.professional is None or actor.unit is None:
        raise RuleViolation(_("Choose the unit you work in first."), code="no_unit")
    if not actor.professional.units.filter(pk=actor.unit.pk).exists():
        raise RuleViolation(_("You do not work in this unit."), code="not_in_unit")
    return actor.professional, actor.unit


def _require_prescribing_right(professional: Professional, *, atc: str, special_permit: bool) -> None:
    refusal = rules.prescribing_refusal(professional.profession, atc=atc, special_permit=special_permit)
    if refusal:
        raise RuleViolation(refusal, code="no_prescribing_right")


def _treating_prescriber(
    actor: audit.Actor, *, person: Person, atc: str, special_permit: bool
) -> tuple[Professional, Unit, CareRelationship]:
    """The acting professional, if they may prescribe this medicine and their unit treats the person."""
    professional, unit = _acting_professional(actor)
    _require_prescribing_right(professional, atc=atc, special_permit=special_permit)
    relationship = active_care_relationship(person=person, unit=unit)
    if relationship is None:
        raise RuleViolation(
            _("Your unit has no active care relationship with this person: confirm it first."),
            code="no_care_relationship",
        )
    return professional, unit, relationship


# -- checking values --------------------------------------------------------------------------------------


def _text(value: str | None, *, limit: int, field: str, required_message: str | None = None) -> str:
    text = (value or "").strip()
    if not text and required_message:
        raise RuleViolation(required_message, field=field)
    if len(text) > limit:
        raise RuleViolation(
            _("At most %(limit)s characters, please (now %(length)s).")
            % {"limit": limit, "length": len(text)},
            field=field,
        )
    return text


def _decimal(value: Any, *, field: str, label: str, maximum: Decimal) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RuleViolation(_("Give the %(label)s.") % {"label": label}, field=field)
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise RuleViolation(_("The %(label)s must be a number.") % {"label": label}, field=field) from None
    if not number.is_finite() or number <= 0:
        raise RuleViolation(_("The %(label)s must be more than zero.") % {"label": label}, field=field)
    if number != number.quantize(CENT):
        raise RuleViolation(_("The %(label)s takes at most two decimals.") % {"label": label}, field=field)
    if number > maximum:
        raise RuleViolation(_("The %(label)s is too large.") % {"label": label}, field=field)
    return number.quantize(CENT)


def _count(value: Any, *, field: str, label: str) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RuleViolation(_("Give the %(label)s.") % {"label": label}, field=field)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise RuleViolation(
            _("The %(label)s must be a whole number.") % {"label": label}, field=field
        ) from None
    if number <= 0:
        raise RuleViolation(_("The %(label)s must be more than zero.") % {"label": label}, field=field)
    if number > COUNT_MAX:
        raise RuleViolation(_("The %(label)s is too large.") % {"label": label}, field=field)
    return number


def _date(value: datetime.date | str | None, *, field: str) -> datetime.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise RuleViolation(_("Give the date as YYYY-MM-DD."), field=field) from None


def _amount(
    *,
    product: Product | None,
    amount_kind: str,
    amount_packages: Any,
    amount_quantity: Any,
    amount_treatment_days: Any,
    daily_quantity: Decimal,
) -> dict[str, Any]:
    """The amount fields and the total in units: packages x units per package, a quantity, or days x daily."""
    packages = days = None
    if amount_kind == AmountKind.PACKAGES:
        if product is None:
            raise RuleViolation(
                _("A prescription by active substance gives the amount as a quantity or a treatment period."),
                field="amount_kind",
            )
        packages = _count(amount_packages, field="amount_packages", label=_("number of packages"))
        total = packages * product.package_quantity
    elif amount_kind == AmountKind.QUANTITY:
        total = _decimal(amount_quantity, field="amount_quantity", label=_("amount"), maximum=TOTAL_MAX)
    elif amount_kind == AmountKind.TREATMENT_PERIOD:
        days = _count(
            amount_treatment_days, field="amount_treatment_days", label=_("treatment period in days")
        )
        total = days * daily_quantity
    else:
        raise RuleViolation(
            _("Give the amount as packages, a quantity or a treatment period."), field="amount_kind"
        )
    if total <= 0:
        raise RuleViolation(_("The amount must be more than zero."), field="amount_kind")
    if total > TOTAL_MAX:
        raise RuleViolation(_("The amount is too large."), field="amount_kind")
    return {
        "amount_kind": amount_kind,
        "amount_packages": packages,
        "amount_treatment_days": days,
        "total_quantity": total.quantize(CENT),
    }


def _content(
    *,
    product: Product | None,
    dosage: str,
    daily_quantity: Any,
    amount_kind: str,
    amount_packages: Any,
    amount_quantity: Any,
    amount_treatment_days: Any,
    purpose: str,
    message_to_pharmacy: str,
    substitution_allowed: bool,
) -> dict[str, Any]:
    """The checked dosage, amount, purpose and message of a prescription (validity is checked apart)."""
    daily = _decimal(daily_quantity, field="daily_quantity", label=_("daily amount"), maximum=DAILY_MAX)
    return {
        "dosage": _text(
            dosage,
            limit=DOSAGE_MAX,
            field="dosage",
            required_message=_("Give the dosage instructions."),
        ),
        "daily_quantity": daily,
        **_amount(
            product=product,
            amount_kind=amount_kind,
            amount_packages=amount_packages,
            amount_quantity=amount_quantity,
            amount_treatment_days=amount_treatment_days,
            daily_quantity=daily,
        ),
        "purpose": _text(
            purpose,
            limit=PURPOSE_MAX,
            field="purpose",
            required_message=_("Give the purpose of the medicine."),
        ),
        "message_to_pharmacy": _text(message_to_pharmacy, limit=MESSAGE_MAX, field="message_to_pharmacy"),
        "substitution_allowed": bool(substitution_allowed),
    }


def _valid_until(
    value: datetime.date | str | None, *, prescribed_on: datetime.date, short_validity: bool
) -> datetime.date:
    """The chosen end of validity, or the longest one the rules allow when none is chosen."""
    chosen = _date(value, field="valid_until")
    if chosen is None:
        return rules.maximum_valid_until(prescribed_on, short_validity=short_validity)
    refusal = rules.valid_until_refusal(
        chosen, prescribed_on=prescribed_on, short_validity=short_validity, today=timezone.localdate()
    )
    if refusal:
        raise RuleViolation(refusal, field="valid_until", code="validity")
    return chosen


def _medicine(
    *,
    product: Product | None,
    active_substance: str,
    strength: str,
    form: str,
    atc: str,
    narcotic: bool,
    pkv: bool,
    special_permit: bool,
    pharmacy_made: bool,
) -> dict[str, Any]:
    """What is prescribed: a marketed package, or an active substance with strength, form and ATC code."""
    if product is not None:
        if not product.marketed:
            raise RuleViolation(
                _(
                    "%(product)s is no longer marketed: prescribe by active substance or choose another package."
                )
                % {"product": product.name},
                field="product",
            )
        return {
            "product": product,
            "atc": product.atc,
            "medicine_name": f"{product.name} {product.strength}"[:200],
            "active_substance": product.active_substance,
            "strength": product.strength,
            "form": product.form,
            "narcotic": product.narcotic,
            "pkv": product.pkv,
            "special_permit": product.special_permit,
            "pharmacy_made": bool(pharmacy_made),
        }
    substance = _text(
        active_substance,
        limit=NAME_MAX,
        field="active_substance",
        required_message=_("Choose a product, or give the active substance, strength and form."),
    )
    strength = _text(strength, limit=STRENGTH_MAX, field="strength", required_message=_("Give the strength."))
    form = _text(form, limit=FORM_MAX, field="form", required_message=_("Give the pharmaceutical form."))
    code = (atc or "").strip().upper()
    if not code:
        raise RuleViolation(_("A prescription by active substance needs its ATC code."), field="atc")
    if not rules.ATC_CODE.match(code):
        raise RuleViolation(
            _("%(atc)s is not a complete ATC code (for example C08CA01).") % {"atc": code}, field="atc"
        )
    flags = {"narcotic": bool(narcotic), "pkv": bool(pkv), "special_permit": bool(special_permit)}
    # The products of the same substance decide too: a substance prescription keeps their shorter validity.
    for known in Product.objects.filter(atc=code).values("narcotic", "pkv", "special_permit").distinct():
        flags = {name: flags[name] or known[name] for name in flags}
    return {
        "product": None,
        "atc": code,
        "medicine_name": f"{substance} {strength} {form}"[:200],
        "active_substance": substance,
        "strength": strength,
        "form": form,
        **flags,
        "pharmacy_made": bool(pharmacy_made),
    }


def _short_validity(medicine: Mapping[str, Any] | Prescription) -> bool:
    get = medicine.get if isinstance(medicine, Mapping) else lambda name: getattr(medicine, name)
    return rules.has_short_validity(
        narcotic=get("narcotic"), pkv=get("pkv"), special_permit=get("special_permit")
    )


def _write_prescription(
    *,
    person: Person,
    professional: Professional,
    unit: Unit,
    medicine: Mapping[str, Any],
    content: Mapping[str, Any],
    valid_until: datetime.date | str | None,
    prescribed_at: datetime.datetime,
    renewed_from: Prescription | None = None,
) -> Prescription:
    prescription = Prescription.objects.create(
        person=person,
        prescriber=professional,
        unit=unit,
        **medicine,
        **content,
        prescribed_at=prescribed_at,
        valid_until=_valid_until(
            valid_until,
            prescribed_on=timezone.localdate(prescribed_at),
            short_validity=_short_validity(medicine),
        ),
        renewed_from=renewed_from,
    )
    _event(
        prescription,
        EventKind.PRESCRIBED,
        professional=professional,
        unit=unit,
        note=str(renewed_from.public_id) if renewed_from else "",
    )
    return prescription


def _for_update(prescription: Prescription) -> Prescription:
    return (
        Prescription.objects.select_for_update(of=("self",))
        .select_related("person", "product")
        .get(pk=prescription.pk)
    )


def _status_for(dispensed: Decimal, total: Decimal) -> str:
    if dispensed <= 0:
        return PrescriptionStatus.UNDISPENSED
    return PrescriptionStatus.FULLY_DISPENSED if dispensed >= total else PrescriptionStatus.PARTLY_DISPENSED


# -- prescribing ------------------------------------------------------------------------------------------


def prescribe(
    *,
    actor: audit.Actor,
    person: Person,
    product: Product | None = None,
    active_substance: str = "",
    strength: str = "",
    form: str = "",
    atc: str = "",
    narcotic: bool = False,
    pkv: bool = False,
    special_permit: bool = False,
    dosage: str,
    daily_quantity: Decimal | str | int,
    amount_kind: str,
    amount_packages: int | str | None = None,
    amount_quantity: Decimal | str | int | None = None,
    amount_treatment_days: int | str | None = None,
    purpose: str,
    message_to_pharmacy: str = "",
    substitution_allowed: bool = True,
    valid_until: datetime.date | str | None = None,
    pharmacy_made: bool = False,
) -> Prescription:
    """Write a prescription by product (VNR package) or by active substance, strength, form and ATC code.

    Valid 2 years from today, 1 year for narcotics, PKV and special-permit medicines; `valid_until` may
    shorten that, never lengthen it. The medicine's name, ATC code and flags are copied onto the prescription
    so that a later medicine database import does not change what was prescribed.
    """
    if person.is_deceased:
        raise RuleViolation(_("The person has died: no prescriptions can be written."), code="deceased")
    with transaction.atomic():
        medicine = _medicine(
            product=product,
            active_substance=active_substance,
            strength=strength,
            form=form,
            atc=atc,
            narcotic=narcotic,
            pkv=pkv,
            special_permit=special_permit,
            pharmacy_made=pharmacy_made,
        )
        professional, unit, relationship = _treating_prescriber(
            actor, person=person, atc=medicine["atc"], special_permit=medicine["special_permit"]
        )
        content = _content(
            product=medicine["product"],
            dosage=dosage,
            daily_quantity=daily_quantity,
            amount_kind=amount_kind,
            amount_packages=amount_packages,
            amount_quantity=amount_quantity,
            amount_treatment_days=amount_treatment_days,
            purpose=purpose,
            message_to_pharmacy=message_to_pharmacy,
            substitution_allowed=substitution_allowed,
        )
        prescription = _write_prescription(
            person=person,
            professional=professional,
            unit=unit,
            medicine=medicine,
            content=content,
            valid_until=valid_until,
            prescribed_at=timezone.now(),
        )
        _audit(
            actor,
            action="prescription.prescribe",
            person=person,
            object_ids=[prescription.public_id],
            purpose=relationship.reason,
        )
    return prescription


def prescription_correct(*, actor: audit.Actor, prescription: Prescription, **changes: Any) -> Prescription:
    """A treating prescriber corrects a dispensable prescription: a new version, the old one in the history.

    Dosage, daily amount, amount, purpose, message, substitution and validity (shortened only) may change;
    the patient and the prescriber never do. A pharmacy's lock is released by the correction.
    """
    if NEVER_CHANGE & changes.keys():
        raise RuleViolation(
            _(
                "The patient and the prescriber of a prescription never change. A prescription written for the "
                "wrong person is invalidated (technical reason) and written again."
            ),
            code="immutable",
        )
    unknown = changes.keys() - CORRECTABLE
    if unknown:
        raise RuleViolation(
            _(
                "These cannot be corrected: %(fields)s. To change the medicine, invalidate the prescription and "
                "write a new one."
            )
            % {"fields": ", ".join(sorted(unknown))},
            code="not_correctable",
        )
    if not changes:
        raise RuleViolation(_("Nothing to correct."), code="no_changes")
    with transaction.atomic():
        current = _for_update(prescription)
        if current.status not in DISPENSABLE_STATUSES:
            raise RuleViolation(
                _("Only a prescription that can still be dispensed can be corrected; this one is %(status)s.")
                % {"status": current.get_status_display()},
                code="not_dispensable",
            )
        professional, unit, relationship = _treating_prescriber(
            actor, person=current.person, atc=current.atc, special_permit=current.special_permit
        )
        merged: dict[str, Any] = {
            "dosage": current.dosage,
            "daily_quantity": current.daily_quantity,
            "amount_kind": current.amount_kind,
            "amount_packages": current.amount_packages,
            "amount_quantity": current.total_quantity if current.amount_kind == AmountKind.QUANTITY else None,
            "amount_treatment_days": current.amount_treatment_days,
            "purpose": current.purpose,
            "message_to_pharmacy": current.message_to_pharmacy,
            "substitution_allowed": current.substitution_allowed,
            **{name: value for name, value in changes.items() if name != "valid_until"},
        }
        content = _content(product=current.product, **merged)
        amount_changed = bool(AMOUNT_FIELDS & changes.keys()) or (
            "daily_quantity" in changes and current.amount_kind == AmountKind.TREATMENT_PERIOD
        )
        if not amount_changed:
            # Keep the amount as prescribed: a medicine database import may have changed the package size.
            content.update(
                amount_kind=current.amount_kind,
                amount_packages=current.amount_packages,
                amount_treatment_days=current.amount_treatment_days,
                total_quantity=current.total_quantity,
            )
        if content["total_quantity"] < current.quantity_dispensed:
            raise RuleViolation(
                _("%(dispensed)s units have already been dispensed: the amount cannot be less than that.")
                % {"dispensed": current.quantity_dispensed},
                field="amount_kind",
            )
        if "valid_until" in changes:
            chosen = _date(changes["valid_until"], field="valid_until")
            if chosen is None or chosen > current.valid_until:
                raise RuleViolation(
                    _("A correction can only shorten the validity (now until %(date)s).")
                    % {"date": date_format(current.valid_until, "SHORT_DATE_FORMAT")},
                    field="valid_until",
                    code="validity",
                )
            if chosen < timezone.localdate():
                raise RuleViolation(_("The end of validity cannot be in the past."), field="valid_until")
            content["valid_until"] = chosen
        for name, value in content.items():
            setattr(current, name, value)
        current.version += 1
        current.status = _status_for(current.quantity_dispensed, current.total_quantity)
        released = current.locked_by_id is not None
        lock_reason = current.lock_reason
        current.locked_by = None
        current.lock_reason = ""
        current.save(
            update_fields=[*content.keys(), "version", "status", "locked_by", "lock_reason"],
        )
        _event(current, EventKind.CORRECTED, professional=professional, unit=unit)
        if released:
            # The lock waited for exactly this correction (kanta-reference.md 3.4).
            _event(current, EventKind.RELEASED, professional=professional, unit=unit, note=lock_reason)
        _audit(
            actor,
            action="prescription.correct",
            person=current.person,
            object_ids=[current.public_id],
            purpose=relationship.reason,
        )
    return current


def prescription_invalidate(
    *,
    actor: audit.Actor,
    prescription: Prescription,
    category: str,
    text: str,
    patient_agreed: bool = False,
) -> Prescription:
    """A treating prescriber of any unit invalidates a prescription in force, with a reason category and text.

    A care-related invalidation needs the patient's agreement; technical ones and those caused by the patient
    do not (kanta-reference.md 3.4).
    """
    if category not in INVALIDATION_CATEGORIES:
        raise RuleViolation(
            _("Choose the reason: care-related, technical or caused by the patient."), field="category"
        )
    reason = _text(
        text,
        limit=INVALIDATION_TEXT_MAX,
        field="text",
        required_message=_("Explain why the prescription is invalidated."),
    )
    if category == InvalidationCategory.CARE and patient_agreed is not True:
        raise RuleViolation(
            _("A care-related invalidation needs the patient's agreement: confirm that the patient agreed."),
            field="patient_agreed",
            code="agreement",
        )
    with transaction.atomic():
        current = _for_update(prescription)
        if current.status not in VALID_STATUSES:
            raise RuleViolation(
                _("Only a prescription in force can be invalidated; this one is %(status)s.")
                % {"status": current.get_status_display()},
                code="not_valid",
            )
        professional, unit, relationship = _treating_prescriber(
            actor, person=current.person, atc=current.atc, special_permit=current.special_permit
        )
        current.status = PrescriptionStatus.INVALIDATED
        current.invalidated_at = timezone.now()
        current.invalidation_category = category
        current.invalidation_text = reason
        current.save(update_fields=["status", "invalidated_at", "invalidation_category", "invalidation_text"])
        _event(current, EventKind.INVALIDATED, professional=professional, unit=unit, note=reason)
        _audit(
            actor,
            action="prescription.invalidate",
            person=current.person,
            object_ids=[current.public_id],
            purpose=relationship.reason,
            reason_text=f"{category}: {reason}",
        )
    return current


def prescription_release_lock(*, actor: audit.Actor, prescription: Prescription) -> Prescription:
    """A treating prescriber releases a pharmacy's lock without correcting the prescription."""
    with transaction.atomic():
        current = _for_update(prescription)
        if current.locked_by_id is None:
            raise RuleViolation(_("The prescription is not locked."), code="not_locked")
        professional, unit, relationship = _treating_prescriber(
            actor, person=current.person, atc=current.atc, special_permit=current.special_permit
        )
        lock_reason = current.lock_reason
        current.locked_by = None
        current.lock_reason = ""
        current.save(update_fields=["locked_by", "lock_reason"])
        _event(current, EventKind.RELEASED, professional=professional, unit=unit, note=lock_reason)
        _audit(
            actor,
            action="prescription.release_lock",
            person=current.person,
            object_ids=[current.public_id],
            purpose=relationship.reason,
        )
    return current


# -- the nightly jobs -------------------------------------------------------------------------------------


def _change_in_batches(
    candidates: QuerySet[Prescription],
    *,
    order_by: tuple[str, ...],
    updates: Mapping[str, Any],
    kind: str,
    action: str,
    batch_size: int,
) -> int:
    """Apply `updates` to every candidate with one UPDATE per batch, one history event per changed
    prescription (bulk insert) and one audit event per batch.

    `updates` must take a row out of `candidates`, so each batch finds the next rows and a second run finds
    none. Rows are locked while read, so a dispensing under way finishes first and the job then sees its
    result.
    """
    changed = 0
    while True:
        with transaction.atomic():
            rows = list(
                candidates.select_for_update(of=("self",))
                .order_by(*order_by)
                .values("id", "public_id", *SNAPSHOT_FIELDS)[:batch_size]
            )
            if not rows:
                break
            Prescription.objects.filter(id__in=[row["id"] for row in rows]).update(**updates)
            PrescriptionEvent.objects.bulk_create(
                [
                    PrescriptionEvent(
                        prescription_id=row["id"],
                        kind=kind,
                        version=row["version"],
                        snapshot=prescription_snapshot({**row, **updates}),
                    )
                    for row in rows
                ]
            )
            _audit(
                audit.Actor(),
                action=action,
                person=None,
                object_ids=[row["public_id"] for row in rows],
                legal_basis="",
                purpose="automatic",
            )
        changed += len(rows)
        if len(rows) < batch_size:
            break
    return changed


def expire_prescriptions(*, today: datetime.date | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Mark expired the prescriptions past their last dispensable day (rules.py); returns how many.

    A 2-year prescription with medicine left expires after its grace month, any other prescription the day
    after `valid_until`. Idempotent: a second run on the same day changes nothing.
    """
    today = today or timezone.localdate()
    short = Q(narcotic=True) | Q(pkv=True) | Q(special_permit=True)
    in_grace_month = (
        ~short & Q(quantity_dispensed__lt=F("total_quantity")) & Q(valid_until__gte=rules.grace_cutoff(today))
    )
    candidates = Prescription.objects.filter(status__in=VALID_STATUSES, valid_until__lt=today).exclude(
        in_grace_month
    )
    return _change_in_batches(
        candidates,
        order_by=("valid_until", "id"),
        updates={"status": PrescriptionStatus.EXPIRED},
        kind=EventKind.EXPIRED,
        action="prescription.expire",
        batch_size=batch_size,
    )


def invalidate_prescriptions_of_deceased(
    *, today: datetime.date | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Invalidate (category automatic) the prescriptions in force of persons who have died; returns how many."""
    today = today or timezone.localdate()
    candidates = Prescription.objects.filter(
        status__in=VALID_STATUSES, person__date_of_death__isnull=False, person__date_of_death__lte=today
    )
    return _change_in_batches(
        candidates,
        order_by=("id",),
        updates={
            "status": PrescriptionStatus.INVALIDATED,
            "invalidation_category": InvalidationCategory.AUTOMATIC,
            "invalidated_at": timezone.now(),
        },
        kind=EventKind.INVALIDATED,
        action="prescription.invalidate_deceased",
        batch_size=batch_size,
    )


def expire_renewal_requests(*, now: datetime.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Mark expired the renewal requests left unhandled for 8 days; returns how many. Idempotent."""
    now = now or timezone.now()
    oldest = now - datetime.timedelta(days=rules.RENEWAL_REQUEST_DAYS)
    changed = 0
    while True:
        with transaction.atomic():
            rows = list(
                RenewalRequest.objects.select_for_update()
                .filter(status=RenewalStatus.SENT, sent_at__lte=oldest)
                .order_by("sent_at", "id")
                .values_list("id", "public_id")[:batch_size]
            )
            if not rows:
                break
            RenewalRequest.objects.filter(id__in=[row[0] for row in rows]).update(
                status=RenewalStatus.EXPIRED
            )
            _audit(
                audit.Actor(),
                action="renewal_request.expire",
                person=None,
                object_type="renewal_request",
                object_ids=[row[1] for row in rows],
                legal_basis="",
                purpose="automatic",
            )
        changed += len(rows)
        if len(rows) < batch_size:
            break
    return changed


# -- renewal requests -------------------------------------------------------------------------------------


def renewal_request_send(
    *,
    actor: audit.Actor,
    person: Person,
    acting_person: Person,
    prescriptions: Iterable[Prescription],
    unit: Unit,
    phone: str = "",
    on_behalf_basis: str = "",
) -> list[RenewalRequest]:
    """The citizen (or a guardian of a child under 10, or a mandate holder) asks a unit to renew prescriptions.

    `on_behalf_basis` is the basis on which `acting_person` acts for `person` (the caller asks
    consents.policy.acting_basis). All prescriptions are sent or none: the first one that cannot be renewed
    is named with the reason.
    """
    today = timezone.localdate()
    refusal = rules.on_behalf_refusal(
        person=person, acting_person=acting_person, on_behalf_basis=on_behalf_basis, today=today
    )
    if refusal:
        raise RuleViolation(refusal, code="not_allowed")
    if person.is_deceased:
        raise RuleViolation(_("Renewal requests cannot be sent for a person who has died."), code="deceased")
    wanted = {p.pk for p in prescriptions}
    if not wanted:
        raise RuleViolation(_("Choose at least one prescription to renew."), field="prescriptions")
    try:
        phone_number = rules.normalise_phone(phone)
    except ValueError as error:
        raise RuleViolation(str(error), field="phone", code="phone") from None
    if not unit.accepts_renewal_requests:
        raise RuleViolation(
            _("%(unit)s does not accept renewal requests. Choose another unit.") % {"unit": unit.name},
            field="unit",
            code="unit_not_accepting",
        )
    if not Prescription.objects.filter(person=person, unit=unit).exists():
        raise RuleViolation(
            _("Send the request to a unit that has prescribed medicines to you before."),
            field="unit",
            code="unit_not_prescriber",
        )
    with transaction.atomic():
        locked = list(
            Prescription.objects.select_for_update()
            .filter(pk__in=wanted, person=person)
            .order_by("prescribed_at")
        )
        if len(locked) != len(wanted):
            raise RuleViolation(_("Choose among your own prescriptions."), field="prescriptions")
        returned_here = set(
            RenewalRequest.objects.filter(
                prescription__in=locked, unit=unit, status=RenewalStatus.RETURNED
            ).values_list("prescription_id", flat=True)
        )
        for prescription in locked:
            reason = rules.renewal_refusal_reason(prescription, today)
            if reason is None and prescription.pk in returned_here:
                reason = _("This unit returned the request for this prescription: choose another unit.")
            if reason:
                raise RuleViolation(
                    _("%(medicine)s: %(reason)s")
                    % {"medicine": prescription.medicine_name, "reason": reason},
                    field="prescriptions",
                    code="not_renewable",
                )
        now = timezone.now()
        try:
            with transaction.atomic():
                requests = [
                    RenewalRequest.objects.create(
                        prescription=prescription, person=person, unit=unit, phone=phone_number, sent_at=now
                    )
                    for prescription in locked
                ]
        except IntegrityError:
            # The database's one-open-request and final-rejection constraints caught a request sent meanwhile.
            raise RuleViolation(
                _("A renewal request for this prescription is already waiting to be handled."),
                field="prescriptions",
                code="not_renewable",
            ) from None
        _audit(
            actor,
            action="renewal_request.send",
            person=person,
            object_type="renewal_request",
            object_ids=[request.public_id for request in requests],
            legal_basis=LegalBasis.SELF if acting_person.pk == person.pk else on_behalf_basis,
        )
    return requests


def _request_for_handling(
    actor: audit.Actor, request: RenewalRequest
) -> tuple[RenewalRequest, Professional, Unit]:
    """The request locked against a second handler, if the actor may handle it now.

    select_for_update: two professionals opening the same request at once are served one after the other,
    and the second finds it handled.
    """
    professional, unit = _acting_professional(actor)
    locked = (
        RenewalRequest.objects.select_for_update(of=("self",))
        .select_related("prescription__product", "person", "unit")
        .get(pk=request.pk)
    )
    if locked.unit_id != unit.pk:
        raise RuleViolation(_("This request was sent to another unit."), code="other_unit")
    if locked.status != RenewalStatus.SENT:
        raise RuleViolation(
            _("This request has already been handled: %(status)s.") % {"status": locked.get_status_display()},
            code="handled",
        )
    if timezone.now() >= rules.renewal_request_expires_at(locked.sent_at):
        raise RuleViolation(
            _("This request was left unhandled for %(days)s days and has expired.")
            % {"days": rules.RENEWAL_REQUEST_DAYS},
            code="expired",
        )
    _require_prescribing_right(
        professional, atc=locked.prescription.atc, special_permit=locked.prescription.special_permit
    )
    return locked, professional, unit


def _handle(
    actor: audit.Actor, request: RenewalRequest, *, status: str, reason: str, action: str
) -> RenewalRequest:
    text = _text(
        reason, limit=REASON_MAX, field="reason", required_message=_("Give the reason for the patient.")
    )
    with transaction.atomic():
        locked, professional, _unit = _request_for_handling(actor, request)
        locked.status = status
        locked.reason = text
        locked.handled_at = timezone.now()
        locked.handled_by = professional
        locked.save(update_fields=["status", "reason", "handled_at", "handled_by"])
        _audit(
            actor,
            action=action,
            person=locked.person,
            object_type="renewal_request",
            object_ids=[locked.public_id, locked.prescription.public_id],
            purpose="renewal_request",
            reason_text=text,
        )
    return locked


def renewal_reject(*, actor: audit.Actor, request: RenewalRequest, reason: str) -> RenewalRequest:
    """Reject the request: final, the prescription can never be requested for renewal again."""
    return _handle(
        actor, request, status=RenewalStatus.REJECTED, reason=reason, action="renewal_request.reject"
    )


def renewal_return(*, actor: audit.Actor, request: RenewalRequest, reason: str) -> RenewalRequest:
    """Return the request (e.g. sent to the wrong unit): the citizen may send it to another unit."""
    return _handle(
        actor, request, status=RenewalStatus.RETURNED, reason=reason, action="renewal_request.return"
    )


def renewal_renew(*, actor: audit.Actor, request: RenewalRequest, **overrides: Any) -> Prescription:
    """Renew: a new prescription of the same medicine, linked to the old one by `renewed_from`.

    Dosage, amount, purpose, message, substitution and validity are those of the old prescription unless
    overridden; the new one is valid from today.
    """
    unknown = overrides.keys() - CORRECTABLE
    if unknown:
        raise RuleViolation(
            _("These cannot be changed when renewing: %(fields)s. Write a new prescription instead.")
            % {"fields": ", ".join(sorted(unknown))},
            code="not_correctable",
        )
    with transaction.atomic():
        locked, professional, unit = _request_for_handling(actor, request)
        if locked.person.is_deceased:
            raise RuleViolation(_("The person has died: no prescriptions can be written."), code="deceased")
        old = locked.prescription
        if old.status == PrescriptionStatus.INVALIDATED:
            raise RuleViolation(
                _("The prescription has been invalidated since the request was sent; it cannot be renewed."),
                code="invalidated",
            )
        medicine = _medicine(
            product=old.product,
            active_substance=old.active_substance,
            strength=old.strength,
            form=old.form,
            atc=old.atc,
            narcotic=old.narcotic,
            pkv=old.pkv,
            special_permit=old.special_permit,
            pharmacy_made=old.pharmacy_made,
        )
        values: dict[str, Any] = {
            "dosage": old.dosage,
            "daily_quantity": old.daily_quantity,
            "amount_kind": old.amount_kind,
            "amount_packages": old.amount_packages,
            "amount_quantity": old.total_quantity if old.amount_kind == AmountKind.QUANTITY else None,
            "amount_treatment_days": old.amount_treatment_days,
            "purpose": old.purpose,
            "message_to_pharmacy": old.message_to_pharmacy,
            "substitution_allowed": old.substitution_allowed,
            **{name: value for name, value in overrides.items() if name != "valid_until"},
        }
        new = _write_prescription(
            person=locked.person,
            professional=professional,
            unit=unit,
            medicine=medicine,
            content=_content(product=medicine["product"], **values),
            valid_until=overrides.get("valid_until"),
            prescribed_at=timezone.now(),
            renewed_from=old,
        )
        locked.status = RenewalStatus.RENEWED
        locked.handled_at = timezone.now()
        locked.handled_by = professional
        locked.new_prescription = new
        locked.save(update_fields=["status", "handled_at", "handled_by", "new_prescription"])
        _event(old, EventKind.RENEWED, professional=professional, unit=unit, note=str(new.public_id))
        _audit(
            actor,
            action="renewal_request.renew",
            person=locked.person,
            object_type="renewal_request",
            object_ids=[locked.public_id, new.public_id, old.public_id],
            purpose="renewal_request",
        )
    return new
