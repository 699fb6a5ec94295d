"""The disclosure gate (consents.policy) proved over one shared world: a scenario matrix.

The world: wellbeing services counties A and B, each with a health care, an occupational health and a social
welfare register and a unit recording into each; a private provider P with a health care and a private
occupational health register; a producer Q working for county A under purchased-service authorizations
(register-wide, patient-specific, and an expired one); a pharmacy; the patient with documents in every
register (two service events in county A, a superseded version, a special-content and a display-delayed
document); a professional in every unit; the patient's guardian, an agent holding a mandate, and a stranger.

Each case changes a little of that world (notice, consents, prohibitions, care relationship, age, death...),
builds a gate and checks what the viewer gets: the documents and their basis, 404 for every hidden document
(and for a superseded version exactly when its current version is hidden), the diagnoses of visible documents
only, the hidden count, and the audit rows of every read. The rules are DOMAIN.md "Who may see what";
docs/disclosure-gate.md says how they are read.
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from archive.models import (
    AuthorizationScope,
    Diagnosis,
    Document,
    DocumentKind,
    DocumentStatus,
    PurchasedServiceAuthorization,
    ServiceEvent,
    ServiceTask,
)
from consents import policy
from consents.models import (
    ConsentSector,
    DisclosureConsent,
    LivingWill,
    Mandate,
    MandateScope,
    OrganDonationWill,
    ProhibitionScope,
)
from kanta import audit
from kanta.models import (
    AuditCategory,
    AuditEvent,
    AuditOutcome,
    CareReason,
    CareRelationship,
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
from tests.factories import (
    OrganisationFactory,
    PersonFactory,
    ProfessionalFactory,
    RegisterFactory,
    UnitFactory,
    UserFactory,
    temporary_identity_code,
)
from tests.factories_archive import (
    DiagnosisFactory,
    DisclosureConsentFactory,
    DocumentFactory,
    InformationNoticeFactory,
    ProhibitionFactory,
    ServiceEventFactory,
)

pytestmark = pytest.mark.django_db

OWN = LegalBasis.OWN_REGISTER
CONSENT = LegalBasis.CONSENT
EMERGENCY = LegalBasis.EMERGENCY
PURCHASED = LegalBasis.PURCHASED_SERVICE
SELF = LegalBasis.SELF
GUARDIAN = LegalBasis.GUARDIAN
MANDATE = LegalBasis.MANDATE

REASON = "Unconscious on arrival, no relatives reachable"

# -- the patient's current documents, by label (the label is the document's title) ------------------------

A_HC = ("a_hc_1", "a_hc_2", "a_hc_delayed")  # county A health care; a_hc_1 and a_hc_2 in two service events
A_HEALTH = (*A_HC, "a_occ")
B_HEALTH = ("b_hc", "b_occ")
P_HEALTH = ("p_hc", "p_occ")
HEALTH = A_HEALTH + B_HEALTH + P_HEALTH
SOCIAL = ("a_sw", "a_sw_special", "b_sw")
EVERYTHING = HEALTH + SOCIAL
# special content and a display delay still running never show in MyKanta
IN_MYKANTA = tuple(label for label in EVERYTHING if label not in ("a_sw_special", "a_hc_delayed"))
# marked disclosable to guardians: a_hc_1, a_hc_delayed, a_sw, a_sw_special, b_hc; the two not in MyKanta drop
FOR_GUARDIANS = ("a_hc_1", "a_sw", "b_hc")
DIAGNOSED = ("a_hc_1", "a_hc_2", "a_occ", "b_hc", "p_hc", "p_occ")

SOCIAL_WELFARE_UNITS = ("a_sw", "b_sw")
CITIZENS = ("self", "guardian", "agent", "stranger")


def see(basis: str, *labels: str) -> dict[str, str]:
    return dict.fromkeys(labels, basis)


def minus(labels: tuple[str, ...], *removed: str) -> tuple[str, ...]:
    return tuple(label for label in labels if label not in removed)


def born_years_ago(years: int) -> datetime.date:
    """A birth date that makes the person exactly `years` old today (the birthday was a month ago)."""
    day = timezone.localdate() - datetime.timedelta(days=30)
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# -- the world ------------------------------------------------------------------------------------------


@dataclass
class World:
    patient: Person
    organisations: dict[str, object]
    registers: dict[str, object]
    units: dict[str, Unit]
    professionals: dict[str, Professional]
    citizens: dict[str, Person]
    documents: dict[str, Document]
    old_version: Document
    events: dict[str, ServiceEvent]
    authorizations: dict[str, PurchasedServiceAuthorization]
    guardianship: Guardianship
    mandate: Mandate
    diagnoses: dict[str, Diagnosis] = field(default_factory=dict)


def build_world(patient_age: int = 45) -> World:
    today = timezone.localdate()
    now = timezone.now()
    birth = born_years_ago(patient_age)
    patient = PersonFactory(
        identity_code=temporary_identity_code(birth),
        first_names="Aino",
        last_name="Potilas",
        user=UserFactory(),
    )

    county_a = OrganisationFactory(kind=OrganisationKind.COUNTY, name_fi="Hyvinvointialue A")
    county_b = OrganisationFactory(kind=OrganisationKind.COUNTY, name_fi="Hyvinvointialue B")
    private = OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH, name_fi="Yksityinen P")
    producer = OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH, name_fi="Tuottaja Q")
    pharmacy = OrganisationFactory(kind=OrganisationKind.PHARMACY, name_fi="Apteekki")
    organisations = {"a": county_a, "b": county_b, "p": private, "q": producer, "pharmacy": pharmacy}

    layout = {  # register key -> (controller, kind)
        "a_hc": (county_a, RegisterKind.HEALTH_CARE),
        "a_occ": (county_a, RegisterKind.OCCUPATIONAL_HEALTH),
        "a_sw": (county_a, RegisterKind.SOCIAL_WELFARE),
        "b_hc": (county_b, RegisterKind.HEALTH_CARE),
        "b_occ": (county_b, RegisterKind.OCCUPATIONAL_HEALTH),
        "b_sw": (county_b, RegisterKind.SOCIAL_WELFARE),
        "p_hc": (private, RegisterKind.HEALTH_CARE),
        "p_occ": (private, RegisterKind.OCCUPATIONAL_HEALTH),
        "q": (producer, RegisterKind.HEALTH_CARE),
    }
    registers = {key: RegisterFactory(controller=org, kind=kind) for key, (org, kind) in layout.items()}
    units = {key: UnitFactory(organisation=org, register_kind=kind) for key, (org, kind) in layout.items()}
    units["pharmacy"] = UnitFactory(organisation=pharmacy)
    professionals = {
        key: ProfessionalFactory(
            units=[unit],
            profession=(
                Profession.SOCIAL_WORKER
                if key in SOCIAL_WELFARE_UNITS
                else Profession.PHARMACIST
                if key == "pharmacy"
                else Profession.PHYSICIAN
            ),
        )
        for key, unit in units.items()
    }

    events = {
        name: ServiceEventFactory(person=patient, register=registers["a_hc"], unit=units["a_hc"], title=name)
        for name in ("a_event_1", "a_event_2")
    }

    def document(label: str, register: str, days_ago: int, **extra) -> Document:
        return DocumentFactory(
            person=patient,
            register=registers[register],
            unit=units[register],
            title=label,
            recorded_at=now - datetime.timedelta(days=days_ago),
            **extra,
        )

    lineage = uuid.uuid4()
    old_version = document("a_hc_1 v1", "a_hc", 20, lineage_id=lineage, status=DocumentStatus.SUPERSEDED)
    social = {"kind": DocumentKind.DECISION, "service_task": ServiceTask.ELDERLY_SERVICES}
    documents = {
        "a_hc_1": document(
            "a_hc_1",
            "a_hc",
            19,
            lineage_id=lineage,
            version=2,
            supersedes=old_version,
            service_event=events["a_event_1"],
            disclosable_to_guardians=True,
        ),
        "a_hc_2": document("a_hc_2", "a_hc", 18, service_event=events["a_event_2"]),
        "a_hc_delayed": document(
            "a_hc_delayed",
            "a_hc",
            17,
            display_delayed_until=today + datetime.timedelta(days=14),
            display_delay_reason="Results discussed at the next visit",
            disclosable_to_guardians=True,
        ),
        "a_occ": document("a_occ", "a_occ", 16),
        "a_sw": document("a_sw", "a_sw", 15, disclosable_to_guardians=True, **social),
        "a_sw_special": document(
            "a_sw_special", "a_sw", 14, special_content=True, disclosable_to_guardians=True, **social
        ),
        "b_hc": document("b_hc", "b_hc", 13, disclosable_to_guardians=True),
        "b_occ": document("b_occ", "b_occ", 12),
        "b_sw": document("b_sw", "b_sw", 11, **social),
        "p_hc": document("p_hc", "p_hc", 10),
        "p_occ": document("p_occ", "p_occ", 9),
    }
    diagnoses = {label: DiagnosisFactory(document=documents[label]) for label in DIAGNOSED}
    DiagnosisFactory(document=old_version)  # a superseded version's entries are history, never a summary

    valid = {"starts_on": today - datetime.timedelta(days=30), "ends_on": today + datetime.timedelta(days=30)}
    authorizations = {
        "register": PurchasedServiceAuthorization.objects.create(
            organiser=county_a,
            register=registers["a_hc"],
            producer=producer,
            scope=AuthorizationScope.REGISTER,
            ordered_service="Kotisairaala",
            **valid,
        ),
        "patient": PurchasedServiceAuthorization.objects.create(
            organiser=county_a,
            register=registers["a_occ"],
            producer=producer,
            scope=AuthorizationScope.PATIENT,
            person=patient,
            **valid,
        ),
        "expired": PurchasedServiceAuthorization.objects.create(
            organiser=county_a,
            register=registers["a_sw"],
            producer=producer,
            scope=AuthorizationScope.REGISTER,
            starts_on=today - datetime.timedelta(days=90),
            ends_on=today - datetime.timedelta(days=1),
        ),
    }

    citizens = {name: PersonFactory(user=UserFactory()) for name in ("guardian", "agent", "stranger")}
    citizens["self"] = patient
    guardianship = Guardianship.objects.create(guardian=citizens["guardian"], child=patient, starts_on=birth)
    mandate = Mandate.objects.create(
        principal=patient, agent=citizens["agent"], scope=MandateScope.HEALTH_CARE, **valid
    )
    LivingWill.objects.create(person=patient, text="Ei elvytystä.")
    OrganDonationWill.objects.create(person=patient, consents_to_donation=True)
    return World(
        patient=patient,
        organisations=organisations,
        registers=registers,
        units=units,
        professionals=professionals,
        citizens=citizens,
        documents=documents,
        old_version=old_version,
        events=events,
        authorizations=authorizations,
        guardianship=guardianship,
        mandate=mandate,
        diagnoses=diagnoses,
    )


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # the world holds a dozen users; the production hasher would spend seconds on each case
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world_builder(db):
    return build_world


# -- what a case changes in the world ----------------------------------------------------------------------


def _withdrawn():
    return timezone.now() - datetime.timedelta(days=1)


def prohibit(scope: str, *, emergency: bool = False, withdrawn: bool = False, **target):
    def apply(world: World) -> None:
        resolved = {
            "service_event": world.events.get(target.get("event", "")),
            "organisation": world.organisations.get(target.get("organisation", "")),
            "register": world.registers.get(target.get("register", "")),
        }
        ProhibitionFactory(
            person=world.patient,
            scope=scope,
            emergency_permission=emergency,
            withdrawn_at=_withdrawn() if withdrawn else None,
            **resolved,
        )

    return apply


def consent(sector: str, *, withdrawn: bool = False):
    def apply(world: World) -> None:
        DisclosureConsentFactory(
            person=world.patient, sector=sector, withdrawn_at=_withdrawn() if withdrawn else None
        )

    return apply


def update(getter, **values):
    """Change fields of one world object; a callable value is computed when the case runs."""

    def apply(world: World) -> None:
        obj = getter(world)
        for name, value in values.items():
            setattr(obj, name, value() if callable(value) else value)
        obj.save()

    return apply


def _days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def _care_in_a_health_unit(world: World) -> None:
    care(world.patient, world.units["a_hc"], "active")


SETUPS = {
    "notice": lambda w: InformationNoticeFactory(person=w.patient),
    "notice_withdrawn": lambda w: InformationNoticeFactory(person=w.patient, withdrawn_at=_withdrawn()),
    "consent_health_care": consent(ConsentSector.HEALTH_CARE),
    "consent_health_care_withdrawn": consent(ConsentSector.HEALTH_CARE, withdrawn=True),
    "consent_social_welfare": consent(ConsentSector.SOCIAL_WELFARE),
    "consent_health_to_social": consent(ConsentSector.HEALTH_TO_SOCIAL),
    "consent_social_to_health": consent(ConsentSector.SOCIAL_TO_HEALTH),
    "prohibit_all_data": prohibit(ProhibitionScope.ALL_DATA),
    "prohibit_all_data_emergency_ok": prohibit(ProhibitionScope.ALL_DATA, emergency=True),
    "prohibit_all_data_withdrawn": prohibit(ProhibitionScope.ALL_DATA, withdrawn=True),
    "prohibit_service_event_a1": prohibit(ProhibitionScope.SERVICE_EVENT, event="a_event_1"),
    "prohibit_county_a": prohibit(ProhibitionScope.COUNTY, organisation="a"),
    "prohibit_county_a_emergency_ok": prohibit(ProhibitionScope.COUNTY, organisation="a", emergency=True),
    "prohibit_county_b": prohibit(ProhibitionScope.COUNTY, organisation="b"),
    "prohibit_register_a_hc": prohibit(ProhibitionScope.REGISTER, register="a_hc"),
    "prohibit_register_a_occ": prohibit(ProhibitionScope.REGISTER, register="a_occ"),
    "prohibit_register_a_sw": prohibit(ProhibitionScope.REGISTER, register="a_sw"),
    "prohibit_private_occ": prohibit(ProhibitionScope.OCCUPATIONAL_HEALTH, register="p_occ"),
    "deceased": update(lambda w: w.patient, date_of_death=lambda: _days(-2)),
    "non_disclosure": update(lambda w: w.patient, non_disclosure=True),
    "display_delay_ended": update(
        lambda w: w.documents["a_hc_delayed"], display_delayed_until=lambda: _days(0)
    ),
    "guardianship_ended": update(lambda w: w.guardianship, ends_on=lambda: _days(-1)),
    "mandate_expired": update(lambda w: w.mandate, starts_on=lambda: _days(-90), ends_on=lambda: _days(-1)),
    "mandate_not_yet_valid": update(
        lambda w: w.mandate, starts_on=lambda: _days(1), ends_on=lambda: _days(90)
    ),
    "mandate_prescriptions_only": update(lambda w: w.mandate, scope=MandateScope.PRESCRIPTIONS),
    "authorization_patient_for_other": update(lambda w: w.authorizations["patient"], person=PersonFactory),
    "authorization_register_expired": update(
        lambda w: w.authorizations["register"], starts_on=lambda: _days(-90), ends_on=lambda: _days(-1)
    ),
    "authorization_register_not_yet_valid": update(
        lambda w: w.authorizations["register"], starts_on=lambda: _days(1), ends_on=lambda: _days(90)
    ),
    "authorization_register_unnamed": update(lambda w: w.authorizations["register"], producer=None),
    "care_in_a_health_unit": _care_in_a_health_unit,
    "living_will_withdrawn": update(
        lambda w: LivingWill.objects.get(person=w.patient), withdrawn_at=_withdrawn
    ),
}

NOTICE_HC = ("notice", "consent_health_care")


def care(person: Person, unit: Unit, state: str) -> CareRelationship | None:
    now = timezone.now()
    periods = {
        "active": (now - datetime.timedelta(days=1), now + datetime.timedelta(days=29)),
        "ended": (now - datetime.timedelta(days=40), now - datetime.timedelta(days=10)),
        "future": (now + datetime.timedelta(days=1), now + datetime.timedelta(days=30)),
    }
    if state == "none":
        return None
    starts_at, ends_at = periods[state]
    return CareRelationship.objects.create(
        person=person, unit=unit, reason=CareReason.APPOINTMENT, starts_at=starts_at, ends_at=ends_at
    )


# -- the cases ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    viewer: str  # a unit key (its professional views) or one of CITIZENS
    visible: dict[str, str]  # label -> legal basis
    setup: tuple[str, ...] = ()
    emergency: str = ""
    care: str = "active"  # the viewer's unit's care relationship: active, ended, future, none
    patient_age: int = 45
    refused_outright: bool = False  # no basis at all: exactly one refusal per read, naming nothing
    category: str = AuditCategory.ACCESS


def refused(id: str, viewer: str, **kwargs) -> Case:
    return Case(id=id, viewer=viewer, visible={}, refused_outright=True, **kwargs)


B_WITH_CONSENT = see(OWN, "b_hc") | see(CONSENT, *minus(HEALTH, "b_hc"))
B_IN_EMERGENCY = see(OWN, "b_hc") | see(EMERGENCY, *minus(HEALTH, "b_hc"))

CASES = [
    # own register (rule 1)
    Case("own register: county A health care unit", "a_hc", see(OWN, *A_HC)),
    Case("own register: county A occupational health unit", "a_occ", see(OWN, "a_occ")),
    Case("own register: county A social welfare unit", "a_sw", see(OWN, "a_sw", "a_sw_special")),
    Case("own register: county B health care unit", "b_hc", see(OWN, "b_hc")),
    Case("own register: county B occupational health unit", "b_occ", see(OWN, "b_occ")),
    Case("own register: county B social welfare unit", "b_sw", see(OWN, "b_sw")),
    Case("own register: private provider health care", "p_hc", see(OWN, "p_hc")),
    Case("own register: private occupational health", "p_occ", see(OWN, "p_occ")),
    Case(
        "own register: an all-data prohibition never limits it",
        "a_hc",
        see(OWN, *A_HC),
        setup=(*NOTICE_HC, "prohibit_all_data"),
    ),
    Case(
        "own register: a prohibition of its own service event never limits it",
        "a_hc",
        see(OWN, *A_HC) | see(CONSENT, *minus(HEALTH, *A_HC)),
        setup=(*NOTICE_HC, "prohibit_service_event_a1"),
    ),
    # the same county's other register is a disclosure
    Case(
        "same county: occupational health register from a health care unit needs consent",
        "a_hc",
        see(OWN, *A_HC),
        setup=("notice",),
    ),
    Case(
        "same county: occupational health register from a health care unit with consent",
        "a_hc",
        see(OWN, *A_HC) | see(CONSENT, *minus(HEALTH, *A_HC)),
        setup=NOTICE_HC,
    ),
    Case(
        "same county: health care register from the occupational health unit with consent",
        "a_occ",
        see(OWN, "a_occ") | see(CONSENT, *minus(HEALTH, "a_occ")),
        setup=NOTICE_HC,
    ),
    Case(
        "same county: a register prohibition hides the occupational health register",
        "a_hc",
        see(OWN, *A_HC) | see(CONSENT, *B_HEALTH, *P_HEALTH),
        setup=(*NOTICE_HC, "prohibit_register_a_occ"),
    ),
    Case(
        "same county: a county prohibition hides the county's other register from its own unit",
        "a_occ",
        see(OWN, "a_occ") | see(CONSENT, *B_HEALTH, *P_HEALTH),
        setup=(*NOTICE_HC, "prohibit_county_a"),
    ),
    # another county (rule 2)
    Case("other county: no notice, no consent", "b_hc", see(OWN, "b_hc")),
    Case("other county: notice without consent", "b_hc", see(OWN, "b_hc"), setup=("notice",)),
    Case("other county: consent without notice", "b_hc", see(OWN, "b_hc"), setup=("consent_health_care",)),
    Case("other county: notice and consent", "b_hc", B_WITH_CONSENT, setup=NOTICE_HC),
    Case(
        "other county: withdrawn consent",
        "b_hc",
        see(OWN, "b_hc"),
        setup=("notice", "consent_health_care_withdrawn"),
    ),
    Case(
        "other county: withdrawn notice",
        "b_hc",
        see(OWN, "b_hc"),
        setup=("notice_withdrawn", "consent_health_care"),
    ),
    Case(
        "other county: the social welfare consent opens no health data",
        "b_hc",
        see(OWN, "b_hc"),
        setup=("notice", "consent_social_welfare"),
    ),
    Case(
        "private provider: notice and consent",
        "p_hc",
        see(OWN, "p_hc") | see(CONSENT, *minus(HEALTH, "p_hc")),
        setup=NOTICE_HC,
    ),
    Case(
        "private occupational health: notice and consent",
        "p_occ",
        see(OWN, "p_occ") | see(CONSENT, *minus(HEALTH, "p_occ")),
        setup=NOTICE_HC,
    ),
    # prohibitions: each hides only what it covers
    Case(
        "prohibition of all data hides every other register",
        "b_hc",
        see(OWN, "b_hc"),
        setup=(*NOTICE_HC, "prohibit_all_data"),
    ),
    Case(
        "prohibition of one service event hides only that event",
        "b_hc",
        see(OWN, "b_hc") | see(CONSENT, *minus(HEALTH, "b_hc", "a_hc_1")),
        setup=(*NOTICE_HC, "prohibit_service_event_a1"),
    ),
    Case(
        "prohibition of county A hides only county A",
        "b_hc",
        see(OWN, "b_hc") | see(CONSENT, "b_occ", *P_HEALTH),
        setup=(*NOTICE_HC, "prohibit_county_a"),
    ),
    Case(
        "prohibition of the viewer's own county hides only its other register",
        "b_hc",
        see(OWN, "b_hc") | see(CONSENT, *A_HEALTH, *P_HEALTH),
        setup=(*NOTICE_HC, "prohibit_county_b"),
    ),
    Case(
        "prohibition of county A's health care register hides only that register",
        "b_hc",
        see(OWN, "b_hc") | see(CONSENT, *minus(HEALTH, "b_hc", *A_HC)),
        setup=(*NOTICE_HC, "prohibit_register_a_hc"),
    ),
    Case(
        "prohibition of county A's occupational health register hides only that register",
        "b_hc",
        see(OWN, "b_hc") | see(CONSENT, *minus(HEALTH, "b_hc", "a_occ")),
        setup=(*NOTICE_HC, "prohibit_register_a_occ"),
    ),
    Case(
        "prohibition of a private occupational health register hides only that register",
        "b_hc",
        see(OWN, "b_hc") | see(CONSENT, *minus(HEALTH, "b_hc", "p_occ")),
        setup=(*NOTICE_HC, "prohibit_private_occ"),
    ),
    Case(
        "two prohibitions hide what either covers",
        "b_hc",
        see(OWN, "b_hc") | see(CONSENT, *minus(HEALTH, "b_hc", "a_hc_1", "p_occ")),
        setup=(*NOTICE_HC, "prohibit_service_event_a1", "prohibit_private_occ"),
    ),
    Case(
        "prohibitions concern health data only: all data leaves social welfare data",
        "b_hc",
        see(OWN, "b_hc") | see(CONSENT, *SOCIAL),
        setup=("notice", "consent_social_to_health", "prohibit_all_data"),
    ),
    Case(
        "prohibitions concern health data only: one pointed at a social welfare register hides nothing",
        "b_hc",
        see(OWN, "b_hc") | see(CONSENT, *SOCIAL),
        setup=("notice", "consent_social_to_health", "prohibit_register_a_sw"),
    ),
    Case(
        "withdrawn prohibition hides nothing",
        "b_hc",
        B_WITH_CONSENT,
        setup=(*NOTICE_HC, "prohibit_all_data_withdrawn"),
    ),
    # emergency (rule 4)
    Case(
        "emergency overrides missing notice and consent for patient data",
        "b_hc",
        B_IN_EMERGENCY,
        emergency=REASON,
        category=AuditCategory.EMERGENCY,
    ),
    Case(
        "emergency overrides a prohibition that carries emergency permission",
        "b_hc",
        B_IN_EMERGENCY,
        setup=(*NOTICE_HC, "prohibit_all_data_emergency_ok"),
        emergency=REASON,
        category=AuditCategory.EMERGENCY,
    ),
    Case(
        "emergency does not override a prohibition without emergency permission",
        "b_hc",
        see(OWN, "b_hc"),
        setup=(*NOTICE_HC, "prohibit_all_data"),
        emergency=REASON,
        category=AuditCategory.EMERGENCY,
    ),
    Case(
        "emergency: only the prohibition with permission gives way",
        "b_hc",
        see(OWN, "b_hc") | see(EMERGENCY, *A_HEALTH, "b_occ", "p_hc"),
        setup=("prohibit_county_a_emergency_ok", "prohibit_private_occ"),
        emergency=REASON,
        category=AuditCategory.EMERGENCY,
    ),
    Case(
        "emergency keeps the consent basis where consent suffices",
        "b_hc",
        B_WITH_CONSENT,
        setup=NOTICE_HC,
        emergency=REASON,
        category=AuditCategory.EMERGENCY,
    ),
    Case("emergency without a reason is not emergency", "b_hc", see(OWN, "b_hc"), emergency="  \n "),
    refused(
        "emergency without a care relationship is refused",
        "b_hc",
        care="none",
        emergency=REASON,
        category=AuditCategory.EMERGENCY,
    ),
    Case("emergency is not for a social welfare unit", "b_sw", see(OWN, "b_sw"), emergency=REASON),
    # producer under purchased-service authorization (rule 3)
    Case("producer: register-wide and patient-specific authorizations", "q", see(PURCHASED, *A_HEALTH)),
    Case(
        "producer: reads the organiser's register despite an all-data prohibition",
        "q",
        see(PURCHASED, *A_HEALTH),
        setup=(*NOTICE_HC, "prohibit_all_data"),
    ),
    Case(
        "producer: other registers still need consent",
        "q",
        see(PURCHASED, *A_HEALTH) | see(CONSENT, *B_HEALTH, *P_HEALTH),
        setup=NOTICE_HC,
    ),
    Case(
        "producer: a patient-specific authorization for another patient does not apply",
        "q",
        see(PURCHASED, *A_HC),
        setup=("authorization_patient_for_other",),
    ),
    Case(
        "producer: an expired authorization does not apply",
        "q",
        see(PURCHASED, "a_occ"),
        setup=("authorization_register_expired",),
    ),
    Case(
        "producer: an authorization not yet valid does not apply",
        "q",
        see(PURCHASED, "a_occ"),
        setup=("authorization_register_not_yet_valid",),
    ),
    Case(
        "producer: an authorization without a named producer authorizes nobody",
        "q",
        see(PURCHASED, "a_occ"),
        setup=("authorization_register_unnamed",),
    ),
    refused("producer: nothing without a care relationship", "q", care="none"),
    # social welfare and the cross-sector consents
    Case(
        "social worker: another county's social welfare data needs the social welfare consent",
        "b_sw",
        see(OWN, "b_sw"),
        setup=("notice",),
    ),
    Case(
        "social worker: another county's social welfare data with the social welfare consent",
        "b_sw",
        see(OWN, "b_sw") | see(CONSENT, "a_sw", "a_sw_special"),
        setup=("notice", "consent_social_welfare"),
    ),
    Case(
        "social worker: the health care consent opens no health data",
        "b_sw",
        see(OWN, "b_sw"),
        setup=NOTICE_HC,
    ),
    Case(
        "social worker: health data with the health-to-social consent alone",
        "b_sw",
        see(OWN, "b_sw") | see(CONSENT, *HEALTH),
        setup=("notice", "consent_health_to_social"),
    ),
    Case(
        "social worker: the health-to-social consent respects prohibitions",
        "b_sw",
        see(OWN, "b_sw") | see(CONSENT, *B_HEALTH, *P_HEALTH),
        setup=("notice", "consent_health_to_social", "prohibit_county_a"),
    ),
    Case(
        "social worker: the own county's health registers need the health-to-social consent",
        "a_sw",
        see(OWN, "a_sw", "a_sw_special") | see(CONSENT, "b_sw"),
        setup=("notice", "consent_social_welfare", "consent_health_care"),
    ),
    Case(
        "health professional: social welfare data with the social-to-health consent alone",
        "b_hc",
        see(OWN, "b_hc") | see(CONSENT, *SOCIAL),
        setup=("notice", "consent_social_to_health"),
    ),
    Case(
        "health professional: both consents open both sectors",
        "b_hc",
        B_WITH_CONSENT | see(CONSENT, *SOCIAL),
        setup=(*NOTICE_HC, "consent_social_to_health"),
    ),
    # the care relationship
    refused("no care relationship: everything refused", "b_hc", care="none", setup=NOTICE_HC),
    refused("no care relationship: the own register refused too", "a_hc", care="none"),
    refused("ended care relationship: refused", "a_hc", care="ended", setup=NOTICE_HC),
    refused("care relationship not yet started: refused", "a_hc", care="future"),
    refused(
        "care relationship of another unit of the same county does not count",
        "a_occ",
        care="none",
        setup=("care_in_a_health_unit", *NOTICE_HC),
    ),
    refused("pharmacy: no records even with a care relationship and consent", "pharmacy", setup=NOTICE_HC),
    # deceased person, non-disclosure order
    Case("deceased: own register", "a_hc", see(OWN, *A_HC), setup=("deceased",)),
    Case(
        "deceased: another county under the same consent rules",
        "b_hc",
        B_WITH_CONSENT,
        setup=(*NOTICE_HC, "deceased"),
    ),
    Case(
        "deceased: prohibitions still apply",
        "b_hc",
        see(OWN, "b_hc"),
        setup=(*NOTICE_HC, "prohibit_all_data", "deceased"),
    ),
    refused("deceased: a mandate ends with the principal", "agent", setup=("deceased",)),
    Case("non-disclosure: own register unchanged", "a_hc", see(OWN, *A_HC), setup=("non_disclosure",)),
    Case(
        "non-disclosure: disclosure under consent unchanged",
        "b_hc",
        B_WITH_CONSENT,
        setup=(*NOTICE_HC, "non_disclosure"),
    ),
    refused("non-disclosure: no acting under a mandate", "agent", setup=("non_disclosure",)),
    refused("non-disclosure: no acting as guardian", "guardian", patient_age=9, setup=("non_disclosure",)),
    # the person themself (never audited)
    Case("self: everything shown in MyKanta", "self", see(SELF, *IN_MYKANTA)),
    Case(
        "self: a document whose display delay has ended",
        "self",
        see(SELF, *IN_MYKANTA, "a_hc_delayed"),
        setup=("display_delay_ended",),
    ),
    Case(
        "self: prohibitions never hide the person's own data",
        "self",
        see(SELF, *IN_MYKANTA),
        setup=(*NOTICE_HC, "prohibit_all_data"),
    ),
    Case("self: a 14-year-old sees their own data", "self", see(SELF, *IN_MYKANTA), patient_age=14),
    # guardians and mandates (rule 8)
    Case(
        "guardian of a 9-year-old: everything shown in MyKanta",
        "guardian",
        see(GUARDIAN, *IN_MYKANTA),
        patient_age=9,
    ),
    Case(
        "guardian of a 10-year-old: only documents marked for guardians",
        "guardian",
        see(GUARDIAN, *FOR_GUARDIANS),
        patient_age=10,
    ),
    Case(
        "guardian of a 14-year-old: only documents marked for guardians",
        "guardian",
        see(GUARDIAN, *FOR_GUARDIANS),
        patient_age=14,
    ),
    Case(
        "guardian of a 17-year-old: only documents marked for guardians",
        "guardian",
        see(GUARDIAN, *FOR_GUARDIANS),
        patient_age=17,
    ),
    refused("guardian of an 18-year-old: nothing", "guardian", patient_age=18),
    refused("ended guardianship: nothing", "guardian", patient_age=9, setup=("guardianship_ended",)),
    refused("a stranger for a child: nothing", "stranger", patient_age=9),
    refused("a stranger for an adult: nothing", "stranger"),
    Case("mandate in period: everything shown in MyKanta", "agent", see(MANDATE, *IN_MYKANTA)),
    refused("mandate expired: nothing", "agent", setup=("mandate_expired",)),
    refused("mandate not yet valid: nothing", "agent", setup=("mandate_not_yet_valid",)),
    refused("mandate for prescriptions only: nothing", "agent", setup=("mandate_prescriptions_only",)),
    refused("a mandate does not reach a minor", "agent", patient_age=14),
]


# -- running a case ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    actor: audit.Actor
    professional: Professional | None = None
    unit: Unit | None = None
    citizen: Person | None = None


def viewer_of(world: World, case: Case) -> Viewer:
    if case.viewer in CITIZENS:
        citizen = world.citizens[case.viewer]
        return Viewer(actor=audit.Actor(user=citizen.user), citizen=citizen)
    professional, unit = world.professionals[case.viewer], world.units[case.viewer]
    return Viewer(
        actor=audit.Actor(user=professional.user, professional=professional, unit=unit),
        professional=professional,
        unit=unit,
    )


def build_gate(world: World, viewer: Viewer, *, emergency: str = "") -> policy.Gate:
    if viewer.citizen is not None:
        return policy.for_citizen(actor=viewer.actor, viewer=viewer.citizen, person=world.patient)
    return policy.for_professional(actor=viewer.actor, person=world.patient, emergency_reason=emergency)


def prepare(world: World, case: Case) -> Viewer:
    for name in case.setup:
        SETUPS[name](world)
    world.patient.refresh_from_db()
    viewer = viewer_of(world, case)
    if viewer.unit is not None:
        care(world.patient, viewer.unit, case.care)
    return viewer


def data_type(label: str) -> str:
    return DataType.SOCIAL_WELFARE if label in SOCIAL else DataType.PATIENT


def rows(world: World, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(person=world.patient, action=action).order_by("id"))


def assert_rows_name_the_viewer(events: list[AuditEvent], world: World, viewer: Viewer) -> None:
    for event in events:
        assert event.person_id == world.patient.pk
        assert event.user_id == viewer.actor.user.pk
        if viewer.professional is not None:
            assert event.professional_id == viewer.professional.pk
            assert event.unit_id == viewer.unit.pk
            assert event.organisation_id == viewer.unit.organisation_id
        else:
            assert (event.professional_id, event.unit_id, event.organisation_id) == (None, None, None)


def summary(event: AuditEvent) -> tuple:
    return (event.outcome, event.legal_basis, event.category, event.data_type, frozenset(event.object_ids))


def expected_list_rows(world: World, case: Case, viewer: Viewer, ids: dict[str, str]) -> set[tuple]:
    """One allowed row per (basis, data type) shown, one refused row per data type withheld."""
    if case.viewer == "self":
        return set()
    if case.refused_outright:
        sector = DataType.SOCIAL_WELFARE if case.viewer in SOCIAL_WELFARE_UNITS else DataType.PATIENT
        return {(AuditOutcome.REFUSED, LegalBasis.NONE, case.category, sector, frozenset())}
    allowed: dict[tuple[str, str], set[str]] = defaultdict(set)
    withheld: dict[str, set[str]] = defaultdict(set)
    for label in ids:
        if label in case.visible:
            allowed[(case.visible[label], data_type(label))].add(ids[label])
        else:
            withheld[data_type(label)].add(ids[label])
    expected = {
        (AuditOutcome.ALLOWED, basis, case.category, kind, frozenset(labels))
        for (basis, kind), labels in allowed.items()
    }
    expected |= {
        (AuditOutcome.REFUSED, LegalBasis.NONE, case.category, kind, frozenset(labels))
        for kind, labels in withheld.items()
    }
    return expected


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_gate_shows_what_the_rules_allow_and_logs_every_decision(case, world_builder):
    world = world_builder(case.patient_age)
    viewer = prepare(world, case)
    gate = build_gate(world, viewer, emergency=case.emergency)

    # the list: exactly the expected documents, each with its basis, newest first
    documents = gate.documents(limit=100)
    assert {d.title: d.basis for d in documents} == case.visible
    assert [d.recorded_at for d in documents] == sorted((d.recorded_at for d in documents), reverse=True)
    assert gate.hidden_count() == len(EVERYTHING) - len(case.visible)

    # ...and the audit rows of that one read
    listed = rows(world, "documents.list")
    ids = {label: str(doc.public_id) for label, doc in world.documents.items()}
    assert {summary(e) for e in listed} == expected_list_rows(world, case, viewer, ids)
    assert len(listed) == len({summary(e) for e in listed})
    assert_rows_name_the_viewer(listed, world, viewer)
    for event in listed:
        if case.category == AuditCategory.EMERGENCY:
            assert event.reason_text == case.emergency
        if event.outcome == AuditOutcome.ALLOWED:
            assert event.purpose == (CareReason.APPOINTMENT if viewer.professional else "")
            if case.category == AuditCategory.ACCESS:
                assert event.reason_text == ""

    # one by one: a hidden document answers 404 like a missing one, a visible one opens with its basis
    for label, document in world.documents.items():
        if label in case.visible:
            assert gate.document(document.public_id).basis == case.visible[label]
        else:
            with pytest.raises(Http404):
                gate.document(document.public_id)
    viewed = rows(world, "document.view")
    if case.viewer == "self":
        assert viewed == []
    else:
        assert len(viewed) == len(world.documents)
        assert_rows_name_the_viewer(viewed, world, viewer)
        for label, document in world.documents.items():
            (event,) = [e for e in viewed if e.object_ids == [str(document.public_id)]]
            if label in case.visible:
                assert (event.outcome, event.legal_basis) == (AuditOutcome.ALLOWED, case.visible[label])
            else:
                assert (event.outcome, event.legal_basis) == (AuditOutcome.REFUSED, LegalBasis.NONE)
            assert event.data_type == data_type(label)
            assert event.category == case.category

    # a superseded version is visible exactly when its lineage's current version is
    if "a_hc_1" in case.visible:
        old = gate.document(world.old_version.public_id)
        assert (old.version, old.status, old.basis) == (1, DocumentStatus.SUPERSEDED, case.visible["a_hc_1"])
    else:
        with pytest.raises(Http404):
            gate.document(world.old_version.public_id)

    # structured entries follow the documents they belong to (and never a superseded version's)
    diagnoses = gate.entries(Diagnosis)
    assert {d.document.title: d.basis for d in diagnoses} == {
        label: basis for label, basis in case.visible.items() if label in DIAGNOSED
    }
    entry_rows = rows(world, "diagnosis.list")
    if case.viewer == "self":
        assert entry_rows == []
    elif case.refused_outright:
        assert [(e.outcome, e.object_ids) for e in entry_rows] == [(AuditOutcome.REFUSED, [])]
    else:
        shown = {str(world.diagnoses[label].pk) for label in DIAGNOSED if label in case.visible}
        logged = {i for e in entry_rows if e.outcome == AuditOutcome.ALLOWED for i in e.object_ids}
        assert logged == shown


# -- living will and organ donation will (rule 5) -------------------------------------------------------


@dataclass(frozen=True)
class DeclarationCase:
    id: str
    viewer: str
    basis: str = LegalBasis.DECLARATION  # LegalBasis.NONE: refused
    setup: tuple[str, ...] = ()
    emergency: str = ""
    care: str = "active"
    patient_age: int = 45
    category: str = AuditCategory.ACCESS
    shown: tuple[str, ...] = ("living_will", "organ_donation_will")


DECLARATION_CASES = [
    DeclarationCase("own county's health care unit, without consent", "a_hc"),
    DeclarationCase("another county's health care unit, without notice or consent", "b_hc"),
    DeclarationCase("an occupational health unit", "b_occ"),
    DeclarationCase("a private provider", "p_hc"),
    DeclarationCase("a producer", "q"),
    DeclarationCase("not hidden by an all-data prohibition", "b_hc", setup=(*NOTICE_HC, "prohibit_all_data")),
    DeclarationCase("a deceased person's declarations", "b_hc", setup=("deceased",)),
    DeclarationCase("in an emergency session", "b_hc", emergency=REASON, category=AuditCategory.EMERGENCY),
    DeclarationCase(
        "a withdrawn living will is no longer shown",
        "b_hc",
        setup=("living_will_withdrawn",),
        shown=("organ_donation_will",),
    ),
    DeclarationCase("not to a social worker", "a_sw", basis=LegalBasis.NONE),
    DeclarationCase("not without a care relationship", "b_hc", basis=LegalBasis.NONE, care="none"),
    DeclarationCase("not after the care relationship ended", "b_hc", basis=LegalBasis.NONE, care="ended"),
    DeclarationCase("not to a pharmacy", "pharmacy", basis=LegalBasis.NONE),
    DeclarationCase("not to a guardian", "guardian", basis=LegalBasis.NONE, patient_age=9),
    DeclarationCase("to a mandate holder", "agent", basis=LegalBasis.MANDATE),
    DeclarationCase("to the person themself, unaudited", "self", basis=LegalBasis.SELF),
]


@pytest.mark.parametrize("case", DECLARATION_CASES, ids=[case.id for case in DECLARATION_CASES])
def test_declarations_of_intent_are_shown_throughout_health_care_only(case, world_builder):
    world = world_builder(case.patient_age)
    viewer = prepare(world, case)
    gate = build_gate(world, viewer, emergency=case.emergency)

    living_will, donation_will = gate.declarations()

    shown = {
        name: declaration
        for name, declaration in (("living_will", living_will), ("organ_donation_will", donation_will))
        if declaration is not None
    }
    events = rows(world, "declarations.view")
    if case.basis == LegalBasis.NONE:
        assert shown == {}
        assert [(e.outcome, e.legal_basis, e.object_ids) for e in events] == [
            (AuditOutcome.REFUSED, LegalBasis.NONE, [])
        ]
    else:
        assert tuple(shown) == case.shown
        if living_will is not None:
            assert living_will.text == "Ei elvytystä."
        if donation_will is not None:
            assert donation_will.consents_to_donation is True
        if case.viewer == "self":
            assert events == []
        else:
            (event,) = events
            assert (event.outcome, event.legal_basis, event.category, event.data_type) == (
                AuditOutcome.ALLOWED,
                case.basis,
                case.category,
                DataType.PATIENT,
            )
            assert sorted(event.object_ids) == sorted(str(d.public_id) for d in shown.values())
    assert_rows_name_the_viewer(events, world, viewer)


# -- no cached decisions --------------------------------------------------------------------------------


def _withdraw_consent(world: World, viewer: Viewer) -> None:
    DisclosureConsent.objects.filter(person=world.patient).update(withdrawn_at=timezone.now())


def _end_care(world: World, viewer: Viewer) -> None:
    CareRelationship.objects.filter(person=world.patient, unit=viewer.unit).update(
        ends_at=timezone.now() - datetime.timedelta(seconds=1)
    )


CHANGES = {
    "consent withdrawn": _withdraw_consent,
    "prohibition added": lambda world, viewer: SETUPS["prohibit_county_a"](world),
    "care relationship ended": _end_care,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_applies_to_the_very_next_gate(change, world_builder):
    world = world_builder()
    case = Case("", "b_hc", {}, setup=NOTICE_HC)
    viewer = prepare(world, case)
    before = {d.title for d in build_gate(world, viewer).documents()}
    assert "a_hc_1" in before

    CHANGES[change](world, viewer)
    gate = build_gate(world, viewer)

    assert "a_hc_1" not in {d.title for d in gate.documents()}
    with pytest.raises(Http404):
        gate.document(world.documents["a_hc_1"].public_id)
    refusal = AuditEvent.objects.filter(action="document.view").get()
    assert (refusal.outcome, refusal.object_ids) == (
        AuditOutcome.REFUSED,
        [str(world.documents["a_hc_1"].public_id)],
    )


def test_a_consent_given_applies_to_the_very_next_gate(world_builder):
    world = world_builder()
    viewer = prepare(world, Case("", "b_hc", {}, setup=("notice",)))
    assert {d.title for d in build_gate(world, viewer).documents()} == {"b_hc"}

    SETUPS["consent_health_care"](world)

    assert {d.title for d in build_gate(world, viewer).documents()} == set(HEALTH)


# -- what is hidden is counted, never shown or logged as read ---------------------------------------------


def test_hidden_count_counts_what_prohibitions_hide_without_naming_it(world_builder):
    world = world_builder()
    viewer = prepare(
        world, Case("", "b_hc", {}, setup=(*NOTICE_HC, "prohibit_county_a", "prohibit_private_occ"))
    )
    gate = build_gate(world, viewer)

    hidden = gate.hidden_count()

    # county A's four health documents, the private occupational health one, three social welfare documents
    assert hidden == 4 + 1 + 3
    assert not AuditEvent.objects.exists()


# -- a care relationship handed to the gate (the page has just read it) -------------------------------------


def test_a_care_relationship_handed_to_the_gate_is_used_without_reading_it_again(world_builder):
    world = world_builder()
    viewer = prepare(world, Case("", "b_hc", {}, setup=NOTICE_HC))
    relationship = CareRelationship.objects.get(person=world.patient, unit=viewer.unit)

    with CaptureQueriesContext(connection) as captured:
        gate = policy.for_professional(
            actor=viewer.actor, person=world.patient, care_relationship=relationship
        )

    assert gate.care_relationship == relationship
    assert not any('"kanta_carerelationship"' in q["sql"] for q in captured.captured_queries)
    assert {d.title for d in gate.documents()} == set(HEALTH)


@pytest.mark.parametrize("given", ["ended", "another unit's", "another person's"])
def test_a_care_relationship_handed_to_the_gate_counts_only_while_it_is_the_units_active_one(
    given, world_builder
):
    world = world_builder()
    viewer = prepare(world, Case("", "b_hc", {}, setup=NOTICE_HC))
    relationship = {
        "ended": lambda: care(world.patient, viewer.unit, "ended"),
        "another unit's": lambda: care(world.patient, UnitFactory(), "active"),
        "another person's": lambda: care(PersonFactory(), viewer.unit, "active"),
    }[given]()

    gate = policy.for_professional(actor=viewer.actor, person=world.patient, care_relationship=relationship)

    assert gate.refusal == "no care relationship"
    assert gate.documents() == []
    (event,) = AuditEvent.objects.filter(action="documents.list")
    assert (event.outcome, event.reason_text) == (AuditOutcome.REFUSED, "no care relationship")


# -- fail closed --------------------------------------------------------------------------------------------


def _explode(*args, **kwargs):
    raise RuntimeError("the database said no")


BUILD_FAILURES = {
    "care relationship lookup fails": ("b_hc", "active_care_relationship"),
    "prohibition rule fails": ("b_hc", "_covered_by"),
    "consent rule fails": ("b_hc", "_consented_register_kinds"),
    "guardianship lookup fails": ("guardian", "acting_basis"),
}


@pytest.mark.parametrize("failure", list(BUILD_FAILURES))
def test_an_error_while_building_the_gate_shows_nothing_and_logs_a_refusal(
    failure, world_builder, monkeypatch
):
    viewer_key, target = BUILD_FAILURES[failure]
    world = world_builder(9 if viewer_key == "guardian" else 45)
    viewer = prepare(world, Case("", viewer_key, {}, setup=NOTICE_HC))
    monkeypatch.setattr(policy, target, _explode)

    gate = build_gate(world, viewer)

    assert gate.documents() == []
    assert gate.entries(Diagnosis) == []
    assert gate.declarations() == (None, None)
    assert gate.hidden_count() == len(EVERYTHING)
    with pytest.raises(Http404):
        gate.document(world.documents["b_hc"].public_id)
    events = list(AuditEvent.objects.order_by("id"))
    assert [e.action for e in events] == [
        "documents.list",
        "diagnosis.list",
        "declarations.view",
        "document.view",
    ]
    assert {(e.outcome, e.legal_basis, e.reason_text) for e in events} == {
        (AuditOutcome.REFUSED, LegalBasis.NONE, policy.GATE_ERROR)
    }


READ_FAILURES = {
    "listing documents": ("current_documents", lambda gate, world: gate.documents(), "documents.list"),
    "listing entries": ("current_entries", lambda gate, world: gate.entries(Diagnosis), "diagnosis.list"),
    "opening a document": (
        "document_with_history",
        lambda gate, world: gate.document(world.documents["b_hc"].public_id),
        "document.view",
    ),
}


@pytest.mark.parametrize("failure", list(READ_FAILURES))
def test_an_error_while_reading_is_a_logged_refusal_not_an_empty_answer(failure, world_builder, monkeypatch):
    selector, read, action = READ_FAILURES[failure]
    world = world_builder()
    viewer = prepare(world, Case("", "b_hc", {}, setup=NOTICE_HC))
    gate = build_gate(world, viewer)
    monkeypatch.setattr(policy.archive, selector, _explode)

    with pytest.raises(RuntimeError):
        read(gate, world)

    (event,) = AuditEvent.objects.all()
    assert (event.action, event.outcome, event.legal_basis, event.reason_text) == (
        action,
        AuditOutcome.REFUSED,
        LegalBasis.NONE,
        policy.GATE_ERROR,
    )


# -- bounded queries ----------------------------------------------------------------------------------------


def _grow(world: World, *, events: int) -> None:
    """Many more documents, diagnoses and prohibitions of the same kinds as the world already holds."""
    for n in range(events):
        event = ServiceEventFactory(
            person=world.patient,
            register=world.registers["a_hc"],
            unit=world.units["a_hc"],
            title=f"event {n}",
        )
        ProhibitionFactory(person=world.patient, scope=ProhibitionScope.SERVICE_EVENT, service_event=event)
        for register in ("a_hc", "b_hc", "b_occ", "p_hc", "a_sw"):
            document = DocumentFactory(
                person=world.patient,
                register=world.registers[register],
                unit=world.units[register],
                service_event=event if register == "a_hc" else None,
                kind=DocumentKind.DECISION if register == "a_sw" else DocumentKind.RECORD_ENTRY,
            )
            if register != "a_sw":
                DiagnosisFactory(document=document)


def test_building_a_gate_and_reading_runs_a_bounded_number_of_queries(
    world_builder, django_assert_max_num_queries
):
    world = world_builder()
    setup = (*NOTICE_HC, "consent_social_to_health", "prohibit_service_event_a1", "prohibit_private_occ")
    viewer = prepare(world, Case("", "b_hc", {}, setup=setup))

    def read() -> tuple[int, int]:
        gate = build_gate(world, viewer)
        documents = gate.documents(limit=500)
        gate.entries(Diagnosis, limit=500)
        gate.hidden_count()
        gate.document(world.old_version.public_id) if False else gate.document(
            world.documents["b_hc"].public_id
        )
        return len(documents), gate.hidden_count()

    with CaptureQueriesContext(connection) as small:
        small_counts = read()
    _grow(world, events=40)
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        large_counts = read()

    assert small_counts == (len(EVERYTHING) - 2, 2)
    assert large_counts == (len(EVERYTHING) - 2 + 40 * 4, 2 + 40)  # each event's own document is prohibited
    assert len(large.captured_queries) == len(small.captured_queries) <= 30
