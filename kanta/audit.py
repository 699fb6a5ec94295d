"""The audit log: one helper writes every event; a periodic job seals events into a hash chain.

`record()` is the only way events are written (`record_all()` writes several built with `event_for()` in one
INSERT). It must run inside the caller's transaction so that the event and the change (or the read) it
describes commit or roll back together.

Sealing: each new event gets a chain link, hash(previous link, canonical form of the event); each seal
covers the chain head, the previous seal, its event count and its time. `verify()` recomputes both and
names the first event or seal that no longer matches. See docs/audit.md.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kanta.models import (
    AuditCategory,
    AuditChainLink,
    AuditEvent,
    AuditOutcome,
    AuditSeal,
    Organisation,
    Person,
    Professional,
    Unit,
    User,
)

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
# Events are sealed in batches; a batch larger than this is left for the next run.
SEAL_BATCH = 50_000
# Look back this many ids behind the newest link for events whose transaction committed late.
LATE_COMMIT_WINDOW = 10_000


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where."""

    user: User | None = None
    professional: Professional | None = None
    unit: Unit | None = None
    client_address: str | None = None
    user_agent: str = ""

    @property
    def organisation(self) -> Organisation | None:
        return self.unit.organisation if self.unit else None

    @classmethod
    def from_request(
        cls, request, *, professional: Professional | None = None, unit: Unit | None = None
    ) -> Actor:
        user = request.user if request.user.is_authenticated else None
        return cls(
            user=user,
            professional=professional,
            unit=unit,
            client_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )


def record(**fields) -> AuditEvent:
    """Write one audit event (the arguments of `event_for`). Call it inside the transaction of what it
    describes."""
    event = event_for(**fields)
    event.save(force_insert=True)
    return event


def record_all(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Write events built with `event_for` in one INSERT, in their order. Call it inside the transaction of
    what they describe, as `record`."""
    events = list(events)
    return AuditEvent.objects.bulk_create(events) if events else []


def event_for(
    *,
    actor: Actor,
    action: str,
    category: str,
    outcome: str = AuditOutcome.ALLOWED,
    person: Person | None = None,
    data_type: str = "",
    object_type: str = "",
    object_ids: Iterable[object] = (),
    purpose: str = "",
    legal_basis: str = "",
    reason_text: str = "",
) -> AuditEvent:
    """The event `record` would write, not yet saved: for `record_all`."""
    return AuditEvent(
        user=actor.user,
        professional=actor.professional,
        organisation=actor.organisation,
        unit=actor.unit,
        person=person,
        action=action,
        category=category,
        outcome=outcome,
        data_type=data_type,
        object_type=object_type,
        object_ids=[str(i) for i in object_ids],
        purpose=purpose,
        legal_basis=legal_basis,
        reason_text=reason_text,
        client_address=actor.client_address,
        user_agent=actor.user_agent,
    )


def record_per_person(
    *,
    actor: Actor,
    reads: Iterable[tuple[Person, Iterable[object]]],
    action: str,
    category: str,
    data_type: str,
    object_type: str,
    legal_basis: str,
    purpose: str = "",
) -> list[AuditEvent]:
    """One event per person for a list that shows several people (e.g. a unit's queue), in one INSERT."""
    return record_all(
        event_for(
            actor=actor,
            person=person,
            action=action,
            category=category,
            data_type=data_type,
            object_type=object_type,
            object_ids=object_ids,
            purpose=purpose,
            legal_basis=legal_basis,
        )
        for person, object_ids in reads
    )


def record_refusal(
    *, actor: Actor, action: str, person: Person | None, data_type: str = "", **extra
) -> AuditEvent:
    """Write a refused access in its own transaction, so it survives the refusal's rollback."""
    with transaction.atomic():
        return record(
            actor=actor,
            action=action,
            category=AuditCategory.ACCESS,
            outcome=AuditOutcome.REFUSED,
            person=person,
            data_type=data_type,
            **extra,
        )


# -- sealing -----------------------------------------------------------------------------------------------

_CANONICAL_FIELDS = [
    "id",
    "occurred_at",
    "user_id",
    "professional_id",
    "organisation_id",
    "unit_id",
    "person_id",
    "action",
    "category",
    "data_type",
    "object_type",
    "object_ids",
    "purpose",
    "legal_basis",
    "reason_text",
    "outcome",
    "client_address",
    "user_agent",
]


def canonical(event: dict) -> bytes:
    """A stable byte form of an event's values, independent of the database backend."""
    values = dict(event)
    values["occurred_at"] = values["occurred_at"].astimezone(datetime.UTC).isoformat()
    return json.dumps([values[f] for f in _CANONICAL_FIELDS], separators=(",", ":"), default=str).encode()


def _link(previous: str, event: dict) -> str:
    return hashlib.sha256(previous.encode() + canonical(event)).hexdigest()


def _seal_hash(
    previous_seal_hash: str,
    last_position: int,
    chain_hash: str,
    event_count: int,
    sealed_at: datetime.datetime,
) -> str:
    # Every column of the seal row is covered, so no part of it can be edited unnoticed.
    sealed = sealed_at.astimezone(datetime.UTC).isoformat()
    return hashlib.sha256(
        f"{previous_seal_hash}|{last_position}|{chain_hash}|{event_count}|{sealed}".encode()
    ).hexdigest()


def seal() -> AuditSeal | None:
    """Chain the events not yet sealed and write a seal over them. Safe to run concurrently."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # One sealer at a time; a second one waits and then finds nothing left to do.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x4B414E5441])
        head = AuditChainLink.objects.order_by("-position").first()
        previous_link = head.chain_hash if head else GENESIS
        newest_sealed_id = (
            AuditChainLink.objects.order_by("-event_id").values_list("event_id", flat=True).first() or 0
        )
        unsealed = (
            AuditEvent.objects.filter(id__gt=newest_sealed_id - LATE_COMMIT_WINDOW)
            .exclude(
                id__in=AuditChainLink.objects.filter(
                    event_id__gt=newest_sealed_id - LATE_COMMIT_WINDOW
                ).values("event_id")
            )
            .order_by("id")
            .values(*_CANONICAL_FIELDS)[:SEAL_BATCH]
        )
        links: list[tuple[int, str]] = []
        for event in unsealed:
            previous_link = _link(previous_link, event)
            links.append((event["id"], previous_link))
        if not links:
            return None
        last_position = _write_links(links)
        previous_seal = AuditSeal.objects.order_by("-id").first()
        previous_seal_hash = previous_seal.seal_hash if previous_seal else GENESIS
        sealed_at = timezone.now()
        new_seal = AuditSeal.objects.create(
            sealed_at=sealed_at,
            last_position=last_position,
            event_count=len(links),
            chain_hash=previous_link,
            previous_seal_hash=previous_seal_hash,
            seal_hash=_seal_hash(previous_seal_hash, last_position, previous_link, len(links), sealed_at),
        )
        # The log line is the outside witness: whoever can rewrite the tables can recompute every hash in
        # them, but not the seal hashes already shipped to the log store (docs/audit.md). Logged only once
        # committed, so a rolled-back seal never appears there.
        transaction.on_commit(
            lambda: logger.info(
                "audit seal %s: %s events up to chain position %s, seal hash %s",
                new_seal.pk,
                new_seal.event_count,
                new_seal.last_position,
                new_seal.seal_hash,
            )
        )
    return new_seal


def _write_links(links: list[tuple[int, str]]) -> int:
    """Append the chain links in order; returns the position of the last one."""
    if connection.vendor == "postgresql":
        # COPY: writing the links with bulk INSERTs took about as long as reading and hashing the events.
        table = AuditChainLink._meta.db_table
        with connection.cursor() as cursor, cursor.connection.cursor() as raw:
            with raw.copy(f"COPY {table} (event_id, chain_hash) FROM STDIN") as copy:
                for start in range(0, len(links), 10_000):
                    copy.write(
                        "".join(
                            f"{event_id}\t{chain_hash}\n"
                            for event_id, chain_hash in links[start : start + 10_000]
                        )
                    )
    else:
        AuditChainLink.objects.bulk_create(
            [AuditChainLink(event_id=event_id, chain_hash=chain_hash) for event_id, chain_hash in links],
            batch_size=5000,
        )
    # Sealers run one at a time (the advisory lock, or SQLite's write lock), so the newest position is the
    # last link just written.
    return AuditChainLink.objects.order_by("-position").values_list("position", flat=True).first()


@dataclass(frozen=True)
class Mismatch:
    kind: str  # "event" or "seal"
    ident: int
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.ident}: {self.detail}"


@dataclass(frozen=True)
class Verification:
    """What `verify_log()` checked: the sealed events and seals, and the first mismatch if there is one."""

    events: int
    seals: int
    unsealed_events: int
    latest_seal: AuditSeal | None
    mismatch: Mismatch | None

    @property
    def intact(self) -> bool:
        return self.mismatch is None


def _links_with_events(chunk: int = 5000) -> Iterator[tuple[Any, dict | None]]:
    """The chain links in order (rows with position, event_id, chain_hash), each with its event's values."""
    after = 0
    while True:
        links = list(
            AuditChainLink.objects.filter(position__gt=after)
            .order_by("position")
            .values_list("position", "event_id", "chain_hash", named=True)[:chunk]
        )
        if not links:
            return
        events = {
            e["id"]: e
            for e in AuditEvent.objects.filter(id__in=[link.event_id for link in links]).values(
                *_CANONICAL_FIELDS
            )
        }
        for link in links:
            yield link, events.get(link.event_id)
        after = links[-1].position


def verify() -> Mismatch | None:
    """The first event or seal that no longer matches the chain, or None when the log is intact."""
    return verify_log().mismatch


def verify_log() -> Verification:
    """Recompute the chain and every seal from the stored events; stop at the first mismatch.

    Events written after the newest seal are not covered yet and are only counted. On PostgreSQL the whole
    check reads one snapshot, so a seal committed meanwhile cannot look like a broken chain.
    """
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _verify()


def _verify() -> Verification:
    seal_list = list(AuditSeal.objects.order_by("id"))
    seals = iter(seal_list)
    next_seal = next(seals, None)
    previous_link = GENESIS
    previous_seal_hash = GENESIS
    checked_events = checked_seals = 0

    def broken(kind: str, ident: int, detail: str) -> Verification:
        return Verification(
            events=checked_events,
            seals=checked_seals,
            unsealed_events=0,
            latest_seal=None,
            mismatch=Mismatch(kind, ident, detail),
        )

    for link, event in _links_with_events():
        if event is None:
            return broken("event", link.event_id, _("sealed event is missing"))
        if next_seal is None:
            # Links and their seal are written in one transaction, so a link without a seal was added by hand.
            return broken("event", link.event_id, _("chain link is not covered by any seal"))
        if next_seal.last_position < link.position:
            return broken(
                "seal",
                next_seal.pk,
                _("seal points at chain position %(position)s, which no longer exists")
                % {"position": next_seal.last_position},
            )
        expected = _link(previous_link, event)
        if expected != link.chain_hash:
            return broken(
                "event",
                link.event_id,
                _(
                    "content differs from what was sealed (or the chain link before it was removed or "
                    "altered)"
                ),
            )
        previous_link = expected
        checked_events += 1
        while next_seal is not None and next_seal.last_position == link.position:
            if next_seal.previous_seal_hash != previous_seal_hash:
                return broken(
                    "seal",
                    next_seal.pk,
                    _(
                        "seal does not follow the previous seal: its reference was altered or a seal was removed"
                    ),
                )
            recomputed = _seal_hash(
                previous_seal_hash, link.position, previous_link, next_seal.event_count, next_seal.sealed_at
            )
            if next_seal.chain_hash != previous_link or next_seal.seal_hash != recomputed:
                return broken("seal", next_seal.pk, _("seal does not match the chain"))
            previous_seal_hash = next_seal.seal_hash
            checked_seals += 1
            next_seal = next(seals, None)
    if next_seal is not None:
        return broken("seal", next_seal.pk, _("seal covers chain links that no longer exist"))
    return Verification(
        events=checked_events,
        seals=checked_seals,
        # Every link has its event (checked above), so the events without a link are the unsealed ones.
        unsealed_events=AuditEvent.objects.count() - checked_events,
        latest_seal=seal_list[-1] if seal_list else None,
        mismatch=None,
    )
