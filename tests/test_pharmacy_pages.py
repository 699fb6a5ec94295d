"""The pharmacy pages: finding prescriptions by identity code or by a summary's barcode, reserving, dispensing,
locking and technically correcting one prescription, all read through the gate and written by
prescriptions.dispensing."""

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
from kanta.audit import Actor
from kanta.models import AuditEvent, AuditOutcome, CareReason, CareRelationship, Profession
from prescriptions import dispensing
from prescriptions.models import Dispensing, Prescription, PrescriptionStatus
from tests.factories import PersonFactory
from tests.factories_prescriptions import (
    PharmacistFactory,
    PharmacyUnitFactory,
    PrescriptionFactory,
    ProductFactory,
)
from tests.test_professional_person import assert_code_in_no_url, signed_in

pytestmark = pytest.mark.django_db

SEARCH = reverse("professional:pharmacy_search")
SUMMARY = reverse("professional:pharmacy_summary")
HOME = reverse("professional:home")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # every test signs in one or two professionals; the production hasher would spend most of the time
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def pharmacy_unit():
    return PharmacyUnitFactory(
        organisation__name_fi="Keskustan apteekki", name_fi="Keskustan apteekki, palvelupiste"
    )


@pytest.fixture
def pharmacist(pharmacy_unit):
    return PharmacistFactory(units=[pharmacy_unit])


@pytest.fixture
def product():
    return ProductFactory(
        name="Amlodipin Orion",
        package_size="30 tabl",
        package_quantity=Decimal(30),
        retail_price=Decimal("8.20"),
        substitution_group="C08CA01-5",
    )


def prescription_of(person, product, /, **fields) -> Prescription:
    """A valid 2-year prescription: 1 unit a day, 300 units (10 packages of 30) by default."""
    prescribed_at = fields.pop("prescribed_at", timezone.now() - datetime.timedelta(days=30))
    defaults = {
        "person": person,
        "product": product,
        "daily_quantity": Decimal(1),
        "amount_packages": 10,
        "total_quantity": Decimal(300),
        "prescribed_at": prescribed_at,
        "valid_until": (prescribed_at + datetime.timedelta(days=730)).date(),
    }
    defaults.update(fields)
    return PrescriptionFactory(**defaults)


def person_list(person) -> str:
    return reverse("professional:pharmacy_person", args=[person.public_id])


def page(prescription, name: str = "prescription") -> str:
    return reverse(
        f"professional:pharmacy_{name}", args=[prescription.person.public_id, prescription.public_id]
    )


def summary_page(prescription, name: str = "prescription") -> str:
    return reverse(f"professional:pharmacy_summary_{name}", args=[prescription.public_id])


def found(client, person, **extra):
    """The identity-code search, as the pharmacist posts it."""
    return client.post(SEARCH, {"identity_code": person.identity_code, "scope": "left", **extra}, follow=True)


def amount_left(response) -> str:
    match = re.search(r'<dd id="amount-left">(.*?)</dd>', response.content.decode(), re.S)
    assert match, "the page shows no amount left"
    return " ".join(match.group(1).split())


def actor_at(unit) -> Actor:
    professional = PharmacistFactory(units=[unit])
    return Actor(user=professional.user, professional=professional, unit=unit)


# -- refusals first ----------------------------------------------------------------------------------------


def test_physician_and_a_nurse_at_a_pharmacy_get_403_on_every_pharmacy_page(
    patient, treating_doctor, pharmacy_unit, product
):
    prescription = prescription_of(patient, product)
    nurse_at_pharmacy = PharmacistFactory(units=[pharmacy_unit], profession=Profession.NURSE)

    clients = {professional: signed_in(professional) for professional in (treating_doctor, nurse_at_pharmacy)}
    for client in clients.values():
        assert client.get(SEARCH).status_code == 403
        assert (
            client.post(SEARCH, {"identity_code": patient.identity_code, "scope": "left"}).status_code == 403
        )
        assert client.post(SUMMARY, {"barcode": "ABCD2345EFGH"}).status_code == 403
        assert client.get(person_list(patient)).status_code == 403
        assert client.get(page(prescription)).status_code == 403
        assert (
            client.post(page(prescription, "dispense"), {"product": product.vnr, "packages": 1}).status_code
            == 403
        )
        assert client.post(page(prescription, "reserve")).status_code == 403

    # nothing was looked up, confirmed or written
    assert not CareRelationship.objects.exists()
    assert not AuditEvent.objects.filter(action="person.search").exists()
    assert not Dispensing.objects.exists()
    prescription.refresh_from_db()
    assert prescription.reserved_by is None
    # and the doctor's own home is still the person search, not the pharmacy's
    assert clients[treating_doctor].get(HOME).status_code == 200


def test_pharmacists_home_is_the_pharmacy_search(pharmacist):
    client = signed_in(pharmacist)

    response = client.get(HOME, follow=True)

    assert response.redirect_chain == [(SEARCH, 302)]
    assert "By the barcode of a prescription summary" in response.content.decode()


def test_without_the_search_another_pharmacy_cannot_open_the_persons_prescriptions(
    patient, pharmacist, product
):
    prescription = prescription_of(patient, product)
    other_pharmacist = PharmacistFactory(units=[PharmacyUnitFactory()])
    found(signed_in(pharmacist), patient)

    # The care relationship the search confirmed belongs to the first pharmacy's unit only.
    other = signed_in(other_pharmacist)
    assert other.get(person_list(patient)).status_code == 404
    assert other.get(page(prescription)).status_code == 404
    assert AuditEvent.objects.filter(
        action="person.view", outcome=AuditOutcome.REFUSED, professional=other_pharmacist
    ).exists()


# -- finding prescriptions ---------------------------------------------------------------------------------


def test_pharmacist_finds_prescriptions_by_identity_code_which_never_appears_in_a_url(
    patient, pharmacist, pharmacy_unit, product
):
    valid = prescription_of(patient, product, medicine_name="Amlodipin Orion 5 mg")
    past_grace = prescription_of(
        patient,
        product,
        medicine_name="Vanha resepti 5 mg",
        prescribed_at=timezone.now() - datetime.timedelta(days=800),
        valid_until=timezone.localdate() - datetime.timedelta(days=60),
    )
    prescription_of(PersonFactory(), product, medicine_name="Someone else's 5 mg")
    client = signed_in(pharmacist)

    # refusal first: the list needs the search, which confirms the care relationship
    assert client.get(person_list(patient)).status_code == 404

    response = found(client, patient)

    assert response.status_code == 200
    assert response.redirect_chain == [(person_list(patient), 302)]
    assert_code_in_no_url(response, patient.identity_code)
    content = response.content.decode()
    assert "Amlodipin Orion 5 mg" in content
    assert page(valid) in content
    assert "Vanha resepti" not in content  # past its grace month: nothing left to dispense today
    assert "Someone else" not in content
    relationship = CareRelationship.objects.get(person=patient)
    assert (relationship.unit, relationship.reason) == (pharmacy_unit, CareReason.DISPENSING)
    assert AuditEvent.objects.filter(action="care_relationship.confirm", person=patient).exists()
    read = AuditEvent.objects.get(action="prescriptions.pharmacy_search", outcome=AuditOutcome.ALLOWED)
    assert read.object_ids == [str(valid.public_id)]

    # the other scope: every open prescription prescribed since a date, the date in the query string only
    since = (timezone.localdate() - datetime.timedelta(days=900)).isoformat()
    response = client.post(
        SEARCH, {"identity_code": patient.identity_code, "scope": "open", "since": since}, follow=True
    )
    assert_code_in_no_url(response, patient.identity_code)
    assert "Vanha resepti 5 mg" in response.content.decode()
    assert page(past_grace) in response.content.decode()


def test_unknown_or_malformed_identity_code_is_answered_on_the_search_page(pharmacist):
    client = signed_in(pharmacist)

    unknown = client.post(SEARCH, {"identity_code": PersonFactory.build().identity_code, "scope": "left"})
    malformed = client.post(SEARCH, {"identity_code": "131052-308X", "scope": "left"})

    assert "No person with this identity code was found." in unknown.content.decode()
    assert malformed.status_code == 400
    assert 'value="131052-308X"' in malformed.content.decode()  # what was typed is kept
    assert not CareRelationship.objects.exists()


def test_denied_prescription_is_not_listed_and_its_page_is_404(patient, pharmacist, product):
    shown = prescription_of(patient, product, medicine_name="Amlodipin Orion 5 mg")
    denied = prescription_of(patient, product, medicine_name="Kielletty lääke 10 mg")
    PrescriptionDenial.objects.create(person=patient, prescription=denied)
    client = signed_in(pharmacist)

    response = found(client, patient)

    content = response.content.decode()
    assert "Amlodipin Orion 5 mg" in content
    assert "Kielletty" not in content
    assert str(denied.public_id) not in content
    assert "denial" not in content.lower()  # nothing tells that a hidden prescription exists
    assert client.get(page(denied)).status_code == 404
    assert AuditEvent.objects.filter(
        action="prescription.view", outcome=AuditOutcome.REFUSED, object_ids=[str(denied.public_id)]
    ).exists()
    assert client.get(page(shown)).status_code == 200


def test_barcode_search_lists_exactly_the_summarys_prescriptions_including_a_denied_one(
    patient, pharmacist, product
):
    denied = prescription_of(patient, product, medicine_name="Kielletty lääke 10 mg")
    PrescriptionDenial.objects.create(person=patient, prescription=denied)
    on_summary = prescription_of(patient, product, medicine_name="Amlodipin Orion 5 mg")
    prescription_of(patient, product, medicine_name="Ei tiivistelmällä 20 mg")
    summary = dispensing.summary_create(actor=Actor(), person=patient, prescriptions=[denied, on_summary])
    client = signed_in(pharmacist)

    # refusal first: an unknown barcode names nothing, and the form says so
    unknown = client.post(SUMMARY, {"barcode": "ZZZZ2345ZZZZ"})
    assert unknown.status_code == 400
    assert "No prescription summary has this barcode." in unknown.content.decode()

    # scanned as the customer's phone shows it: lower case, in groups
    code = summary.barcode.lower()
    response = client.post(SUMMARY, {"barcode": f"{code[:4]} {code[4:8]} {code[8:]}"}, follow=True)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Kielletty lääke 10 mg" in content
    assert "Amlodipin Orion 5 mg" in content
    assert "Ei tiivistelmällä" not in content
    assert_code_in_no_url(response, summary.barcode)
    # no care relationship was needed: handing over the summary is the care situation
    assert not CareRelationship.objects.exists()

    # the denied prescription opens from the summary, but not by identity code
    opened = client.get(summary_page(denied))
    assert opened.status_code == 200
    assert "Kielletty lääke 10 mg" in opened.content.decode()
    assert summary.barcode not in opened.content.decode()
    assert client.get(person_list(patient)).status_code == 404

    # and the summary list is there to go back to
    assert "Kielletty lääke 10 mg" in client.get(SUMMARY).content.decode()


def test_a_prescription_not_on_the_summary_is_404_from_the_summary(patient, pharmacist, product):
    on_summary = prescription_of(patient, product)
    other = prescription_of(patient, product)
    summary = dispensing.summary_create(actor=Actor(), person=patient, prescriptions=[on_summary])
    client = signed_in(pharmacist)

    # without a scanned summary in the session, back to the search
    assert client.get(summary_page(on_summary)).headers["Location"] == SEARCH

    client.post(SUMMARY, {"barcode": summary.barcode})

    assert client.get(summary_page(other)).status_code == 404
    assert client.get(summary_page(on_summary)).status_code == 200


# -- one prescription --------------------------------------------------------------------------------------


def test_prescription_page_shows_what_the_pharmacist_needs(patient, pharmacist, product):
    generic = ProductFactory(
        name="Amlodipin Krka",
        package_size="100 tabl",
        package_quantity=Decimal(100),
        substitution_group="C08CA01-5",
    )
    other_group = ProductFactory(name="Felodipin Test", substitution_group="C08CA02-5")
    prescription = prescription_of(
        patient,
        product,
        dosage="1 tabletti aamulla",
        message_to_pharmacy="Annosjakelu",
        quantity_dispensed=Decimal(60),
        status=PrescriptionStatus.PARTLY_DISPENSED,
    )
    client = signed_in(pharmacist)
    found(client, patient)

    response = client.get(page(prescription))

    content = response.content.decode()
    assert amount_left(response) == "240 units (8 packages of 30 tabl)"
    assert "1 tabletti aamulla" in content
    assert "Annosjakelu" in content
    assert "Allowed" in content  # generic substitution
    assert "Not locked" in content and "Not reserved" in content
    assert f'value="{generic.vnr}"' in content  # the substitution group may be dispensed
    assert f'value="{other_group.vnr}"' not in content
    assert "Reserve for dispensing" in content


def test_dispensing_more_than_is_left_shows_the_error_keeps_the_input_and_writes_nothing(
    patient, pharmacist, product
):
    prescription = prescription_of(patient, product, total_quantity=Decimal(60), amount_packages=2)
    client = signed_in(pharmacist)
    found(client, patient)

    response = client.post(
        page(prescription, "dispense"), {"product": product.vnr, "packages": "3", "price": ""}
    )

    assert response.status_code == 400
    content = response.content.decode()
    assert "3 package(s) hold 90 units, more than the 60 units left on the prescription." in content
    assert 'name="packages" value="3"' in content
    assert not Dispensing.objects.exists()
    prescription.refresh_from_db()
    assert prescription.quantity_dispensed == 0
    assert prescription.status == PrescriptionStatus.UNDISPENSED
    assert not AuditEvent.objects.filter(action="prescription.dispense").exists()


def test_partial_dispensing_updates_the_amount_left_shown_on_the_page(patient, pharmacist, product):
    prescription = prescription_of(patient, product)
    client = signed_in(pharmacist)
    found(client, patient)
    assert amount_left(client.get(page(prescription))) == "300 units (10 packages of 30 tabl)"

    response = client.post(
        page(prescription, "dispense"),
        {"product": product.vnr, "packages": "2", "price": "15,90"},
        follow=True,
    )

    assert response.redirect_chain == [(page(prescription), 302)]
    assert "Dispensed 2 package(s) of Amlodipin Orion." in response.content.decode()
    assert amount_left(response) == "240 units (8 packages of 30 tabl)"
    assert "Partly dispensed" in response.content.decode()
    dispensed = Dispensing.objects.get()
    assert (dispensed.packages, dispensed.quantity, dispensed.price) == (2, Decimal(60), Decimal("15.90"))
    assert dispensed.pharmacist == pharmacist


def test_the_last_package_left_is_shown_in_the_singular(patient, pharmacist, product):
    prescription = prescription_of(
        patient, product, quantity_dispensed=Decimal(270), status=PrescriptionStatus.PARTLY_DISPENSED
    )
    client = signed_in(pharmacist)
    found(client, patient)

    assert amount_left(client.get(page(prescription))) == "30 units (1 package of 30 tabl)"


def test_another_pharmacys_reservation_blocks_dispensing_with_a_clear_message(patient, pharmacist, product):
    prescription = prescription_of(patient, product)
    other_unit = PharmacyUnitFactory(organisation__name_fi="Toinen apteekki")
    other = actor_at(other_unit)
    dispensing.reserve(actor=other, prescription=prescription)
    client = signed_in(pharmacist)
    found(client, patient)

    shown = client.get(page(prescription)).content.decode()
    assert "Being dispensed at another pharmacy (Toinen apteekki)" in shown

    refused = client.post(page(prescription, "dispense"), {"product": product.vnr, "packages": "1"})
    reserve_refused = client.post(page(prescription, "reserve"))

    for response in (refused, reserve_refused):
        assert response.status_code == 400
        assert "This prescription is being dispensed at another pharmacy (Toinen apteekki)" in (
            response.content.decode()
        )
    assert not Dispensing.objects.exists()
    prescription.refresh_from_db()
    assert prescription.reserved_by == other_unit.organisation

    # once the other pharmacy releases it, this one reserves and then dispenses
    dispensing.release_reservation(actor=other, prescription=prescription)
    reserved = client.post(page(prescription, "reserve"), follow=True)
    assert "Reserved for your pharmacy until" in reserved.content.decode()
    client.post(page(prescription, "dispense"), {"product": product.vnr, "packages": "1"})
    prescription.refresh_from_db()
    assert prescription.reserved_by is None  # released by the dispensing
    assert prescription.quantity_dispensed == 30


def test_release_of_own_reservation(patient, pharmacist, pharmacy_unit, product):
    prescription = prescription_of(patient, product)
    client = signed_in(pharmacist)
    found(client, patient)
    client.post(page(prescription, "reserve"))
    prescription.refresh_from_db()
    assert prescription.reserved_by == pharmacy_unit.organisation

    response = client.post(page(prescription, "release"), follow=True)

    assert "The reservation is released." in response.content.decode()
    assert "Not reserved" in response.content.decode()
    prescription.refresh_from_db()
    assert prescription.reserved_by is None


def test_lock_needs_a_reason_and_then_dispensing_is_refused(patient, pharmacist, product):
    prescription = prescription_of(patient, product)
    client = signed_in(pharmacist)
    found(client, patient)

    no_reason = client.post(page(prescription, "lock"), {"reason": "  "})
    assert no_reason.status_code == 400
    assert "Say why the prescription is locked." in no_reason.content.decode()
    prescription.refresh_from_db()
    assert prescription.locked_by is None

    locked = client.post(page(prescription, "lock"), {"reason": "Annos epäselvä"}, follow=True)
    assert "Locked by Keskustan apteekki until the prescriber corrects it." in locked.content.decode()
    assert "Reason: Annos epäselvä" in locked.content.decode()
    assert 'action="' + page(prescription, "dispense") + '"' not in locked.content.decode()

    refused = client.post(page(prescription, "dispense"), {"product": product.vnr, "packages": "1"})

    assert refused.status_code == 400
    assert "This prescription is locked by Keskustan apteekki until the prescriber corrects it" in (
        refused.content.decode()
    )
    assert not Dispensing.objects.exists()


def test_technical_correction_changes_only_formatting(patient, pharmacist, product):
    prescription = prescription_of(patient, product, dosage="1 tabletti  aamulla")
    client = signed_in(pharmacist)
    found(client, patient)

    content_change = client.post(
        page(prescription, "correct"), {"dosage": "2 tablettia aamulla", "message_to_pharmacy": ""}
    )
    assert content_change.status_code == 400
    assert (
        "A technical correction may change only letter case and spacing." in content_change.content.decode()
    )
    assert "2 tablettia aamulla" in content_change.content.decode()  # kept for the pharmacist to fix
    prescription.refresh_from_db()
    assert prescription.dosage == "1 tabletti  aamulla"

    response = client.post(
        page(prescription, "correct"),
        {"dosage": "1 tabletti aamulla", "message_to_pharmacy": ""},
        follow=True,
    )

    assert "The technical correction is saved." in response.content.decode()
    prescription.refresh_from_db()
    assert (prescription.dosage, prescription.version) == ("1 tabletti aamulla", 2)


# -- query budget ------------------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_search_result_and_summary_pages_run_the_same_queries_however_many_prescriptions(
    pharmacist, product, django_assert_max_num_queries
):
    few, many = PersonFactory(), PersonFactory()
    few_prescriptions = [prescription_of(few, product) for _ in range(2)]
    many_prescriptions = [prescription_of(many, product) for _ in range(40)]
    summaries = {
        person: dispensing.summary_create(actor=Actor(), person=person, prescriptions=prescriptions)
        for person, prescriptions in ((few, few_prescriptions), (many, many_prescriptions))
    }
    client = signed_in(pharmacist)
    found(client, few)
    found(client, many)

    assert _queries(client, person_list(few)) == _queries(client, person_list(many))
    with django_assert_max_num_queries(25):
        response = client.get(person_list(many))
    assert response.content.decode().count(f'href="{person_list(many)}prescription/') == 40

    counts = []
    for person in (few, many):
        client.post(SUMMARY, {"barcode": summaries[person].barcode})
        counts.append(_queries(client, SUMMARY))
    assert counts[0] == counts[1]
    assert counts[1] <= 25
