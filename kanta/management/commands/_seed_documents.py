"""The document part of `manage.py seed`: service events, documents, structured entries and the persons'
consents and prohibitions, generated in Python and written with PostgreSQL COPY.

Imported by the seed command only when a run asks for documents: kanta's own modules never import the apps
above it (ARCHITECTURE.md), and this module is an entry point's helper that reads their models, not part of
the core. docs/operations.md ("Synthetic data") says what it writes and how fast.

How the rows are made:

- A plan first: how many documents and service events each person gets, so that the ids of every service
  event and document can be reserved from their sequences as one contiguous block before anything is
  written (a correction points at the version it supersedes, an entry at its document).
- Then persons in chunks: a chunk's rows go into one text buffer per table, and a writer thread COPYs the
  previous chunk while the next is being generated. psycopg releases the GIL while it waits on the server,
  so Python (one core) and PostgreSQL (the other) work at the same time.
- Everything random comes from a Random seeded with the first person's id, so the same run on the same
  database writes the same rows. Values come from small precomputed pools of ready COPY fragments (titles,
  codes with their titles, lab results with their flags), which keeps the per-row Python work to a few
  random numbers and one f-string.

Bulk load into empty or nearly empty tables (kanta.bulkload): when no archive table this run writes holds
more than a tenth of the documents it adds (a demo's few dozen rows), the run drops their secondary indexes,
unique constraints and foreign keys, COPYs, and then rebuilds the indexes and adds the foreign keys back
(which checks every row). When those tables and the consents tables are all empty, it truncates them first
and COPYs with FREEZE. Into tables that hold more rows it appends with everything in place. Either way it is
one transaction: a failure leaves nothing behind.
"""

from __future__ import annotations

import datetime
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from archive import codes
from archive.models import (
    AbnormalFlag,
    Diagnosis,
    Document,
    ImagingStudy,
    LabResult,
    Measurement,
    Procedure,
    RiskInformation,
    ServiceEvent,
    Vaccination,
)
from consents.models import (
    DisclosureConsent,
    InformationNotice,
    LivingWill,
    OrganDonationWill,
    Prohibition,
    ResearchContactProhibition,
)
from consents.selectors import CURRENT_NOTICE_VERSION
from kanta import bulkload
from kanta.bulkload import NULL, ProgressBar, check_copy_text
from kanta.models import Organisation, OrganisationKind, Person, Register, RegisterKind, Unit

# -- shape of the data ---------------------------------------------------------------------------------------

HISTORY_DAYS = 3650  # documents are spread over the last ten years (or the person's life, if shorter)
DOCUMENTS_PER_EVENT = 8  # on average: a service event groups a few visits' documents
CHUNK_DOCUMENTS = 40_000  # documents generated per chunk (a chunk is about 15 MB of COPY text in all)

# Register of a service event: mostly health care, some occupational health (working age) and social welfare.
OCCUPATIONAL_SHARE = 0.10
SOCIAL_SHARE = 0.08
OTHER_COUNTY_SHARE = 0.12  # a visit in another county than the person's own: disclosure needs consent
PRIVATE_OCCUPATIONAL_SHARE = 0.7  # of occupational health events, at a private provider when there is one

CORRECTED_SHARE = 0.03  # documents corrected once: version 1 superseded, version 2 current
INVALIDATED_SHARE = 0.01
DELAYED_SHARE = 0.01  # display in MyKanta delayed (some delays have ended by now)
SPECIAL_CONTENT_SHARE = 0.05  # of social welfare documents
GUARDIAN_DISCLOSABLE_SHARE = 0.3  # of the documents of a person now aged 10 to 17

NOTICE_SHARE = 0.70  # persons who acknowledged the information notice (needed for the rest)
CONSENT_SHARES = {  # of those with the notice
    "health_care": 0.85,
    "social_welfare": 0.30,
    "social_to_health": 0.15,
    "health_to_social": 0.10,
}
WITHDRAWN_CONSENT_SHARE = 0.05  # an earlier health care consent withdrawn before the current one
PROHIBITION_SHARE = 0.10  # of those with the notice; one prohibition, or two (a fifth of them)
PROHIBITION_SCOPES = ["service_event"] * 35 + ["register"] * 20 + ["county"] * 20 + ["all_data"] * 15
PROHIBITION_SCOPES += ["occupational_health"] * 10
EMERGENCY_PERMISSION_SHARE = 0.4
WITHDRAWN_PROHIBITION_SHARE = 0.1
RESEARCH_PROHIBITION_SHARE = 0.02
LIVING_WILL_SHARE = 0.03  # of adults
ORGAN_DONATION_WILL_SHARE = 0.10  # of adults
UNIT_CHANNEL_SHARE = 0.15  # declarations made at a unit on the person's behalf rather than in MyKanta


def weighted(pairs: Sequence[tuple[str, int]]) -> list[str]:
    """A 100-slot list: picking slot int(random() * 100) picks each value with its weight in percent."""
    slots = [value for value, weight in pairs for _ in range(weight)]
    if len(slots) != 100:
        raise ValueError("weights must add up to 100")
    return slots


HEALTH_KINDS = weighted(
    [
        ("record_entry", 52),
        ("laboratory", 20),
        ("vaccination", 6),
        ("imaging_request", 3),
        ("imaging_statement", 4),
        ("referral", 5),
        ("care_plan", 5),
        ("certificate", 5),
    ]
)
OCCUPATIONAL_KINDS = weighted(
    [("record_entry", 60), ("laboratory", 15), ("certificate", 15), ("vaccination", 6), ("referral", 4)]
)
SOCIAL_KINDS = weighted(
    [
        ("client_relationship_start", 10),
        ("service_need_assessment", 25),
        ("client_plan", 30),
        ("decision", 35),
    ]
)
RECORD_VIEWS = weighted(
    [("general", 50), ("nursing", 25), ("specialty", 15), ("oral_health", 7), ("summary", 3)]
)

# Finnish, like the rest of the synthetic data. None of these may hold a tab, newline or backslash (COPY text).
RECORD_TITLES = {
    "general": ["Lääkärin vastaanotto", "Päivystyskäynti", "Etävastaanotto", "Kontrollikäynti"],
    "nursing": ["Sairaanhoitajan vastaanotto", "Hoitajan puhelinkontakti", "Terveydenhoitajan vastaanotto"],
    "specialty": [
        "Sisätautien poliklinikka",
        "Kirurgian poliklinikka",
        "Ortopedian konsultaatio",
        "Neurologian poliklinikka",
        "Psykiatrian poliklinikka",
    ],
    "oral_health": ["Suun terveystarkastus", "Hammaslääkärin vastaanotto", "Suuhygienistin käynti"],
    "summary": ["Hoitojakson loppulausunto", "Epikriisi"],
}
RECORD_TEXTS = [
    "Potilas tulee vastaanotolle oireiden vuoksi. Yleisvointi hyvä.",
    "Tila vakaa. Jatketaan nykyistä hoitoa ja seurataan.",
    "Oireet ovat helpottaneet. Kotihoito-ohjeet annettu suullisesti ja kirjallisesti.",
    "Status: sydän ja keuhkot auskultoiden normaalit. Vatsa pehmeä, ei aristusta.",
    "Keskusteltu elintapamuutoksista. Uusi kontrolli kolmen kuukauden kuluttua.",
    "Lääkitys tarkistettu ja ajantasaistettu. Ei haittavaikutuksia.",
    "Potilas ohjattu laboratorioon. Tulokset käydään läpi puhelimitse.",
    "Haava siisti, ompeleet poistettu. Ei infektion merkkejä.",
]
LAB_TITLES = ["Laboratoriotutkimukset", "Perusverenkuva", "Kliinisen kemian tutkimukset", "Kontrollinäytteet"]
LAB_TEXTS = ["Näytteet otettu aamulla paastonäytteinä.", "Kontrollinäytteet hoitosuunnitelman mukaan.", ""]
REFERRAL_TITLES = [
    "Lähete erikoissairaanhoitoon",
    "Lähete fysioterapiaan",
    "Lähete kuvantamiseen",
    "Lähete sisätautien poliklinikalle",
]
REFERRAL_TEXTS = ["Pyydetään arviota ja hoito-ohjeita.", "Oireet jatkuneet hoidosta huolimatta."]
CARE_PLAN_TITLES = [
    "Terveys- ja hoitosuunnitelma",
    "Kuntoutussuunnitelma",
    "Pitkäaikaissairauden hoitosuunnitelma",
]
CARE_PLAN_TEXTS = [
    "Tavoitteet ja seuranta sovittu yhdessä potilaan kanssa.",
    "Omahoidon tavoitteet päivitetty.",
]
CERTIFICATE_TITLES = {
    "SV6": "Lääkärinlausunto A (SV 6)",
    "SV7": "Lääkärinlausunto B (SV 7)",
    "F122": "Ajoterveyslausunto (Traficom F122)",
}
CERTIFICATE_FORMS = ["SV6"] * 6 + ["SV7"] * 2 + ["F122"] * 2
VACCINATION_TEXTS = [
    "Rokote annettu olkavarteen lihakseen. Ei välittömiä reaktioita.",
    "Rokotus rokotusohjelman mukaan.",
]
SOCIAL_TITLES = {
    "client_relationship_start": ["Asiakkuuden alkaminen"],
    "service_need_assessment": ["Palvelutarpeen arviointi", "Palvelutarpeen arvioinnin päivitys"],
    "client_plan": ["Asiakassuunnitelma", "Asiakassuunnitelman tarkistus"],
    "decision": ["Päätös palvelusta", "Päätös tukitoimesta", "Päätös asiakasmaksusta"],
}
SOCIAL_TEXTS = [
    "Asiakkaan ja läheisten kanssa käyty läpi tilanne ja tuen tarve.",
    "Palvelut järjestetään suunnitelman mukaisesti. Seuraava arviointi puolen vuoden kuluttua.",
    "Asiakas on osallistunut suunnitelman laatimiseen.",
]
SOCIAL_TASKS = {  # by age today: service tasks that fit
    "child": ["child_welfare", "family_services", "disability_services"],
    "working_age": ["working_age_services", "working_age_services", "substance_abuse", "disability_services"],
    "older": ["elderly_services", "elderly_services", "disability_services"],
}
SOCIAL_EVENT_TITLES = {
    "child_welfare": "Lastensuojelu",
    "family_services": "Lapsiperheiden palvelut",
    "elderly_services": "Ikääntyneiden palvelut",
    "disability_services": "Vammaispalvelut",
    "working_age_services": "Työikäisten sosiaalipalvelut",
    "substance_abuse": "Päihdepalvelut",
}
IMAGING = [
    ("DX", "Keuhkojen röntgenkuvaus"),
    ("DX", "Ranteen röntgenkuvaus"),
    ("DX", "Polven röntgenkuvaus"),
    ("CT", "Pään tietokonetomografia"),
    ("CT", "Vatsan tietokonetomografia"),
    ("MR", "Lannerangan magneettikuvaus"),
    ("MR", "Polven magneettikuvaus"),
    ("US", "Vatsan ultraäänitutkimus"),
    ("US", "Kilpirauhasen ultraäänitutkimus"),
]
IMAGING_STATEMENT_TEXTS = [
    "Ei poikkeavaa.",
    "Lieviä kulumamuutoksia, ei akuuttia löydöstä.",
    "Verrattu aiempaan: ennallaan.",
]
# A made-up arc for the synthetic study UIDs (DICOM UIDs are dotted numbers, at most 64 characters).
STUDY_UID_ROOT = "1.2.246.10.77.1"
RISKS = [
    ("allergy", "Penisilliiniallergia (nokkosihottuma)", True),
    ("allergy", "Pähkinäallergia, anafylaksia", True),
    ("allergy", "Lateksiallergia", True),
    ("allergy", "Ampiaisen pistoallergia", True),
    ("allergy", "Siitepölyallergia", False),
    ("hazard", "Varfariinihoito: vuotoriski", True),
    ("hazard", "Sydämen tahdistin: ei magneettikuvausta", True),
    ("hazard", "MRSA-kantajuus", True),
    ("hazard", "Kaatumisriski", False),
]
PROCEDURES = [
    "Haavan ompelu",
    "Korvahuuhtelu",
    "Luomen poisto",
    "Spirometria",
    "EKG",
    "Nivelpunktio",
    "Kynsivallin osittainen poisto",
    "Kortisoni-injektio olkaniveleen",
    "Virtsakatetrin asettaminen",
]
INVALIDATION_REASONS = ["Kirjattu väärälle potilaalle", "Virheellinen kirjaus", "Tallennettu kahteen kertaan"]
DELAY_REASONS = ["Tulokset käydään ensin läpi vastaanotolla", "Lääkäri kertoo tuloksista potilaalle itse"]
SICKNESS_STATEMENTS = [
    "Työkyvytön oireiden vuoksi. Kontrolli tarvittaessa.",
    "Toipuminen edennyt odotetusti, työkyvyttömyys jatkuu.",
]
LIVING_WILLS = [
    "En halua elvytystä, jos toipumisen mahdollisuutta ei ole.",
    "Haluan kivunlievitystä, vaikka se lyhentäisi elinaikaani.",
]
DONATION_RESTRICTIONS = ["", "", "", "Ei sarveiskalvoja."]
# ICD-10 codes of this list that only concern one sex (or pregnancy).
FEMALE_CODES = {"B37.3", "C50.9", "N95.1", "O24.4", "Z30.0"}
MALE_CODES = {"C61", "N40"}

DOCUMENT_COLUMNS = (
    "id, public_id, lineage_id, version, supersedes_id, status, person_id, register_id, service_event_id, "
    "unit_id, kind, view, title, text, certificate_form, form_data, service_task, special_content, "
    "disclosable_to_guardians, display_delayed_until, display_delay_reason, invalidation_reason, recorded_at"
)
EVENT_COLUMNS = "id, public_id, person_id, register_id, unit_id, title, started_on, ended_on"
ENTRY = "document_id, person_id, recorded_on"
DECLARATION = "public_id, person_id, made_at, channel, unit_id, withdrawn_at, withdrawal_channel"
# (model, COPY columns) in the order the tables are written within a chunk
TABLES: list[tuple[type[Model], str]] = [
    (ServiceEvent, EVENT_COLUMNS),
    (Document, DOCUMENT_COLUMNS),
    (Diagnosis, f'{ENTRY}, code, title, "primary"'),
    (RiskInformation, f"{ENTRY}, kind, description, critical"),
    (Procedure, f"{ENTRY}, description"),
    (Measurement, f"{ENTRY}, loinc, name, value, unit_of_measure"),
    (Vaccination, f"{ENTRY}, atc, name, dose"),
    (LabResult, f"{ENTRY}, loinc, name, value, unit_of_measure, reference_low, reference_high, abnormal"),
    (ImagingStudy, f"{ENTRY}, study_instance_uid, modality, examination"),
    (InformationNotice, f"{DECLARATION}, version"),
    (DisclosureConsent, f"{DECLARATION}, sector"),
    (
        Prohibition,
        f"{DECLARATION}, scope, service_event_id, organisation_id, register_id, emergency_permission",
    ),
    (ResearchContactProhibition, DECLARATION),
    (LivingWill, f"{DECLARATION}, text"),
    (OrganDonationWill, f"{DECLARATION}, consents_to_donation, restrictions"),
]
# The archive tables: bulk-loaded without secondary indexes when they start empty or nearly so. The consents
# tables get a few rows per person only, so they keep their indexes and their foreign-key checks.
ARCHIVE_MODELS = [model for model, _columns in TABLES[:9]]


# -- where service events happen -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """One register with the units that record into it, as ready COPY fragments."""

    organisation_id: int
    register_id: int
    unit_ids: tuple[int, ...]


@dataclass(frozen=True)
class County:
    health: Place
    occupational: Place
    social: Place


@dataclass
class Places:
    counties: list[County]
    private_occupational: list[Place]


def document_places(*, create: bool = True) -> Places:
    """The counties' three registers (and private occupational health registers) with their units.

    A county missing its occupational health or social welfare register (DOMAIN.md: every county has all
    three), or a unit recording into one, gets it; a database without any private provider's occupational
    health register gets one synthetic provider, so that every kind of prohibition has a target.
    """
    counties = []
    for organisation in Organisation.objects.filter(kind=OrganisationKind.COUNTY).order_by("id"):
        places = {
            kind: _place(organisation, kind, create=create)
            for kind in (
                RegisterKind.HEALTH_CARE,
                RegisterKind.OCCUPATIONAL_HEALTH,
                RegisterKind.SOCIAL_WELFARE,
            )
        }
        counties.append(
            County(
                health=places[RegisterKind.HEALTH_CARE],
                occupational=places[RegisterKind.OCCUPATIONAL_HEALTH],
                social=places[RegisterKind.SOCIAL_WELFARE],
            )
        )
    private = [
        _place(register.controller, RegisterKind.OCCUPATIONAL_HEALTH, create=create)
        for register in Register.objects.filter(
            kind=RegisterKind.OCCUPATIONAL_HEALTH, controller__kind=OrganisationKind.PRIVATE_HEALTH
        )
        .select_related("controller")
        .order_by("id")
    ]
    if not private and create:
        provider, _created = Organisation.objects.get_or_create(
            oid="1.2.246.10.77999001",
            defaults={
                "name_fi": "Synteettinen Työterveys Oy",
                "name_sv": "Syntetisk Företagshälsa Ab",
                "kind": OrganisationKind.PRIVATE_HEALTH,
            },
        )
        Register.objects.get_or_create(controller=provider, kind=RegisterKind.HEALTH_CARE)
        private = [_place(provider, RegisterKind.OCCUPATIONAL_HEALTH, create=True)]
    return Places(counties=counties, private_occupational=private)


UNIT_NAMES = {
    RegisterKind.HEALTH_CARE: ("Synteettinen terveysasema", "Syntetisk hälsostation"),
    RegisterKind.OCCUPATIONAL_HEALTH: ("Synteettinen työterveysasema", "Syntetisk företagshälsostation"),
    RegisterKind.SOCIAL_WELFARE: ("Synteettinen sosiaalitoimisto", "Syntetisk socialbyrå"),
}
UNIT_OID_SUFFIX = {
    RegisterKind.HEALTH_CARE: 1,
    RegisterKind.OCCUPATIONAL_HEALTH: 2,
    RegisterKind.SOCIAL_WELFARE: 3,
}


def _place(organisation: Organisation, kind: str, *, create: bool) -> Place:
    register = Register.objects.filter(controller=organisation, kind=kind).first()
    if register is None:
        register = Register.objects.create(controller=organisation, kind=kind)
    units = list(
        Unit.objects.filter(organisation=organisation, register_kind=kind)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not units:
        name_fi, name_sv = UNIT_NAMES[kind]
        unit, _created = Unit.objects.get_or_create(
            oid=f"{organisation.oid}.77.{UNIT_OID_SUFFIX[kind]}",
            defaults={
                "organisation": organisation,
                "name_fi": f"{name_fi} ({organisation.name_fi})",
                "name_sv": f"{name_sv} ({organisation.name_sv})",
                "register_kind": kind,
            },
        )
        units = [unit.pk]
    return Place(organisation_id=organisation.pk, register_id=register.pk, unit_ids=tuple(units))


# -- pools of ready COPY fragments ---------------------------------------------------------------------------


def _number(value: float, places: int) -> str:
    return f"{value:.{places}f}"


def _places_for(low: Decimal | None, high: Decimal | None) -> int:
    """Decimals a result is reported with: as many as its reference limits have, at least one below 10."""
    limit = high if high is not None else low
    decimals = max(-(x.as_tuple().exponent) for x in (low, high) if x is not None)
    if limit is not None and limit < 10:
        decimals = max(decimals, 1)
    return min(int(decimals), 3)


def _lab_line(test: codes.LabTest, sex: str, rng: random.Random) -> str:
    """One lab result for a person of this sex: most within the reference range, some low or high."""
    low, high = test.reference_range(sex)
    places = _places_for(low, high)
    lo = float(low) if low is not None else None
    hi = float(high) if high is not None else None
    draw = rng.random()
    if lo is not None and hi is not None:
        if draw < 0.07:
            value = rng.uniform(lo * 0.6, lo)
        elif draw < 0.15:
            value = rng.uniform(hi, hi * 1.5)
        else:
            value = rng.uniform(lo, hi)
    elif hi is not None:
        value = rng.uniform(hi, hi * 2.5) if draw < 0.12 else rng.uniform(hi * 0.2, hi)
    else:
        value = rng.uniform(lo * 0.4, lo) if draw < 0.12 else rng.uniform(lo, lo * 2.2)
    text = _number(value, places)
    flag = _flag(Decimal(text), low, high)
    low_text = NULL if low is None else str(low)
    high_text = NULL if high is None else str(high)
    return f"{test.loinc}\t{test.name_en}\t{text}\t{test.unit}\t{low_text}\t{high_text}\t{flag}"


def _flag(value: Decimal, low: Decimal | None, high: Decimal | None) -> str:
    # The same rule as archive.services.abnormal_flag (tests compare them row by row).
    if low is not None and value < low:
        return AbnormalFlag.LOW
    if high is not None and value > high:
        return AbnormalFlag.HIGH
    return AbnormalFlag.NORMAL


# measurement LOINC -> (adult range, child range, decimals)
MEASUREMENT_VALUES = {
    "8867-4": ((50, 105), (70, 130), 0),  # heart rate
    "9279-1": ((10, 22), (16, 30), 0),  # respiratory rate
    "8310-5": ((36.0, 38.8), (36.2, 39.2), 1),  # body temperature
    "59408-5": ((91, 100), (94, 100), 0),  # oxygen saturation
    "29463-7": ((48, 125), (12, 60), 1),  # weight
    "8302-2": ((152, 195), (85, 170), 0),  # height
    "39156-5": ((19, 36), (14, 24), 1),  # BMI
    "8280-0": ((68, 118), (50, 80), 0),  # waist
}


@dataclass
class Pools:
    """Ready fragments per table; the generator only picks from them and adds ids and dates."""

    diagnoses: dict[str, list[tuple[str, str, str]]]  # sex -> (code, "code\ttitle", Finnish title)
    labs: dict[str, list[list[str]]]  # sex -> per test: result fragments
    measurements: dict[str, list[list[str]]]  # "adult"/"child" -> list of groups of fragments
    vaccinations: list[tuple[str, str]]  # (entry fragment, document title)
    risks: list[str]
    procedures: list[str]
    imaging: list[tuple[str, str, str]]  # (entry fragment without uid, request title, statement title)
    contents: dict[str, list[str]]  # kind (record views as "record_entry:view") -> "kind\tview\ttitle\ttext"
    days: list[str]  # ISO dates from the start of the history on; index = day number
    times: list[str]  # " HH:MM:00+00" for the minutes of a working day


def build_pools(rng: random.Random, *, start: datetime.date, days: int) -> Pools:
    diagnoses: dict[str, list[tuple[str, str, str]]] = {"male": [], "female": []}
    for item in codes.icd10().values():
        check_copy_text(item.code, item.title_en, item.title("fi"))
        entry = (item.code, f"{item.code}\t{item.title_en}", item.title("fi"))
        if item.code not in FEMALE_CODES:
            diagnoses["male"].append(entry)
        if item.code not in MALE_CODES:
            diagnoses["female"].append(entry)
    tests = list(codes.lab_tests().values())
    labs = {
        sex: [[_lab_line(test, sex, rng) for _ in range(40)] for test in tests] for sex in ("male", "female")
    }
    kinds = codes.measurement_types()
    measurements: dict[str, list[list[str]]] = {}
    for group, which in (("adult", 0), ("child", 1)):
        fragments = []
        for _ in range(200):
            systolic = rng.randint(100, 175) if which == 0 else rng.randint(90, 125)
            diastolic = min(systolic - 25, rng.randint(58, 102) if which == 0 else rng.randint(50, 80))
            fragments.append(
                [
                    _measurement(kinds["8480-6"], str(systolic)),
                    _measurement(kinds["8462-4"], str(diastolic)),
                ]
            )
            for loinc, ranges in MEASUREMENT_VALUES.items():
                low, high = ranges[which]
                fragments.append([_measurement(kinds[loinc], _number(rng.uniform(low, high), ranges[2]))])
        measurements[group] = fragments
    vaccinations = []
    for vaccine in codes.vaccines().values():
        check_copy_text(vaccine.name_en)
        check_copy_text(vaccine.name("fi"))
        title = f"Rokotus: {vaccine.name('fi')}"[:200]
        vaccinations += [(f"{vaccine.atc}\t{vaccine.name_en}\t{dose}", title) for dose in (1, 1, 1, 2, 2, 3)]
    risks = [f"{kind}\t{text}\t{'t' if critical else 'f'}" for kind, text, critical in RISKS]
    imaging = [
        (f"{modality}\t{exam}", f"Kuvantamispyyntö: {exam}", f"Kuvantamislausunto: {exam}")
        for modality, exam in IMAGING
    ]
    contents: dict[str, list[str]] = defaultdict(list)
    for view, titles in RECORD_TITLES.items():
        contents[f"record_entry:{view}"] = [
            f"record_entry\t{view}\t{t}\t{x}" for t in titles for x in RECORD_TEXTS
        ]
    simple = {
        "laboratory": (LAB_TITLES, LAB_TEXTS),
        "referral": (REFERRAL_TITLES, REFERRAL_TEXTS),
        "care_plan": (CARE_PLAN_TITLES, CARE_PLAN_TEXTS),
    }
    for kind, (titles, texts) in simple.items():
        contents[kind] = [f"{kind}\t\t{t}\t{x}" for t in titles for x in texts]
    for kind, titles in SOCIAL_TITLES.items():
        contents[kind] = [f"{kind}\t\t{t}\t{x}" for t in titles for x in SOCIAL_TEXTS]
    for values in contents.values():
        check_copy_text(*values[0].split("\t"))
    day_texts, minute_texts = bulkload.minute_stamps(start, days)
    return Pools(
        diagnoses=diagnoses,
        labs=labs,
        measurements=measurements,
        vaccinations=vaccinations,
        risks=risks,
        procedures=PROCEDURES,
        imaging=imaging,
        contents=dict(contents),
        days=day_texts,
        times=[f" {minute_texts[m]}" for m in range(5 * 60, 18 * 60)],
    )


def _measurement(kind: codes.MeasurementType, value: str) -> str:
    check_copy_text(kind.name_en, kind.unit)
    return f"{kind.loinc}\t{kind.name_en}\t{value}\t{kind.unit}"


# -- the plan: who gets how many ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    id: int
    birth_date: datetime.date
    sex: str


def persons_for_documents(count: int) -> list[PersonRow]:
    """Synthetic persons without documents, newest first (so the persons this run adds come first)."""
    from kanta.management.commands.seed import SIGNS_1900, SIGNS_2000

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, p.birth_date, p.sex FROM {Person._meta.db_table} p "  # noqa: S608 - our table names
            "WHERE substr(p.identity_code, 7, 1) = ANY(%s) AND substr(p.identity_code, 8, 3) >= '900' "
            "AND p.date_of_death IS NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {Document._meta.db_table} d WHERE d.person_id = p.id) "
            "ORDER BY p.id DESC LIMIT %s",
            [list(SIGNS_1900 + SIGNS_2000), count],
        )
        return [PersonRow(*row) for row in cursor.fetchall()]


def documents_per_person(total: int, persons: int, rng: random.Random) -> list[int]:
    """`total` documents over `persons`: each between half and one and a half times the mean, exactly `total`.

    Neighbours trade documents pairwise, which keeps the sum and bounds the spread: the busiest persons have
    about 1.5 times the mean at any scale, so a benchmark on "persons with many documents" reads the same
    amount per person on a small and on a large database.
    """
    counts = [(i + 1) * total // persons - i * total // persons for i in range(persons)]
    for i in range(0, persons - 1, 2):
        shift = int((rng.random() - 0.5) * min(counts[i], counts[i + 1]))
        counts[i] += shift
        counts[i + 1] -= shift
    return counts


def events_for(documents: int) -> int:
    return max(1, round(documents / DOCUMENTS_PER_EVENT)) if documents else 0


# -- generating one chunk -----------------------------------------------------------------------------------


@dataclass
class Buffers:
    lines: dict[type[Model], list[str]] = field(default_factory=lambda: defaultdict(list))

    def counts(self) -> dict[type[Model], int]:
        return {model: len(lines) for model, lines in self.lines.items()}

    def chunk(self) -> bulkload.Chunk:
        """The lines for bulkload.CopyWriter, in the order of TABLES."""
        return [(model._meta.db_table, columns, self.lines.get(model, [])) for model, columns in TABLES]


class Event(NamedTuple):
    """A service event as the person's documents and prohibitions need it."""

    prefix: str  # "person_id\tregister_id\tevent_id\tunit_id" of its documents' COPY lines
    kinds: list[str]  # the 100-slot list of document kinds of its register
    register_kind: str  # "health", "occupational" or "social"
    started: int  # day numbers
    ended: int
    diagnosis: tuple[str, str, str]  # its main diagnosis: code, "code\ttitle", Finnish title
    task: str  # the service task of a social welfare event
    place: Place
    id: int


class Generator:
    """Writes the rows of persons into Buffers; ids come from the reserved blocks, in order."""

    def __init__(
        self,
        *,
        pools: Pools,
        places: Places,
        rng: random.Random,
        today: datetime.date,
        start: datetime.date,
        first_event_id: int,
        first_document_id: int,
        uuids: Iterator[str],
    ) -> None:
        self.pools = pools
        self.places = places
        self.rng = rng
        self.today_index = (today - start).days  # the day number of today; documents end yesterday
        self.start = start
        self.today = today
        self.next_event_id = first_event_id
        self.next_document_id = first_document_id
        self.uuids = uuids
        self.statistics: dict[str, int] = defaultdict(int)

    # a person ---------------------------------------------------------------------------------------------

    def person(self, person: PersonRow, documents: int, out: Buffers) -> None:
        random_ = self.rng.random
        pools, places = self.pools, self.places
        age = _age(person.birth_date, self.today)
        first_day = max(0, (person.birth_date - self.start).days)
        last_day = self.today_index - 1
        if first_day > last_day:
            first_day = last_day
        counties = places.counties
        home = counties[int(random_() * len(counties))]
        working_age = 18 <= age < 68
        age_group = "child" if age < 18 else ("working_age" if age < 65 else "older")
        diagnoses = pools.diagnoses[person.sex]
        measurement_group = pools.measurements["adult" if age >= 16 else "child"]
        labs = pools.labs[person.sex]
        guardians_share = GUARDIAN_DISCLOSABLE_SHARE if 10 <= age < 18 else 0.0
        pid = person.id
        days, times = pools.days, pools.times
        docs_lines = out.lines[Document]
        uuid = self.uuids.__next__

        n_events = events_for(documents)
        events = []
        for _ in range(n_events):
            draw = random_()
            task = ""
            if draw < SOCIAL_SHARE:
                place, register_kind, kinds = home.social, "social", SOCIAL_KINDS
                task = SOCIAL_TASKS[age_group][int(random_() * len(SOCIAL_TASKS[age_group]))]
                span = 30 + int(random_() * 700)
            elif draw < SOCIAL_SHARE + OCCUPATIONAL_SHARE and working_age:
                register_kind, kinds = "occupational", OCCUPATIONAL_KINDS
                private = places.private_occupational
                if private and random_() < PRIVATE_OCCUPATIONAL_SHARE:
                    place = private[int(random_() * len(private))]
                else:
                    place = home.occupational
                span = 0 if random_() < 0.6 else int(random_() * 60)
            else:
                county = home if random_() >= OTHER_COUNTY_SHARE else counties[int(random_() * len(counties))]
                place, register_kind, kinds = county.health, "health", HEALTH_KINDS
                draw = random_()
                span = 0 if draw < 0.6 else (int(random_() * 30) if draw < 0.9 else int(random_() * 365))
            started = first_day + int(random_() * (last_day - first_day + 1))
            ended = started + span
            diagnosis = diagnoses[int(random_() * len(diagnoses))]
            unit_id = place.unit_ids[int(random_() * len(place.unit_ids))]
            event_id = self.next_event_id
            self.next_event_id += 1
            if task:
                title = SOCIAL_EVENT_TITLES[task]
            elif register_kind == "occupational":
                title = f"Työterveyshuolto: {diagnosis[2]}"[:200]
            else:
                title = diagnosis[2]
            out.lines[ServiceEvent].append(
                f"{event_id}\t{uuid()}\t{pid}\t{place.register_id}\t{unit_id}\t{title[:200]}\t{days[started]}\t"
                f"{days[ended] if ended <= last_day else NULL}\n"
            )
            events.append(
                Event(
                    f"{pid}\t{place.register_id}\t{event_id}\t{unit_id}",
                    kinds,
                    register_kind,
                    started,
                    min(ended, last_day),
                    diagnosis,
                    task,
                    place,
                    event_id,
                )
            )

        # documents: every event gets one, the rest go to random events
        slot = 0
        while slot < documents:
            event = events[slot] if slot < n_events else events[int(random_() * n_events)]
            prefix, kinds, register_kind, started, ended, diagnosis, task, _place, _id = (
                event  # unpacked: a hot loop
            )
            day = started + int(random_() * (ended - started + 1))
            kind = kinds[int(random_() * 100)]
            corrected = slot + 1 < documents and random_() < CORRECTED_SHARE
            slot += 2 if corrected else 1
            # the document's own fields, apart from ids, status and time
            certificate, form_data, entries, view = "", "{}", None, ""
            if register_kind == "social":
                contents = pools.contents[kind]
                content = contents[int(random_() * len(contents))]
                special = "t" if random_() < SPECIAL_CONTENT_SHARE else "f"
            else:
                special = "f"
                if kind == "record_entry":
                    view = RECORD_VIEWS[int(random_() * 100)]
                    contents = pools.contents[f"record_entry:{view}"]
                    content = contents[int(random_() * len(contents))]
                elif kind == "vaccination":
                    vaccine, title = pools.vaccinations[int(random_() * len(pools.vaccinations))]
                    content = f"vaccination\t\t{title}\t{VACCINATION_TEXTS[int(random_() * 2)]}"
                    entries = ("vaccine", vaccine)
                elif kind == "imaging_request" or kind == "imaging_statement":
                    fragment, request_title, statement_title = pools.imaging[
                        int(random_() * len(pools.imaging))
                    ]
                    if kind == "imaging_request":
                        content = f"imaging_request\t\t{request_title}\tPyydetään kuvantamistutkimusta."
                    else:
                        text = IMAGING_STATEMENT_TEXTS[int(random_() * len(IMAGING_STATEMENT_TEXTS))]
                        content = f"imaging_statement\t\t{statement_title}\t{text}"
                        entries = ("imaging", fragment)
                elif kind == "certificate":
                    certificate = CERTIFICATE_FORMS[int(random_() * len(CERTIFICATE_FORMS))]
                    form_data = self._form_data(certificate, diagnosis[0], day)
                    content = f"certificate\t\t{CERTIFICATE_TITLES[certificate]}\t"
                else:
                    contents = pools.contents[kind]
                    content = contents[int(random_() * len(contents))]
            guardians = "t" if guardians_share and random_() < guardians_share else "f"
            if register_kind != "social" and random_() < DELAYED_SHARE:
                until = day + 7 + int(random_() * 60)
                delay = f"{days[until]}\t{DELAY_REASONS[int(random_() * 2)]}"
                self.statistics["delayed"] += 1
            else:
                delay = f"{NULL}\t"
            tail = f"{certificate}\t{form_data}\t{task}\t{special}\t{guardians}\t{delay}"
            lineage = uuid()
            document_id = self.next_document_id
            recorded = f"{days[day]}{times[int(random_() * len(times))]}"
            if corrected:
                # version 1, superseded by version 2 written up to three days later in the same event
                self.next_document_id += 2
                self.statistics["corrected"] += 1
                docs_lines.append(
                    f"{document_id}\t{uuid()}\t{lineage}\t1\t{NULL}\tsuperseded\t{prefix}\t{content}\t{tail}\t\t"
                    f"{recorded}\n"
                )
                self._entries(
                    out,
                    document_id,
                    pid,
                    days[day],
                    kind,
                    view,
                    entries,
                    diagnosis,
                    measurement_group,
                    labs,
                    diagnoses,
                )
                day = min(day + int(random_() * 4), last_day)
                current_id = document_id + 1
                docs_lines.append(
                    f"{current_id}\t{uuid()}\t{lineage}\t2\t{document_id}\tcurrent\t{prefix}\t{content}\t{tail}\t\t"
                    f"{days[day]}{times[int(random_() * len(times))]}\n"
                )
                document_id = current_id
            else:
                self.next_document_id += 1
                if random_() < INVALIDATED_SHARE:
                    status = "invalidated"
                    reason = INVALIDATION_REASONS[int(random_() * len(INVALIDATION_REASONS))]
                    self.statistics["invalidated"] += 1
                else:
                    status, reason = "current", ""
                docs_lines.append(
                    f"{document_id}\t{uuid()}\t{lineage}\t1\t{NULL}\t{status}\t{prefix}\t{content}\t{tail}\t{reason}\t"
                    f"{recorded}\n"
                )
            self._entries(
                out,
                document_id,
                pid,
                days[day],
                kind,
                view,
                entries,
                diagnosis,
                measurement_group,
                labs,
                diagnoses,
            )

        if random_() < NOTICE_SHARE:
            self._declarations(out, person, age, events, first_day, last_day, home)
        elif random_() < RESEARCH_PROHIBITION_SHARE:
            self._declaration(out, ResearchContactProhibition, pid, first_day, last_day, home, "")

    def _form_data(self, form: str, code: str, day: int) -> str:
        days = self.pools.days
        if form == "F122":
            data = {"licence_group": "group1" if self.rng.random() < 0.8 else "group2", "fit_to_drive": True}
            if self.rng.random() < 0.3:
                data["restrictions"] = "Ajokortti voimassa silmälasien kanssa."
            if self.rng.random() < 0.5 and day + 730 < len(days):
                data["next_check_on"] = days[day + 730]
        else:
            until = min(day + 3 + int(self.rng.random() * 60), len(days) - 1)
            statement = SICKNESS_STATEMENTS[int(self.rng.random() * len(SICKNESS_STATEMENTS))]
            data = {
                "diagnosis_code": code,
                "incapacity_from": days[day],
                "incapacity_to": days[until],
                "statement": statement,
            }
        return json.dumps(data, ensure_ascii=False)

    def _entries(
        self,
        out: Buffers,
        document_id: int,
        pid: int,
        day: str,
        kind: str,
        view: str,
        entries,
        diagnosis,
        measurement_group,
        labs,
        diagnoses,
    ) -> None:
        """1-3 structured entries for the kinds that carry them; the primary diagnosis is the event's, mostly."""
        random_ = self.rng.random
        head = f"{document_id}\t{pid}\t{day}\t"
        if kind == "record_entry":
            lines = out.lines
            if view != "nursing" and random_() < 0.6:
                primary = diagnosis if random_() < 0.7 else diagnoses[int(random_() * len(diagnoses))]
                lines[Diagnosis].append(f"{head}{primary[1]}\tt\n")
                if random_() < 0.3:
                    other = diagnoses[int(random_() * len(diagnoses))]
                    if other[0] != primary[0]:
                        lines[Diagnosis].append(f"{head}{other[1]}\tf\n")
            if (view == "nursing" or view == "general") and random_() < 0.45:
                group = measurement_group[int(random_() * len(measurement_group))]
                lines[Measurement].extend(f"{head}{fragment}\n" for fragment in group)
            if random_() < 0.08:
                lines[Procedure].append(
                    f"{head}{self.pools.procedures[int(random_() * len(self.pools.procedures))]}\n"
                )
            if random_() < 0.02:
                lines[RiskInformation].append(
                    f"{head}{self.pools.risks[int(random_() * len(self.pools.risks))]}\n"
                )
        elif kind == "laboratory":
            # neighbouring tests in the list belong to one panel (blood count, lipids, liver...)
            first = int(random_() * len(labs))
            lab_lines = out.lines[LabResult]
            for n in range(1 + int(random_() * 3)):
                results = labs[(first + n) % len(labs)]
                lab_lines.append(f"{head}{results[int(random_() * len(results))]}\n")
        elif kind in ("referral", "care_plan", "certificate"):
            out.lines[Diagnosis].append(f"{head}{diagnosis[1]}\tt\n")
        elif entries is not None:
            what, fragment = entries
            if what == "vaccine":
                out.lines[Vaccination].append(f"{head}{fragment}\n")
            else:
                out.lines[ImagingStudy].append(f"{head}{STUDY_UID_ROOT}.{document_id}\t{fragment}\n")

    # consents, prohibitions, declarations of intent -------------------------------------------------------

    def _timestamp(self, first_day: int, last_day: int, *, first_thing: bool = False) -> tuple[int, str]:
        """A day in the range and a time of that day; `first_thing`: the earliest time of any declaration."""
        day = first_day + int(self.rng.random() * (last_day - first_day + 1))
        times = self.pools.times
        return (
            day,
            f"{self.pools.days[day]}{times[0 if first_thing else int(self.rng.random() * len(times))]}",
        )

    def _declaration(
        self,
        out: Buffers,
        model,
        pid: int,
        first_day: int,
        last_day: int,
        home: County,
        extra: str,
        *,
        withdrawn_day: int | None = None,
        first_thing: bool = False,
    ) -> int:
        """One declaration row; returns the day it was made."""
        day, made_at = self._timestamp(first_day, last_day, first_thing=first_thing)
        if self.rng.random() < UNIT_CHANNEL_SHARE:
            channel, unit = "unit", str(home.health.unit_ids[0])
        else:
            channel, unit = "mykanta", NULL
        withdrawn, withdrawal_channel = NULL, ""
        if withdrawn_day is not None:
            withdrawn_day = max(withdrawn_day, day)
            withdrawn = f"{self.pools.days[withdrawn_day]}{self.pools.times[-1]}"
            withdrawal_channel = "mykanta"
        row = (
            f"{self.uuids.__next__()}\t{pid}\t{made_at}\t{channel}\t{unit}\t{withdrawn}\t{withdrawal_channel}"
        )
        out.lines[model].append(f"{row}\t{extra}\n" if extra else f"{row}\n")
        return day

    def _declarations(
        self,
        out: Buffers,
        person: PersonRow,
        age: int,
        events: list[Event],
        first_day: int,
        last_day: int,
        home: County,
    ) -> None:
        random_, pid = self.rng.random, person.id
        # The notice comes first; consents and prohibitions are made on or after the day it was acknowledged.
        adult_from = max(first_day, last_day - 5 * 365)
        # (at the start of its day, so that what is made later the same day comes after it)
        noticed = self._declaration(
            out, InformationNotice, pid, adult_from, last_day, home, CURRENT_NOTICE_VERSION, first_thing=True
        )
        self.statistics["notices"] += 1
        for sector, share in CONSENT_SHARES.items():
            if random_() < share:
                if (
                    sector == "health_care"
                    and last_day - noticed >= 2
                    and random_() < WITHDRAWN_CONSENT_SHARE
                ):
                    # an earlier consent, withdrawn before the one valid now was given
                    made = noticed + int(random_() * (last_day - noticed - 1))
                    withdrawn = made + int(random_() * (last_day - made))
                    self._declaration(
                        out, DisclosureConsent, pid, made, made, home, sector, withdrawn_day=withdrawn
                    )
                    self._declaration(out, DisclosureConsent, pid, withdrawn + 1, last_day, home, sector)
                else:
                    self._declaration(out, DisclosureConsent, pid, noticed, last_day, home, sector)
                self.statistics["consents"] += 1
        if random_() < PROHIBITION_SHARE:
            for _ in range(2 if random_() < 0.2 else 1):
                target = self._prohibition_target(events, home)
                emergency = "t" if random_() < EMERGENCY_PERMISSION_SHARE else "f"
                withdrawn = last_day if random_() < WITHDRAWN_PROHIBITION_SHARE else None
                self._declaration(
                    out,
                    Prohibition,
                    pid,
                    noticed,
                    last_day,
                    home,
                    f"{target}\t{emergency}",
                    withdrawn_day=withdrawn,
                )
                self.statistics["prohibitions"] += 1
        if random_() < RESEARCH_PROHIBITION_SHARE:
            self._declaration(out, ResearchContactProhibition, pid, noticed, last_day, home, "")
        if age >= 18:
            if random_() < LIVING_WILL_SHARE:
                text = LIVING_WILLS[int(random_() * len(LIVING_WILLS))]
                self._declaration(out, LivingWill, pid, noticed, last_day, home, text)
            if random_() < ORGAN_DONATION_WILL_SHARE:
                restrictions = DONATION_RESTRICTIONS[int(random_() * len(DONATION_RESTRICTIONS))]
                donates = "t" if random_() < 0.85 else "f"
                self._declaration(
                    out, OrganDonationWill, pid, noticed, last_day, home, f"{donates}\t{restrictions}"
                )

    def _prohibition_target(self, events: list[Event], home: County) -> str:
        """scope, service_event_id, organisation_id, register_id: a target among the person's own health data."""
        random_ = self.rng.random
        health = [e for e in events if e.register_kind != "social"]
        scope = PROHIBITION_SCOPES[int(random_() * len(PROHIBITION_SCOPES))]
        private_ids = {place.register_id for place in self.places.private_occupational}
        if scope == "occupational_health":
            private = [e for e in health if e.place.register_id in private_ids]
            if private:
                return f"occupational_health\t{NULL}\t{NULL}\t{private[0].place.register_id}"
            scope = "register"
        if not health or scope == "all_data":
            return f"all_data\t{NULL}\t{NULL}\t{NULL}"
        event = health[int(random_() * len(health))]
        if scope == "service_event":
            return f"service_event\t{event.id}\t{NULL}\t{NULL}"
        county_events = [e for e in health if e.place.register_id not in private_ids]
        if scope == "county" and county_events:
            return f"county\t{NULL}\t{county_events[0].place.organisation_id}\t{NULL}"
        return f"register\t{NULL}\t{NULL}\t{event.place.register_id}"


def _age(born: datetime.date, today: datetime.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# -- the run ------------------------------------------------------------------------------------------------


@dataclass
class Result:
    rows: dict[str, int]
    copy_seconds: dict[str, float]
    rebuild_seconds: dict[str, float]
    write_seconds: float  # generating and COPYing, side by side
    bulk: bool
    frozen: bool
    statistics: dict[str, int]
    persons: int


def seed_documents(
    *,
    persons: Sequence[PersonRow],
    total: int,
    rng: random.Random,
    bulk_allowed: bool,
    progress: ProgressBar,
    rebuild_progress: Callable[[int], ProgressBar],
    uuids: Iterator[str],
) -> Result:
    """Write `total` documents over `persons` with their events, entries and declarations. Needs an open
    transaction (the seed command's)."""
    today = timezone.localdate()
    start = today - datetime.timedelta(days=HISTORY_DAYS)
    places = document_places()  # the command made sure there is a county
    pools = build_pools(rng, start=start, days=HISTORY_DAYS + 800)
    counts = documents_per_person(total, len(persons), rng)
    events = sum(events_for(n) for n in counts)

    archive_tables = [model._meta.db_table for model in ARCHIVE_MODELS]
    consents_tables = [model._meta.db_table for model, _columns in TABLES[9:]]
    # Check the rows this transaction wrote so far (the persons) now, and the documents' rows at the end of
    # each COPY rather than all at commit: millions of deferred checks would wait in memory until then.
    bulkload.lock_tables(archive_tables)
    load = bulkload.bulk_load_begin(
        archive_tables, allowed=bulk_allowed, adding=total, also_truncate=consents_tables
    )

    first_event = bulkload.reserve_id_block(ServiceEvent._meta.db_table, events)
    first_document = bulkload.reserve_id_block(Document._meta.db_table, total)
    generator = Generator(
        pools=pools,
        places=places,
        rng=rng,
        today=today,
        start=start,
        first_event_id=first_event,
        first_document_id=first_document,
        uuids=uuids,
    )

    writer = bulkload.CopyWriter(
        frozen=load.frozen, on_written=lambda c: progress.update(c.get(Document._meta.db_table, 0))
    )
    began = time.perf_counter()
    try:
        buffers = Buffers()
        in_chunk = 0
        for person, count in zip(persons, counts, strict=True):
            generator.person(person, count, buffers)
            in_chunk += count
            if in_chunk >= CHUNK_DOCUMENTS:
                writer.put(buffers.chunk())
                buffers, in_chunk = Buffers(), 0
        if buffers.lines:
            writer.put(buffers.chunk())
    finally:
        writer.close()
        progress.close()
    write_seconds = time.perf_counter() - began
    if (
        generator.next_document_id - first_document != total
        or generator.next_event_id - first_event != events
    ):
        raise AssertionError("generated rows do not match the reserved ids")  # a bug, never bad input

    rebuild_seconds: dict[str, float] = defaultdict(float)
    if load.bulk:
        bar = rebuild_progress(load.schema.statements)
        try:

            def step(table: str, seconds: float) -> None:
                rebuild_seconds[table] += seconds
                bar.update(1)

            bulkload.bulk_load_end(load, step)
        finally:
            bar.close()
    return Result(
        rows=dict(writer.rows),
        copy_seconds=dict(writer.seconds),
        rebuild_seconds=dict(rebuild_seconds),
        write_seconds=write_seconds,
        bulk=load.bulk,
        frozen=bool(load.frozen),
        statistics=dict(generator.statistics),
        persons=len(persons),
    )
