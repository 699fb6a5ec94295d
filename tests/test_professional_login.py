"""Professional sign-in: password plus one-time code, lockout, unit choice, session end and sign-out."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from kanta.models import AuditCategory, AuditEvent, AuditOutcome, LoginFailure
from tests.factories import PASSWORD, PersonFactory, ProfessionalFactory, UnitFactory, UserFactory

LOGIN = reverse("professional:login")
HOME = reverse("professional:home")
UNIT = reverse("professional:choose_unit")
LOGOUT = reverse("professional:logout")
pytestmark = pytest.mark.django_db

WRONG = "Username, password or one-time code is wrong."
LOCKED = "Too many failed sign-in attempts. Try again later."


def one_time_code(user, *, steps_ahead: int = 0) -> str:
    """The code the professional's authenticator shows now (or that many 30-second steps later)."""
    device = TOTPDevice.objects.get(user=user)
    # A device accepts one step either side, and never the same step twice: a second sign-in within
    # the same 30 seconds needs the next step's code.
    return f"{totp(device.bin_key, drift=steps_ahead):06d}"


def post_sign_in(client, professional, *, password=PASSWORD, token=None, username=None, follow=False):
    return client.post(
        LOGIN,
        {
            "username": username if username is not None else professional.user.username,
            "password": password,
            "token": token if token is not None else one_time_code(professional.user),
        },
        follow=follow,
    )


def sign_in(client, professional, unit=None):
    """Sign in through the pages, and choose the unit (the first one of the professional's by default)."""
    response = post_sign_in(client, professional)
    assert response.status_code == 302, response.content.decode()
    unit = unit or professional.units.order_by("name_fi").first()
    response = client.post(UNIT, {"unit": unit.pk})
    assert response.headers["Location"] == HOME
    return client


def is_signed_in(client) -> bool:
    return client.get(HOME).status_code == 200


@pytest.fixture(autouse=True)
def english(client):
    # The assertions read the English source strings, whatever translations exist.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def english_client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def doctor(health_centre):
    return ProfessionalFactory(units=[health_centre], user__first_name="Helena", user__last_name="Lääkäri")


# -- refusals first ----------------------------------------------------------------------------------------


def test_wrong_password_wrong_code_and_unknown_user_get_the_same_message(client, health_centre):
    wrong_password = ProfessionalFactory(units=[health_centre])
    wrong_code = ProfessionalFactory(units=[health_centre])
    right_code = one_time_code(wrong_code.user)
    other_code = f"{(int(right_code) + 1) % 1_000_000:06d}"

    responses = [
        post_sign_in(client, wrong_password, password="not the password"),
        post_sign_in(client, wrong_code, token=other_code),
        post_sign_in(client, wrong_password, username="nobody-by-this-name"),
    ]

    for response in responses:
        assert response.status_code == 200
        assert response.context["form"].non_field_errors() == [WRONG]
        assert WRONG in response.content.decode()
    assert not is_signed_in(client)
    refusals = AuditEvent.objects.filter(
        action="professional.login", category=AuditCategory.AUTHENTICATION, outcome=AuditOutcome.REFUSED
    )
    assert refusals.count() == 3
    assert LoginFailure.objects.count() == 3


def test_a_user_without_a_professional_row_cannot_sign_in_here(client):
    # Even with a right password and a confirmed device: an administrator or a citizen is no professional.
    admin = UserFactory(is_staff=True)
    TOTPDevice.objects.create(user=admin, name="default", confirmed=True)
    citizen = UserFactory()
    TOTPDevice.objects.create(user=citizen, name="default", confirmed=True)
    PersonFactory(user=citizen)

    for user in (admin, citizen):
        response = client.post(
            LOGIN, {"username": user.username, "password": PASSWORD, "token": one_time_code(user)}
        )
        assert response.status_code == 200
        assert WRONG in response.content.decode()
        assert not is_signed_in(client)


def test_refused_sign_in_keeps_the_username_and_clears_the_code(client, doctor):
    response = post_sign_in(client, doctor, password="not the password", token="123456")

    form = response.context["form"]
    assert form["username"].value() == doctor.user.username
    assert not form["token"].value()
    assert "123456" not in response.content.decode()


def test_empty_fields_are_required(client):
    response = client.post(LOGIN, {"username": "", "password": "", "token": ""})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"username", "password", "token"}
    assert not LoginFailure.objects.exists()


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_after_the_failure_limit_even_correct_credentials_are_refused_until_the_window_has_passed(
    client, doctor
):
    for _ in range(3):
        post_sign_in(client, doctor, password="not the password")

    response = post_sign_in(client, doctor)

    assert LOCKED in response.content.decode()
    assert WRONG not in response.content.decode()
    assert not is_signed_in(client)
    # Attempts refused by the lockout are not counted again, so the lockout does not keep extending.
    assert LoginFailure.objects.filter(username=doctor.user.username).count() == 3
    assert AuditEvent.objects.filter(
        action="professional.login", outcome=AuditOutcome.REFUSED, reason_text="lockout"
    ).exists()

    window = datetime.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 1)
    LoginFailure.objects.update(occurred_at=timezone.now() - window)
    response = post_sign_in(client, doctor)

    assert response.headers["Location"] == UNIT


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_FAILURE_WINDOW_SECONDS=60)
def test_lockout_counts_failures_within_the_window_only(client, doctor):
    for _ in range(3):
        post_sign_in(client, doctor, password="not the password")
    LoginFailure.objects.update(occurred_at=timezone.now() - datetime.timedelta(seconds=61))
    post_sign_in(client, doctor, password="not the password")

    response = post_sign_in(client, doctor)

    assert response.headers["Location"] == UNIT


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_a_successful_sign_in_does_not_clear_earlier_failures(client, doctor):
    for _ in range(2):
        post_sign_in(client, doctor, password="not the password")
    assert post_sign_in(client, doctor).status_code == 302
    client.post(LOGOUT)
    post_sign_in(client, doctor, password="not the password")

    response = post_sign_in(client, doctor, token=one_time_code(doctor.user, steps_ahead=1))

    assert LOCKED in response.content.decode()


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_lockout_is_per_username(client, doctor, health_centre):
    other = ProfessionalFactory(units=[health_centre])
    for _ in range(3):
        post_sign_in(client, other, password="not the password")

    response = post_sign_in(client, doctor)

    assert response.headers["Location"] == UNIT


# -- signing in --------------------------------------------------------------------------------------------


def test_professional_signs_in_with_password_and_code_chooses_a_unit_and_sees_home(client, doctor):
    session = client.session
    session["before"] = "sign-in"
    session.save()
    key_before = session.session_key

    response = post_sign_in(client, doctor)

    assert response.status_code == 302
    assert response.headers["Location"] == UNIT
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != key_before
    assert AuditEvent.objects.filter(
        action="professional.login",
        outcome=AuditOutcome.ALLOWED,
        professional=doctor,
        user=doctor.user,
    ).exists()

    # Exactly one unit, and still the page asks: the choice is explicit.
    response = client.get(UNIT)
    assert response.status_code == 200
    assert "Hervannan terveysasema" in response.content.decode()

    response = client.post(UNIT, {"unit": doctor.units.get().pk}, follow=True)

    assert response.redirect_chain == [(HOME, 302)]
    page = response.content.decode()
    assert "Helena Lääkäri" in page
    assert "Physician" in page
    assert "Hervannan terveysasema" in page
    assert response.wsgi_request.user.is_verified()


def test_signed_in_professional_visiting_the_login_page_goes_home(client, doctor):
    sign_in(client, doctor)

    assert client.get(LOGIN).headers["Location"] == HOME


def test_a_unit_that_is_not_ones_own_cannot_be_chosen(client, doctor, other_county_unit):
    post_sign_in(client, doctor)

    response = client.post(UNIT, {"unit": other_county_unit.pk})

    assert response.status_code == 200
    assert "Choose one of your own units." in response.content.decode()
    assert client.get(HOME).headers["Location"] == UNIT


def test_professional_with_several_units_chooses_and_can_change(client, health_centre):
    second = UnitFactory(name_fi="Keskussairaala", name_sv="Centralsjukhuset")
    professional = ProfessionalFactory(units=[health_centre, second])
    sign_in(client, professional, unit=second)

    assert "Keskussairaala" in client.get(HOME).content.decode()
    client.post(UNIT, {"unit": health_centre.pk})
    assert "Hervannan terveysasema" in client.get(HOME).content.decode()


# -- what every page requires ------------------------------------------------------------------------------


def test_pages_require_a_chosen_unit(client, doctor, patient):
    post_sign_in(client, doctor)

    assert client.get(HOME).headers["Location"] == UNIT
    person_page = reverse("professional:person", args=[patient.public_id])
    assert client.get(person_page).headers["Location"] == UNIT


def test_pages_require_a_verified_one_time_code(client, doctor, patient):
    # Signed in with a password only (as the admin site would), flagged as professional, unit chosen:
    # without a verified device in the session it is still not a professional session.
    client.force_login(doctor.user)
    session = client.session
    session["professional"] = True
    session["professional_unit_id"] = doctor.units.get().pk
    session.save()

    assert client.get(HOME).headers["Location"] == LOGIN
    person_page = reverse("professional:person", args=[patient.public_id])
    assert client.get(person_page).headers["Location"] == LOGIN
    assert client.get(UNIT).headers["Location"] == LOGIN


def test_anonymous_visitor_is_sent_to_the_login_page(client, patient):
    assert client.get(HOME).headers["Location"] == LOGIN
    assert client.get(UNIT).headers["Location"] == LOGIN
    assert client.get(reverse("professional:person", args=[patient.public_id])).headers["Location"] == LOGIN


def test_a_unit_the_professional_has_left_must_be_chosen_again(client, doctor, health_centre):
    second = UnitFactory()
    doctor.units.add(second)
    sign_in(client, doctor, unit=health_centre)

    doctor.units.remove(health_centre)
    response = client.get(HOME, follow=True)

    assert response.redirect_chain == [(UNIT, 302)]
    assert "You no longer work in the unit you chose." in response.content.decode()


def test_the_professional_header_and_sign_out_button_show_only_when_signed_in(client, doctor):
    page = client.get(LOGIN).content.decode()
    assert f'action="{LOGOUT}"' not in page

    sign_in(client, doctor)
    page = client.get(HOME).content.decode()
    assert f'action="{LOGOUT}"' in page
    assert "Kanta for professionals" in page


# -- end of the session ------------------------------------------------------------------------------------


def test_an_expired_session_is_sent_back_to_the_login_page(client, doctor):
    sign_in(client, doctor)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value

    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))

    assert client.get(HOME).headers["Location"] == LOGIN


@override_settings(SESSION_COOKIE_AGE=1)
def test_an_idle_session_ends_after_the_configured_age(client, doctor):
    sign_in(client, doctor)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    # Instead of sleeping: the row's expiry is what the session store checks.
    expiry = Session.objects.get(session_key=key).expire_date
    assert expiry <= timezone.now() + datetime.timedelta(seconds=1)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now())

    assert client.get(HOME).headers["Location"] == LOGIN


def test_sign_out_ends_the_session_and_the_old_cookie_gives_nothing(client, doctor):
    sign_in(client, doctor)
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value

    response = client.post(LOGOUT, follow=True)

    assert response.redirect_chain == [(LOGIN, 302)]
    assert "You have signed out." in response.content.decode()
    assert not Session.objects.filter(session_key=old_key).exists()
    assert AuditEvent.objects.filter(action="professional.logout", professional=doctor).exists()

    replay = english_client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key
    assert replay.get(HOME).headers["Location"] == LOGIN


def test_sign_out_is_post_only(client, doctor):
    sign_in(client, doctor)

    assert client.get(LOGOUT).status_code == 405
    assert is_signed_in(client)
