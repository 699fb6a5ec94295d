"""Synthetic national-scale data: persons and their care relationships, written with PostgreSQL COPY.

See docs/operations.md ("Synthetic data") for what it writes and how fast. Everything is written in one
transaction: a failed or interrupted run leaves nothing behind, so the next run starts from the same offset.

Apps above kanta add their own data through a `seeding` module (prescriptions/seeding.py), found by name
like `demo_content`: it adds its options (`add_arguments`), checks them before anything is written
(`plan`), writes in this command's transaction after the persons and documents (`seed`) and describes what
it wrote (`report`, `summary`).
"""

from __future__ import annotations

import datetime
import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import module_has_submodule
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tqdm import tqdm

from kanta import audit, bulkload
from kanta.identity_code import check_character
from kanta.models import (
    AuditCategory,
    CareReason,
    CareRelationship,
    DataType,
    Organisation,
    OrganisationKind,
    Person,
    Register,
    RegisterKind,
    Unit,
)

# -- identity codes -----------------------------------------------------------------------------------------
# Synthetic persons get temporary codes (individual number 900-999) with the century signs introduced in
# 2023, which demo data (- and A) and real persons born before 2023 never carry. The n-th synthetic person
# always gets the same code: the birth date varies fastest, then the individual number, then the sign. The
# dates are a fixed range (not relative to today, so the numbering stays the same from one day to the next)
# walked with a golden-ratio stride coprime to its length: every date once per individual number, and any
# run, however small, covers all ages.
SIGNS_1900 = "YXWVU"
SIGNS_2000 = "BCDEF"
FIRST_BIRTH_DATE = datetime.date(1925, 1, 1)
LAST_BIRTH_DATE = datetime.date(2024, 12, 31)
BIRTH_DAYS = (LAST_BIRTH_DATE - FIRST_BIRTH_DATE).days + 1
INDIVIDUAL_NUMBERS = range(900, 1000)
CAPACITY = BIRTH_DAYS * len(INDIVIDUAL_NUMBERS) * len(SIGNS_1900)
BIRTH_DAY_STRIDE = 22_573  # about 0.618 * BIRTH_DAYS; shares no factor with 36525 = 3 * 5 * 5 * 487

# -- names and languages ------------------------------------------------------------------------------------
FINNISH_FEMALE = ["Aino", "Helmi", "Aada", "Eevi", "Sofia", "Emma", "Ella", "Venla", "Maria", "Anna", "Liisa",
                  "Kaarina", "Johanna", "Sanna", "Tuula", "Leena", "Marjatta", "Hannele", "Elina", "Kerttu"]  # fmt: skip
FINNISH_MALE = ["Eino", "Väinö", "Onni", "Leo", "Elias", "Juhani", "Mikael", "Olavi", "Antero", "Matti", "Jukka",
                "Timo", "Kari", "Ilmari", "Veikko", "Lauri", "Aleksi", "Tapani", "Pekka", "Eero"]  # fmt: skip
SWEDISH_FEMALE = ["Ebba", "Elsa", "Ingrid", "Astrid", "Linnéa", "Saga", "Stina", "Karin", "Maja", "Alva",
                  "Agnes", "Sigrid"]  # fmt: skip
SWEDISH_MALE = ["Axel", "Gustav", "Erik", "Oskar", "Nils", "Johan", "Anton", "Emil", "Ludvig", "Hugo", "Carl",
                "Henrik"]  # fmt: skip
FINNISH_LAST = ["Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen",
                "Koskinen", "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Heinonen", "Niemi",
                "Heikkilä", "Kinnunen", "Salonen", "Turunen"]  # fmt: skip
SWEDISH_LAST = ["Lindqvist", "Nyström", "Johansson", "Lindholm", "Karlsson", "Andersson", "Eriksson", "Lindström",
                "Nylund", "Sjöberg", "Holmström", "Forsman", "Backman", "Blomqvist", "Grönroos"]  # fmt: skip
# Mostly Finnish, some Swedish, a few English speakers (roughly the population register's shares).
LANGUAGES = ["fi", "sv", "en"]
LANGUAGE_WEIGHTS = [90, 6, 4]

CARE_REASONS = [CareReason.APPOINTMENT, CareReason.ONGOING, CareReason.REFERRAL, CareReason.SOCIAL_SERVICE]
CARE_REASON_WEIGHTS = [55, 25, 15, 5]

PERSON_COLUMNS = "id, public_id, identity_code, birth_date, sex, first_names, last_name, preferred_language, non_disclosure"  # fmt: skip
CARE_COLUMNS = "public_id, unit_id, person_id, reason, starts_at, ends_at"
RESERVING, COPY_PERSONS, COPY_CARE, DOCUMENTS, COMMIT, ANALYZE = (
    "ids",
    "persons",
    "care",
    "documents",
    "commit",
    "analyze",
)
PHASE_LABELS = {
    RESERVING: gettext_lazy("reserving person ids"),
    COPY_PERSONS: gettext_lazy("COPY into kanta_person"),
    COPY_CARE: gettext_lazy("COPY into kanta_carerelationship"),
    DOCUMENTS: gettext_lazy("documents, entries and declarations"),
    COMMIT: gettext_lazy("commit (deferred foreign-key checks)"),
    ANALYZE: "ANALYZE",
}
# Serialises seed runs: two at once would count the same offset and collide on identity codes.
SEED_LOCK = 0x5345454421


class Command(BaseCommand):
    # argparse needs plain strings: command help stays in English, like Django's own commands.
    help = (
        "Write synthetic persons (valid temporary identity codes) and their care relationships, and "
        "documents with their service events, structured entries, consents and prohibitions, with PostgreSQL "
        "COPY, appending to what earlier runs wrote. One million persons with one care relationship each "
        "took 1 to 2 minutes on two cores; ten million documents over 100,000 persons under 15 minutes "
        "(docs/operations.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--persons", type=int, default=1000, help="Persons to add (default 1000; 0 with documents)."
        )
        parser.add_argument(
            "--care-relationships-per-person",
            type=float,
            default=1.0,
            help="Care relationships per person on average, may be fractional (default 1.0).",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=20_000,
            help="Rows per COPY chunk of persons and care relationships (default 20000).",
        )
        documents = parser.add_mutually_exclusive_group()
        documents.add_argument(
            "--documents-per-person",
            type=float,
            help="Documents per person on average (each between half and 1.5 times it), may be fractional.",
        )
        documents.add_argument("--documents", type=int, help="Documents to write in all.")
        parser.add_argument(
            "--persons-for-documents",
            type=int,
            help=(
                "How many synthetic persons without documents get them, newest first (default: the persons "
                "this run adds)."
            ),
        )
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help=(
                "Write documents (and what the apps' seeding modules write) with every index and foreign key "
                "in place even into empty or nearly empty tables (slower; for comparison)."
            ),
        )
        for module in seeding_modules():
            module.add_arguments(parser)

    def handle(
        self,
        *args,
        persons: int,
        care_relationships_per_person: float,
        batch: int,
        documents_per_person: float | None,
        documents: int | None,
        persons_for_documents: int | None,
        keep_indexes: bool,
        **options,
    ):
        if connection.vendor != "postgresql":
            raise CommandError(
                _(
                    "seed writes with PostgreSQL COPY, but the database is %(vendor)s. Point DATABASE_URL at "
                    "a PostgreSQL database."
                )
                % {"vendor": connection.vendor}
            )
        wants_documents = documents is not None or documents_per_person is not None
        app_plans = [
            (module, app_plan)
            for module in seeding_modules()
            if (app_plan := module.plan(options, persons_added=max(persons, 0))) is not None
        ]
        if persons < 0 or (persons == 0 and not wants_documents and not app_plans):
            raise CommandError(_("--persons must be at least 1, not %(value)s.") % {"value": persons})
        if not math.isfinite(care_relationships_per_person) or care_relationships_per_person < 0:
            raise CommandError(
                _("--care-relationships-per-person must be 0 or more, not %(value)s.")
                % {"value": care_relationships_per_person}
            )
        if batch < 1:
            raise CommandError(_("--batch must be at least 1, not %(value)s.") % {"value": batch})
        document_plan = self._document_plan(
            persons=persons,
            documents_per_person=documents_per_person,
            documents=documents,
            persons_for_documents=persons_for_documents,
        )
        relationships = round(persons * care_relationships_per_person)
        show = options["verbosity"] >= 1

        timer = PhaseTimer()
        result = None
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEED_LOCK])
            taken = codes_in_synthetic_range()
            offset = len(taken)
            if offset + persons > CAPACITY:
                raise CommandError(
                    _(
                        "There are synthetic identity codes for %(capacity)s persons; %(seeded)s are used, "
                        "so at most %(left)s more can be added."
                    )
                    % {"capacity": CAPACITY, "seeded": offset, "left": CAPACITY - offset}
                )
            units = care_unit_ids()
            if not units:
                units = create_synthetic_units()
                self.stdout.write(
                    _("No care units yet: created %(count)s synthetic units in wellbeing services counties.")
                    % {"count": len(units)}
                )
            rng = random.Random(offset)  # the same names and dates for the same offset

            if persons:
                with timer.phase(RESERVING):
                    person_ids = reserve_ids(Person, persons)
                with timer.phase(COPY_PERSONS), progress_bar("kanta_person", persons, show) as bar:
                    copy_rows(
                        Person,
                        PERSON_COLUMNS,
                        person_lines(person_ids, offset, rng, taken),
                        batch,
                        bar.update,
                    )
                with (
                    timer.phase(COPY_CARE),
                    progress_bar("kanta_carerelationship", relationships, show) as bar,
                ):
                    lines = care_relationship_lines(person_ids, units, relationships, rng)
                    copy_rows(CareRelationship, CARE_COLUMNS, lines, batch, bar.update)
            if document_plan is not None:
                with timer.phase(DOCUMENTS):
                    result = self._seed_documents(*document_plan, keep_indexes=keep_indexes, show=show)
            app_results = []
            for module, app_plan in app_plans:
                with timer.phase(module.__name__):
                    run = bulkload.SeedRun(show=show, keep_indexes=keep_indexes)
                    app_results.append((module, module.seed(app_plan, run=run)))

            reason = f"{persons} synthetic persons, {relationships} care relationships"
            if result is not None:
                reason += f", {result.documents} documents for {result.persons} persons"
            for module, app_result in app_results:
                reason += f"; {module.summary(app_result)}"
            audit.record(
                actor=audit.Actor(),
                action="synthetic_data.seed",
                category=AuditCategory.CHANGE,
                data_type=DataType.IDENTITY,
                object_type="person",
                reason_text=reason,
            )
            # The foreign keys are deferred: the commit is where the keys of every row written are checked
            # (rows the document phase wrote were already checked when their COPY ended).
            timer.start(COMMIT)
        timer.stop()
        with timer.phase(ANALYZE), connection.cursor() as cursor:
            # Fresh statistics, so the planner uses the indexes on tables that just grew by millions of rows.
            tables = [Person._meta.db_table, CareRelationship._meta.db_table]
            if result is not None:
                tables += result.tables
            for _module, app_result in app_results:
                tables += app_result.tables
            cursor.execute(f"ANALYZE {', '.join(tables)}")

        if options["verbosity"] >= 2:
            for name, seconds in timer.phases.items():
                self.stdout.write(
                    _("  %(phase)s: %(seconds)s s")
                    % {"phase": PHASE_LABELS.get(name, name), "seconds": f"{seconds:.1f}"}
                )
        if persons:
            person_seconds = timer.phases[RESERVING] + timer.phases[COPY_PERSONS]
            care_seconds = timer.phases[COPY_CARE]
            self.stdout.write(
                self.style.SUCCESS(
                    _(
                        "Wrote %(persons)s rows to kanta_person (%(person_rate)s rows/s) and %(relationships)s "
                        "rows to kanta_carerelationship (%(care_rate)s rows/s)."
                    )
                    % {
                        "persons": f"{persons:,}",
                        "person_rate": f"{persons / person_seconds:,.0f}",
                        "relationships": f"{relationships:,}",
                        "care_rate": f"{relationships / care_seconds:,.0f}" if care_seconds else "-",
                    }
                )
            )
        if result is not None:
            self._report_documents(result, verbosity=options["verbosity"])
        for module, app_result in app_results:
            module.report(app_result, write=self.stdout.write, verbosity=options["verbosity"])
            self.stdout.write(self.style.SUCCESS(module.summary(app_result)))
        self.stdout.write(self.style.SUCCESS(_("Done in %(seconds)s s.") % {"seconds": f"{timer.total:.1f}"}))

    def _document_plan(
        self,
        *,
        persons: int,
        documents_per_person: float | None,
        documents: int | None,
        persons_for_documents: int | None,
    ) -> tuple[int, float | None, int | None] | None:
        """(persons who get documents, per person, in all), or None when the run writes no documents."""
        if documents is None and documents_per_person is None:
            if persons_for_documents is not None:
                raise CommandError(_("--persons-for-documents needs --documents or --documents-per-person."))
            return None
        if documents is not None and documents < 0:
            raise CommandError(_("--documents must be 0 or more, not %(value)s.") % {"value": documents})
        if documents_per_person is not None and (
            not math.isfinite(documents_per_person) or documents_per_person < 0
        ):
            raise CommandError(
                _("--documents-per-person must be 0 or more, not %(value)s.")
                % {"value": documents_per_person}
            )
        if persons_for_documents is None:
            if persons == 0:
                raise CommandError(
                    _("With --persons 0, say with --persons-for-documents how many persons get documents.")
                )
            persons_for_documents = persons
        if persons_for_documents < 1:
            raise CommandError(
                _("--persons-for-documents must be at least 1, not %(value)s.")
                % {"value": persons_for_documents}
            )
        return persons_for_documents, documents_per_person, documents

    def _seed_documents(
        self, how_many: int, per_person: float | None, total: int | None, *, keep_indexes: bool, show: bool
    ) -> DocumentsResult:
        # The apps above kanta are imported when a run asks for documents, never when kanta is imported.
        from kanta.management.commands import _seed_documents as generator

        if not Organisation.objects.filter(kind=OrganisationKind.COUNTY).exists():
            raise CommandError(
                _("Documents are placed in the registers of wellbeing services counties, and there are none.")
            )
        chosen = generator.persons_for_documents(how_many)
        if len(chosen) < how_many:
            raise CommandError(
                _(
                    "Only %(found)s synthetic persons have no documents yet, not %(wanted)s. Add persons with "
                    "--persons, or ask for fewer."
                )
                % {"found": f"{len(chosen):,}", "wanted": f"{how_many:,}"}
            )
        total = total if total is not None else round(per_person * how_many)
        rng = random.Random(chosen[0].id)  # the same documents for the same persons
        began = time.perf_counter()
        with progress_bar("archive_document", total, show) as bar:  # closed when the rows are written
            result = generator.seed_documents(
                persons=chosen,
                total=total,
                rng=rng,
                bulk_allowed=not keep_indexes,
                progress=bar,
                rebuild_progress=lambda steps: tqdm(
                    total=steps, desc=str(_("indexes and foreign keys")), disable=not show, file=sys.stderr
                ),
                uuids=bulkload.uuid4_strings(),
            )
        return DocumentsResult(
            result=result,
            documents=total,
            persons=len(chosen),
            seconds=time.perf_counter() - began,
            tables=[model._meta.db_table for model, _columns in generator.TABLES],
        )

    def _report_documents(self, documents: DocumentsResult, *, verbosity: int) -> None:
        result = documents.result
        for table, rows in result.rows.items():
            seconds = result.copy_seconds.get(table, 0.0)
            self.stdout.write(
                _("  %(table)s: %(rows)s rows, COPY %(rate)s rows/s")
                % {"table": table, "rows": f"{rows:,}", "rate": f"{rows / seconds:,.0f}" if seconds else "-"}
            )
        self.stdout.write(
            _("Generated and written in %(seconds)s s.") % {"seconds": f"{result.write_seconds:.1f}"}
        )
        if result.bulk and verbosity >= 2:
            for table, seconds in result.rebuild_seconds.items():
                self.stdout.write(
                    _("  %(table)s: indexes and foreign keys rebuilt in %(seconds)s s")
                    % {"table": table, "seconds": f"{seconds:.1f}"}
                )
        if result.bulk:
            self.stdout.write(
                _(
                    "The archive tables were empty or nearly so: written without secondary indexes and "
                    "foreign keys (rows frozen: %(frozen)s), which were then rebuilt in %(seconds)s s."
                )
                % {
                    "frozen": _("yes") if result.frozen else _("no"),
                    "seconds": f"{sum(result.rebuild_seconds.values()):.1f}",
                }
            )
        entries = sum(result.rows.get(table, 0) for table in ENTRY_TABLES)
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Wrote %(documents)s rows to archive_document for %(persons)s persons, with %(events)s "
                    "service events and %(entries)s structured entries, in %(seconds)s s "
                    "(%(rate)s documents/s overall)."
                )
                % {
                    "documents": f"{documents.documents:,}",
                    "persons": f"{documents.persons:,}",
                    "events": f"{result.rows.get('archive_serviceevent', 0):,}",
                    "entries": f"{entries:,}",
                    "seconds": f"{documents.seconds:.1f}",
                    "rate": f"{documents.documents / documents.seconds:,.0f}" if documents.seconds else "-",
                }
            )
        )


ENTRY_TABLES = (
    "archive_diagnosis",
    "archive_riskinformation",
    "archive_procedure",
    "archive_measurement",
    "archive_vaccination",
    "archive_labresult",
    "archive_imagingstudy",
)


@dataclass
class DocumentsResult:
    result: Any  # _seed_documents.Result (that module is imported only when documents are written)
    documents: int
    persons: int
    seconds: float
    tables: list[str]


class PhaseTimer:
    """Wall-clock seconds per phase of a run, for the summary line and `-v 2`."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.phases: dict[str, float] = {}
        self._current: tuple[str, float] | None = None

    def start(self, name: str) -> None:
        self._current = (name, time.perf_counter())

    def stop(self) -> None:
        name, began = self._current or ("", self.started)
        self.phases[name] = time.perf_counter() - began
        self._current = None

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.start(name)
        yield
        self.stop()

    @property
    def total(self) -> float:
        return time.perf_counter() - self.started


def seeding_modules() -> list[ModuleType]:
    """The `seeding` modules of the installed apps, in INSTALLED_APPS order."""
    return [
        import_module(f"{config.name}.seeding")
        for config in apps.get_app_configs()
        if module_has_submodule(config.module, "seeding")
    ]


def progress_bar(table: str, total: int, show: bool) -> tqdm:
    return tqdm(total=total, desc=table, unit=" rows", disable=not show, file=sys.stderr)


def codes_in_synthetic_range() -> set[str]:
    """The identity codes already in the synthetic range: those earlier runs wrote, and the few others there
    (demo data uses the population register's published test codes, some of which carry the new signs).
    Their number is where this run's numbering starts; the codes themselves are skipped."""
    signs = list(SIGNS_1900 + SIGNS_2000)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT identity_code FROM {Person._meta.db_table} "  # noqa: S608 - our table name
            "WHERE substr(identity_code, 7, 1) = ANY(%s) AND substr(identity_code, 8, 3) >= '900'",
            [signs],
        )
        return {row[0] for row in cursor.fetchall()}


def synthetic_identity_codes(offset: int, taken: Set[str] = frozenset()) -> Iterator[tuple[str, str, str]]:
    """(identity code, birth date, sex) of the synthetic persons from `offset` on, skipping `taken` codes."""
    days = []
    for n in range(BIRTH_DAYS):
        born = FIRST_BIRTH_DATE + datetime.timedelta(days=n)
        days.append((f"{born:%d%m%y}", born.isoformat(), SIGNS_1900 if born.year < 2000 else SIGNS_2000))
    index = offset
    while index < CAPACITY:
        slot, day = divmod(index, BIRTH_DAYS)
        sign_index, number_index = divmod(slot, len(INDIVIDUAL_NUMBERS))
        ddmmyy, born, signs = days[day * BIRTH_DAY_STRIDE % BIRTH_DAYS]
        number = f"{INDIVIDUAL_NUMBERS[number_index]:03d}"
        code = f"{ddmmyy}{signs[sign_index]}{number}{check_character(ddmmyy + number)}"
        index += 1
        if code not in taken:
            yield code, born, "male" if INDIVIDUAL_NUMBERS[number_index] % 2 else "female"


def person_lines(ids: Sequence[int], offset: int, rng: random.Random, taken: Set[str]) -> Iterator[str]:
    codes = synthetic_identity_codes(offset, taken)
    uuids = bulkload.uuid4_strings()
    names = {
        ("fi", "female"): (FINNISH_FEMALE, FINNISH_LAST),
        ("fi", "male"): (FINNISH_MALE, FINNISH_LAST),
        ("sv", "female"): (SWEDISH_FEMALE, SWEDISH_LAST),
        ("sv", "male"): (SWEDISH_MALE, SWEDISH_LAST),
        ("en", "female"): (FINNISH_FEMALE + SWEDISH_FEMALE, FINNISH_LAST + SWEDISH_LAST),
        ("en", "male"): (FINNISH_MALE + SWEDISH_MALE, FINNISH_LAST + SWEDISH_LAST),
    }
    languages = rng.choices(LANGUAGES, LANGUAGE_WEIGHTS, k=len(ids))
    choice, random_ = rng.choice, rng.random
    for person_id, language, (code, born, sex), public_id in zip(ids, languages, codes, uuids, strict=False):
        given, last = names[language, sex]
        first_names = choice(given) if random_() < 0.3 else f"{choice(given)} {choice(given)}"
        yield f"{person_id}\t{public_id}\t{code}\t{born}\t{sex}\t{first_names}\t{choice(last)}\t{language}\tf\n"


def care_relationship_lines(
    person_ids: Sequence[int], unit_ids: Sequence[int], count: int, rng: random.Random
) -> Iterator[str]:
    """`count` relationships spread evenly over the persons, each starting within the last year."""
    now = int(timezone.now().timestamp())
    year = 365 * 24 * 3600
    period = settings.CARE_RELATIONSHIP_DAYS * 24 * 3600
    persons = len(person_ids)
    reasons = rng.choices(CARE_REASONS, CARE_REASON_WEIGHTS, k=count)
    uuids = bulkload.uuid4_strings()
    utc = datetime.UTC
    for i, reason, public_id in zip(range(count), reasons, uuids, strict=False):
        starts = now - rng.randrange(year)
        starts_at = datetime.datetime.fromtimestamp(starts, utc).isoformat()
        ends_at = datetime.datetime.fromtimestamp(starts + period, utc).isoformat()
        person_id = person_ids[i * persons // count]
        yield f"{public_id}\t{rng.choice(unit_ids)}\t{person_id}\t{reason}\t{starts_at}\t{ends_at}\n"


def reserve_ids(model, count: int) -> list[int]:
    """Take `count` ids from the table's sequence, so the rows' ids are known without reading them back.

    One nextval per id rather than bulkload.reserve_id_block's single block: a block needs the table locked
    against other writers until the commit, and the run does not lock the persons table, which it keeps
    open for minutes while it writes documents and prescriptions."""
    with connection.cursor() as cursor:
        # Look the sequence up once: inside the query it would be looked up for every row, ten times slower.
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
        return [row[0] for row in cursor.fetchall()]


def copy_rows(
    model, columns: str, lines: Iterator[str], batch: int, on_chunk: Callable[[int], object]
) -> None:
    """COPY the text lines into the model's table, `batch` lines per write."""
    table = model._meta.db_table
    with connection.cursor() as cursor, cursor.connection.cursor() as raw:
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            chunk: list[str] = []
            for line in lines:
                chunk.append(line)
                if len(chunk) == batch:
                    copy.write("".join(chunk))
                    on_chunk(len(chunk))
                    chunk = []
            if chunk:
                copy.write("".join(chunk))
                on_chunk(len(chunk))


def care_unit_ids() -> list[int]:
    """Units that have care relationships: not pharmacies' or outside recipients'."""
    return list(
        Unit.objects.exclude(
            organisation__kind__in=[OrganisationKind.PHARMACY, OrganisationKind.RECIPIENT]
        ).values_list("id", flat=True)
    )


def create_synthetic_units(counties: int = 5, units_per_county: int = 4) -> list[int]:
    """A few synthetic wellbeing services counties with their registers and units, for an empty database.

    The OIDs sit on a made-up arc (1.2.246.10.77...) that no real organisation and no demo data uses.
    """
    unit_ids = []
    for n in range(1, counties + 1):
        county = Organisation.objects.create(
            oid=f"1.2.246.10.77{n:06d}",
            name_fi=f"Synteettinen hyvinvointialue {n}",
            name_sv=f"Syntetiskt välfärdsområde {n}",
            kind=OrganisationKind.COUNTY,
        )
        Register.objects.bulk_create(
            Register(controller=county, kind=kind)
            for kind in (RegisterKind.HEALTH_CARE, RegisterKind.SOCIAL_WELFARE)
        )
        for m in range(1, units_per_county + 1):
            unit = Unit.objects.create(
                organisation=county,
                oid=f"1.2.246.10.77{n:06d}.10.{m}",
                name_fi=f"Synteettinen terveysasema {n}.{m}",
                name_sv=f"Syntetisk hälsostation {n}.{m}",
            )
            unit_ids.append(unit.pk)
    return unit_ids
