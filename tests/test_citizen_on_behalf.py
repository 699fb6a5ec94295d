"""Acting on behalf in MyKanta: a guardian for a child, an adult for another under a mandate (DOMAIN.md rule 8)."""

from __future__ import annotations

import datetime
import html
import re

import pytest
from django.conf import settings
from django.utils import timezone

from citizen.acting import ACTING_SESSION_KEY
from consents.models import Prohibition
from kanta.models import AuditCategory, AuditEvent, AuditOutcome, Guardianship, LegalBasis
from tests.citizen_helpers import log_in, person_aged, provider, years_ago
from tests.factories import PersonFactory, temporary_identity_code
from tests.factories_archive import DocumentFactory, InformationNoticeFactory, MandateFactory


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def guardian(db):
    return person_aged(40, first_names="Helmi", last_name="Korhonen")


@pytest.fixture
def county(db):
    return provider("Pirkanmaan hyvinvointialue")


def ward(guardian, *, age: int, first_names: str = "Eino", **guardianship):
    child = person_aged(age, first_names=first_names, last_name="Korhonen")
    Guardianship.objects.create(guardian=guardian, child=child, **guardianship)
    return child


def switch(client, person):
    return client.post("/acting/", {"person": str(person.public_id)})


def titles(page: str) -> list[str]:
    return [
        html.unescape(title)
        for title in re.findall(r'<a href="/records/document/[0-9a-f-]+/">([^<]+)</a>', page)
    ]


def header(page: str) -> str:
    return page[page.index("<header") : page.index("</header>")]


# -- refusals first ----------------------------------------------------------------------------------------


def test_a_stranger_cannot_switch_to_another_person_and_the_refused_switch_is_logged(client, county):
    stranger = PersonFactory(first_names="Outi")
    victim = person_aged(35, first_names="Kohde", last_name="Mäkinen")
    DocumentFactory(person=victim, register=county.health, unit=county.unit, title="Victim's visit")
    log_in(client, stranger)

    response = switch(client, victim)

    assert response.status_code == 302
    assert ACTING_SESSION_KEY not in client.session
    page = client.get(response["Location"]).content.decode()
    assert "You cannot act on behalf of this person." in page
    assert "acting on behalf" not in header(page)
    assert "Victim's visit" not in client.get("/records/").content.decode()
    stranger.refresh_from_db()
    event = AuditEvent.objects.get(action="citizen.act_on_behalf")
    assert (event.user, event.person, event.outcome, event.legal_basis) == (
        stranger.user,
        victim,
        AuditOutcome.REFUSED,
        LegalBasis.NONE,
    )


def test_a_guardian_of_an_18_year_old_is_refused(client, guardian):
    adult_child = PersonFactory(identity_code=temporary_identity_code(years_ago(18)), first_names="Aikuinen")
    Guardianship.objects.create(guardian=guardian, child=adult_child)
    log_in(client, guardian)

    switch(client, adult_child)

    assert ACTING_SESSION_KEY not in client.session
    assert AuditEvent.objects.get(action="citizen.act_on_behalf").outcome == AuditOutcome.REFUSED
    assert "Aikuinen" not in client.get("/").content.decode()


def test_a_guardian_whose_guardianship_has_ended_is_refused(client, guardian):
    child = ward(guardian, age=8, ends_on=timezone.localdate() - datetime.timedelta(days=1))
    log_in(client, guardian)

    switch(client, child)

    assert ACTING_SESSION_KEY not in client.session
    assert AuditEvent.objects.get(action="citizen.act_on_behalf").outcome == AuditOutcome.REFUSED


def test_a_forged_session_value_is_not_trusted(client, guardian, county):
    stranger = person_aged(30, first_names="Vieras")
    DocumentFactory(person=stranger, register=county.health, unit=county.unit, title="Stranger's visit")
    log_in(client, guardian)
    session = client.session
    session[ACTING_SESSION_KEY] = str(stranger.public_id)
    session.save()

    page = client.get("/records/").content.decode()

    assert "Stranger's visit" not in page
    assert "acting on behalf" not in header(page)
    assert ACTING_SESSION_KEY not in client.session


def test_a_guardian_of_a_14_year_old_sees_only_documents_marked_for_guardians(client, guardian, county):
    child = ward(guardian, age=14)
    DocumentFactory(
        person=child,
        register=county.health,
        unit=county.unit,
        title="Vaccination visit",
        disclosable_to_guardians=True,
    )
    private = DocumentFactory(
        person=child, register=county.health, unit=county.unit, title="Confidential visit"
    )
    log_in(client, guardian)
    switch(client, child)

    page = client.get("/records/").content.decode()

    assert titles(page) == ["Vaccination visit"]
    assert client.get(f"/records/document/{private.public_id}/").status_code == 404
    guardian.refresh_from_db()
    read = AuditEvent.objects.get(action="records.list", outcome=AuditOutcome.ALLOWED)
    assert (read.user, read.person, read.legal_basis) == (guardian.user, child, LegalBasis.GUARDIAN)
    withheld = AuditEvent.objects.get(action="records.list", outcome=AuditOutcome.REFUSED)
    assert withheld.object_ids == [str(private.public_id)]


def test_a_guardian_of_a_9_year_old_sees_what_the_child_would_see(client, guardian, county):
    child = ward(guardian, age=9)
    DocumentFactory(person=child, register=county.health, unit=county.unit, title="Ear infection")
    DocumentFactory(
        person=child, register=county.health, unit=county.unit, title="Special note", special_content=True
    )
    log_in(client, guardian)
    switch(client, child)

    assert titles(client.get("/records/").content.decode()) == ["Ear infection"]


def test_a_guardian_cannot_open_the_consents_or_declarations_pages_for_a_child(client, guardian):
    child = ward(guardian, age=8)
    log_in(client, guardian)
    switch(client, child)

    for url in ("/consents/", "/consents/notice/", "/consents/prohibitions/new/", "/declarations/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "you cannot give or withdraw consents or prohibitions" in response.content.decode()


def test_a_guardian_cannot_add_a_prohibition_for_a_child(client, guardian):
    child = ward(guardian, age=8)
    InformationNoticeFactory(person=child)
    log_in(client, guardian)
    switch(client, child)

    for url in ("/consents/prohibitions/preview/", "/consents/prohibitions/save/"):
        response = client.post(url, {"scope": "all_data"})
        assert response.status_code == 403

    assert not Prohibition.objects.filter(person=child).exists()


def test_a_guardian_cannot_see_the_childs_disclosure_log(client, guardian):
    child = ward(guardian, age=8)
    log_in(client, guardian)
    switch(client, child)

    assert client.get("/disclosures/").status_code == 403
    assert (
        client.post("/disclosures/request/", {"since": "2020-01-01", "until": "2020-12-31"}).status_code
        == 403
    )
    assert not AuditEvent.objects.filter(action="disclosure_log.request").exists()


def test_when_the_guardianship_ends_the_next_request_falls_back_to_own_matters(client, guardian, county):
    child = ward(guardian, age=8)
    DocumentFactory(person=child, register=county.health, unit=county.unit, title="Child's visit")
    log_in(client, guardian)
    switch(client, child)
    assert titles(client.get("/records/").content.decode()) == ["Child's visit"]

    Guardianship.objects.filter(child=child).update(ends_on=timezone.localdate() - datetime.timedelta(days=1))
    page = client.get("/records/").content.decode()

    assert titles(page) == []
    assert "You can no longer act on behalf of Eino Korhonen. You now see your own matters." in page
    assert "acting on behalf" not in header(page)
    assert ACTING_SESSION_KEY not in client.session


# -- acting on behalf --------------------------------------------------------------------------------------


def test_switching_to_a_child_is_logged_with_both_identities_and_shown_in_the_header(
    client, guardian, county
):
    child = ward(guardian, age=8)
    log_in(client, guardian)

    response = switch(client, child)

    assert response.status_code == 302
    guardian.refresh_from_db()
    event = AuditEvent.objects.get(action="citizen.act_on_behalf")
    assert (event.user, event.person, event.outcome, event.legal_basis, event.category) == (
        guardian.user,
        child,
        AuditOutcome.ALLOWED,
        LegalBasis.GUARDIAN,
        AuditCategory.AUTHENTICATION,
    )
    for url in ("/", "/records/"):
        assert "You are acting on behalf of Eino Korhonen" in header(client.get(url).content.decode())


def test_returning_to_own_matters_hides_the_childs_records(client, guardian, county):
    child = ward(guardian, age=8)
    DocumentFactory(person=child, register=county.health, unit=county.unit, title="Child's visit")
    DocumentFactory(person=guardian, register=county.health, unit=county.unit, title="My own visit")
    log_in(client, guardian)
    switch(client, child)
    assert titles(client.get("/records/").content.decode()) == ["Child's visit"]

    switch(client, guardian)

    page = client.get("/records/").content.decode()
    assert titles(page) == ["My own visit"]
    assert "acting on behalf" not in header(page)


def test_a_mandate_holder_acts_for_the_principal_and_may_manage_their_consents(client, county):
    agent = person_aged(50, first_names="Valtuutettu")
    principal = person_aged(80, first_names="Vanhus", last_name="Lindqvist")
    MandateFactory(principal=principal, agent=agent)
    DocumentFactory(person=principal, register=county.health, unit=county.unit, title="Principal's visit")
    log_in(client, agent)

    switch(client, principal)

    assert AuditEvent.objects.get(action="citizen.act_on_behalf").legal_basis == LegalBasis.MANDATE
    assert titles(client.get("/records/").content.decode()) == ["Principal's visit"]
    assert client.get("/consents/").status_code == 200
    assert client.get("/declarations/").status_code == 200


def test_an_expired_mandate_is_refused(client, db):
    agent = person_aged(50)
    principal = person_aged(80)
    today = timezone.localdate()
    MandateFactory(
        principal=principal,
        agent=agent,
        starts_on=today - datetime.timedelta(days=100),
        ends_on=today - datetime.timedelta(days=1),
    )
    log_in(client, agent)

    switch(client, principal)

    assert ACTING_SESSION_KEY not in client.session


def test_the_switcher_lists_children_and_principals_in_a_bounded_number_of_queries(
    client, guardian, django_assert_max_num_queries
):
    for n in range(6):
        ward(guardian, age=2 + n, first_names=f"Lapsi{n}")
    for n in range(4):
        MandateFactory(principal=person_aged(70 + n, first_names=f"Päämies{n}"), agent=guardian)
    ward(guardian, age=5, first_names="Päättynyt", ends_on=timezone.localdate() - datetime.timedelta(days=1))
    log_in(client, guardian)

    with django_assert_max_num_queries(8):
        page = client.get("/").content.decode()

    switcher = page[
        page.index('id="whose-matters-heading"') : page.index("</form>", page.index("whose-matters"))
    ]
    assert switcher.count('name="person"') == 11  # own matters, six children, four principals
    assert "Päättynyt" not in switcher


def test_a_prescriptions_only_mandate_shows_prescriptions_but_no_records(client, county):
    from tests.factories_prescriptions import PrescriptionFactory

    agent = person_aged(45)
    principal = person_aged(80)
    MandateFactory(principal=principal, agent=agent, scope="prescriptions")
    DocumentFactory(person=principal, title="Kotikäynti")
    PrescriptionFactory(person=principal, medicine_name="Amlodipin Test 5 mg")
    log_in(client, agent)

    switch(client, principal)
    records = client.get("/records/").content.decode()
    prescriptions = client.get("/prescriptions/").content.decode()

    assert "Kotikäynti" not in records
    assert "Amlodipin Test 5 mg" in prescriptions
