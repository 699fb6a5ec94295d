"""Writing into the Patient Data Repository and the social welfare archive (archive.services).

Every rule is shown refusing first, with nothing written, and then allowing, with its audit event.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from archive import selectors, services
from archive.models import (
    AbnormalFlag,
    AuthorizationScope,
    CertificateForm,
    Diagnosis,
    Document,
    DocumentKind,
    DocumentStatus,
    LabResult,
    Measurement,
    PurchasedServiceAuthorization,
    RecordView,
    ServiceEvent,
    ServiceTask,
    Vaccination,
)
from archive.services import DiagnosisInput, LabResultInput, MeasurementInput, VaccinationInput
from kanta import identity_code
from kanta import services as kanta_services
from kanta.audit import Actor
from kanta.errors import RuleViolation
from kanta.models import (
    AuditCategory,
    AuditEvent,
    CareReason,
    DataType,
    LegalBasis,
    OrganisationKind,
    Person,
    Profession,
    RegisterKind,
)
from tests.factories import (
    OrganisationFactory,
    PersonFactory,
    ProfessionalFactory,
    RegisterFactory,
    UnitFactory,
)
from tests.factories_archive import ServiceEventFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def acting(professional, unit=None) -> Actor:
    return Actor(professional=professional, unit=unit or professional.units.get())


def confirm_care(professional, person, *, reason=CareReason.APPOINTMENT):
    kanta_services.care_relationship_confirm(actor=acting(professional), person=person, reason=reason)


def counts() -> dict[str, int]:
    """Rows of everything a write may touch, to prove a refusal left nothing behind."""
    return {
        "documents": Document.objects.count(),
        "diagnoses": Diagnosis.objects.count(),
        "lab_results": LabResult.objects.count(),
        "vaccinations": Vaccination.objects.count(),
        "service_events": ServiceEvent.objects.count(),
        "authorizations": PurchasedServiceAuthorization.objects.count(),
        "change_events": AuditEvent.objects.filter(category=AuditCategory.CHANGE).count(),
    }


def person_of_sex(sex: str, day: int = 1) -> Person:
    number = 902 if sex == "female" else 903
    return PersonFactory(identity_code=identity_code.build(datetime.date(1980, 5, day), number, "-"))


@pytest.fixture
def health_register(county):
    return RegisterFactory(controller=county, kind=RegisterKind.HEALTH_CARE)


@pytest.fixture
def treating(treating_doctor, patient, health_register):
    """The treating doctor, with her unit's care relationship with the patient confirmed."""
    confirm_care(treating_doctor, patient)
    return treating_doctor


@pytest.fixture
def social_register(county):
    return RegisterFactory(controller=county, kind=RegisterKind.SOCIAL_WELFARE)


@pytest.fixture
def social_unit(county):
    return UnitFactory(organisation=county, register_kind=RegisterKind.SOCIAL_WELFARE)


@pytest.fixture
def social_worker(social_unit, social_register, patient):
    worker = ProfessionalFactory(profession=Profession.SOCIAL_WORKER, units=[social_unit])
    confirm_care(worker, patient, reason=CareReason.SOCIAL_SERVICE)
    return worker


@pytest.fixture
def archivist(social_unit):
    return ProfessionalFactory(profession=Profession.ARCHIVIST, units=[social_unit])


@pytest.fixture
def private_provider():
    return OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH)


@pytest.fixture
def producer_doctor(private_provider, patient):
    """A doctor of a private provider the county buys services from; her unit treats the patient."""
    RegisterFactory(controller=private_provider, kind=RegisterKind.HEALTH_CARE)
    doctor = ProfessionalFactory(units=[UnitFactory(organisation=private_provider)])
    confirm_care(doctor, patient)
    return doctor


def authorize(
    register, producer, *, person=None, starts_on=None, ends_on=None
) -> PurchasedServiceAuthorization:
    return PurchasedServiceAuthorization.objects.create(
        organiser=register.controller,
        register=register,
        producer=producer,
        scope=AuthorizationScope.PATIENT if person else AuthorizationScope.REGISTER,
        person=person,
        starts_on=starts_on or TODAY() - datetime.timedelta(days=10),
        ends_on=ends_on or TODAY() + datetime.timedelta(days=30),
    )


def write(professional, person, **extra) -> Document:
    fields = {"kind": DocumentKind.RECORD_ENTRY, "title": "Vastaanottokäynti", "text": "Potilas voi hyvin."}
    return services.document_create(actor=acting(professional), person=person, **(fields | extra))


def refused(call, *args, **kwargs) -> RuleViolation:
    """Run a call that must be refused; return the refusal after checking that nothing was written."""
    before = counts()
    with pytest.raises(RuleViolation) as caught:
        call(*args, **kwargs)
    assert counts() == before
    return caught.value


# -- who may write -----------------------------------------------------------------------------------------


def test_professional_without_care_relationship_cannot_write_then_with_one_can(
    patient, treating_doctor, health_register
):
    refusal = refused(write, treating_doctor, patient)
    assert refusal.code == "no_care_relationship"
    assert "care relationship" in str(refusal)

    confirm_care(treating_doctor, patient)
    treating = treating_doctor
    document = write(treating, patient, diagnoses=[DiagnosisInput("J06.9", primary=True)])

    assert document.register == health_register
    assert document.author == treating
    assert document.status == DocumentStatus.CURRENT
    assert document.version == 1
    assert document.view == RecordView.GENERAL
    event = AuditEvent.objects.get(action="document.create")
    assert event.category == AuditCategory.CHANGE
    assert event.person == patient
    assert event.professional == treating
    assert event.data_type == DataType.PATIENT
    assert event.legal_basis == LegalBasis.OWN_REGISTER
    assert event.object_ids == [str(document.public_id)]


def test_professional_of_another_county_cannot_write(patient, other_county_doctor, treating):
    assert refused(write, other_county_doctor, patient).code == "no_care_relationship"


def test_care_relationship_of_another_unit_of_the_same_county_does_not_count(patient, county, treating):
    # The relationship is the treating unit's; a colleague elsewhere in the county has none.
    colleague = ProfessionalFactory(units=[UnitFactory(organisation=county)])
    assert refused(write, colleague, patient).code == "no_care_relationship"


def test_medical_student_cannot_sign_even_with_a_care_relationship(patient, health_centre, treating):
    student = ProfessionalFactory(profession=Profession.MEDICAL_STUDENT, units=[health_centre])

    refusal = refused(write, student, patient)

    assert refusal.code == "student"
    assert "students" in str(refusal)
    assert refused(
        services.service_event_open, actor=acting(student), person=patient, title="x", started_on=TODAY()
    )


def test_professional_acting_in_a_unit_she_does_not_work_in_is_refused(patient, treating, other_county_unit):
    actor = Actor(professional=treating, unit=other_county_unit)
    refusal = refused(
        services.document_create, actor=actor, person=patient, kind=DocumentKind.RECORD_ENTRY, title="x"
    )
    assert refusal.code == "not_in_unit"


def test_organisation_without_a_register_of_the_units_kind_cannot_record(patient, county):
    occupational_unit = UnitFactory(organisation=county, register_kind=RegisterKind.OCCUPATIONAL_HEALTH)
    doctor = ProfessionalFactory(units=[occupational_unit])
    confirm_care(doctor, patient)

    refusal = refused(write, doctor, patient)

    assert refusal.code == "no_register"
    assert "occupational health care" in str(refusal)


# -- structured entries ------------------------------------------------------------------------------------


def test_entries_take_titles_units_and_reference_ranges_from_the_code_lists(health_centre, health_register):
    woman, man = person_of_sex("female", 1), person_of_sex("male", 2)
    doctor = ProfessionalFactory(units=[health_centre])
    confirm_care(doctor, woman)
    confirm_care(doctor, man)
    sampled = TODAY() - datetime.timedelta(days=1)

    for person in (woman, man):
        write(
            doctor,
            person,
            kind=DocumentKind.LABORATORY,
            title="Laboratoriotulokset",
            lab_results=[
                LabResultInput("718-7", "130", sampled_on=sampled),
                {"loinc": "14749-6", "value": "7,4", "sampled_on": sampled.isoformat()},
                LabResultInput("3016-3", Decimal("0.2")),
            ],
            diagnoses=[{"code": "e11.9", "primary": True}],
            measurements=[MeasurementInput("8480-6", 142)],
            vaccinations=[VaccinationInput("J07BB02", given_on=sampled)],
        )

    # 130 g/L is within a woman's range (117-155) and below a man's (134-167).
    assert LabResult.objects.get(person=woman, loinc="718-7").abnormal == AbnormalFlag.NORMAL
    mans_hemoglobin = LabResult.objects.get(person=man, loinc="718-7")
    assert mans_hemoglobin.abnormal == AbnormalFlag.LOW
    assert (mans_hemoglobin.reference_low, mans_hemoglobin.reference_high) == (134, 167)
    assert mans_hemoglobin.unit_of_measure == "g/L"
    assert mans_hemoglobin.name == "Hemoglobin [Mass/volume] in Blood"
    assert mans_hemoglobin.recorded_on == sampled
    glucose = LabResult.objects.get(person=woman, loinc="14749-6")
    assert (glucose.value, glucose.unit_of_measure, glucose.abnormal) == (Decimal("7.4"), "mmol/L", "H")
    assert LabResult.objects.get(person=woman, loinc="3016-3").abnormal == AbnormalFlag.LOW
    diagnosis = Diagnosis.objects.get(person=woman)
    assert (diagnosis.code, diagnosis.title, diagnosis.primary) == (
        "E11.9",
        "Type 2 diabetes mellitus without complications",
        True,
    )
    measurement = Measurement.objects.get(person=woman)
    assert (measurement.value, measurement.unit_of_measure, measurement.recorded_on) == (142, "mmHg", TODAY())
    vaccination = Vaccination.objects.get(person=woman)
    assert vaccination.name == "influenza, inactivated, split virus or surface antigen"
    assert vaccination.document.kind == DocumentKind.LABORATORY


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ({"diagnoses": [DiagnosisInput("K58.9")]}, "K58.9"),  # withdrawn from WHO ICD-10 in 2016
        ({"diagnoses": [DiagnosisInput("J06.9"), DiagnosisInput("XYZ")]}, "XYZ"),
        ({"lab_results": [LabResultInput("718-6", "120")]}, "718-6"),
        ({"vaccinations": [VaccinationInput("J07XX99")]}, "J07XX99"),
        ({"measurements": [MeasurementInput("718-7", "120")]}, "718-7"),  # a lab test, not a measurement
    ],
)
def test_unknown_code_is_refused_naming_the_code_and_nothing_is_written(patient, treating, entries, code):
    refusal = refused(write, treating, patient, **entries)

    assert refusal.code == "unknown_code"
    assert code in str(refusal)


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        ({"lab_results": [LabResultInput("718-7", "plenty")]}, None),
        ({"lab_results": [LabResultInput("718-7", "1e20")]}, None),
        ({"lab_results": [LabResultInput("718-7", "1e40")]}, None),
        ({"measurements": [MeasurementInput("8480-6", "NaN")]}, None),
        (
            {"diagnoses": [DiagnosisInput("I10", primary=True), DiagnosisInput("E11.9", primary=True)]},
            "diagnoses",
        ),
        (
            {"diagnoses": [DiagnosisInput("I10", diagnosed_on=TODAY() + datetime.timedelta(days=1))]},
            "diagnoses",
        ),
        ({"vaccinations": [VaccinationInput("J07BB02", dose=0)]}, "vaccinations"),
        ({"risks": [{"kind": "allergy", "description": "  "}]}, "risks"),
        ({"imaging_studies": [{"study_instance_uid": "abc", "modality": "CT", "examination": "Pää"}]}, None),
    ],
)
def test_malformed_entries_are_refused_and_nothing_is_written(patient, treating, entries, field):
    refusal = refused(write, treating, patient, **entries)
    if field:
        assert refusal.field == field


def test_risks_procedures_and_imaging_study_references_are_stored(patient, treating):
    document = write(
        treating,
        patient,
        kind=DocumentKind.IMAGING_STATEMENT,
        title="Pään TT",
        risks=[{"kind": "allergy", "description": "Penisilliiniallergia"}],
        procedures=[{"description": "Haavan ompelu"}],
        imaging_studies=[
            {
                "study_instance_uid": "1.2.246.10.1.2.3",
                "modality": "ct",
                "examination": "Pään TT ilman varjoainetta",
            }
        ],
    )

    assert document.riskinformations.get().description == "Penisilliiniallergia"
    assert document.procedures.get().description == "Haavan ompelu"
    assert document.imagingstudys.get().modality == "CT"


# -- kinds and registers -----------------------------------------------------------------------------------


def test_social_welfare_document_is_refused_in_a_health_register(patient, treating):
    refusal = refused(
        write, treating, patient, kind=DocumentKind.DECISION, service_task=ServiceTask.ELDERLY_SERVICES
    )
    assert refusal.field == "kind"


def test_health_document_is_refused_in_a_social_welfare_register(patient, social_worker):
    refusal = refused(write, social_worker, patient, kind=DocumentKind.RECORD_ENTRY)
    assert "social welfare register" in str(refusal)


def test_social_welfare_document_needs_a_service_task_then_is_filed_under_it(
    patient, social_worker, social_register
):
    refusal = refused(write, social_worker, patient, kind=DocumentKind.SERVICE_NEED_ASSESSMENT)
    assert refusal.field == "service_task"

    document = write(
        social_worker,
        patient,
        kind=DocumentKind.SERVICE_NEED_ASSESSMENT,
        title="Palvelutarpeen arviointi",
        service_task=ServiceTask.ELDERLY_SERVICES,
        special_content=True,
    )

    assert document.register == social_register
    assert document.service_task == ServiceTask.ELDERLY_SERVICES
    assert document.special_content
    event = AuditEvent.objects.get(action="document.create")
    assert event.data_type == DataType.SOCIAL_WELFARE


def test_health_document_cannot_carry_a_service_task(patient, treating):
    assert refused(write, treating, patient, service_task=ServiceTask.CHILD_WELFARE).field == "service_task"


# -- certificates ------------------------------------------------------------------------------------------


SV6 = {
    "diagnosis_code": "M54.5",
    "incapacity_from": "2026-03-02",
    "incapacity_to": "2026-03-13",
    "statement": "Akuutti alaselkäkipu, ei työkykyinen fyysiseen työhön.",
}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({}, "certificate_form"),
        (
            {"certificate_form": CertificateForm.SV6, "form_data": SV6 | {"diagnosis_code": ""}},
            "diagnosis_code",
        ),
        (
            {"certificate_form": CertificateForm.SV6, "form_data": SV6 | {"diagnosis_code": "M54.55"}},
            "diagnosis_code",
        ),
        (
            {"certificate_form": CertificateForm.SV6, "form_data": SV6 | {"incapacity_to": "13.3.2026"}},
            "incapacity_to",
        ),
        (
            {"certificate_form": CertificateForm.SV7, "form_data": SV6 | {"incapacity_to": "2026-03-01"}},
            "incapacity_to",
        ),
        (
            {"certificate_form": CertificateForm.SV6, "form_data": SV6 | {"favourite_colour": "blue"}},
            "favourite_colour",
        ),
        (
            {"certificate_form": CertificateForm.F122, "form_data": {"licence_group": "group1"}},
            "fit_to_drive",
        ),
        (
            {
                "certificate_form": CertificateForm.F122,
                "form_data": {"licence_group": "3", "fit_to_drive": "yes"},
            },
            "licence_group",
        ),
    ],
)
def test_certificate_without_a_valid_form_is_refused(patient, treating, extra, field):
    refusal = refused(
        write, treating, patient, kind=DocumentKind.CERTIFICATE, title="Lääkärinlausunto", **extra
    )
    assert refusal.field == field


def test_form_data_on_a_document_that_is_not_a_certificate_is_refused(patient, treating):
    assert refused(write, treating, patient, certificate_form=CertificateForm.SV6, form_data=SV6)


def test_certificates_store_their_checked_form_fields(patient, treating):
    sickness = write(
        treating,
        patient,
        kind=DocumentKind.CERTIFICATE,
        title="Lääkärintodistus A",
        certificate_form=CertificateForm.SV6,
        form_data=SV6 | {"diagnosis_code": "m545", "incapacity_from": datetime.date(2026, 3, 2)},
    )
    driving = write(
        treating,
        patient,
        kind=DocumentKind.CERTIFICATE,
        title="Ajoterveyslausunto",
        certificate_form=CertificateForm.F122,
        form_data={"licence_group": "group2", "fit_to_drive": "yes", "next_check_on": "2027-06-01"},
    )

    assert sickness.form_data == SV6
    sickness.refresh_from_db()
    assert sickness.form_data["incapacity_from"] == "2026-03-02"
    assert driving.form_data == {
        "licence_group": "group2",
        "fit_to_drive": True,
        "next_check_on": "2027-06-01",
    }


# -- corrections -------------------------------------------------------------------------------------------


def test_professional_of_another_unit_without_care_relationship_cannot_correct(patient, treating):
    document = write(treating, patient)
    unrelated = UnitFactory(organisation=treating.units.get().organisation)
    stranger = ProfessionalFactory(units=[unrelated])

    refusal = refused(
        services.document_correct, actor=acting(stranger), document=document, title="Korjattu", text="x"
    )

    assert refusal.code == "no_care_relationship"
    document.refresh_from_db()
    assert document.status == DocumentStatus.CURRENT


def test_correction_supersedes_and_the_old_version_stays_in_history(patient, treating, health_register):
    event = services.service_event_open(
        actor=acting(treating), person=patient, title="Selkäkipu", started_on=TODAY()
    )
    original = write(
        treating,
        patient,
        service_event=event,
        title="Käynti",
        diagnoses=[DiagnosisInput("M54.5", primary=True)],
    )

    corrected = services.document_correct(
        actor=acting(treating),
        document=original,
        title="Käynti (korjattu)",
        text="Potilas voi hyvin. Kontrolli kahden viikon päästä.",
        diagnoses=[DiagnosisInput("M54.4", primary=True)],
    )

    original.refresh_from_db()
    assert original.status == DocumentStatus.SUPERSEDED
    assert (original.title, original.text) == ("Käynti", "Potilas voi hyvin.")
    assert original.diagnosiss.get().code == "M54.5"
    assert corrected.version == 2
    assert corrected.supersedes == original
    assert corrected.lineage_id == original.lineage_id
    assert (corrected.person, corrected.register, corrected.service_event, corrected.kind) == (
        patient,
        health_register,
        event,
        original.kind,
    )
    assert corrected.status == DocumentStatus.CURRENT
    assert corrected.diagnosiss.get().code == "M54.4"
    assert [d.version for d in selectors.versions(corrected)] == [2, 1]
    assert list(selectors.current_documents(person=patient)) == [corrected]
    audit = AuditEvent.objects.get(action="document.correct")
    assert audit.object_ids == [str(corrected.public_id), str(original.public_id)]
    assert audit.category == AuditCategory.CHANGE

    # Only the current version can be corrected.
    refusal = refused(
        services.document_correct, actor=acting(treating), document=original, title="x", text="y"
    )
    assert refusal.code == "not_current"


def test_correcting_a_certificate_keeps_its_form_unless_new_data_is_given(patient, treating):
    certificate = write(
        treating,
        patient,
        kind=DocumentKind.CERTIFICATE,
        title="Lääkärintodistus A",
        certificate_form=CertificateForm.SV6,
        form_data=SV6,
    )
    corrected = services.document_correct(
        actor=acting(treating),
        document=certificate,
        title="Lääkärintodistus A",
        text="",
        form_data=SV6 | {"incapacity_to": "2026-03-20"},
    )

    assert corrected.certificate_form == CertificateForm.SV6
    assert corrected.form_data["incapacity_to"] == "2026-03-20"
    assert (
        refused(
            services.document_correct,
            actor=acting(treating),
            document=corrected,
            title="x",
            text="",
            form_data={"incapacity_to": "2026-03-20"},
        ).field
        == "diagnosis_code"
    )


# -- invalidation and delayed display ----------------------------------------------------------------------


def test_invalidation_needs_a_reason_and_keeps_the_document(patient, treating):
    document = write(treating, patient)

    assert (
        refused(services.document_invalidate, actor=acting(treating), document=document, reason="  ").field
        == "reason"
    )

    services.document_invalidate(
        actor=acting(treating), document=document, reason="Kirjattu väärälle potilaalle"
    )

    document.refresh_from_db()
    assert document.status == DocumentStatus.INVALIDATED
    assert document.invalidation_reason == "Kirjattu väärälle potilaalle"
    assert list(selectors.current_documents(person=patient)) == []
    assert selectors.document_with_history(person=patient, public_id=document.public_id) == document
    event = AuditEvent.objects.get(action="document.invalidate")
    assert event.reason_text == "Kirjattu väärälle potilaalle"
    # An invalidated document is history: not corrected, not invalidated again.
    assert refused(services.document_correct, actor=acting(treating), document=document, title="x", text="y")


def test_delayed_display_needs_a_future_date_and_a_reason(patient, treating):
    document = write(treating, patient)
    delay = services.document_delay_display

    assert (
        refused(
            delay, actor=acting(treating), document=document, until=TODAY(), reason="Tulos kerrotaan"
        ).field
        == "until"
    )
    assert (
        refused(
            delay,
            actor=acting(treating),
            document=document,
            until=TODAY() - datetime.timedelta(days=1),
            reason="x",
        ).field
        == "until"
    )
    assert (
        refused(
            delay,
            actor=acting(treating),
            document=document,
            until=TODAY() + datetime.timedelta(days=14),
            reason="",
        ).field
        == "reason"
    )

    until = TODAY() + datetime.timedelta(days=14)
    delay(actor=acting(treating), document=document, until=until, reason="Tulos kerrotaan vastaanotolla")

    document.refresh_from_db()
    assert (document.display_delayed_until, document.display_delay_reason) == (
        until,
        "Tulos kerrotaan vastaanotolla",
    )
    assert AuditEvent.objects.filter(action="document.delay_display", person=patient).count() == 1


def test_correction_carries_a_running_display_delay(patient, treating):
    document = write(treating, patient)
    until = TODAY() + datetime.timedelta(days=7)
    services.document_delay_display(actor=acting(treating), document=document, until=until, reason="Syy")

    corrected = services.document_correct(
        actor=acting(treating), document=document, title="Korjattu", text=""
    )

    assert (corrected.display_delayed_until, corrected.display_delay_reason) == (until, "Syy")


def test_unrelated_professional_cannot_invalidate_or_delay(patient, treating, other_county_doctor):
    document = write(treating, patient)
    actor = acting(other_county_doctor)
    assert refused(services.document_invalidate, actor=actor, document=document, reason="x")
    assert refused(
        services.document_delay_display,
        actor=actor,
        document=document,
        until=TODAY() + datetime.timedelta(days=3),
        reason="x",
    )


# -- purchased services ------------------------------------------------------------------------------------


def test_producer_without_an_authorization_cannot_write_into_the_organisers_register(
    patient, producer_doctor, health_register
):
    refusal = refused(write, producer_doctor, patient, organiser_register=health_register)
    assert refusal.code == "no_authorization"


@pytest.mark.parametrize(
    "problem", ["expired", "not_started", "other_patient", "no_producer", "other_register"]
)
def test_producer_is_refused_under_an_authorization_that_does_not_cover_the_write(
    patient, producer_doctor, private_provider, health_register, county, problem
):
    yesterday = TODAY() - datetime.timedelta(days=1)
    match problem:
        case "expired":
            authorize(health_register, private_provider, person=patient, ends_on=yesterday)
        case "not_started":
            authorize(health_register, private_provider, starts_on=TODAY() + datetime.timedelta(days=1))
        case "other_patient":
            authorize(health_register, private_provider, person=PersonFactory())
        case "no_producer":
            authorize(health_register, None, person=patient)
        case "other_register":
            authorize(
                RegisterFactory(controller=county, kind=RegisterKind.OCCUPATIONAL_HEALTH), private_provider
            )

    assert (
        refused(write, producer_doctor, patient, organiser_register=health_register).code
        == "no_authorization"
    )


@pytest.mark.parametrize("scope", [AuthorizationScope.PATIENT, AuthorizationScope.REGISTER])
def test_producer_with_a_valid_authorization_writes_into_the_organisers_register(
    patient, producer_doctor, private_provider, health_register, scope
):
    authorize(
        health_register, private_provider, person=patient if scope == AuthorizationScope.PATIENT else None
    )
    event = services.service_event_open(
        actor=acting(producer_doctor),
        person=patient,
        title="Kaihileikkaus ostopalveluna",
        started_on=TODAY(),
        organiser_register=health_register,
    )

    document = write(
        producer_doctor,
        patient,
        service_event=event,
        title="Leikkauskertomus",
        organiser_register=health_register,
    )

    assert event.register == health_register
    assert document.register == health_register
    assert document.unit.organisation == private_provider
    audit = AuditEvent.objects.get(action="document.create")
    assert audit.legal_basis == LegalBasis.PURCHASED_SERVICE
    assert audit.organisation == private_provider
    # The organiser's own doctor may correct what the producer wrote: it is in her register.
    assert AuditEvent.objects.get(action="service_event.open").legal_basis == LegalBasis.PURCHASED_SERVICE


def test_producer_without_an_own_register_still_writes_under_authorization(patient, health_register):
    # A producer organisation with no register at all writes only into the organiser's.
    provider = OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH)
    doctor = ProfessionalFactory(units=[UnitFactory(organisation=provider)])
    confirm_care(doctor, patient)
    authorize(health_register, provider, person=patient)

    assert refused(write, doctor, patient).code == "no_register"
    assert write(doctor, patient, organiser_register=health_register).register == health_register


def test_producer_lists_every_authorization_granted_to_it(
    patient, private_provider, health_register, county, django_assert_num_queries
):
    valid = authorize(health_register, private_provider, person=patient)
    expired = authorize(health_register, private_provider, ends_on=TODAY() - datetime.timedelta(days=1))
    another_county = RegisterFactory(kind=RegisterKind.HEALTH_CARE)
    other_organiser = authorize(another_county, private_provider)
    authorize(health_register, OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH))  # someone else's
    authorize(health_register, None)  # producer not yet named

    with django_assert_num_queries(1):
        received = list(selectors.authorizations_received(organisation=private_provider))
        organisers = {a.organiser.name for a in received} | {a.register.controller.name for a in received}
        people = [a.person for a in received]

    assert set(received) == {valid, expired, other_organiser}
    assert organisers == {county.name, another_county.controller.name}
    assert patient in people
    given = list(selectors.authorizations_given(organisation=county))
    assert len(given) == 4
    assert other_organiser not in given


# -- creating and editing authorizations -------------------------------------------------------------------


def test_only_a_professional_of_the_controller_creates_an_authorization(
    patient, health_register, other_county_doctor, private_provider
):
    refusal = refused(
        services.authorization_create,
        actor=acting(other_county_doctor),
        register=health_register,
        scope=AuthorizationScope.REGISTER,
        producer=private_provider,
        starts_on=TODAY(),
        ends_on=TODAY() + datetime.timedelta(days=90),
    )
    assert refusal.code == "not_organiser"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"scope": AuthorizationScope.PATIENT}, "person"),
        ({"scope": AuthorizationScope.REGISTER, "person": "patient"}, "person"),
        ({"scope": AuthorizationScope.REGISTER, "ends_on": TODAY() - datetime.timedelta(days=1)}, "ends_on"),
        ({"scope": "everything"}, "scope"),
        ({"scope": AuthorizationScope.REGISTER, "producer": "self"}, "producer"),
        ({"scope": AuthorizationScope.REGISTER, "producer": "pharmacy"}, "producer"),
    ],
)
def test_malformed_authorization_is_refused(patient, treating, health_register, county, extra, field):
    arguments = {
        "register": health_register,
        "starts_on": TODAY() - datetime.timedelta(days=2),
        "ends_on": TODAY() + datetime.timedelta(days=30),
    } | extra
    if arguments.get("person") == "patient":
        arguments["person"] = patient
    if arguments.get("producer") == "self":
        arguments["producer"] = county
    elif arguments.get("producer") == "pharmacy":
        arguments["producer"] = OrganisationFactory(kind=OrganisationKind.PHARMACY)

    refusal = refused(services.authorization_create, actor=acting(treating), **arguments)

    assert refusal.field == field


def test_patient_authorization_needs_the_organisers_care_relationship(health_register, treating):
    stranger = PersonFactory()
    refusal = refused(
        services.authorization_create,
        actor=acting(treating),
        register=health_register,
        scope=AuthorizationScope.PATIENT,
        person=stranger,
        starts_on=TODAY(),
        ends_on=TODAY() + datetime.timedelta(days=30),
    )
    assert refusal.code == "no_care_relationship"


def test_organiser_creates_an_authorization_and_names_the_producer_later(
    patient, treating, health_register, private_provider, producer_doctor
):
    authorization = services.authorization_create(
        actor=acting(treating),
        register=health_register,
        scope=AuthorizationScope.PATIENT,
        person=patient,
        starts_on=TODAY(),
        ends_on=TODAY() + datetime.timedelta(days=60),
        ordered_service="Kaihileikkaus",
    )
    assert authorization.producer is None
    assert authorization.created_by == treating
    # Without a named producer it authorizes nobody.
    assert (
        refused(write, producer_doctor, patient, organiser_register=health_register).code
        == "no_authorization"
    )

    services.authorization_update(
        actor=acting(treating), authorization=authorization, producer=private_provider
    )

    assert write(producer_doctor, patient, organiser_register=health_register).register == health_register
    events = AuditEvent.objects.filter(object_type="purchased_service_authorization").order_by("id")
    assert [(e.action, e.person) for e in events] == [
        ("authorization.create", patient),
        ("authorization.update", patient),
    ]
    # Once named, the producer stays; the organiser may still move the end date.
    other = OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH)
    assert (
        refused(
            services.authorization_update, actor=acting(treating), authorization=authorization, producer=other
        ).field
        == "producer"
    )
    ends = TODAY() + datetime.timedelta(days=10)
    updated = services.authorization_update(
        actor=acting(treating),
        authorization=authorization,
        ends_on=ends,
        ordered_service="Kaihileikkaus, vasen silmä",
    )
    assert (updated.ends_on, updated.ordered_service, updated.scope, updated.person) == (
        ends,
        "Kaihileikkaus, vasen silmä",
        AuthorizationScope.PATIENT,
        patient,
    )


def test_producer_cannot_edit_the_organisers_authorization(
    health_register, private_provider, producer_doctor
):
    authorization = authorize(health_register, private_provider)
    refusal = refused(
        services.authorization_update,
        actor=acting(producer_doctor),
        authorization=authorization,
        ends_on=TODAY() + datetime.timedelta(days=365),
    )
    assert refusal.code == "not_organiser"


# -- archivists --------------------------------------------------------------------------------------------


@pytest.fixture
def client_document(patient, social_worker):
    return write(
        social_worker,
        patient,
        kind=DocumentKind.DECISION,
        title="Päätös kotihoidosta",
        service_task=ServiceTask.ELDERLY_SERVICES,
    )


def test_archivist_of_another_organisation_cannot_file(client_document):
    elsewhere = UnitFactory(register_kind=RegisterKind.SOCIAL_WELFARE)
    RegisterFactory(controller=elsewhere.organisation, kind=RegisterKind.SOCIAL_WELFARE)
    outsider = ProfessionalFactory(profession=Profession.ARCHIVIST, units=[elsewhere])

    refusal = refused(
        services.document_file,
        actor=acting(outsider),
        document=client_document,
        service_task=ServiceTask.DISABILITY_SERVICES,
    )

    assert refusal.code == "not_archivist"


def test_social_worker_is_not_an_archivist(client_document, social_worker):
    refusal = refused(
        services.document_file,
        actor=acting(social_worker),
        document=client_document,
        service_task=ServiceTask.DISABILITY_SERVICES,
    )
    assert refusal.code == "not_archivist"


def test_archivist_cannot_file_health_documents(patient, treating, county):
    health_archivist = ProfessionalFactory(profession=Profession.ARCHIVIST, units=[treating.units.get()])
    document = write(treating, patient)
    refusal = refused(
        services.document_file,
        actor=acting(health_archivist),
        document=document,
        service_task=ServiceTask.ELDERLY_SERVICES,
    )
    assert refusal.code == "not_archivist"


def test_archivist_of_the_controller_files_and_corrects_metadata_without_client_relationship(
    patient, client_document, archivist, social_register
):
    filed = services.document_file(
        actor=acting(archivist), document=client_document, service_task=ServiceTask.DISABILITY_SERVICES
    )
    assert filed.service_task == ServiceTask.DISABILITY_SERVICES
    assert (
        refused(
            services.document_file, actor=acting(archivist), document=client_document, service_task="hobbies"
        ).field
        == "service_task"
    )

    corrected = services.document_correct_metadata(
        actor=acting(archivist), document=client_document, title="Päätös kotihoidon tukipalveluista"
    )

    assert corrected.title == "Päätös kotihoidon tukipalveluista"
    assert corrected.text == client_document.text
    assert corrected.version == 1
    events = AuditEvent.objects.filter(professional=archivist).order_by("id")
    assert [(e.action, e.category, e.data_type, e.person) for e in events] == [
        ("document.file", AuditCategory.CHANGE, DataType.SOCIAL_WELFARE, patient),
        ("document.correct_metadata", AuditCategory.CHANGE, DataType.SOCIAL_WELFARE, patient),
    ]
    # The change is named, its content is not written into the log.
    assert events[1].reason_text == "changed: title"
    assert [d.title for d in selectors.register_documents(register=social_register)] == [corrected.title]
    assert (
        list(selectors.register_documents(register=social_register, service_task=ServiceTask.CHILD_WELFARE))
        == []
    )


def test_archivist_list_shows_current_and_invalidated_but_not_superseded_versions(
    patient, social_worker, social_register
):
    first = write(
        social_worker,
        patient,
        kind=DocumentKind.CLIENT_PLAN,
        title="A",
        service_task=ServiceTask.CHILD_WELFARE,
    )
    second = write(
        social_worker,
        patient,
        kind=DocumentKind.CLIENT_PLAN,
        title="B",
        service_task=ServiceTask.CHILD_WELFARE,
    )
    corrected = services.document_correct(actor=acting(social_worker), document=first, title="A2", text="")
    services.document_invalidate(actor=acting(social_worker), document=second, reason="Väärä asiakas")

    listed = list(
        selectors.register_documents(register=social_register, service_task=ServiceTask.CHILD_WELFARE)
    )

    assert set(listed) == {corrected, second}
    assert Document.objects.filter(lineage_id=first.lineage_id).count() == 2


# -- service events ----------------------------------------------------------------------------------------


def test_service_event_is_opened_in_the_own_register_by_the_treating_unit(patient, treating, health_register):
    actor = acting(treating)
    other_patient = PersonFactory()
    assert refused(
        services.service_event_open, actor=actor, person=other_patient, title="x", started_on=TODAY()
    )

    event = services.service_event_open(
        actor=actor, person=patient, title="Diabeteksen seuranta", started_on="2026-01-15"
    )

    assert (event.register, event.unit, event.started_on) == (
        health_register,
        treating.units.get(),
        datetime.date(2026, 1, 15),
    )
    assert AuditEvent.objects.get(action="service_event.open").object_ids == [str(event.public_id)]
    # A document cannot join another person's service event.
    assert (
        refused(
            write,
            treating,
            patient,
            service_event=ServiceEventFactory(person=other_patient, register=health_register),
        ).field
        == "service_event"
    )
