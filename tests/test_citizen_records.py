"""MyKanta health records: visits, summary sections, a document with its versions, social welfare documents."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.utils import timezone

from archive.models import (
    AbnormalFlag,
    CertificateForm,
    Document,
    DocumentKind,
    DocumentStatus,
    ImagingStudy,
    Procedure,
    RiskInformation,
    RiskKind,
    ServiceTask,
    Vaccination,
)
from kanta.models import AuditEvent, RegisterKind
from tests.citizen_helpers import days_ago, log_in, provider
from tests.factories import PersonFactory, RegisterFactory
from tests.factories_archive import DiagnosisFactory, DocumentFactory, LabResultFactory, ServiceEventFactory


@pytest.fixture(autouse=True)
def english(client):
    """The assertions read the English texts; the site's default language is Finnish."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def citizen(db):
    return PersonFactory(identity_code="010594Y9032", first_names="Aino", last_name="Virtanen")


@pytest.fixture
def county(db):
    return provider("Pirkanmaan hyvinvointialue", unit_name="Hervannan terveysasema")


def document(citizen, county, **fields) -> Document:
    return DocumentFactory(person=citizen, register=county.health, unit=county.unit, **fields)


def titles(page: str) -> list[str]:
    return re.findall(r'<a href="/records/document/[0-9a-f-]+/">([^<]+)</a>', page)


# -- refusals first ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_records_pages_require_login(client):
    for url in ("/records/", "/records/summary/", "/records/social-welfare/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_self_never_sees_special_content_or_documents_whose_display_is_delayed(client, citizen, county):
    document(citizen, county, title="Ordinary visit")
    special = document(citizen, county, title="Special content note", special_content=True)
    delayed = document(
        citizen,
        county,
        title="Delayed biopsy result",
        display_delayed_until=timezone.localdate() + datetime.timedelta(days=14),
        display_delay_reason="Discussed at the next appointment",
    )
    log_in(client, citizen)

    page = client.get("/records/").content.decode()

    assert titles(page) == ["Ordinary visit"]
    assert client.get(f"/records/document/{special.public_id}/").status_code == 404
    assert client.get(f"/records/document/{delayed.public_id}/").status_code == 404


def test_a_delay_that_has_ended_shows_the_document(client, citizen, county):
    document(
        citizen,
        county,
        title="Biopsy result",
        display_delayed_until=timezone.localdate(),
        display_delay_reason="Discussed first",
    )
    log_in(client, citizen)

    assert titles(client.get("/records/").content.decode()) == ["Biopsy result"]


def test_another_persons_document_answers_404(client, citizen, county):
    someone_else = PersonFactory()
    theirs = DocumentFactory(person=someone_else, register=county.health, unit=county.unit, title="Not yours")
    log_in(client, citizen)

    response = client.get(f"/records/document/{theirs.public_id}/")

    assert response.status_code == 404
    assert "Not yours" not in response.content.decode()


def test_reading_ones_own_records_is_not_logged_as_a_disclosure(client, citizen, county):
    shown = document(citizen, county)
    log_in(client, citizen)

    client.get("/records/")
    client.get("/records/summary/")
    client.get(f"/records/document/{shown.public_id}/")

    assert not AuditEvent.objects.filter(person=citizen, category="access").exists()


# -- visits ------------------------------------------------------------------------------------------------


def test_visits_are_grouped_by_service_event_with_unit_and_date_newest_first(client, citizen, county):
    knee = ServiceEventFactory(
        person=citizen,
        register=county.health,
        unit=county.unit,
        title="Knee pain",
        started_on=days_ago(40).date(),
    )
    flu = ServiceEventFactory(
        person=citizen,
        register=county.health,
        unit=county.unit,
        title="Influenza",
        started_on=days_ago(10).date(),
    )
    document(citizen, county, service_event=knee, title="Knee: first visit", recorded_at=days_ago(40))
    document(citizen, county, service_event=knee, title="Knee: follow-up", recorded_at=days_ago(20))
    document(citizen, county, service_event=flu, title="Flu visit", recorded_at=days_ago(10))
    log_in(client, citizen)

    page = client.get("/records/").content.decode()

    assert titles(page) == ["Flu visit", "Knee: follow-up", "Knee: first visit"]
    assert page.index("<h3>Influenza</h3>") < page.index("<h3>Knee pain</h3>")
    assert "Hervannan terveysasema" in page
    assert f"Started {knee.started_on:%-d.%-m.%Y}" in page


def test_records_show_the_last_12_months_by_default_and_the_date_search_finds_older(client, citizen, county):
    document(citizen, county, title="Recent visit", recorded_at=days_ago(30))
    document(citizen, county, title="Old visit", recorded_at=days_ago(500))
    log_in(client, citizen)

    assert titles(client.get("/records/").content.decode()) == ["Recent visit"]

    since = (timezone.localdate() - datetime.timedelta(days=600)).isoformat()
    until = (timezone.localdate() - datetime.timedelta(days=400)).strftime("%d.%m.%Y")
    page = client.get("/records/", {"since": since, "until": until}).content.decode()
    assert titles(page) == ["Old visit"]


def test_an_invalid_date_gives_a_clear_error_and_keeps_what_was_typed(client, citizen, county):
    document(citizen, county, title="Recent visit")
    log_in(client, citizen)

    response = client.get("/records/", {"since": "31.13.2024", "until": ""})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a date, for example 31.5.2024." in page
    assert 'value="31.13.2024"' in page
    assert titles(page) == []


def test_an_end_date_before_the_start_date_is_refused(client, citizen):
    log_in(client, citizen)

    response = client.get("/records/", {"since": "2024-05-01", "until": "2024-04-01"})

    assert response.status_code == 400
    assert "The end date cannot be before the start date." in response.content.decode()


def test_the_next_page_continues_where_the_first_ended(client, citizen, county):
    for n in range(25):
        document(citizen, county, title=f"Visit {n:02d}", recorded_at=days_ago(n + 1))
    log_in(client, citizen)

    first = client.get("/records/").content.decode()
    assert 'href="?page=2" rel="next"' in first
    second = client.get("/records/", {"page": 2}).content.decode()

    assert titles(first) == [f"Visit {n:02d}" for n in range(20)]
    assert titles(second) == [f"Visit {n:02d}" for n in range(20, 25)]
    assert 'rel="next"' not in second


def test_records_page_runs_a_bounded_number_of_queries(
    client, citizen, county, django_assert_max_num_queries
):
    events = [
        ServiceEventFactory(person=citizen, register=county.health, unit=county.unit, title=f"Matter {n}")
        for n in range(6)
    ]
    for n in range(60):
        document(citizen, county, service_event=events[n % 6], recorded_at=days_ago(n + 1))
    log_in(client, citizen)

    with django_assert_max_num_queries(8):
        response = client.get("/records/")

    assert len(titles(response.content.decode())) == 20


# -- summary -----------------------------------------------------------------------------------------------


def test_laboratory_results_show_the_test_in_the_readers_language_with_reference_range_and_flag(
    client, citizen, county
):
    lab = document(citizen, county, kind=DocumentKind.LABORATORY, title="Blood count")
    LabResultFactory(
        document=lab,
        loinc="718-7",
        name="Hemoglobiini",
        value="171.000",
        reference_low="117",
        reference_high="155",
        abnormal=AbnormalFlag.HIGH,
    )
    LabResultFactory(
        document=lab,
        loinc="14749-6",
        name="P-Gluk",
        value="5.400",
        unit_of_measure="mmol/L",
        reference_low="4.0",
        reference_high="6.0",
        abnormal=AbnormalFlag.NORMAL,
    )
    log_in(client, citizen)

    page = client.get("/records/summary/").content.decode()

    rows = re.findall(r"<tr[^>]*>\s*<th scope=\"row\">(.*?)</tr>", page, re.S)
    assert len(rows) == 2
    hemoglobin = next(row for row in rows if "Hemoglobin [Mass/volume] in Blood" in row)
    assert "<td>171</td>" in hemoglobin
    assert "<td>g/L</td>" in hemoglobin
    assert "117–155" in hemoglobin
    assert "above the reference range" in hemoglobin  # the flag is text, not only colour
    glucose = next(row for row in rows if "Glucose [Moles/volume] in Serum or Plasma" in row)
    assert "<td>5.4</td>" in glucose
    assert "4–6" in glucose
    assert "within the reference range" in glucose


def test_lab_test_names_follow_the_readers_language(client, citizen, county):
    LabResultFactory(document=document(citizen, county, kind=DocumentKind.LABORATORY), loinc="718-7")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fi"
    log_in(client, citizen)

    assert "Hemoglobiini (B-Hb)" in client.get("/records/summary/").content.decode()


def test_summary_shows_diagnoses_risks_vaccinations_procedures_imaging_and_certificates(
    client, citizen, county
):
    entry = document(citizen, county, title="Visit")
    DiagnosisFactory(document=entry, code="J06.9", title="Flunssa", primary=True)
    RiskInformation.objects.create(
        document=entry,
        person=citizen,
        recorded_on=entry.recorded_at.date(),
        kind=RiskKind.ALLERGY,
        description="Penicillin allergy",
    )
    Vaccination.objects.create(
        document=entry,
        person=citizen,
        recorded_on=entry.recorded_at.date(),
        atc="J07AE01",
        name="Dukoral",
        dose=2,
    )
    Procedure.objects.create(
        document=entry, person=citizen, recorded_on=entry.recorded_at.date(), description="Wound suture"
    )
    statement = document(citizen, county, kind=DocumentKind.IMAGING_STATEMENT, title="Knee X-ray statement")
    ImagingStudy.objects.create(
        document=statement,
        person=citizen,
        recorded_on=statement.recorded_at.date(),
        study_instance_uid="1.2.246.777.1",
        modality="DX",
        examination="Knee X-ray",
    )
    document(
        citizen,
        county,
        kind=DocumentKind.CERTIFICATE,
        title="Sick leave",
        certificate_form=CertificateForm.SV6,
    )
    log_in(client, citizen)

    page = client.get("/records/summary/").content.decode()

    assert "Acute upper respiratory infection, unspecified" in page
    assert "Penicillin allergy" in page
    assert "cholera, inactivated, whole cell" in page and "dose 2" in page
    assert "Wound suture" in page
    assert "Knee X-ray statement" in page and "Knee X-ray (DX), study 1.2.246.777.1" in page
    assert "Sick leave" in page and "SV 6 – medical certificate A" in page


def test_summary_leaves_out_entries_of_documents_the_reader_may_not_see(client, citizen, county):
    DiagnosisFactory(document=document(citizen, county, special_content=True), code="F32.1", title="Secret")
    log_in(client, citizen)

    page = client.get("/records/summary/").content.decode()

    assert "F32.1" not in page and "Secret" not in page
    assert "No diagnoses in this period." in page


def test_summary_runs_a_bounded_number_of_queries(client, citizen, county, django_assert_max_num_queries):
    for n in range(30):
        lab = document(citizen, county, kind=DocumentKind.LABORATORY, recorded_at=days_ago(n + 1))
        LabResultFactory(document=lab)
        DiagnosisFactory(document=lab)
        document(citizen, county, kind=DocumentKind.CERTIFICATE, certificate_form=CertificateForm.SV7)
    log_in(client, citizen)

    with django_assert_max_num_queries(15):
        response = client.get("/records/summary/")

    assert response.content.decode().count("Hemoglobin [Mass/volume] in Blood") == 30


# -- one document ------------------------------------------------------------------------------------------


def test_a_document_shows_its_version_history_and_earlier_versions_open(client, citizen, county):
    first = document(
        citizen, county, title="Visit note", text="Potilas yskii.", status=DocumentStatus.SUPERSEDED
    )
    second = document(
        citizen,
        county,
        title="Visit note (corrected)",
        text="Potilas yskii paljon.",
        lineage_id=first.lineage_id,
        version=2,
        supersedes=first,
    )
    log_in(client, citizen)

    current = client.get(f"/records/document/{second.public_id}/").content.decode()
    assert "Potilas yskii paljon." in current
    assert "Version 2 (shown)" in current
    assert f'href="/records/document/{first.public_id}/">Version 1</a>' in current

    earlier = client.get(f"/records/document/{first.public_id}/").content.decode()
    assert "This is an earlier version." in earlier
    assert "Potilas yskii." in earlier


def test_a_certificate_shows_its_form_fields(client, citizen, county):
    certificate = document(
        citizen,
        county,
        kind=DocumentKind.CERTIFICATE,
        title="Medical certificate",
        certificate_form=CertificateForm.SV6,
        form_data={
            "diagnosis_code": "J06.9",
            "incapacity_from": "2025-01-02",
            "incapacity_to": "2025-01-09",
            "statement": "Rest at home.",
        },
    )
    log_in(client, citizen)

    page = client.get(f"/records/document/{certificate.public_id}/").content.decode()

    assert "SV 6 – medical certificate A" in page
    assert "J06.9 Acute upper respiratory infection, unspecified" in page
    assert "2.1.2025" in page and "Rest at home." in page


# -- social welfare ----------------------------------------------------------------------------------------


def test_social_welfare_documents_are_grouped_by_service_task_and_special_content_never_shows(
    client, citizen, county
):
    social = RegisterFactory(controller=county.organisation, kind=RegisterKind.SOCIAL_WELFARE)
    common = {"person": citizen, "register": social, "unit": county.unit}
    DocumentFactory(
        **common,
        kind=DocumentKind.DECISION,
        service_task=ServiceTask.ELDERLY_SERVICES,
        title="Home care decision",
    )
    DocumentFactory(
        **common,
        kind=DocumentKind.CLIENT_PLAN,
        service_task=ServiceTask.DISABILITY_SERVICES,
        title="Client plan",
    )
    DocumentFactory(
        **common,
        kind=DocumentKind.SERVICE_NEED_ASSESSMENT,
        service_task=ServiceTask.CHILD_WELFARE,
        title="Child welfare assessment",
        special_content=True,
    )
    document(citizen, county, title="Health visit")
    log_in(client, citizen)

    page = client.get("/records/social-welfare/").content.decode()

    assert set(titles(page)) == {"Home care decision", "Client plan"}
    assert "Services for older people" in page and "Disability services" in page
    assert "Child welfare assessment" not in page
    assert "Health visit" not in page

    filtered = client.get("/records/social-welfare/", {"service_task": "elderly_services"}).content.decode()
    assert titles(filtered) == ["Home care decision"]
    # and health records never list social welfare documents
    assert titles(client.get("/records/").content.decode()) == ["Health visit"]
