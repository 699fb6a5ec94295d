"""The demo data set behind `manage.py demo_data`: a small, believable Finland to click through.

The three wellbeing services counties and the two outside recipients (Kela, Traficom) carry their real names
because a Kanta demo makes no sense without them; every other organisation, unit, professional and person is
fictional, and every OID and registration number below is a demo value (see OID_ARC).

Loading is idempotent: each row is found by its natural key (OID, identity code, username, registration
number, the guardian-child pair) and brought up to date, so a second run leaves the same rows. Nothing here
writes audit events: seeding is an operator's deployment step, like `migrate`, not an action on anyone's
data, and an append-only log that grew on every run would break that idempotency.

Sign-in for the demo accounts: one shared password (DEMO_PASSWORD, printed by the command; it is no secret,
which is why the command refuses to run with DEBUG off) and a TOTP device named "demo" whose key is derived
from the username (`totp_key`), so `manage.py demo_totp <username>` can print the current one-time code, or
its `--uri` can be added to an authenticator app.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from guardian.shortcuts import assign_perm

from kanta import identity_code
from kanta.models import (
    CareReason,
    CareRelationship,
    Guardianship,
    Language,
    Organisation,
    OrganisationKind,
    Person,
    Profession,
    Professional,
    Register,
    RegisterKind,
    Unit,
    User,
)

DEMO_PASSWORD = "kanta-demo-password"  # noqa: S105 - demo-only and printed on purpose
DEMO_DEVICE_NAME = "demo"

# Demo OIDs: a made-up arc under the SOTE organisation register's root 1.2.246.10. 99990001 is no real
# organisation's business ID; these OIDs exist only in demo databases and must never be used elsewhere.
OID_ARC = "1.2.246.10.99990001"
# Demo registration numbers: real Valvira numbers never start with 9999.
REGISTRATION_PREFIX = "9999"


def oid(*parts: int) -> str:
    return ".".join([OID_ARC, *map(str, parts)])


def totp_key(username: str) -> str:
    """The demo TOTP key of a user (40 hex digits): public by design, anyone can derive it from the username."""
    return hashlib.sha1(b"kanta-demo:" + username.encode(), usedforsecurity=False).hexdigest()[:40]


def is_demo_device(device: TOTPDevice) -> bool:
    """A device demo_data created: named "demo" and carrying the key derived from its user's name."""
    return device.name == DEMO_DEVICE_NAME and device.key == totp_key(device.user.get_username())


# -- organisations, registers and units ----------------------------------------------------------------------


@dataclass(frozen=True)
class UnitData:
    key: str  # the handle professionals and care relationships use below
    oid: str
    name_fi: str
    name_sv: str
    register_kind: str = RegisterKind.HEALTH_CARE  # the register the unit records into


@dataclass(frozen=True)
class OrganisationData:
    oid: str
    name_fi: str
    name_sv: str
    kind: str
    registers: tuple[str, ...] = ()
    units: tuple[UnitData, ...] = ()
    admin_username: str = ""  # a staff user who manages this organisation (guardian object permission)


COUNTY_REGISTERS = (RegisterKind.HEALTH_CARE, RegisterKind.OCCUPATIONAL_HEALTH, RegisterKind.SOCIAL_WELFARE)

ORGANISATIONS: tuple[OrganisationData, ...] = (
    OrganisationData(
        oid=oid(1),
        name_fi="Pirkanmaan hyvinvointialue",
        name_sv="Birkalands välfärdsområde",
        kind=OrganisationKind.COUNTY,
        registers=COUNTY_REGISTERS,
        admin_username="admin-pirkanmaa",
        units=(
            UnitData("hervanta-hc", oid(1, 1), "Hervannan terveysasema", "Hervanta hälsostation"),
            UnitData(
                "pirkanmaa-ward",
                oid(1, 2),
                "Keskussairaala, sisätautien vuodeosasto 3",
                "Centralsjukhuset, vårdavdelning 3 för inre medicin",
            ),
            UnitData("hervanta-dental", oid(1, 3), "Hervannan hammashoitola", "Hervanta tandklinik"),
            UnitData("hervanta-clinic", oid(1, 4), "Hervannan lastenneuvola", "Hervanta barnrådgivning"),
            UnitData(
                "tampere-social",
                oid(1, 5),
                "Tampereen keskustan sosiaalipalvelut",
                "Socialtjänsten i Tammerfors centrum",
                RegisterKind.SOCIAL_WELFARE,
            ),
            UnitData(
                "pirkanmaa-occupational",
                oid(1, 6),
                "Pirkanmaan työterveys, Tampere",
                "Birkalands företagshälsovård, Tammerfors",
                RegisterKind.OCCUPATIONAL_HEALTH,
            ),
        ),
    ),
    OrganisationData(
        oid=oid(2),
        name_fi="Varsinais-Suomen hyvinvointialue",
        name_sv="Egentliga Finlands välfärdsområde",
        kind=OrganisationKind.COUNTY,
        registers=COUNTY_REGISTERS,
        admin_username="admin-varsinais-suomi",
        units=(
            UnitData("runosmaki-hc", oid(2, 1), "Runosmäen terveysasema", "Runosbackens hälsostation"),
            UnitData(
                "varsinais-suomi-ward",
                oid(2, 2),
                "Keskussairaala, kirurginen vuodeosasto 2",
                "Centralsjukhuset, kirurgisk vårdavdelning 2",
            ),
            UnitData(
                "turku-social",
                oid(2, 3),
                "Turun sosiaalipalvelut",
                "Socialtjänsten i Åbo",
                RegisterKind.SOCIAL_WELFARE,
            ),
        ),
    ),
    OrganisationData(
        oid=oid(3),
        name_fi="Pohjois-Savon hyvinvointialue",
        name_sv="Norra Savolax välfärdsområde",
        kind=OrganisationKind.COUNTY,
        registers=COUNTY_REGISTERS,
        admin_username="admin-pohjois-savo",
        units=(
            UnitData("kallavesi-hc", oid(3, 1), "Kallaveden terveysasema", "Kallavesi hälsostation"),
            UnitData(
                "pohjois-savo-ward",
                oid(3, 2),
                "Keskussairaala, lasten vuodeosasto",
                "Centralsjukhuset, barnavdelningen",
            ),
            UnitData(
                "kuopio-social",
                oid(3, 3),
                "Kuopion sosiaalipalvelut",
                "Socialtjänsten i Kuopio",
                RegisterKind.SOCIAL_WELFARE,
            ),
        ),
    ),
    # Private providers: fictional names. The second runs an occupational health register of its own.
    OrganisationData(
        oid=oid(4),
        name_fi="Lääkärikeskus Kielo Oy",
        name_sv="Läkarcentralen Kielo Ab",
        kind=OrganisationKind.PRIVATE_HEALTH,
        registers=(RegisterKind.HEALTH_CARE,),
        units=(
            UnitData(
                "kielo-tampere", oid(4, 1), "Lääkärikeskus Kielo, Tampere", "Läkarcentralen Kielo, Tammerfors"
            ),
        ),
    ),
    OrganisationData(
        oid=oid(5),
        name_fi="Terveyspalvelu Sinivuokko Oy",
        name_sv="Hälsotjänst Blåsippan Ab",
        kind=OrganisationKind.PRIVATE_HEALTH,
        registers=(RegisterKind.HEALTH_CARE, RegisterKind.OCCUPATIONAL_HEALTH),
        units=(
            UnitData(
                "sinivuokko-clinic",
                oid(5, 1),
                "Sinivuokko lääkäriasema, Turku",
                "Blåsippans läkarstation, Åbo",
            ),
            UnitData(
                "sinivuokko-occupational",
                oid(5, 2),
                "Sinivuokko työterveys, Turku",
                "Blåsippans företagshälsovård, Åbo",
                RegisterKind.OCCUPATIONAL_HEALTH,
            ),
        ),
    ),
    # Pharmacies: fictional names, one unit (the pharmacy itself) each.
    OrganisationData(
        oid=oid(6),
        name_fi="Apteekki Ahomansikka",
        name_sv="Apoteket Smultronet",
        kind=OrganisationKind.PHARMACY,
        units=(
            UnitData(
                "ahomansikka",
                oid(6, 1),
                "Apteekki Ahomansikka, Hervanta",
                "Apoteket Smultronet, Hervanta",
            ),
        ),
    ),
    OrganisationData(
        oid=oid(7),
        name_fi="Apteekki Kissankello",
        name_sv="Apoteket Blåklockan",
        kind=OrganisationKind.PHARMACY,
        units=(
            UnitData("kissankello", oid(7, 1), "Apteekki Kissankello, Turku", "Apoteket Blåklockan, Åbo"),
        ),
    ),
    # Outside recipients of disclosure feeds (certificates forwarded at the citizen's request).
    OrganisationData(
        oid=oid(8),
        name_fi="Kansaneläkelaitos (Kela)",
        name_sv="Folkpensionsanstalten (FPA)",
        kind=OrganisationKind.RECIPIENT,
    ),
    OrganisationData(
        oid=oid(9),
        name_fi="Liikenne- ja viestintävirasto Traficom",
        name_sv="Transport- och kommunikationsverket Traficom",
        kind=OrganisationKind.RECIPIENT,
    ),
)


# -- professionals and administrators ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfessionalData:
    username: str
    first_name: str
    last_name: str
    profession: str
    registration_number: str
    units: tuple[str, ...]  # UnitData keys; the first is where the professional usually works


PROFESSIONALS: tuple[ProfessionalData, ...] = (
    ProfessionalData(
        "doctor", "Laura", "Salminen", Profession.PHYSICIAN, "99990000001", ("hervanta-hc", "pirkanmaa-ward")
    ),
    # A physician of another county and one of a private provider: the "unrelated doctor" cases.
    ProfessionalData(
        "doctor-turku", "Jukka", "Aaltonen", Profession.PHYSICIAN, "99990000002", ("runosmaki-hc",)
    ),
    ProfessionalData(
        "doctor-private",
        "Sofia",
        "Berg",
        Profession.PHYSICIAN,
        "99990000003",
        ("sinivuokko-clinic", "sinivuokko-occupational"),
    ),
    ProfessionalData("dentist", "Mikko", "Hiltunen", Profession.DENTIST, "99990000004", ("hervanta-dental",)),
    ProfessionalData(
        "nurse", "Riikka", "Lahtinen", Profession.NURSE, "99990000005", ("pirkanmaa-ward", "hervanta-hc")
    ),
    ProfessionalData(
        "healthnurse",
        "Tiina",
        "Koivisto",
        Profession.PUBLIC_HEALTH_NURSE,
        "99990000006",
        ("hervanta-clinic",),
    ),
    ProfessionalData(
        "pharmacist", "Katariina", "Wikström", Profession.PHARMACIST, "99990000007", ("ahomansikka",)
    ),
    ProfessionalData(
        "dispenser", "Jari", "Lehto", Profession.DISPENSING_PHARMACIST, "99990000008", ("kissankello",)
    ),
    ProfessionalData(
        "socialworker", "Henna", "Saarinen", Profession.SOCIAL_WORKER, "99990000009", ("tampere-social",)
    ),
    ProfessionalData(
        "archivist", "Petri", "Mattila", Profession.ARCHIVIST, "99990000010", ("tampere-social",)
    ),
    ProfessionalData(
        "student", "Ville", "Nurmi", Profession.MEDICAL_STUDENT, "99990000011", ("pirkanmaa-ward",)
    ),
)

SUPERUSER = "admin"


# -- persons -------------------------------------------------------------------------------------------------


def temporary_code(birth_date: datetime.date, individual_number: int) -> str:
    """A temporary identity code (900-999: odd male, even female) with the classic century sign."""
    if individual_number not in identity_code.TEMPORARY_RANGE:
        raise ValueError("demo persons get temporary identity codes only")
    return identity_code.build(birth_date, individual_number, "-" if birth_date.year < 2000 else "A")


@dataclass(frozen=True)
class PersonData:
    key: str
    identity_code: str
    first_names: str
    last_name: str
    language: str = Language.FINNISH
    non_disclosure: bool = False
    date_of_death: datetime.date | None = None
    note: str = ""  # why this person is in the demo; printed by the command


_d = datetime.date

# Birth dates are fixed rather than computed from today: the identity code is the natural key, and a code
# that changed with the calendar would create a new person on every run. The children therefore age:
# Helmi (2019-06-12) stays under 10, where guardians see everything, until 2029-06-12; Oskar (2012-09-04) is
# 14 until 2027-09-04 and stays in the 10-17 band, where guardians see only documents marked for them, until
# 2030-09-04. When they age out, move the dates forward (new codes, so new rows in an existing database).
PERSONS: tuple[PersonData, ...] = (
    # The well-known test codes of the Digital and Population Data Services Agency that fit as adults.
    PersonData("mikael", "010594Y9032", "Mikael Juhani", "Laaksonen"),
    PersonData("johan", "020594X903P", "Johan Henrik", "Lindholm", Language.SWEDISH),
    PersonData("elias", "020503F9037", "Elias", "Korhonen"),
    PersonData("ella", "020504B904H", "Ella Sofia", "Nieminen"),
    # The Virtanen family: two guardians, a child under 10 and a 10-year-old (the DVV test code 010516B903X).
    PersonData("aino", temporary_code(_d(1985, 3, 12), 902), "Aino Maria", "Virtanen"),
    PersonData("juhani", temporary_code(_d(1983, 8, 27), 901), "Juhani Olavi", "Virtanen"),
    PersonData(
        "helmi",
        temporary_code(_d(2019, 6, 12), 904),
        "Helmi Aurora",
        "Virtanen",
        note="child under 10, guardians Aino and Juhani Virtanen",
    ),
    PersonData(
        "onni",
        "010516B903X",
        "Onni Eemeli",
        "Virtanen",
        note="child aged 10 (born 2016), guardians Aino and Juhani Virtanen",
    ),
    # The Lindqvist family, Swedish-speaking: two guardians and a 14-year-old.
    PersonData("anna", temporary_code(_d(1978, 10, 5), 906), "Anna Kristina", "Lindqvist", Language.SWEDISH),
    PersonData("erik", temporary_code(_d(1976, 1, 19), 905), "Erik Gustav", "Lindqvist", Language.SWEDISH),
    PersonData(
        "oskar",
        temporary_code(_d(2012, 9, 4), 907),
        "Oskar Emil",
        "Lindqvist",
        Language.SWEDISH,
        note="14 years old (born 2012), guardians Anna and Erik Lindqvist",
    ),
    PersonData(
        "sanna",
        temporary_code(_d(1990, 2, 14), 908),
        "Sanna Kaarina",
        "Mäkinen",
        non_disclosure=True,
        note="non-disclosure for personal safety",
    ),
    PersonData(
        "toivo",
        temporary_code(_d(1941, 7, 3), 909),
        "Toivo Kalervo",
        "Heikkinen",
        date_of_death=_d(2025, 1, 28),
        note="deceased 2025-01-28",
    ),
    PersonData(
        "elsa", temporary_code(_d(1936, 4, 22), 910), "Elsa Annikki", "Koskinen", note="elderly (born 1936)"
    ),
    PersonData(
        "gunnel", temporary_code(_d(1939, 11, 2), 912), "Gunnel Margareta", "Holmström", Language.SWEDISH
    ),
    PersonData(
        "oliver",
        temporary_code(_d(1988, 11, 30), 911),
        "Oliver James",
        "Bennett",
        Language.ENGLISH,
        note="prefers English",
    ),
    PersonData("matti", temporary_code(_d(1962, 12, 1), 913), "Matti Tapani", "Laine"),
    PersonData("liisa", temporary_code(_d(1971, 5, 17), 914), "Liisa Marjatta", "Hämäläinen"),
    PersonData("pekka", temporary_code(_d(1957, 9, 9), 915), "Pekka Antero", "Järvinen"),
    PersonData("maria", temporary_code(_d(1999, 1, 7), 916), "Maria Linnea", "Nyström", Language.SWEDISH),
    PersonData("kalle", temporary_code(_d(1995, 6, 21), 917), "Kalle Ilmari", "Heinonen"),
    PersonData("emma", temporary_code(_d(2001, 3, 3), 918), "Emma Helena", "Lehtonen"),
)

GUARDIANSHIPS: tuple[tuple[str, str], ...] = (  # (guardian, child) person keys
    ("aino", "helmi"),
    ("juhani", "helmi"),
    ("aino", "onni"),
    ("juhani", "onni"),
    ("anna", "oskar"),
    ("erik", "oskar"),
)


@dataclass(frozen=True)
class CareData:
    unit: str
    person: str
    confirmed_by: str  # username
    reason: str


# Active care relationships, so that the demo professionals can open these persons without confirming one.
CARE_RELATIONSHIPS: tuple[CareData, ...] = (
    *(
        CareData("hervanta-hc", person, "doctor", CareReason.ONGOING)
        for person in ("aino", "helmi", "onni", "oskar", "sanna", "elsa", "mikael", "oliver")
    ),
    CareData("hervanta-clinic", "helmi", "healthnurse", CareReason.APPOINTMENT),
    CareData("tampere-social", "sanna", "socialworker", CareReason.SOCIAL_SERVICE),
    CareData("tampere-social", "oskar", "socialworker", CareReason.SOCIAL_SERVICE),
)


# -- loading -------------------------------------------------------------------------------------------------


def load() -> None:
    """Create or bring up to date every demo row, in one transaction."""
    # One hash for all demo accounts: hashing per account would make every run slow for a public password.
    password = make_password(DEMO_PASSWORD)
    with transaction.atomic():
        organisations, units = _load_organisations()
        _load_admins(password, organisations)
        professionals = _load_professionals(password, units)
        persons = _load_persons()
        _load_guardianships(persons)
        _load_care_relationships(units, persons, professionals)


def _load_organisations() -> tuple[dict[str, Organisation], dict[str, Unit]]:
    organisations: dict[str, Organisation] = {}
    units: dict[str, Unit] = {}
    for data in ORGANISATIONS:
        organisation, _ = Organisation.objects.update_or_create(
            oid=data.oid, defaults={"name_fi": data.name_fi, "name_sv": data.name_sv, "kind": data.kind}
        )
        organisations[data.oid] = organisation
        for kind in data.registers:
            Register.objects.get_or_create(controller=organisation, kind=kind)
        for unit_data in data.units:
            units[unit_data.key], _ = Unit.objects.update_or_create(
                oid=unit_data.oid,
                defaults={
                    "organisation": organisation,
                    "name_fi": unit_data.name_fi,
                    "name_sv": unit_data.name_sv,
                    "register_kind": unit_data.register_kind,
                },
            )
    return organisations, units


def _user(username: str, password: str, **fields) -> User:
    user, _ = User.objects.update_or_create(
        username=username, defaults={"password": password, "is_active": True, **fields}
    )
    # A rerun also resets the device: a demo locked out by failed codes becomes usable again.
    TOTPDevice.objects.update_or_create(
        user=user,
        name=DEMO_DEVICE_NAME,
        defaults={
            "key": totp_key(username),
            "confirmed": True,
            "step": 30,
            "t0": 0,
            "digits": 6,
            "drift": 0,
            "last_t": -1,
            "throttling_failure_count": 0,
            "throttling_failure_timestamp": None,
        },
    )
    return user


def _load_admins(password: str, organisations: dict[str, Organisation]) -> None:
    _user(SUPERUSER, password, first_name="Admin", last_name="Demo", is_staff=True, is_superuser=True)
    for data in ORGANISATIONS:
        if data.admin_username:
            admin = _user(
                data.admin_username,
                password,
                first_name="Admin",
                last_name=data.name_fi,
                is_staff=True,
                is_superuser=False,
            )
            assign_perm("kanta.manage_organisation", admin, organisations[data.oid])


def _load_professionals(password: str, units: dict[str, Unit]) -> dict[str, Professional]:
    professionals = {}
    for data in PROFESSIONALS:
        user = _user(
            data.username,
            password,
            first_name=data.first_name,
            last_name=data.last_name,
            is_staff=False,
            is_superuser=False,
        )
        professional, _ = Professional.objects.update_or_create(
            registration_number=data.registration_number,
            defaults={"user": user, "profession": data.profession},
        )
        professional.units.set([units[key] for key in data.units])
        professionals[data.username] = professional
    return professionals


def _load_persons() -> dict[str, Person]:
    persons = {}
    for data in PERSONS:
        persons[data.key], _ = Person.objects.update_or_create(
            identity_code=data.identity_code,
            defaults={
                "first_names": data.first_names,
                "last_name": data.last_name,
                "preferred_language": data.language,
                "non_disclosure": data.non_disclosure,
                "date_of_death": data.date_of_death,
            },
        )
    return persons


def _load_guardianships(persons: dict[str, Person]) -> None:
    for guardian, child in GUARDIANSHIPS:
        Guardianship.objects.update_or_create(
            guardian=persons[guardian],
            child=persons[child],
            defaults={"starts_on": persons[child].birth_date, "ends_on": None},
        )


def _load_care_relationships(
    units: dict[str, Unit], persons: dict[str, Person], professionals: dict[str, Professional]
) -> None:
    """Keep one active relationship per pair: extend the current one, or start a new one after expiry.

    A relationship that has run out is history and stays as it was, as it would after a real confirmation.
    """
    now = timezone.now()
    ends_at = now + datetime.timedelta(days=settings.CARE_RELATIONSHIP_DAYS)
    for data in CARE_RELATIONSHIPS:
        unit, person = units[data.unit], persons[data.person]
        current = (
            CareRelationship.objects.active(now).filter(unit=unit, person=person).order_by("-ends_at").first()
        )
        if current is None:
            CareRelationship.objects.create(
                unit=unit,
                person=person,
                confirmed_by=professionals[data.confirmed_by],
                reason=data.reason,
                starts_at=now,
                ends_at=ends_at,
            )
        else:
            current.ends_at = max(current.ends_at, ends_at)
            current.save(update_fields=["ends_at"])
