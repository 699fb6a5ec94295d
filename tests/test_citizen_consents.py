"""MyKanta consents, prohibitions (with the preview before saving) and declarations of intent (with the PDF)."""

from __future__ import annotations

import re

import pytest
import weasyprint
from django.conf import settings

from consents.models import (
    Channel,
    ConsentSector,
    DisclosureConsent,
    InformationNotice,
    LivingWill,
    OrganDonationWill,
    Prohibition,
    ProhibitionScope,
    ResearchContactProhibition,
)
from kanta.models import AuditEvent, OrganisationKind, RegisterKind
from tests.citizen_helpers import log_in, provider
from tests.factories import PersonFactory, RegisterFactory
from tests.factories_archive import DocumentFactory, InformationNoticeFactory, ServiceEventFactory


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def citizen(db):
    return PersonFactory(identity_code="010594Y9032", first_names="Aino", last_name="Virtanen")


@pytest.fixture
def county(db):
    return provider("Pirkanmaan hyvinvointialue")


@pytest.fixture
def noticed(citizen):
    return InformationNoticeFactory(person=citizen)


def documents(citizen, where, count: int, **fields) -> None:
    for _n in range(count):
        DocumentFactory(person=citizen, register=where.health, unit=where.unit, **fields)


def preview(client, **choice):
    return client.post("/consents/prohibitions/preview/", choice)


def hidden_fields(page: str) -> dict:
    form = page[page.index('action="/consents/prohibitions/save/"') :]
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))


# -- refusals first ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_consent_pages_require_login(client):
    for url in ("/consents/", "/consents/notice/", "/consents/prohibitions/new/", "/declarations/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_a_consent_is_refused_until_the_information_notice_is_acknowledged(client, citizen):
    log_in(client, citizen)

    response = client.post("/consents/consent/", {"sector": "health_care", "change": "give"}, follow=True)

    assert "Read and acknowledge the Kanta information notice" in response.content.decode()
    assert not DisclosureConsent.objects.filter(person=citizen).exists()


def test_saving_a_prohibition_without_the_preview_shows_the_preview_first(client, citizen, county, noticed):
    documents(citizen, county, 3)
    log_in(client, citizen)

    response = client.post("/consents/prohibitions/save/", {"scope": "all_data"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Check what the prohibition would hide before you save it." in page
    assert "It would now cover 3 documents." in page
    assert not Prohibition.objects.filter(person=citizen).exists()


def test_a_preview_of_one_register_does_not_save_another(client, citizen, county, noticed):
    other = provider("Terveystalo", kind=OrganisationKind.PRIVATE_HEALTH)
    documents(citizen, county, 2)
    documents(citizen, other, 1)
    log_in(client, citizen)
    page = preview(client, scope="register", register=str(county.health.public_id)).content.decode()
    fields = hidden_fields(page)

    fields["register"] = str(other.health.public_id)
    response = client.post("/consents/prohibitions/save/", fields)

    assert "Check what the prohibition would hide before you save it." in response.content.decode()
    assert not Prohibition.objects.filter(person=citizen).exists()


def test_a_register_where_the_person_has_no_data_cannot_be_chosen(client, citizen, county, noticed):
    documents(citizen, county, 1)
    elsewhere = RegisterFactory()
    log_in(client, citizen)

    response = preview(client, scope="register", register=str(elsewhere.public_id))

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_a_service_event_the_person_cannot_see_in_mykanta_is_not_offered(client, citizen, county, noticed):
    hidden = ServiceEventFactory(
        person=citizen, register=county.health, unit=county.unit, title="Hidden matter"
    )
    documents(citizen, county, 1, service_event=hidden, special_content=True)
    log_in(client, citizen)

    page = client.get("/consents/prohibitions/new/").content.decode()

    assert "Hidden matter" not in page
    assert preview(client, scope="service_event", service_event=str(hidden.public_id)).status_code == 400


def test_a_scope_without_its_target_keeps_the_choice_and_says_what_is_missing(
    client, citizen, county, noticed
):
    documents(citizen, county, 1)
    log_in(client, citizen)

    response = preview(client, scope="county", emergency_permission="on")

    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose what the prohibition covers." in page
    assert re.search(r'value="county"[^>]*checked', page)
    assert re.search(r'name="emergency_permission"[^>]*checked', page)


# -- consents and the notice -------------------------------------------------------------------------------


def test_reading_and_acknowledging_the_notice_then_giving_and_withdrawing_a_consent(client, citizen):
    log_in(client, citizen)
    page = client.get("/consents/notice/").content.decode()
    assert "Who can see your information" in page

    client.post("/consents/notice/")
    client.post("/consents/consent/", {"sector": "health_care", "change": "give"})

    consent = DisclosureConsent.objects.get(person=citizen, sector=ConsentSector.HEALTH_CARE)
    assert consent.channel == Channel.MYKANTA and consent.withdrawn_at is None
    page = client.get("/consents/").content.decode()
    assert "Withdraw consent: health care" in page

    client.post("/consents/consent/", {"sector": "health_care", "change": "withdraw"})

    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    history = client.get("/consents/").content.decode()
    history = history[history.index('id="history-heading"') :]
    assert history.count("Consent to disclosure: health care") == 2
    assert "withdrawn" in history and "Kanta information notice, version 2.0" in history
    assert InformationNotice.objects.filter(person=citizen, version="2.0").exists()


def test_all_four_consent_directions_can_be_given(client, citizen, noticed):
    log_in(client, citizen)

    for sector in ConsentSector.values:
        client.post("/consents/consent/", {"sector": sector, "change": "give"})

    assert set(DisclosureConsent.objects.filter(person=citizen).values_list("sector", flat=True)) == set(
        ConsentSector.values
    )


def test_the_research_contact_prohibition_can_be_set_and_withdrawn(client, citizen, noticed):
    log_in(client, citizen)

    client.post("/consents/research-contact/", {"prohibited": "yes"})
    assert ResearchContactProhibition.objects.get(person=citizen).withdrawn_at is None
    assert "Allow contact again" in client.get("/consents/").content.decode()

    client.post("/consents/research-contact/", {"prohibited": "no"})
    assert ResearchContactProhibition.objects.get(person=citizen).withdrawn_at is not None


# -- prohibitions ------------------------------------------------------------------------------------------


def test_a_prohibition_is_saved_after_a_preview_of_what_it_hides_and_from_whom(
    client, citizen, county, noticed
):
    documents(citizen, county, 4)
    log_in(client, citizen)

    page = preview(
        client, scope="register", register=str(county.health.public_id), emergency_permission="on"
    ).content.decode()

    assert "It would now cover 4 documents." in page
    assert "Pirkanmaan hyvinvointialue, health care register" in page
    assert "Other wellbeing services counties and private providers could no longer see" in page
    assert "You allow the data to be used in an emergency." in page
    assert not Prohibition.objects.filter(person=citizen).exists()

    response = client.post("/consents/prohibitions/save/", hidden_fields(page))

    assert response.status_code == 302
    prohibition = Prohibition.objects.get(person=citizen)
    assert (
        prohibition.scope,
        prohibition.register,
        prohibition.emergency_permission,
        prohibition.channel,
    ) == (
        ProhibitionScope.REGISTER,
        county.health,
        True,
        Channel.MYKANTA,
    )
    assert AuditEvent.objects.filter(action="prohibition.add", person=citizen).count() == 1
    overview = client.get("/consents/").content.decode()
    assert "allowed in an emergency" in overview


@pytest.mark.parametrize("scope", ["all_data", "service_event", "county", "occupational_health"])
def test_each_kind_of_prohibition_can_be_previewed_and_saved(client, citizen, county, noticed, scope):
    event = ServiceEventFactory(person=citizen, register=county.health, unit=county.unit, title="Back pain")
    documents(citizen, county, 2, service_event=event)
    occupational = provider("Mehiläinen", kind=OrganisationKind.PRIVATE_HEALTH)
    occupational_register = RegisterFactory(
        controller=occupational.organisation, kind=RegisterKind.OCCUPATIONAL_HEALTH
    )
    DocumentFactory(person=citizen, register=occupational_register, unit=occupational.unit)
    target = {
        "all_data": {},
        "service_event": {"service_event": str(event.public_id)},
        "county": {"organisation": str(county.organisation.public_id)},
        "occupational_health": {"occupational_register": str(occupational_register.public_id)},
    }[scope]
    expected_count = {"all_data": 3, "service_event": 2, "county": 2, "occupational_health": 1}[scope]
    log_in(client, citizen)

    page = preview(client, scope=scope, **target).content.decode()
    assert f"It would now cover {expected_count} document" in page
    client.post("/consents/prohibitions/save/", hidden_fields(page))

    prohibition = Prohibition.objects.get(person=citizen)
    assert prohibition.scope == scope
    assert prohibition.emergency_permission is False


def test_back_from_the_preview_keeps_the_choice(client, citizen, county, noticed):
    documents(citizen, county, 1)
    log_in(client, citizen)
    page = preview(client, scope="county", organisation=str(county.organisation.public_id)).content.decode()

    response = client.post("/consents/prohibitions/new/", hidden_fields(page))

    form = response.content.decode()
    assert re.search(r'value="county"[^>]*checked', form)
    assert re.search(rf'<option value="{county.organisation.public_id}" selected>', form)
    assert not Prohibition.objects.exists()


def test_a_prohibition_can_be_withdrawn(client, citizen, county, noticed):
    documents(citizen, county, 1)
    log_in(client, citizen)
    client.post(
        "/consents/prohibitions/save/", hidden_fields(preview(client, scope="all_data").content.decode())
    )
    prohibition = Prohibition.objects.get(person=citizen)

    client.post(f"/consents/prohibitions/{prohibition.public_id}/withdraw/")

    prohibition.refresh_from_db()
    assert prohibition.withdrawn_at is not None
    assert "You have no prohibitions in force." in client.get("/consents/").content.decode()


# -- living will and organ donation will -------------------------------------------------------------------


def test_an_empty_living_will_is_refused_with_a_clear_error(client, citizen):
    log_in(client, citizen)

    response = client.post("/declarations/living-will/edit/", {"text": "   "})

    assert response.status_code == 400
    assert "Write your living will before saving it." in response.content.decode()
    assert not LivingWill.objects.exists()


def test_a_living_will_is_written_edited_and_deleted_after_confirmation(client, citizen):
    log_in(client, citizen)

    client.post("/declarations/living-will/edit/", {"text": "No resuscitation."})
    assert "No resuscitation." in client.get("/declarations/").content.decode()
    edit = client.get("/declarations/living-will/edit/").content.decode()
    assert "No resuscitation.</textarea>" in edit

    client.post("/declarations/living-will/edit/", {"text": "No resuscitation. Pain relief is important."})
    assert LivingWill.objects.filter(person=citizen).count() == 2  # the earlier version is kept

    confirm = client.get("/declarations/living-will/delete/")
    assert "Delete your living will?" in confirm.content.decode()
    assert LivingWill.objects.filter(person=citizen, withdrawn_at__isnull=True).exists()

    client.post("/declarations/living-will/delete/")
    assert not LivingWill.objects.filter(person=citizen, withdrawn_at__isnull=True).exists()
    assert "You have not written a living will." in client.get("/declarations/").content.decode()


def test_an_organ_donation_will_is_saved_with_restrictions(client, citizen):
    log_in(client, citizen)

    response = client.post("/declarations/organ-donation-will/edit/", {"restrictions": "Not my corneas."})
    assert response.status_code == 400
    assert "Choose whether you consent to donation." in response.content.decode()
    assert "Not my corneas.</textarea>" in response.content.decode()

    client.post(
        "/declarations/organ-donation-will/edit/",
        {"consents_to_donation": "yes", "restrictions": "Not my corneas."},
    )

    will = OrganDonationWill.objects.get(person=citizen)
    assert will.consents_to_donation is True and will.restrictions == "Not my corneas."
    assert "I consent to organ and tissue donation." in client.get("/declarations/").content.decode()


@pytest.fixture
def rendered(monkeypatch):
    """What WeasyPrint was given and how many pages it laid out (pypdf is not a dependency)."""
    seen: dict = {}

    class RecordingHTML(weasyprint.HTML):
        def __init__(self, *args, string=None, **kwargs):
            seen["html"] = string
            super().__init__(*args, string=string, **kwargs)

        def render(self, *args, **kwargs):
            document = super().render(*args, **kwargs)
            seen["pages"] = len(document.pages)
            return document

    monkeypatch.setattr(weasyprint, "HTML", RecordingHTML)
    return seen


def test_the_living_will_downloads_as_a_pdf(client, citizen, rendered):
    log_in(client, citizen)
    client.post("/declarations/living-will/edit/", {"text": "I refuse artificial ventilation."})

    response = client.get("/declarations/living-will/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert re.fullmatch(
        r'attachment; filename="living-will-virtanen-\d{4}-\d{2}-\d{2}\.pdf"', response["Content-Disposition"]
    )
    assert response.content.startswith(b"%PDF")
    assert len(response.content) > 2000
    assert rendered["pages"] >= 1
    assert "I refuse artificial ventilation." in rendered["html"]
    assert "Aino Virtanen" in rendered["html"] and "010594Y9032" in rendered["html"]


def test_the_organ_donation_will_downloads_as_a_pdf(client, citizen, rendered):
    log_in(client, citizen)
    client.post("/declarations/organ-donation-will/edit/", {"consents_to_donation": "no"})

    response = client.get("/declarations/organ-donation-will/pdf/")

    assert response.content.startswith(b"%PDF")
    assert "organ-donation-will-virtanen" in response["Content-Disposition"]
    assert "I do not consent to organ and tissue donation." in rendered["html"]


def test_without_a_living_will_there_is_no_pdf(client, citizen):
    log_in(client, citizen)

    response = client.get("/declarations/living-will/pdf/")

    assert response.status_code == 302
    assert response["Location"] == "/declarations/"
