"""The MyKanta front page and the citizen's preferred language."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.utils import timezone

from kanta.models import AuditCategory, AuditEvent, Guardianship, Language
from tests.factories import PersonFactory, temporary_identity_code


def log_in(client, person) -> None:
    response = client.post("/login/test/", {"identity_code": person.identity_code})
    assert response.status_code == 302


def years_ago(years: int, days: int = 0) -> datetime.date:
    today = timezone.localdate()
    try:
        anniversary = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year - years, day=28)
    return anniversary - datetime.timedelta(days=days)


def child(first_names: str, *, age: int = 8, **fields):
    return PersonFactory(
        identity_code=temporary_identity_code(years_ago(age, days=10)), first_names=first_names, **fields
    )


@pytest.fixture(autouse=True)
def english(client):
    """The assertions read the English texts; the site's default language is Finnish."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def citizen(db):
    return PersonFactory(
        identity_code="010594Y9032", first_names="Aino Maria", last_name="Virtanen", preferred_language="fi"
    )


# -- signed out --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_signed_out_front_page_explains_the_services_and_offers_login(client):
    response = client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Welcome to MyKanta" in page
    assert 'class="button" href="/login/"' in page
    for service in ("Health records", "Prescriptions", "Living will", "Consents", "Who has seen my data"):
        assert service in page
    assert 'action="/logout/"' not in page


# -- signed in ---------------------------------------------------------------------------------------------


def test_front_page_greets_the_citizen_and_shows_their_details(client, citizen):
    log_in(client, citizen)

    page = client.get("/").content.decode()

    assert "Hello, Aino</h1>" in page
    assert "Aino Maria Virtanen" in page
    assert "010594Y9032" in page
    assert "1.5.1994" in page
    assert "Finnish" in page
    assert 'action="/logout/"' in page


def test_front_page_never_shows_another_persons_details(client, citizen):
    stranger = PersonFactory(first_names="Outi", last_name="Ulkopuolinen")
    strangers_child = child("Vieras")
    Guardianship.objects.create(guardian=stranger, child=strangers_child)
    log_in(client, citizen)

    page = client.get("/").content.decode()

    assert stranger.identity_code not in page
    assert "Ulkopuolinen" not in page
    assert "Vieras" not in page
    assert "Children in your care" not in page


def test_guardian_sees_only_current_guardianships_of_living_children_under_18(client, citizen):
    today = timezone.localdate()
    current = child("Nykyinen", age=5)
    ending_later = child("Päättyvä", age=12)
    turning_18_tomorrow = PersonFactory(
        identity_code=temporary_identity_code(years_ago(18) + datetime.timedelta(days=1)),
        first_names="Melkein",
    )
    adult = PersonFactory(identity_code=temporary_identity_code(years_ago(18)), first_names="Aikuinen")
    ended = child("Päättynyt")
    deceased = child("Kuollut", date_of_death=datetime.date(2023, 3, 1))
    Guardianship.objects.create(guardian=citizen, child=current)
    Guardianship.objects.create(
        guardian=citizen, child=ending_later, ends_on=today + datetime.timedelta(days=30)
    )
    Guardianship.objects.create(guardian=citizen, child=turning_18_tomorrow)
    Guardianship.objects.create(guardian=citizen, child=adult)
    Guardianship.objects.create(guardian=citizen, child=ended, ends_on=today - datetime.timedelta(days=1))
    Guardianship.objects.create(guardian=citizen, child=deceased)
    log_in(client, citizen)

    page = client.get("/").content.decode()

    assert "Children in your care" in page
    listed = re.findall(r"<li>([^<,]+),", page)
    assert [name.split()[0] for name in listed] == ["Melkein", "Päättyvä", "Nykyinen"]
    for absent in ("Aikuinen", "Päättynyt", "Kuollut"):
        assert absent not in page


def test_front_page_runs_a_bounded_number_of_queries(client, citizen, django_assert_max_num_queries):
    for n in range(8):
        Guardianship.objects.create(guardian=citizen, child=child(f"Lapsi{n}", age=1 + n))
    log_in(client, citizen)

    with django_assert_max_num_queries(8):
        response = client.get("/")

    page = response.content.decode()
    children_section = page[
        page.index('id="children-heading"') : page.index("</section>", page.index('id="children-heading"'))
    ]
    switcher = page[
        page.index('id="whose-matters-heading"') : page.index(
            "</section>", page.index('id="whose-matters-heading"')
        )
    ]
    assert children_section.count("Lapsi") == 8
    assert switcher.count("Lapsi") == 8


def test_nav_and_header_link_only_to_pages_that_exist(client, citizen):
    log_in(client, citizen)
    page = client.get("/").content.decode()
    header = page[page.index("<header") : page.index("</header>")]

    links = re.findall(r'href="(/[^"]*)"', header)

    assert links
    for link in links:
        assert client.get(link).status_code == 200, link


# -- preferred language ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_changing_the_language_requires_login(client):
    response = client.post("/me/language/", {"language": "sv"})

    assert response.status_code == 302
    assert response["Location"] == "/login/"


def test_an_unknown_language_is_refused_with_a_clear_error(client, citizen):
    log_in(client, citizen)

    response = client.post("/me/language/", {"language": "de"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    citizen.refresh_from_db()
    assert citizen.preferred_language == Language.FINNISH


def test_changing_the_language_saves_it_and_switches_the_pages(client, citizen):
    log_in(client, citizen)

    response = client.post("/me/language/", {"language": "sv"})

    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "sv"
    citizen.refresh_from_db()
    assert citizen.preferred_language == Language.SWEDISH
    assert '<html lang="sv">' in client.get("/").content.decode()
    event = AuditEvent.objects.get(action="person.preferred_language")
    assert (event.person, event.category) == (citizen, AuditCategory.CHANGE)


def test_the_language_switcher_renders_the_page_in_swedish(client, citizen):
    log_in(client, citizen)
    assert '<html lang="en">' in client.get("/").content.decode()

    response = client.post("/i18n/setlang/", {"language": "sv", "next": "/"})

    assert response.status_code == 302
    assert '<html lang="sv">' in client.get("/").content.decode()
