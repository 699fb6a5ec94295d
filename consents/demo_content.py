"""Demo content of consents: declarations of several demo persons, a mandate, and reads that fill a
disclosure log. Loaded by `manage.py demo_data` after the archive's demo content (autodiscovery, in
INSTALLED_APPS order), whose documents it reads.

Everything is written through consents.services as the person would: signed in to MyKanta as their own
citizen user (created the way identification creates it, kanta.auth), at a unit where a professional records
it on their behalf, or through a mandate. The mandate is entered by the demo administrator, as mandates are.
The disclosure log entries are real reads: a professional of another county opens the person through the
disclosure gate (consents.policy), which logs every read with its basis.

Idempotent, and a second run writes nothing: a person whose information notice has ever been acknowledged is
left as they are (whatever a visitor has changed since stays changed), the mandate is entered only if none of
its kind is in force, and a professional's reads are made only if that organisation has never read the
person's data (in an emergency, for the emergency read). Each person's declarations are written in one transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from archive import demo_content as archive_demo
from archive.models import Diagnosis, LabResult, RiskInformation, ServiceEvent
from consents import policy, services
from consents.models import (
    Channel,
    ConsentSector,
    InformationNotice,
    Mandate,
    MandateScope,
    PrescriptionDenial,
    ProhibitionScope,
)
from consents.selectors import CURRENT_NOTICE_VERSION
from kanta import access, audit, demo
from kanta.auth import CitizenBackend
from kanta.models import (
    AuditCategory,
    AuditEvent,
    AuditOutcome,
    CareReason,
    LegalBasis,
    Organisation,
    Person,
    Professional,
    Unit,
    User,
)
from kanta.services import care_relationship_confirm
from prescriptions import demo_content as prescriptions_demo
from prescriptions.models import Prescription

LIVING_WILL_FI = (
    "En halua elvytystä, jos sydämeni pysähtyy. En halua tehohoitoa, hengityskonehoitoa enkä "
    "letkuravitsemusta, jos paranemisesta ei ole toivoa. Toivon hyvää kivun ja ahdistuksen hoitoa ja että "
    "saan olla kotona tai lähellä tytärtäni elämäni loppuun asti."
)
LIVING_WILL_FI_2 = (
    "Jos sairastun vakavasti enkä pysty ilmaisemaan tahtoani, toivon, että hoidossa keskitytään oireiden "
    "lievittämiseen. En halua elvytystä enkä tehohoitoa, jos toipuminen omatoimiseksi ei ole todennäköistä. "
    "Hoidostani saa keskustella vaimoni kanssa."
)
LIVING_WILL_SV = (
    "Jag vill inte bli återupplivad om mitt hjärta stannar. Jag vill inte ha respiratorvård eller sondmatning "
    "om det inte finns hopp om att jag tillfrisknar. Jag önskar god smärtlindring och att få vårdas på svenska."
)
EMERGENCY_REASON = "Potilas tuotu tajuttomana päivystykseen; esitiedot tarvitaan hoidon turvaamiseksi."


class _Demo:
    """The core demo's rows by their demo keys."""

    def __init__(self) -> None:
        self.today = timezone.localdate()
        codes = {p.identity_code: p.key for p in demo.PERSONS}
        self.persons = {
            codes[p.identity_code]: p
            for p in Person.objects.select_related("user").filter(identity_code__in=codes)
        }
        unit_keys = {unit.oid: unit.key for org in demo.ORGANISATIONS for unit in org.units}
        self.units = {
            unit_keys[unit.oid]: unit
            for unit in Unit.objects.select_related("organisation").filter(oid__in=unit_keys)
        }

    def organisation(self, number: int) -> Organisation:
        return Organisation.objects.get(oid=demo.oid(number))

    def professional(self, username: str, unit: str) -> audit.Actor:
        professional = Professional.objects.select_related("user").get(user__username=username)
        return audit.Actor(user=professional.user, professional=professional, unit=self.units[unit])


class _Person:
    """One person making declarations: in MyKanta as themself unless told otherwise."""

    def __init__(self, site: _Demo, key: str) -> None:
        self.site = site
        self.person = site.persons[key]
        self.mykanta = audit.Actor(user=_citizen_user(self.person))

    def own(self, actor: audit.Actor | None = None, channel: str = Channel.MYKANTA) -> dict:
        return {
            "actor": actor or self.mykanta,
            "person": self.person,
            "acting_person": self.person,
            "channel": channel,
        }

    def notice_and_consent(self, *sectors: str, **how) -> None:
        services.notice_acknowledge(**self.own(**how))
        for sector in sectors:
            services.consent_give(**self.own(**how), sector=sector)


def _citizen_user(person: Person) -> User:
    """The person's MyKanta user, created as a first identification creates it."""
    if person.user is not None:
        return person.user
    user = CitizenBackend().authenticate(None, identified_identity_code=person.identity_code)
    person.refresh_from_db(fields=["user"])
    return user


# -- the persons ---------------------------------------------------------------------------------------------


def _mikael(p: _Person) -> None:
    p.notice_and_consent(ConsentSector.HEALTH_CARE)
    services.organ_donation_will_save(**p.own(), consents_to_donation=True)


def _ella(p: _Person) -> None:
    # Consent for health data, but nothing of what Pirkanmaa recorded (her depression treatment there).
    p.notice_and_consent(ConsentSector.HEALTH_CARE)
    services.prohibition_add(**p.own(), scope=ProhibitionScope.COUNTY, organisation=p.site.organisation(1))


def _aino(p: _Person) -> None:
    p.notice_and_consent(ConsentSector.HEALTH_CARE)


def _johan(p: _Person) -> None:
    p.notice_and_consent(ConsentSector.HEALTH_CARE)
    services.organ_donation_will_save(**p.own(), consents_to_donation=True)


def _anna(p: _Person) -> None:
    p.notice_and_consent(ConsentSector.HEALTH_CARE)
    services.organ_donation_will_save(
        **p.own(), consents_to_donation=True, restrictions="Jag vill inte donera ögonens hornhinnor."
    )


def _gunnel(p: _Person) -> None:
    p.notice_and_consent(ConsentSector.HEALTH_CARE)
    services.living_will_save(**p.own(), text=LIVING_WILL_SV)


def _elsa(p: _Person) -> None:
    # Recorded at the health centre on her behalf by the nurse; her daughter then acts for her in MyKanta.
    at_unit = {"actor": p.site.professional("nurse", "hervanta-hc"), "channel": Channel.UNIT}
    p.notice_and_consent(ConsentSector.HEALTH_CARE, **at_unit)
    services.living_will_save(**p.own(**at_unit), text=LIVING_WILL_FI)
    daughter = p.site.persons["liisa"]
    services.consent_give(
        actor=audit.Actor(user=_citizen_user(daughter)),
        person=p.person,
        acting_person=daughter,
        sector=ConsentSector.SOCIAL_WELFARE,
    )


def _matti(p: _Person) -> None:
    services.notice_acknowledge(**p.own())
    services.prohibition_add(**p.own(), scope=ProhibitionScope.ALL_DATA, emergency_permission=True)


def _kalle(p: _Person) -> None:
    p.notice_and_consent(ConsentSector.HEALTH_CARE)
    event = ServiceEvent.objects.filter(
        person=p.person, title=archive_demo.PROHIBITED_SERVICE_EVENT_TITLE
    ).first()
    if event is not None:
        services.prohibition_add(**p.own(), scope=ProhibitionScope.SERVICE_EVENT, service_event=event)


def _liisa(p: _Person) -> None:
    p.notice_and_consent(ConsentSector.HEALTH_CARE)
    services.research_contact_prohibition_set(**p.own(), prohibited=True)


def _pekka(p: _Person) -> None:
    services.notice_acknowledge(**p.own())
    services.living_will_save(**p.own(), text=LIVING_WILL_FI_2)
    services.organ_donation_will_save(**p.own(), consents_to_donation=False)


def _emma(p: _Person) -> None:
    p.notice_and_consent(ConsentSector.HEALTH_CARE)
    services.organ_donation_will_save(
        **p.own(), consents_to_donation=True, restrictions="En halua luovuttaa silmieni sarveiskalvoja."
    )


DECLARATIONS: tuple[tuple[str, Callable[[_Person], None]], ...] = (
    ("mikael", _mikael),
    ("ella", _ella),
    ("aino", _aino),
    ("johan", _johan),
    ("anna", _anna),
    ("gunnel", _gunnel),
    ("elsa", _elsa),
    ("matti", _matti),
    ("kalle", _kalle),
    ("liisa", _liisa),
    ("pekka", _pekka),
    ("emma", _emma),
)


# -- the mandate ---------------------------------------------------------------------------------------------


def _mandate(site: _Demo) -> bool:
    """Liisa Hämäläinen acts for her mother Elsa Koskinen in health care matters."""
    principal, agent = site.persons["elsa"], site.persons["liisa"]
    in_force = Mandate.objects.filter(
        principal=principal, agent=agent, scope=MandateScope.HEALTH_CARE, ends_on__gte=site.today
    ).exists()
    if in_force:
        return False
    services.mandate_create(
        actor=audit.Actor(user=User.objects.get(username=demo.SUPERUSER)),
        principal=principal,
        agent=agent,
        scope=MandateScope.HEALTH_CARE,
        starts_on=site.today - datetime.timedelta(days=130),
        ends_on=site.today + datetime.timedelta(days=5 * 365),
    )
    return True


# -- a per-prescription denial ------------------------------------------------------------------------------


def _prescription_denial(site: _Demo) -> bool:
    """Kalle Heinonen denies the disclosure of his oxazepam prescription (prescriptions' demo content): the
    pharmacies no longer find it by his identity code. Made once: a denial he has ever made, even one withdrawn
    since, is left as it is."""
    kalle = site.persons[prescriptions_demo.DENIED_PRESCRIPTION_PERSON]
    if PrescriptionDenial.objects.filter(person=kalle).exists():
        return False
    if not InformationNotice.objects.filter(
        person=kalle, version=CURRENT_NOTICE_VERSION, withdrawn_at__isnull=True
    ).exists():
        return False  # the denial needs the notice, which his declarations above give
    prescription = (
        Prescription.objects.filter(person=kalle, atc=prescriptions_demo.DENIED_PRESCRIPTION_ATC)
        .order_by("-prescribed_at")
        .first()
    )
    if prescription is None:
        return False
    p = _Person(site, prescriptions_demo.DENIED_PRESCRIPTION_PERSON)
    services.prescription_denial_add(**p.own(), prescription=prescription)
    return True


# -- reads by another county, for the disclosure log ---------------------------------------------------------


def _already_read(person: Person, organisation: Organisation, **kind) -> bool:
    return AuditEvent.objects.filter(
        person=person, organisation=organisation, outcome=AuditOutcome.ALLOWED, **kind
    ).exists()


def _open_person(actor: audit.Actor, person: Person, *, emergency_reason: str = "") -> policy.Gate:
    """What the professional's person page does: confirm the care relationship, open the person, read."""
    if access.active_care_relationship(person=person, unit=actor.unit) is None:
        care_relationship_confirm(actor=actor, person=person, reason=CareReason.APPOINTMENT)
    access.person_for_professional(actor=actor, public_id=person.public_id, action="person.view")
    gate = policy.for_professional(actor=actor, person=person, emergency_reason=emergency_reason)
    gate.entries(RiskInformation, action="risk_information.list")
    if gate.may_see_declarations:
        gate.declarations()
    gate.entries(Diagnosis, action="diagnosis.list")
    return gate


def _reads_by_another_county(site: _Demo) -> int:
    """Mikael Laaksonen at a Turku health centre: his Pirkanmaa records read through his consent.
    Matti Laine brought in unconscious: read in an emergency despite his prohibition, which allows it."""
    actor = site.professional("doctor-turku", "runosmaki-hc")
    county = actor.unit.organisation
    done = 0
    mikael = site.persons["mikael"]
    if not _already_read(mikael, county, category=AuditCategory.ACCESS):
        with transaction.atomic():
            gate = _open_person(actor, mikael)
            gate.entries(LabResult, action="lab_result.list")
            documents = gate.documents(limit=20)
            disclosed = [d for d in documents if d.basis == LegalBasis.CONSENT]
            if disclosed:
                gate.document(disclosed[0].public_id)
        done += 1
    matti = site.persons["matti"]
    if not _already_read(matti, county, category=AuditCategory.EMERGENCY):
        with transaction.atomic():
            gate = _open_person(actor, matti, emergency_reason=EMERGENCY_REASON)
            gate.documents(limit=20)
        done += 1
    return done


# Printed by `demo_data`: whom to sign in as to see what.
HIGHLIGHTS: tuple[tuple[str, str], ...] = (
    ("mikael", "“Where my data has been processed”: read in Turku through his consent"),
    ("matti", "all-data prohibition with emergency permission; read in an emergency"),
    ("liisa", "acts for her mother Elsa Koskinen by mandate; research-contact prohibition"),
    ("elsa", "living will (Finnish) and consents recorded at the health centre"),
    ("gunnel", "living will in Swedish"),
    ("ella", "prohibition of one county; Kalle Heinonen has one of a service event"),
)


# -- loading -------------------------------------------------------------------------------------------------


def load(*, stdout) -> None:
    """Write the consents demo; persons who have ever acknowledged the notice are left as they are."""
    site = _Demo()
    with transaction.atomic():
        mandates = _mandate(site)
    written = skipped = 0
    for key, declare in DECLARATIONS:
        person = site.persons[key]
        if InformationNotice.objects.filter(person=person).exists():
            skipped += 1
            continue
        with transaction.atomic():
            declare(_Person(site, key))
        written += 1
    with transaction.atomic():
        denials = _prescription_denial(site)
    reads = _reads_by_another_county(site)
    if written or mandates or reads or denials:
        stdout.write(
            f"Consents: declarations of {written} persons, {int(mandates)} mandate, {int(denials)} prescription "
            f"denial, reads by another county for {reads} persons, written through consents.services and "
            "consents.policy"
            + (
                f" ({skipped} persons already had declarations and were left as they were)."
                if skipped
                else "."
            )
        )
    else:
        stdout.write(f"Consents: every demo person's declarations ({skipped}) are in place; nothing written.")
    archive_demo.print_highlights(stdout, site.persons, HIGHLIGHTS)
