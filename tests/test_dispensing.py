"""The pharmacy side of the Prescription service (prescriptions.dispensing, prescriptions.pharmacy_selectors).

Every rule is shown refusing first, with nothing written, and then allowing, with what the user would notice:
the dispensing, the amount left, the status, the history and the audit event.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from consents.models import PrescriptionDenial
from kanta.audit import Actor
from kanta.errors import RuleViolation
from kanta.models import AuditEvent, DataType, LegalBasis, Profession
from prescriptions import dispensing, pharmacy_selectors
from prescriptions.models import (
    CrossBorderConsent,
    Dispensing,
    EventKind,
    Prescription,
    PrescriptionEvent,
    PrescriptionStatus,
)
from tests.factories import PersonFactory, ProfessionalFactory
from tests.factories_prescriptions import (
    CrossBorderConsentFactory,
    PharmacistFactory,
    PharmacyUnitFactory,
    PrescriptionFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


def pharmacy_actor(unit=None, *, profession: str = Profession.PHARMACIST) -> Actor:
    unit = unit or PharmacyUnitFactory()
    professional = PharmacistFactory(units=[unit], profession=profession)
    return Actor(user=professional.user, professional=professional, unit=unit)


@pytest.fixture
def pharmacist() -> Actor:
    return pharmacy_actor()


@pytest.fixture
def other_pharmacist() -> Actor:
    return pharmacy_actor()


@pytest.fixture
def product():
    return ProductFactory(
        name="Amlodipin Orion",
        package_size="30 tabl",
        package_quantity=Decimal(30),
        retail_price=Decimal("8.20"),
        substitution_group="C08CA01-5",
    )


def prescription_of(product, /, **fields) -> Prescription:
    """A valid 2-year prescription of `product`: 1 unit a day, 300 units (10 packages of 30) by default."""
    prescribed_at = fields.pop("prescribed_at", timezone.now() - datetime.timedelta(days=30))
    defaults = {
        "product": product,
        "daily_quantity": Decimal(1),
        "amount_packages": 10,
        "total_quantity": Decimal(300),
        "prescribed_at": prescribed_at,
        "valid_until": (prescribed_at + datetime.timedelta(days=730)).date(),
    }
    defaults.update(fields)
    return PrescriptionFactory(**defaults)


@pytest.fixture
def prescription(product):
    return prescription_of(product)


def refreshed(prescription: Prescription) -> Prescription:
    return Prescription.objects.get(pk=prescription.pk)


# -- who dispenses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "profession", [Profession.NURSE, Profession.MEDICAL_STUDENT, Profession.PHYSICIAN, Profession.ARCHIVIST]
)
def test_only_pharmacists_dispense_other_professions_at_a_pharmacy_are_refused(
    profession, prescription, product
):
    actor = pharmacy_actor(profession=profession)

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=actor, prescription=prescription, product=product, packages=1)

    assert refused.value.code == "not_pharmacist"
    assert not Dispensing.objects.exists()
    assert refreshed(prescription).quantity_dispensed == 0


def test_a_pharmacist_working_outside_a_pharmacy_cannot_dispense(prescription, product, health_centre):
    professional = ProfessionalFactory(units=[health_centre], profession=Profession.PHARMACIST)
    actor = Actor(user=professional.user, professional=professional, unit=health_centre)

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=actor, prescription=prescription, product=product, packages=1)

    assert refused.value.code == "not_pharmacy"


def test_a_pharmacist_cannot_act_in_a_pharmacy_they_do_not_work_in(prescription, product):
    professional = PharmacistFactory(units=[PharmacyUnitFactory()])
    actor = Actor(user=professional.user, professional=professional, unit=PharmacyUnitFactory())

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=actor, prescription=prescription, product=product, packages=1)

    assert refused.value.code == "not_in_unit"


@pytest.mark.parametrize("profession", [Profession.PHARMACIST, Profession.DISPENSING_PHARMACIST])
def test_pharmacists_and_dispensing_pharmacists_dispense_and_it_is_audited(profession, prescription, product):
    actor = pharmacy_actor(profession=profession)

    result = dispensing.dispense(actor=actor, prescription=prescription, product=product, packages=2)

    assert result.quantity == Decimal(60)
    assert result.pharmacy == actor.unit.organisation
    assert result.pharmacist == actor.professional
    assert result.country == "FI"
    assert result.price == Decimal("16.40")  # two packages at the retail price when no price is given
    event = AuditEvent.objects.get(action="prescription.dispense")
    assert event.person == prescription.person
    assert event.data_type == DataType.PRESCRIPTION
    assert event.unit == actor.unit
    assert str(result.public_id) in event.object_ids


def test_packages_must_be_a_positive_whole_number(pharmacist, prescription, product):
    for packages in (0, -1, 1.5, True):
        with pytest.raises(RuleViolation) as refused:
            dispensing.dispense(
                actor=pharmacist, prescription=prescription, product=product, packages=packages
            )
        assert refused.value.code == "packages"
    assert not Dispensing.objects.exists()


# -- status and amounts -----------------------------------------------------------------------------------


def test_status_goes_from_undispensed_to_partly_to_fully_dispensed(pharmacist, product):
    prescription = prescription_of(product, total_quantity=Decimal(90), amount_packages=3)
    assert prescription.status == PrescriptionStatus.UNDISPENSED

    dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)
    after_first = refreshed(prescription)
    assert after_first.status == PrescriptionStatus.PARTLY_DISPENSED
    assert after_first.quantity_left == Decimal(60)
    assert after_first.last_dispensed_at is not None

    dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=2)
    after_second = refreshed(prescription)
    assert after_second.status == PrescriptionStatus.FULLY_DISPENSED
    assert after_second.quantity_left == 0

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)
    assert refused.value.code == "fully_dispensed"


def test_dispensing_more_than_is_left_is_refused(pharmacist, product):
    prescription = prescription_of(product, total_quantity=Decimal(60), amount_packages=2)

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=3)

    assert refused.value.code == "more_than_left"
    assert "60" in refused.value.message and "90" in refused.value.message
    assert not Dispensing.objects.exists()

    dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=2)
    assert refreshed(prescription).quantity_left == 0


def test_the_last_package_may_not_exceed_what_is_left(pharmacist, product):
    prescription = prescription_of(
        product, total_quantity=Decimal(45), amount_packages=None, amount_kind="quantity"
    )
    dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)

    with pytest.raises(RuleViolation) as refused:  # 15 left, a package holds 30
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)

    assert refused.value.code == "more_than_left"


def test_more_than_three_months_treatment_at_once_is_refused(pharmacist, product):
    prescription = prescription_of(product)  # 1 a day, 300 left

    with pytest.raises(RuleViolation) as refused:  # 120 days
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=4)

    assert refused.value.code == "purchase_limit"
    assert not Dispensing.objects.exists()

    dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=3)  # 90 days
    assert refreshed(prescription).quantity_dispensed == Decimal(90)


def test_a_hundred_tablet_package_fits_three_months_with_kelas_ten_day_tolerance(pharmacist):
    product = ProductFactory(package_quantity=Decimal(100), substitution_group="C08CA01-5")
    prescription = prescription_of(product)

    with pytest.raises(RuleViolation) as refused:  # 200 days
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=2)
    assert refused.value.code == "purchase_limit"

    dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)
    assert refreshed(prescription).quantity_dispensed == Decimal(100)


def test_a_package_costing_over_1000_euros_limits_a_purchase_to_one_month(pharmacist):
    expensive = ProductFactory(
        package_quantity=Decimal(30), retail_price=Decimal("1250.00"), substitution_group="L04AX-EXP"
    )
    prescription = prescription_of(expensive, total_quantity=Decimal(180))

    with pytest.raises(RuleViolation) as refused:  # 60 days
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=expensive, packages=2)

    assert refused.value.code == "purchase_limit"
    assert "1,000" in refused.value.message or "1 000" in refused.value.message

    dispensing.dispense(actor=pharmacist, prescription=prescription, product=expensive, packages=1)
    assert refreshed(prescription).quantity_dispensed == Decimal(30)


def test_one_package_over_the_limit_is_allowed_only_when_no_smaller_package_exists(pharmacist):
    big = ProductFactory(package_quantity=Decimal(100), substitution_group="N06AB-BIG")
    prescription = prescription_of(big, daily_quantity=Decimal("0.5"))  # one package lasts 200 days

    dispensing.dispense(actor=pharmacist, prescription=prescription, product=big, packages=1)

    ProductFactory(package_quantity=Decimal(28), substitution_group="N06AB-BIG")
    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=big, packages=1)
    assert refused.value.code == "purchase_limit"


# -- validity and the grace month -------------------------------------------------------------------------


def expired_prescription(product, *, days_ago: int, **fields) -> Prescription:
    valid_until = timezone.localdate() - datetime.timedelta(days=days_ago)
    prescribed_at = timezone.now() - datetime.timedelta(days=730 + days_ago)
    return prescription_of(product, prescribed_at=prescribed_at, valid_until=valid_until, **fields)


def test_an_expired_one_year_prescription_gets_no_grace_month(pharmacist):
    pkv = ProductFactory(package_quantity=Decimal(30), pkv=True, substitution_group="N05BA-PKV")
    prescription = prescription_of(
        pkv,
        pkv=True,
        prescribed_at=timezone.now() - datetime.timedelta(days=370),
        valid_until=timezone.localdate() - datetime.timedelta(days=5),
    )

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=pkv, packages=1)

    assert refused.value.code == "expired"
    assert not Dispensing.objects.exists()


def test_the_grace_month_allows_one_months_supply_of_an_expired_two_year_prescription(pharmacist, product):
    prescription = expired_prescription(product, days_ago=10)

    with pytest.raises(RuleViolation) as refused:  # two months
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=2)
    assert refused.value.code == "grace_limit"

    dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)
    assert refreshed(prescription).quantity_dispensed == Decimal(30)

    with pytest.raises(RuleViolation) as refused_again:  # the month's supply is used up
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)
    assert refused_again.value.code == "grace_limit"


def test_after_the_grace_month_nothing_can_be_dispensed(pharmacist, product):
    prescription = expired_prescription(product, days_ago=40)

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)

    assert refused.value.code == "expired"


def test_an_invalidated_prescription_cannot_be_dispensed(pharmacist, product):
    prescription = prescription_of(
        product, status=PrescriptionStatus.INVALIDATED, invalidated_at=timezone.now()
    )

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)

    assert refused.value.code == "invalidated"


def test_a_deceased_persons_prescription_cannot_be_dispensed(pharmacist, product):
    prescription = prescription_of(product, person=PersonFactory(date_of_death=timezone.localdate()))

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)

    assert refused.value.code == "deceased"


# -- substitution -----------------------------------------------------------------------------------------


def test_substitution_is_refused_outside_the_group_and_allowed_within_it(pharmacist, prescription):
    outside = ProductFactory(name="Felodipin", atc="C08CA02", substitution_group="C08CA02-5")
    within = ProductFactory(
        name="Amlodipin Krka", package_quantity=Decimal(30), substitution_group="C08CA01-5"
    )

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=outside, packages=1)
    assert refused.value.code == "not_substitutable"

    result = dispensing.dispense(actor=pharmacist, prescription=prescription, product=within, packages=1)
    assert result.product == within


def test_no_substitution_when_the_prescriber_forbade_it(pharmacist, product):
    prescription = prescription_of(product, substitution_allowed=False)
    within = ProductFactory(package_quantity=Decimal(30), substitution_group="C08CA01-5")

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=within, packages=1)
    assert refused.value.code == "substitution_not_allowed"

    dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)


def test_a_product_without_a_substitution_group_substitutes_nothing(pharmacist):
    prescribed = ProductFactory(package_quantity=Decimal(30), substitution_group="")
    other = ProductFactory(package_quantity=Decimal(30), substitution_group="")
    prescription = prescription_of(prescribed)

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=pharmacist, prescription=prescription, product=other, packages=1)
    assert refused.value.code == "not_substitutable"


def test_a_prescription_by_substance_takes_a_product_of_the_same_atc_strength_and_form(pharmacist, product):
    by_substance = prescription_of(
        product,
        product=None,
        medicine_name="amlodipine 5 mg tablet",
        atc="C08CA01",
        active_substance="amlodipine",
        strength="5 mg",
        form="tablet",
    )
    stronger = ProductFactory(atc="C08CA01", strength="10 mg", form="tablet", substitution_group="C08CA01-10")

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=pharmacist, prescription=by_substance, product=stronger, packages=1)
    assert refused.value.code == "not_substitutable"

    result = dispensing.dispense(actor=pharmacist, prescription=by_substance, product=product, packages=1)
    assert result.product == product


# -- lock ---------------------------------------------------------------------------------------------------


def test_only_a_pharmacist_locks_and_a_reason_is_required(prescription):
    with pytest.raises(RuleViolation) as not_pharmacist:
        dispensing.lock(
            actor=pharmacy_actor(profession=Profession.NURSE), prescription=prescription, reason="Annostus?"
        )
    assert not_pharmacist.value.code == "not_pharmacist"

    with pytest.raises(RuleViolation) as no_reason:
        dispensing.lock(actor=pharmacy_actor(), prescription=prescription, reason="   ")
    assert no_reason.value.code == "reason"
    assert refreshed(prescription).locked_by is None


def test_a_locked_prescription_cannot_be_dispensed(pharmacist, other_pharmacist, prescription, product):
    dispensing.lock(actor=pharmacist, prescription=prescription, reason="Annostus puuttuu")

    for actor in (pharmacist, other_pharmacist):
        with pytest.raises(RuleViolation) as refused:
            dispensing.dispense(actor=actor, prescription=prescription, product=product, packages=1)
        assert refused.value.code == "locked"
        assert "Annostus puuttuu" in refused.value.message
    assert not Dispensing.objects.exists()

    locked = refreshed(prescription)
    assert locked.locked_by == pharmacist.unit.organisation
    event = PrescriptionEvent.objects.get(prescription=prescription, kind=EventKind.LOCKED)
    assert event.snapshot["lock_reason"] == "Annostus puuttuu"
    assert AuditEvent.objects.filter(action="prescription.lock", person=prescription.person).exists()

    with pytest.raises(RuleViolation) as twice:
        dispensing.lock(actor=other_pharmacist, prescription=prescription, reason="Toinen syy")
    assert twice.value.code == "locked"


# -- reservation ------------------------------------------------------------------------------------------


def test_another_pharmacys_reservation_blocks_until_it_lapses_after_24_hours(
    pharmacist, other_pharmacist, prescription, product
):
    dispensing.reserve(actor=pharmacist, prescription=prescription)
    assert AuditEvent.objects.filter(action="prescription.reserve", unit=pharmacist.unit).exists()

    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(actor=other_pharmacist, prescription=prescription, product=product, packages=1)
    assert refused.value.code == "reserved_elsewhere"
    assert pharmacist.unit.organisation.name in refused.value.message
    with pytest.raises(RuleViolation) as refused_reservation:
        dispensing.reserve(actor=other_pharmacist, prescription=prescription)
    assert refused_reservation.value.code == "reserved_elsewhere"
    assert not Dispensing.objects.exists()

    later = timezone.now() + datetime.timedelta(hours=25)
    result = dispensing.dispense(
        actor=other_pharmacist, prescription=prescription, product=product, packages=1, now=later
    )
    assert result.pharmacy == other_pharmacist.unit.organisation


def test_the_same_pharmacy_reserving_again_extends_its_reservation(pharmacist, prescription):
    first = dispensing.reserve(actor=pharmacist, prescription=prescription)
    later = timezone.now() + datetime.timedelta(hours=3)
    second = dispensing.reserve(actor=pharmacist, prescription=prescription, now=later)

    assert second.reserved_by == pharmacist.unit.organisation
    assert second.reserved_until > first.reserved_until
    assert second.reserved_until == later + datetime.timedelta(hours=24)


def test_dispensing_releases_the_pharmacys_own_reservation(
    pharmacist, other_pharmacist, prescription, product
):
    dispensing.reserve(actor=pharmacist, prescription=prescription)

    dispensing.dispense(actor=pharmacist, prescription=prescription, product=product, packages=1)

    assert refreshed(prescription).reserved_by is None
    dispensing.dispense(actor=other_pharmacist, prescription=prescription, product=product, packages=1)


def test_a_pharmacy_releases_its_own_reservation_but_not_anothers(pharmacist, other_pharmacist, prescription):
    dispensing.reserve(actor=pharmacist, prescription=prescription)

    with pytest.raises(RuleViolation) as refused:
        dispensing.release_reservation(actor=other_pharmacist, prescription=prescription)
    assert refused.value.code == "reserved_elsewhere"

    released = dispensing.release_reservation(actor=pharmacist, prescription=prescription)
    assert released.reserved_by is None
    dispensing.reserve(actor=other_pharmacist, prescription=prescription)


# -- technical correction ---------------------------------------------------------------------------------


def test_a_technical_correction_that_changes_the_content_is_refused(pharmacist, product):
    prescription = prescription_of(product, dosage="1  tabletti   aamulla")

    with pytest.raises(RuleViolation) as refused:
        dispensing.technical_correction(
            actor=pharmacist, prescription=prescription, dosage="2 tablettia aamulla"
        )

    assert refused.value.code == "content_changed"
    assert refreshed(prescription).dosage == "1  tabletti   aamulla"
    assert not PrescriptionEvent.objects.exists()


def test_a_technical_correction_fixes_spacing_and_case_as_a_new_version(pharmacist, product):
    prescription = prescription_of(product, dosage="1  TABLETTI   aamulla", message_to_pharmacy="")

    with pytest.raises(RuleViolation) as unchanged:
        dispensing.technical_correction(
            actor=pharmacist, prescription=prescription, dosage="1  TABLETTI   aamulla"
        )
    assert unchanged.value.code == "unchanged"

    corrected = dispensing.technical_correction(
        actor=pharmacist, prescription=prescription, dosage="1 tabletti aamulla", note="välilyönnit"
    )

    assert corrected.dosage == "1 tabletti aamulla"
    assert corrected.version == 2
    event = PrescriptionEvent.objects.get(prescription=prescription, kind=EventKind.TECHNICAL_CORRECTION)
    assert event.version == 2
    assert event.organisation == pharmacist.unit.organisation
    assert event.snapshot["dosage"] == "1 tabletti aamulla"
    assert AuditEvent.objects.filter(action="prescription.technical_correction").exists()


# -- cross-border -----------------------------------------------------------------------------------------


def test_a_finnish_pharmacy_cannot_record_a_dispensing_abroad(pharmacist, prescription, product):
    with pytest.raises(RuleViolation) as refused:
        dispensing.dispense(
            actor=pharmacist, prescription=prescription, product=product, packages=1, country="EE"
        )

    assert refused.value.code == "country"


def test_a_purchase_abroad_without_the_persons_consent_is_refused(prescription, product):
    with pytest.raises(RuleViolation) as refused:
        dispensing.record_cross_border_dispensing(
            country="EE", prescription=prescription, product=product, packages=1, dispensed_at=timezone.now()
        )

    assert refused.value.code == "no_cross_border_consent"
    assert not Dispensing.objects.exists()


def test_a_narcotic_is_never_dispensed_abroad_even_with_consent(product):
    narcotic = ProductFactory(package_quantity=Decimal(30), narcotic=True, substitution_group="N02AA-NARC")
    prescription = prescription_of(narcotic, narcotic=True)
    CrossBorderConsentFactory(person=prescription.person)

    with pytest.raises(RuleViolation) as refused:
        dispensing.record_cross_border_dispensing(
            country="ES", prescription=prescription, product=narcotic, packages=1, dispensed_at=timezone.now()
        )

    assert refused.value.code == "cross_border_ineligible"
    assert not Dispensing.objects.exists()


def test_pkv_and_pharmacy_made_medicines_are_not_eligible_abroad(product):
    assert dispensing.cross_border_refusal_reason(prescription_of(product, pkv=True))
    assert dispensing.cross_border_refusal_reason(prescription_of(product, pharmacy_made=True))
    assert dispensing.cross_border_refusal_reason(prescription_of(product)) is None


def test_a_purchase_abroad_with_consent_is_recorded_with_its_country(prescription, product):
    CrossBorderConsentFactory(person=prescription.person)

    with pytest.raises(RuleViolation) as refused:
        dispensing.record_cross_border_dispensing(
            country="DE", prescription=prescription, product=product, packages=1, dispensed_at=timezone.now()
        )
    assert refused.value.code == "country"

    result = dispensing.record_cross_border_dispensing(
        country="EE", prescription=prescription, product=product, packages=1, dispensed_at=timezone.now()
    )

    assert result.country == "EE"
    assert result.pharmacy is None
    assert refreshed(prescription).status == PrescriptionStatus.PARTLY_DISPENSED
    event = AuditEvent.objects.get(action="prescription.dispense_abroad")
    assert event.professional is None
    assert event.legal_basis == LegalBasis.CONSENT
    assert event.reason_text == "EE"


def test_cross_border_consent_is_never_given_on_behalf_of_another(patient):
    guardian = PersonFactory()

    with pytest.raises(RuleViolation) as refused:
        dispensing.cross_border_consent_give(actor=Actor(), person=patient, acting_person=guardian)

    assert refused.value.code == "on_behalf"
    assert not CrossBorderConsent.objects.exists()


def test_the_person_gives_and_withdraws_cross_border_consent(patient, product):
    with pytest.raises(RuleViolation) as nothing_to_withdraw:
        dispensing.cross_border_consent_withdraw(actor=Actor(), person=patient, acting_person=patient)
    assert nothing_to_withdraw.value.code == "no_consent"

    consent = dispensing.cross_border_consent_give(actor=Actor(), person=patient, acting_person=patient)
    again = dispensing.cross_border_consent_give(actor=Actor(), person=patient, acting_person=patient)
    assert again == consent
    assert pharmacy_selectors.valid_cross_border_consent(patient) == consent

    dispensing.cross_border_consent_withdraw(actor=Actor(), person=patient, acting_person=patient)

    assert pharmacy_selectors.valid_cross_border_consent(patient) is None
    assert (
        AuditEvent.objects.filter(
            person=patient, action__startswith="prescription.cross_border_consent"
        ).count()
        == 2
    )
    prescription = prescription_of(product, person=patient)
    with pytest.raises(RuleViolation) as refused:
        dispensing.record_cross_border_dispensing(
            country="PT", prescription=prescription, product=product, packages=1, dispensed_at=timezone.now()
        )
    assert refused.value.code == "no_cross_border_consent"


# -- summary and the pharmacy's searches ------------------------------------------------------------------


def test_a_summary_holds_only_the_persons_own_prescriptions(patient, product):
    own = prescription_of(product, person=patient)
    someone_elses = prescription_of(product)

    with pytest.raises(RuleViolation) as refused:
        dispensing.summary_create(actor=Actor(), person=patient, prescriptions=[own, someone_elses])
    assert refused.value.code == "not_own"
    with pytest.raises(RuleViolation) as empty:
        dispensing.summary_create(actor=Actor(), person=patient, prescriptions=[])
    assert empty.value.code == "empty"

    summary = dispensing.summary_create(actor=Actor(), person=patient, prescriptions=[own])

    assert re.fullmatch(r"[A-Z2-9]{12}", summary.barcode)
    assert list(pharmacy_selectors.by_summary_barcode(summary.barcode.lower())) == [own]
    assert pharmacy_selectors.summary_by_barcode(f" {summary.barcode} ").person == patient
    assert not pharmacy_selectors.by_summary_barcode("NOSUCHCODE22").exists()
    assert AuditEvent.objects.filter(action="prescription.summary.create", person=patient).exists()


def test_identity_code_search_shows_what_can_be_dispensed_and_leaves_denials_to_the_gate(patient, product):
    valid = prescription_of(product, person=patient)
    in_grace = expired_prescription(product, days_ago=10, person=patient)
    past_grace = expired_prescription(product, days_ago=40, person=patient)
    fully = prescription_of(
        product, person=patient, status=PrescriptionStatus.FULLY_DISPENSED, quantity_dispensed=Decimal(300)
    )
    invalidated = prescription_of(
        product, person=patient, status=PrescriptionStatus.INVALIDATED, invalidated_at=timezone.now()
    )
    denied = prescription_of(product, person=patient)
    PrescriptionDenial.objects.create(person=patient, prescription=denied)
    prescription_of(product)  # someone else's

    found = set(pharmacy_selectors.dispensable_for_person(patient))

    assert found == {valid, in_grace, denied}
    everything_open = set(pharmacy_selectors.dispensable_for_person(patient, with_medicine_left=False))
    assert everything_open == {valid, in_grace, past_grace, denied}
    assert fully not in everything_open and invalidated not in everything_open
    recent = pharmacy_selectors.dispensable_for_person(
        patient, with_medicine_left=False, prescribed_since=timezone.localdate() - datetime.timedelta(days=60)
    )
    assert set(recent) == {valid, denied}


def test_identity_code_search_runs_one_query_however_many_prescriptions(
    patient, product, django_assert_num_queries
):
    for _ in range(15):
        prescription_of(product, person=patient)

    with django_assert_num_queries(1):
        rows = [
            (p.medicine_name, p.prescriber.user.last_name, p.unit.name, p.product.vnr, p.reserved_by)
            for p in pharmacy_selectors.dispensable_for_person(patient)
        ]

    assert len(rows) == 15
