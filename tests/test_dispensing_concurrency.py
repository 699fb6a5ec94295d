"""Two pharmacies dispensing the same prescription at the same moment: exactly one succeeds.

Real threads with their own database connections against PostgreSQL, so the row lock is what decides.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from kanta.audit import Actor
from kanta.errors import RuleViolation
from prescriptions import dispensing
from prescriptions.models import Dispensing, Prescription, PrescriptionStatus
from tests.factories_prescriptions import (
    PharmacistFactory,
    PharmacyUnitFactory,
    PrescriptionFactory,
    ProductFactory,
)

# Long enough for the other thread to reach the row lock while the first holds it.
HOLD_SECONDS = 0.5


def pharmacy_actor() -> Actor:
    unit = PharmacyUnitFactory()
    professional = PharmacistFactory(units=[unit])
    return Actor(user=professional.user, professional=professional, unit=unit)


@pytest.mark.django_db(transaction=True)
def test_two_pharmacies_dispensing_everything_left_at_once_only_one_succeeds(monkeypatch):
    product = ProductFactory(package_quantity=Decimal(30), substitution_group="C08CA01-5")
    prescription = PrescriptionFactory(product=product, daily_quantity=Decimal(1), total_quantity=Decimal(60))
    actors = [pharmacy_actor(), pharmacy_actor()]

    # Widen the window between reading the row and writing the dispensing, so that without the row lock both
    # threads would pass the checks before either writes (and this test would see two dispensings).
    check_product = dispensing._check_product

    def slow_check_product(*args, **kwargs):
        check_product(*args, **kwargs)
        time.sleep(HOLD_SECONDS)

    monkeypatch.setattr(dispensing, "_check_product", slow_check_product)

    barrier = threading.Barrier(len(actors))
    succeeded: list[Dispensing] = []
    refused: list[RuleViolation] = []
    errors: list[BaseException] = []

    def dispense_everything(actor: Actor) -> None:
        try:
            barrier.wait(timeout=10)
            succeeded.append(
                dispensing.dispense(actor=actor, prescription=prescription, product=product, packages=2)
            )
        except RuleViolation as violation:
            refused.append(violation)
        except BaseException as error:  # surfaced below rather than lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispense_everything, args=(actor,)) for actor in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    assert len(succeeded) == 1
    assert len(refused) == 1
    assert refused[0].code == "fully_dispensed"
    assert Dispensing.objects.filter(prescription=prescription).count() == 1
    after = Prescription.objects.get(pk=prescription.pk)
    assert after.quantity_dispensed == Decimal(60)
    assert after.status == PrescriptionStatus.FULLY_DISPENSED
    assert succeeded[0].pharmacy in {actor.unit.organisation for actor in actors}
