"""Citizen sign-in through the test identification page, sign-out, session lifetime and citizen_required."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path
from django.utils import timezone

from citizen.decorators import citizen_required
from kanta.models import AuditCategory, AuditEvent, AuditOutcome, LegalBasis
from tests.factories import PersonFactory, ProfessionalFactory, temporary_identity_code


@citizen_required
def _protected(request):
    return HttpResponse(f"person: {request.person.full_name}")


# A URLconf for the decorator tests: the real pages plus one page behind citizen_required.
urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("protected/", _protected),
    path("", include("citizen.urls")),
]

TEST_PAGE = "/login/test/"


@pytest.fixture(autouse=True)
def english(client):
    """The assertions read the English texts; the site's default language is Finnish."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def log_in(client, person, headers=None, **data):
    return client.post(TEST_PAGE, {"identity_code": person.identity_code, **data}, headers=headers)


def listed_codes(response) -> list[str]:
    return re.findall(r'name="identity_code" value="([^"]+)"', response.content.decode())


# -- the test identification page ----------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(TEST_IDENTIFICATION=False)
def test_test_identification_page_does_not_exist_when_switched_off(client):
    person = PersonFactory()

    assert client.get(TEST_PAGE).status_code == 404
    assert log_in(client, person).status_code == 404
    assert "citizen" not in client.session
    assert "Log in as a test person" not in client.get("/login/").content.decode()


@pytest.mark.django_db
def test_page_lists_living_test_persons_by_name_with_their_codes(client):
    second = PersonFactory(first_names="Eino", last_name="Korhonen")
    first = PersonFactory(first_names="Aino", last_name="Ahonen")
    ordinary = PersonFactory(identity_code="131052-308T", first_names="Oskari", last_name="Aalto")
    deceased = PersonFactory(
        first_names="Helmi", last_name="Aaltonen", date_of_death=datetime.date(2020, 1, 1)
    )

    response = client.get(TEST_PAGE)

    assert response.status_code == 200
    assert listed_codes(response) == [first.identity_code, second.identity_code]
    text = response.content.decode()
    assert "Ahonen, Aino" in text
    assert ordinary.last_name not in text
    assert deceased.identity_code not in text


@pytest.mark.django_db
def test_more_than_fifty_test_persons_are_listed_a_page_at_a_time(client, django_assert_max_num_queries):
    people = sorted(PersonFactory.create_batch(51), key=lambda p: (p.last_name, p.first_names, p.id))

    with django_assert_max_num_queries(8):
        first_page = client.get(TEST_PAGE)
    second_page = client.get(TEST_PAGE, {"page": 2})

    assert listed_codes(first_page) == [p.identity_code for p in people[:50]]
    assert listed_codes(second_page) == [people[50].identity_code]
    assert "Page 1 of 2" in first_page.content.decode()


@pytest.mark.django_db
def test_deceased_person_cannot_log_in_and_the_refusal_is_logged(client):
    person = PersonFactory(date_of_death=datetime.date(2024, 5, 1))

    response = log_in(client, person)

    assert response.status_code == 400
    assert "This person has died" in response.content.decode()
    assert "citizen" not in client.session
    assert person.first_names not in client.get("/").content.decode()
    event = AuditEvent.objects.get(action="citizen.login")
    assert (event.person, event.outcome) == (person, AuditOutcome.REFUSED)


@pytest.mark.django_db
def test_choosing_a_test_person_logs_in_and_the_front_page_shows_the_name(client):
    person = PersonFactory(first_names="Aino Maria", last_name="Virtanen")

    response = log_in(client, person)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["citizen"] == str(person.public_id)
    page = client.get("/").content.decode()
    assert "Hello, Aino" in page
    assert "Aino Maria Virtanen" in page


@pytest.mark.django_db
def test_login_writes_an_authentication_event_for_the_person(client):
    person = PersonFactory()

    log_in(client, person, headers={"user-agent": "pytest-browser"})

    event = AuditEvent.objects.get(action="citizen.login")
    assert event.category == AuditCategory.AUTHENTICATION
    assert event.outcome == AuditOutcome.ALLOWED
    assert event.legal_basis == LegalBasis.SELF
    assert event.person == person
    person.refresh_from_db()
    assert event.user == person.user
    assert event.user_agent == "pytest-browser"


@pytest.mark.django_db
def test_login_gives_the_session_a_new_key(client):
    person = PersonFactory()
    session = client.session  # a visitor's session before signing in, as an attacker could plant one
    session["visited"] = True
    session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=before).exists()

    log_in(client, person)

    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()


@pytest.mark.django_db
def test_typed_code_with_wrong_check_character_is_refused_precisely_and_kept(client):
    response = client.post(TEST_PAGE, {"identity_code": "010594Y903X"})

    assert response.status_code == 400
    text = response.content.decode()
    assert "The check character is wrong: it should be “2”" in text
    assert 'value="010594Y903X"' in text
    assert "citizen" not in client.session


@pytest.mark.django_db
def test_typed_ordinary_identity_code_is_refused(client):
    PersonFactory(identity_code="131052-308T")

    response = client.post(TEST_PAGE, {"identity_code": "131052-308T"})

    assert response.status_code == 400
    assert "Only test identity codes can be used here" in response.content.decode()
    assert "citizen" not in client.session


@pytest.mark.django_db
def test_typed_test_code_of_nobody_is_refused(client):
    code = temporary_identity_code()

    response = client.post(TEST_PAGE, {"identity_code": code})

    assert response.status_code == 400
    text = response.content.decode()
    assert "Kanta has no information about a person with this personal identity code." in text
    assert f'value="{code}"' in text
    assert AuditEvent.objects.get(action="citizen.login").outcome == AuditOutcome.REFUSED


@pytest.mark.django_db
def test_typed_test_code_logs_in_whatever_the_letter_case(client):
    PersonFactory(identity_code="010594Y9032", first_names="Linnea")

    response = client.post(TEST_PAGE, {"identity_code": " 010594y9032 "})

    assert response.status_code == 302
    assert "Hello, Linnea" in client.get("/").content.decode()


@pytest.mark.django_db
def test_login_returns_to_a_same_site_page_but_never_to_another_site(client):
    person = PersonFactory()

    assert log_in(client, person, next="https://evil.example/").headers["Location"] == "/"
    assert log_in(client, person, next="//evil.example/").headers["Location"] == "/"
    assert log_in(client, person, next="/me/language/").headers["Location"] == "/me/language/"


# -- logging out -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_logout_does_not_accept_get(client):
    person = PersonFactory()
    log_in(client, person)

    assert client.get("/logout/").status_code == 405
    assert client.session["citizen"] == str(person.public_id)


@pytest.mark.django_db
def test_logout_ends_the_session_and_the_old_cookie_gives_nothing(client):
    person = PersonFactory(first_names="Väinö")
    log_in(client, person)
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert 'action="/logout/"' in client.get("/").content.decode()

    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "Hello, Väinö" not in client.get("/").content.decode()
    assert not Session.objects.filter(session_key=old_key).exists()
    client.cookies[settings.SESSION_COOKIE_NAME] = old_key
    assert "Hello, Väinö" not in client.get("/").content.decode()
    assert AuditEvent.objects.filter(action="citizen.logout", person=person).exists()


# -- session lifetime --------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.urls("tests.test_citizen_login")
def test_expired_session_is_sent_to_the_login_page(client):
    person = PersonFactory(first_names="Elias")
    log_in(client, person)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))

    response = client.get("/protected/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fprotected%2F"
    assert "Hello, Elias" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_each_request_renews_the_idle_timeout(client):
    log_in(client, PersonFactory())
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    soon = timezone.now() + datetime.timedelta(seconds=30)
    Session.objects.filter(session_key=key).update(expire_date=soon)

    client.get("/")

    renewed = Session.objects.get(session_key=key).expire_date
    assert renewed > timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


# -- citizen_required ----------------------------------------------------------------------------------------

with_protected_page = pytest.mark.urls("tests.test_citizen_login")


@pytest.mark.django_db
@with_protected_page
def test_citizen_required_sends_anonymous_visitor_to_login_with_next(client):
    response = client.get("/protected/", {"tab": "2"})

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fprotected%2F%3Ftab%3D2"


@pytest.mark.django_db
@with_protected_page
def test_citizen_required_refuses_a_signed_in_professional(client):
    professional = ProfessionalFactory()
    client.force_login(professional.user)

    response = client.get("/protected/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
@with_protected_page
def test_citizen_required_refuses_a_login_without_the_citizen_session_mark(client):
    person = PersonFactory()
    log_in(client, person)
    session = client.session
    del session["citizen"]
    session.save()

    assert client.get("/protected/").status_code == 302


@pytest.mark.django_db
@with_protected_page
def test_citizen_required_lets_the_citizen_in_with_their_own_person(client):
    person = PersonFactory(first_names="Helmi", last_name="Nieminen")
    PersonFactory(first_names="Toinen", last_name="Henkilö")
    log_in(client, person)

    response = client.get("/protected/")

    assert response.status_code == 200
    assert response.content.decode() == "person: Helmi Nieminen"


@pytest.mark.django_db
@with_protected_page
def test_login_page_follows_next_only_for_same_site_paths(client):
    page = client.get("/login/", {"next": "https://evil.example/x"}).content.decode()
    assert 'href="/login/test/"' in page

    page = client.get("/login/", {"next": "/protected/"}).content.decode()
    assert 'href="/login/test/?next=/protected/"' in page
