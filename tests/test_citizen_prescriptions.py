"""MyKanta prescriptions: the list and its filters, one prescription with its dispensings and history, renewal
requests, the consent to use prescriptions abroad, the medication list, the per-prescription denial and the
printed summary with its barcode (DOMAIN.md "ePrescriptions", rules 6 and 8 of "Who may see what")."""

from __future__ import annotations

import datetime
import html
import logging
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from consents.models import PrescriptionDenial
from kanta.models import AuditEvent, AuditOutcome, DataType, Guardianship, LegalBasis
from prescriptions.models import (
    CrossBorderConsent,
    CrossBorderCountry,
    EventKind,
    Prescription,
    PrescriptionEvent,
    PrescriptionStatus,
    PrescriptionSummary,
    RenewalRequest,
    RenewalStatus,
)
from prescriptions.pharmacy_selectors import summary_by_barcode
from tests.citizen_helpers import log_in, person_aged, provider
from tests.factories import PersonFactory, ProfessionalFactory
from tests.factories_archive import InformationNoticeFactory
from tests.factories_prescriptions import (
    DispensingFactory,
    PharmacyFactory,
    PrescriptionFactory,
    ProductFactory,
    RenewalRequestFactory,
)


@pytest.fixture(autouse=True)
def english(client):
    """The assertions read the English texts; the site's default language is Finnish."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def citizen(db):
    return PersonFactory(identity_code="010594Y9032", first_names="Aino", last_name="Virtanen")


@pytest.fixture
def county(db):
    county = provider("Pirkanmaan hyvinvointialue", unit_name="Hervannan terveysasema")
    county.unit.accepts_renewal_requests = True
    county.unit.save()
    return county


@pytest.fixture
def doctor(county):
    return ProfessionalFactory(units=[county.unit], user__first_name="Liisa", user__last_name="Laakso")


@pytest.fixture
def amlodipine(db):
    return ProductFactory(name="Amlodipin Test", strength="5 mg", package_size="100 tabl")


def prescribe(person, county, doctor, product=None, **fields) -> Prescription:
    product = product or ProductFactory(name=fields.pop("name", "Amlodipin Test"))
    return PrescriptionFactory(person=person, unit=county.unit, prescriber=doctor, product=product, **fields)


def dispense(prescription: Prescription, *, packages: int = 1, days_ago: int = 5, **fields) -> Prescription:
    """A dispensing row and the prescription's running totals, as the pharmacy service leaves them."""
    quantity = prescription.product.package_quantity * packages
    when = timezone.now() - datetime.timedelta(days=days_ago)
    DispensingFactory(
        prescription=prescription, packages=packages, quantity=quantity, dispensed_at=when, **fields
    )
    total = prescription.quantity_dispensed + quantity
    Prescription.objects.filter(pk=prescription.pk).update(
        quantity_dispensed=total,
        status=PrescriptionStatus.FULLY_DISPENSED
        if total >= prescription.total_quantity
        else PrescriptionStatus.PARTLY_DISPENSED,
        last_dispensed_at=when,
    )
    prescription.refresh_from_db()
    return prescription


def ward(guardian, *, age: int):
    child = person_aged(age, first_names="Eino", last_name="Korhonen")
    Guardianship.objects.create(guardian=guardian, child=child)
    return child


def act_for(client, person) -> None:
    response = client.post("/acting/", {"person": str(person.public_id)})
    assert response.status_code == 302


def text(response) -> str:
    return html.unescape(response.content.decode())


def row_of(page: str, medicine: str) -> str:
    """The table row that names the medicine."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page, re.S)
    return next(row for row in rows if medicine in row)


def in_days(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


# -- refusals first ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_prescription_pages_require_login(client):
    for url in (
        "/prescriptions/",
        "/prescriptions/renew/",
        "/prescriptions/renewals/",
        "/prescriptions/abroad/",
        "/prescriptions/medication-list/",
        "/prescriptions/summary.pdf",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/")


def test_a_stranger_gets_404_for_another_persons_prescription_and_cannot_deny_it(
    client, citizen, county, doctor
):
    someone_else = PersonFactory()
    InformationNoticeFactory(person=citizen)
    theirs = prescribe(someone_else, county, doctor, name="Not Yours Forte")
    log_in(client, citizen)

    response = client.get(f"/prescriptions/{theirs.public_id}/")
    denial = client.post(f"/prescriptions/{theirs.public_id}/denial/", {"change": "add"})

    assert response.status_code == 404
    assert "Not Yours Forte" not in text(response)
    assert denial.status_code == 404
    assert not PrescriptionDenial.objects.exists()
    assert "Not Yours Forte" not in text(client.get("/prescriptions/"))


def test_a_guardian_of_a_14_year_old_sees_an_explanation_instead_of_the_prescriptions(client, county, doctor):
    guardian = person_aged(42, first_names="Helmi", last_name="Korhonen")
    child = ward(guardian, age=14)
    prescribe(child, county, doctor, name="Teen Medicine")
    log_in(client, guardian)
    act_for(client, child)

    for url in ("/prescriptions/", "/prescriptions/medication-list/", "/prescriptions/renew/"):
        response = client.get(url)
        page = text(response)
        assert response.status_code == 403, url
        assert "only until the child turns 10" in page
        assert "Teen Medicine" not in page

    summary = client.get("/prescriptions/summary.pdf")
    assert summary.status_code == 403
    assert not PrescriptionSummary.objects.exists()
    guardian.refresh_from_db()  # signing in linked the user
    refusal = AuditEvent.objects.filter(person=child, action="prescriptions.list").get()
    assert (refusal.outcome, refusal.data_type, refusal.user) == (
        AuditOutcome.REFUSED,
        DataType.PRESCRIPTION,
        guardian.user,
    )


def test_a_non_renewable_prescription_shows_its_reason_and_cannot_be_sent(client, citizen, county, doctor):
    never_dispensed = prescribe(citizen, county, doctor, name="Undispensed Mite")
    log_in(client, citizen)

    page = text(client.get("/prescriptions/renew/"))
    checkbox = re.search(rf'<input type="checkbox"[^>]*value="{never_dispensed.public_id}"[^>]*>', page)
    assert checkbox is not None and "disabled" in checkbox.group(0)
    assert (
        "Cannot be renewed: Only a prescription that has been dispensed at least once can be renewed." in page
    )

    # A hand-made POST is refused on the server with the same reason.
    response = client.post(
        "/prescriptions/renew/",
        {"prescriptions": [str(never_dispensed.public_id)], "unit": str(county.unit.public_id)},
    )

    assert response.status_code == 400
    assert "Undispensed Mite 5 mg: Only a prescription that has been dispensed at least once" in text(
        response
    )
    assert not RenewalRequest.objects.exists()


def test_an_invalid_phone_number_is_refused_and_the_form_keeps_the_choice(client, citizen, county, doctor):
    prescription = dispense(prescribe(citizen, county, doctor))
    log_in(client, citizen)

    response = client.post(
        "/prescriptions/renew/",
        {
            "prescriptions": [str(prescription.public_id)],
            "unit": str(county.unit.public_id),
            "phone": "12345",
        },
    )

    page = text(response)
    assert response.status_code == 400
    assert "Give a Finnish mobile number" in page
    assert 'value="12345"' in page
    checkbox = re.search(rf'<input type="checkbox"[^>]*value="{prescription.public_id}"[^>]*>', page)
    assert "checked" in checkbox.group(0)
    assert not RenewalRequest.objects.exists()


def test_cross_border_consent_is_refused_when_acting_for_someone(client, county, doctor):
    guardian = person_aged(40, first_names="Helmi", last_name="Korhonen")
    child = ward(guardian, age=8)
    log_in(client, guardian)
    act_for(client, child)

    page = text(client.get("/prescriptions/abroad/"))
    assert "You cannot give or withdraw this consent on behalf of Eino Korhonen." in page
    assert "Consent to using my prescriptions abroad" not in page

    response = client.post("/prescriptions/abroad/", {"change": "give"}, follow=True)

    assert "never on behalf of another" in text(response)
    assert not CrossBorderConsent.objects.exists()


def test_a_guardian_cannot_deny_the_disclosure_of_a_childs_prescription(client, county, doctor):
    guardian = person_aged(40, first_names="Helmi", last_name="Korhonen")
    child = ward(guardian, age=8)
    InformationNoticeFactory(person=child)
    prescription = prescribe(child, county, doctor)
    log_in(client, guardian)
    act_for(client, child)

    detail = text(client.get(f"/prescriptions/{prescription.public_id}/"))
    response = client.post(f"/prescriptions/{prescription.public_id}/denial/", {"change": "add"})

    assert "A guardian cannot deny or allow the disclosure" in detail
    assert "Deny the disclosure</button>" not in detail
    assert response.status_code == 403
    assert not PrescriptionDenial.objects.exists()


def test_a_denial_needs_the_information_notice(client, citizen, county, doctor):
    prescription = prescribe(citizen, county, doctor)
    log_in(client, citizen)

    response = client.post(f"/prescriptions/{prescription.public_id}/denial/", {"change": "add"}, follow=True)

    assert "Read and acknowledge the Kanta information notice" in text(response)
    assert not PrescriptionDenial.objects.exists()


# -- what a guardian sees ----------------------------------------------------------------------------------


def test_a_guardian_of_a_9_year_old_sees_the_childs_prescriptions_and_the_read_is_logged(
    client, county, doctor
):
    guardian = person_aged(40, first_names="Helmi", last_name="Korhonen")
    child = ward(guardian, age=9)
    prescription = prescribe(child, county, doctor, name="Child Syrup")
    log_in(client, guardian)
    act_for(client, child)

    page = text(client.get("/prescriptions/"))
    detail = client.get(f"/prescriptions/{prescription.public_id}/")

    assert "Child Syrup" in page
    assert detail.status_code == 200
    read = AuditEvent.objects.filter(person=child, action="prescriptions.list").get()
    assert (read.outcome, read.legal_basis) == (AuditOutcome.ALLOWED, LegalBasis.GUARDIAN)


def test_a_guardian_sends_a_renewal_request_for_a_child_under_10(client, county, doctor):
    guardian = person_aged(40, first_names="Helmi", last_name="Korhonen")
    child = ward(guardian, age=9)
    prescription = dispense(prescribe(child, county, doctor))
    log_in(client, guardian)
    act_for(client, child)

    response = client.post(
        "/prescriptions/renew/",
        {"prescriptions": [str(prescription.public_id)], "unit": str(county.unit.public_id)},
    )

    assert response.status_code == 302
    request = RenewalRequest.objects.get()
    assert (request.person, request.prescription, request.status) == (child, prescription, RenewalStatus.SENT)
    guardian.refresh_from_db()
    event = AuditEvent.objects.get(action="renewal_request.send")
    assert (event.person, event.legal_basis, event.user) == (child, LegalBasis.GUARDIAN, guardian.user)


# -- the list ----------------------------------------------------------------------------------------------


def test_valid_prescriptions_come_first_and_ended_ones_have_their_own_section(
    client, citizen, county, doctor
):
    prescribe(
        citizen,
        county,
        doctor,
        name="Old Expired",
        status=PrescriptionStatus.EXPIRED,
        prescribed_at=timezone.now() - datetime.timedelta(days=900),
        valid_until=in_days(-170),
    )
    prescribe(
        citizen,
        county,
        doctor,
        name="Current Valid",
        prescribed_at=timezone.now() - datetime.timedelta(days=400),
    )
    prescribe(citizen, county, doctor, name="Stopped Early", status=PrescriptionStatus.INVALIDATED)
    log_in(client, citizen)

    page = text(client.get("/prescriptions/"))

    valid, ended = page.split("Expired and invalidated prescriptions</h2>")
    assert "Current Valid" in valid and "Old Expired" not in valid and "Stopped Early" not in valid
    assert "Old Expired" in ended and "Stopped Early" in ended


def test_a_prescription_expiring_within_two_months_is_marked_with_text(client, citizen, county, doctor):
    prescribe(citizen, county, doctor, name="Soon Ending", valid_until=in_days(40))
    prescribe(citizen, county, doctor, name="Long Valid", valid_until=in_days(300))
    log_in(client, citizen)

    page = text(client.get("/prescriptions/"))

    assert "Expires within 2 months" in row_of(page, "Soon Ending")
    assert "Expires within 2 months" not in row_of(page, "Long Valid")


def test_the_list_shows_amount_left_in_packages_and_units_last_dispensing_and_renewal_status(
    client, citizen, county, doctor, amlodipine
):
    prescription = dispense(prescribe(citizen, county, doctor, product=amlodipine), days_ago=3)
    RenewalRequestFactory(prescription=prescription)
    log_in(client, citizen)

    row = row_of(text(client.get("/prescriptions/")), "Amlodipin Test")

    assert "1 package of 100 tabl" in row
    assert "100 units" in row
    # the page shows the date in Finland, which after 22:00 UTC is already the next day
    assert f"{timezone.localtime(prescription.last_dispensed_at):%-d.%-m.%Y}" in row
    assert "<td>sent</td>" in row


def test_filters_choose_what_the_list_shows(client, citizen, county, doctor):
    prescribe(citizen, county, doctor, name="Expiring One", valid_until=in_days(20))
    dispense(
        prescribe(citizen, county, doctor, name="All Used", amount_packages=1, total_quantity=Decimal(100))
    )
    requested = dispense(prescribe(citizen, county, doctor, name="Asked Renewal"))
    RenewalRequestFactory(prescription=requested)
    prescribe(
        citizen,
        county,
        doctor,
        name="Written Long Ago",
        prescribed_at=timezone.now() - datetime.timedelta(days=300),
    )
    log_in(client, citizen)

    def shown(**query) -> set[str]:
        page = text(client.get("/prescriptions/", query))
        names = {"Expiring One", "All Used", "Asked Renewal", "Written Long Ago"}
        return {name for name in names if name in page}

    assert shown() == {"Expiring One", "All Used", "Asked Renewal", "Written Long Ago"}
    assert shown(show="expiring") == {"Expiring One"}
    assert shown(show="medicine_left") == {"Expiring One", "Asked Renewal", "Written Long Ago"}
    assert shown(show="renewal") == {"Asked Renewal"}
    old = (timezone.localdate() - datetime.timedelta(days=300)).isoformat()
    assert shown(since=old, until=old) == {"Written Long Ago"}


def test_an_invalid_filter_date_gives_a_clear_error_and_keeps_what_was_typed(client, citizen, county, doctor):
    prescribe(citizen, county, doctor, name="Some Medicine")
    log_in(client, citizen)

    response = client.get("/prescriptions/", {"since": "31.13.2024"})

    page = text(response)
    assert response.status_code == 400
    assert "Enter a date, for example 31.5.2024." in page
    assert 'value="31.13.2024"' in page
    assert "Some Medicine" not in page


def test_the_list_runs_a_bounded_number_of_queries(
    client, citizen, county, doctor, django_assert_max_num_queries
):
    product = ProductFactory()
    for n in range(60):
        prescription = prescribe(
            citizen, county, doctor, product=product, amount_packages=5, total_quantity=500
        )
        for _ in range(3):
            prescription = dispense(prescription, days_ago=n + 1)
        if n % 2:
            RenewalRequestFactory(prescription=prescription, status=RenewalStatus.RETURNED)
    log_in(client, citizen)

    with django_assert_max_num_queries(10):
        response = client.get("/prescriptions/")

    assert len(re.findall(r'href="/prescriptions/[0-9a-f-]{36}/"', response.content.decode())) == 50


@pytest.mark.parametrize(
    "url", ["detail", "/prescriptions/renew/", "/prescriptions/renewals/", "/prescriptions/medication-list/"]
)
def test_the_other_prescription_pages_run_a_bounded_number_of_queries(
    client, citizen, county, doctor, url, django_assert_max_num_queries
):
    for n in range(30):
        product = ProductFactory(active_substance=f"substance {n}")
        prescription = prescribe(
            citizen, county, doctor, product=product, amount_packages=20, total_quantity=2000
        )
        PrescriptionEvent.objects.create(prescription=prescription, kind=EventKind.PRESCRIBED, version=1)
        RenewalRequestFactory(prescription=prescription, status=RenewalStatus.EXPIRED)
    for n in range(20):
        prescription = dispense(prescription, days_ago=n + 1)
        PrescriptionEvent.objects.create(prescription=prescription, kind=EventKind.CORRECTED, version=n + 2)
    log_in(client, citizen)
    url = f"/prescriptions/{prescription.public_id}/" if url == "detail" else url

    with django_assert_max_num_queries(15):
        response = client.get(url)

    assert response.status_code == 200
    assert prescription.medicine_name in response.content.decode()


# -- one prescription --------------------------------------------------------------------------------------


def test_the_detail_shows_dispensings_and_history_without_naming_other_professionals(
    client, citizen, county, doctor, amlodipine
):
    prescription = prescribe(citizen, county, doctor, product=amlodipine)
    pharmacy = PharmacyFactory(name_fi="Hervannan apteekki", name_sv="Hervanta apotek")
    dispense(prescription, pharmacy=pharmacy, days_ago=20)
    dispense(prescription, country=CrossBorderCountry.ESTONIA, days_ago=2)
    colleague = ProfessionalFactory(units=[county.unit], user__first_name="Kalle", user__last_name="Kollega")
    pharmacist = ProfessionalFactory(user__first_name="Paula", user__last_name="Proviisori")
    PrescriptionEvent.objects.create(
        prescription=prescription, kind=EventKind.PRESCRIBED, version=1, professional=doctor
    )
    PrescriptionEvent.objects.create(
        prescription=prescription, kind=EventKind.CORRECTED, version=2, professional=colleague
    )
    PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=EventKind.LOCKED,
        version=2,
        professional=pharmacist,
        organisation=pharmacy,
    )
    log_in(client, citizen)

    page = text(client.get(f"/prescriptions/{prescription.public_id}/"))

    dispensings = page[page.index('id="dispensings-heading"') : page.index('id="renewal-heading"')]
    assert "Hervannan apteekki" in dispensings and "Estonia" in dispensings
    assert "Amlodipin Test" in dispensings and "1 package (100 units)" in dispensings
    history = page[page.index('id="history-heading"') :]
    assert "Prescribed (Liisa Laakso)" in history
    assert "Corrected by the prescriber" in history and "Locked by a pharmacy (Hervannan apteekki)" in history
    assert "Kollega" not in page and "Proviisori" not in page


def test_a_denial_is_recorded_but_hides_nothing_from_the_citizen(client, citizen, county, doctor):
    InformationNoticeFactory(person=citizen)
    prescription = prescribe(citizen, county, doctor, name="Private Medicine")
    log_in(client, citizen)

    response = client.post(
        f"/prescriptions/{prescription.public_id}/denial/", {"change": "add", "emergency_permission": "on"}
    )

    assert response.status_code == 302
    denial = PrescriptionDenial.objects.get()
    assert (denial.prescription, denial.person, denial.emergency_permission, denial.withdrawn_at) == (
        prescription,
        citizen,
        True,
        None,
    )
    assert AuditEvent.objects.filter(action="prescription_denial.add", person=citizen).exists()
    assert "disclosure denied" in row_of(text(client.get("/prescriptions/")), "Private Medicine")
    detail = text(client.get(f"/prescriptions/{prescription.public_id}/"))
    assert "You have denied the disclosure of this prescription." in detail

    client.post(f"/prescriptions/{prescription.public_id}/denial/", {"change": "withdraw"})

    denial.refresh_from_db()
    assert denial.withdrawn_at is not None
    assert "disclosure denied" not in row_of(text(client.get("/prescriptions/")), "Private Medicine")


# -- renewal requests --------------------------------------------------------------------------------------


def test_a_renewal_request_is_sent_and_shows_as_sent(client, citizen, county, doctor):
    prescription = dispense(prescribe(citizen, county, doctor, name="Renew Me"))
    log_in(client, citizen)

    form = text(client.get("/prescriptions/renew/"))
    assert "Hervannan terveysasema" in form
    response = client.post(
        "/prescriptions/renew/",
        {
            "prescriptions": [str(prescription.public_id)],
            "unit": str(county.unit.public_id),
            "phone": "040 123 4567",
        },
    )

    assert response.status_code == 302 and response["Location"] == "/prescriptions/renewals/"
    request = RenewalRequest.objects.get()
    assert (request.prescription, request.unit, request.phone, request.status) == (
        prescription,
        county.unit,
        "+358401234567",
        RenewalStatus.SENT,
    )
    page = text(client.get("/prescriptions/renewals/"))
    assert "Renew Me" in row_of(page, "Renew Me")
    assert "Sent" in row_of(page, "Renew Me") and "Waiting to be handled" in row_of(page, "Renew Me")
    again = text(client.get("/prescriptions/renew/"))
    assert "A renewal request for this prescription is already waiting to be handled." in again


def test_the_status_page_explains_renewed_returned_rejected_and_expired_requests(
    client, citizen, county, doctor
):
    renewed_old = dispense(prescribe(citizen, county, doctor, name="Was Renewed"))
    new = prescribe(citizen, county, doctor, name="Was Renewed", renewed_from=renewed_old)
    RenewalRequestFactory(prescription=renewed_old, status=RenewalStatus.RENEWED, new_prescription=new)
    RenewalRequestFactory(
        prescription=dispense(prescribe(citizen, county, doctor, name="Was Returned")),
        status=RenewalStatus.RETURNED,
        reason="Ask your occupational health unit",
    )
    RenewalRequestFactory(
        prescription=dispense(prescribe(citizen, county, doctor, name="Was Rejected")),
        status=RenewalStatus.REJECTED,
        reason="Needs a check-up first",
    )
    RenewalRequestFactory(
        prescription=dispense(prescribe(citizen, county, doctor, name="Was Expired")),
        status=RenewalStatus.EXPIRED,
    )
    log_in(client, citizen)

    page = text(client.get("/prescriptions/renewals/"))

    assert f'href="/prescriptions/{new.public_id}/">See the new prescription' in row_of(page, "Was Renewed")
    returned = row_of(page, "Was Returned")
    assert "you may send it to another unit" in returned and "Ask your occupational health unit" in returned
    assert "cannot be sent for renewal again" in row_of(page, "Was Rejected")
    assert "not handled within 8 days" in row_of(page, "Was Expired")


# -- abroad, medication list, summary ----------------------------------------------------------------------


def test_cross_border_consent_is_given_and_withdrawn(client, citizen, county, doctor):
    prescribe(citizen, county, doctor, name="Strong Painkiller", narcotic=True)
    log_in(client, citizen)

    page = text(client.get("/prescriptions/abroad/"))
    assert all(
        country in page for country in ("Estonia", "Croatia", "Portugal", "Spain", "Poland", "Czechia")
    )
    assert "Strong Painkiller 5 mg</a>: Narcotic medicines cannot be dispensed abroad." in page

    given = text(client.post("/prescriptions/abroad/", {"change": "give"}, follow=True))
    consent = CrossBorderConsent.objects.get()
    assert consent.person == citizen and consent.withdrawn_at is None
    assert "You consented on" in given

    withdrawn = text(client.post("/prescriptions/abroad/", {"change": "withdraw"}, follow=True))
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    assert "You have not consented" in withdrawn


def test_the_medication_list_shows_current_medicines_only(client, citizen, county, doctor):
    current = ProductFactory(name="Current Pill", active_substance="bisoprolol", strength="5 mg")
    dispense(prescribe(citizen, county, doctor, product=current, dosage="1 tabletti aamuisin"))
    prescribe(
        citizen,
        county,
        doctor,
        product=ProductFactory(name="Ended Pill", active_substance="atenolol"),
        status=PrescriptionStatus.EXPIRED,
        valid_until=in_days(-60),
    )
    log_in(client, citizen)

    page = text(client.get("/prescriptions/medication-list/"))

    row = row_of(page, "Current Pill")
    assert "bisoprolol 5 mg" in row and "1 tabletti aamuisin" in row and "<td>100</td>" in row
    assert "Ended Pill" not in page


def test_the_summary_pdf_holds_exactly_the_listed_prescriptions_and_its_barcode_resolves_back(
    client, citizen, county, doctor, caplog
):
    left = prescribe(citizen, county, doctor, name="Some Left")
    also_left = dispense(prescribe(citizen, county, doctor, name="Half Left"))
    dispense(
        prescribe(citizen, county, doctor, name="None Left", amount_packages=1, total_quantity=Decimal(100))
    )
    log_in(client, citizen)

    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        response = client.get("/prescriptions/summary.pdf", {"show": "medicine_left"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert not [record for record in caplog.records if "Failed to load" in record.getMessage()]
    code = re.search(
        r'filename="prescription-summary-([A-Z0-9]+)\.pdf"', response["Content-Disposition"]
    ).group(1)
    summary = summary_by_barcode(code)
    assert summary is not None and summary.person == citizen
    assert set(summary.prescriptions.all()) == {left, also_left}
    assert AuditEvent.objects.filter(action="prescription.summary.create", person=citizen).exists()


def test_a_summary_with_nothing_to_print_is_not_created(client, citizen, county, doctor):
    prescribe(citizen, county, doctor, name="Long Valid", valid_until=in_days(300))
    log_in(client, citizen)

    response = client.get("/prescriptions/summary.pdf", {"show": "expiring"}, follow=True)

    assert "No prescriptions match the filters, so there is nothing to print." in text(response)
    assert not PrescriptionSummary.objects.exists()
