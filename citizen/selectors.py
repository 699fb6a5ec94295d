"""Reads for the MyKanta pages that are not patient data: whom the person may act for, the targets a
prohibition may name (from documents the disclosure gate returned), and the disclosure log.

Patient data itself is read only through consents.policy.for_citizen.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from archive.models import Document, ServiceEvent
from consents.models import Mandate, MandateScope
from kanta.models import (
    AuditCategory,
    AuditEvent,
    AuditOutcome,
    Guardianship,
    LegalBasis,
    Organisation,
    OrganisationKind,
    Person,
    Register,
    RegisterKind,
)

ADULT_AGE = 18
HEALTH_REGISTER_KINDS = (RegisterKind.HEALTH_CARE, RegisterKind.OCCUPATIONAL_HEALTH)


def children_in_care(*, guardian: Person, today: datetime.date | None = None) -> list[Person]:
    """The living children under 18 of whom the person is a guardian today, youngest last."""
    today = today or timezone.localdate()
    guardianships = (
        Guardianship.objects.filter(guardian=guardian, starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .filter(child__birth_date__gt=_years_before(today, ADULT_AGE), child__date_of_death__isnull=True)
        .select_related("child")
        .order_by("child__birth_date", "child__id")
    )
    return [guardianship.child for guardianship in guardianships]


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


# -- acting on behalf ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActingCandidate:
    """Someone the signed-in person may switch to, and on what basis (guardian or mandate)."""

    person: Person
    basis: str
    until: datetime.date | None = None  # the mandate's last day


def acting_candidates(
    *, viewer: Person, children: list[Person] | None = None, today: datetime.date | None = None
) -> list[ActingCandidate]:
    """Children under guardianship and mandate principals the person may act for today: two queries (one when
    the page already has `children_in_care`).

    The conditions are those of consents.policy.acting_basis, written as queries so that the list costs the
    same for one child or ten. The list only offers; switching asks acting_basis itself. Children come from
    children_in_care, so a guardianship ending today is no longer offered (stricter than acting_basis, which
    still counts its last day), and the front page's two lists agree.
    """
    today = today or timezone.localdate()
    if children is None:
        children = children_in_care(guardian=viewer, today=today)
    mandates = (
        Mandate.objects.filter(
            agent=viewer,
            # a prescriptions-only mandate lets the agent in too; the gate then shows only prescriptions
            scope__in=[MandateScope.HEALTH_CARE, MandateScope.PRESCRIPTIONS],
            starts_on__lte=today,
            ends_on__gte=today,
            principal__birth_date__lte=_years_before(today, ADULT_AGE),
            principal__date_of_death__isnull=True,
            principal__non_disclosure=False,
        )
        .select_related("principal")
        .order_by("principal__last_name", "principal__first_names", "principal__id")
    )
    # Nobody acts for a person with a non-disclosure order (consents.policy.acting_basis).
    candidates = [
        ActingCandidate(person=child, basis=LegalBasis.GUARDIAN)
        for child in children
        if not child.non_disclosure
    ]
    seen = {candidate.person.pk for candidate in candidates}
    for mandate in mandates:
        if mandate.principal_id not in seen:  # two overlapping mandates: one entry
            seen.add(mandate.principal_id)
            candidates.append(
                ActingCandidate(person=mandate.principal, basis=LegalBasis.MANDATE, until=mandate.ends_on)
            )
    return candidates


# -- prohibition targets -------------------------------------------------------------------------------------


@dataclass
class ProhibitionTargets:
    """What a prohibition may point at, by public id: taken from the person's documents the gate shows."""

    service_events: dict[str, ServiceEvent] = field(default_factory=dict)
    counties: dict[str, Organisation] = field(default_factory=dict)
    registers: dict[str, Register] = field(default_factory=dict)
    occupational_registers: dict[str, Register] = field(default_factory=dict)


def prohibition_targets(documents: Iterable[Document]) -> ProhibitionTargets:
    """Service events, counties and registers of the given (gate-approved, health) documents.

    The documents come with their register, controller and service event loaded; the service event is
    given its register from the document so that naming it costs no query.
    """
    targets = ProhibitionTargets()
    for document in documents:
        register = document.register
        if register.kind not in HEALTH_REGISTER_KINDS:
            continue
        controller = register.controller
        targets.registers.setdefault(str(register.public_id), register)
        if controller.kind == OrganisationKind.COUNTY:
            targets.counties.setdefault(str(controller.public_id), controller)
        if (
            register.kind == RegisterKind.OCCUPATIONAL_HEALTH
            and controller.kind == OrganisationKind.PRIVATE_HEALTH
        ):
            targets.occupational_registers.setdefault(str(register.public_id), register)
        event = document.service_event
        if event is not None and event.register_id == register.pk:
            event.register = register
            targets.service_events.setdefault(str(event.public_id), event)
    return targets


# -- the disclosure log --------------------------------------------------------------------------------------

DISCLOSURE_LOG_YEARS = 2


def disclosure_log_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """Entries older than this are shown only on request (DOMAIN.md, chosen)."""
    now = now or timezone.now()
    try:
        return now.replace(year=now.year - DISCLOSURE_LOG_YEARS)
    except ValueError:  # 29 February
        return now.replace(year=now.year - DISCLOSURE_LOG_YEARS, day=28)


def disclosure_log(
    *, person: Person, before: tuple[datetime.datetime, int] | None = None, limit: int
) -> list[AuditEvent]:
    """Allowed reads of the person's data by anyone but the person themself, newest first, from the last two
    years: at most `limit` events older than `before` (the keyset (occurred_at, id) of the last one shown).

    One query on the index audit_person_time whatever the size of the log: the keyset condition is written
    as `occurred_at <= t AND (occurred_at < t OR id < i)` so that its first half bounds the index range.
    """
    events = AuditEvent.objects.filter(
        person=person,
        outcome=AuditOutcome.ALLOWED,
        category__in=[AuditCategory.ACCESS, AuditCategory.EMERGENCY],
        occurred_at__gte=disclosure_log_cutoff(),
    )
    if person.user_id is not None:
        # The person's own reads are not disclosures (a NULL user, a system read, stays in).
        events = events.exclude(user_id=person.user_id)
    if before is not None:
        occurred_at, event_id = before
        events = events.filter(occurred_at__lte=occurred_at).filter(
            Q(occurred_at__lt=occurred_at) | Q(id__lt=event_id)
        )
    return list(events.select_related("organisation", "unit").order_by("-occurred_at", "-id")[:limit])
