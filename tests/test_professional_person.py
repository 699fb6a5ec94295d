"""Finding a person by identity code, confirming the care relationship, and the person's header page."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kanta import services
from kanta.errors import RuleViolation
from kanta.models import AuditEvent, AuditOutcome, CareReason, CareRelationship, LegalBasis
from tests.factories import PersonFactory, ProfessionalFactory, UnitFactory
from tests.test_professional_login import english_client, sign_in

pytestmark = pytest.mark.django_db

HOME = reverse("professional:home")
CONFIRM = reverse("professional:confirm")


def person_page(person) -> str:
    return reverse("professional:person", args=[person.public_id])


def signed_in(professional):
    return sign_in(english_client(), professional)


def care_relationship(person, unit, *, starts_days_ago=1, ends_in_days=29) -> CareRelationship:
    now = timezone.now()
    return CareRelationship.objects.create(
        person=person,
        unit=unit,
        reason=CareReason.APPOINTMENT,
        starts_at=now - datetime.timedelta(days=starts_days_ago),
        ends_at=now + datetime.timedelta(days=ends_in_days),
    )


def assert_code_in_no_url(response, code: str) -> None:
    urls = [response.request["PATH_INFO"], response.request.get("QUERY_STRING", "")]
    urls += [url for url, _status in getattr(response, "redirect_chain", [])]
    if "Location" in response.headers:
        urls.append(response.headers["Location"])
    for url in urls:
        assert code not in url
        assert code.replace("-", "") not in url


# -- refusals first ----------------------------------------------------------------------------------------


def test_unrelated_professional_gets_404_and_refusal_is_logged(patient, treating_doctor, other_county_doctor):
    # The other county's unit has no care relationship with the patient: as good as no such person.
    client = signed_in(other_county_doctor)

    response = client.get(person_page(patient))

    assert response.status_code == 404
    assert patient.last_name not in response.content.decode()
    refusal = AuditEvent.objects.get(action="person.view")
    assert refusal.outcome == AuditOutcome.REFUSED
    assert refusal.person == patient
    assert refusal.professional == other_county_doctor
    assert refusal.unit == other_county_doctor.units.get()

    # Then the treating doctor finds the patient, confirms the care relationship and sees her.
    treating = signed_in(treating_doctor)
    treating.post(HOME, {"identity_code": patient.identity_code})
    response = treating.post(
        CONFIRM, {"person": patient.public_id, "reason": CareReason.APPOINTMENT}, follow=True
    )

    assert response.redirect_chain == [(person_page(patient), 302)]
    assert "Aino Maria Virtanen" in response.content.decode()
    allowed = AuditEvent.objects.get(action="person.view", outcome=AuditOutcome.ALLOWED)
    assert allowed.person == patient
    assert allowed.professional == treating_doctor
    assert allowed.legal_basis == LegalBasis.CARE_RELATIONSHIP

    # The relationship belongs to the treating doctor's unit, not to the other county.
    assert client.get(person_page(patient)).status_code == 404


def test_colleague_in_the_unit_without_any_care_relationship_gets_404_and_refusal_is_logged(
    patient, unrelated_doctor
):
    response = signed_in(unrelated_doctor).get(person_page(patient))

    assert response.status_code == 404
    assert AuditEvent.objects.filter(
        action="person.view", outcome=AuditOutcome.REFUSED, person=patient, professional=unrelated_doctor
    ).exists()


def test_ended_care_relationship_gets_404_and_refusal_is_logged(patient, treating_doctor, health_centre):
    care_relationship(patient, health_centre, starts_days_ago=40, ends_in_days=-10)

    response = signed_in(treating_doctor).get(person_page(patient))

    assert response.status_code == 404
    refusal = AuditEvent.objects.get(action="person.view")
    assert refusal.outcome == AuditOutcome.REFUSED
    assert refusal.person == patient
    assert refusal.professional == treating_doctor


def test_unknown_public_id_gets_the_same_404(treating_doctor):
    missing = PersonFactory.build()

    response = signed_in(treating_doctor).get(person_page(missing))

    assert response.status_code == 404
    refusal = AuditEvent.objects.get(action="person.view")
    assert refusal.outcome == AuditOutcome.REFUSED
    assert refusal.person is None


def test_confirming_a_person_not_found_by_this_session_is_refused(patient, treating_doctor):
    # A public id picked up elsewhere is no substitute for the (logged) identity-code search.
    client = signed_in(treating_doctor)

    response = client.post(
        CONFIRM, {"person": patient.public_id, "reason": CareReason.APPOINTMENT}, follow=True
    )

    assert response.redirect_chain == [(HOME, 302)]
    assert "Search for the person again" in response.content.decode()
    assert not CareRelationship.objects.exists()


def test_found_person_must_be_searched_again_after_changing_unit(patient, health_centre):
    second = UnitFactory()
    professional = ProfessionalFactory(units=[health_centre, second])
    client = sign_in(english_client(), professional, unit=health_centre)
    client.post(HOME, {"identity_code": patient.identity_code})
    client.post(reverse("professional:choose_unit"), {"unit": second.pk})

    client.post(CONFIRM, {"person": patient.public_id, "reason": CareReason.APPOINTMENT})

    assert not CareRelationship.objects.exists()


# -- finding a person --------------------------------------------------------------------------------------


def test_confirmation_step_does_not_show_the_name_before_confirming(patient, treating_doctor):
    client = signed_in(treating_doctor)

    response = client.post(HOME, {"identity_code": patient.identity_code})

    assert response.status_code == 200
    page = response.content.decode()
    assert "A person with the identity code" in page
    assert "Virtanen" not in page
    assert "Aino" not in page
    assert f'name="person" value="{patient.public_id}"' in page
    assert not CareRelationship.objects.exists()
    search = AuditEvent.objects.get(action="person.search")
    assert (search.outcome, search.person, search.data_type) == (AuditOutcome.ALLOWED, patient, "identity")


def test_confirming_creates_the_care_relationship_and_opens_the_person_page(
    patient, treating_doctor, health_centre
):
    client = signed_in(treating_doctor)
    client.post(HOME, {"identity_code": patient.identity_code})

    response = client.post(CONFIRM, {"person": patient.public_id, "reason": CareReason.REFERRAL})

    assert response.headers["Location"] == person_page(patient)
    relationship = CareRelationship.objects.get()
    assert (relationship.unit, relationship.person, relationship.confirmed_by) == (
        health_centre,
        patient,
        treating_doctor,
    )
    assert relationship.reason == CareReason.REFERRAL
    assert AuditEvent.objects.filter(action="care_relationship.confirm", person=patient).exists()


def test_confirming_without_a_reason_shows_an_error_and_creates_nothing(patient, treating_doctor):
    client = signed_in(treating_doctor)
    client.post(HOME, {"identity_code": patient.identity_code})

    response = client.post(CONFIRM, {"person": patient.public_id, "reason": ""})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose the reason for the care relationship." in page
    assert "Virtanen" not in page
    assert not CareRelationship.objects.exists()


def test_a_rule_violation_on_confirming_becomes_a_form_error(patient, treating_doctor, monkeypatch):
    def refuse(**kwargs):
        raise RuleViolation("You do not work in this unit.")

    monkeypatch.setattr(services, "care_relationship_confirm", refuse)
    client = signed_in(treating_doctor)
    client.post(HOME, {"identity_code": patient.identity_code})

    response = client.post(CONFIRM, {"person": patient.public_id, "reason": CareReason.APPOINTMENT})

    assert response.status_code == 200
    assert "You do not work in this unit." in response.content.decode()


def test_search_with_an_active_care_relationship_goes_straight_to_the_person_page(
    patient, treating_doctor, health_centre
):
    care_relationship(patient, health_centre)
    client = signed_in(treating_doctor)

    response = client.post(HOME, {"identity_code": patient.identity_code}, follow=True)

    assert response.redirect_chain == [(person_page(patient), 302)]
    assert "Aino Maria Virtanen" in response.content.decode()
    assert_code_in_no_url(response, patient.identity_code)


def test_the_identity_code_never_appears_in_a_url(patient, treating_doctor):
    client = signed_in(treating_doctor)

    found = client.post(HOME, {"identity_code": patient.identity_code}, follow=True)
    assert_code_in_no_url(found, patient.identity_code)
    confirmed = client.post(
        CONFIRM, {"person": patient.public_id, "reason": CareReason.APPOINTMENT}, follow=True
    )
    assert_code_in_no_url(confirmed, patient.identity_code)
    assert confirmed.redirect_chain == [(person_page(patient), 302)]
    missing = client.post(HOME, {"identity_code": "131052-308T"}, follow=True)
    assert_code_in_no_url(missing, "131052-308T")
    # The search form itself posts to the plain home address.
    assert f'method="post" action="{HOME}"' in client.get(HOME).content.decode()


def test_search_is_post_only_and_a_code_in_the_query_string_is_ignored(patient, treating_doctor):
    client = signed_in(treating_doctor)

    response = client.get(HOME, {"identity_code": patient.identity_code})

    assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="person.search").exists()


def test_malformed_code_shows_the_precise_error_and_keeps_what_was_typed(treating_doctor):
    client = signed_in(treating_doctor)

    response = client.post(HOME, {"identity_code": "131052-308U"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "The check character is wrong: it should be “T”." in page
    assert 'value="131052-308U"' in page
    assert not AuditEvent.objects.filter(action="person.search").exists()


def test_a_code_of_the_wrong_length_says_so(treating_doctor):
    response = signed_in(treating_doctor).post(HOME, {"identity_code": "131052-308"})

    assert "An identity code has 11 characters" in response.content.decode()
    assert 'value="131052-308"' in response.content.decode()


def test_unknown_code_says_not_found_and_the_search_is_logged_as_refused(treating_doctor):
    response = signed_in(treating_doctor).post(HOME, {"identity_code": "131052-308T"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "No person with this identity code was found." in page
    assert 'value="131052-308T"' in page
    search = AuditEvent.objects.get(action="person.search")
    assert search.outcome == AuditOutcome.REFUSED
    assert search.person is None
    assert search.professional == treating_doctor
    assert "131052" not in str(search.object_ids)


# -- the person page ---------------------------------------------------------------------------------------


def test_person_page_shows_the_header_and_the_care_relationship(patient, treating_doctor, health_centre):
    relationship = care_relationship(patient, health_centre)

    response = signed_in(treating_doctor).get(person_page(patient))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Aino Maria Virtanen" in page
    assert patient.identity_code in page
    assert f"{patient.age} years" in page
    assert "Finnish" in page
    assert "Hervannan terveysasema" in page
    assert response.context["relationship"] == relationship
    assert "Appointment or visit" in page
    assert "Non-disclosure for personal safety" not in page
    assert "Deceased" not in page


def test_person_page_writes_the_person_view_and_its_reads_in_one_insert(
    patient, treating_doctor, health_centre
):
    care_relationship(patient, health_centre)
    client = signed_in(treating_doctor)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(person_page(patient))

    assert response.status_code == 200
    inserts = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith('INSERT INTO "kanta_auditevent"')
    ]
    assert len(inserts) == 1
    first = AuditEvent.objects.filter(person=patient).order_by("id").first()
    assert (first.action, first.outcome, first.legal_basis) == (
        "person.view",
        AuditOutcome.ALLOWED,
        LegalBasis.CARE_RELATIONSHIP,
    )


def test_person_page_warns_of_non_disclosure_and_death(treating_doctor, health_centre):
    person = PersonFactory(
        identity_code="131052-308T", non_disclosure=True, date_of_death=datetime.date(2024, 3, 5)
    )
    care_relationship(person, health_centre)

    response = signed_in(treating_doctor).get(person_page(person))

    page = response.content.decode()
    assert "Non-disclosure for personal safety" in page
    assert "contact details are not disclosed" in page
    assert "Deceased on" in page
    assert "Age at death" in page
    assert "71 years" in page  # born 13 October 1952


def test_person_page_runs_a_bounded_number_of_queries(
    patient, treating_doctor, health_centre, django_assert_max_num_queries
):
    # Plenty of neighbouring rows: other units of the professional, other people, old relationships.
    for _ in range(5):
        treating_doctor.units.add(UnitFactory())
    for _ in range(20):
        care_relationship(PersonFactory(), health_centre)
    for _ in range(5):
        care_relationship(patient, health_centre, starts_days_ago=90, ends_in_days=-60)
        care_relationship(patient, UnitFactory())
    care_relationship(patient, health_centre)
    client = signed_in(treating_doctor)

    # Session, user, OTP device, the professional with the unit; person, care relationship; the disclosure
    # gate's facts (the care relationship reused) and its reads of an empty record
    # (tests/test_professional_records.py budgets a full one); one audit insert for the person.view event and
    # the reads (in a savepoint under the test transaction); the session save.
    with django_assert_max_num_queries(22):
        response = client.get(person_page(patient))

    assert response.status_code == 200
