"""MyKanta "Where my data has been processed": reads by others, from the audit log, keyset-paginated."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.utils import timezone

from consents import policy
from kanta.audit import Actor
from kanta.models import (
    AuditCategory,
    AuditEvent,
    AuditOutcome,
    CareReason,
    CareRelationship,
    DataType,
    Guardianship,
    LegalBasis,
)
from tests.citizen_helpers import log_in, person_aged, provider
from tests.factories import PersonFactory, ProfessionalFactory, UnitFactory, UserFactory
from tests.factories_archive import (
    DisclosureConsentFactory,
    DocumentFactory,
    InformationNoticeFactory,
    MandateFactory,
)


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def citizen(db):
    return PersonFactory(identity_code="010594Y9032", first_names="Aino", last_name="Virtanen")


@pytest.fixture
def county(db):
    return provider("Pirkanmaan hyvinvointialue", unit_name="Hervannan terveysasema")


def doctor_in(unit, **user_fields):
    return ProfessionalFactory(
        units=[unit],
        user=UserFactory(first_name="Salli", last_name="Salainen", **user_fields),
        registration_number="109876543",
    )


def professional_reads(person, doctor, unit, *, emergency_reason: str = "") -> None:
    """A professional opens the person's documents through the disclosure gate (which writes the audit rows)."""
    now = timezone.now()
    CareRelationship.objects.get_or_create(
        unit=unit,
        person=person,
        defaults={
            "reason": CareReason.APPOINTMENT,
            "starts_at": now - datetime.timedelta(hours=1),
            "ends_at": now + datetime.timedelta(days=30),
            "confirmed_by": doctor,
        },
    )
    actor = Actor(user=doctor.user, professional=doctor, unit=unit)
    policy.for_professional(actor=actor, person=person, emergency_reason=emergency_reason).documents()


def rows(page: str) -> list[list[str]]:
    body = page[page.index("<tbody>") : page.index("</tbody>")] if "<tbody>" in page else ""
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def next_link(page: str) -> str | None:
    match = re.search(r'href="(\?after=[^"]+)" rel="next"', page)
    return match.group(1).replace("&amp;", "&") if match else None


# -- refusals first ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_disclosure_log_requires_login(client):
    for url in ("/disclosures/", "/disclosures/request/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_the_persons_own_reads_refusals_and_other_persons_reads_are_not_listed(client, citizen, county):
    doctor = doctor_in(county.unit)
    someone_else = PersonFactory()
    DocumentFactory(person=someone_else, register=county.health, unit=county.unit)
    professional_reads(someone_else, doctor, county.unit)
    # a professional without a care relationship: refused, and refusals are not "processing"
    policy.for_professional(
        actor=Actor(user=doctor.user, professional=doctor, unit=county.unit), person=citizen
    ).documents()
    log_in(client, citizen)
    client.get("/records/")  # the person's own read

    page = client.get("/disclosures/").content.decode()

    assert AuditEvent.objects.filter(person=citizen, outcome=AuditOutcome.REFUSED).exists()
    assert rows(page) == []
    assert "Nobody else has processed your information in the last two years." in page


def test_entries_older_than_two_years_are_not_shown(client, citizen, county):
    AuditEvent.objects.create(
        occurred_at=timezone.now() - datetime.timedelta(days=2 * 365 + 5),
        organisation=county.organisation,
        unit=county.unit,
        person=citizen,
        action="documents.list",
        category=AuditCategory.ACCESS,
        data_type=DataType.PATIENT,
        legal_basis=LegalBasis.OWN_REGISTER,
        outcome=AuditOutcome.ALLOWED,
    )
    log_in(client, citizen)

    assert rows(client.get("/disclosures/").content.decode()) == []


def test_an_older_period_is_requested_on_a_form_that_keeps_what_was_typed(client, citizen):
    log_in(client, citizen)
    recent = (timezone.localdate() - datetime.timedelta(days=30)).isoformat()

    response = client.post(
        "/disclosures/request/", {"since": recent, "until": "31.12.2099", "details": "Kela"}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Entries from the last two years are shown on the page itself." in page
    assert f'value="{recent}"' in page and "Kela</textarea>" in page
    assert not AuditEvent.objects.filter(action="disclosure_log.request").exists()


# -- the log -----------------------------------------------------------------------------------------------


def test_a_professionals_access_shows_organisation_unit_data_type_and_basis_but_not_the_professional(
    client, citizen, county
):
    DocumentFactory(person=citizen, register=county.health, unit=county.unit)
    doctor = doctor_in(county.unit)
    professional_reads(citizen, doctor, county.unit)
    log_in(client, citizen)

    page = client.get("/disclosures/").content.decode()

    [row] = rows(page)
    assert row[1:] == ["Pirkanmaan hyvinvointialue", "Hervannan terveysasema", "Patient data", "Own register"]
    for secret in ("Salli", "Salainen", "109876543", doctor.user.username):
        assert secret not in page


def test_consent_and_emergency_reads_show_their_basis(client, citizen, county):
    other = provider("Varsinais-Suomen hyvinvointialue", unit_name="Turun terveysasema")
    DocumentFactory(person=citizen, register=county.health, unit=county.unit)
    InformationNoticeFactory(person=citizen)
    DisclosureConsentFactory(person=citizen)
    professional_reads(citizen, doctor_in(other.unit, username="consent-doctor"), other.unit)
    emergency_unit = UnitFactory(organisation=provider("Kanta-Hämeen hyvinvointialue").organisation)
    professional_reads(
        citizen, ProfessionalFactory(units=[emergency_unit]), emergency_unit, emergency_reason="Unconscious"
    )
    log_in(client, citizen)

    bases = {row[2]: row[4] for row in rows(client.get("/disclosures/").content.decode())}

    assert bases["Turun terveysasema"] == "Consent"
    assert bases[emergency_unit.name_fi] == "Emergency"


def test_a_guardians_read_shows_as_guardian_on_the_childs_log(client, county):
    guardian = person_aged(40)
    child = person_aged(14, first_names="Eino")
    Guardianship.objects.create(guardian=guardian, child=child)
    DocumentFactory(person=child, register=county.health, unit=county.unit, disclosable_to_guardians=True)
    log_in(client, guardian)
    client.post("/acting/", {"person": str(child.public_id)})
    client.get("/records/")
    client.post("/logout/")
    log_in(client, child)

    [row] = rows(client.get("/disclosures/").content.decode())

    assert row[1:] == ["MyKanta", "–", "Patient data", "Guardian"]


def test_a_mandate_holders_reads_show_as_someone_acting_on_your_behalf(client, citizen, county):
    agent = person_aged(50)
    MandateFactory(principal=citizen, agent=agent)
    DocumentFactory(person=citizen, register=county.health, unit=county.unit)
    log_in(client, agent)
    client.post("/acting/", {"person": str(citizen.public_id)})
    client.get("/records/")
    client.post("/logout/")
    log_in(client, citizen)

    [row] = rows(client.get("/disclosures/").content.decode())

    assert row[4] == "Person acting on your behalf"


def test_the_next_page_continues_without_overlap_even_within_the_same_second(client, citizen, county):
    units = [UnitFactory(organisation=county.organisation, name_fi=f"Yksikkö {n:03d}") for n in range(120)]
    start = timezone.now() - datetime.timedelta(days=1)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            # three events share each timestamp, so a page boundary falls inside a tie
            occurred_at=start - datetime.timedelta(minutes=n // 3),
            organisation=county.organisation,
            unit=unit,
            person=citizen,
            action="documents.list",
            category=AuditCategory.ACCESS,
            data_type=DataType.PATIENT,
            legal_basis=LegalBasis.OWN_REGISTER,
            outcome=AuditOutcome.ALLOWED,
        )
        for n, unit in enumerate(units)
    )
    log_in(client, citizen)

    seen: list[str] = []
    page = client.get("/disclosures/").content.decode()
    pages = 1
    while True:
        seen.extend(row[2] for row in rows(page))
        link = next_link(page)
        if link is None:
            break
        assert "offset" not in link and "page=" not in link
        page = client.get(f"/disclosures/{link}").content.decode()
        pages += 1

    assert pages == 3
    assert len(seen) == 120
    assert len(set(seen)) == 120  # no entry twice, none left out


def test_a_tampered_cursor_shows_the_newest_entries(client, citizen):
    log_in(client, citizen)

    page = client.get("/disclosures/", {"after": "forged"}).content.decode()

    assert "The page link was not valid." in page


def test_the_log_runs_a_bounded_number_of_queries(client, citizen, county, django_assert_max_num_queries):
    units = [UnitFactory(organisation=county.organisation) for _n in range(10)]
    AuditEvent.objects.bulk_create(
        AuditEvent(
            occurred_at=timezone.now() - datetime.timedelta(minutes=n),
            organisation=county.organisation,
            unit=units[n % 10],
            person=citizen,
            action="documents.list",
            category=AuditCategory.ACCESS,
            data_type=DataType.PATIENT,
            legal_basis=LegalBasis.CONSENT,
            outcome=AuditOutcome.ALLOWED,
        )
        for n in range(200)
    )
    log_in(client, citizen)

    with django_assert_max_num_queries(7):
        response = client.get("/disclosures/")

    assert len(rows(response.content.decode())) == 50


def test_a_request_for_older_entries_is_recorded_and_confirmed(client, citizen):
    log_in(client, citizen)

    response = client.post(
        "/disclosures/request/", {"since": "1.1.2015", "until": "31.12.2016", "details": "Hospital visits"}
    )

    assert response.status_code == 302
    assert "has been recorded" in client.get(response["Location"]).content.decode()
    citizen.refresh_from_db()
    event = AuditEvent.objects.get(action="disclosure_log.request")
    assert (event.person, event.user, event.purpose, event.reason_text) == (
        citizen,
        citizen.user,
        "2015-01-01/2016-12-31",
        "Hospital visits",
    )
