"""The prescription journeys in real Chromium, each page scanned with axe-core.

A citizen asks for a prescription to be renewed, the health centre's doctor renews it, and the citizen sees the
new prescription; a pharmacist dispenses part of it and the citizen sees the amount left and the dispensing.
Each person works in a browser of their own, as they would.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from kanta import audit
from kanta.models import Person, Professional
from prescriptions import dispensing, services
from prescriptions.models import Prescription, PrescriptionStatus, RenewalRequest
from tests.e2e.test_records_journeys import (
    actor_for,
    citizen_logs_in,
    citizen_opens,
    day_month_year,
    one_time_code,
)
from tests.factories import PASSWORD, PersonFactory, ProfessionalFactory
from tests.factories_prescriptions import (
    CareRelationshipFactory,
    PharmacistFactory,
    PharmacyUnitFactory,
    PrescriptionFactory,
    ProductFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEDICINE = "Amlodipin Orion 5 mg"
HEALTH_CENTRE = "Hervannan terveysasema"
PHARMACY = "Keskustan apteekki"
PHARMACY_UNIT = "Keskustan apteekki, palvelupiste"
DATE_TIME = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4} \d{2}:\d{2}$")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The live server runs in this process, so it checks passwords with the same (fast) hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# -- the people and the medicine -----------------------------------------------------------------------------


@pytest.fixture
def citizen() -> Person:
    return PersonFactory(first_names="Aino", last_name="Virtanen")


@pytest.fixture
def renewing_unit(health_centre):
    """The citizen's health centre, which takes renewal requests in MyKanta."""
    health_centre.accepts_renewal_requests = True
    health_centre.save(update_fields=["accepts_renewal_requests"])
    return health_centre


@pytest.fixture
def doctor(renewing_unit) -> Professional:
    return ProfessionalFactory(units=[renewing_unit], user__first_name="Helena", user__last_name="Lääkäri")


@pytest.fixture
def pharmacist() -> Professional:
    unit = PharmacyUnitFactory(organisation__name_fi=PHARMACY, name_fi=PHARMACY_UNIT)
    return PharmacistFactory(units=[unit])


@pytest.fixture
def product():
    return ProductFactory(
        name="Amlodipin Orion",
        strength="5 mg",
        package_size="30 tabl",
        package_quantity=Decimal(30),
        retail_price=Decimal("8.20"),
    )


@pytest.fixture
def used_up(citizen, renewing_unit, doctor, product, pharmacist) -> Prescription:
    """Written by the health centre's doctor ten months ago, 3 packages, all bought at once: renewable."""
    prescribed_at = timezone.now() - datetime.timedelta(days=300)
    prescription = PrescriptionFactory(
        person=citizen,
        unit=renewing_unit,
        prescriber=doctor,
        product=product,
        dosage="1 tablet in the morning",
        purpose="high blood pressure",
        daily_quantity=Decimal(1),
        amount_packages=3,
        total_quantity=Decimal(90),
        prescribed_at=prescribed_at,
        valid_until=(prescribed_at + datetime.timedelta(days=730)).date(),
    )
    dispensing.dispense(
        actor=actor_for(pharmacist),
        prescription=prescription,
        product=product,
        packages=3,
        now=prescribed_at + datetime.timedelta(days=2),
    )
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.FULLY_DISPENSED
    return prescription


def renewal_sent(prescription: Prescription, *, phone: str = "") -> RenewalRequest:
    """The citizen's own request from MyKanta, sent to the unit that wrote the prescription."""
    person = prescription.person
    [request] = services.renewal_request_send(
        actor=audit.Actor(),
        person=person,
        acting_person=person,
        prescriptions=[prescription],
        unit=prescription.unit,
        phone=phone,
    )
    return request


def renewed(prescription: Prescription, *, by: Professional) -> Prescription:
    return services.renewal_renew(actor=actor_for(by), request=renewal_sent(prescription))


# -- in the browser ------------------------------------------------------------------------------------------


def professional_signs_in(page: Page, professional: Professional, *, unit_name: str, home: str) -> None:
    page.goto("/professional/login/")
    page.get_by_label("Username").fill(professional.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("One-time code").fill(one_time_code(professional))
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose the unit you work in")
    page.get_by_label(unit_name).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=home)).to_be_visible()


def professional_opens(page: Page, section: str) -> None:
    page.get_by_role("navigation", name="Professional pages").get_by_role("link", name=section).click()


def prescriptions_opens(page: Page, section: str) -> None:
    """A page of the citizen's prescription pages, from their own navigation."""
    page.get_by_role("navigation", name="Prescriptions", exact=True).get_by_role(
        "link", name=section, exact=True
    ).click()


def fact(where: Page | Locator, term: str) -> Locator:
    """What a definition list of facts says for one term."""
    return where.locator(f'dl.facts dt:text-is("{term}") + dd')


def body_rows(region: Locator) -> Locator:
    return region.locator("tbody").get_by_role("row")


def row_with_cell(rows: Locator, page: Page, text: str) -> Locator:
    return rows.filter(has=page.get_by_role("cell", name=text, exact=True))


# -- the journeys --------------------------------------------------------------------------------------------


def test_citizen_asks_for_a_renewal_the_doctor_renews_it_and_the_citizen_sees_the_new_prescription(
    page, new_page, citizen, doctor, used_up
):
    prescribed_before = day_month_year(timezone.localdate(used_up.prescribed_at))
    dispensed_before = day_month_year(timezone.localdate(used_up.last_dispensed_at))
    valid_before = day_month_year(used_up.valid_until)
    today = day_month_year(timezone.localdate())

    # The citizen finds the used-up prescription and asks her health centre to renew it.
    citizen_logs_in(page, citizen)
    citizen_opens(page, "Prescriptions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Prescriptions")
    valid = body_rows(page.get_by_role("region", name="Valid prescriptions"))
    expect(valid).to_have_count(1)
    expect(valid.get_by_role("rowheader")).to_have_text(MEDICINE)
    expect(valid.get_by_role("cell")).to_have_text(
        [
            prescribed_before,
            valid_before,
            re.compile(r"^0 packages of 30 tabl\s*0 units$"),
            dispensed_before,
            "–",
            "fully dispensed",
        ]
    )

    prescriptions_opens(page, "Ask for a renewal")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask for a prescription renewal")
    page.get_by_role("group", name="Prescriptions to renew").get_by_label(MEDICINE).check()
    page.get_by_label(f"{HEALTH_CENTRE} (Pirkanmaan hyvinvointialue)").check()
    page.get_by_label("Phone number for the outcome").fill("040 1234567")
    page.get_by_role("button", name="Send the renewal request").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Renewal requests")
    expect(page.get_by_role("status")).to_contain_text(f"Your renewal request was sent to {HEALTH_CENTRE}.")
    requests = body_rows(page.get_by_role("table"))
    expect(requests).to_have_count(1)
    expect(requests.get_by_role("rowheader")).to_have_text(MEDICINE)
    expect(requests.get_by_role("cell")).to_have_text(
        [DATE_TIME, HEALTH_CENTRE, re.compile(r"Sent\s+Waiting to be handled\.")]
    )

    # The doctor, in a browser of her own, finds the request in her unit's queue and renews it.
    doctor_page = new_page()
    professional_signs_in(doctor_page, doctor, unit_name=HEALTH_CENTRE, home="Find a person")
    professional_opens(doctor_page, "Renewal requests")
    expect(doctor_page.get_by_role("heading", level=1)).to_have_text("Renewal requests")
    queue = body_rows(doctor_page.get_by_role("table", name="Renewal requests"))
    expect(queue).to_have_count(1)
    expect(queue).to_contain_text("Aino Virtanen")
    queue.get_by_role("link", name=MEDICINE).click()

    expect(doctor_page.get_by_role("heading", level=1)).to_have_text("Renewal request")
    request = doctor_page.get_by_role("region", name="Request")
    expect(fact(request, "Patient")).to_have_text(f"Aino Virtanen, {citizen.identity_code}")
    expect(fact(request, "Phone number for the outcome")).to_have_text("+358401234567")
    expect(fact(request, "Status")).to_have_text("Sent")
    renew = doctor_page.get_by_role("region", name="Renew")
    expect(renew.get_by_label("Dosage instructions")).to_have_value("1 tablet in the morning")
    renew.get_by_role("button", name="Renew and sign").click()

    done = doctor_page.get_by_role("status")
    expect(done).to_contain_text(f"{MEDICINE} is renewed for Aino Virtanen: a new prescription valid until")
    new = Prescription.objects.get(renewed_from=used_up)
    valid_until = day_month_year(new.valid_until)
    expect(done).to_contain_text(f"valid until {valid_until}.")
    expect(doctor_page.get_by_role("main")).to_contain_text("No renewal requests are waiting.")
    assert (new.prescriber, new.unit, new.total_quantity) == (doctor, used_up.unit, Decimal(90))

    # Back in her own browser, the citizen sees the new prescription beside the renewed one.
    citizen_opens(page, "Prescriptions")
    valid = body_rows(page.get_by_role("region", name="Valid prescriptions"))
    expect(valid).to_have_count(2)
    expect(row_with_cell(valid, page, prescribed_before).get_by_role("cell")).to_have_text(
        [
            prescribed_before,
            valid_before,
            re.compile(r"^0 packages of 30 tabl\s*0 units$"),
            dispensed_before,
            "renewed",
            "fully dispensed",
        ]
    )
    expect(row_with_cell(valid, page, today).get_by_role("cell")).to_have_text(
        [
            today,
            valid_until,
            re.compile(r"^3 packages of 30 tabl\s*90 units$"),
            "not dispensed",
            "–",
            "not dispensed",
        ]
    )

    prescriptions_opens(page, "Renewal requests")
    request_row = body_rows(page.get_by_role("table"))
    expect(request_row.get_by_role("cell").last).to_contain_text("Renewed")
    request_row.get_by_role("link", name="See the new prescription").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(MEDICINE)
    expect(fact(page, "Prescribed")).to_have_text(today)
    expect(fact(page, "Valid until")).to_have_text(valid_until)
    expect(fact(page, "Prescriber")).to_have_text("Helena Lääkäri")
    expect(fact(page, "Status")).to_have_text("not dispensed")
    expect(fact(page, "Renews")).to_have_text(f"the prescription of {prescribed_before}")
    expect(page.get_by_role("region", name="Dispensings")).to_contain_text(
        "Nothing has been dispensed on this prescription yet."
    )


def test_pharmacist_dispenses_part_of_the_renewed_prescription_and_the_citizen_sees_the_amount_left(
    page, new_page, citizen, doctor, pharmacist, used_up
):
    new = renewed(used_up, by=doctor)
    today = day_month_year(timezone.localdate())

    # The pharmacist finds the customer by identity code: only what still has medicine left is listed.
    professional_signs_in(page, pharmacist, unit_name=PHARMACY_UNIT, home="Pharmacy: find prescriptions")
    page.get_by_role("textbox", name="Personal identity code").fill(citizen.identity_code)
    page.get_by_role("button", name="Find prescriptions").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Prescriptions of Aino Virtanen")
    found = body_rows(page.get_by_role("region", name="Prescriptions with medicine left"))
    expect(found).to_have_count(1)
    expect(found.get_by_role("cell").nth(2)).to_have_text(re.compile(r"^90 units\s*3 packages$"))
    found.get_by_role("link", name=MEDICINE).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(MEDICINE)
    expect(fact(page, "Amount left")).to_have_text("90 units (3 packages of 30 tabl)")
    dispense = page.get_by_role("region", name="Dispense")
    expect(dispense.get_by_label("Product")).to_have_value(new.product.vnr)
    dispense.get_by_label("Number of packages").fill("1")
    dispense.get_by_role("button", name="Dispense", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("Dispensed 1 package(s) of Amlodipin Orion.")
    expect(fact(page, "Amount left")).to_have_text("60 units (2 packages of 30 tabl)")
    expect(fact(page, "Status")).to_have_text("Partly dispensed")
    sold = body_rows(page.get_by_role("region", name="Dispensings"))
    expect(sold.get_by_role("cell")).to_have_text(
        [DATE_TIME, PHARMACY, "Amlodipin Orion 30 tabl", "1", "30", "8.20"]
    )

    # The citizen, in a browser of her own, sees what is left and where it was bought.
    citizen_page = new_page()
    citizen_logs_in(citizen_page, citizen)
    citizen_opens(citizen_page, "Prescriptions")
    valid = body_rows(citizen_page.get_by_role("region", name="Valid prescriptions"))
    bought = row_with_cell(valid, citizen_page, "partly dispensed")
    expect(bought.get_by_role("cell")).to_have_text(
        [
            today,
            day_month_year(new.valid_until),
            re.compile(r"^2 packages of 30 tabl\s*60 units$"),
            today,
            "–",
            "partly dispensed",
        ]
    )
    bought.get_by_role("link", name=MEDICINE).click()

    expect(citizen_page.get_by_role("heading", level=1)).to_have_text(MEDICINE)
    expect(fact(citizen_page, "Medicine left")).to_have_text("2 packages of 30 tabl (60 units)")
    expect(fact(citizen_page, "Last dispensed")).to_have_text(today)
    dispensings = body_rows(citizen_page.get_by_role("region", name="Dispensings"))
    expect(dispensings.get_by_role("cell")).to_have_text(
        [today, PHARMACY, "Amlodipin Orion", "1 package (30 units)"]
    )
    new.refresh_from_db()
    assert (new.status, new.quantity_left) == (PrescriptionStatus.PARTLY_DISPENSED, Decimal(60))


# -- accessibility -------------------------------------------------------------------------------------------


def test_citizen_prescription_pages_have_no_serious_accessibility_violations(
    page, accessibility_violations, citizen, renewing_unit, doctor, used_up
):
    # Not yet dispensed, so the renewal form shows it with the reason it cannot be renewed.
    simvastatin = ProductFactory(
        name="Simvastatin Test",
        atc="C10AA01",
        active_substance="simvastatin",
        strength="20 mg",
        substitution_group="C10AA01-20",
    )
    PrescriptionFactory(person=citizen, unit=renewing_unit, prescriber=doctor, product=simvastatin)

    citizen_logs_in(page, citizen)
    citizen_opens(page, "Prescriptions")
    expect(body_rows(page.get_by_role("region", name="Valid prescriptions"))).to_have_count(2)
    assert accessibility_violations(page) == []

    prescriptions_opens(page, "Ask for a renewal")
    expect(page.get_by_text("Cannot be renewed: Only a prescription that has been dispensed")).to_be_visible()
    assert accessibility_violations(page) == []

    # A rejected form: nothing chosen.
    page.get_by_role("button", name="Send the renewal request").click()
    expect(page.get_by_role("alert").first).to_contain_text("Choose at least one prescription to renew.")
    assert accessibility_violations(page) == []

    page.get_by_label(MEDICINE).check()
    page.get_by_label(f"{HEALTH_CENTRE} (Pirkanmaan hyvinvointialue)").check()
    page.get_by_role("button", name="Send the renewal request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Renewal requests")
    expect(body_rows(page.get_by_role("table"))).to_have_count(1)
    assert accessibility_violations(page) == []

    prescriptions_opens(page, "Medication list")
    expect(page.get_by_role("heading", level=1)).to_have_text("Medication list")
    medicines = body_rows(page.get_by_role("table"))
    expect(medicines.get_by_role("rowheader")).to_have_text([MEDICINE, "Simvastatin Test 20 mg"])
    assert accessibility_violations(page) == []


def test_prescriber_pages_have_no_serious_accessibility_violations(
    page, accessibility_violations, citizen, renewing_unit, doctor, used_up
):
    renewal_sent(used_up, phone="040 1234567")
    CareRelationshipFactory(unit=renewing_unit, person=citizen)

    professional_signs_in(page, doctor, unit_name=HEALTH_CENTRE, home="Find a person")
    professional_opens(page, "Renewal requests")
    expect(body_rows(page.get_by_role("table", name="Renewal requests"))).to_have_count(1)
    assert accessibility_violations(page) == []

    page.get_by_role("link", name=MEDICINE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Renewal request")
    assert accessibility_violations(page) == []

    page.goto(reverse("professional:prescribe", args=[citizen.public_id]) + "?q=amlodipin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Write a prescription")
    page.get_by_role("link", name=re.compile(r"^Choose")).first.click()
    expect(page.get_by_role("button", name="Sign the prescription")).to_be_visible()
    assert accessibility_violations(page) == []

    # A rejected form shows its errors accessibly too.
    page.get_by_label("Dosage instructions").fill("")
    page.get_by_role("button", name="Sign the prescription").click()
    expect(page.get_by_label("Dosage instructions")).to_have_attribute("aria-invalid", "true")
    assert accessibility_violations(page) == []


def test_pharmacy_pages_have_no_serious_accessibility_violations(
    page, accessibility_violations, citizen, doctor, pharmacist, used_up
):
    renewed(used_up, by=doctor)

    professional_signs_in(page, pharmacist, unit_name=PHARMACY_UNIT, home="Pharmacy: find prescriptions")
    assert accessibility_violations(page) == []

    page.get_by_role("textbox", name="Personal identity code").fill(citizen.identity_code)
    page.get_by_role("button", name="Find prescriptions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prescriptions of Aino Virtanen")
    assert accessibility_violations(page) == []

    page.get_by_role("link", name=MEDICINE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(MEDICINE)
    assert accessibility_violations(page) == []
