"""manage.py seed --prescriptions: synthetic prescriptions, dispensings, history events, renewal requests and
cross-border consents written with COPY into the real PostgreSQL, consistent with the rules of the service."""

from __future__ import annotations

import csv
import datetime
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Max, Sum
from django.utils import timezone, translation

from kanta.models import OrganisationKind, Person, Professional
from prescriptions import dispensing, rules, seeding, services
from prescriptions.models import (
    AmountKind,
    CrossBorderConsent,
    Dispensing,
    EventKind,
    Prescription,
    PrescriptionEvent,
    PrescriptionStatus,
    Product,
    RenewalRequest,
    RenewalStatus,
)
from tests.factories import OrganisationFactory, ProfessionalFactory, UnitFactory

pytestmark = pytest.mark.django_db

ABROAD = {"EE", "HR", "PT", "ES", "PL", "CZ"}


def seed(*args: str) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("seed", *args, "--verbosity", "0", stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def seeded(db, monkeypatch):
    """400 persons with 2,000 prescriptions: enough for every status of prescriptions and requests. More
    persons than usual consent to using their prescriptions abroad, so that some purchases are made there."""
    monkeypatch.setattr(seeding, "CROSS_BORDER_CONSENT_SHARE", 0.05)
    return seed("--persons", "400", "--prescriptions", "2000")


def local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localdate(moment)


def prescription_schema() -> list[tuple]:
    """Every index and constraint of the prescription tables, as PostgreSQL would dump them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
            "WHERE conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
            [seeding.TABLES],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1, 2",
            [seeding.TABLES],
        )
        return constraints + cursor.fetchall()


def test_prescriptions_come_with_dispensings_history_and_renewal_requests_in_every_status(seeded):
    assert Prescription.objects.count() == 2000
    dispensings = Dispensing.objects.count()
    assert 2.2 * 2000 <= dispensings <= 2.8 * 2000  # the default 2.5 per prescription
    assert {status for status, _label in PrescriptionStatus.choices} == set(
        Prescription.objects.values_list("status", flat=True).distinct()
    )
    assert {status for status, _label in RenewalStatus.choices} == set(
        RenewalRequest.objects.values_list("status", flat=True).distinct()
    )
    # the prescriptions are spread over the persons, the busiest with about three times the mean
    per_person = list(
        Prescription.objects.values("person").annotate(n=Count("id")).values_list("n", flat=True)
    )
    assert len(per_person) >= 350
    assert max(per_person) <= 3 * 2000 / 400
    assert "Wrote 2,000 prescriptions" in seeded
    assert "prescriptions_dispensing: " in seeded and "rows/s" in seeded


def test_every_prescription_has_its_prescribed_event_with_the_snapshot_the_service_writes(seeded):
    prescribed = {
        event.prescription_id: event
        for event in PrescriptionEvent.objects.filter(kind=EventKind.PRESCRIBED).select_related(
            "prescription"
        )
    }
    assert len(prescribed) == 2000 == PrescriptionEvent.objects.filter(kind=EventKind.PRESCRIBED).count()
    for event in list(prescribed.values())[:300]:
        prescription = event.prescription
        expected = services.prescription_snapshot(prescription)
        # the snapshot is the state right after prescribing: nothing dispensed yet, not invalidated
        expected.update(
            status=PrescriptionStatus.UNDISPENSED,
            quantity_dispensed=0,
            invalidation_category="",
            invalidation_text="",
        )
        assert event.snapshot == expected
        assert event.occurred_at == prescription.prescribed_at
        assert event.professional_id == prescription.prescriber_id
        assert event.organisation_id == prescription.unit.organisation_id
    # the invalidated and the expired carry those events too, the renewed a "renewed" event
    for status, kind in (
        (PrescriptionStatus.INVALIDATED, EventKind.INVALIDATED),
        ("expired", EventKind.EXPIRED),
    ):
        ids = set(Prescription.objects.filter(status=status).values_list("id", flat=True))
        assert ids == set(
            PrescriptionEvent.objects.filter(kind=kind).values_list("prescription_id", flat=True)
        )
    renewed = set(
        RenewalRequest.objects.filter(status=RenewalStatus.RENEWED).values_list("prescription", flat=True)
    )
    assert renewed == set(
        PrescriptionEvent.objects.filter(kind=EventKind.RENEWED).values_list("prescription_id", flat=True)
    )


def test_amounts_and_statuses_follow_from_the_dispensings_and_today(seeded):
    today = timezone.localdate()
    sums = {
        row["prescription"]: row
        for row in Dispensing.objects.values("prescription").annotate(
            total=Sum("quantity"), last=Max("dispensed_at")
        )
    }
    for prescription in Prescription.objects.all():
        bought = sums.get(prescription.pk, {}).get("total") or Decimal(0)
        assert prescription.quantity_dispensed == bought
        assert 0 <= bought <= prescription.total_quantity
        assert prescription.last_dispensed_at == sums.get(prescription.pk, {}).get("last")
        last_day = rules.last_dispensable_day(
            valid_until=prescription.valid_until,
            short_validity=not prescription.two_year_validity,
            medicine_left=bought < prescription.total_quantity,
        )
        if prescription.status == PrescriptionStatus.INVALIDATED:
            assert prescription.invalidated_at is not None and prescription.invalidation_text
            assert prescription.invalidation_category in services.INVALIDATION_CATEGORIES
            assert not prescription.dispensings.filter(dispensed_at__gt=prescription.invalidated_at).exists()
        elif today > last_day:
            assert prescription.status == PrescriptionStatus.EXPIRED
        elif bought == 0:
            assert prescription.status == PrescriptionStatus.UNDISPENSED
        elif bought == prescription.total_quantity:
            assert prescription.status == PrescriptionStatus.FULLY_DISPENSED
        else:
            assert prescription.status == PrescriptionStatus.PARTLY_DISPENSED
        if prescription.amount_kind == AmountKind.PACKAGES:
            assert (
                prescription.total_quantity
                == prescription.amount_packages * prescription.product.package_quantity
            )
        elif prescription.amount_kind == AmountKind.TREATMENT_PERIOD:
            assert (
                prescription.total_quantity
                == prescription.amount_treatment_days * prescription.daily_quantity
            )
    # the nightly jobs find nothing left to do: the data is in the state they leave it
    assert services.expire_prescriptions() == 0
    assert services.expire_renewal_requests() == 0
    assert services.invalidate_prescriptions_of_deceased() == 0


def test_prescriptions_use_real_packages_and_prescribers_with_the_right_to_prescribe(seeded):
    with seeding.SAMPLE_FILE.open(encoding="utf-8") as handle:
        shipped = {row["vnr"] for row in csv.DictReader(handle, delimiter=";")}
    assert set(Product.objects.values_list("vnr", flat=True)) == shipped
    now = timezone.now()
    works_in = defaultdict(set)
    for professional_id, unit_id in Professional.units.through.objects.values_list(
        "professional_id", "unit_id"
    ):
        works_in[professional_id].add(unit_id)
    for prescription in Prescription.objects.select_related(
        "product", "prescriber", "person", "unit__organisation"
    ):
        medicine = prescription.product or Product.objects.filter(atc=prescription.atc).first()
        assert prescription.atc == medicine.atc
        assert prescription.unit.organisation.kind in (
            OrganisationKind.COUNTY,
            OrganisationKind.PRIVATE_HEALTH,
        )
        assert prescription.unit_id in works_in[prescription.prescriber_id]
        assert rules.may_prescribe(
            prescription.prescriber.profession,
            atc=prescription.atc,
            special_permit=prescription.special_permit,
        )
        prescribed_on = local_day(prescription.prescribed_at)
        assert prescription.person.birth_date <= prescribed_on
        assert now - datetime.timedelta(days=3 * 366) <= prescription.prescribed_at <= now
        maximum = rules.maximum_valid_until(prescribed_on, short_validity=not prescription.two_year_validity)
        assert prescribed_on < prescription.valid_until <= maximum
        if prescription.narcotic or prescription.pkv:
            assert maximum == rules.add_months(prescribed_on, 12)


def test_dispensings_follow_the_purchase_rules(seeded):
    consents = {c.person_id: c for c in CrossBorderConsent.objects.all()}
    assert consents, "a few persons consent to using their prescriptions abroad"
    abroad = 0
    for item in Dispensing.objects.select_related(
        "prescription__product", "product", "pharmacy", "pharmacist"
    ):
        prescription = item.prescription
        assert item.quantity == item.packages * item.product.package_quantity
        assert prescription.prescribed_at < item.dispensed_at <= timezone.now()
        assert local_day(item.dispensed_at) <= prescription.valid_until
        # the prescribed package, a substitutable one of its group, or for a substance any of the substance
        if prescription.product is None:
            assert (item.product.atc, item.product.strength) == (prescription.atc, prescription.strength)
        elif item.product != prescription.product:
            assert prescription.substitution_allowed
            assert item.product.substitution_group == prescription.product.substitution_group != ""
        # at most three months' treatment per purchase (one month over 1,000 euros), or one package
        days = (
            dispensing.EXPENSIVE_PURCHASE_DAYS
            if item.product.retail_price > 1000
            else dispensing.PURCHASE_DAYS
        )
        assert item.packages == 1 or item.quantity <= prescription.daily_quantity * days
        assert item.price == item.product.retail_price * item.packages
        if item.country == "FI":
            assert item.pharmacy.kind == OrganisationKind.PHARMACY
            assert item.pharmacist.profession in dispensing.DISPENSING_PROFESSIONS
            assert item.pharmacist.units.filter(organisation=item.pharmacy).exists()
        else:
            abroad += 1
            assert item.country in ABROAD and item.pharmacy is None and item.pharmacist is None
            assert dispensing.cross_border_refusal_reason(prescription) is None
            consent = consents[prescription.person_id]
            assert consent.given_at < item.dispensed_at
            assert consent.withdrawn_at is None or item.dispensed_at < consent.withdrawn_at
    assert abroad > 0


def test_renewal_requests_go_to_accepting_units_within_the_rules(seeded):
    now = timezone.now()
    for request in RenewalRequest.objects.select_related(
        "prescription", "unit", "new_prescription", "handled_by"
    ):
        prescription = request.prescription
        assert request.unit.accepts_renewal_requests
        assert request.unit_id == prescription.unit_id  # a unit that prescribed it
        assert request.person_id == prescription.person_id
        # dispensed at least once before, within the renewal window, never invalidated first
        first = prescription.dispensings.order_by("dispensed_at").first()
        assert first is not None and first.dispensed_at < request.sent_at
        window = rules.renewable_until(
            local_day(prescription.prescribed_at), short_validity=not prescription.two_year_validity
        )
        assert local_day(request.sent_at) <= window
        assert prescription.invalidated_at is None or request.sent_at < prescription.invalidated_at
        if request.status == RenewalStatus.SENT:
            assert now - datetime.timedelta(days=rules.RENEWAL_REQUEST_DAYS) < request.sent_at < now
            assert request.handled_at is None
        elif request.status == RenewalStatus.EXPIRED:
            assert request.sent_at <= now - datetime.timedelta(days=rules.RENEWAL_REQUEST_DAYS)
            assert request.handled_at is None
        else:
            assert request.sent_at < request.handled_at <= now
            assert request.handled_by.units.filter(pk=request.unit_id).exists()
            assert rules.may_prescribe(
                request.handled_by.profession,
                atc=prescription.atc,
                special_permit=prescription.special_permit,
            )
        if request.status == RenewalStatus.RENEWED:
            new = request.new_prescription
            assert new.renewed_from_id == prescription.pk
            assert (new.unit_id, new.prescriber_id, new.person_id, new.atc) == (
                request.unit_id,
                request.handled_by_id,
                prescription.person_id,
                prescription.atc,
            )
            assert new.prescribed_at == request.handled_at
        elif request.status in (RenewalStatus.REJECTED, RenewalStatus.RETURNED):
            assert request.reason
    # a rejection is final: nothing is asked for that prescription after it
    for rejected in RenewalRequest.objects.filter(status=RenewalStatus.REJECTED):
        assert not RenewalRequest.objects.filter(
            prescription=rejected.prescription_id, sent_at__gt=rejected.sent_at
        ).exists()
    # every renewal of a prescription came through a renewed request or was written at a visit
    assert Prescription.objects.filter(renewed_from__isnull=False).count() == (
        RenewalRequest.objects.filter(status=RenewalStatus.RENEWED).count()
    )


def test_open_requests_fill_the_queues_of_units_that_accept_them(seeded):
    queues = RenewalRequest.objects.filter(status=RenewalStatus.SENT).values("unit").annotate(n=Count("id"))
    assert len(queues) >= 3
    assert sum(row["n"] for row in queues) >= 10


def test_missing_pharmacies_and_prescribers_are_created_once_and_existing_ones_are_used(db):
    seed("--persons", "30", "--prescriptions", "60")
    pharmacies = set(Dispensing.objects.values_list("pharmacy", flat=True).distinct()) - {None}
    assert 1 <= len(pharmacies) <= seeding.SYNTHETIC_PHARMACIES
    professionals = Professional.objects.count()

    output = seed("--persons", "30", "--prescriptions", "60")

    assert Professional.objects.count() == professionals  # the second run found them
    assert "Created:" not in output


def test_an_existing_pharmacy_with_a_pharmacist_is_used_and_none_is_created(db):
    pharmacy = OrganisationFactory(kind=OrganisationKind.PHARMACY)
    unit = UnitFactory(organisation=pharmacy)
    pharmacist = ProfessionalFactory(units=[unit], profession="pharmacist")

    seed("--persons", "30", "--prescriptions", "60")

    finnish = Dispensing.objects.filter(country="FI")
    assert finnish.exists()
    assert set(finnish.values_list("pharmacy", "pharmacist").distinct()) == {(pharmacy.pk, pharmacist.pk)}


def test_bulk_load_into_empty_tables_restores_every_index_and_constraint(db):
    before = prescription_schema()

    output = seed("--persons", "40", "--prescriptions", "100")

    assert "written without secondary indexes" in output
    assert prescription_schema() == before


def test_bulk_load_also_on_a_demo_database_restores_every_index_and_keeps_the_demo_rows(db):
    # The demo's few dozen prescriptions are far fewer than a tenth of what the run adds: the fast path still
    # pays, but nothing is truncated, so the rows are written unfrozen.
    call_command("demo_data", "--force", stdout=StringIO())
    models = (Prescription, PrescriptionEvent, Dispensing, RenewalRequest, CrossBorderConsent)
    demo = {model: list(model.objects.order_by("pk").values()) for model in models}
    assert 0 < len(demo[Prescription]) <= 100
    before = prescription_schema()

    output = seed("--persons", "200", "--prescriptions", "1000")

    assert "The prescription tables were empty or nearly so: written without secondary indexes" in output
    assert "rows frozen: no" in output
    assert prescription_schema() == before
    for model, rows in demo.items():
        assert list(model.objects.filter(pk__in=[row["id"] for row in rows]).order_by("pk").values()) == rows
    added = Prescription.objects.exclude(pk__in=[row["id"] for row in demo[Prescription]])
    assert added.count() == 1000
    assert not set(added.values_list("person", flat=True)) & {row["person_id"] for row in demo[Prescription]}
    assert Prescription.objects.values("public_id").distinct().count() == Prescription.objects.count()


def test_a_second_run_appends_for_other_persons_with_the_indexes_in_place(db):
    seed("--persons", "40", "--prescriptions", "100")
    first_persons = set(Prescription.objects.values_list("person", flat=True))
    before = prescription_schema()

    output = seed("--persons", "40", "--prescriptions", "150", "--dispensings-per-prescription", "1.5")

    assert "written without secondary indexes" not in output
    assert prescription_schema() == before
    assert Prescription.objects.count() == 250
    assert Prescription.objects.values("public_id").distinct().count() == 250
    later = set(Prescription.objects.values_list("person", flat=True)) - first_persons
    assert later and not later & first_persons
    assert Dispensing.objects.filter(prescription__person__in=later).count() < 2.5 * 150


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--persons", "10", "--prescriptions", "0"], "--prescriptions must be at least 1"),
        (["--persons", "10", "--prescriptions", "5", "--dispensings-per-prescription", "0"], "more than 0"),
        (["--persons", "10", "--prescriptions", "5", "--dispensings-per-prescription", "nan"], "more than 0"),
        (["--persons", "10", "--persons-for-prescriptions", "5"], "needs --prescriptions"),
        (["--persons", "0", "--prescriptions", "5"], "say with --persons-for-prescriptions"),
        (["--persons", "10", "--prescriptions", "5", "--persons-for-prescriptions", "0"], "at least 1"),
        (
            ["--persons", "10", "--prescriptions", "5", "--persons-for-prescriptions", "20"],
            "Only 10 synthetic",
        ),
    ],
)
def test_seed_refuses_a_wrong_prescription_argument_and_writes_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        seed(*args)

    assert not Prescription.objects.exists()
    assert not Person.objects.exists()


def test_seed_help_lists_the_prescription_options():
    from kanta.management.commands.seed import Command

    text = Command().create_parser("manage.py", "seed").format_help()

    for option in ("--prescriptions", "--dispensings-per-prescription", "--persons-for-prescriptions"):
        assert option in text
