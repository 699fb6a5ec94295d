"""Archivist pages: the social welfare register of the archivist's organisation, filed by service task."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive.models import DocumentKind, DocumentStatus, ServiceTask
from kanta.models import AuditEvent, AuditOutcome, DataType, LegalBasis, Profession, RegisterKind
from tests.factories import (
    OrganisationFactory,
    PersonFactory,
    ProfessionalFactory,
    RegisterFactory,
    UnitFactory,
)
from tests.factories_archive import DocumentFactory
from tests.test_professional_person import signed_in

pytestmark = pytest.mark.django_db

ARCHIVE = reverse("professional:archive_documents")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def social_unit(county):
    return UnitFactory(
        organisation=county, register_kind=RegisterKind.SOCIAL_WELFARE, name_fi="Sosiaalitoimisto"
    )


@pytest.fixture
def social_register(county):
    return RegisterFactory(controller=county, kind=RegisterKind.SOCIAL_WELFARE)


@pytest.fixture
def archivist(social_unit):
    return ProfessionalFactory(units=[social_unit], profession=Profession.ARCHIVIST)


def client_document(register, unit, *, service_task=ServiceTask.CHILD_WELFARE, **extra):
    return DocumentFactory(
        register=register,
        unit=unit,
        kind=DocumentKind.DECISION,
        service_task=service_task,
        text="Päätös lastensuojelun avohuollon tukitoimista.",
        **extra,
    )


def archive_page(document) -> str:
    return reverse("professional:archive_document", args=[document.public_id])


# -- refusals first ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("profession", [Profession.SOCIAL_WORKER, Profession.PHYSICIAN])
def test_other_professions_get_403_on_the_register_pages_and_change_nothing(
    profession, social_unit, social_register
):
    document = client_document(social_register, social_unit, title="Asiakkuuden alkaminen")
    client = signed_in(ProfessionalFactory(units=[social_unit], profession=profession))

    listing = client.get(ARCHIVE)
    detail = client.get(archive_page(document))
    filing = client.post(
        archive_page(document), {"action": "file", "file-service_task": ServiceTask.ELDERLY_SERVICES}
    )

    assert (listing.status_code, detail.status_code, filing.status_code) == (403, 403, 403)
    assert "Asiakkuuden alkaminen" not in listing.content.decode()
    document.refresh_from_db()
    assert document.service_task == ServiceTask.CHILD_WELFARE
    assert not AuditEvent.objects.filter(action__startswith="document.").exists()
    assert "Social welfare register" not in client.get(reverse("professional:home")).content.decode()


def test_archivist_of_another_organisation_gets_404_for_this_registers_document(social_unit, social_register):
    document = client_document(social_register, social_unit)
    elsewhere = OrganisationFactory()
    RegisterFactory(controller=elsewhere, kind=RegisterKind.SOCIAL_WELFARE)
    other_archivist = ProfessionalFactory(
        units=[UnitFactory(organisation=elsewhere, register_kind=RegisterKind.SOCIAL_WELFARE)],
        profession=Profession.ARCHIVIST,
    )
    client = signed_in(other_archivist)

    assert client.get(archive_page(document)).status_code == 404
    response = client.post(
        archive_page(document), {"action": "file", "file-service_task": ServiceTask.ELDERLY_SERVICES}
    )
    assert response.status_code == 404
    assert document.title not in client.get(ARCHIVE).content.decode()


# -- the archivist -----------------------------------------------------------------------------------------


def test_archivist_lists_the_register_paginated_and_filtered_by_service_task(
    archivist, social_unit, social_register
):
    for index in range(26):
        client_document(social_register, social_unit, title=f"Lastensuojelu {index:02d}")
    for index in range(3):
        client_document(
            social_register,
            social_unit,
            title=f"Vanhuspalvelu {index}",
            service_task=ServiceTask.ELDERLY_SERVICES,
        )
    client_document(RegisterFactory(kind=RegisterKind.SOCIAL_WELFARE), social_unit, title="Toisen rekisterin")
    client = signed_in(archivist)

    first = client.get(ARCHIVE).content.decode()
    second = client.get(ARCHIVE, {"page": 2}).content.decode()
    elderly = client.get(ARCHIVE, {"service_task": ServiceTask.ELDERLY_SERVICES}).content.decode()

    assert "29 documents" in first
    assert "Page 1 of 2" in first
    assert first.count("Lastensuojelu ") + second.count("Lastensuojelu ") == 26
    assert "Toisen rekisterin" not in first + second
    assert "3 documents" in elderly
    assert "Vanhuspalvelu 0" in elderly
    assert "Lastensuojelu" not in elderly
    assert f"service_task={ServiceTask.ELDERLY_SERVICES}" not in first  # no filter carried over unasked
    read = AuditEvent.objects.filter(action="register.documents.list", professional=archivist).first()
    assert (read.outcome, read.legal_basis, read.data_type) == (
        AuditOutcome.ALLOWED,
        LegalBasis.OWN_REGISTER,
        DataType.SOCIAL_WELFARE,
    )
    assert len(read.object_ids) == 25


def test_archivist_sees_the_metadata_but_not_the_content(archivist, social_unit, social_register):
    document = client_document(social_register, social_unit, title="Päätös tukitoimista")

    page = signed_in(archivist).get(archive_page(document)).content.decode()

    assert "Päätös tukitoimista" in page
    assert document.person.full_name in page
    assert "Päätös lastensuojelun avohuollon tukitoimista." not in page
    assert AuditEvent.objects.filter(action="register.document.view", person=document.person).exists()


def test_archivist_files_a_document_under_a_service_task(archivist, social_unit, social_register):
    document = client_document(social_register, social_unit)
    client = signed_in(archivist)

    response = client.post(
        archive_page(document),
        {"action": "file", "file-service_task": ServiceTask.DISABILITY_SERVICES},
        follow=True,
    )

    assert response.redirect_chain == [(archive_page(document), 302)]
    assert "The document is filed under the service task." in response.content.decode()
    document.refresh_from_db()
    assert document.service_task == ServiceTask.DISABILITY_SERVICES
    filed = AuditEvent.objects.get(action="document.file")
    assert (filed.professional, filed.person) == (archivist, document.person)


def test_archivist_corrects_metadata_and_a_rejected_change_keeps_what_was_typed(
    archivist, social_unit, social_register
):
    document = client_document(social_register, social_unit, title="Palvelutarpeen arvio")
    client = signed_in(archivist)
    url = archive_page(document)

    empty = client.post(
        url, {"action": "metadata", "metadata-title": "", "metadata-service_task": "child_welfare"}
    )
    assert empty.status_code == 400
    assert "Give a title." in empty.content.decode()
    unchanged = client.post(
        url,
        {
            "action": "metadata",
            "metadata-title": "Palvelutarpeen arvio",
            "metadata-service_task": "child_welfare",
        },
    )
    assert unchanged.status_code == 400
    assert "Nothing to change: the metadata is already as given." in unchanged.content.decode()

    client.post(
        url,
        {
            "action": "metadata",
            "metadata-title": "Palvelutarpeen arviointi",
            "metadata-service_task": "family_services",
        },
    )

    document.refresh_from_db()
    assert (document.title, document.service_task, document.status) == (
        "Palvelutarpeen arviointi",
        ServiceTask.FAMILY_SERVICES,
        DocumentStatus.CURRENT,
    )
    assert AuditEvent.objects.filter(action="document.correct_metadata").exists()


def test_register_list_runs_a_bounded_number_of_queries(
    archivist, social_unit, social_register, django_assert_max_num_queries
):
    for _ in range(60):
        client_document(
            social_register, UnitFactory(organisation=social_register.controller), person=PersonFactory()
        )
    client = signed_in(archivist)

    # Sign-in checks, the register, the archivist check, the count and one page of documents with their
    # persons, units and registers, the audit row (in a savepoint), the session save.
    with django_assert_max_num_queries(16):
        response = client.get(ARCHIVE)

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 25
