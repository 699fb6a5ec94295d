"""The prescriber's pages: a person's prescriptions and medication list through the disclosure gate,
prescribing with a product search, a prescription's detail with correction, invalidation and the release of a
pharmacy lock, and the unit's renewal queue with renew, reject and return."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consents.models import PrescriptionDenial
from kanta.models import AuditEvent, AuditOutcome, LegalBasis, Profession
from kanta.paging import CappedPaginator
from prescriptions import rules
from prescriptions.models import (
    AmountKind,
    EventKind,
    InvalidationCategory,
    Prescription,
    PrescriptionStatus,
    RenewalStatus,
)
from professional import prescription_views
from tests.factories import OrganisationFactory, PersonFactory, ProfessionalFactory, UnitFactory
from tests.factories_prescriptions import (
    DispensingFactory,
    PharmacyFactory,
    PrescriptionFactory,
    ProductFactory,
    RenewalRequestFactory,
)
from tests.test_professional_person import care_relationship, signed_in

pytestmark = pytest.mark.django_db

RENEWALS = reverse("professional:renewals")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # every test signs in one or two professionals; the production hasher would spend most of the time
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def unit(health_centre):
    health_centre.accepts_renewal_requests = True
    health_centre.save(update_fields=["accepts_renewal_requests"])
    return health_centre


@pytest.fixture
def cared_for(patient, unit):
    """The patient, with an active care relationship of the treating doctor's unit."""
    care_relationship(patient, unit)
    return patient


@pytest.fixture
def product(db):
    return ProductFactory(
        vnr="123456", name="Amlodipin Test", atc="C08CA01", strength="5 mg", package_quantity=Decimal("100")
    )


def list_page(person) -> str:
    return reverse("professional:person_prescriptions", args=[person.public_id])


def prescribe_page(person) -> str:
    return reverse("professional:prescribe", args=[person.public_id])


def detail_page(prescription) -> str:
    return reverse("professional:prescription", args=[prescription.person.public_id, prescription.public_id])


def action_page(name: str, prescription) -> str:
    return reverse(f"professional:{name}", args=[prescription.person.public_id, prescription.public_id])


def renewal_page(renewal, action: str = "") -> str:
    return reverse(f"professional:renewal{'_' + action if action else ''}", args=[renewal.public_id])


def page_of(response) -> str:
    return response.content.decode()


def written_by(unit, person, **extra) -> Prescription:
    return PrescriptionFactory(person=person, unit=unit, **extra)


def dispensed(prescription: Prescription, quantity: str = "100") -> Prescription:
    DispensingFactory(prescription=prescription, quantity=Decimal(quantity))
    prescription.quantity_dispensed = Decimal(quantity)
    prescription.status = PrescriptionStatus.PARTLY_DISPENSED
    prescription.last_dispensed_at = timezone.now()
    prescription.save(update_fields=["quantity_dispensed", "status", "last_dispensed_at"])
    return prescription


def prescription_form(**changes) -> dict:
    data = {
        "dosage": "1 tabletti aamulla",
        "daily_quantity": "1",
        "amount_kind": AmountKind.PACKAGES,
        "amount_packages": "2",
        "purpose": "verenpainetauti",
        "message_to_pharmacy": "",
        "substitution_allowed": "on",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


# -- refusals first ----------------------------------------------------------------------------------------


def test_unrelated_professional_gets_404_on_the_prescriptions_pages_and_the_refusal_is_logged(
    cared_for, unit, treating_doctor, other_county_doctor
):
    prescription = written_by(unit, cared_for, medicine_name="Amlodipin Test 5 mg")
    outsider = signed_in(other_county_doctor)

    for url in (list_page(cared_for), detail_page(prescription), prescribe_page(cared_for)):
        response = outsider.get(url)
        assert response.status_code == 404
        assert "Amlodipin" not in page_of(response)

    refusals = AuditEvent.objects.filter(professional=other_county_doctor, outcome=AuditOutcome.REFUSED)
    assert refusals.filter(action="person.view", person=cared_for).count() == 3
    assert not AuditEvent.objects.filter(
        professional=other_county_doctor, person=cared_for, outcome=AuditOutcome.ALLOWED
    ).exists()

    # The treating doctor's unit has the care relationship: the list shows the prescription.
    response = signed_in(treating_doctor).get(list_page(cared_for))
    assert response.status_code == 200
    assert "Amlodipin Test 5 mg" in page_of(response)
    read = AuditEvent.objects.get(action="prescriptions.list", professional=treating_doctor)
    assert (read.outcome, read.object_ids) == (AuditOutcome.ALLOWED, [str(prescription.public_id)])


def test_a_prescription_of_another_person_answers_404_and_is_logged_as_refused(
    cared_for, unit, treating_doctor
):
    # A real prescription id of someone else is no way in: the gate looks only among this person's.
    stranger = written_by(unit, PersonFactory(), medicine_name="Toisen lääke")
    url = reverse("professional:prescription", args=[cared_for.public_id, stranger.public_id])

    response = signed_in(treating_doctor).get(url)

    assert response.status_code == 404
    refusal = AuditEvent.objects.get(action="prescription.view")
    assert (refusal.outcome, refusal.person) == (AuditOutcome.REFUSED, cared_for)


def test_a_denied_prescription_of_another_county_is_counted_but_never_shown(cared_for, unit, treating_doctor):
    elsewhere = UnitFactory(organisation=OrganisationFactory())
    denied = written_by(elsewhere, cared_for, medicine_name="Salainen lääke 10 mg")
    PrescriptionDenial.objects.create(person=cared_for, prescription=denied)
    written_by(unit, cared_for, medicine_name="Amlodipin Test 5 mg")
    client = signed_in(treating_doctor)

    page = page_of(client.get(list_page(cared_for)))

    assert "Amlodipin Test 5 mg" in page
    assert "Salainen" not in page
    assert "1 prescription of the person is hidden from you" in page
    assert client.get(detail_page(denied)).status_code == 404


def test_a_nurse_outside_the_nurse_list_gets_the_form_error_and_nothing_is_written(cared_for, unit):
    ciprofloxacin = ProductFactory(name="Cipro Test", atc="J01MA02", active_substance="ciprofloxacin")
    nurse = ProfessionalFactory(units=[unit], profession=Profession.NURSE)
    client = signed_in(nurse)

    response = client.post(
        prescribe_page(cared_for),
        {"product": ciprofloxacin.vnr, **prescription_form(dosage="2 tablettia illalla")},
    )

    assert response.status_code == 400
    page = page_of(response)
    assert "The limited prescribing right does not cover J01MA02" in page
    assert "2 tablettia illalla" in page  # what was typed is kept
    assert not Prescription.objects.exists()
    assert not AuditEvent.objects.filter(action="prescription.prescribe").exists()


def test_a_nurse_prescribes_a_medicine_of_the_nurse_list(cared_for, unit):
    pill = ProductFactory(
        atc="G03AA07", name="Ehkäisy Test", strength="0,15 mg", package_quantity=Decimal("63")
    )
    nurse = ProfessionalFactory(units=[unit], profession=Profession.NURSE)

    response = signed_in(nurse).post(
        prescribe_page(cared_for), {"product": pill.vnr, **prescription_form(purpose="ehkäisy")}
    )

    prescription = Prescription.objects.get()
    assert response.headers["Location"] == detail_page(prescription)
    assert (prescription.prescriber, prescription.atc) == (nurse, "G03AA07")


# -- prescribing -------------------------------------------------------------------------------------------


def test_product_search_finds_by_atc_code_and_name_marketed_first(cared_for, treating_doctor):
    ProductFactory(name="Amlodipin Vanha", atc="C08CA01", marketed=False)
    ProductFactory(name="Amlodipin Uusi", atc="C08CA01")
    ProductFactory(name="Bisoprolol Test", atc="C07AB07")
    client = signed_in(treating_doctor)

    by_atc = page_of(client.get(prescribe_page(cared_for), {"q": "c08"}))
    by_name = page_of(client.get(prescribe_page(cared_for), {"q": "bisopro"}))

    assert by_atc.index("Amlodipin Uusi") < by_atc.index("Amlodipin Vanha")
    assert "no longer marketed" in by_atc
    assert "Bisoprolol" not in by_atc
    assert "Bisoprolol Test" in by_name and "Amlodipin" not in by_name


def test_a_physician_prescribes_a_package_and_sees_it_in_the_list(cared_for, unit, treating_doctor, product):
    client = signed_in(treating_doctor)

    form = client.get(prescribe_page(cared_for), {"product": product.vnr})
    assert form.status_code == 200
    assert "Amlodipin Test" in page_of(form)
    response = client.post(
        prescribe_page(cared_for),
        {"product": product.vnr, **prescription_form(message_to_pharmacy="Annosjakelu")},
        follow=True,
    )

    prescription = Prescription.objects.get()
    assert response.redirect_chain == [(detail_page(prescription), 302)]
    assert (prescription.product, prescription.prescriber, prescription.unit) == (
        product,
        treating_doctor,
        unit,
    )
    assert (prescription.total_quantity, prescription.message_to_pharmacy) == (Decimal("200"), "Annosjakelu")
    assert prescription.valid_until == rules.add_months(timezone.localdate(), 24)
    assert "The prescription of Amlodipin Test 5 mg is saved" in page_of(response)

    listing = page_of(client.get(list_page(cared_for)))
    assert "Amlodipin Test 5 mg" in listing
    assert "Not dispensed" in listing
    assert "200 / 200" in listing  # amount left of the amount prescribed
    assert "Medication list" in listing and "1 tabletti aamulla" in listing


def test_prescribing_by_active_substance(cared_for, treating_doctor):
    response = signed_in(treating_doctor).post(
        prescribe_page(cared_for),
        {
            "by": "substance",
            "active_substance": "amlodipine",
            "strength": "5 mg",
            "pharmaceutical_form": "tablet",
            "atc": "c08ca01",
            **prescription_form(amount_kind=AmountKind.TREATMENT_PERIOD, amount_treatment_days="90"),
        },
    )

    prescription = Prescription.objects.get()
    assert response.headers["Location"] == detail_page(prescription)
    assert (prescription.product, prescription.atc, prescription.total_quantity) == (
        None,
        "C08CA01",
        Decimal("90"),
    )


def test_a_validity_longer_than_allowed_is_a_field_error_and_keeps_what_was_typed(
    cared_for, treating_doctor, product
):
    too_late = rules.add_months(timezone.localdate(), 25)

    response = signed_in(treating_doctor).post(
        prescribe_page(cared_for),
        {
            "product": product.vnr,
            **prescription_form(valid_until=too_late.isoformat(), purpose="kohonnut RR"),
        },
    )

    assert response.status_code == 400
    page = page_of(response)
    assert "A prescription is valid at most two years" in page
    assert 'id="id_valid_until_error"' in page
    assert "kohonnut RR" in page
    assert not Prescription.objects.exists()


def test_a_substance_prescription_without_its_atc_code_is_refused(cared_for, treating_doctor):
    response = signed_in(treating_doctor).post(
        prescribe_page(cared_for),
        {
            "by": "substance",
            "active_substance": "amlodipine",
            "strength": "5 mg",
            "pharmaceutical_form": "tablet",
        }
        | prescription_form(amount_kind=AmountKind.QUANTITY, amount_quantity="100"),
    )

    assert response.status_code == 400
    assert "A prescription by active substance needs its ATC code." in page_of(response)
    assert not Prescription.objects.exists()


# -- one prescription: correct, invalidate, release --------------------------------------------------------


def test_correcting_shows_a_new_version_in_the_history(cared_for, unit, treating_doctor):
    prescription = written_by(unit, cared_for, prescriber=treating_doctor)
    client = signed_in(treating_doctor)

    form = client.get(action_page("prescription_correct", prescription))
    assert "1 tabletti aamulla" in page_of(form)  # pre-filled
    response = client.post(
        action_page("prescription_correct", prescription),
        prescription_form(dosage="1 tabletti illalla"),
        follow=True,
    )

    prescription.refresh_from_db()
    assert response.redirect_chain == [(detail_page(prescription), 302)]
    assert (prescription.version, prescription.dosage) == (2, "1 tabletti illalla")
    assert (prescription.person, prescription.prescriber) == (cared_for, treating_doctor)
    page = page_of(response)
    assert "The correction is saved as version 2." in page
    assert "Corrected by the prescriber" in page
    assert prescription.events.filter(kind=EventKind.CORRECTED, version=2).exists()


def test_a_correction_that_changes_nothing_says_so(cared_for, unit, treating_doctor):
    prescription = written_by(unit, cared_for)

    response = signed_in(treating_doctor).post(
        action_page("prescription_correct", prescription), prescription_form()
    )

    assert response.status_code == 400
    assert "Nothing to correct." in page_of(response)
    prescription.refresh_from_db()
    assert prescription.version == 1


def test_invalidation_needs_a_category_and_a_text(cared_for, unit, treating_doctor):
    prescription = written_by(unit, cared_for)
    client = signed_in(treating_doctor)
    url = action_page("prescription_invalidate", prescription)

    empty = client.post(url, {})
    no_agreement = client.post(url, {"category": InvalidationCategory.CARE, "text": "Lääke vaihdettu"})

    assert empty.status_code == 400
    assert "Choose the reason: care-related, technical or caused by the patient." in page_of(empty)
    assert "Explain why the prescription is invalidated." in page_of(empty)
    assert no_agreement.status_code == 400
    assert "needs the patient&#x27;s agreement" in page_of(no_agreement)
    assert "Lääke vaihdettu" in page_of(no_agreement)
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.UNDISPENSED

    response = client.post(
        url,
        {"category": InvalidationCategory.CARE, "patient_agreed": "on", "text": "Lääke vaihdettu"},
        follow=True,
    )

    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.INVALIDATED
    assert (prescription.invalidation_category, prescription.invalidation_text) == ("care", "Lääke vaihdettu")
    assert "This prescription is invalidated." in page_of(response)


def test_the_prescriber_releases_a_pharmacy_lock(cared_for, unit, treating_doctor):
    pharmacy = PharmacyFactory()
    prescription = written_by(unit, cared_for, locked_by=pharmacy, lock_reason="Annos epäselvä")
    client = signed_in(treating_doctor)

    assert "Annos epäselvä" in page_of(client.get(detail_page(prescription)))
    response = client.post(action_page("prescription_release_lock", prescription), follow=True)

    prescription.refresh_from_db()
    assert prescription.locked_by is None
    assert "The pharmacy&#x27;s lock is released." in page_of(response)
    assert prescription.events.filter(kind=EventKind.RELEASED, note="Annos epäselvä").exists()


def test_detail_shows_dispensings_and_renewal_requests(cared_for, unit, treating_doctor):
    prescription = written_by(unit, cared_for)
    DispensingFactory(
        prescription=prescription,
        quantity=Decimal("100"),
        pharmacy=PharmacyFactory(name_fi="Kulman apteekki"),
    )
    RenewalRequestFactory(
        prescription=prescription, unit=unit, status=RenewalStatus.RETURNED, reason="Väärä yksikkö"
    )

    page = page_of(signed_in(treating_doctor).get(detail_page(prescription)))

    assert "Kulman apteekki" in page
    assert "Returned" in page
    assert "Väärä yksikkö" in page


# -- the renewal queue -------------------------------------------------------------------------------------


def test_the_renewal_queue_shows_only_the_units_requests(unit, treating_doctor):
    mine = RenewalRequestFactory(
        prescription=dispensed(written_by(unit, PersonFactory(), medicine_name="Oma lääke"))
    )
    other_unit = UnitFactory(accepts_renewal_requests=True)
    RenewalRequestFactory(
        prescription=dispensed(written_by(other_unit, PersonFactory(), medicine_name="Vieras lääke"))
    )
    client = signed_in(treating_doctor)

    response = client.get(RENEWALS)

    page = page_of(response)
    assert "Oma lääke" in page
    assert "Vieras lääke" not in page
    assert renewal_page(mine) in page
    assert f'href="{RENEWALS}"' in page  # the nav link of a unit that accepts requests
    logged = AuditEvent.objects.get(action="renewal_queue.view")
    assert logged.object_ids == [str(mine.public_id)]


def test_the_queue_is_oldest_first_and_leaves_out_requests_past_their_days(unit, treating_doctor):
    now = timezone.now()
    newer = RenewalRequestFactory(
        prescription=dispensed(written_by(unit, PersonFactory(), medicine_name="Uudempi")),
        sent_at=now - datetime.timedelta(days=1),
    )
    older = RenewalRequestFactory(
        prescription=dispensed(written_by(unit, PersonFactory(), medicine_name="Vanhempi")),
        sent_at=now - datetime.timedelta(days=3),
    )
    RenewalRequestFactory(
        prescription=dispensed(written_by(unit, PersonFactory(), medicine_name="Vanhentunut")),
        sent_at=now - datetime.timedelta(days=rules.RENEWAL_REQUEST_DAYS, hours=1),
    )

    page = page_of(signed_in(treating_doctor).get(RENEWALS))

    assert page.index(renewal_page(older)) < page.index(renewal_page(newer))
    assert "Vanhentunut" not in page


def test_an_empty_queue_says_so(unit, treating_doctor):
    assert "No renewal requests are waiting." in page_of(signed_in(treating_doctor).get(RENEWALS))


def test_a_request_to_another_unit_answers_404_and_is_logged(unit, other_county_doctor):
    renewal = RenewalRequestFactory(
        prescription=dispensed(written_by(unit, PersonFactory(), medicine_name="Oma"))
    )
    client = signed_in(other_county_doctor)

    response = client.get(renewal_page(renewal))
    renewed = client.post(renewal_page(renewal, "renew"), {})

    assert (response.status_code, renewed.status_code) == (404, 404)
    assert "Oma" not in page_of(response)
    refusals = AuditEvent.objects.filter(action="renewal_request.view", outcome=AuditOutcome.REFUSED)
    assert refusals.count() == 2
    assert refusals.first().person == renewal.person
    renewal.refresh_from_db()
    assert renewal.status == RenewalStatus.SENT


def test_renewing_creates_a_linked_prescription_and_the_request_shows_renewed(unit, patient, treating_doctor):
    # No care relationship and a denial of disclosure: the request to the unit is what lets the handler see it.
    old = dispensed(written_by(UnitFactory(), patient, medicine_name="Amlodipin Test 5 mg"))
    PrescriptionDenial.objects.create(person=patient, prescription=old)
    renewal = RenewalRequestFactory(prescription=old, unit=unit)
    handler = ProfessionalFactory(units=[unit])
    client = signed_in(handler)

    page = page_of(client.get(renewal_page(renewal)))
    assert "Amlodipin Test 5 mg" in page
    assert "You see it because the request was sent to your unit." in page
    seen = AuditEvent.objects.get(action="prescription.view", professional=handler)
    assert (seen.outcome, seen.legal_basis) == (AuditOutcome.ALLOWED, LegalBasis.RENEWAL)

    response = client.post(
        renewal_page(renewal, "renew"),
        {f"renew-{name}": value for name, value in prescription_form(dosage="2 tablettia aamulla").items()},
        follow=True,
    )

    assert response.redirect_chain == [(RENEWALS, 302)]
    assert "is renewed for" in page_of(response)
    renewal.refresh_from_db()
    new = Prescription.objects.get(renewed_from=old)
    assert (renewal.status, renewal.new_prescription, renewal.handled_by) == (
        RenewalStatus.RENEWED,
        new,
        handler,
    )
    assert (new.dosage, new.prescriber, new.unit) == ("2 tablettia aamulla", handler, unit)
    assert "No renewal requests are waiting." in page_of(response)
    handled = page_of(client.get(renewal_page(renewal)))
    assert "Renewed" in handled
    assert "Valid until" in handled


def test_renewing_an_amount_that_is_not_a_number_keeps_the_request_open(unit, patient, treating_doctor):
    renewal = RenewalRequestFactory(prescription=dispensed(written_by(unit, patient)), unit=unit)

    response = signed_in(treating_doctor).post(
        renewal_page(renewal, "renew"),
        {f"renew-{name}": value for name, value in prescription_form(amount_packages="many").items()},
    )

    assert response.status_code == 400
    assert 'id="id_renew-amount_packages_error"' in page_of(response)
    renewal.refresh_from_db()
    assert renewal.status == RenewalStatus.SENT


def test_rejecting_needs_a_reason_and_is_final(unit, patient, treating_doctor):
    old = dispensed(written_by(unit, patient))
    renewal = RenewalRequestFactory(prescription=old, unit=unit)
    client = signed_in(treating_doctor)

    without = client.post(renewal_page(renewal, "reject"), {"reject-reason": " "})
    assert without.status_code == 400
    assert "Give the reason for the patient." in page_of(without)
    renewal.refresh_from_db()
    assert renewal.status == RenewalStatus.SENT

    response = client.post(
        renewal_page(renewal, "reject"), {"reject-reason": "Hoito lopetetaan"}, follow=True
    )

    assert response.redirect_chain == [(RENEWALS, 302)]
    renewal.refresh_from_db()
    assert (renewal.status, renewal.reason) == (RenewalStatus.REJECTED, "Hoito lopetetaan")
    assert not Prescription.objects.filter(renewed_from=old).exists()
    # final: handling it again is refused, and the prescription is no longer renewable anywhere
    again = client.post(renewal_page(renewal, "renew"), {}, follow=True)
    assert "This request has already been handled." in page_of(again)
    assert "was rejected" in rules.renewal_refusal_reason(old)


def test_returning_gives_the_reason_and_frees_the_prescription_for_another_unit(
    unit, patient, treating_doctor
):
    old = dispensed(written_by(unit, patient))
    renewal = RenewalRequestFactory(prescription=old, unit=unit)

    response = signed_in(treating_doctor).post(
        renewal_page(renewal, "return"), {"return-reason": "Lähetä omalle terveysasemalle"}, follow=True
    )

    assert "is returned" in page_of(response)
    renewal.refresh_from_db()
    assert (renewal.status, renewal.reason) == (RenewalStatus.RETURNED, "Lähetä omalle terveysasemalle")
    assert rules.renewal_refusal_reason(old) is None


def test_a_medical_student_sees_no_queue_and_cannot_open_a_request(unit):
    renewal = RenewalRequestFactory(
        prescription=dispensed(written_by(unit, PersonFactory(), medicine_name="Oma"))
    )
    client = signed_in(ProfessionalFactory(units=[unit], profession=Profession.MEDICAL_STUDENT))

    queue = page_of(client.get(RENEWALS))

    assert "Oma" not in queue
    assert "handled by professionals who prescribe medicines" in queue
    assert client.get(renewal_page(renewal)).status_code == 404


def test_no_renewal_nav_link_for_a_unit_that_does_not_accept_requests(health_centre, treating_doctor):
    page = page_of(signed_in(treating_doctor).get(reverse("professional:home")))

    assert f'href="{RENEWALS}"' not in page


# -- query budgets -----------------------------------------------------------------------------------------


def fill_prescriptions(person, unit, count: int) -> None:
    for index in range(count):
        prescription = written_by(unit, person, medicine_name=f"Lääke {index}")
        if index % 2:
            dispensed(prescription, "50")
        if index % 3 == 0:
            RenewalRequestFactory(prescription=prescription, unit=unit, status=RenewalStatus.RETURNED)
        if index % 5 == 0:
            PrescriptionDenial.objects.create(person=person, prescription=prescription)


@pytest.mark.parametrize("count", [3, 40])
def test_the_prescriptions_page_runs_a_bounded_number_of_queries(
    count, cared_for, unit, treating_doctor, django_assert_max_num_queries
):
    fill_prescriptions(cared_for, unit, count)
    fill_prescriptions(cared_for, UnitFactory(), 3)
    client = signed_in(treating_doctor)

    # Session, user, OTP device, professional, unit; person, care relationship, audit; the gate's facts, the
    # prescriptions, what they withheld, the medication list, the hidden count and their audit rows; the
    # session save. The same 38 for 3 prescriptions as for 40.
    with django_assert_max_num_queries(38):
        response = client.get(list_page(cared_for))

    assert response.status_code == 200
    assert "Lääke 1" in page_of(response)


@pytest.mark.parametrize("count", [3, 30])
def test_the_renewal_queue_runs_a_bounded_number_of_queries(
    count, unit, treating_doctor, django_assert_max_num_queries
):
    for index in range(count):
        prescriber = ProfessionalFactory(units=[unit])
        prescription = dispensed(
            written_by(unit, PersonFactory(), prescriber=prescriber, medicine_name=f"L{index}")
        )
        RenewalRequestFactory(prescription=prescription)
    client = signed_in(treating_doctor)

    # Session, user, OTP device, professional, unit; the count and the page of requests; the audit row (in a
    # savepoint); the session save. The same 13 for 3 requests as for 30.
    with django_assert_max_num_queries(13):
        response = client.get(RENEWALS)

    assert response.status_code == 200
    assert len(re.findall(r'href="/professional/renewals/[0-9a-f-]{36}/"', page_of(response))) == min(
        count, 25
    )


def test_a_long_queue_is_counted_only_up_to_its_cap_and_says_so(unit, treating_doctor, monkeypatch):
    """A unit with thousands of open requests: the page counts at most `cap` of them (LIMIT in the COUNT)."""
    monkeypatch.setattr(CappedPaginator, "cap", 4)
    monkeypatch.setattr(prescription_views, "QUEUE_PAGE_SIZE", 2)
    now = timezone.now()
    for index in range(6):
        RenewalRequestFactory(
            prescription=dispensed(written_by(unit, PersonFactory(), medicine_name=f"Lääke {index}")),
            sent_at=now - datetime.timedelta(hours=10 - index),
        )
    client = signed_in(treating_doctor)

    first = page_of(client.get(RENEWALS))
    beyond = page_of(client.get(RENEWALS, {"page": 3}))
    with CaptureQueriesContext(connection) as queries:  # the last request: each one resets the query log
        last = page_of(client.get(RENEWALS, {"page": 2}))

    assert "Page 1 of the first 2 (the rest not counted)" in first
    assert "Lääke 0" in first and "Lääke 1" in first and "Lääke 2" not in first
    assert "Lääke 2" in last and "Lääke 3" in last and "Next" not in last
    assert "Lääke 2" in beyond  # past the counted pages: the last counted page
    count = next(q["sql"] for q in queries if "COUNT(*)" in q["sql"])
    assert "LIMIT 5" in count


def test_a_queue_within_its_cap_shows_the_exact_page_count(unit, treating_doctor, monkeypatch):
    monkeypatch.setattr(prescription_views, "QUEUE_PAGE_SIZE", 2)
    for index in range(3):
        RenewalRequestFactory(
            prescription=dispensed(written_by(unit, PersonFactory(), medicine_name=f"Lääke {index}"))
        )

    page = page_of(signed_in(treating_doctor).get(RENEWALS))

    assert "Page 1 of 2" in page and "not counted" not in page


def test_the_detail_page_runs_a_bounded_number_of_queries(
    cared_for, unit, treating_doctor, django_assert_max_num_queries
):
    prescription = written_by(unit, cared_for)
    for _ in range(10):
        DispensingFactory(prescription=prescription, quantity=Decimal("1"), pharmacy=PharmacyFactory())
    for _ in range(5):
        RenewalRequestFactory(prescription=prescription, unit=UnitFactory(), status=RenewalStatus.RETURNED)
    client = signed_in(treating_doctor)

    # Sign-in and person as on the list page; the gate's facts; the prescription with its history, dispensings,
    # renewal requests and renewals (one query each); the gate's decision and its audit row; the session save.
    with django_assert_max_num_queries(31):
        response = client.get(detail_page(prescription))

    assert response.status_code == 200
