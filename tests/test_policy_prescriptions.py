"""Rule 6 of the disclosure gate: who sees a person's prescriptions, and the per-prescription denial.

One small world: the patient's prescriptions written in county A (one of them later under a denial), one in
county B; a pharmacy; prescribers in both counties; a unit of a private provider that receives renewal
requests; a social worker. The rules are DOMAIN.md "Who may see what", rule 6, and kanta-reference.md 1.6
"Prescription denials"; docs/disclosure-gate.md says how they are read.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consents import policy, services
from consents.models import Channel, InformationNotice, Mandate, MandateScope, ProhibitionScope
from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import (
    AuditCategory,
    AuditEvent,
    AuditOutcome,
    CareReason,
    DataType,
    Guardianship,
    LegalBasis,
    OrganisationKind,
    Person,
    Profession,
    Professional,
    RegisterKind,
    Unit,
)
from kanta.services import care_relationship_confirm
from prescriptions.models import PrescriptionStatus, PrescriptionSummary, RenewalStatus
from tests.factories import (
    OrganisationFactory,
    PersonFactory,
    ProfessionalFactory,
    RegisterFactory,
    UnitFactory,
    UserFactory,
    temporary_identity_code,
)
from tests.factories_archive import DocumentFactory, InformationNoticeFactory, ProhibitionFactory
from tests.factories_prescriptions import (
    CareRelationshipFactory,
    DispensingFactory,
    PharmacistFactory,
    PharmacyUnitFactory,
    PrescriptionFactory,
    ProductFactory,
    RenewalRequestFactory,
)

pytestmark = pytest.mark.django_db

REASON = "Unconscious on arrival, no relatives reachable"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def born_years_ago(years: int) -> datetime.date:
    day = timezone.localdate() - datetime.timedelta(days=30)
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def actor_of(professional: Professional, unit: Unit) -> audit.Actor:
    return audit.Actor(user=professional.user, professional=professional, unit=unit)


def citizen_actor(person: Person) -> audit.Actor:
    return audit.Actor(user=person.user)


def in_care(person: Person, unit: Unit, reason: str = CareReason.APPOINTMENT):
    return CareRelationshipFactory(person=person, unit=unit, reason=reason)


def ids(prescriptions) -> set:
    return {p.public_id for p in prescriptions}


def rows(person: Person, **filters) -> list[AuditEvent]:
    """The reads logged about the person (not the changes, such as making a denial)."""
    reads = AuditEvent.objects.filter(
        person=person, category__in=[AuditCategory.ACCESS, AuditCategory.EMERGENCY]
    )
    return list(reads.filter(**filters).order_by("id"))


@dataclass
class World:
    patient: Person
    units: dict[str, Unit]
    professionals: dict[str, Professional]
    denied: object  # county A, prescribed by the "a" doctor; under a denial once `deny()` ran
    other_a: object  # county A, another doctor of county A
    from_b: object  # county B


@pytest.fixture
def world() -> World:
    patient = PersonFactory(
        identity_code=temporary_identity_code(born_years_ago(45)), first_names="Aino", user=UserFactory()
    )
    county_a = OrganisationFactory(kind=OrganisationKind.COUNTY, name_fi="Hyvinvointialue A")
    county_b = OrganisationFactory(kind=OrganisationKind.COUNTY, name_fi="Hyvinvointialue B")
    private = OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH, name_fi="Yksityinen P")
    units = {
        "a": UnitFactory(organisation=county_a),
        "a2": UnitFactory(organisation=county_a),  # another health centre of county A
        "a_sw": UnitFactory(organisation=county_a, register_kind=RegisterKind.SOCIAL_WELFARE),
        "b": UnitFactory(organisation=county_b),
        "p": UnitFactory(organisation=private, accepts_renewal_requests=True),
        "pharmacy": PharmacyUnitFactory(),
    }
    professionals = {
        "a": ProfessionalFactory(units=[units["a"]]),
        "a2": ProfessionalFactory(units=[units["a2"]]),
        "a_sw": ProfessionalFactory(units=[units["a_sw"]], profession=Profession.SOCIAL_WORKER),
        "b": ProfessionalFactory(units=[units["b"]]),
        "p": ProfessionalFactory(units=[units["p"]]),
        "pharmacy": PharmacistFactory(units=[units["pharmacy"]]),
    }
    product = ProductFactory()
    denied = PrescriptionFactory(
        person=patient,
        unit=units["a"],
        prescriber=professionals["a"],
        product=product,
        medicine_name="Denied",
    )
    other_a = PrescriptionFactory(
        person=patient, unit=units["a2"], prescriber=professionals["a2"], product=product, medicine_name="A2"
    )
    from_b = PrescriptionFactory(
        person=patient, unit=units["b"], prescriber=professionals["b"], product=product, medicine_name="B"
    )
    return World(patient, units, professionals, denied, other_a, from_b)


def deny(world: World, prescription=None, *, emergency_permission: bool = False):
    if not InformationNotice.objects.filter(person=world.patient).exists():
        InformationNoticeFactory(person=world.patient)
    return services.prescription_denial_add(
        actor=citizen_actor(world.patient),
        person=world.patient,
        acting_person=world.patient,
        prescription=prescription or world.denied,
        emergency_permission=emergency_permission,
    )


def gate_of(world: World, key: str, *, emergency_reason: str = "", unit: str | None = None) -> policy.Gate:
    professional = world.professionals[key]
    return policy.for_professional(
        actor=actor_of(professional, world.units[unit or key]),
        person=world.patient,
        emergency_reason=emergency_reason,
    )


ALL_THREE = ("denied", "other_a", "from_b")


def of(world: World, *names: str) -> set:
    return {getattr(world, name).public_id for name in names}


# -- pharmacies -------------------------------------------------------------------------------------------


def test_a_pharmacy_without_a_care_relationship_sees_nothing_and_the_refusal_is_logged(world):
    gate = gate_of(world, "pharmacy")

    assert gate.dispensable_prescriptions() == []
    assert gate.prescriptions() == []
    with pytest.raises(Http404):
        gate.prescription(world.other_a.public_id)

    refused = rows(world.patient, outcome=AuditOutcome.REFUSED)
    assert [(e.action, e.data_type, e.legal_basis, e.reason_text) for e in refused] == [
        ("prescriptions.pharmacy_search", DataType.PRESCRIPTION, LegalBasis.NONE, "no care relationship"),
        ("prescriptions.list", DataType.PRESCRIPTION, LegalBasis.NONE, "no care relationship"),
        ("prescription.view", DataType.PRESCRIPTION, LegalBasis.NONE, "no care relationship"),
    ]
    assert refused[0].object_ids == [] and refused[2].object_ids == [str(world.other_a.public_id)]
    assert refused[0].organisation == world.units["pharmacy"].organisation
    assert not rows(world.patient, outcome=AuditOutcome.ALLOWED)


def test_a_pharmacy_with_a_dispensing_care_relationship_sees_prescriptions_without_any_consent(world):
    # no information notice, no disclosure consent, and a prohibition of all patient data: none of it matters
    ProhibitionFactory(person=world.patient, scope=ProhibitionScope.ALL_DATA)
    actor = actor_of(world.professionals["pharmacy"], world.units["pharmacy"])
    care_relationship_confirm(actor=actor, person=world.patient, reason=CareReason.DISPENSING)
    gate = policy.for_professional(actor=actor, person=world.patient)

    found = gate.dispensable_prescriptions()

    assert ids(found) == of(world, *ALL_THREE)
    assert {p.basis for p in found} == {LegalBasis.CARE_RELATIONSHIP}
    assert gate.prescription(world.from_b.public_id).basis == LegalBasis.CARE_RELATIONSHIP
    allowed = rows(world.patient, outcome=AuditOutcome.ALLOWED, data_type=DataType.PRESCRIPTION)
    assert [(e.action, e.legal_basis, e.purpose, len(e.object_ids)) for e in allowed] == [
        ("prescriptions.pharmacy_search", LegalBasis.CARE_RELATIONSHIP, CareReason.DISPENSING, 3),
        ("prescription.view", LegalBasis.CARE_RELATIONSHIP, CareReason.DISPENSING, 1),
    ]
    # the same pharmacy reads no patient records: rule 6 opens prescriptions only
    assert gate.documents() == []


def test_a_denied_prescription_is_not_found_by_the_pharmacys_identity_code_search(world):
    deny(world, emergency_permission=True)
    in_care(world.patient, world.units["pharmacy"], CareReason.DISPENSING)
    gate = gate_of(world, "pharmacy")

    found = gate.dispensable_prescriptions()

    assert ids(found) == of(world, "other_a", "from_b")
    assert gate.prescription_hidden_count() == 1
    with pytest.raises(Http404):
        gate.prescription(world.denied.public_id)
    search_refusal, view_refusal = rows(world.patient, outcome=AuditOutcome.REFUSED)
    assert search_refusal.action == "prescriptions.pharmacy_search"
    assert search_refusal.object_ids == [str(world.denied.public_id)]
    assert search_refusal.data_type == DataType.PRESCRIPTION
    assert view_refusal.object_ids == [str(world.denied.public_id)]
    # no emergency for a pharmacy, whatever permission the denial carries
    claiming_emergency = policy.for_professional(
        actor=actor_of(world.professionals["pharmacy"], world.units["pharmacy"]),
        person=world.patient,
        emergency_reason=REASON,
    )
    assert world.denied.public_id not in ids(claiming_emergency.dispensable_prescriptions())


def test_a_pharmacy_that_scans_the_summary_sees_its_prescriptions_denied_ones_included(world):
    deny(world)
    summary = PrescriptionSummary.objects.create(person=world.patient, barcode="ABCD2345EFGH")
    summary.prescriptions.set([world.denied, world.other_a])
    pharmacy_actor = actor_of(world.professionals["pharmacy"], world.units["pharmacy"])
    doctor_actor = actor_of(world.professionals["b"], world.units["b"])

    # refusals first: a doctor is no pharmacy, and an unknown barcode names nothing
    with pytest.raises(Http404):
        policy.for_pharmacy_summary(actor=doctor_actor, barcode="ABCD2345EFGH")
    with pytest.raises(Http404):
        policy.for_pharmacy_summary(actor=pharmacy_actor, barcode="ZZZZ2345ZZZZ")
    doctor_refusal, unknown_refusal = AuditEvent.objects.filter(outcome=AuditOutcome.REFUSED).order_by("id")
    assert (doctor_refusal.person, doctor_refusal.reason_text) == (world.patient, "not a pharmacist")
    assert (unknown_refusal.person, unknown_refusal.reason_text) == (None, "unknown summary barcode")

    person, shown = policy.for_pharmacy_summary(actor=pharmacy_actor, barcode="abcd 2345 efgh")

    assert person == world.patient
    assert ids(shown) == of(world, "denied", "other_a")  # exactly the summary's: not from_b
    assert {p.basis for p in shown} == {LegalBasis.SUMMARY}
    [allowed] = rows(world.patient, outcome=AuditOutcome.ALLOWED)
    assert (allowed.legal_basis, allowed.data_type, allowed.purpose) == (
        LegalBasis.SUMMARY,
        DataType.PRESCRIPTION,
        CareReason.DISPENSING,
    )
    assert set(allowed.object_ids) == {str(i) for i in of(world, "denied", "other_a")}
    # one prescription of it, for dispensing; one not on it is refused
    one = policy.summary_prescription(
        actor=pharmacy_actor, barcode="ABCD2345EFGH", public_id=world.denied.public_id
    )
    assert one == world.denied and one.basis == LegalBasis.SUMMARY
    with pytest.raises(Http404):
        policy.summary_prescription(
            actor=pharmacy_actor, barcode="ABCD2345EFGH", public_id=world.from_b.public_id
        )
    # and the summary does not open the identity-code search
    assert gate_of(world, "pharmacy").dispensable_prescriptions() == []


# -- prescribers ------------------------------------------------------------------------------------------


def test_another_countys_doctor_in_care_sees_prescriptions_without_consent_but_not_a_denied_one(world):
    deny(world)
    in_care(world.patient, world.units["b"])

    gate = gate_of(world, "b")
    shown = gate.prescriptions()

    assert ids(shown) == of(world, "other_a", "from_b")
    assert {p.basis for p in shown} == {LegalBasis.CARE_RELATIONSHIP}
    assert gate.prescription_hidden_count() == 1
    with pytest.raises(Http404):
        gate.prescription(world.denied.public_id)
    [allowed] = rows(world.patient, outcome=AuditOutcome.ALLOWED)
    refused = rows(world.patient, outcome=AuditOutcome.REFUSED)
    assert (allowed.legal_basis, allowed.data_type, allowed.object_type) == (
        LegalBasis.CARE_RELATIONSHIP,
        DataType.PRESCRIPTION,
        "prescription",
    )
    assert [r.object_ids for r in refused] == [[str(world.denied.public_id)]] * 2


def test_a_doctor_without_a_care_relationship_sees_no_prescriptions(world):
    gate = gate_of(world, "b")

    assert gate.prescriptions() == []
    assert gate.prescription_hidden_count() == 3
    [refusal] = rows(world.patient)
    assert (refusal.outcome, refusal.reason_text) == (AuditOutcome.REFUSED, "no care relationship")


def test_the_prescriber_and_the_storing_organisation_still_see_the_denied_prescription(world):
    deny(world)
    # the prescriber now also works in county B, and reads there: only being its prescriber opens it
    prescriber = world.professionals["a"]
    prescriber.units.add(world.units["b"])
    in_care(world.patient, world.units["b"])
    as_prescriber = policy.for_professional(
        actor=actor_of(prescriber, world.units["b"]), person=world.patient
    )
    # a colleague of county A's other health centre: the organisation that stored it
    in_care(world.patient, world.units["a2"])
    as_storing_organisation = gate_of(world, "a2")
    # the doctor of county B who did not write it
    stranger = gate_of(world, "b")

    by_prescriber = {p.public_id: p.basis for p in as_prescriber.prescriptions()}
    by_organisation = {p.public_id: p.basis for p in as_storing_organisation.prescriptions()}

    assert by_prescriber[world.denied.public_id] == LegalBasis.PRESCRIBER
    assert by_organisation[world.denied.public_id] == LegalBasis.OWN_REGISTER
    assert (
        by_organisation[world.other_a.public_id] == LegalBasis.CARE_RELATIONSHIP
    )  # not denied: plain rule 6
    assert as_prescriber.prescription(world.denied.public_id).under_denial is True
    assert world.denied.public_id not in ids(stranger.prescriptions())


def test_the_storing_organisation_loses_the_denied_prescription_when_the_care_relationship_ends(world):
    deny(world)
    relationship = in_care(world.patient, world.units["a2"])
    relationship.ends_at = timezone.now() - datetime.timedelta(minutes=1)
    relationship.starts_at = timezone.now() - datetime.timedelta(days=2)
    relationship.save()

    assert gate_of(world, "a2").prescriptions() == []


def test_the_unit_handling_a_renewal_request_sees_that_prescription_despite_the_denial(world):
    deny(world)
    elsewhere = RenewalRequestFactory(prescription=world.denied, unit=world.units["b"])
    # refusals first: a request to another unit opens nothing here, a request past its 8 days neither
    assert gate_of(world, "p").prescriptions() == []
    elsewhere.status = RenewalStatus.RETURNED
    elsewhere.save()
    stale = RenewalRequestFactory(
        prescription=world.denied, unit=world.units["p"], sent_at=timezone.now() - datetime.timedelta(days=9)
    )
    assert gate_of(world, "p").prescriptions() == []
    stale.status = RenewalStatus.EXPIRED
    stale.save()

    request = RenewalRequestFactory(prescription=world.denied, unit=world.units["p"])

    # without a care relationship: the requested prescription only (the request is the care contact)
    gate = gate_of(world, "p")
    shown = gate.prescriptions()
    assert [(p.public_id, p.basis) for p in shown] == [(world.denied.public_id, LegalBasis.RENEWAL)]
    assert gate.prescription(world.denied.public_id).basis == LegalBasis.RENEWAL
    [allowed, _view] = rows(world.patient, outcome=AuditOutcome.ALLOWED)
    assert (allowed.legal_basis, allowed.purpose) == (LegalBasis.RENEWAL, "renewal_request")
    # with one: the rest as well, the requested one still on the renewal basis
    in_care(world.patient, world.units["p"])
    bases = {p.public_id: p.basis for p in gate_of(world, "p").prescriptions()}
    assert bases == {
        world.denied.public_id: LegalBasis.RENEWAL,
        world.other_a.public_id: LegalBasis.CARE_RELATIONSHIP,
        world.from_b.public_id: LegalBasis.CARE_RELATIONSHIP,
    }
    # once handled, the denial holds again
    request.status = RenewalStatus.REJECTED
    request.save()
    assert world.denied.public_id not in ids(gate_of(world, "p").prescriptions())


def test_emergency_without_an_emergency_permission_does_not_show_denied_prescriptions(world):
    deny(world)
    deny(world, world.from_b)
    in_care(world.patient, world.units["p"])
    gate = gate_of(world, "p", emergency_reason=REASON)

    assert ids(gate.prescriptions()) == of(world, "other_a")
    events = rows(world.patient, data_type=DataType.PRESCRIPTION, action="prescriptions.list")
    assert {(e.category, e.reason_text) for e in events} == {(AuditCategory.EMERGENCY, REASON)}
    assert {e.outcome for e in events} == {AuditOutcome.ALLOWED, AuditOutcome.REFUSED}


def test_an_emergency_permission_on_any_denial_shows_every_denied_prescription_in_an_emergency(world):
    deny(world)  # without permission
    deny(world, world.from_b, emergency_permission=True)
    in_care(world.patient, world.units["p"])
    gate = gate_of(world, "p", emergency_reason=REASON)

    bases = {p.public_id: p.basis for p in gate.prescriptions()}

    assert bases == {
        world.denied.public_id: LegalBasis.EMERGENCY,
        world.from_b.public_id: LegalBasis.EMERGENCY,
        world.other_a.public_id: LegalBasis.CARE_RELATIONSHIP,  # not denied: the emergency did not open it
    }
    by_basis = {
        e.legal_basis: e
        for e in rows(world.patient, data_type=DataType.PRESCRIPTION, action="prescriptions.list")
    }
    assert set(by_basis[LegalBasis.EMERGENCY].object_ids) == {str(i) for i in of(world, "denied", "from_b")}
    assert {(e.category, e.reason_text) for e in by_basis.values()} == {(AuditCategory.EMERGENCY, REASON)}
    # without a reason, the same doctor is back to the ordinary rule
    assert ids(gate_of(world, "p").prescriptions()) == of(world, "other_a")


def test_a_physician_prescribing_a_controlled_medicine_also_sees_denied_narcotic_and_pkv_prescriptions(world):
    narcotic = PrescriptionFactory(
        person=world.patient, unit=world.units["a"], prescriber=world.professionals["a"], narcotic=True
    )
    deny(world)
    deny(world, narcotic)
    in_care(world.patient, world.units["b"])
    nurse = ProfessionalFactory(units=[world.units["b"]], profession=Profession.NURSE)

    as_nurse = policy.for_professional(actor=actor_of(nurse, world.units["b"]), person=world.patient)
    assert narcotic.public_id not in ids(
        as_nurse.prescriptions(include_denied_for=policy.CONTROLLED_PRESCRIBING)
    )
    assert narcotic.public_id not in ids(gate_of(world, "b").prescriptions())

    shown = {
        p.public_id: p.basis
        for p in gate_of(world, "b").prescriptions(include_denied_for="controlled_prescribing")
    }

    assert shown[narcotic.public_id] == LegalBasis.CONTROLLED_MEDICINE
    assert world.denied.public_id not in shown  # an ordinary denied prescription stays hidden


@pytest.mark.parametrize(
    ("profession", "unit", "refusal"),
    [
        (Profession.SOCIAL_WORKER, "a_sw", "unit does not read prescriptions"),
        (Profession.PHYSICIAN, "a_sw", "unit does not read prescriptions"),
        (Profession.ARCHIVIST, "a", "profession does not read prescriptions"),
        (Profession.PHARMACIST, "a", "profession does not read prescriptions"),
        (Profession.NURSE, "pharmacy", "not a pharmacist"),
    ],
)
def test_social_welfare_and_professions_that_do_not_handle_prescriptions_see_none(
    world, profession, unit, refusal
):
    viewer = ProfessionalFactory(units=[world.units[unit]], profession=profession)
    in_care(world.patient, world.units[unit], CareReason.SOCIAL_SERVICE)
    gate = policy.for_professional(actor=actor_of(viewer, world.units[unit]), person=world.patient)

    assert gate.prescriptions() == []
    assert gate.medication_list() == []
    with pytest.raises(Http404):
        gate.prescription(world.other_a.public_id)
    assert {(e.outcome, e.data_type, e.reason_text) for e in rows(world.patient)} == {
        (AuditOutcome.REFUSED, DataType.PRESCRIPTION, refusal)
    }


def test_a_medical_student_in_care_reads_prescriptions_but_not_through_a_renewal_request(world):
    deny(world)
    student = ProfessionalFactory(units=[world.units["p"]], profession=Profession.MEDICAL_STUDENT)
    RenewalRequestFactory(prescription=world.denied, unit=world.units["p"])
    gate = policy.for_professional(actor=actor_of(student, world.units["p"]), person=world.patient)
    assert gate.prescriptions() == []  # no care relationship: the renewal request is for prescribers

    in_care(world.patient, world.units["p"])
    gate = policy.for_professional(actor=actor_of(student, world.units["p"]), person=world.patient)

    assert ids(gate.prescriptions()) == of(world, "other_a", "from_b")


def test_a_professional_reaching_another_persons_prescription_through_this_gate_gets_404(world):
    in_care(world.patient, world.units["b"])
    someone_else = PrescriptionFactory(unit=world.units["b"], prescriber=world.professionals["b"])

    with pytest.raises(Http404):
        gate_of(world, "b").prescription(someone_else.public_id)
    with pytest.raises(Http404):
        gate_of(world, "b").prescription("not-a-uuid")
    assert [e.outcome for e in rows(world.patient)] == [AuditOutcome.REFUSED] * 2


# -- the medication list ----------------------------------------------------------------------------------


def test_the_medication_list_does_not_reveal_a_denied_prescription(world):
    # a newer prescription of the same medicine, dispensed, then denied: its row must fall back to the others
    newest = PrescriptionFactory(
        person=world.patient,
        unit=world.units["a"],
        prescriber=world.professionals["a"],
        product=world.denied.product,
        dosage="2 tablettia salaa",
        prescribed_at=timezone.now() - datetime.timedelta(days=1),
    )
    visible_dispensing = DispensingFactory(
        prescription=world.other_a, dispensed_at=timezone.now() - datetime.timedelta(days=20)
    )
    DispensingFactory(prescription=newest, dispensed_at=timezone.now() - datetime.timedelta(hours=2))
    deny(world, newest)
    in_care(world.patient, world.units["pharmacy"], CareReason.DISPENSING)

    [row] = gate_of(world, "pharmacy").medication_list()

    assert newest not in row.prescriptions
    assert row.prescription.dosage != "2 tablettia salaa"
    assert row.last_dispensing == visible_dispensing
    assert row.amount_left_all == sum(p.quantity_left for p in row.prescriptions)
    allowed, refused = rows(world.patient, action="medication_list.view")
    assert allowed.outcome == AuditOutcome.ALLOWED and refused.object_ids == [str(newest.public_id)]
    # the person sees their own list whole
    [own] = policy.for_citizen(
        actor=citizen_actor(world.patient), viewer=world.patient, person=world.patient
    ).medication_list()
    assert own.prescription == newest and own.prescription.under_denial is True


# -- citizens ---------------------------------------------------------------------------------------------


def test_the_person_sees_every_own_prescription_and_the_read_is_not_logged(world):
    deny(world)
    world.from_b.status = PrescriptionStatus.INVALIDATED
    world.from_b.invalidated_at = timezone.now()
    world.from_b.save()
    before = AuditEvent.objects.count()
    gate = policy.for_citizen(actor=citizen_actor(world.patient), viewer=world.patient, person=world.patient)

    shown = gate.prescriptions()

    assert ids(shown) == of(world, *ALL_THREE)
    assert {p.basis for p in shown} == {LegalBasis.SELF}
    assert {p.public_id for p in shown if p.under_denial} == of(world, "denied")
    assert gate.prescription(world.denied.public_id).basis == LegalBasis.SELF
    assert AuditEvent.objects.count() == before


def guardian_of(child: Person) -> Person:
    guardian = PersonFactory(identity_code=temporary_identity_code(born_years_ago(40)), user=UserFactory())
    Guardianship.objects.create(guardian=guardian, child=child, starts_on=child.birth_date)
    return guardian


@pytest.mark.parametrize(("age", "sees"), [(14, False), (9, True)])
def test_a_guardian_sees_a_childs_prescriptions_until_the_child_turns_10(age, sees):
    child = PersonFactory(identity_code=temporary_identity_code(born_years_ago(age)))
    prescription = PrescriptionFactory(person=child)
    guardian = guardian_of(child)
    gate = policy.for_citizen(actor=citizen_actor(guardian), viewer=guardian, person=child)

    shown = gate.prescriptions()

    events = rows(child)
    if sees:
        assert [(p, p.basis) for p in shown] == [(prescription, LegalBasis.GUARDIAN)]
        assert [(e.outcome, e.legal_basis) for e in events] == [(AuditOutcome.ALLOWED, LegalBasis.GUARDIAN)]
    else:
        assert shown == []
        assert [(e.outcome, e.reason_text) for e in events] == [
            (AuditOutcome.REFUSED, "guardian of a child aged 10 or over")
        ]


def test_a_prescriptions_mandate_shows_prescriptions_but_not_documents_or_declarations(world):
    agent = PersonFactory(identity_code=temporary_identity_code(born_years_ago(50)), user=UserFactory())
    today = timezone.localdate()
    register = RegisterFactory(controller=world.units["a"].organisation)
    DocumentFactory(person=world.patient, register=register, unit=world.units["a"])
    mandate = Mandate.objects.create(
        principal=world.patient,
        agent=agent,
        scope=MandateScope.PRESCRIPTIONS,
        starts_on=today,
        ends_on=today + datetime.timedelta(days=30),
    )
    gate = policy.for_citizen(actor=citizen_actor(agent), viewer=agent, person=world.patient)

    assert gate.documents() == []
    assert gate.declarations() == (None, None)
    shown = gate.prescriptions()
    assert ids(shown) == of(world, *ALL_THREE) and {p.basis for p in shown} == {LegalBasis.MANDATE}
    assert policy.acting_basis(viewer=agent, person=world.patient) == LegalBasis.NONE
    # nor may a prescriptions mandate deny the disclosure of a prescription
    InformationNoticeFactory(person=world.patient)
    with pytest.raises(RuleViolation) as refused:
        services.prescription_denial_add(
            actor=citizen_actor(agent), person=world.patient, acting_person=agent, prescription=world.denied
        )
    assert refused.value.code == "mandate_scope"
    # an expired mandate shows nothing
    mandate.starts_on, mandate.ends_on = (
        today - datetime.timedelta(days=60),
        today - datetime.timedelta(days=1),
    )
    mandate.save()
    assert (
        policy.for_citizen(actor=citizen_actor(agent), viewer=agent, person=world.patient).prescriptions()
        == []
    )


# -- the denial: services and its effect on the next gate --------------------------------------------------


def test_a_denial_needs_the_notice_and_the_persons_own_prescription(world):
    me = citizen_actor(world.patient)
    with pytest.raises(RuleViolation) as no_notice:
        services.prescription_denial_add(
            actor=me, person=world.patient, acting_person=world.patient, prescription=world.denied
        )
    assert no_notice.value.code == "notice_required"
    InformationNoticeFactory(person=world.patient)
    with pytest.raises(RuleViolation) as not_own:
        services.prescription_denial_add(
            actor=me, person=world.patient, acting_person=world.patient, prescription=PrescriptionFactory()
        )
    assert not_own.value.code == "not_own"
    assert not AuditEvent.objects.filter(action__startswith="prescription_denial").exists()

    denial = services.prescription_denial_add(
        actor=me, person=world.patient, acting_person=world.patient, prescription=world.denied
    )

    assert (denial.made_by, denial.channel, denial.emergency_permission) == (
        world.patient.user,
        Channel.MYKANTA,
        False,
    )
    [event] = AuditEvent.objects.filter(action="prescription_denial.add")
    assert (event.category, event.data_type, event.legal_basis, event.object_ids) == (
        AuditCategory.CHANGE,
        DataType.PRESCRIPTION,
        LegalBasis.SELF,
        [str(denial.public_id)],
    )
    with pytest.raises(RuleViolation) as duplicate:
        services.prescription_denial_add(
            actor=me, person=world.patient, acting_person=world.patient, prescription=world.denied
        )
    assert duplicate.value.code == "duplicate"


def test_a_guardian_cannot_deny_a_prescription_for_a_child():
    child = PersonFactory(identity_code=temporary_identity_code(born_years_ago(8)))
    InformationNoticeFactory(person=child)
    guardian = guardian_of(child)

    with pytest.raises(RuleViolation) as refused:
        services.prescription_denial_add(
            actor=citizen_actor(guardian),
            person=child,
            acting_person=guardian,
            prescription=PrescriptionFactory(person=child),
        )

    assert refused.value.code == "guardian"


def test_a_health_care_mandate_holder_may_deny_on_the_persons_behalf(world):
    agent = PersonFactory(identity_code=temporary_identity_code(born_years_ago(50)), user=UserFactory())
    today = timezone.localdate()
    Mandate.objects.create(
        principal=world.patient, agent=agent, scope=MandateScope.HEALTH_CARE, starts_on=today, ends_on=today
    )
    InformationNoticeFactory(person=world.patient)

    services.prescription_denial_add(
        actor=citizen_actor(agent), person=world.patient, acting_person=agent, prescription=world.denied
    )

    assert AuditEvent.objects.get(action="prescription_denial.add").legal_basis == LegalBasis.MANDATE


def test_a_withdrawn_denial_applies_to_the_next_gate(world):
    in_care(world.patient, world.units["b"])
    deny(world)
    assert world.denied.public_id not in ids(gate_of(world, "b").prescriptions())

    withdrawn = services.prescription_denial_withdraw(
        actor=citizen_actor(world.patient),
        person=world.patient,
        acting_person=world.patient,
        prescription=world.denied,
    )

    assert withdrawn.withdrawn_at is not None and withdrawn.withdrawn_by == world.patient.user
    assert world.denied.public_id in ids(gate_of(world, "b").prescriptions())
    assert AuditEvent.objects.filter(
        action="prescription_denial.withdraw", data_type=DataType.PRESCRIPTION
    ).exists()
    with pytest.raises(RuleViolation) as again:
        services.prescription_denial_withdraw(
            actor=citizen_actor(world.patient),
            person=world.patient,
            acting_person=world.patient,
            prescription=world.denied,
        )
    assert again.value.code == "not_found"


# -- bounded queries --------------------------------------------------------------------------------------


def test_prescription_reads_run_a_bounded_number_of_queries_whatever_the_number_of_prescriptions(
    world, django_assert_max_num_queries
):
    deny(world)
    deny(world, world.from_b)  # the viewer wrote it: visible to her as its prescriber
    # the newest dispensing is on the denied prescription, so the medication list must look up another one
    DispensingFactory(prescription=world.denied)
    DispensingFactory(prescription=world.other_a, dispensed_at=timezone.now() - datetime.timedelta(days=3))
    in_care(world.patient, world.units["b"])
    RenewalRequestFactory(prescription=world.other_a, unit=world.units["b"])

    def read() -> tuple[int, int, int]:
        gate = gate_of(world, "b")
        listed = gate.prescriptions(limit=1000)
        gate.prescription(world.other_a.public_id)
        medication = gate.medication_list()
        return len(listed), len(medication[0].prescriptions), gate.prescription_hidden_count()

    with CaptureQueriesContext(connection) as small:
        small_counts = read()
    for n in range(60):
        prescription = PrescriptionFactory(
            person=world.patient,
            unit=world.units["a" if n % 2 else "b"],
            prescriber=world.professionals["a" if n % 2 else "b"],
            product=world.denied.product,
        )
        DispensingFactory(prescription=prescription, dispensed_at=timezone.now() - datetime.timedelta(days=1))
        if n % 3 == 0:
            deny(world, prescription)
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        large_counts = read()

    # every third new one is denied; the half of those that the viewer wrote stays visible to her
    assert small_counts == (2, 2, 1)
    assert large_counts == (2 + 50, 2 + 50, 1 + 10)
    # gate (documents 6, prescriptions 3), list 2, one prescription 6, medication list 5, count 1, audit rows
    assert len(large.captured_queries) == len(small.captured_queries) <= 40
