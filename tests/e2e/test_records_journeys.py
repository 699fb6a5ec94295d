"""The records, consents and disclosure-gate journeys in real Chromium, each page scanned with axe-core.

Citizen: read a visit, its document and a laboratory result; add a prohibition after its preview; see a
professional's read in "Where my data has been processed" with its basis, never the professional's name.
Professional: sign in with a one-time code, confirm the care relationship, see what the gate allows, miss a
prohibited register, and open it with emergency access and a reason.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from archive.models import DocumentKind, RiskInformation, RiskKind
from consents import policy
from consents import services as consents_services
from consents.models import ConsentSector, Prohibition, ProhibitionScope
from kanta import audit
from kanta import services as kanta_services
from kanta.models import (
    AuditCategory,
    AuditEvent,
    AuditOutcome,
    CareReason,
    CareRelationship,
    LegalBasis,
    Person,
    Professional,
)
from tests.citizen_helpers import provider
from tests.factories import PASSWORD, PersonFactory, ProfessionalFactory
from tests.factories_archive import (
    DisclosureConsentFactory,
    DocumentFactory,
    InformationNoticeFactory,
    LabResultFactory,
    ServiceEventFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Patient unconscious after a traffic accident, history needed for treatment."
DATE_TIME = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4} \d{2}:\d{2}$")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The live server runs in this process, so it checks passwords with the same (fast) hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# -- signing in ----------------------------------------------------------------------------------------------


def citizen_logs_in(page: Page, person: Person) -> None:
    page.goto("/login/test/")
    page.get_by_label("Personal identity code").fill(person.identity_code)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {person.first_names}")


def citizen_opens(page: Page, section: str) -> None:
    page.get_by_role("navigation", name="MyKanta", exact=True).get_by_role("link", name=section).click()


def one_time_code(professional: Professional) -> str:
    """What the professional's authenticator app shows now."""
    device = TOTPDevice.objects.get(user=professional.user)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def professional_signs_in(page: Page, professional: Professional, *, unit_name: str) -> None:
    page.goto("/professional/login/")
    page.get_by_label("Username").fill(professional.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("One-time code").fill(one_time_code(professional))
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose the unit you work in")
    page.get_by_label(unit_name).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Find a person")).to_be_visible()


def professional_finds(page: Page, person: Person) -> None:
    page.get_by_label("Personal identity code").fill(person.identity_code)
    page.get_by_role("button", name="Find", exact=True).click()


def day_month_year(day: datetime.date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def doctor_at(unit, *, first_name: str = "Helena", last_name: str = "Lääkäri") -> Professional:
    return ProfessionalFactory(units=[unit], user__first_name=first_name, user__last_name=last_name)


def actor_for(professional: Professional) -> audit.Actor:
    return audit.Actor(user=professional.user, professional=professional, unit=professional.units.get())


# -- citizen -------------------------------------------------------------------------------------------------


def test_citizen_reads_a_visit_with_its_document_and_a_lab_result_with_its_reference_range(
    page, accessibility_violations
):
    citizen = PersonFactory(first_names="Aino", last_name="Virtanen")
    pirkanmaa = provider("Pirkanmaan hyvinvointialue", unit_name="Hervannan terveysasema")
    visit = ServiceEventFactory(
        person=citizen, register=pirkanmaa.health, unit=pirkanmaa.unit, title="Prolonged cough"
    )
    where = {"person": citizen, "register": pirkanmaa.health, "unit": pirkanmaa.unit, "service_event": visit}
    DocumentFactory(**where, title="Doctor's visit note")
    lab = DocumentFactory(**where, kind=DocumentKind.LABORATORY, title="Blood count")
    result = LabResultFactory(document=lab, value="135", reference_low="117", reference_high="155")

    citizen_logs_in(page, citizen)
    citizen_opens(page, "Health records")

    visits = page.get_by_role("region", name="Visits by service event")
    card = visits.get_by_role("article").filter(has=page.get_by_role("heading", name="Prolonged cough"))
    expect(card).to_contain_text("Hervannan terveysasema, Pirkanmaan hyvinvointialue")
    expect(card.get_by_role("link", name="Doctor's visit note")).to_be_visible()
    expect(card.get_by_role("link", name="Blood count")).to_be_visible()
    assert accessibility_violations(page) == []

    page.get_by_role("navigation", name="Health records", exact=True).get_by_role(
        "link", name="Summary"
    ).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Summary of health records")
    results = page.get_by_role("region", name="Laboratory results")
    row = results.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Hemoglobin"))
    expect(row.get_by_role("cell")).to_have_text(
        ["135", "g/L", "117–155", "within the reference range", day_month_year(result.recorded_on)]
    )
    assert accessibility_violations(page) == []


def test_citizen_acknowledges_the_notice_previews_a_county_prohibition_and_saves_it(
    page, accessibility_violations
):
    citizen = PersonFactory(first_names="Aino", last_name="Virtanen")
    pirkanmaa = provider("Pirkanmaan hyvinvointialue")
    varha = provider("Varsinais-Suomen hyvinvointialue")
    DocumentFactory(person=citizen, register=pirkanmaa.health, unit=pirkanmaa.unit)
    for _ in range(2):
        DocumentFactory(person=citizen, register=varha.health, unit=varha.unit)

    citizen_logs_in(page, citizen)
    citizen_opens(page, "Consents and prohibitions")
    # No prohibition before the information notice is acknowledged.
    expect(page.get_by_role("link", name="Add a prohibition")).to_have_count(0)
    page.get_by_role("link", name="Read the information notice").click()
    page.get_by_role("button", name="I have read the information notice").click()
    expect(page.get_by_role("status")).to_contain_text("You have acknowledged the information notice.")

    page.get_by_role("link", name="Add a prohibition").click()
    page.get_by_label("one wellbeing services county", exact=True).check()
    page.get_by_label("Wellbeing services county", exact=True).select_option(
        label="Varsinais-Suomen hyvinvointialue"
    )
    page.get_by_label("Allow the data to be used in an emergency").check()
    page.get_by_role("button", name="Preview the prohibition").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check the prohibition before saving")
    covers = page.get_by_role("region", name="What the prohibition covers")
    expect(covers).to_contain_text("It would now cover 2 documents.")
    register = page.get_by_role("rowheader", name="Varsinais-Suomen hyvinvointialue, health care register")
    expect(covers.get_by_role("row").filter(has=register).get_by_role("cell")).to_have_text(["2"])
    expect(covers).to_contain_text("You allow the data to be used in an emergency.")
    assert accessibility_violations(page) == []
    assert not Prohibition.objects.filter(person=citizen).exists()

    page.get_by_role("button", name="Save prohibition").click()

    expect(page.get_by_role("status")).to_contain_text("The prohibition is saved and applies from now on.")
    active = page.get_by_role("region", name="Prohibitions of disclosure").get_by_role("listitem")
    expect(active).to_have_count(1)
    expect(active).to_contain_text("One wellbeing services county: Varsinais-Suomen hyvinvointialue")
    expect(active).to_contain_text("allowed in an emergency")
    assert accessibility_violations(page) == []
    prohibition = Prohibition.objects.get(person=citizen)
    assert (prohibition.scope, prohibition.organisation, prohibition.emergency_permission) == (
        ProhibitionScope.COUNTY,
        varha.organisation,
        True,
    )


def test_citizen_sees_another_countys_read_with_organisation_unit_and_basis_but_not_the_name(
    page, accessibility_violations
):
    citizen = PersonFactory(first_names="Aino", last_name="Virtanen")
    pirkanmaa = provider("Pirkanmaan hyvinvointialue")
    DocumentFactory(person=citizen, register=pirkanmaa.health, unit=pirkanmaa.unit, title="Influenza")
    InformationNoticeFactory(person=citizen)
    DisclosureConsentFactory(person=citizen, sector=ConsentSector.HEALTH_CARE)
    varha = provider("Varsinais-Suomen hyvinvointialue", unit_name="Turun terveysasema")
    doctor = doctor_at(varha.unit, first_name="Helena", last_name="Lääkäri")
    actor = actor_for(doctor)
    kanta_services.care_relationship_confirm(actor=actor, person=citizen, reason=CareReason.APPOINTMENT)
    read = policy.for_professional(actor=actor, person=citizen).documents()
    assert [(document.title, document.basis) for document in read] == [("Influenza", LegalBasis.CONSENT)]

    citizen_logs_in(page, citizen)
    citizen_opens(page, "Where my data has been processed")

    rows = page.get_by_role("table").locator("tbody").get_by_role("row")
    expect(rows).to_have_count(1)
    expect(rows.get_by_role("cell")).to_have_text(
        [DATE_TIME, "Varsinais-Suomen hyvinvointialue", "Turun terveysasema", "Patient data", "Consent"]
    )
    main = page.get_by_role("main")
    expect(main).not_to_contain_text("Helena")
    expect(main).not_to_contain_text("Lääkäri")
    assert accessibility_violations(page) == []


# -- professional --------------------------------------------------------------------------------------------


def test_doctor_signs_in_confirms_the_care_relationship_and_sees_risks_and_what_the_gate_allows(
    page, accessibility_violations
):
    patient = PersonFactory(first_names="Aino Maria", last_name="Virtanen")
    pirkanmaa = provider("Pirkanmaan hyvinvointialue", unit_name="Hervannan terveysasema")
    own = DocumentFactory(
        person=patient, register=pirkanmaa.health, unit=pirkanmaa.unit, title="Follow-up visit"
    )
    RiskInformation.objects.create(
        document=own,
        person=patient,
        recorded_on=own.recorded_at.date(),
        kind=RiskKind.ALLERGY,
        description="Penicillin: anaphylaxis",
        critical=True,
    )
    # Another county's register without the patient's consent: counted as hidden, never shown.
    varha = provider("Varsinais-Suomen hyvinvointialue")
    DocumentFactory(
        person=patient, register=varha.health, unit=varha.unit, title="Psychiatric outpatient visit"
    )
    doctor = doctor_at(pirkanmaa.unit)

    professional_signs_in(page, doctor, unit_name="Hervannan terveysasema")
    professional_finds(page, patient)

    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the care relationship")
    page.get_by_label("Reason for the care relationship").select_option(label="Appointment or visit")
    page.get_by_role("button", name="Confirm the care relationship").click()

    expect(page.get_by_role("status")).to_contain_text("The care relationship is confirmed.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Aino Maria Virtanen")
    risks = page.get_by_role("region", name="Risk information")
    expect(risks).to_contain_text("Critical")
    expect(risks).to_contain_text("Penicillin: anaphylaxis")
    documents = page.get_by_role("region", name="Recent documents")
    expect(documents.get_by_role("link", name="Follow-up visit")).to_be_visible()
    expect(documents).to_contain_text(
        "1 document is hidden by the patient's prohibitions or missing consent."
    )
    expect(page.get_by_role("main")).not_to_contain_text("Psychiatric outpatient visit")
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    assert headings.index("Risk information") < headings.index("Recent documents")
    assert accessibility_violations(page) == []
    relationship = CareRelationship.objects.get(person=patient)
    assert (relationship.unit, relationship.confirmed_by, relationship.reason) == (
        pirkanmaa.unit,
        doctor,
        CareReason.APPOINTMENT,
    )


def test_doctor_misses_a_prohibited_register_then_opens_it_with_emergency_access_and_a_reason(
    page, accessibility_violations
):
    patient = PersonFactory(first_names="Aino Maria", last_name="Virtanen")
    home = provider("Pirkanmaan hyvinvointialue", unit_name="Hervannan terveysasema")
    consented = provider("Keski-Suomen hyvinvointialue")
    barred_except_emergency = provider("Varsinais-Suomen hyvinvointialue")
    barred_always = provider("Pohjois-Savon hyvinvointialue")
    DocumentFactory(person=patient, register=consented.health, unit=consented.unit, title="Dental check-up")
    cardiology = DocumentFactory(
        person=patient,
        register=barred_except_emergency.health,
        unit=barred_except_emergency.unit,
        title="Cardiology outpatient visit",
    )
    DocumentFactory(
        person=patient,
        register=barred_always.health,
        unit=barred_always.unit,
        title="Psychiatric outpatient visit",
    )
    # The patient's own choices, made in MyKanta.
    own_choice = {"actor": audit.Actor(), "person": patient, "acting_person": patient}
    consents_services.notice_acknowledge(**own_choice)
    consents_services.consent_give(**own_choice, sector=ConsentSector.HEALTH_CARE)
    consents_services.prohibition_add(
        **own_choice,
        scope=ProhibitionScope.REGISTER,
        register=barred_except_emergency.health,
        emergency_permission=True,
    )
    consents_services.prohibition_add(
        **own_choice,
        scope=ProhibitionScope.REGISTER,
        register=barred_always.health,
        emergency_permission=False,
    )
    doctor = doctor_at(home.unit)
    kanta_services.care_relationship_confirm(
        actor=actor_for(doctor), person=patient, reason=CareReason.APPOINTMENT
    )

    professional_signs_in(page, doctor, unit_name="Hervannan terveysasema")
    professional_finds(page, patient)

    expect(page.get_by_role("heading", level=1)).to_have_text("Aino Maria Virtanen")
    documents = page.get_by_role("region", name="Recent documents")
    expect(documents.get_by_role("link", name="Dental check-up")).to_be_visible()
    expect(documents).to_contain_text(
        "2 documents are hidden by the patient's prohibitions or missing consent."
    )
    main = page.get_by_role("main")
    expect(main).not_to_contain_text("Cardiology outpatient visit")
    expect(page.get_by_role("alert").filter(has_text="Emergency access")).to_have_count(0)

    page.get_by_label("Reason for emergency access").fill(REASON)
    page.get_by_role("button", name="Open with emergency access").click()

    banner = page.get_by_role("alert").filter(has_text="Emergency access")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(f"Reason given: {REASON}")
    # Under emergency access a document opens with the same reason: its title is a button, not a link.
    cardiology_row = documents.get_by_role("row").filter(has_text="Cardiology outpatient visit")
    expect(cardiology_row.get_by_role("cell").last).to_have_text("Emergency")
    dental_row = documents.get_by_role("row").filter(has_text="Dental check-up")
    expect(dental_row.get_by_role("cell").last).to_have_text("Consent")
    expect(documents).to_contain_text(
        "1 document is hidden by the patient's prohibitions or missing consent."
    )
    expect(main).not_to_contain_text("Psychiatric outpatient visit")
    assert accessibility_violations(page) == []
    emergency_read = AuditEvent.objects.get(
        action="documents.list",
        category=AuditCategory.EMERGENCY,
        outcome=AuditOutcome.ALLOWED,
        legal_basis=LegalBasis.EMERGENCY,
    )
    assert emergency_read.professional == doctor
    assert emergency_read.reason_text == REASON
    assert emergency_read.object_ids == [str(cardiology.public_id)]

    cardiology_row.get_by_role("button", name="Cardiology outpatient visit").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Cardiology outpatient visit")
    expect(page.get_by_role("alert").filter(has_text="Emergency access")).to_contain_text(REASON)
    assert AuditEvent.objects.filter(
        action="document.view",
        category=AuditCategory.EMERGENCY,
        reason_text=REASON,
        object_ids=[str(cardiology.public_id)],
    ).exists()
