"""The professional's view of a person's records: the overview through the disclosure gate, emergency access,
documents with their history, writing entries, laboratory results and certificates, correcting, invalidating
and delaying them, and purchased-service authorizations."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from archive import services as archive_services
from archive.models import (
    AuthorizationScope,
    CertificateForm,
    Diagnosis,
    Document,
    DocumentKind,
    DocumentStatus,
    LabResult,
    PurchasedServiceAuthorization,
    RiskInformation,
    RiskKind,
)
from consents.models import ConsentSector, LivingWill, ProhibitionScope
from kanta import audit
from kanta.models import (
    AuditCategory,
    AuditEvent,
    AuditOutcome,
    LegalBasis,
    OrganisationKind,
    Profession,
    RegisterKind,
)
from tests.factories import OrganisationFactory, ProfessionalFactory, RegisterFactory, UnitFactory
from tests.factories_archive import (
    DiagnosisFactory,
    DisclosureConsentFactory,
    DocumentFactory,
    InformationNoticeFactory,
    LabResultFactory,
    ProhibitionFactory,
)
from tests.test_professional_person import care_relationship, signed_in

pytestmark = pytest.mark.django_db

REASON = "Patient unconscious after a traffic accident, history needed for treatment."


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # every test signs in one or two professionals; the production hasher would spend most of the time
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def own_register(county):
    return RegisterFactory(controller=county, kind=RegisterKind.HEALTH_CARE)


@pytest.fixture
def cared_for(patient, health_centre):
    """The patient, with an active care relationship of the treating doctor's unit."""
    care_relationship(patient, health_centre)
    return patient


def overview(person) -> str:
    return reverse("professional:person", args=[person.public_id])


def emergency(person) -> str:
    return reverse("professional:person_emergency", args=[person.public_id])


def document_page(document) -> str:
    return reverse("professional:document", args=[document.person.public_id, document.public_id])


def page_of(response) -> str:
    return response.content.decode()


def other_county_document(patient, title: str, **extra) -> Document:
    return DocumentFactory(person=patient, register=RegisterFactory(), title=title, **extra)


def actor_for(professional) -> audit.Actor:
    return audit.Actor(professional=professional, unit=professional.units.get())


# -- refusals first ----------------------------------------------------------------------------------------


def test_unrelated_professional_gets_404_on_overview_and_document_and_the_refusals_are_logged(
    cared_for, own_register, health_centre, treating_doctor, other_county_doctor
):
    document = DocumentFactory(person=cared_for, register=own_register, unit=health_centre, title="Flunssa")
    client = signed_in(other_county_doctor)

    assert client.get(overview(cared_for)).status_code == 404
    response = client.get(document_page(document))

    assert response.status_code == 404
    assert "Flunssa" not in page_of(response)
    refusals = AuditEvent.objects.filter(professional=other_county_doctor, outcome=AuditOutcome.REFUSED)
    assert refusals.filter(action="person.view", person=cared_for).count() == 2
    # nothing of the patient was read (signing in is the only thing allowed)
    assert not AuditEvent.objects.filter(
        professional=other_county_doctor, person=cared_for, outcome=AuditOutcome.ALLOWED
    ).exists()

    # The treating doctor's unit has the care relationship: the overview and the document open.
    treating = signed_in(treating_doctor)
    assert "Flunssa" in page_of(treating.get(overview(cared_for)))
    response = treating.get(document_page(document))
    assert response.status_code == 200
    assert "Potilas voi hyvin." in page_of(response)
    read = AuditEvent.objects.get(action="document.view", professional=treating_doctor)
    assert (read.outcome, read.legal_basis, read.object_ids) == (
        AuditOutcome.ALLOWED,
        LegalBasis.OWN_REGISTER,
        [str(document.public_id)],
    )


def test_document_of_another_person_answers_404_and_is_logged_as_refused(
    cared_for, own_register, health_centre, treating_doctor
):
    # A real document id of someone else is no way in: the gate looks only among this person's documents.
    stranger_document = DocumentFactory(register=own_register, unit=health_centre, title="Toisen potilaan")
    url = reverse("professional:document", args=[cared_for.public_id, stranger_document.public_id])

    response = signed_in(treating_doctor).get(url)

    assert response.status_code == 404
    refusal = AuditEvent.objects.get(action="document.view")
    assert (refusal.outcome, refusal.person) == (AuditOutcome.REFUSED, cared_for)


def test_prohibited_document_of_another_county_is_hidden_counted_and_answers_404(
    cared_for, own_register, health_centre, treating_doctor
):
    InformationNoticeFactory(person=cared_for)
    DisclosureConsentFactory(person=cared_for, sector=ConsentSector.HEALTH_CARE)
    ProhibitionFactory(person=cared_for, scope=ProhibitionScope.ALL_DATA)
    own = DocumentFactory(person=cared_for, register=own_register, unit=health_centre, title="Oma käynti")
    hidden = other_county_document(cared_for, "Psykiatrian poliklinikka")
    DiagnosisFactory(document=hidden, code="F32.1", title="Moderate depressive episode")
    client = signed_in(treating_doctor)

    response = client.get(overview(cared_for))

    page = page_of(response)
    assert own.title in page
    assert "Psykiatrian poliklinikka" not in page
    assert "F32.1" not in page
    assert "1 document is hidden by the patient's prohibitions or missing consent." in page
    assert response.context["hidden_count"] == 1
    refused = AuditEvent.objects.get(action="documents.list", outcome=AuditOutcome.REFUSED)
    assert refused.object_ids == [str(hidden.public_id)]
    assert client.get(document_page(hidden)).status_code == 404


def test_emergency_access_without_a_reason_is_rejected_and_shows_nothing_more(
    cared_for, own_register, treating_doctor
):
    ProhibitionFactory(person=cared_for, scope=ProhibitionScope.ALL_DATA, emergency_permission=True)
    other_county_document(cared_for, "Ensiapu, toinen maakunta")

    response = signed_in(treating_doctor).post(emergency(cared_for), {"reason": "   "})

    assert response.status_code == 400
    page = page_of(response)
    assert "Give the reason for emergency access." in page
    assert "Ensiapu, toinen maakunta" not in page
    assert not response.context["emergency"]
    assert not AuditEvent.objects.filter(category=AuditCategory.EMERGENCY).exists()


def test_emergency_access_with_a_reason_shows_what_the_emergency_permission_allows_and_is_audited(
    cared_for, own_register, health_centre, treating_doctor
):
    InformationNoticeFactory(person=cared_for)
    DisclosureConsentFactory(person=cared_for, sector=ConsentSector.HEALTH_CARE)
    ProhibitionFactory(person=cared_for, scope=ProhibitionScope.ALL_DATA, emergency_permission=True)
    barred = other_county_document(cared_for, "Sukupuolitautien poliklinikka")
    ProhibitionFactory(
        person=cared_for,
        scope=ProhibitionScope.COUNTY,
        organisation=barred.register.controller,
        emergency_permission=False,
    )
    allowed = other_county_document(cared_for, "Sydänpoliklinikka")
    DiagnosisFactory(
        document=allowed, code="I48.9", title="Atrial fibrillation and atrial flutter, unspecified"
    )
    client = signed_in(treating_doctor)
    assert "Sydänpoliklinikka" not in page_of(client.get(overview(cared_for)))

    response = client.post(emergency(cared_for), {"reason": REASON})

    assert response.status_code == 200
    page = page_of(response)
    assert response.context["emergency"]
    assert "This view includes data shown only because of emergency access." in page
    assert REASON in page
    assert "Sydänpoliklinikka" in page
    assert "I48.9" in page
    assert "Sukupuolitautien poliklinikka" not in page
    assert "1 document is hidden by the patient's prohibitions or missing consent." in page
    shown = AuditEvent.objects.get(
        action="documents.list", category=AuditCategory.EMERGENCY, legal_basis=LegalBasis.EMERGENCY
    )
    assert shown.reason_text == REASON
    assert shown.object_ids == [str(allowed.public_id)]
    assert shown.professional == treating_doctor
    refused = AuditEvent.objects.get(
        action="documents.list", category=AuditCategory.EMERGENCY, outcome=AuditOutcome.REFUSED
    )
    assert refused.object_ids == [str(barred.public_id)]

    # The document opens from the emergency view with the same reason, and only there.
    url = reverse("professional:document_emergency", args=[cared_for.public_id, allowed.public_id])
    opened = client.post(url, {"reason": REASON})
    assert opened.status_code == 200
    assert "Emergency access" in page_of(opened)
    assert AuditEvent.objects.filter(
        action="document.view", category=AuditCategory.EMERGENCY, reason_text=REASON
    ).exists()
    assert client.get(document_page(allowed)).status_code == 404
    assert client.post(url, {"reason": ""}).status_code == 400


def test_a_social_welfare_unit_has_no_emergency_access(cared_for, county):
    ProhibitionFactory(person=cared_for, scope=ProhibitionScope.ALL_DATA, emergency_permission=True)
    other_county_document(cared_for, "Ensiapu, toinen maakunta")
    social_unit = UnitFactory(organisation=county, register_kind=RegisterKind.SOCIAL_WELFARE)
    care_relationship(cared_for, social_unit)
    client = signed_in(ProfessionalFactory(units=[social_unit], profession=Profession.SOCIAL_WORKER))
    assert "Open with emergency access" not in page_of(client.get(overview(cared_for)))

    response = client.post(emergency(cared_for), {"reason": REASON})

    assert response.status_code == 400
    assert "Emergency access is not available in the unit you work in." in page_of(response)
    assert "Ensiapu, toinen maakunta" not in page_of(response)
    assert not AuditEvent.objects.filter(category=AuditCategory.EMERGENCY).exists()


def test_overview_shows_risk_information_first_and_flags_a_living_will(
    cared_for, own_register, health_centre, treating_doctor
):
    document = DocumentFactory(person=cared_for, register=own_register, unit=health_centre)
    RiskInformation.objects.create(
        document=document,
        person=cared_for,
        recorded_on=timezone.localdate(),
        kind=RiskKind.ALLERGY,
        description="Penicillin allergy, anaphylaxis",
    )
    DiagnosisFactory(document=document, code="J06.9")
    LivingWill.objects.create(person=cared_for, text="No resuscitation if the prognosis is hopeless.")
    client = signed_in(treating_doctor)

    page = page_of(client.get(overview(cared_for)))

    assert (
        page.index("Penicillin allergy") < page.index("The person has a living will.") < page.index("J06.9")
    )
    declarations = client.get(reverse("professional:declarations", args=[cared_for.public_id]))
    assert "No resuscitation if the prognosis is hopeless." in page_of(declarations)
    assert AuditEvent.objects.filter(action="declarations.view", legal_basis=LegalBasis.DECLARATION).exists()


# -- writing -----------------------------------------------------------------------------------------------


def entry_data(register, **overrides) -> dict:
    data = {
        "register": str(register.public_id),
        "view": "general",
        "title": "Vastaanottokäynti",
        "text": "Kurkkukipua kolme päivää, ei kuumetta.",
        "diagnosis_0": "J06.9",
        "diagnosis_1": "",
        "diagnosis_2": "",
        "risk_kind_0": RiskKind.ALLERGY,
        "risk_description_0": "Penicillin allergy",
        "risk_critical_0": "on",
    }
    data.update(overrides)
    return data


def test_a_medical_student_cannot_write_and_sees_why_with_the_text_kept(
    cared_for, own_register, health_centre
):
    student = ProfessionalFactory(units=[health_centre], profession=Profession.MEDICAL_STUDENT)
    client = signed_in(student)

    response = client.post(
        reverse("professional:write_entry", args=[cared_for.public_id]), entry_data(own_register)
    )

    assert response.status_code == 400
    page = page_of(response)
    assert "Medical students read patient data but do not sign it" in page
    assert "Kurkkukipua kolme päivää, ei kuumetta." in page
    assert not Document.objects.exists()


def test_professional_writes_a_record_entry_and_sees_it(cared_for, own_register, treating_doctor):
    client = signed_in(treating_doctor)
    write = reverse("professional:write_entry", args=[cared_for.public_id])
    assert 'list="icd10-codes"' in page_of(client.get(write))

    response = client.post(write, entry_data(own_register), follow=True)

    document = Document.objects.get()
    assert response.redirect_chain == [(document_page(document), 302)]
    page = page_of(response)
    assert "Kurkkukipua kolme päivää, ei kuumetta." in page
    assert "Acute upper respiratory infection, unspecified" in page
    assert (document.register, document.author, document.kind) == (
        own_register,
        treating_doctor,
        DocumentKind.RECORD_ENTRY,
    )
    assert Diagnosis.objects.get(document=document).primary
    summary = page_of(client.get(overview(cared_for)))
    assert "Vastaanottokäynti" in summary
    assert summary.index("Penicillin allergy") < summary.index("J06.9")


def test_an_unknown_icd10_code_is_rejected_with_everything_typed_kept(
    cared_for, own_register, treating_doctor
):
    client = signed_in(treating_doctor)

    response = client.post(
        reverse("professional:write_entry", args=[cared_for.public_id]),
        entry_data(own_register, diagnosis_0="X99.99"),
    )

    assert response.status_code == 400
    page = page_of(response)
    assert "X99.99 is not a known ICD-10 code." in page
    assert 'value="X99.99"' in page
    assert "Kurkkukipua kolme päivää, ei kuumetta." in page
    assert 'value="Penicillin allergy"' in page
    assert not Document.objects.exists()


def test_correction_is_a_new_version_and_the_history_links_the_old_one(
    cared_for, own_register, treating_doctor
):
    original = archive_services.document_create(
        actor=actor_for(treating_doctor),
        person=cared_for,
        kind=DocumentKind.RECORD_ENTRY,
        title="Vastaanottokäynti",
        text="Kurkkukipua.",
        diagnoses=[archive_services.DiagnosisInput(code="J06.9", primary=True)],
    )
    client = signed_in(treating_doctor)
    correct = reverse("professional:document_correct", args=[cared_for.public_id, original.public_id])
    form_page = page_of(client.get(correct))
    assert 'value="J06.9"' in form_page
    assert "Kurkkukipua." in form_page

    response = client.post(
        correct,
        {"title": "Vastaanottokäynti", "text": "Kurkkukipua ja kuumetta.", "diagnosis_0": "J02.9"},
        follow=True,
    )

    corrected = Document.objects.get(status=DocumentStatus.CURRENT)
    assert response.redirect_chain == [(document_page(corrected), 302)]
    page = page_of(response)
    assert "Kurkkukipua ja kuumetta." in page
    assert "Version history" in page
    assert document_page(original) in page
    assert corrected.version == 2
    assert list(corrected.diagnosiss.values_list("code", flat=True)) == ["J02.9"]
    old = client.get(document_page(original))
    assert old.status_code == 200
    assert "This is an earlier version." in page_of(old)
    assert "Kurkkukipua." in page_of(old)
    summary = page_of(client.get(overview(cared_for)))
    assert "J02.9" in summary
    assert "J06.9" not in summary


def test_invalidation_needs_a_reason_and_hides_the_document_from_summaries_but_keeps_its_history(
    cared_for, own_register, health_centre, treating_doctor
):
    document = DocumentFactory(
        person=cared_for, register=own_register, unit=health_centre, title="Väärä potilas"
    )
    DiagnosisFactory(document=document, code="I10", title="Essential (primary) hypertension")
    client = signed_in(treating_doctor)
    assert "I10" in page_of(client.get(overview(cared_for)))
    invalidate = reverse("professional:document_invalidate", args=[cared_for.public_id, document.public_id])

    rejected = client.post(invalidate, {"reason": ""})
    assert rejected.status_code == 400
    assert "Give the reason for invalidating the document." in page_of(rejected)

    response = client.post(invalidate, {"reason": "Written on the wrong patient."}, follow=True)

    assert response.redirect_chain == [(document_page(document), 302)]
    assert "This document is invalidated." in page_of(response)
    assert "Written on the wrong patient." in page_of(response)
    summary = page_of(client.get(overview(cared_for)))
    assert "I10" not in summary
    assert "Väärä potilas" not in summary
    document.refresh_from_db()
    assert document.status == DocumentStatus.INVALIDATED


def test_delayed_display_needs_a_future_date_and_is_shown_on_the_document(
    cared_for, own_register, health_centre, treating_doctor
):
    document = DocumentFactory(person=cared_for, register=own_register, unit=health_centre)
    client = signed_in(treating_doctor)
    delay = reverse("professional:document_delay", args=[cared_for.public_id, document.public_id])

    past = client.post(delay, {"until": "2001-01-01", "reason": "Results discussed first at the visit."})
    assert past.status_code == 400
    assert "The display can only be delayed until a future date." in page_of(past)
    assert "Results discussed first at the visit." in page_of(past)

    until = timezone.localdate() + datetime.timedelta(days=14)
    response = client.post(
        delay, {"until": until.isoformat(), "reason": "Results discussed first."}, follow=True
    )

    assert "Shown in MyKanta from" in page_of(response)
    document.refresh_from_db()
    assert (document.display_delayed_until, document.display_delay_reason) == (
        until,
        "Results discussed first.",
    )


def test_laboratory_results_take_unit_and_reference_range_from_the_list(
    cared_for, own_register, treating_doctor
):
    client = signed_in(treating_doctor)
    write = reverse("professional:write_lab", args=[cared_for.public_id])
    assert "718-7" in page_of(client.get(write))
    data = {
        "register": str(own_register.public_id),
        "title": "Verenkuva",
        "sampled_on": timezone.localdate().isoformat(),
        "text": "",
        "test_0": "718-7",
        "value_0": "190",
    }
    for index in range(1, 5):
        data |= {f"test_{index}": "", f"value_{index}": ""}

    missing_value = client.post(write, data | {"value_0": ""})
    assert missing_value.status_code == 400
    assert "Enter the result." in page_of(missing_value)

    response = client.post(write, data, follow=True)

    result = LabResult.objects.get()
    assert (result.loinc, result.unit_of_measure, result.abnormal) == ("718-7", "g/L", "H")
    assert result.reference_high in {155, 167}  # the range of the patient's sex
    page = page_of(response)
    assert "g/L" in page
    assert "above the reference range" in page


def sv6_data(register, **overrides) -> dict:
    today = timezone.localdate()
    data = {
        "certificate_form": "SV6",
        "register": str(register.public_id),
        "title": "Lääkärinlausunto A",
        "diagnosis_code": "J06.9",
        "incapacity_from": today.isoformat(),
        "incapacity_to": (today + datetime.timedelta(days=4)).isoformat(),
        "statement": "Unable to work during the acute infection.",
        "text": "",
    }
    data.update(overrides)
    return data


def test_certificate_form_is_chosen_first_then_its_structured_fields_are_saved(
    cared_for, own_register, treating_doctor
):
    client = signed_in(treating_doctor)
    write = reverse("professional:write_certificate", args=[cared_for.public_id])
    assert "Certificate form" in page_of(client.get(write))
    fields = page_of(client.get(write, {"form": "F122"}))
    assert 'name="licence_group"' in fields
    assert 'name="fit_to_drive"' in fields

    backwards = client.post(
        write,
        sv6_data(own_register, incapacity_to=(timezone.localdate() - datetime.timedelta(days=3)).isoformat()),
    )
    assert backwards.status_code == 400
    assert "The incapacity for work cannot end before it starts." in page_of(backwards)
    assert "Unable to work during the acute infection." in page_of(backwards)

    response = client.post(write, sv6_data(own_register), follow=True)

    document = Document.objects.get()
    assert (document.kind, document.certificate_form) == (DocumentKind.CERTIFICATE, CertificateForm.SV6)
    assert document.form_data["diagnosis_code"] == "J06.9"
    page = page_of(response)
    assert "Unable to work during the acute infection." in page
    assert "Incapacity for work until" in page


def test_producer_writes_into_the_organisers_register_only_under_a_valid_authorization(
    cared_for, own_register, county, health_centre
):
    producer_unit = UnitFactory(organisation=OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH))
    RegisterFactory(controller=producer_unit.organisation)
    producer_doctor = ProfessionalFactory(units=[producer_unit])
    care_relationship(cared_for, producer_unit)
    client = signed_in(producer_doctor)
    write = reverse("professional:write_entry", args=[cared_for.public_id])
    assert str(own_register.public_id) not in page_of(client.get(write))

    refused = client.post(write, entry_data(own_register))
    assert refused.status_code == 400
    assert "Choose one of the registers you may write into." in page_of(refused)

    today = timezone.localdate()
    PurchasedServiceAuthorization.objects.create(
        organiser=county,
        register=own_register,
        producer=producer_unit.organisation,
        scope=AuthorizationScope.PATIENT,
        person=cared_for,
        starts_on=today,
        ends_on=today + datetime.timedelta(days=30),
    )
    form_page = page_of(client.get(write))
    assert "(under a purchased-service authorization)" in form_page

    response = client.post(write, entry_data(own_register))

    assert response.status_code == 302
    document = Document.objects.get()
    assert (document.register, document.unit) == (own_register, producer_unit)
    created = AuditEvent.objects.get(action="document.create")
    assert created.legal_basis == LegalBasis.PURCHASED_SERVICE


# -- query budgets -----------------------------------------------------------------------------------------


def test_overview_and_document_pages_run_a_bounded_number_of_queries(
    cared_for, own_register, health_centre, treating_doctor, django_assert_max_num_queries
):
    InformationNoticeFactory(person=cared_for)
    DisclosureConsentFactory(person=cared_for, sector=ConsentSector.HEALTH_CARE)
    other_registers = [RegisterFactory() for _ in range(3)]
    ProhibitionFactory(
        person=cared_for, scope=ProhibitionScope.COUNTY, organisation=other_registers[0].controller
    )
    LivingWill.objects.create(person=cared_for, text="Hoitotahto.")
    registers = [own_register, *other_registers]
    documents = []
    for index in range(60):
        register = registers[index % len(registers)]
        document = DocumentFactory(
            person=cared_for,
            register=register,
            unit=UnitFactory(organisation=register.controller) if register != own_register else health_centre,
        )
        DiagnosisFactory(document=document, code="J06.9")
        LabResultFactory(document=document)
        RiskInformation.objects.create(
            document=document,
            person=cared_for,
            recorded_on=timezone.localdate(),
            kind=RiskKind.HAZARD,
            description=f"Risk {index}",
        )
        documents.append(document)
    client = signed_in(treating_doctor)

    # Sign-in checks (session, user, device, the professional with the unit), the person and care
    # relationship, the gate's facts, then for each read one query and one for what it withheld, the hidden
    # documents once, and all the audit rows (the person.view one among them) in one INSERT in a savepoint;
    # the session save: 24 now, whatever the number of rows.
    with django_assert_max_num_queries(24):
        response = client.get(overview(cared_for))

    assert response.status_code == 200
    assert response.context["document_count"] == 45  # the prohibited county's 15 are hidden
    assert response.context["hidden_count"] == 15

    # The same checks and gate, the document and its history, one query per kind of structured entry.
    with django_assert_max_num_queries(36):
        response = client.get(document_page(documents[0]))

    assert response.status_code == 200


# -- purchased-service authorizations ----------------------------------------------------------------------


AUTHORIZATIONS = reverse("professional:authorizations")
NEW_AUTHORIZATION = reverse("professional:authorization_create")


def test_producer_cannot_edit_an_authorization_granted_to_it_and_others_do_not_see_it(
    county, own_register, treating_doctor, other_county_doctor
):
    producer = OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH)
    producer_doctor = ProfessionalFactory(units=[UnitFactory(organisation=producer)])
    today = timezone.localdate()
    authorization = PurchasedServiceAuthorization.objects.create(
        organiser=county,
        register=own_register,
        producer=producer,
        scope=AuthorizationScope.REGISTER,
        starts_on=today,
        ends_on=today + datetime.timedelta(days=90),
        ordered_service="Kaihileikkaukset",
    )
    edit = reverse("professional:authorization_edit", args=[authorization.public_id])

    outsider = signed_in(other_county_doctor)
    assert "Kaihileikkaukset" not in page_of(outsider.get(AUTHORIZATIONS))
    assert outsider.get(edit).status_code == 404
    producer_client = signed_in(producer_doctor)
    assert producer_client.get(edit).status_code == 404
    assert producer_client.post(edit, {"ends_on": "2099-01-01", "ordered_service": ""}).status_code == 404
    authorization.refresh_from_db()
    assert authorization.ordered_service == "Kaihileikkaukset"


def test_organiser_creates_an_authorization_names_the_producer_later_and_the_producer_lists_it(
    county, own_register, treating_doctor
):
    producer = OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH, name_fi="Kaihiklinikka Oy")
    producer_doctor = ProfessionalFactory(units=[UnitFactory(organisation=producer)])
    client = signed_in(treating_doctor)
    today = timezone.localdate()
    data = {
        "register": str(own_register.public_id),
        "scope": AuthorizationScope.REGISTER,
        "identity_code": "",
        "producer": "",
        "starts_on": today.isoformat(),
        "ends_on": (today - datetime.timedelta(days=1)).isoformat(),
        "ordered_service": "Kaihileikkaukset 2025",
    }

    backwards = client.post(NEW_AUTHORIZATION, data)
    assert backwards.status_code == 400
    assert "The authorization cannot end before it starts." in page_of(backwards)
    assert "Kaihileikkaukset 2025" in page_of(backwards)

    response = client.post(
        NEW_AUTHORIZATION, data | {"ends_on": (today + datetime.timedelta(days=60)).isoformat()}
    )

    authorization = PurchasedServiceAuthorization.objects.get()
    edit = reverse("professional:authorization_edit", args=[authorization.public_id])
    assert response.headers["Location"] == edit
    assert authorization.producer is None
    assert "not yet named" in page_of(client.get(AUTHORIZATIONS))

    unknown = client.post(edit, {"producer": "1.2.3.4", "ends_on": authorization.ends_on.isoformat()})
    assert "No organisation has the OID 1.2.3.4." in page_of(unknown)
    longer = today + datetime.timedelta(days=120)
    client.post(
        edit, {"producer": producer.oid, "ends_on": longer.isoformat(), "ordered_service": "Kaihileikkaukset"}
    )

    authorization.refresh_from_db()
    assert (authorization.producer, authorization.ends_on, authorization.ordered_service) == (
        producer,
        longer,
        "Kaihileikkaukset",
    )
    assert AuditEvent.objects.filter(action="authorization.update").exists()
    listed = page_of(signed_in(producer_doctor).get(AUTHORIZATIONS))
    assert "Granted to us as the producer" in listed
    assert "Kaihileikkaukset" in listed
    assert county.name in listed


def test_authorization_for_one_patient_needs_a_found_person(cared_for, own_register, treating_doctor):
    client = signed_in(treating_doctor)
    today = timezone.localdate()
    data = {
        "register": str(own_register.public_id),
        "scope": AuthorizationScope.PATIENT,
        "identity_code": "",
        "producer": "",
        "starts_on": today.isoformat(),
        "ends_on": (today + datetime.timedelta(days=30)).isoformat(),
        "ordered_service": "",
    }

    assert "Give the patient&#x27;s identity code." in page_of(client.post(NEW_AUTHORIZATION, data))
    missing = client.post(NEW_AUTHORIZATION, data | {"identity_code": "131052-308T"})
    assert "No person with this identity code was found." in page_of(missing)
    response = client.post(NEW_AUTHORIZATION, data | {"identity_code": cared_for.identity_code})

    assert response.status_code == 302
    authorization = PurchasedServiceAuthorization.objects.get()
    assert (authorization.scope, authorization.person) == (AuthorizationScope.PATIENT, cared_for)
    assert not re.search(cared_for.identity_code, response.headers["Location"])


def test_correcting_laboratory_results_restates_the_results_and_keeps_the_other_entries(
    cared_for, own_register, treating_doctor
):
    original = archive_services.document_create(
        actor=actor_for(treating_doctor),
        person=cared_for,
        kind=DocumentKind.LABORATORY,
        title="Verenkuva",
        lab_results=[archive_services.LabResultInput(loinc="718-7", value="190")],
        diagnoses=[archive_services.DiagnosisInput(code="D64.9", primary=True)],
    )
    client = signed_in(treating_doctor)
    correct = reverse("professional:document_correct", args=[cared_for.public_id, original.public_id])
    form_page = page_of(client.get(correct))
    assert 'value="190"' in form_page
    assert '<option value="718-7" selected>' in form_page

    response = client.post(
        correct,
        {
            "title": "Verenkuva",
            "sampled_on": timezone.localdate().isoformat(),
            "text": "Näytteiden sekaannus korjattu.",
            "test_0": "718-7",
            "value_0": "140",
            "test_1": "",
            "value_1": "",
            "test_2": "",
            "value_2": "",
        },
    )

    assert response.status_code == 302
    corrected = Document.objects.get(status=DocumentStatus.CURRENT)
    assert corrected.version == 2
    assert [r.value for r in corrected.labresults.all()] == [140]
    assert list(corrected.diagnosiss.values_list("code", flat=True)) == ["D64.9"]


def test_code_search_finds_icd10_codes_by_code_and_by_name(treating_doctor):
    client = signed_in(treating_doctor)
    search = reverse("professional:code_search")

    by_code = page_of(client.get(search, {"q": "j06"}))
    by_name = page_of(client.get(search, {"q": "atrial fibrillation"}))

    assert "Acute upper respiratory infection, unspecified" in by_code
    assert "I48.9" in by_name
    assert "No codes found." in page_of(client.get(search, {"q": "zzzz"}))
