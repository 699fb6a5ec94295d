"""Synthetic prescriptions for `manage.py seed`: prescriptions with their history, dispensings, renewal
requests and cross-border consents, generated in Python and written with PostgreSQL COPY.

kanta's seed command finds this module by its name (Django's module autodiscovery, as `demo_data` finds
`demo_content`), so kanta never names this app. The command adds the options of `add_arguments` and calls
`seed` in its transaction; docs/operations.md ("Synthetic data") says what is written and how fast.

What a person's three years look like *(chosen)*:

- Each person gets a number of prescriptions that grows with age (children fewest, the over-65s most),
  between about a sixth and two and a half times the mean, exactly `--prescriptions` in all. The busiest
  persons therefore have about the same number at any scale, so a benchmark on "persons with many
  prescriptions" reads the same amount on a small and on a full database.
- Prescriptions come in courses. A long-term medicine (blood pressure, cholesterol, diabetes, thyroid,
  asthma...) is a chain: each prescription lasts about a year of three-month purchases, and when it runs low
  it is renewed, at a unit that accepts requests about half of the time through a renewal request (the new
  one `renewed_from` the old, the request `renewed`, a "renewed" event on the old one), otherwise at a visit.
  How many purchases a long-term prescription is written for is steered so that the dispensings per
  prescription average what `--dispensings-per-prescription` asks (2.5 by default; validity and today cap
  the average at about 3.8). A short course
  (antibiotics, painkillers, creams) is one prescription bought once. Narcotic and CNS-acting (PKV) medicines
  are valid one year, every other two (rules.maximum_valid_until); a few prescriptions are shortened.
- Purchases follow the dispensing rules: whole packages, at most three months' treatment (one month for a
  package over €1,000), never more than is left, only while the prescription is valid; sometimes a
  substitutable package of the same group and size. `quantity_dispensed` is the sum of the dispensings,
  `last_dispensed_at` the newest, and the status follows from them and from today: undispensed, partly or
  fully dispensed, expired the day after the last dispensable day (the grace month included, as the nightly
  job does), invalidated for a few (with a reason category and text, nothing dispensed after it).
- Renewal requests in every status: renewed (above), open ones sent within the last eight days for current
  renewable prescriptions, rejected, returned and expired ones, always to a unit that accepts requests and
  prescribed the prescription, only for prescriptions dispensed at least once and within the renewal window,
  never a second open request nor any request after a rejection (the database's partial unique indexes).
- History: every prescription has its "prescribed" event with the snapshot the service writes; the
  invalidated, expired and renewed ones have those events too. Corrections, locks and reservations are not
  generated.
- About 1 % of persons consent to using their prescriptions abroad (a fifth withdraw later), and some of
  their eligible purchases (no narcotics, no PKV) are made in Estonia, Spain...

Where the rows go: the medicine database sample is imported when the database has no packages; the units
of counties and private providers prescribe, through their existing physicians, dentists and nurses (a nurse
only within the nurse list, rules.may_prescribe), and a unit without prescribers gets two synthetic physicians
and a nurse. Two in three county health care units are set to accept renewal requests. Purchases are made at
the pharmacies that have pharmacists; when there are none, twenty synthetic pharmacies are created, each
with a unit and two pharmacists.

Bulk load (kanta.bulkload): when no prescription table holds more than a tenth of the prescriptions the run
adds (a demo's few dozen rows), it drops their secondary indexes and foreign keys, COPYs and rebuilds them;
when they are all empty it truncates them in its transaction first and COPYs with FREEZE. Otherwise it
appends with every index in place. Everything random but the public ids comes from a Random seeded with the
first person's id.
"""

from __future__ import annotations

import datetime
import json
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kanta import bulkload
from kanta.bulkload import NULL, ProgressBar
from kanta.models import (
    Organisation,
    OrganisationKind,
    Person,
    Profession,
    Professional,
    RegisterKind,
    Unit,
    User,
)
from prescriptions import medicine_db, rules
from prescriptions.dispensing import (
    DISPENSING_PROFESSIONS,
    EXPENSIVE_PACKAGE_PRICE,
    EXPENSIVE_PURCHASE_DAYS,
    PURCHASE_DAYS,
)
from prescriptions.models import (
    AmountKind,
    CrossBorderConsent,
    Dispensing,
    EventKind,
    InvalidationCategory,
    Prescription,
    PrescriptionEvent,
    PrescriptionStatus,
    Product,
    RenewalRequest,
    RenewalStatus,
)

SAMPLE_FILE = Path(__file__).resolve().parent / "data" / "medicines.csv"

# -- shape of the data ---------------------------------------------------------------------------------------

HISTORY_DAYS = 3 * 365  # prescriptions are spread over the last three years (or the person's life)
CHUNK_PRESCRIPTIONS = 25_000  # prescriptions generated per chunk (a chunk is about 25 MB of COPY text)
DAY_START, DAY_END = 5 * 60, 18 * 60  # daytime in UTC (7 to 21 in Finland): the UTC date is the local date
MINUTES_PER_DAY = 1440

# Courses by age: (long-term, short, controlled) in percent. Controlled: narcotic or CNS-acting (PKV).
COURSE_MIX = [(18, (20, 75, 5)), (45, (40, 48, 12)), (65, (52, 34, 14)), (200, (60, 26, 14))]
# Prescriptions per person relative to the mean, by age (then times a random factor 0.5..1.5).
AGE_WEIGHTS = [(18, 0.35), (45, 0.8), (65, 1.2), (200, 1.7)]
# Purchases a long-term prescription is written for (each about three months): a year's supply on average.
LONG_PURCHASES = [3, 4, 4, 4, 5, 6]
CONTROLLED_LONG_PURCHASES = [2, 3, 3, 4]
CONTROLLED_LONG_SHARE = 0.5  # of controlled courses: e.g. a sleeping pill for years, else a short painkiller
DEFAULT_DISPENSINGS_PER_PRESCRIPTION = 2.5
# The mean the purchase counts above give (measured), and how it grows with them: about as the square root,
# since validity and today cut the longer ones short. The generator scales the counts to reach the mean asked
# for and then steers by what it has written (see Generator._steer).
NATURAL_DISPENSINGS = 2.58
STEER_EVERY = 500  # prescriptions
PURCHASE_SCALE_LIMITS = (0.1, 10.0)
# Validity and today bound how many purchases fit: about 3.8 on average is the most the courses allow.
MAX_DISPENSINGS_PER_PRESCRIPTION = 10
STOP_SHARE = 0.04  # after each purchase of a long-term medicine: the person stops taking it
NEVER_BOUGHT_SHARE = 0.06  # of short courses: never fetched from the pharmacy
RENEWED_BY_REQUEST_SHARE = 0.55  # of renewals where the unit accepts requests; the rest at a visit
SAME_UNIT_SHARE = 0.85  # a new course at the person's own health centre, else elsewhere
SHORTENED_SHARE = 0.04  # validity shortened by the prescriber to 3..12 months
SUBSTANCE_SHARE = 0.05  # prescribed by active substance, strength and form instead of a package
SUBSTITUTION_SHARE = 0.2  # purchases of a substitutable package (same group and size) where one exists
NO_SUBSTITUTION_SHARE = 0.05  # the prescriber forbids generic substitution
INVALIDATED_SHARE = 0.005
OPEN_REQUEST_SHARE = 0.05  # of current renewable prescriptions at the end of a chain: a request waits
ENDING_REQUEST_SHARE = 0.06  # of the other chain ends: a rejected, returned or expired request
HOME_PHARMACY_SHARE = 0.75
CROSS_BORDER_CONSENT_SHARE = 0.01
CROSS_BORDER_WITHDRAWN_SHARE = 0.2
ABROAD_SHARE = 0.15  # of eligible purchases while the consent is valid
PHONE_SHARE = 0.5  # renewal requests with a phone number for the outcome
MESSAGE_SHARE = 0.03
ACCEPTING_UNITS = (0, 1)  # of every three county health care units (by id), these accept renewal requests
SYNTHETIC_PHARMACIES = 20
PHARMACY_OID = "1.2.246.10.78{n:06d}"  # a made-up arc, next to the synthetic counties' 1.2.246.10.77...
SYNTHETIC_REGISTRATION = "SYNRX-{unit:06d}-{n}"  # never a Valvira number (those are digits only)

# ATC prefixes of long-term medication; everything else not controlled is a short course.
LONG_TERM_ATC = (
    "A02BC", "A10", "A11", "A12", "B01", "B03", "C", "G03A", "G03C", "G04C", "H02", "H03", "H05", "L01",
    "L02", "L04", "M04", "M05", "N03", "N04", "N05A", "N06A", "N06D", "N07", "R03", "S01E",
)  # fmt: skip
PURPOSES = [  # the longest matching ATC prefix decides
    ("A02", "närästykseen ja mahansuojaksi"), ("A07", "suolistotulehdukseen"), ("A10", "diabetekseen"),
    ("A11", "vitamiinin puutteeseen"), ("A12", "kivennäisaineen puutteeseen"), ("B01", "veritulpan estoon"),
    ("B03", "anemiaan"), ("C01", "sydämen rytmihäiriöön"), ("C03", "turvotukseen ja verenpaineeseen"),
    ("C07", "verenpaineeseen ja sydämen suojaksi"), ("C08", "verenpaineeseen"), ("C09", "verenpaineeseen"),
    ("C10", "kolesterolin alentamiseen"), ("D", "ihottumaan"), ("G03A", "raskauden ehkäisyyn"),
    ("G03", "vaihdevuosioireisiin"), ("G04", "virtsaamisvaivoihin"), ("H02", "tulehduksen hoitoon"),
    ("H03", "kilpirauhasen vajaatoimintaan"), ("J01", "bakteeritulehdukseen"), ("J05", "virusinfektioon"),
    ("L01", "syövän hoitoon"), ("L02", "syövän hoitoon"), ("L04", "reumaan"), ("M01", "kipuun ja tulehdukseen"),
    ("M04", "kihtiin"), ("M05", "osteoporoosiin"), ("N02", "kipuun"), ("N03", "epilepsiaan"),
    ("N04", "Parkinsonin tautiin"), ("N05A", "psykoosin hoitoon"), ("N05B", "ahdistukseen"),
    ("N05C", "unettomuuteen"), ("N06A", "masennukseen"), ("N06B", "ADHD:n hoitoon"),
    ("N06D", "muistisairauteen"), ("N07B", "riippuvuuden hoitoon"), ("P", "loistartuntaan"),
    ("R01", "nenän tukkoisuuteen"), ("R03", "astmaan"), ("R05", "yskään"), ("R06", "allergiaan"),
    ("S01", "silmäoireisiin"),
]  # fmt: skip
DEFAULT_PURPOSE = "lääkärin ohjeen mukaan"
SOLID_UNITS = {"tabl": "tabletti", "kaps": "kapseli"}
TIMES_A_DAY = {1: "kerran päivässä", 2: "kahdesti päivässä", 3: "kolmesti päivässä"}
OTHER_UNITS = {"ml": "ml", "g": "g", "kpl": "kpl", "annosta": "annosta", "annos": "annosta"}
MESSAGES = ["Annosjakelu.", "Potilas toivoo pientä pakkausta.", "Ei vaihdeta valmistetta ilman lupaa."]
INVALIDATIONS = [
    (InvalidationCategory.CARE, "Lääkitys lopetettu, sovittu potilaan kanssa."),
    (InvalidationCategory.CARE, "Annos muutettu, uusi resepti kirjoitettu."),
    (InvalidationCategory.TECHNICAL, "Kirjoitettu väärälle potilaalle."),
    (InvalidationCategory.TECHNICAL, "Resepti tallentui kahteen kertaan."),
    (InvalidationCategory.PATIENT, "Potilaan pyynnöstä: lääke ei sovi."),
]
REJECTIONS = ["Lääkitys on tarkistettava vastaanotolla.", "Laboratoriokokeet ennen uusimista."]
RETURNS = ["Lähetä pyyntö hoitavaan yksikköön.", "Uusiminen kuuluu työterveyshuoltoon."]
CROSS_BORDER = ["EE", "ES", "PT", "HR", "PL", "CZ"]
FIRST_NAMES = ["Anna", "Mikko", "Laura", "Juha", "Sari", "Antti", "Heidi", "Ville", "Kirsi", "Jari"]
LAST_NAMES = ["Lahtinen", "Koivisto", "Laitinen", "Rantanen", "Hiltunen", "Aaltonen", "Mattila", "Peltonen"]

PRESCRIPTION_COLUMNS = (
    "id, public_id, person_id, prescriber_id, unit_id, version, product_id, atc, medicine_name, "
    "active_substance, strength, form, narcotic, pkv, special_permit, pharmacy_made, dosage, daily_quantity, "
    "amount_kind, amount_packages, amount_treatment_days, total_quantity, purpose, message_to_pharmacy, "
    "substitution_allowed, prescribed_at, valid_until, status, quantity_dispensed, last_dispensed_at, "
    "renewed_from_id, invalidated_at, invalidation_category, invalidation_text, lock_reason"
)
EVENT_COLUMNS = (
    "prescription_id, kind, version, occurred_at, professional_id, organisation_id, note, snapshot"
)
DISPENSING_COLUMNS = (
    "public_id, prescription_id, product_id, pharmacy_id, pharmacist_id, country, packages, quantity, price, "
    "dispensed_at"
)
RENEWAL_COLUMNS = (
    "public_id, prescription_id, person_id, unit_id, phone, status, sent_at, handled_at, handled_by_id, "
    "reason, new_prescription_id"
)
CONSENT_COLUMNS = "public_id, person_id, given_at, withdrawn_at"
MODELS = (Prescription, PrescriptionEvent, Dispensing, RenewalRequest, CrossBorderConsent)
TABLES = [model._meta.db_table for model in MODELS]
COLUMNS = dict(
    zip(
        TABLES,
        (PRESCRIPTION_COLUMNS, EVENT_COLUMNS, DISPENSING_COLUMNS, RENEWAL_COLUMNS, CONSENT_COLUMNS),
        strict=True,
    )
)
PRESCRIPTIONS, EVENTS, DISPENSINGS, RENEWALS, CONSENTS = TABLES

LONG, SHORT, CONTROLLED = "long", "short", "controlled"
VALID = frozenset(
    {PrescriptionStatus.UNDISPENSED, PrescriptionStatus.PARTLY_DISPENSED, PrescriptionStatus.FULLY_DISPENSED}
)


# -- the options and the entry point of `manage.py seed` -----------------------------------------------------


def add_arguments(parser) -> None:
    """The options this module adds to `manage.py seed`."""
    parser.add_argument(
        "--prescriptions",
        type=int,
        help=(
            "Prescriptions to write in all, with their dispensings, history events and renewal requests "
            "(2,000,000 with 5,000,000 dispensings took under 2 minutes on two cores; docs/operations.md)."
        ),
    )
    parser.add_argument(
        "--dispensings-per-prescription",
        type=float,
        default=DEFAULT_DISPENSINGS_PER_PRESCRIPTION,
        help=(
            "Dispensings per prescription on average (default 2.5). Long-term prescriptions are written for "
            "more or fewer purchases to match it; the run reports the number written."
        ),
    )
    parser.add_argument(
        "--persons-for-prescriptions",
        type=int,
        help=(
            "How many synthetic persons without prescriptions get them, newest first (default: the persons "
            "this run adds)."
        ),
    )


@dataclass(frozen=True)
class Plan:
    prescriptions: int
    dispensings_per_prescription: float
    persons: int  # how many persons get prescriptions


def plan(options: dict[str, Any], *, persons_added: int) -> Plan | None:
    """The run these options ask for, or None when they ask for no prescriptions; CommandError when they are
    wrong (checked before anything is written)."""
    total = options.get("prescriptions")
    per_prescription = options.get("dispensings_per_prescription", DEFAULT_DISPENSINGS_PER_PRESCRIPTION)
    persons = options.get("persons_for_prescriptions")
    if total is None:
        if persons is not None:
            raise CommandError(_("--persons-for-prescriptions needs --prescriptions."))
        return None
    if total < 1:
        raise CommandError(_("--prescriptions must be at least 1, not %(value)s.") % {"value": total})
    if not math.isfinite(per_prescription) or not 0 < per_prescription <= MAX_DISPENSINGS_PER_PRESCRIPTION:
        raise CommandError(
            _("--dispensings-per-prescription must be more than 0 and at most %(maximum)s, not %(value)s.")
            % {"maximum": MAX_DISPENSINGS_PER_PRESCRIPTION, "value": per_prescription}
        )
    if persons is None:
        if persons_added == 0:
            raise CommandError(
                _(
                    "With --persons 0, say with --persons-for-prescriptions how many persons get prescriptions."
                )
            )
        persons = persons_added
    if persons < 1:
        raise CommandError(
            _("--persons-for-prescriptions must be at least 1, not %(value)s.") % {"value": persons}
        )
    return Plan(prescriptions=total, dispensings_per_prescription=per_prescription, persons=persons)


def seed(run_plan: Plan, *, run: bulkload.SeedRun) -> Result:
    """Write what `run_plan` asks for in the seed command's transaction (after its persons and documents)."""
    chosen = persons_for_prescriptions(run_plan.persons)
    if len(chosen) < run_plan.persons:
        raise CommandError(
            _(
                "Only %(found)s synthetic persons have no prescriptions yet, not %(wanted)s. Add persons with "
                "--persons, or ask for fewer."
            )
            % {"found": f"{len(chosen):,}", "wanted": f"{run_plan.persons:,}"}
        )
    if not prescribing_units().exists():
        raise CommandError(
            _("Prescriptions are written in the units of counties and private providers, and there are none.")
        )
    bar = run.progress(PRESCRIPTIONS, run_plan.prescriptions)
    return seed_prescriptions(
        persons=chosen,
        total=run_plan.prescriptions,
        dispensings_per_prescription=run_plan.dispensings_per_prescription,
        rng=random.Random(chosen[0].id),  # noqa: S311 - synthetic data: the same rows for the same persons
        bulk_allowed=not run.keep_indexes,
        progress=bar,
        rebuild_progress=lambda steps: run.progress(_("indexes and foreign keys"), steps, unit=""),
        uuids=bulkload.uuid4_strings(),
    )


# -- numbers as COPY text ------------------------------------------------------------------------------------


def hundredths(value: int) -> str:
    """An amount kept in hundredths (cents, or hundredths of a unit) as decimal text: 1250 -> "12.50"."""
    return f"{value // 100}.{value % 100:02d}"


def to_hundredths(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


# -- the medicines -------------------------------------------------------------------------------------------


@dataclass
class Medicine:
    """One marketed package as a prescription copies it, with ready COPY and JSON fragments."""

    id: int
    atc: str
    course: str  # LONG, SHORT or CONTROLLED
    short_validity: bool  # narcotic, PKV or special permit: valid one year
    quantity: int  # units per package, in hundredths
    price: int  # cents
    unit: str  # the package size's unit word: tabl, kaps, ml, g, kpl, annosta
    nurse_may_prescribe: bool
    eligible_abroad: bool
    copy_by_product: str = ""  # product_id ... pharmacy_made, tab-separated
    copy_by_substance: str = ""
    json_by_product: str = ""  # "product_id": ... "pharmacy_made": ..., for the snapshot
    json_by_substance: str = ""
    expensive: bool = False  # it or a package it may be dispensed as costs over €1,000: one month a purchase
    by_substance_allowed: bool = True
    substitutes: list[Medicine] = field(default_factory=list)  # same group and size, substitutable
    same_substance: list[Medicine] = field(default_factory=list)  # same ATC, strength, form and size
    purpose_copy: str = ""
    purpose_json: str = ""


def _purpose(atc: str) -> str:
    matches = [(prefix, text) for prefix, text in PURPOSES if atc.startswith(prefix)]
    return max(matches, key=lambda match: len(match[0]))[1] if matches else DEFAULT_PURPOSE


def _json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    bulkload.check_copy_text(text)
    return text


def load_medicines() -> list[Medicine]:
    """The marketed packages of the medicine database, classified into courses."""
    products = list(Product.objects.filter(marketed=True).order_by("id"))
    medicines: dict[int, Medicine] = {}
    for product in products:
        controlled = product.narcotic or product.pkv
        course = CONTROLLED if controlled else LONG if product.atc.startswith(LONG_TERM_ATC) else SHORT
        unit = product.package_size.split()[-1] if product.package_size.split() else ""
        short_validity = rules.has_short_validity(
            narcotic=product.narcotic, pkv=product.pkv, special_permit=product.special_permit
        )
        medicine = Medicine(
            id=product.pk,
            atc=product.atc,
            course=course,
            short_validity=short_validity,
            quantity=to_hundredths(product.package_quantity),
            price=to_hundredths(product.retail_price),
            unit=unit,
            nurse_may_prescribe=rules.may_prescribe(
                Profession.NURSE, atc=product.atc, special_permit=product.special_permit
            ),
            eligible_abroad=not (product.narcotic or product.pkv),
        )
        flags = [product.narcotic, product.pkv, product.special_permit, False]
        by_product = (product.pk, product.atc, f"{product.name} {product.strength}"[:200])
        by_substance = (
            NULL,
            product.atc,
            f"{product.active_substance} {product.strength} {product.form}"[:200],
        )
        rest = (product.active_substance, product.strength, product.form)
        flag_text = "\t".join("t" if flag else "f" for flag in flags)
        for text in (*by_product[1:], *by_substance[1:], *rest):
            bulkload.check_copy_text(text)
        medicine.copy_by_product = "\t".join(map(str, (*by_product, *rest))) + "\t" + flag_text
        medicine.copy_by_substance = "\t".join(map(str, (*by_substance, *rest))) + "\t" + flag_text
        names = ("narcotic", "pkv", "special_permit", "pharmacy_made")
        flag_json = ", ".join(f'"{name}": {_json(flag)}' for name, flag in zip(names, flags, strict=True))
        rest_json = (
            f'"active_substance": {_json(rest[0])}, "strength": {_json(rest[1])}, "form": {_json(rest[2])}'
        )
        medicine.json_by_product = (
            f'"product_id": {product.pk}, "atc": {_json(product.atc)}, "medicine_name": {_json(by_product[2])}, '
            f"{rest_json}, {flag_json}"
        )
        medicine.json_by_substance = (
            f'"product_id": null, "atc": {_json(product.atc)}, "medicine_name": {_json(by_substance[2])}, '
            f"{rest_json}, {flag_json}"
        )
        purpose = _purpose(product.atc)
        bulkload.check_copy_text(purpose)
        medicine.purpose_copy, medicine.purpose_json = purpose, _json(purpose)
        medicines[product.pk] = medicine
    groups: dict[tuple, list[Medicine]] = defaultdict(list)
    substances: dict[tuple, list[Medicine]] = defaultdict(list)
    for product in products:
        medicine = medicines[product.pk]
        if product.substitution_group:
            groups[product.substitution_group, medicine.quantity].append(medicine)
        key = (product.atc, product.strength.casefold(), product.form.casefold(), medicine.quantity)
        substances[key].append(medicine)
    for members in groups.values():
        for medicine in members:
            medicine.substitutes = [other for other in members if other is not medicine]
    for members in substances.values():
        for medicine in members:
            medicine.same_substance = [other for other in members if other is not medicine]
    # A prescription by substance takes the flags of every package of its ATC code (services._medicine):
    # only substances whose packages agree are prescribed that way, so the copied flags stay right.
    flags_by_atc: dict[str, set[tuple[bool, bool, bool]]] = defaultdict(set)
    for product in Product.objects.only("atc", "narcotic", "pkv", "special_permit"):
        flags_by_atc[product.atc].add((product.narcotic, product.pkv, product.special_permit))
    for product in products:
        medicines[product.pk].by_substance_allowed = len(flags_by_atc[product.atc]) == 1
    for medicine in medicines.values():
        packages = [medicine, *medicine.substitutes, *medicine.same_substance]
        medicine.expensive = any(
            package.price > to_hundredths(EXPENSIVE_PACKAGE_PRICE) for package in packages
        )
    return list(medicines.values())


def ensure_medicine_database() -> bool:
    """Import the shipped sample when the database has no packages; True when it was imported."""
    if Product.objects.exists():
        return False
    from prescriptions.demo_content import sample_import_name

    # Named as the demo names it, so that `demo_data` later recognises the same import.
    medicine_db.import_products(path=SAMPLE_FILE, file_name=sample_import_name(SAMPLE_FILE))
    return True


# -- where prescriptions are written and dispensed -----------------------------------------------------------


@dataclass
class Prescriber:
    id: int
    nurse: bool  # limited prescribing right: the nurse list only


@dataclass
class PrescribingUnit:
    id: int
    organisation_id: int
    county: bool
    accepts_requests: bool
    prescribers: list[Prescriber]
    physicians: list[Prescriber]


@dataclass
class Pharmacy:
    organisation_id: int
    pharmacists: list[int]


@dataclass
class Places:
    units: list[PrescribingUnit]
    home_units: list[PrescribingUnit]  # county health care units: a person's own health centre
    pharmacies: list[Pharmacy]
    created: Counter = field(default_factory=Counter)


CREATED_LABELS = {
    "accepting": gettext_lazy("units set to accept renewal requests"),
    "prescribers": gettext_lazy("synthetic prescribers"),
    "pharmacies": gettext_lazy("synthetic pharmacies"),
    "pharmacists": gettext_lazy("synthetic pharmacists"),
}
PRESCRIBING_PROFESSIONS = sorted(rules.PRESCRIBING_PROFESSIONS | rules.LIMITED_PRESCRIBING_PROFESSIONS)


def _synthetic_professional(*, username: str, registration: str, profession: str, unit: Unit, rng) -> int:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": rng.choice(FIRST_NAMES), "last_name": rng.choice(LAST_NAMES)},
    )
    if created:
        user.set_unusable_password()  # never signs in
        user.save(update_fields=["password"])
    professional, _created = Professional.objects.get_or_create(
        user=user, defaults={"registration_number": registration, "profession": profession}
    )
    professional.units.add(unit)
    return professional.pk


def prescribing_units():
    """Health care and occupational health units of counties and private providers."""
    return Unit.objects.filter(
        organisation__kind__in=[OrganisationKind.COUNTY, OrganisationKind.PRIVATE_HEALTH],
        register_kind__in=[RegisterKind.HEALTH_CARE, RegisterKind.OCCUPATIONAL_HEALTH],
    )


def prepare_places(rng: random.Random) -> Places:
    """The prescribing units with their prescribers, the units that accept renewal requests, and the pharmacies
    with their pharmacists; what is missing is created (see the module docstring)."""
    created: Counter = Counter()
    candidates = list(prescribing_units().select_related("organisation").order_by("id"))
    county_health = [
        unit
        for unit in candidates
        if unit.organisation.kind == OrganisationKind.COUNTY
        and unit.register_kind == RegisterKind.HEALTH_CARE
    ]
    accepting = [unit.pk for n, unit in enumerate(county_health) if n % 3 in ACCEPTING_UNITS]
    switched = Unit.objects.filter(pk__in=accepting, accepts_renewal_requests=False).update(
        accepts_renewal_requests=True
    )
    if switched:
        created["accepting"] = switched
    accepting_ids = set(accepting) | {unit.pk for unit in candidates if unit.accepts_renewal_requests}

    staff: dict[int, list[Prescriber]] = defaultdict(list)
    memberships = Professional.units.through.objects.filter(
        unit__in=candidates, professional__profession__in=PRESCRIBING_PROFESSIONS
    ).values_list("unit_id", "professional_id", "professional__profession")
    for unit_id, professional_id, profession in memberships.order_by("unit_id", "professional_id"):
        nurse = profession in rules.LIMITED_PRESCRIBING_PROFESSIONS
        staff[unit_id].append(Prescriber(professional_id, nurse))
    units = []
    for unit in candidates:
        prescribers = staff[unit.pk]
        if not any(not p.nurse for p in prescribers):
            wanted = [Profession.PHYSICIAN, Profession.PHYSICIAN] + (
                [] if prescribers else [Profession.NURSE]
            )
            for n, profession in enumerate(wanted, start=1):
                pk = _synthetic_professional(
                    username=f"synthetic-prescriber-{unit.pk}-{n}",
                    registration=SYNTHETIC_REGISTRATION.format(unit=unit.pk, n=n),
                    profession=profession,
                    unit=unit,
                    rng=rng,
                )
                prescribers.append(Prescriber(pk, profession == Profession.NURSE))
                created["prescribers"] += 1
        units.append(
            PrescribingUnit(
                id=unit.pk,
                organisation_id=unit.organisation_id,
                county=unit in county_health,
                accepts_requests=unit.pk in accepting_ids,
                prescribers=prescribers,
                physicians=[p for p in prescribers if not p.nurse],
            )
        )
    return Places(
        units=units,
        home_units=[unit for unit in units if unit.county] or units,
        pharmacies=_pharmacies(rng, created),
        created=created,
    )


def _pharmacies(rng: random.Random, created: Counter) -> list[Pharmacy]:
    def existing() -> list[Pharmacy]:
        pharmacists: dict[int, list[int]] = defaultdict(list)
        rows = Professional.units.through.objects.filter(
            unit__organisation__kind=OrganisationKind.PHARMACY,
            professional__profession__in=sorted(DISPENSING_PROFESSIONS),
        ).values_list("unit__organisation_id", "professional_id")
        for organisation_id, professional_id in rows.order_by("unit__organisation_id", "professional_id"):
            pharmacists[organisation_id].append(professional_id)
        return [Pharmacy(organisation_id, ids) for organisation_id, ids in pharmacists.items()]

    found = existing()
    if found:
        return found
    for n in range(1, SYNTHETIC_PHARMACIES + 1):
        oid = PHARMACY_OID.format(n=n)
        pharmacy, _created = Organisation.objects.get_or_create(
            oid=oid,
            defaults={
                "name_fi": f"Synteettinen apteekki {n}",
                "name_sv": f"Syntetiskt apotek {n}",
                "kind": OrganisationKind.PHARMACY,
            },
        )
        unit, _created = Unit.objects.get_or_create(
            oid=f"{oid}.10.1",
            defaults={
                "organisation": pharmacy,
                "name_fi": f"Synteettinen apteekki {n}",
                "name_sv": f"Syntetiskt apotek {n}",
            },
        )
        for m, profession in enumerate((Profession.PHARMACIST, Profession.DISPENSING_PHARMACIST), start=1):
            _synthetic_professional(
                username=f"synthetic-pharmacist-{n}-{m}",
                registration=f"SYNPH-{n:04d}-{m}",
                profession=profession,
                unit=unit,
                rng=rng,
            )
            created["pharmacists"] += 1
        created["pharmacies"] += 1
    return existing()


# -- which persons ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    id: int
    birth_date: datetime.date


def persons_for_prescriptions(count: int) -> list[PersonRow]:
    """Living synthetic persons without prescriptions, newest first (so the persons this run adds come first)."""
    from kanta.management.commands.seed import SIGNS_1900, SIGNS_2000

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, p.birth_date FROM {Person._meta.db_table} p "  # noqa: S608 - our table names
            "WHERE substr(p.identity_code, 7, 1) = ANY(%s) AND substr(p.identity_code, 8, 3) >= '900' "
            "AND p.date_of_death IS NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {PRESCRIPTIONS} r WHERE r.person_id = p.id) "
            "ORDER BY p.id DESC LIMIT %s",
            [list(SIGNS_1900 + SIGNS_2000), count],
        )
        return [PersonRow(*row) for row in cursor.fetchall()]


def _age(born: datetime.date, today: datetime.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _by_age(table: list[tuple[int, Any]], age: int) -> Any:
    for limit, value in table:
        if age < limit:
            return value
    return table[-1][1]


def prescriptions_per_person(
    total: int, persons: Sequence[PersonRow], rng: random.Random, today: datetime.date
) -> list[int]:
    """`total` prescriptions over `persons`, weighted by age and a random factor, exactly `total` in all."""
    weights = [_by_age(AGE_WEIGHTS, _age(p.birth_date, today)) * (0.5 + rng.random()) for p in persons]
    scale = total / sum(weights)
    counts, running, given = [], 0.0, 0
    for weight in weights:
        running += weight * scale
        upto = min(total, round(running))
        counts.append(upto - given)
        given = upto
    counts[-1] += total - given
    return counts


# -- the generator -------------------------------------------------------------------------------------------


class Rx:
    """One generated prescription while its person's history is being written."""

    __slots__ = (
        "amount",
        "bought",
        "by_substance",
        "daily",
        "day",
        "dispensings",
        "id",
        "invalidated",
        "medicine",
        "message",
        "prescriber",
        "public_id",
        "renewed_from",
        "short",
        "status",
        "stopped",
        "supply_days",
        "t",
        "total",
        "unit",
        "valid_until",
    )


@dataclass
class Clock:
    """Days and minutes counted from midnight UTC of the first day of the history, with ready text."""

    today: datetime.date
    first_day: datetime.date
    now: int  # minutes
    days: list[str]
    minutes: list[str]
    plus_months: dict[int, list[int]]  # months -> for each day, the day that many months later

    @classmethod
    def build(cls, today: datetime.date, now: datetime.datetime) -> Clock:
        first_day = today - datetime.timedelta(days=HISTORY_DAYS)
        span = HISTORY_DAYS + 31 * 31  # far enough for a renewal window (28 months) from today
        days, minutes = bulkload.minute_stamps(first_day, span + 400)
        midnight = datetime.datetime.combine(first_day, datetime.time.min, tzinfo=datetime.UTC)
        now_minute = int((now - midnight).total_seconds() // 60)
        plus = {}
        for months in {3, 12, 16, 24, 28, rules.GRACE_MONTHS} | set(range(3, 13)):
            plus[months] = [
                (rules.add_months(first_day + datetime.timedelta(days=n), months) - first_day).days
                for n in range(span)
            ]
        return cls(today, first_day, now_minute, days, minutes, plus)

    @property
    def today_index(self) -> int:
        return (self.today - self.first_day).days

    def stamp(self, minute: int) -> str:
        return f"{self.days[minute // MINUTES_PER_DAY]} {self.minutes[minute % MINUTES_PER_DAY]}"


class Generator:
    """Writes the histories of persons into per-table line lists; counts what it wrote."""

    def __init__(
        self,
        *,
        medicines: list[Medicine],
        places: Places,
        rng: random.Random,
        clock: Clock,
        first_id: int,
        dispensings_per_prescription: float,
        cross_border_persons: set[int],
        uuids: Iterator[str],
    ) -> None:
        self.rng = rng
        self.clock = clock
        self.places = places
        self.next_id = first_id
        self.uuids = uuids
        self.cross_border_persons = cross_border_persons
        self.by_course = {
            course: [m for m in medicines if m.course == course] for course in (LONG, SHORT, CONTROLLED)
        }
        if not all(self.by_course.values()):
            missing = [course for course, found in self.by_course.items() if not found]
            raise ValueError(f"the medicine database has no packages for these courses: {missing}")
        self.first_id = first_id
        self.target = dispensings_per_prescription
        self.purchase_scale = self._clamp((dispensings_per_prescription / NATURAL_DISPENSINGS) ** 2)
        self.dispensings = 0
        self.steered_at = first_id
        self.statistics: Counter = Counter()
        self.lines: dict[str, list[str]] = {table: [] for table in TABLES}
        self.today = clock.today_index
        self.unit_by_id = {unit.id: unit for unit in places.units}

    def take(self) -> list[tuple[str, str, list[str]]]:
        chunk = [(table, COLUMNS[table], lines) for table, lines in self.lines.items()]
        self.lines = {table: [] for table in TABLES}
        return chunk

    # -- one person ----------------------------------------------------------------------------------------

    def person(self, person: PersonRow, count: int) -> None:
        rng, clock = self.rng, self.clock
        random_ = rng.random
        age = _age(person.birth_date, clock.today)
        mix = _by_age(COURSE_MIX, age)
        born = max(0, (person.birth_date - clock.first_day).days + 1)
        home = rng.choice(self.places.home_units)
        pharmacies = self.places.pharmacies
        home_pharmacy = rng.choice(pharmacies)
        abroad = None
        if person.id in self.cross_border_persons:
            abroad = self._cross_border_consent(person.id, born)
        context = (person.id, home, home_pharmacy, abroad)
        left = count
        while left > 0:
            pick = random_() * 100
            course = LONG if pick < mix[0] else SHORT if pick < mix[0] + mix[1] else CONTROLLED
            chained = course == LONG or (course == CONTROLLED and random_() < CONTROLLED_LONG_SHARE)
            medicines = self.by_course[course]
            medicine = medicines[int(random_() * len(medicines))]
            unit = home if random_() < SAME_UNIT_SHARE else rng.choice(self.places.units)
            # a chain may start before the window would let it renew; a short course any day
            day = born + int(random_() * max(1, self.today - born))
            previous = None
            renewed = False
            while left > 0:
                rx = self._prescribe(context, medicine, unit, day, previous if renewed else None, chained)
                left -= 1
                if previous is not None:
                    self._renewed(context, previous, rx, by_request=renewed)
                if not chained or rx.invalidated is not None or rx.stopped:
                    break
                next_day = self._next_day(rx)
                if next_day is None or next_day > self.today:
                    break
                previous = rx
                day = next_day
                renewed = (
                    unit.accepts_requests
                    and random_() < RENEWED_BY_REQUEST_SHARE
                    and self._renewable(rx, next_day)
                )
                if not renewed and random_() > SAME_UNIT_SHARE:
                    unit = rng.choice(self.places.units)
            self._chain_end(context, rx)
        if self.next_id - self.steered_at >= STEER_EVERY:
            self._steer()

    @staticmethod
    def _clamp(scale: float) -> float:
        return min(max(scale, PURCHASE_SCALE_LIMITS[0]), PURCHASE_SCALE_LIMITS[1])

    def _steer(self) -> None:
        """Scale the purchases of the next long-term prescriptions by how far the mean written so far is from
        the mean asked for (whatever the mix of ages and courses makes of them)."""
        written = self.next_id - self.first_id
        mean = self.dispensings / written
        if mean > 0:
            self.purchase_scale = self._clamp(self.purchase_scale * (self.target / mean))
        self.steered_at = self.next_id

    def _cross_border_consent(self, person_id: int, born: int) -> tuple[int, int | None]:
        """(given, withdrawn or None) in minutes; written now."""
        rng, clock = self.rng, self.clock
        day = born + int(rng.random() * max(1, self.today - born))
        given = day * MINUTES_PER_DAY + rng.randint(DAY_START, DAY_END)
        given = min(given, clock.now - 60)
        withdrawn = None
        if rng.random() < CROSS_BORDER_WITHDRAWN_SHARE:
            withdrawn = given + int(rng.random() * max(60, clock.now - given - 60))
        self.lines[CONSENTS].append(
            f"{next(self.uuids)}\t{person_id}\t{clock.stamp(given)}\t"
            f"{clock.stamp(withdrawn) if withdrawn is not None else NULL}\n"
        )
        self.statistics["cross-border consents"] += 1
        return given, withdrawn

    # -- one prescription ----------------------------------------------------------------------------------

    def _prescribe(self, context, medicine: Medicine, unit: PrescribingUnit, day: int, renewed_from, chained):
        rng, clock = self.rng, self.clock
        random_ = rng.random
        person_id, _home, home_pharmacy, abroad = context
        rx = Rx()
        rx.id = self.next_id
        self.next_id += 1
        rx.public_id = next(self.uuids)
        rx.medicine = medicine
        rx.unit = unit
        prescribers = unit.prescribers if medicine.nurse_may_prescribe else unit.physicians
        rx.prescriber = prescribers[int(random_() * len(prescribers))]
        rx.day = day
        start = DAY_START + int(random_() * (DAY_END - DAY_START))
        rx.t = min(day * MINUTES_PER_DAY + start, clock.now - 1)
        rx.short = medicine.short_validity
        months = 12 if rx.short else 24
        if random_() < SHORTENED_SHARE:
            months = rng.randint(3, 11)
        rx.valid_until = clock.plus_months[months][day]
        rx.renewed_from = renewed_from
        rx.by_substance = medicine.by_substance_allowed and random_() < SUBSTANCE_SHARE
        substitution = random_() >= NO_SUBSTITUTION_SHARE

        # dosage and amount: whole packages, each purchase at most three months (one if expensive)
        quantity = medicine.quantity
        solid = medicine.unit in SOLID_UNITS
        if solid:
            times = 1 if random_() < 0.65 else 2 if random_() < 0.8 else 3
            daily = times * 100
            dosage = f"1 {SOLID_UNITS[medicine.unit]} {TIMES_A_DAY[times]}"
        else:
            per_package = 30 if chained else 10 + int(random_() * 20)
            daily = max(1, quantity // per_package)
            dosage = f"Ohjeen mukaan, keskimäärin {hundredths(daily)} {OTHER_UNITS.get(medicine.unit, '')} vuorokaudessa"
        limit_days = EXPENSIVE_PURCHASE_DAYS if medicine.expensive else PURCHASE_DAYS
        per_purchase = max(1, min(3, limit_days * daily // quantity))
        if chained:
            planned = rng.choice(LONG_PURCHASES if medicine.course == LONG else CONTROLLED_LONG_PURCHASES)
            planned *= self.purchase_scale
            # rounded up or down at random, so that a scale near 1 still moves the mean
            purchases = max(1, int(planned) + (random_() < planned - int(planned)))
            packages = purchases * per_purchase
        else:
            packages = 2 if quantity < 2000 and random_() < 0.3 else 1
            per_purchase = min(packages, max(1, limit_days * daily // quantity))
            purchases = -(-packages // per_purchase)
        total = packages * quantity
        rx.daily, rx.total = daily, total
        rx.supply_days = max(1, per_purchase * quantity // daily)
        days = total // daily if total % daily == 0 else None
        pick = random_()
        if rx.by_substance:
            kind = AmountKind.TREATMENT_PERIOD if days and pick < 0.5 else AmountKind.QUANTITY
        else:
            kind = (
                AmountKind.PACKAGES
                if pick < 0.7 or (pick < 0.9 and not days)
                else AmountKind.TREATMENT_PERIOD
                if days
                else AmountKind.QUANTITY
            )
        amount_packages = packages if kind == AmountKind.PACKAGES else None
        amount_days = days if kind == AmountKind.TREATMENT_PERIOD else None
        rx.amount = (dosage, kind, amount_packages, amount_days, substitution)
        rx.message = MESSAGES[int(random_() * len(MESSAGES))] if random_() < MESSAGE_SHARE else ""

        # the purchases
        dispensings = []
        bought = 0
        invalidated = None
        if random_() < INVALIDATED_SHARE:
            end = min(clock.now - 1, (rx.valid_until + 1) * MINUTES_PER_DAY - 1)
            invalidated = rx.t + 1 + int(random_() * max(1, end - rx.t - 1))
        never = not chained and random_() < NEVER_BOUGHT_SHARE
        last_day = rx.valid_until
        purchase_day = day + int(random_() * (4 if chained else 2))
        count = 0
        stopped = False
        pharmacies = self.places.pharmacies
        while not never and count < purchases and purchase_day <= last_day:
            at = purchase_day * MINUTES_PER_DAY + DAY_START + int(random_() * (DAY_END - DAY_START))
            if purchase_day == day:
                at = max(at, rx.t + 15)
            if at >= clock.now or (invalidated is not None and at >= invalidated):
                break
            take = min(per_purchase, (total - bought) // quantity)
            if take < 1:
                break
            product = medicine
            if rx.by_substance and medicine.same_substance and random_() < SUBSTITUTION_SHARE:
                product = rng.choice(medicine.same_substance)
            elif substitution and medicine.substitutes and random_() < SUBSTITUTION_SHARE:
                product = rng.choice(medicine.substitutes)
            country = "FI"
            if abroad is not None and medicine.eligible_abroad and random_() < ABROAD_SHARE:
                given, withdrawn = abroad
                if given < at and (withdrawn is None or at < withdrawn):
                    country = CROSS_BORDER[int(random_() * len(CROSS_BORDER))]
            if country == "FI":
                pharmacy = home_pharmacy if random_() < HOME_PHARMACY_SHARE else rng.choice(pharmacies)
                pharmacist = pharmacy.pharmacists[int(random_() * len(pharmacy.pharmacists))]
                where = f"{pharmacy.organisation_id}\t{pharmacist}"
            else:
                where = f"{NULL}\t{NULL}"
                self.statistics["dispensings abroad"] += 1
            amount = take * product.quantity
            dispensings.append((at, amount))
            bought += amount
            self.lines[DISPENSINGS].append(
                f"{next(self.uuids)}\t{rx.id}\t{product.id}\t{where}\t{country}\t{take}\t{hundredths(amount)}\t"
                f"{hundredths(take * product.price)}\t{clock.stamp(at)}\n"
            )
            count += 1
            self.dispensings += 1
            if chained and random_() < STOP_SHARE:
                stopped = True
                break
            purchase_day += max(1, int(rx.supply_days * (0.8 + 0.3 * random_())))
        rx.dispensings = dispensings
        rx.bought = bought
        rx.invalidated = invalidated
        rx.stopped = stopped  # the person stopped taking it: the course ends
        self._status(rx)
        self._write(person_id, rx)
        return rx

    def _last_dispensable_day(self, rx: Rx, bought: int) -> int:
        if not rx.short and bought < rx.total:
            return self.clock.plus_months[rules.GRACE_MONTHS][rx.valid_until]
        return rx.valid_until

    def _status(self, rx: Rx) -> None:
        if rx.invalidated is not None:
            rx.status = PrescriptionStatus.INVALIDATED
        elif self.today > self._last_dispensable_day(rx, rx.bought):
            rx.status = PrescriptionStatus.EXPIRED
        elif rx.bought == 0:
            rx.status = PrescriptionStatus.UNDISPENSED
        elif rx.bought >= rx.total:
            rx.status = PrescriptionStatus.FULLY_DISPENSED
        else:
            rx.status = PrescriptionStatus.PARTLY_DISPENSED
        self.statistics[f"status {rx.status}"] += 1

    def _status_at(self, rx: Rx, minute: int) -> tuple[str, int]:
        """(status, units dispensed) of the prescription at `minute`, as a history event snapshot shows it."""
        bought = sum(amount for at, amount in rx.dispensings if at < minute)
        if minute // MINUTES_PER_DAY > self._last_dispensable_day(rx, bought):
            return PrescriptionStatus.EXPIRED, bought
        if bought == 0:
            return PrescriptionStatus.UNDISPENSED, bought
        if bought >= rx.total:
            return PrescriptionStatus.FULLY_DISPENSED, bought
        return PrescriptionStatus.PARTLY_DISPENSED, bought

    def _snapshot(self, rx: Rx, *, status: str, bought: int | None, invalidation=("", "")) -> str:
        medicine = rx.medicine
        dosage, kind, packages, days, substitution = rx.amount
        return (
            f'{{"version": 1, "status": "{status}", '
            f"{medicine.json_by_substance if rx.by_substance else medicine.json_by_product}, "
            f'"dosage": "{dosage}", "daily_quantity": "{hundredths(rx.daily)}", "amount_kind": "{kind}", '
            f'"amount_packages": {packages if packages is not None else "null"}, '
            f'"amount_treatment_days": {days if days is not None else "null"}, '
            f'"total_quantity": "{hundredths(rx.total)}", "purpose": {medicine.purpose_json}, '
            f'"message_to_pharmacy": "{rx.message}", "substitution_allowed": {"true" if substitution else "false"}, '
            f'"valid_until": "{self.clock.days[rx.valid_until]}", '
            f'"quantity_dispensed": {0 if bought is None else f'"{hundredths(bought)}"'}, '
            f'"locked_by_id": null, "lock_reason": "", "invalidation_category": "{invalidation[0]}", '
            f'"invalidation_text": "{invalidation[1]}"}}'
        )

    def _write(self, person_id: int, rx: Rx) -> None:
        clock, medicine = self.clock, rx.medicine
        random_ = self.random
        dosage, kind, packages, days, substitution = rx.amount
        message = rx.message
        invalidated_at = NULL
        category, text = "", ""
        if rx.invalidated is not None:
            category, text = INVALIDATIONS[int(random_() * len(INVALIDATIONS))]
            invalidated_at = clock.stamp(rx.invalidated)
        last = clock.stamp(rx.dispensings[-1][0]) if rx.dispensings else NULL
        renewed_from = rx.renewed_from.id if rx.renewed_from is not None else NULL
        self.lines[PRESCRIPTIONS].append(
            f"{rx.id}\t{rx.public_id}\t{person_id}\t{rx.prescriber.id}\t{rx.unit.id}\t1\t"
            f"{medicine.copy_by_substance if rx.by_substance else medicine.copy_by_product}\t{dosage}\t"
            f"{hundredths(rx.daily)}\t{kind}\t{packages if packages is not None else NULL}\t"
            f"{days if days is not None else NULL}\t{hundredths(rx.total)}\t{medicine.purpose_copy}\t{message}\t"
            f"{'t' if substitution else 'f'}\t{clock.stamp(rx.t)}\t{clock.days[rx.valid_until]}\t{rx.status}\t"
            f"{hundredths(rx.bought)}\t{last}\t{renewed_from}\t{invalidated_at}\t{category}\t{text}\t\n"
        )
        events = self.lines[EVENTS]
        organisation = rx.unit.organisation_id
        note = rx.renewed_from.public_id if rx.renewed_from is not None else ""
        events.append(
            f"{rx.id}\t{EventKind.PRESCRIBED}\t1\t{clock.stamp(rx.t)}\t{rx.prescriber.id}\t{organisation}\t{note}\t"
            f"{self._snapshot(rx, status=PrescriptionStatus.UNDISPENSED, bought=None)}\n"
        )
        if rx.invalidated is not None:
            _status, bought = self._status_at(rx, rx.invalidated)
            snapshot = self._snapshot(
                rx, status=PrescriptionStatus.INVALIDATED, bought=bought, invalidation=(category, text)
            )
            events.append(
                f"{rx.id}\t{EventKind.INVALIDATED}\t1\t{clock.stamp(rx.invalidated)}\t{rx.prescriber.id}\t"
                f"{organisation}\t{text}\t{snapshot}\n"
            )
        elif rx.status == PrescriptionStatus.EXPIRED:
            # the nightly job, early in the morning after the last dispensable day
            at = min((self._last_dispensable_day(rx, rx.bought) + 1) * MINUTES_PER_DAY + 60, clock.now - 1)
            snapshot = self._snapshot(rx, status=PrescriptionStatus.EXPIRED, bought=rx.bought)
            events.append(
                f"{rx.id}\t{EventKind.EXPIRED}\t1\t{clock.stamp(at)}\t{NULL}\t{NULL}\t\t{snapshot}\n"
            )

    def random(self) -> float:
        return self.rng.random()

    # -- renewals and requests -------------------------------------------------------------------------------

    def _next_day(self, rx: Rx) -> int | None:
        """When a long-term prescription is renewed: as it runs low, or before it expires unused."""
        if rx.bought >= rx.total and rx.dispensings:
            last_purchase = rx.dispensings[-1][0] // MINUTES_PER_DAY
            return last_purchase + int(rx.supply_days * (0.7 + 0.25 * self.random()))
        if rx.dispensings and rx.dispensings[-1][0] < self.clock.now:
            # bought as written but time ran out before the last purchase: renewed near the end of validity
            if rx.valid_until <= self.today:
                return max(rx.day + 1, rx.valid_until - int(self.random() * 20))
        return None

    def _renewable(self, rx: Rx, day: int) -> bool:
        """rules.renewal_refusal_reason for a request sent on `day`, from what the generator knows."""
        if rx.invalidated is not None or not rx.dispensings or rx.dispensings[0][0] // MINUTES_PER_DAY >= day:
            return False
        window = 16 if rx.short else 28
        return day <= self.clock.plus_months[window][rx.day]

    def _handler(self, unit: PrescribingUnit, medicine: Medicine) -> Prescriber:
        handlers = unit.prescribers if medicine.nurse_may_prescribe else unit.physicians
        return handlers[int(self.random() * len(handlers))]

    def _phone(self) -> str:
        if self.random() >= PHONE_SHARE:
            return ""
        return f"+35840{self.rng.randrange(10**7):07d}"

    def _request(
        self,
        person_id: int,
        rx: Rx,
        *,
        status: str,
        sent: int,
        handled: int | None = None,
        handler: Prescriber | None = None,
        reason: str = "",
        new: Rx | None = None,
    ) -> None:
        clock = self.clock
        self.lines[RENEWALS].append(
            f"{next(self.uuids)}\t{rx.id}\t{person_id}\t{rx.unit.id}\t{self._phone()}\t{status}\t"
            f"{clock.stamp(sent)}\t{clock.stamp(handled) if handled is not None else NULL}\t"
            f"{handler.id if handler is not None else NULL}\t{reason}\t{new.id if new is not None else NULL}\n"
        )
        self.statistics[f"renewal requests {status}"] += 1

    def _renewed(self, context, old: Rx, new: Rx, *, by_request: bool) -> None:
        """A renewal of `old` by `new`: the request that asked for it, and the "renewed" event on the old one."""
        if not by_request:
            return
        person_id = context[0]
        earliest = max(old.dispensings[0][0] + 1, new.t - 6 * MINUTES_PER_DAY)
        sent = earliest + int(self.random() * max(1, new.t - 60 - earliest))
        self._request(
            person_id,
            old,
            status=RenewalStatus.RENEWED,
            sent=sent,
            handled=new.t,
            handler=new.prescriber,
            new=new,
        )
        status, bought = self._status_at(old, new.t)
        snapshot = self._snapshot(old, status=status, bought=bought)
        self.lines[EVENTS].append(
            f"{old.id}\t{EventKind.RENEWED}\t1\t{self.clock.stamp(new.t)}\t{new.prescriber.id}\t"
            f"{new.unit.organisation_id}\t{new.public_id}\t{snapshot}\n"
        )

    def _chain_end(self, context, rx: Rx) -> None:
        """The last prescription of a course: maybe a request waiting now, or one that ended otherwise."""
        if rx.invalidated is not None or not rx.unit.accepts_requests or not rx.dispensings:
            return
        person_id = context[0]
        clock, random_ = self.clock, self.random
        now = clock.now
        first_purchase = rx.dispensings[0][0]
        window = 16 if rx.short else 28
        window_end = (clock.plus_months[window][rx.day] + 1) * MINUTES_PER_DAY - 1
        if rx.status in VALID and self._renewable(rx, self.today) and random_() < OPEN_REQUEST_SHARE:
            sent = now - 10 - int(random_() * (rules.RENEWAL_REQUEST_DAYS * MINUTES_PER_DAY - 70))
            if sent > first_purchase:
                self._request(person_id, rx, status=RenewalStatus.SENT, sent=sent)
                return
        if random_() >= ENDING_REQUEST_SHARE:
            return
        # ended before today: sent while renewable and at least 8 days ago, so it cannot still be open
        latest = min(window_end, now - (rules.RENEWAL_REQUEST_DAYS + 1) * MINUTES_PER_DAY)
        if latest <= first_purchase:
            return
        sent = first_purchase + 1 + int(random_() * (latest - first_purchase - 1))
        pick = random_()
        if pick < 0.4:
            self._request(person_id, rx, status=RenewalStatus.EXPIRED, sent=sent)
            return
        handled = sent + 60 + int(random_() * 3 * MINUTES_PER_DAY)
        handler = self._handler(rx.unit, rx.medicine)
        if pick < 0.7:
            reason = REJECTIONS[int(random_() * len(REJECTIONS))]
            self._request(
                person_id,
                rx,
                status=RenewalStatus.REJECTED,
                sent=sent,
                handled=handled,
                handler=handler,
                reason=reason,
            )
        else:
            reason = RETURNS[int(random_() * len(RETURNS))]
            self._request(
                person_id,
                rx,
                status=RenewalStatus.RETURNED,
                sent=sent,
                handled=handled,
                handler=handler,
                reason=reason,
            )


# -- the run ---------------------------------------------------------------------------------------------------


@dataclass
class Result:
    prescriptions: int
    persons: int
    rows: dict[str, int]
    copy_seconds: dict[str, float]
    rebuild_seconds: dict[str, float]
    write_seconds: float  # generating and COPYing, side by side
    seconds: float  # all of it, the rebuild included
    bulk: bool
    frozen: bool
    statistics: dict[str, int]
    created: dict[str, int]
    tables: list[str] = field(default_factory=lambda: list(TABLES))


def seed_prescriptions(
    *,
    persons: Sequence[PersonRow],
    total: int,
    dispensings_per_prescription: float = DEFAULT_DISPENSINGS_PER_PRESCRIPTION,
    rng: random.Random,
    bulk_allowed: bool = True,
    progress: ProgressBar | None = None,
    rebuild_progress: Callable[[int], ProgressBar] | None = None,
    uuids: Iterator[str] | None = None,
) -> Result:
    """Write `total` prescriptions over `persons` with their dispensings, history events, renewal requests and
    a few cross-border consents. Needs an open transaction (the seed command's)."""
    began = time.perf_counter()
    uuids = uuids or bulkload.uuid4_strings()
    ensure_medicine_database()
    medicines = load_medicines()
    places = prepare_places(rng)
    if not places.units:
        raise ValueError("there is no unit of a county or a private provider to prescribe in")
    clock = Clock.build(timezone.localdate(), timezone.now())
    counts = prescriptions_per_person(total, persons, rng, clock.today)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT person_id FROM {CONSENTS} WHERE withdrawn_at IS NULL")  # noqa: S608
        consenting = {row[0] for row in cursor.fetchall()}
    cross_border = {
        p.id for p in persons if p.id not in consenting and rng.random() < CROSS_BORDER_CONSENT_SHARE
    }

    bulkload.lock_tables(TABLES)
    load = bulkload.bulk_load_begin(TABLES, allowed=bulk_allowed, adding=total)
    first_id = bulkload.reserve_id_block(PRESCRIPTIONS, total)
    generator = Generator(
        medicines=medicines,
        places=places,
        rng=rng,
        clock=clock,
        first_id=first_id,
        dispensings_per_prescription=dispensings_per_prescription,
        cross_border_persons=cross_border,
        uuids=uuids,
    )
    writer = bulkload.CopyWriter(
        frozen=load.frozen,
        on_written=lambda rows: progress.update(rows.get(PRESCRIPTIONS, 0)) if progress else None,
    )
    write_began = time.perf_counter()
    try:
        pending = 0
        for person, count in zip(persons, counts, strict=True):
            if count:
                generator.person(person, count)
                pending += count
            if pending >= CHUNK_PRESCRIPTIONS:
                writer.put(generator.take())
                pending = 0
        writer.put(generator.take())
    finally:
        writer.close()
        if progress is not None:
            progress.close()
    write_seconds = time.perf_counter() - write_began
    if generator.next_id - first_id != total:
        raise AssertionError("generated prescriptions do not match the reserved ids")  # a bug, never input

    rebuild_seconds: dict[str, float] = defaultdict(float)
    if load.bulk:
        bar = rebuild_progress(load.schema.statements) if rebuild_progress else None

        def step(table: str, seconds: float) -> None:
            rebuild_seconds[table] += seconds
            if bar is not None:
                bar.update(1)

        try:
            bulkload.bulk_load_end(load, step)
        finally:
            if bar is not None:
                bar.close()
    return Result(
        prescriptions=total,
        persons=sum(1 for n in counts if n),
        rows=dict(writer.rows),
        copy_seconds=dict(writer.seconds),
        rebuild_seconds=dict(rebuild_seconds),
        write_seconds=write_seconds,
        seconds=time.perf_counter() - began,
        bulk=load.bulk,
        frozen=bool(load.frozen),
        statistics=dict(generator.statistics),
        created=dict(places.created),
    )


def report(result: Result, *, write: Callable[[str], object], verbosity: int = 1) -> None:
    """The run's report for the seed command: rows and COPY rate per table, the rebuild, the statuses."""
    for table in TABLES:
        rows = result.rows.get(table, 0)
        seconds = result.copy_seconds.get(table, 0.0)
        write(
            _("  %(table)s: %(rows)s rows, COPY %(rate)s rows/s")
            % {"table": table, "rows": f"{rows:,}", "rate": f"{rows / seconds:,.0f}" if seconds else "-"}
        )
    if verbosity >= 2:
        write(
            _("  Generated and written in %(seconds)s s (of %(total)s s).")
            % {"seconds": f"{result.write_seconds:.1f}", "total": f"{result.seconds:.1f}"}
        )
    if result.bulk:
        if verbosity >= 2:
            for table, seconds in sorted(result.rebuild_seconds.items()):
                write(
                    _("  %(table)s: indexes and foreign keys rebuilt in %(seconds)s s")
                    % {"table": table, "seconds": f"{seconds:.1f}"}
                )
        write(
            _(
                "  The prescription tables were empty or nearly so: written without secondary indexes and "
                "foreign keys (rows frozen: %(frozen)s), which were then rebuilt in %(seconds)s s."
            )
            % {
                "frozen": _("yes") if result.frozen else _("no"),
                "seconds": f"{sum(result.rebuild_seconds.values()):.1f}",
            }
        )
    statuses = ", ".join(
        f"{status.label} {result.statistics.get(f'status {status}', 0):,}" for status in PrescriptionStatus
    )
    write(_("  Prescriptions by status: %(statuses)s.") % {"statuses": statuses})
    requests = ", ".join(
        f"{status.label} {result.statistics.get(f'renewal requests {status}', 0):,}"
        for status in RenewalStatus
    )
    write(_("  Renewal requests by status: %(requests)s.") % {"requests": requests})
    write(
        _("  Cross-border consents: %(consents)s; dispensings abroad: %(abroad)s.")
        % {
            "consents": f"{result.statistics.get('cross-border consents', 0):,}",
            "abroad": f"{result.statistics.get('dispensings abroad', 0):,}",
        }
    )
    if result.created:
        created = ", ".join(
            f"{CREATED_LABELS[what]} {count}" for what, count in sorted(result.created.items())
        )
        write(_("  Created: %(created)s.") % {"created": created})


def summary(result: Result) -> str:
    """One line for the run's summary and its audit event."""
    dispensings = result.rows.get(DISPENSINGS, 0)
    return _(
        "Wrote %(prescriptions)s prescriptions for %(persons)s persons with %(dispensings)s dispensings "
        "(%(per)s per prescription) in %(seconds)s s (%(rate)s prescriptions/s overall)."
    ) % {
        "prescriptions": f"{result.prescriptions:,}",
        "persons": f"{result.persons:,}",
        "dispensings": f"{dispensings:,}",
        "per": f"{dispensings / max(1, result.prescriptions):.2f}",
        "seconds": f"{result.seconds:.1f}",
        "rate": f"{result.prescriptions / result.seconds:,.0f}" if result.seconds else "-",
    }
