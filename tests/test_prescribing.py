"""The prescriber side of the Prescription service: who prescribes what, validity, amounts, correction,
invalidation, the pharmacy lock's release and the nightly jobs (DOMAIN.md "ePrescriptions";
kanta-reference.md 3.1, 3.3, 3.4)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import AuditEvent, DataType, Profession
from prescriptions import rules, services, tasks
from prescriptions.models import (
    AmountKind,
    EventKind,
    InvalidationCategory,
    Prescription,
    PrescriptionEvent,
    PrescriptionStatus,
)
from tests.factories import OrganisationFactory, PersonFactory, ProfessionalFactory, UnitFactory
from tests.factories_prescriptions import CareRelationshipFactory, PrescriptionFactory, ProductFactory

pytestmark = pytest.mark.django_db


def actor_for(professional, unit) -> audit.Actor:
    return audit.Actor(user=professional.user, professional=professional, unit=unit)


@pytest.fixture
def care(patient, health_centre):
    return CareRelationshipFactory(person=patient, unit=health_centre)


@pytest.fixture
def doctor(treating_doctor, care):
    return actor_for(treating_doctor, care.unit)


@pytest.fixture
def product(db):
    return ProductFactory(name="Amlodipin Test", atc="C08CA01", package_quantity=Decimal("100"))


@pytest.fixture
def contraceptive(db):
    return ProductFactory(
        name="Ehkäisy Test",
        atc="G03AA07",
        active_substance="levonorgestrel and ethinylestradiol",
        strength="0,15 mg/0,03 mg",
        package_quantity=Decimal("63"),
    )


@pytest.fixture
def sedative(db):
    return ProductFactory(name="Diatsepaami Test", atc="N05BA01", pkv=True, package_quantity=Decimal("30"))


def professional_in(unit, profession):
    return actor_for(ProfessionalFactory(units=[unit], profession=profession), unit)


def prescribe(actor, person, **overrides):
    values = {
        "dosage": "1 tabletti aamulla",
        "daily_quantity": "1",
        "amount_kind": AmountKind.PACKAGES,
        "amount_packages": 2,
        "purpose": "verenpainetauti",
    }
    values.update(overrides)
    return services.prescribe(actor=actor, person=person, **values)


def today() -> datetime.date:
    return timezone.localdate()


# -- who prescribes ----------------------------------------------------------------------------------------


def test_doctor_without_a_care_relationship_cannot_prescribe(
    patient, unrelated_doctor, health_centre, product
):
    with pytest.raises(RuleViolation) as refused:
        prescribe(actor_for(unrelated_doctor, health_centre), patient, product=product)

    assert refused.value.code == "no_care_relationship"
    assert not Prescription.objects.exists()


def test_doctor_prescribes_by_product_with_the_medicine_copied_history_and_audit(doctor, patient, product):
    prescription = prescribe(doctor, patient, product=product)

    assert prescription.status == PrescriptionStatus.UNDISPENSED
    assert prescription.prescriber == doctor.professional
    assert prescription.unit == doctor.unit
    assert (prescription.atc, prescription.medicine_name) == ("C08CA01", "Amlodipin Test 5 mg")
    assert prescription.total_quantity == Decimal("200")
    event = PrescriptionEvent.objects.get(prescription=prescription)
    assert (event.kind, event.version) == (EventKind.PRESCRIBED, 1)
    assert event.snapshot["dosage"] == "1 tabletti aamulla"
    assert event.snapshot["total_quantity"] == "200.00"
    logged = AuditEvent.objects.get(action="prescription.prescribe")
    assert logged.data_type == DataType.PRESCRIPTION
    assert logged.person == patient
    assert logged.object_ids == [str(prescription.public_id)]


@pytest.mark.parametrize("profession", [Profession.NURSE, Profession.PUBLIC_HEALTH_NURSE])
def test_nurse_cannot_prescribe_a_medicine_outside_the_nurse_list(patient, care, sedative, profession):
    nurse = professional_in(care.unit, profession)

    with pytest.raises(RuleViolation) as refused:
        prescribe(nurse, patient, product=sedative)

    assert refused.value.code == "no_prescribing_right"
    assert "N05BA01" in str(refused.value)
    assert not Prescription.objects.exists()


@pytest.mark.parametrize("profession", [Profession.NURSE, Profession.PUBLIC_HEALTH_NURSE])
def test_nurse_prescribes_a_medicine_on_the_nurse_list(patient, care, contraceptive, profession):
    nurse = professional_in(care.unit, profession)

    prescription = prescribe(nurse, patient, product=contraceptive, purpose="raskauden ehkäisy")

    assert prescription.prescriber == nurse.professional
    assert prescription.atc == "G03AA07"


def test_nurse_never_prescribes_a_special_permit_product_even_on_the_list(patient, care):
    nurse = professional_in(care.unit, Profession.NURSE)
    special = ProductFactory(atc="J07BC02", name="Rokote Test", special_permit=True)

    with pytest.raises(RuleViolation, match="special-permit"):
        prescribe(nurse, patient, product=special)

    ordinary = ProductFactory(atc="J07BC02", name="Rokote Test 2")
    assert prescribe(nurse, patient, product=ordinary).atc == "J07BC02"


def test_nurse_list_is_shipped_as_data_and_matches_by_prefix():
    assert rules.nurse_list_entry("G03AA07").atc_prefix == "G03AA"
    assert rules.nurse_list_entry("J07BC02").atc_prefix == "J07"
    assert rules.nurse_list_entry("N05BA01") is None
    assert all(entry.use in {"start", "continue"} for entry in rules.nurse_list())


def test_medical_student_never_signs_a_prescription(patient, care, product):
    student = professional_in(care.unit, Profession.MEDICAL_STUDENT)

    with pytest.raises(RuleViolation, match="students do not sign"):
        prescribe(student, patient, product=product)

    assert not Prescription.objects.exists()


@pytest.mark.parametrize(
    "profession",
    [Profession.PHARMACIST, Profession.DISPENSING_PHARMACIST, Profession.SOCIAL_WORKER, Profession.ARCHIVIST],
)
def test_other_professions_cannot_prescribe(patient, care, product, profession):
    with pytest.raises(RuleViolation, match="no right to prescribe"):
        prescribe(professional_in(care.unit, profession), patient, product=product)

    assert not Prescription.objects.exists()


def test_dentist_prescribes(patient, care, product):
    assert prescribe(professional_in(care.unit, Profession.DENTIST), patient, product=product).pk


def test_doctor_cannot_prescribe_in_a_unit_they_do_not_work_in(patient, care, product):
    outsider = ProfessionalFactory(units=[UnitFactory()])

    with pytest.raises(RuleViolation) as refused:
        prescribe(actor_for(outsider, care.unit), patient, product=product)

    assert refused.value.code == "not_in_unit"


def test_nobody_prescribes_for_a_person_who_has_died(doctor, patient, product):
    patient.date_of_death = today() - datetime.timedelta(days=1)
    patient.save()

    with pytest.raises(RuleViolation, match="died"):
        prescribe(doctor, patient, product=product)


def test_a_product_no_longer_marketed_is_refused(doctor, patient):
    withdrawn = ProductFactory(marketed=False)

    with pytest.raises(RuleViolation, match="no longer marketed"):
        prescribe(doctor, patient, product=withdrawn)


# -- validity --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["narcotic", "pkv", "special_permit"])
def test_narcotic_pkv_and_special_permit_products_are_valid_one_year(doctor, patient, flag):
    product = ProductFactory(atc="N02AA01", **{flag: True})

    prescription = prescribe(doctor, patient, product=product)

    assert prescription.valid_until == rules.add_months(today(), 12)
    assert getattr(prescription, flag) is True


def test_other_prescriptions_are_valid_two_years(doctor, patient, product):
    assert prescribe(doctor, patient, product=product).valid_until == rules.add_months(today(), 24)


def test_prescription_by_substance_with_a_pkv_flag_is_valid_one_year(doctor, patient):
    prescription = prescribe(
        doctor,
        patient,
        active_substance="diazepam",
        strength="5 mg",
        form="tablet",
        atc="N05BA01",
        pkv=True,
        amount_kind=AmountKind.QUANTITY,
        amount_quantity="30",
    )

    assert prescription.product is None
    assert prescription.medicine_name == "diazepam 5 mg tablet"
    assert prescription.valid_until == rules.add_months(today(), 12)


def test_prescription_by_substance_keeps_the_shorter_validity_of_its_products(doctor, patient, sedative):
    prescription = prescribe(
        doctor,
        patient,
        active_substance="diazepam",
        strength="5 mg",
        form="tablet",
        atc="N05BA01",
        amount_kind=AmountKind.QUANTITY,
        amount_quantity="30",
    )

    assert prescription.pkv is True
    assert prescription.valid_until == rules.add_months(today(), 12)


def test_prescriber_cannot_lengthen_validity_past_two_years(doctor, patient, product):
    with pytest.raises(RuleViolation, match="at most two years") as refused:
        prescribe(
            doctor,
            patient,
            product=product,
            valid_until=rules.add_months(today(), 24) + datetime.timedelta(1),
        )

    assert refused.value.field == "valid_until"
    assert not Prescription.objects.exists()


def test_prescriber_cannot_lengthen_a_pkv_prescription_past_one_year(doctor, patient, sedative):
    with pytest.raises(RuleViolation, match="at most one year"):
        prescribe(
            doctor,
            patient,
            product=sedative,
            valid_until=rules.add_months(today(), 12) + datetime.timedelta(1),
        )


def test_validity_cannot_end_in_the_past(doctor, patient, product):
    with pytest.raises(RuleViolation, match="past"):
        prescribe(doctor, patient, product=product, valid_until=today() - datetime.timedelta(days=1))


def test_prescriber_may_shorten_validity(doctor, patient, product):
    shorter = today() + datetime.timedelta(days=90)

    assert prescribe(doctor, patient, product=product, valid_until=shorter.isoformat()).valid_until == shorter


# -- what and how much -----------------------------------------------------------------------------------


def test_prescription_by_substance_needs_a_complete_atc_code(doctor, patient):
    common = {"active_substance": "amlodipine", "strength": "5 mg", "form": "tablet"}
    common |= {"amount_kind": AmountKind.QUANTITY, "amount_quantity": "100"}

    with pytest.raises(RuleViolation, match="needs its ATC code"):
        prescribe(doctor, patient, **common)
    with pytest.raises(RuleViolation, match="not a complete ATC code"):
        prescribe(doctor, patient, atc="C08", **common)

    assert prescribe(doctor, patient, atc="c08ca01", **common).atc == "C08CA01"


def test_amount_by_packages_needs_a_product(doctor, patient):
    with pytest.raises(RuleViolation, match="quantity or a treatment period"):
        prescribe(
            doctor, patient, active_substance="amlodipine", strength="5 mg", form="tablet", atc="C08CA01"
        )


@pytest.mark.parametrize(
    ("amount", "total"),
    [
        ({"amount_kind": AmountKind.PACKAGES, "amount_packages": 3}, Decimal("300")),
        ({"amount_kind": AmountKind.QUANTITY, "amount_quantity": "90,5"}, Decimal("90.5")),
        ({"amount_kind": AmountKind.TREATMENT_PERIOD, "amount_treatment_days": 90}, Decimal("135")),
    ],
    ids=["packages", "quantity", "treatment-period"],
)
def test_amount_is_kept_in_units(doctor, patient, product, amount, total):
    prescription = prescribe(doctor, patient, product=product, daily_quantity="1.5", **amount)

    assert prescription.total_quantity == total


@pytest.mark.parametrize(
    "amount",
    [
        {"amount_kind": AmountKind.PACKAGES, "amount_packages": 0},
        {"amount_kind": AmountKind.QUANTITY, "amount_quantity": "0"},
        {"amount_kind": AmountKind.QUANTITY, "amount_quantity": "-5"},
        {"amount_kind": AmountKind.TREATMENT_PERIOD, "amount_treatment_days": None},
        {"amount_kind": "bottles"},
    ],
)
def test_amount_must_be_positive_and_given(doctor, patient, product, amount):
    with pytest.raises(RuleViolation):
        prescribe(doctor, patient, product=product, **amount)

    assert not Prescription.objects.exists()


def test_dosage_and_purpose_are_required(doctor, patient, product):
    with pytest.raises(RuleViolation, match="dosage"):
        prescribe(doctor, patient, product=product, dosage="  ")
    with pytest.raises(RuleViolation, match="purpose"):
        prescribe(doctor, patient, product=product, purpose="")


# -- correction ------------------------------------------------------------------------------------------


@pytest.fixture
def prescription(doctor, patient, product):
    return prescribe(doctor, patient, product=product)


@pytest.mark.parametrize("field", ["person", "patient", "prescriber", "unit"])
def test_correction_never_changes_the_patient_or_the_prescriber(doctor, patient, prescription, field):
    other = {"person": PersonFactory, "patient": PersonFactory, "prescriber": ProfessionalFactory}
    value = other.get(field, UnitFactory)()

    with pytest.raises(RuleViolation, match="never change"):
        services.prescription_correct(
            actor=doctor, prescription=prescription, dosage="2 tablettia", **{field: value}
        )

    prescription.refresh_from_db()
    assert prescription.version == 1
    assert prescription.dosage == "1 tabletti aamulla"
    assert (prescription.person, prescription.prescriber) == (patient, doctor.professional)


def test_correction_cannot_change_the_medicine(doctor, prescription):
    with pytest.raises(RuleViolation, match="cannot be corrected: product"):
        services.prescription_correct(actor=doctor, prescription=prescription, product=ProductFactory())


def test_doctor_without_a_care_relationship_cannot_correct(prescription):
    other_doctor = ProfessionalFactory(units=[UnitFactory()])
    actor = actor_for(other_doctor, other_doctor.units.get())

    with pytest.raises(RuleViolation) as refused:
        services.prescription_correct(actor=actor, prescription=prescription, dosage="2 tablettia")

    assert refused.value.code == "no_care_relationship"
    prescription.refresh_from_db()
    assert prescription.dosage == "1 tabletti aamulla"


def test_treating_doctor_of_another_unit_corrects_with_a_new_version_and_history(prescription, patient):
    other_unit = UnitFactory(organisation=OrganisationFactory())
    CareRelationshipFactory(person=patient, unit=other_unit)
    other_doctor = actor_for(ProfessionalFactory(units=[other_unit]), other_unit)

    corrected = services.prescription_correct(
        actor=other_doctor, prescription=prescription, dosage="1 tabletti illalla", amount_packages=3
    )

    assert corrected.version == 2
    assert (corrected.dosage, corrected.total_quantity) == ("1 tabletti illalla", Decimal("300"))
    assert corrected.person == patient and corrected.prescriber == prescription.prescriber
    history = list(corrected.events.order_by("id").values_list("kind", "version", "snapshot__dosage"))
    assert history == [
        (EventKind.PRESCRIBED, 1, "1 tabletti aamulla"),
        (EventKind.CORRECTED, 2, "1 tabletti illalla"),
    ]
    assert AuditEvent.objects.filter(action="prescription.correct", unit=other_unit).exists()


def test_nurse_cannot_correct_a_medicine_outside_the_nurse_list(prescription, care):
    nurse = professional_in(care.unit, Profession.NURSE)
    prescription.atc = "N05BA01"
    prescription.save()

    with pytest.raises(RuleViolation) as refused:
        services.prescription_correct(actor=nurse, prescription=prescription, dosage="2 tablettia")

    assert refused.value.code == "no_prescribing_right"


def test_correction_only_shortens_validity(doctor, prescription):
    with pytest.raises(RuleViolation, match="only shorten"):
        services.prescription_correct(
            actor=doctor,
            prescription=prescription,
            valid_until=prescription.valid_until + datetime.timedelta(1),
        )

    shorter = prescription.valid_until - datetime.timedelta(days=100)
    corrected = services.prescription_correct(actor=doctor, prescription=prescription, valid_until=shorter)
    assert corrected.valid_until == shorter


def test_correction_keeps_the_amount_when_the_package_size_changed_in_the_database(
    doctor, prescription, product
):
    product.package_quantity = Decimal("98")
    product.save()

    corrected = services.prescription_correct(actor=doctor, prescription=prescription, dosage="1 x 1")

    assert corrected.total_quantity == Decimal("200")


def test_correction_cannot_reduce_the_amount_below_what_was_dispensed(doctor, prescription):
    Prescription.objects.filter(pk=prescription.pk).update(
        quantity_dispensed=Decimal("150"), status=PrescriptionStatus.PARTLY_DISPENSED
    )

    with pytest.raises(RuleViolation, match="already been dispensed"):
        services.prescription_correct(actor=doctor, prescription=prescription, amount_packages=1)

    corrected = services.prescription_correct(
        actor=doctor, prescription=prescription, amount_kind=AmountKind.QUANTITY, amount_quantity="150"
    )
    assert corrected.status == PrescriptionStatus.FULLY_DISPENSED


@pytest.mark.parametrize(
    "status", [PrescriptionStatus.FULLY_DISPENSED, PrescriptionStatus.EXPIRED, PrescriptionStatus.INVALIDATED]
)
def test_only_a_dispensable_prescription_can_be_corrected(doctor, prescription, status):
    Prescription.objects.filter(pk=prescription.pk).update(status=status)

    with pytest.raises(RuleViolation, match="can still be dispensed"):
        services.prescription_correct(actor=doctor, prescription=prescription, dosage="2 tablettia")


def test_correction_releases_a_pharmacy_lock(doctor, prescription):
    pharmacy = OrganisationFactory(kind="pharmacy")
    Prescription.objects.filter(pk=prescription.pk).update(locked_by=pharmacy, lock_reason="annos epäselvä")

    corrected = services.prescription_correct(actor=doctor, prescription=prescription, dosage="1 tabletti")

    assert corrected.locked_by is None and corrected.lock_reason == ""
    released = corrected.events.get(kind=EventKind.RELEASED)
    assert released.note == "annos epäselvä"
    assert released.snapshot["locked_by_id"] is None


def test_prescriber_releases_a_lock_only_when_there_is_one(doctor, prescription):
    with pytest.raises(RuleViolation, match="not locked"):
        services.prescription_release_lock(actor=doctor, prescription=prescription)

    Prescription.objects.filter(pk=prescription.pk).update(locked_by=OrganisationFactory(kind="pharmacy"))
    released = services.prescription_release_lock(actor=doctor, prescription=prescription)

    assert released.locked_by is None
    assert released.version == 1
    assert released.events.filter(kind=EventKind.RELEASED).count() == 1


def test_pharmacist_cannot_release_a_lock_as_prescriber(prescription, care):
    Prescription.objects.filter(pk=prescription.pk).update(locked_by=OrganisationFactory(kind="pharmacy"))

    with pytest.raises(RuleViolation):
        services.prescription_release_lock(
            actor=professional_in(care.unit, Profession.PHARMACIST), prescription=prescription
        )

    prescription.refresh_from_db()
    assert prescription.locked_by is not None


# -- invalidation ----------------------------------------------------------------------------------------


def test_invalidation_needs_a_reason_category(doctor, prescription):
    for category in ["", "automatic", "whim"]:
        with pytest.raises(RuleViolation, match="Choose the reason") as refused:
            services.prescription_invalidate(
                actor=doctor, prescription=prescription, category=category, text="x"
            )
        assert refused.value.field == "category"

    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.UNDISPENSED


def test_invalidation_needs_a_text(doctor, prescription):
    with pytest.raises(RuleViolation, match="Explain why"):
        services.prescription_invalidate(
            actor=doctor, prescription=prescription, category=InvalidationCategory.TECHNICAL, text="  "
        )


def test_care_related_invalidation_needs_the_patients_agreement(doctor, prescription):
    with pytest.raises(RuleViolation, match="agreement") as refused:
        services.prescription_invalidate(
            actor=doctor,
            prescription=prescription,
            category=InvalidationCategory.CARE,
            text="lääkitys vaihtuu",
        )
    assert refused.value.field == "patient_agreed"

    invalidated = services.prescription_invalidate(
        actor=doctor,
        prescription=prescription,
        category=InvalidationCategory.CARE,
        text="lääkitys vaihtuu",
        patient_agreed=True,
    )

    assert invalidated.status == PrescriptionStatus.INVALIDATED
    assert invalidated.invalidation_category == InvalidationCategory.CARE
    assert invalidated.events.get(kind=EventKind.INVALIDATED).snapshot["status"] == "invalidated"
    assert AuditEvent.objects.get(action="prescription.invalidate").reason_text == "care: lääkitys vaihtuu"


@pytest.mark.parametrize("category", [InvalidationCategory.TECHNICAL, InvalidationCategory.PATIENT])
def test_technical_and_patient_caused_invalidations_need_no_agreement(doctor, prescription, category):
    invalidated = services.prescription_invalidate(
        actor=doctor, prescription=prescription, category=category, text="väärä henkilö"
    )

    assert invalidated.status == PrescriptionStatus.INVALIDATED


def test_pharmacist_cannot_invalidate(prescription, care):
    with pytest.raises(RuleViolation):
        services.prescription_invalidate(
            actor=professional_in(care.unit, Profession.PHARMACIST),
            prescription=prescription,
            category=InvalidationCategory.TECHNICAL,
            text="väärä henkilö",
        )

    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.UNDISPENSED


def test_an_invalidated_prescription_cannot_be_invalidated_again(doctor, prescription):
    services.prescription_invalidate(
        actor=doctor, prescription=prescription, category=InvalidationCategory.TECHNICAL, text="väärä henkilö"
    )

    with pytest.raises(RuleViolation, match="in force"):
        services.prescription_invalidate(
            actor=doctor, prescription=prescription, category=InvalidationCategory.TECHNICAL, text="uudestaan"
        )


# -- the nightly jobs ------------------------------------------------------------------------------------


def on_row(**values) -> Prescription:
    return PrescriptionFactory(**values)


def test_expiry_job_expires_past_prescriptions_once_and_respects_the_grace_month():
    day = today()
    yesterday = day - datetime.timedelta(days=1)
    long_ago = rules.add_months(day, -2)
    in_force = on_row(valid_until=day)
    fully_dispensed = on_row(
        valid_until=yesterday, quantity_dispensed=Decimal("200"), status=PrescriptionStatus.FULLY_DISPENSED
    )
    in_grace_month = on_row(valid_until=yesterday)
    past_grace_month = on_row(
        valid_until=long_ago, status=PrescriptionStatus.PARTLY_DISPENSED, quantity_dispensed=1
    )
    narcotic_with_medicine_left = on_row(valid_until=yesterday, narcotic=True)
    invalidated = on_row(valid_until=long_ago, status=PrescriptionStatus.INVALIDATED)

    first = services.expire_prescriptions(today=day)
    second = services.expire_prescriptions(today=day)

    assert (first, second) == (3, 0)
    statuses = dict(Prescription.objects.values_list("pk", "status"))
    assert statuses[fully_dispensed.pk] == statuses[past_grace_month.pk] == PrescriptionStatus.EXPIRED
    assert statuses[narcotic_with_medicine_left.pk] == PrescriptionStatus.EXPIRED
    assert statuses[in_force.pk] == PrescriptionStatus.UNDISPENSED
    assert statuses[in_grace_month.pk] == PrescriptionStatus.UNDISPENSED
    assert statuses[invalidated.pk] == PrescriptionStatus.INVALIDATED
    assert PrescriptionEvent.objects.filter(kind=EventKind.EXPIRED).count() == 3
    assert PrescriptionEvent.objects.get(prescription=fully_dispensed).snapshot["status"] == "expired"
    # after the grace month the prescription with medicine left expires too
    later = rules.grace_period_ends(yesterday) + datetime.timedelta(days=1)
    assert services.expire_prescriptions(today=later) >= 1
    in_grace_month.refresh_from_db()
    assert in_grace_month.status == PrescriptionStatus.EXPIRED


def test_expiry_job_works_in_batches_with_one_audit_event_per_batch():
    rows = [on_row(valid_until=today() - datetime.timedelta(days=400)) for _ in range(5)]

    assert services.expire_prescriptions(batch_size=2) == 5

    logged = AuditEvent.objects.filter(action="prescription.expire").order_by("id")
    assert [len(event.object_ids) for event in logged] == [2, 2, 1]
    assert {i for event in logged for i in event.object_ids} == {str(p.public_id) for p in rows}
    assert all(event.data_type == DataType.PRESCRIPTION for event in logged)


def test_grace_cutoff_agrees_with_the_grace_month_at_month_ends():
    start = datetime.date(2025, 1, 1)
    for offset in range(800):
        day = start + datetime.timedelta(days=offset)
        cutoff = rules.grace_cutoff(day)
        assert rules.grace_period_ends(cutoff) >= day
        assert rules.grace_period_ends(cutoff - datetime.timedelta(days=1)) < day


def test_prescriptions_of_a_deceased_person_are_invalidated_once():
    deceased = PersonFactory(date_of_death=today() - datetime.timedelta(days=2))
    theirs = [on_row(person=deceased), on_row(person=deceased, status=PrescriptionStatus.FULLY_DISPENSED)]
    already_expired = on_row(person=deceased, status=PrescriptionStatus.EXPIRED)
    alive = on_row()

    first = services.invalidate_prescriptions_of_deceased()
    second = services.invalidate_prescriptions_of_deceased()

    assert (first, second) == (2, 0)
    for prescription in theirs:
        prescription.refresh_from_db()
        assert prescription.status == PrescriptionStatus.INVALIDATED
        assert prescription.invalidation_category == InvalidationCategory.AUTOMATIC
        assert prescription.invalidated_at is not None
    already_expired.refresh_from_db()
    alive.refresh_from_db()
    assert already_expired.status == PrescriptionStatus.EXPIRED
    assert alive.status == PrescriptionStatus.UNDISPENSED
    assert AuditEvent.objects.filter(action="prescription.invalidate_deceased").count() == 1


def test_nightly_tasks_run_the_jobs_and_are_scheduled():
    on_row(valid_until=today() - datetime.timedelta(days=400))
    on_row(person=PersonFactory(date_of_death=today()))

    assert tasks.expire_prescriptions() == 1
    assert tasks.invalidate_prescriptions_of_deceased() == 1
    assert tasks.expire_renewal_requests() == 0
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "prescriptions.tasks.expire_prescriptions",
        "prescriptions.tasks.invalidate_prescriptions_of_deceased",
        "prescriptions.tasks.expire_renewal_requests",
    } <= scheduled
