"""Write use cases of the pharmacy side of the Prescription service, and the citizen's cross-border consent.

Each function is keyword-only, runs in one transaction, writes its audit event (data type "prescription") in
that transaction and raises RuleViolation with a translated message when a rule says no. Every check that
depends on the prescription's state runs on the row locked with SELECT ... FOR UPDATE, so two pharmacies acting
on one prescription at once are served one after the other: the second sees what the first wrote.

The rules (DOMAIN.md, "ePrescriptions"; kanta-reference.md 3.3-3.5, 3.7), with the chosen ones marked:

- Who: a pharmacist or a dispensing pharmacist (proviisori) acting in a unit of a pharmacy they work in. Every
  other profession is refused; a pharmacy student has no profession of their own here and is refused like a
  medical student.
- Reservation *(chosen)*: one pharmacy at a time holds a prescription while a dispensing is open. It is
  released by the dispensing or lapses after RESERVATION_HOURS; the same pharmacy reserving again extends it.
- Dispensable: undispensed or partly dispensed, not invalidated, not locked, the person alive, on or before
  `valid_until`. The grace month: a 2-year prescription (not narcotic, PKV or special-permit) with medicine
  left may be dispensed for one more calendar month after its last valid day, at most one month's supply
  (30 days) in all during that month. The month and the expiry job's rules are in prescriptions.rules.
- What: the prescribed product; another product only when substitution is allowed and it is in the
  prescribed product's substitution group (a blank group substitutes nothing). A prescription by active
  substance is dispensed with any product of the same ATC code, strength and pharmaceutical form
  *(chosen: the ATC code rather than the free-text substance name, which is coded and so cannot differ by
  spelling; strength and form compared case-insensitively)*. For such a prescription the choice of product is
  the prescription itself, so `substitution_allowed` does not restrict it.
- How much: packages times the package's units, never more than is left *(chosen: strict, no rounding up to
  a whole package)*. One purchase at most 3 months' treatment, 1 month when one package costs over €1,000
  (SVL 5:9). Kela counts 3 months as 90 days with a 10-day tolerance so that the usual 98- and 100-tablet
  packages fit, so the limit here is 100 days times the units per day; a month is 30 days. A single package
  over the limit is still allowed when no package of the products this prescription may be dispensed with
  is smaller (Kela: "the smallest package on the market"). The grace month has no such exception.
- Cross-border: a purchase abroad (EE, HR, PT, ES, PL, CZ) arrives from the national contact point
  (`record_cross_border_dispensing`), needs the person's valid consent and an eligible prescription: no
  narcotics, no PKV products *(chosen: PKV stands for "CNS products that need the original prescription")*, no
  pharmacy-made medicines. Finnish pharmacies record dispensings in Finland only. The consent is given and
  withdrawn by the person themself, never on behalf of another.
- Lock and technical correction: a pharmacy locks a prescription while it waits for the prescriber's
  correction (the prescriber's correction or release lifts it, prescriptions.services). A technical correction
  fixes formatting without changing the content *(chosen: the dosage text and the message to the pharmacy may
  change only in letter case and whitespace; compared after lowercasing and collapsing whitespace)*.
- History: a lock and a technical correction write a PrescriptionEvent with a snapshot; a technical
  correction is a new version. Reservations are transient and dispensings are their own rows, so they write
  no event.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Min, Q, QuerySet, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import (
    AuditCategory,
    CareReason,
    DataType,
    LegalBasis,
    Organisation,
    OrganisationKind,
    Person,
    Profession,
    Professional,
    Unit,
)
from prescriptions import rules
from prescriptions.models import (
    DISPENSABLE_STATUSES,
    CrossBorderConsent,
    CrossBorderCountry,
    Dispensing,
    EventKind,
    Prescription,
    PrescriptionEvent,
    PrescriptionStatus,
    PrescriptionSummary,
    Product,
)
from prescriptions.pharmacy_selectors import valid_cross_border_consent
from prescriptions.services import prescription_snapshot

DISPENSING_PROFESSIONS = frozenset({Profession.PHARMACIST, Profession.DISPENSING_PHARMACIST})
RESERVATION_HOURS = 24
# One purchase: 3 months = 90 days plus Kela's 10-day tolerance; expensive packages 1 month = 30 days.
PURCHASE_DAYS = 100
EXPENSIVE_PURCHASE_DAYS = 30
EXPENSIVE_PACKAGE_PRICE = Decimal("1000")
GRACE_SUPPLY_DAYS = 30
CROSS_BORDER_COUNTRIES = frozenset(CrossBorderCountry.values) - {CrossBorderCountry.FINLAND}
LOCK_REASON_MAX = 200
MESSAGE_TO_PHARMACY_MAX = 300
SUMMARY_MAX_PRESCRIPTIONS = 500
# Code 128 encodes any of these; 0/O and 1/I are left out so that a code read aloud or typed is unambiguous.
BARCODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
BARCODE_LENGTH = 12


# -- who acts ---------------------------------------------------------------------------------------------


def _pharmacist(actor: audit.Actor) -> tuple[Professional, Unit, Organisation]:
    """The acting pharmacist, their pharmacy unit and pharmacy, or a RuleViolation."""
    professional, unit = actor.professional, actor.unit
    if professional is None or unit is None:
        raise RuleViolation(
            _("Choose the pharmacy you work in before handling prescriptions."), code="no_unit"
        )
    if unit.organisation.kind != OrganisationKind.PHARMACY:
        raise RuleViolation(_("Only pharmacies dispense prescriptions."), code="not_pharmacy")
    if professional.profession not in DISPENSING_PROFESSIONS:
        raise RuleViolation(
            _("Only a pharmacist or a dispensing pharmacist may dispense and handle prescriptions."),
            code="not_pharmacist",
        )
    if not professional.units.filter(pk=unit.pk).exists():
        raise RuleViolation(_("You do not work in this unit."), code="not_in_unit")
    return professional, unit, unit.organisation


# -- small helpers ----------------------------------------------------------------------------------------


def _amount(value: Decimal) -> str:
    """An amount of units as people write it: 200, not 200.00; 2,5 in Finnish."""
    value = value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
    return formats.number_format(value, use_l10n=True)


def grace_ends_on(prescription: Prescription) -> datetime.date | None:
    """The last day of the grace month after expiry, or None when the prescription gets no grace month."""
    if not prescription.two_year_validity:
        return None
    return rules.grace_period_ends(prescription.valid_until)


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


def _event(
    prescription: Prescription,
    *,
    kind: str,
    professional: Professional | None,
    organisation: Organisation | None,
    note: str = "",
) -> PrescriptionEvent:
    return PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=kind,
        version=prescription.version,
        professional=professional,
        organisation=organisation,
        note=note,
        # One shape for every history row, whoever changed the prescription.
        snapshot=prescription_snapshot(prescription),
    )


def _record(
    *, actor: audit.Actor, action: str, prescription: Prescription, object_ids: Iterable[object] = (), **extra
) -> None:
    audit.record(
        actor=actor,
        action=action,
        category=AuditCategory.CHANGE,
        person=prescription.person,
        data_type=DataType.PRESCRIPTION,
        object_type="prescription",
        object_ids=[prescription.public_id, *object_ids],
        **extra,
    )


def _locked(prescription: Prescription) -> Prescription:
    """The prescription's row, locked until the end of the transaction, read fresh."""
    # of=("self",): PostgreSQL cannot lock the nullable side of the outer joins select_related makes.
    return (
        Prescription.objects.select_for_update(of=("self",))
        .select_related("person", "product", "locked_by", "reserved_by")
        .get(pk=prescription.pk)
    )


def _reserved_elsewhere(
    prescription: Prescription, pharmacy: Organisation | None, now: datetime.datetime
) -> bool:
    """Whether another pharmacy holds a live reservation (with pharmacy None: any pharmacy does)."""
    return (
        prescription.reserved_by_id is not None
        and (pharmacy is None or prescription.reserved_by_id != pharmacy.pk)
        and prescription.reserved_until is not None
        and prescription.reserved_until > now
    )


def _refuse_if_reserved_elsewhere(
    prescription: Prescription, pharmacy: Organisation | None, now: datetime.datetime
) -> None:
    if _reserved_elsewhere(prescription, pharmacy, now):
        raise RuleViolation(
            _(
                "This prescription is being dispensed at another pharmacy (%(pharmacy)s) until %(until)s. "
                "Ask the customer, or try again when the pharmacy has finished."
            )
            % {
                "pharmacy": prescription.reserved_by.name,
                "until": formats.date_format(
                    timezone.localtime(prescription.reserved_until), "SHORT_DATETIME_FORMAT"
                ),
            },
            code="reserved_elsewhere",
        )


def _check_dispensable(prescription: Prescription, *, today: datetime.date) -> bool:
    """Refuse a prescription that cannot be dispensed today; True when only the grace month allows it."""
    if prescription.status == PrescriptionStatus.INVALIDATED or prescription.invalidated_at is not None:
        raise RuleViolation(_("This prescription has been invalidated."), code="invalidated")
    if prescription.person.is_deceased:
        raise RuleViolation(
            _("The person has died: their prescriptions can no longer be dispensed."), code="deceased"
        )
    if prescription.status == PrescriptionStatus.FULLY_DISPENSED or prescription.quantity_left <= 0:
        raise RuleViolation(
            _("This prescription has been dispensed in full: no medicine is left on it."),
            code="fully_dispensed",
        )
    if prescription.locked_by_id is not None:
        raise RuleViolation(
            _(
                "This prescription is locked by %(pharmacy)s until the prescriber corrects it "
                "(reason: %(reason)s)."
            )
            % {"pharmacy": prescription.locked_by.name, "reason": prescription.lock_reason},
            code="locked",
        )
    grace_end = grace_ends_on(prescription)
    if prescription.status == PrescriptionStatus.EXPIRED or (
        today > prescription.valid_until and grace_end is None
    ):
        raise RuleViolation(
            _("This prescription expired on %(date)s and can no longer be dispensed.")
            % {"date": formats.date_format(prescription.valid_until, "SHORT_DATE_FORMAT")},
            code="expired",
        )
    if prescription.status not in DISPENSABLE_STATUSES:
        raise RuleViolation(_("This prescription can no longer be dispensed."), code="not_dispensable")
    if today <= prescription.valid_until:
        return False
    if today > grace_end:
        raise RuleViolation(
            _(
                "This prescription expired on %(date)s and the grace month for dispensing one month's "
                "supply ended on %(grace_end)s."
            )
            % {
                "date": formats.date_format(prescription.valid_until, "SHORT_DATE_FORMAT"),
                "grace_end": formats.date_format(grace_end, "SHORT_DATE_FORMAT"),
            },
            code="expired",
        )
    return True


# -- what may be dispensed --------------------------------------------------------------------------------


def dispensable_products(prescription: Prescription) -> QuerySet[Product]:
    """The products this prescription may be dispensed with (see the module docstring, "What")."""
    prescribed = prescription.product
    if prescribed is None:
        return Product.objects.filter(
            atc=prescription.atc, strength__iexact=prescription.strength, form__iexact=prescription.form
        )
    allowed = Q(pk=prescribed.pk)
    if prescription.substitution_allowed and prescribed.substitution_group:
        allowed |= Q(substitution_group=prescribed.substitution_group)
    return Product.objects.filter(allowed)


def _check_product(prescription: Prescription, product: Product) -> None:
    if dispensable_products(prescription).filter(pk=product.pk).exists():
        return
    prescribed = prescription.product
    if prescribed is None:
        raise RuleViolation(
            _(
                "%(product)s is not %(substance)s %(strength)s %(form)s as prescribed: dispense a product "
                "with the prescribed ATC code, strength and form."
            )
            % {
                "product": product.name,
                "substance": prescription.active_substance,
                "strength": prescription.strength,
                "form": prescription.form,
            },
            code="not_substitutable",
        )
    if not prescription.substitution_allowed:
        raise RuleViolation(
            _("The prescriber has forbidden generic substitution: dispense only %(product)s.")
            % {"product": prescribed.name},
            code="substitution_not_allowed",
        )
    raise RuleViolation(
        _("%(product)s is not in the substitution group of the prescribed %(prescribed)s.")
        % {"product": product.name, "prescribed": prescribed.name},
        code="not_substitutable",
    )


def _check_quantity(
    prescription: Prescription, *, product: Product, packages: int, quantity: Decimal, in_grace: bool
) -> None:
    left = prescription.quantity_left
    if quantity > left:
        raise RuleViolation(
            _(
                "%(packages)s package(s) hold %(quantity)s units, more than the %(left)s units left on the "
                "prescription."
            )
            % {"packages": packages, "quantity": _amount(quantity), "left": _amount(left)},
            code="more_than_left",
        )
    expensive = product.retail_price > EXPENSIVE_PACKAGE_PRICE
    days = EXPENSIVE_PURCHASE_DAYS if expensive else PURCHASE_DAYS
    limit = prescription.daily_quantity * days
    if quantity > limit and not (packages == 1 and _is_smallest_package(prescription, product)):
        if expensive:
            message = _(
                "One package costs over €1,000, so at most one month's treatment (%(limit)s units) can be "
                "dispensed at once."
            )
        else:
            message = _("At most three months' treatment (%(limit)s units) can be dispensed at once.")
        raise RuleViolation(message % {"limit": _amount(limit)}, code="purchase_limit")
    if in_grace:
        grace_limit = prescription.daily_quantity * GRACE_SUPPLY_DAYS
        already = Dispensing.objects.filter(
            prescription=prescription, dispensed_at__date__gt=prescription.valid_until
        ).aggregate(total=Sum("quantity"))["total"] or Decimal(0)
        if already + quantity > grace_limit:
            raise RuleViolation(
                _(
                    "The prescription has expired: in the grace month at most one month's supply "
                    "(%(limit)s units) can be dispensed, and %(already)s units have been dispensed already."
                )
                % {"limit": _amount(grace_limit), "already": _amount(already)},
                code="grace_limit",
            )


def _is_smallest_package(prescription: Prescription, product: Product) -> bool:
    smallest = (
        dispensable_products(prescription)
        .filter(marketed=True)
        .aggregate(smallest=Min("package_quantity"))["smallest"]
    )
    return smallest is None or product.package_quantity <= smallest


def _packages(packages: int) -> int:
    if isinstance(packages, bool) or not isinstance(packages, int) or packages < 1:
        raise RuleViolation(_("Give the number of packages as a whole number, at least 1."), code="packages")
    return packages


def cross_border_refusal_reason(prescription: Prescription) -> str | None:
    """Why this prescription cannot be used abroad, or None when it can (consent is checked separately)."""
    if prescription.narcotic:
        return _("Narcotic medicines cannot be dispensed abroad.")
    if prescription.pkv:
        return _(
            "Medicines acting on the central nervous system (PKV) need the original prescription and cannot be "
            "dispensed abroad."
        )
    if prescription.pharmacy_made:
        return _("Medicines made in a pharmacy cannot be dispensed abroad.")
    return None


def _dispense_locked(
    prescription: Prescription,
    *,
    product: Product,
    packages: int,
    pharmacy: Organisation | None,
    pharmacist: Professional | None,
    country: str,
    price: Decimal | None,
    now: datetime.datetime,
) -> Dispensing:
    """Check and write one dispensing of a prescription whose row the caller holds locked."""
    today = timezone.localdate(now)
    in_grace = _check_dispensable(prescription, today=today)
    _refuse_if_reserved_elsewhere(prescription, pharmacy, now)
    _check_product(prescription, product)
    quantity = product.package_quantity * packages
    _check_quantity(prescription, product=product, packages=packages, quantity=quantity, in_grace=in_grace)
    if price is not None and price < 0:
        raise RuleViolation(_("The price cannot be negative."), code="price")
    dispensing = Dispensing.objects.create(
        prescription=prescription,
        product=product,
        pharmacy=pharmacy,
        pharmacist=pharmacist,
        country=country,
        packages=packages,
        quantity=quantity,
        price=price if price is not None else product.retail_price * packages,
        dispensed_at=now,
    )
    prescription.quantity_dispensed += quantity
    prescription.last_dispensed_at = max(filter(None, [prescription.last_dispensed_at, now]))
    prescription.status = (
        PrescriptionStatus.FULLY_DISPENSED
        if prescription.quantity_left <= 0
        else PrescriptionStatus.PARTLY_DISPENSED
    )
    prescription.reserved_by = None
    prescription.reserved_until = None
    prescription.save(
        update_fields=["quantity_dispensed", "last_dispensed_at", "status", "reserved_by", "reserved_until"]
    )
    return dispensing


# -- reservation ------------------------------------------------------------------------------------------


def reserve(
    *, actor: audit.Actor, prescription: Prescription, now: datetime.datetime | None = None
) -> Prescription:
    """Hold the prescription for the actor's pharmacy while a dispensing is open (RESERVATION_HOURS)."""
    _professional, _unit, pharmacy = _pharmacist(actor)
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(prescription)
        _check_dispensable(current, today=timezone.localdate(now))
        _refuse_if_reserved_elsewhere(current, pharmacy, now)
        current.reserved_by = pharmacy
        current.reserved_until = now + datetime.timedelta(hours=RESERVATION_HOURS)
        current.save(update_fields=["reserved_by", "reserved_until"])
        _record(
            actor=actor,
            action="prescription.reserve",
            prescription=current,
            purpose=CareReason.DISPENSING,
            legal_basis=LegalBasis.CARE_RELATIONSHIP,
        )
    return current


def release_reservation(
    *, actor: audit.Actor, prescription: Prescription, now: datetime.datetime | None = None
) -> Prescription:
    """Release the actor's pharmacy's reservation. Releasing what is not held changes nothing."""
    _professional, _unit, pharmacy = _pharmacist(actor)
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(prescription)
        _refuse_if_reserved_elsewhere(current, pharmacy, now)
        if current.reserved_by_id is None:
            return current
        current.reserved_by = None
        current.reserved_until = None
        current.save(update_fields=["reserved_by", "reserved_until"])
        _record(
            actor=actor,
            action="prescription.release_reservation",
            prescription=current,
            purpose=CareReason.DISPENSING,
            legal_basis=LegalBasis.CARE_RELATIONSHIP,
        )
    return current


# -- dispensing -------------------------------------------------------------------------------------------


def dispense(
    *,
    actor: audit.Actor,
    prescription: Prescription,
    product: Product,
    packages: int,
    country: str = CrossBorderCountry.FINLAND,
    price: Decimal | None = None,
    now: datetime.datetime | None = None,
) -> Dispensing:
    """A Finnish pharmacy dispenses `packages` of `product` on one prescription.

    Two pharmacies dispensing at once are served one after the other (the row lock); the second is refused
    by what the first changed (the amount left, the status).
    """
    professional, _unit, pharmacy = _pharmacist(actor)
    packages = _packages(packages)
    if country != CrossBorderCountry.FINLAND:
        raise RuleViolation(
            _(
                "Finnish pharmacies record dispensings made in Finland. A purchase abroad is recorded by "
                "the national contact point."
            ),
            code="country",
        )
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(prescription)
        dispensing = _dispense_locked(
            current,
            product=product,
            packages=packages,
            pharmacy=pharmacy,
            pharmacist=professional,
            country=CrossBorderCountry.FINLAND,
            price=price,
            now=now,
        )
        _record(
            actor=actor,
            action="prescription.dispense",
            prescription=current,
            object_ids=[dispensing.public_id],
            purpose=CareReason.DISPENSING,
            legal_basis=LegalBasis.CARE_RELATIONSHIP,
        )
    return dispensing


def record_cross_border_dispensing(
    *,
    country: str,
    prescription: Prescription,
    product: Product,
    packages: int,
    dispensed_at: datetime.datetime,
) -> Dispensing:
    """Record a purchase abroad that the national contact point reports; the system is the actor."""
    if country not in CROSS_BORDER_COUNTRIES:
        raise RuleViolation(
            _(
                "Finnish prescriptions can be used abroad only in Estonia, Croatia, Portugal, Spain, Poland and Czechia."
            ),
            code="country",
        )
    packages = _packages(packages)
    with transaction.atomic():
        current = _locked(prescription)
        reason = cross_border_refusal_reason(current)
        if reason is not None:
            raise RuleViolation(reason, code="cross_border_ineligible")
        if valid_cross_border_consent(current.person, at=dispensed_at) is None:
            raise RuleViolation(
                _("The person has not consented to using their prescriptions abroad."),
                code="no_cross_border_consent",
            )
        dispensing = _dispense_locked(
            current,
            product=product,
            packages=packages,
            pharmacy=None,
            pharmacist=None,
            country=country,
            price=None,
            now=dispensed_at,
        )
        _record(
            actor=audit.Actor(),
            action="prescription.dispense_abroad",
            prescription=current,
            object_ids=[dispensing.public_id],
            purpose=CareReason.DISPENSING,
            legal_basis=LegalBasis.CONSENT,
            reason_text=country,
        )
    return dispensing


# -- lock and technical correction ------------------------------------------------------------------------


def lock(*, actor: audit.Actor, prescription: Prescription, reason: str) -> Prescription:
    """Lock the prescription while the pharmacy waits for the prescriber's correction."""
    professional, _unit, pharmacy = _pharmacist(actor)
    reason = " ".join((reason or "").split())
    if not reason:
        raise RuleViolation(_("Say why the prescription is locked."), code="reason", field="reason")
    if len(reason) > LOCK_REASON_MAX:
        raise RuleViolation(
            _("Keep the reason to %(limit)s characters.") % {"limit": LOCK_REASON_MAX},
            code="reason",
            field="reason",
        )
    now = timezone.now()
    with transaction.atomic():
        current = _locked(prescription)
        if current.locked_by_id is not None:
            raise RuleViolation(
                _("This prescription is already locked by %(pharmacy)s.")
                % {"pharmacy": current.locked_by.name},
                code="locked",
            )
        if current.status not in DISPENSABLE_STATUSES:
            raise RuleViolation(
                _("Only a prescription that can still be dispensed can be locked."), code="not_dispensable"
            )
        _refuse_if_reserved_elsewhere(current, pharmacy, now)
        current.locked_by = pharmacy
        current.lock_reason = reason
        # A locked prescription cannot be dispensed, so the pharmacy's own reservation has no purpose left.
        current.reserved_by = None
        current.reserved_until = None
        current.save(update_fields=["locked_by", "lock_reason", "reserved_by", "reserved_until"])
        event = _event(
            current, kind=EventKind.LOCKED, professional=professional, organisation=pharmacy, note=reason
        )
        _record(
            actor=actor,
            action="prescription.lock",
            prescription=current,
            object_ids=[event.pk],
            reason_text=reason,
            legal_basis=LegalBasis.CARE_RELATIONSHIP,
        )
    return current


def technical_correction(
    *,
    actor: audit.Actor,
    prescription: Prescription,
    dosage: str | None = None,
    message_to_pharmacy: str | None = None,
    note: str = "",
) -> Prescription:
    """Fix the formatting of the dosage text or the message to the pharmacy without changing the content.

    Only letter case and whitespace may change; anything else is a correction for the prescriber.
    """
    professional, _unit, pharmacy = _pharmacist(actor)
    changes = {
        name: value.strip()
        for name, value in (("dosage", dosage), ("message_to_pharmacy", message_to_pharmacy))
        if value is not None
    }
    if changes.get("dosage") == "":
        raise RuleViolation(_("The dosage instructions cannot be empty."), code="dosage", field="dosage")
    if len(changes.get("message_to_pharmacy", "")) > MESSAGE_TO_PHARMACY_MAX:
        raise RuleViolation(
            _("Keep the message to the pharmacy to %(limit)s characters.")
            % {"limit": MESSAGE_TO_PHARMACY_MAX},
            code="message_to_pharmacy",
            field="message_to_pharmacy",
        )
    now = timezone.now()
    with transaction.atomic():
        current = _locked(prescription)
        if current.status not in DISPENSABLE_STATUSES:
            raise RuleViolation(
                _("Only a prescription that can still be dispensed can be corrected."), code="not_dispensable"
            )
        _refuse_if_reserved_elsewhere(current, pharmacy, now)
        changed = {name: value for name, value in changes.items() if value != getattr(current, name)}
        if not changed:
            raise RuleViolation(_("Nothing was changed."), code="unchanged")
        for name, value in changed.items():
            if _normalised(value) != _normalised(getattr(current, name)):
                raise RuleViolation(
                    _(
                        "A technical correction may change only letter case and spacing. A change in the content "
                        "is for the prescriber: lock the prescription and ask for a correction."
                    ),
                    code="content_changed",
                    field=name,
                )
            setattr(current, name, value)
        current.version += 1
        current.save(update_fields=[*changed, "version"])
        event = _event(
            current,
            kind=EventKind.TECHNICAL_CORRECTION,
            professional=professional,
            organisation=pharmacy,
            note=" ".join(note.split()),
        )
        _record(
            actor=actor,
            action="prescription.technical_correction",
            prescription=current,
            object_ids=[event.pk],
            legal_basis=LegalBasis.CARE_RELATIONSHIP,
        )
    return current


# -- the citizen's cross-border consent -------------------------------------------------------------------


def _only_self(person: Person, acting_person: Person) -> None:
    if acting_person.pk != person.pk:
        raise RuleViolation(
            _(
                "Only the person themself can consent to using their prescriptions abroad, never on behalf of another."
            ),
            code="on_behalf",
        )


def cross_border_consent_give(
    *, actor: audit.Actor, person: Person, acting_person: Person
) -> CrossBorderConsent:
    """The person consents in MyKanta to using their prescriptions abroad; a valid consent is kept as is."""
    _only_self(person, acting_person)
    with transaction.atomic():
        # Serialises two simultaneous clicks, so the second finds the first's consent.
        Person.objects.select_for_update().filter(pk=person.pk).first()
        consent = CrossBorderConsent.objects.filter(person=person, withdrawn_at__isnull=True).first()
        if consent is not None:
            return consent
        consent = CrossBorderConsent.objects.create(person=person, given_at=timezone.now())
        audit.record(
            actor=actor,
            action="prescription.cross_border_consent.give",
            category=AuditCategory.CHANGE,
            person=person,
            data_type=DataType.PRESCRIPTION,
            object_type="cross_border_consent",
            object_ids=[consent.public_id],
            legal_basis=LegalBasis.SELF,
        )
    return consent


def cross_border_consent_withdraw(
    *, actor: audit.Actor, person: Person, acting_person: Person
) -> CrossBorderConsent:
    """The person withdraws their consent; the row stays as history with its withdrawal time."""
    _only_self(person, acting_person)
    with transaction.atomic():
        consent = (
            CrossBorderConsent.objects.select_for_update()
            .filter(person=person, withdrawn_at__isnull=True)
            .first()
        )
        if consent is None:
            raise RuleViolation(
                _("You have no valid consent to using your prescriptions abroad."), code="no_consent"
            )
        consent.withdrawn_at = timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        audit.record(
            actor=actor,
            action="prescription.cross_border_consent.withdraw",
            category=AuditCategory.CHANGE,
            person=person,
            data_type=DataType.PRESCRIPTION,
            object_type="cross_border_consent",
            object_ids=[consent.public_id],
            legal_basis=LegalBasis.SELF,
        )
    return consent


# -- prescription summary ---------------------------------------------------------------------------------


def new_barcode() -> str:
    return "".join(secrets.choice(BARCODE_ALPHABET) for _i in range(BARCODE_LENGTH))


def summary_create(
    *,
    actor: audit.Actor,
    person: Person,
    prescriptions: Iterable[Prescription],
    legal_basis: str = LegalBasis.SELF,
) -> PrescriptionSummary:
    """A summary of the person's chosen prescriptions with a barcode a pharmacy can scan.

    `legal_basis` is the basis the page acts on (the person themself, a guardian, a mandate).
    """
    chosen = {p.pk for p in prescriptions}
    if not chosen:
        raise RuleViolation(_("Choose at least one prescription for the summary."), code="empty")
    if len(chosen) > SUMMARY_MAX_PRESCRIPTIONS:
        raise RuleViolation(
            _("A summary can hold at most %(limit)s prescriptions.") % {"limit": SUMMARY_MAX_PRESCRIPTIONS},
            code="too_many",
        )
    with transaction.atomic():
        owned = set(Prescription.objects.filter(pk__in=chosen, person=person).values_list("pk", flat=True))
        if owned != chosen:
            raise RuleViolation(_("A summary can only hold the person's own prescriptions."), code="not_own")
        summary = None
        for _attempt in range(5):
            try:
                # A savepoint, so that a (vanishingly rare) barcode collision can be retried.
                with transaction.atomic():
                    summary = PrescriptionSummary.objects.create(person=person, barcode=new_barcode())
                break
            except IntegrityError:
                continue
        if summary is None:  # pragma: no cover - 32**12 codes
            raise RuleViolation(_("The summary could not be created. Try again."), code="barcode")
        summary.prescriptions.set(chosen)
        audit.record(
            actor=actor,
            action="prescription.summary.create",
            category=AuditCategory.CHANGE,
            person=person,
            data_type=DataType.PRESCRIPTION,
            object_type="prescription_summary",
            object_ids=[summary.public_id],
            legal_basis=legal_basis,
        )
    return summary
