"""Bulk loading with PostgreSQL COPY, for the synthetic data generators (`manage.py seed` and the apps'
`seeding` modules). docs/operations.md ("Synthetic data") says what they write and how fast.

The pieces every generator needs, whatever its tables:

- `CopyWriter`: COPYs chunks of ready text lines from a queue in a thread of its own, so that Python
  generates the next chunk (one core) while PostgreSQL ingests the previous one (the other core).
- `bulk_load_begin` / `bulk_load_end`: when the tables a run writes are empty or nearly so (at most a tenth
  of the rows the run adds: a demo's few dozen rows), drop their secondary indexes, unique constraints and
  foreign keys, and put them back at the end in one pass each: building an index over millions of rows at
  once is several times faster than updating it row by row, and adding a foreign key back checks every row
  in one join instead of one lookup per row. The rebuild also covers the rows already there, which is why
  the path is only taken when they are few. When the tables are all empty, they are truncated in the run's
  transaction first, so that COPY FREEZE writes rows already frozen and visible.
- `reserve_id_block`: ids taken from a table's sequence before anything is written, so rows can point at
  each other (a renewal at the prescription it renews) without reading ids back.
- `uuid4_strings`: public ids as text, without a UUID object per row.

Everything runs on the command's connection inside its transaction: a failure leaves nothing behind.
"""

from __future__ import annotations

import datetime
import os
import queue
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from django.apps import apps as django_apps
from django.db import connection
from django.db.models import Index, UniqueConstraint
from tqdm import tqdm

NULL = "\\N"  # NULL in COPY text format
WRITE_BYTES = 4 << 20  # each copy.write() sends at most this much
FORBIDDEN = ("\t", "\n", "\r", "\\")


def check_copy_text(*values: str) -> None:
    """Refuse text that COPY's text format would read differently (a programming error in a generator's
    constant pools, never bad input)."""
    for value in values:
        if any(character in value for character in FORBIDDEN):
            raise ValueError(f"not safe for COPY text: {value!r}")


def uuid4_strings() -> Iterator[str]:
    """Random version-4 UUIDs as text, like str(uuid.uuid4()) (os.urandom) but without a UUID object each."""
    variant = {f"{n:x}": "89ab"[n & 3] for n in range(16)}
    while True:
        raw = os.urandom(16 * 4096).hex()
        for i in range(0, len(raw), 32):
            h = raw[i : i + 32]
            yield f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant[h[16]]}{h[17:20]}-{h[20:]}"


def minute_stamps(first_day: datetime.date, days: int) -> tuple[list[str], list[str]]:
    """Ready COPY text for timestamps counted in minutes from midnight UTC of `first_day`.

    Returns (day texts, minute-of-day texts): the timestamp of minute m is
    f"{days[m // 1440]} {minutes[m % 1440]}". Two list lookups instead of a datetime object per value.
    """
    day_texts = [(first_day + datetime.timedelta(days=n)).isoformat() for n in range(days)]
    minute_texts = [f"{m // 60:02d}:{m % 60:02d}:00+00" for m in range(1440)]
    return day_texts, minute_texts


@dataclass
class SeedRun:
    """What `manage.py seed` hands an app's seeding module along with its plan."""

    show: bool  # progress bars on stderr
    keep_indexes: bool  # append with every index in place even into empty or nearly empty tables

    def progress(self, description: str, total: int, *, unit: str = " rows") -> tqdm:
        return tqdm(total=total, desc=str(description), unit=unit, disable=not self.show, file=sys.stderr)


class ProgressBar(Protocol):
    """What a generator needs of a progress bar (tqdm's interface)."""

    def update(self, n: float | None = 1) -> object: ...

    def close(self) -> None: ...


# -- writing ------------------------------------------------------------------------------------------------

# One chunk: (table, columns, lines) per table, each line ending in a newline.
Chunk = list[tuple[str, str, list[str]]]


class CopyWriter:
    """COPYs chunks from a queue in a thread of its own, on the command's connection, inside its transaction.

    The main thread does not touch the connection while the writer runs. A failed COPY stops the writer; the
    error is raised in the main thread at the next put() or at close(), and the transaction rolls back.
    """

    def __init__(self, *, frozen: set[str], on_written: Callable[[dict[str, int]], object]) -> None:
        with connection.cursor() as cursor:
            self.raw = cursor.connection
        self.frozen = frozen
        self.on_written = on_written
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.seconds: dict[str, float] = defaultdict(float)
        self.rows: dict[str, int] = defaultdict(int)
        self.thread = threading.Thread(target=self._run, name="seed-copy", daemon=True)
        self.thread.start()

    def put(self, chunk: Chunk) -> None:
        self._raise()
        # join in the producer thread: the writer thread should spend its time waiting on the server
        joined = [(table, columns, "".join(lines), len(lines)) for table, columns, lines in chunk if lines]
        while True:
            try:
                self.queue.put(joined, timeout=1)
                return
            except queue.Full:
                self._raise()

    def close(self) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while True:
            chunk = self.queue.get()
            if chunk is None:
                return
            try:
                counts = {}
                for table, columns, data, rows in chunk:
                    began = time.perf_counter()
                    freeze = " WITH (FREEZE)" if table in self.frozen else ""
                    with self.raw.cursor() as cursor:
                        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN{freeze}") as copy:
                            for start in range(0, len(data), WRITE_BYTES):
                                copy.write(data[start : start + WRITE_BYTES])
                    self.seconds[table] += time.perf_counter() - began
                    self.rows[table] += rows
                    counts[table] = rows
                self.on_written(counts)
            except BaseException as error:
                self.error = error
                # unblock a producer waiting on a full queue
                while not self.queue.empty():
                    self.queue.get_nowait()
                return


# -- bulk load: secondary indexes and foreign keys off while (nearly) empty tables fill -----------------------

# The bulk path is taken while the tables hold at most one row for every NEARLY_EMPTY_RATIO rows the run adds
# to its main table. Its rebuild covers the rows already there too, so they may add at most about a tenth to
# it; appending with every index in place costs several times as much (docs/operations.md).
NEARLY_EMPTY_RATIO = 10


@dataclass
class Schema:
    """What the fast path drops and puts back: (name, table, definition) of indexes and constraints."""

    indexes: list[tuple[str, str, str]] = field(default_factory=list)
    uniques: list[tuple[str, str, str]] = field(default_factory=list)
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def statements(self) -> int:
        return len(self.indexes) + len(self.uniques) + len(self.foreign_keys)


@dataclass
class BulkLoad:
    """The state of a bulk load: whether it applies, which tables take COPY FREEZE, what was dropped."""

    bulk: bool
    frozen: set[str] = field(default_factory=set)
    schema: Schema = field(default_factory=Schema)


def all_empty(tables: Sequence[str]) -> bool:
    return all_at_most(tables, 0)


def all_at_most(tables: Sequence[str], rows: int) -> bool:
    """Whether every one of `tables` holds at most `rows` rows. Reads at most rows + 1 of each, never counts
    a big table through."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) s",  # noqa: S608 - a catalog name
                [rows + 1],
            )
            if cursor.fetchone()[0] > rows:
                return False
    return True


def referencing_tables(tables: Sequence[str]) -> list[str]:
    """Tables with a foreign key into one of `tables` (TRUNCATE needs them in the same statement)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT conrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = ANY(%s::regclass[])",
            [list(tables)],
        )
        return sorted(row[0] for row in cursor.fetchall())


def lock_tables(tables: Sequence[str]) -> None:
    """Keep other writers out of the tables until commit (the reserved id blocks rely on it)."""
    with connection.cursor() as cursor:
        # Check the rows this transaction wrote so far now, and each COPY's rows at its end rather than all at
        # commit: ALTER TABLE refuses to run with checks still pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE")


def bulk_load_begin(
    tables: Sequence[str], *, allowed: bool, adding: int, also_truncate: Sequence[str] = ()
) -> BulkLoad:
    """Prepare `tables` for a bulk load when `allowed` and they are all empty or nearly so: none holds more
    than a tenth (NEARLY_EMPTY_RATIO) of the `adding` rows the run adds to its main table. Else leave them as
    they are, and the run appends with every index in place.

    Call after lock_tables(). COPY FREEZE needs the tables truncated in this transaction, so they are
    truncated, and written frozen, only when they are all empty (truncating them then changes nothing):
    `tables`, the other tables the run writes that should be frozen too (`also_truncate`, which keep their
    indexes), and the tables referencing any of them. A table with rows among them, even a few, leaves every
    row written unfrozen.
    """
    if not allowed or not all_at_most(tables, adding // NEARLY_EMPTY_RATIO):
        return BulkLoad(bulk=False)
    frozen: set[str] = set()
    written = set(tables) | set(also_truncate)
    truncate = sorted(written | set(referencing_tables(sorted(written))))
    if all_empty(truncate):
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(truncate)}")
        frozen = set(truncate)
    return BulkLoad(bulk=True, frozen=frozen, schema=drop_secondary_schema(tables))


def bulk_load_end(load: BulkLoad, on_step: Callable[[str, float], object]) -> None:
    if load.bulk:
        restore_secondary_schema(load.schema, on_step)


def drop_secondary_schema(tables: Sequence[str]) -> Schema:
    """Drop the tables' foreign keys, unique constraints and other non-primary indexes; return them."""
    schema = Schema()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid), contype FROM pg_constraint "
            "WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u') ORDER BY conrelid, conname",
            [list(tables)],
        )
        for name, table, definition, kind in cursor.fetchall():
            (schema.foreign_keys if kind == "f" else schema.uniques).append((name, table, definition))
        cursor.execute(
            "SELECT c.relname, i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary AND NOT EXISTS ("
            "  SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid"
            "  AND k.contype IN ('p', 'u', 'x')) ORDER BY i.indrelid, c.relname",
            [list(tables)],
        )
        schema.indexes = list(cursor.fetchall())
        for name, table, _definition in schema.foreign_keys + schema.uniques:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _table, _definition in schema.indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    return schema


def restore_secondary_schema(schema: Schema, on_step: Callable[[str, float], object]) -> None:
    """Rebuild what drop_secondary_schema dropped: indexes and unique constraints, then the foreign keys."""
    with connection.cursor() as cursor:
        # Sorting is most of an index build: give it memory (this transaction only).
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        for name, table, definition in schema.indexes:
            began = time.perf_counter()
            cursor.execute(model_index_sql(table, name) or definition)
            on_step(table, time.perf_counter() - began)
        for name, table, definition in schema.uniques:
            began = time.perf_counter()
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            on_step(table, time.perf_counter() - began)
        for name, table, definition in schema.foreign_keys:
            began = time.perf_counter()
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            on_step(table, time.perf_counter() - began)


def model_index_sql(table: str, name: str) -> str | None:
    """The CREATE INDEX that migrations ran for a model's Meta index or conditional unique constraint of this
    name, or None for any other index.

    Running pg_get_indexdef's text again gives an equivalent index, but a partial index's predicate comes back
    spelled differently (`status IN (...)` as an array of casts), so the schema would no longer read as the
    migrations left it. Django's own statement puts it back exactly.
    """
    for model in django_apps.get_models():
        if model._meta.db_table != table:
            continue
        for item in [*model._meta.indexes, *model._meta.constraints]:
            if item.name == name and isinstance(item, Index | UniqueConstraint):
                editor = connection.schema_editor(collect_sql=True)
                return str(item.create_sql(model, editor))
    return None


# -- reserving ids ------------------------------------------------------------------------------------------


def reserve_id_block(table: str, count: int) -> int:
    """The first of `count` consecutive ids taken from the table's sequence.

    The caller holds a lock that keeps other writers of the table out (inserts take ROW EXCLUSIVE before
    they draw an id), so nothing can draw from the sequence between nextval and setval.
    """
    if count == 0:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s::regclass)", [sequence])
        first = cursor.fetchone()[0]
        cursor.execute("SELECT setval(%s::regclass, %s)", [sequence, first + count - 1])
    return first
