"""The archive in the Django admin: documents are read-only and never deleted; authorizations are edited
with an audit event; lists stay within a query budget and search through indexes."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from archive.models import (
    AuthorizationScope,
    Diagnosis,
    Document,
    LabResult,
    PurchasedServiceAuthorization,
    ServiceEvent,
)
from kanta.models import AuditCategory, AuditEvent, OrganisationKind
from tests.admin_helpers import admin_login
from tests.factories import OrganisationFactory, PersonFactory, RegisterFactory, UserFactory
from tests.factories_archive import DiagnosisFactory, DocumentFactory, LabResultFactory, ServiceEventFactory

pytestmark = pytest.mark.django_db


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def superuser_client(client):
    admin_login(client, UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def diagnosis(patient):
    return DiagnosisFactory(document=DocumentFactory(person=patient, title="Flunssa"), person=patient)


def test_staff_without_permissions_cannot_open_documents(client, diagnosis):
    admin_login(client, UserFactory(is_staff=True))
    assert client.get(admin_url(Document, "changelist")).status_code == 403
    assert client.get(admin_url(Document, "change", diagnosis.document.pk)).status_code == 403


def test_documents_cannot_be_added_changed_or_deleted_in_the_admin(superuser_client, diagnosis):
    document = diagnosis.document

    assert superuser_client.get(admin_url(Document, "add")).status_code == 403
    assert superuser_client.get(admin_url(Document, "delete", document.pk)).status_code == 403
    response = superuser_client.post(admin_url(Document, "change", document.pk), {"title": "Muutettu"})
    assert response.status_code == 403
    document.refresh_from_db()
    assert document.title == "Flunssa"

    page = superuser_client.get(admin_url(Document, "change", document.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert "Acute upper respiratory infection" in page.text  # the entries are shown with the document
    for model in (Diagnosis, LabResult, ServiceEvent):
        assert superuser_client.get(admin_url(model, "add")).status_code == 403
    assert superuser_client.get(admin_url(Diagnosis, "delete", diagnosis.pk)).status_code == 403


def test_entry_and_service_event_pages_load(superuser_client, patient):
    lab = LabResultFactory(document__person=patient, person=patient)
    event = ServiceEventFactory(person=patient)

    assert superuser_client.get(admin_url(LabResult, "change", lab.pk)).status_code == 200
    assert superuser_client.get(admin_url(ServiceEvent, "change", event.pk)).status_code == 200


def test_document_list_stays_within_its_query_budget(superuser_client, django_assert_max_num_queries):
    for _ in range(30):
        DocumentFactory()

    with django_assert_max_num_queries(12):
        response = superuser_client.get(admin_url(Document, "changelist"))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 30


def test_document_search_finds_by_identity_code_in_any_case_and_by_lineage(superuser_client, patient):
    mine = DocumentFactory(person=patient)
    DocumentFactory(person=PersonFactory())
    url = admin_url(Document, "changelist")

    by_code = superuser_client.get(url, {"q": patient.identity_code.lower()})
    by_lineage = superuser_client.get(url, {"q": str(mine.lineage_id)})
    nothing = superuser_client.get(url, {"q": "Virtanen"})

    assert list(by_code.context["cl"].result_list) == [mine]
    assert list(by_lineage.context["cl"].result_list) == [mine]
    assert list(nothing.context["cl"].result_list) == []


def test_diagnosis_search_finds_by_code(superuser_client, diagnosis):
    DiagnosisFactory(code="I10", title="Essential (primary) hypertension")
    response = superuser_client.get(admin_url(Diagnosis, "changelist"), {"q": "j06.9"})
    assert list(response.context["cl"].result_list) == [diagnosis]


def test_authorization_cannot_be_deleted_but_its_change_is_audited(superuser_client, patient, county):
    register = RegisterFactory(controller=county)
    producer = OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH)
    today = timezone.localdate()
    authorization = PurchasedServiceAuthorization.objects.create(
        organiser=county,
        register=register,
        scope=AuthorizationScope.PATIENT,
        person=patient,
        starts_on=today,
        ends_on=today + datetime.timedelta(days=30),
    )

    assert (
        superuser_client.get(admin_url(PurchasedServiceAuthorization, "delete", authorization.pk)).status_code
        == 403
    )
    response = superuser_client.post(
        admin_url(PurchasedServiceAuthorization, "change", authorization.pk),
        {
            "organiser": county.pk,
            "register": register.pk,
            "producer": producer.pk,
            "scope": AuthorizationScope.PATIENT,
            "person": patient.pk,
            "starts_on": today.isoformat(),
            "ends_on": (today + datetime.timedelta(days=60)).isoformat(),
            "ordered_service": "Kaihileikkaus",
        },
    )

    assert response.status_code == 302
    authorization.refresh_from_db()
    assert authorization.producer == producer
    event = AuditEvent.objects.get(action="authorization.update")
    assert event.category == AuditCategory.CHANGE
    assert event.person == patient
    assert "producer" in event.reason_text


def test_authorization_scope_and_person_must_match_in_the_admin(superuser_client, county):
    register = RegisterFactory(controller=county)
    today = timezone.localdate()
    response = superuser_client.post(
        admin_url(PurchasedServiceAuthorization, "add"),
        {
            "organiser": county.pk,
            "register": register.pk,
            "scope": AuthorizationScope.PATIENT,
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
        },
    )
    assert response.status_code == 200
    assert not PurchasedServiceAuthorization.objects.exists()
    assert not AuditEvent.objects.filter(action="authorization.create").exists()
