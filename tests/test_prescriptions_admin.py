"""The Prescription service in the admin: every page loads, nothing is added, changed or deleted there,
reading a person's prescription data is logged, and the lists search through indexes within a query budget."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone, translation

from kanta.models import AuditEvent
from prescriptions.medicine_db import COLUMNS, import_products
from prescriptions.models import (
    CrossBorderConsent,
    EventKind,
    Prescription,
    PrescriptionEvent,
    PrescriptionSummary,
    Product,
    ProductImport,
    RenewalRequest,
)
from tests.admin_helpers import admin_login
from tests.factories import PersonFactory, UserFactory
from tests.factories_prescriptions import DispensingFactory, PrescriptionFactory, ProductFactory

pytestmark = pytest.mark.django_db

MODELS = sorted(apps.get_app_config("prescriptions").get_models(), key=lambda model: model._meta.model_name)


def label(model) -> str:
    return model._meta.label_lower


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def medicine_file(*, vnr: str) -> list[str]:
    """A medicine database file with one package."""
    values = [
        vnr,
        "Amlodipin",
        "C08CA01",
        "amlodipine",
        "5 mg",
        "tablet",
        "30 tabl",
        "30",
        "C08CA01-5",
        "3,90",
    ]
    values += ["lower_special", "0", "0", "0", "1"]
    return [";".join(COLUMNS) + "\n", ";".join(values) + "\n"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Every prescription brings a prescriber with a password: the production hasher would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser_client(client):
    admin_login(client, UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def prescription(patient, health_centre, treating_doctor):
    return PrescriptionFactory(person=patient, unit=health_centre, prescriber=treating_doctor)


@pytest.fixture
def one_of_each(prescription, patient, health_centre, treating_doctor):
    """A row of every prescriptions model."""
    import_products(lines=medicine_file(vnr="246810"), file_name="one.csv")
    PrescriptionEvent.objects.create(
        prescription=prescription, kind=EventKind.PRESCRIBED, version=1, professional=treating_doctor
    )
    DispensingFactory(prescription=prescription)
    RenewalRequest.objects.create(
        prescription=prescription, person=patient, unit=health_centre, sent_at=timezone.now()
    )
    CrossBorderConsent.objects.create(person=patient, given_at=timezone.now())
    summary = PrescriptionSummary.objects.create(barcode="1234567890123", person=patient)
    summary.prescriptions.add(prescription)


# -- every page ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_changelist_and_change_pages_load(superuser_client, one_of_each, model):
    assert superuser_client.get(admin_url(model, "changelist")).status_code == 200
    obj = model._default_manager.order_by("pk").first()
    response = superuser_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert 'name="_save"' not in response.text  # shown, not editable


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_nothing_is_added_or_deleted_in_the_admin(superuser_client, one_of_each, model):
    assert superuser_client.get(admin_url(model, "add")).status_code == 403
    obj = model._default_manager.order_by("pk").first()
    assert superuser_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model._default_manager.filter(pk=obj.pk).exists()


def test_a_package_cannot_be_changed_in_the_admin(superuser_client):
    product = ProductFactory(retail_price=Decimal("12.50"))

    response = superuser_client.post(admin_url(Product, "change", product.pk), {"retail_price": "0.01"})

    assert response.status_code == 403
    product.refresh_from_db()
    assert product.retail_price == Decimal("12.50")


def test_a_prescription_cannot_be_changed_in_the_admin(superuser_client, prescription):
    response = superuser_client.post(admin_url(Prescription, "change", prescription.pk), {"dosage": "forged"})

    assert response.status_code == 403
    prescription.refresh_from_db()
    assert prescription.dosage == "1 tabletti aamulla"


def test_the_bulk_delete_action_is_not_offered(superuser_client, prescription):
    response = superuser_client.get(admin_url(Prescription, "changelist"))

    assert "delete_selected" not in response.text


# -- who may look -------------------------------------------------------------------------------------------


def test_staff_without_the_view_permission_cannot_open_prescriptions(client, prescription):
    admin_login(client, UserFactory(is_staff=True))

    assert client.get(admin_url(Prescription, "changelist")).status_code == 403
    assert client.get(admin_url(Prescription, "change", prescription.pk)).status_code == 403


def test_staff_with_the_view_permission_reads_prescriptions_but_cannot_change_them(client, prescription):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="view_prescription"),
        Permission.objects.get(codename="change_prescription"),
    )
    admin_login(client, staff)

    assert client.get(admin_url(Prescription, "changelist")).status_code == 200
    assert client.get(admin_url(Prescription, "change", prescription.pk)).status_code == 200
    response = client.post(admin_url(Prescription, "change", prescription.pk), {"dosage": "forged"})
    assert response.status_code == 403


def test_opening_a_prescription_is_logged_as_a_read_of_the_persons_prescription_data(
    superuser_client, prescription, patient
):
    superuser_client.get(admin_url(Prescription, "change", prescription.pk))

    event = AuditEvent.objects.get(action="admin.prescription.view")
    assert event.person == patient
    assert event.data_type == "prescription"
    assert event.object_ids == [str(prescription.public_id)]


def test_opening_a_dispensing_names_the_person_of_its_prescription(superuser_client, prescription, patient):
    dispensing = DispensingFactory(prescription=prescription)

    superuser_client.get(admin_url(dispensing._meta.model, "change", dispensing.pk))

    assert AuditEvent.objects.get(action="admin.dispensing.view").person == patient


def test_looking_at_the_medicine_database_is_not_logged(superuser_client):
    product = ProductFactory()

    superuser_client.get(admin_url(Product, "change", product.pk))

    assert not AuditEvent.objects.filter(action__startswith="admin.").exists()


# -- the medicine database pages ----------------------------------------------------------------------------


@pytest.fixture
def packages():
    return {
        "amlodipine": ProductFactory(vnr="123456", name="Amlodipin", atc="C08CA01"),
        "ramipril": ProductFactory(vnr="234567", name="Ramipril", atc="C09AA05", substitution_group=""),
        "oxycodone": ProductFactory(
            vnr="345678", name="Oksikodoni", atc="N02AA05", narcotic=True, pkv=True, marketed=False
        ),
    }


def listed(client, model, **params) -> list:
    response = client.get(admin_url(model, "changelist"), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("234567", ["ramipril"]),
        ("c09aa", ["ramipril"]),
        ("C0", ["amlodipine", "ramipril"]),
        ("oksi", ["oxycodone"]),
    ],
)
def test_packages_are_found_by_vnr_atc_code_or_name(superuser_client, packages, term, expected):
    found = listed(superuser_client, Product, q=term)

    assert sorted(found, key=lambda p: p.name) == sorted(
        (packages[key] for key in expected), key=lambda p: p.name
    )


def test_packages_filter_by_flags_and_marketing(superuser_client, packages):
    assert listed(superuser_client, Product, narcotic__exact="1") == [packages["oxycodone"]]
    assert packages["oxycodone"] not in listed(superuser_client, Product, marketed__exact="1")
    assert listed(superuser_client, Product, reimbursement__exact="higher_special") == []


def test_an_import_run_shows_its_report(superuser_client):
    # The report is kept as it was written, in the language of whoever ran the import.
    with translation.override("en"):
        product_import = import_products(lines=medicine_file(vnr="1234"), file_name="bad.csv")

    response = superuser_client.get(admin_url(ProductImport, "change", product_import.pk))

    assert "line 2: VNR “1234” must be exactly 6 digits" in response.text
    assert "Rejected rows: 1" in response.text


# -- prescription lists -------------------------------------------------------------------------------------


def test_prescriptions_are_found_by_identity_code_or_public_id(superuser_client, prescription, patient):
    other = PrescriptionFactory()

    assert listed(superuser_client, Prescription, q=patient.identity_code.lower()) == [prescription]
    assert listed(superuser_client, Prescription, q=str(other.public_id)) == [other]
    assert listed(superuser_client, Prescription, q="no such thing") == []


def test_renewal_requests_are_found_by_the_public_id_of_their_prescription(
    superuser_client, prescription, patient, health_centre
):
    request = RenewalRequest.objects.create(
        prescription=prescription, person=patient, unit=health_centre, sent_at=timezone.now()
    )

    assert listed(superuser_client, RenewalRequest, q=str(prescription.public_id)) == [request]


def test_summaries_are_found_by_barcode(superuser_client, patient):
    summary = PrescriptionSummary.objects.create(barcode="9876543210987", person=patient)
    PrescriptionSummary.objects.create(barcode="1111111111111", person=PersonFactory())

    assert listed(superuser_client, PrescriptionSummary, q="9876543210987") == [summary]


def test_prescription_list_stays_within_its_query_budget(superuser_client, django_assert_max_num_queries):
    for days in range(30):
        PrescriptionFactory(prescribed_at=timezone.now() - datetime.timedelta(days=days))

    with django_assert_max_num_queries(12):
        response = superuser_client.get(admin_url(Prescription, "changelist"))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 30


def test_dispensing_list_stays_within_its_query_budget(superuser_client, django_assert_max_num_queries):
    for _ in range(30):
        DispensingFactory()

    with django_assert_max_num_queries(12):
        response = superuser_client.get(admin_url(DispensingFactory._meta.model, "changelist"))

    assert len(response.context["cl"].result_list) == 30
