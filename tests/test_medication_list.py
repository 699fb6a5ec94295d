"""The medication list: one current list per person from valid prescriptions and their dispensings."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from prescriptions.models import PrescriptionStatus
from prescriptions.pharmacy_selectors import medication_list
from tests.factories import PersonFactory
from tests.factories_prescriptions import (
    DispensingFactory,
    PharmacyFactory,
    PrescriptionFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


def days_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


@pytest.fixture
def amlodipine_5():
    return ProductFactory(name="Amlodipin", active_substance="amlodipine", strength="5 mg")


def prescribe(person, product, *, prescribed_days_ago: int = 30, **fields):
    fields.setdefault("valid_until", (days_ago(prescribed_days_ago) + datetime.timedelta(days=730)).date())
    return PrescriptionFactory(
        person=person, product=product, prescribed_at=days_ago(prescribed_days_ago), **fields
    )


def test_expired_and_invalidated_prescriptions_are_not_on_the_list(patient, amlodipine_5):
    prescribe(patient, amlodipine_5, valid_until=timezone.localdate() - datetime.timedelta(days=1))
    prescribe(patient, amlodipine_5, status=PrescriptionStatus.EXPIRED)
    prescribe(patient, amlodipine_5, status=PrescriptionStatus.INVALIDATED, invalidated_at=timezone.now())
    prescribe(PersonFactory(), amlodipine_5)  # someone else's

    assert medication_list(patient) == []

    current = prescribe(patient, amlodipine_5)
    rows = medication_list(patient)
    assert [row.prescription for row in rows] == [current]


def test_one_row_per_substance_and_strength_where_the_newest_prescription_wins(patient, amlodipine_5):
    older = prescribe(patient, amlodipine_5, prescribed_days_ago=200, dosage="1 tabletti illalla")
    newer = prescribe(patient, amlodipine_5, prescribed_days_ago=20, dosage="1 tabletti aamulla")
    spelled_apart = ProductFactory(name="Norvasc", active_substance="Amlodipine", strength="5mg")
    prescribe(patient, spelled_apart, prescribed_days_ago=100, dosage="½ tablettia")
    stronger = prescribe(
        patient, ProductFactory(active_substance="amlodipine", strength="10 mg"), dosage="1 tabletti"
    )
    simvastatin = prescribe(
        patient,
        ProductFactory(name="Simvastatin", atc="C10AA01", active_substance="simvastatin", strength="20 mg"),
    )

    rows = medication_list(patient)

    assert [(row.active_substance, row.strength) for row in rows] == [
        ("amlodipine", "10 mg"),
        ("amlodipine", "5 mg"),
        ("simvastatin", "20 mg"),
    ]
    five = rows[1]
    assert five.prescription == newer
    assert five.dosage == "1 tabletti aamulla"
    assert older in five.prescriptions and len(five.prescriptions) == 3
    assert rows[0].prescription == stronger
    assert rows[2].prescription == simvastatin


def test_each_row_shows_the_amount_left_and_the_last_dispensing(patient, amlodipine_5):
    older = prescribe(patient, amlodipine_5, prescribed_days_ago=200, total_quantity=Decimal(200))
    newer = prescribe(patient, amlodipine_5, prescribed_days_ago=20, total_quantity=Decimal(200))
    pharmacy = PharmacyFactory()
    DispensingFactory(prescription=older, quantity=Decimal(100), dispensed_at=days_ago(150))
    latest = DispensingFactory(
        prescription=older, quantity=Decimal(50), dispensed_at=days_ago(10), pharmacy=pharmacy
    )
    DispensingFactory(prescription=newer, quantity=Decimal(100), dispensed_at=days_ago(15))
    older.quantity_dispensed = Decimal(150)
    older.save(update_fields=["quantity_dispensed"])
    newer.quantity_dispensed = Decimal(100)
    newer.status = PrescriptionStatus.PARTLY_DISPENSED
    newer.save(update_fields=["quantity_dispensed", "status"])

    (row,) = medication_list(patient)

    assert row.prescription == newer
    assert row.amount_left == Decimal(100)
    assert row.amount_left_all == Decimal(150)
    assert row.last_dispensing == latest
    assert row.last_dispensing.pharmacy == pharmacy


def test_a_fully_dispensed_prescription_still_valid_stays_on_the_list(patient, amlodipine_5):
    prescription = prescribe(
        patient, amlodipine_5, status=PrescriptionStatus.FULLY_DISPENSED, quantity_dispensed=Decimal(200)
    )
    DispensingFactory(prescription=prescription, quantity=Decimal(200))

    (row,) = medication_list(patient)

    assert row.prescription == prescription
    assert row.amount_left == 0
    assert row.last_dispensing is not None


def test_the_list_runs_two_queries_however_many_prescriptions_and_dispensings(
    patient, django_assert_num_queries
):
    for n in range(12):
        product = ProductFactory(active_substance=f"substance {n}", strength="1 mg")
        for age in (300, 40):
            prescription = prescribe(patient, product, prescribed_days_ago=age)
            DispensingFactory(prescription=prescription, dispensed_at=days_ago(age - 5))
            DispensingFactory(prescription=prescription, dispensed_at=days_ago(age - 30))

    with django_assert_num_queries(2):
        rows = medication_list(patient)
        shown = [
            (
                row.medicine_name,
                row.dosage,
                row.prescription.product.vnr,
                row.prescription.prescriber.user.last_name,
                row.amount_left,
                row.last_dispensing.dispensed_at,
                row.last_dispensing.product.name,
                row.last_dispensing.pharmacy,
            )
            for row in rows
        ]

    assert len(shown) == 12
