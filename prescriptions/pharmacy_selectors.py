"""Policy-free reads for the pharmacy and the medication list.

These are building blocks: pages never call them for someone's data directly, they ask the disclosure gate
(consents.policy), which composes them and applies rule 6. In particular the identity-code search here does
NOT leave out prescriptions under a denial of disclosure: the gate does, so that the rule lives in one place.
Each read runs a fixed number of queries whatever the person's number of prescriptions.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from kanta.models import Person
from prescriptions import rules
from prescriptions.models import (
    DISPENSABLE_STATUSES,
    CrossBorderConsent,
    Dispensing,
    Prescription,
    PrescriptionStatus,
    PrescriptionSummary,
)

# What a pharmacy page shows of a prescription without further queries.
PHARMACY_RELATED = ("person", "product", "prescriber__user", "unit", "locked_by", "reserved_by")
# The identity-code search lists one person's prescriptions: the same, less the person.
SEARCH_RELATED = ("product", "prescriber__user", "unit")
SEARCH_PREFETCHED = ("locked_by", "reserved_by")


def _with_related(queryset: QuerySet[Prescription]) -> QuerySet[Prescription]:
    return queryset.select_related(*PHARMACY_RELATED)


def dispensable_for_person(
    person: Person,
    *,
    with_medicine_left: bool = True,
    prescribed_since: datetime.date | datetime.datetime | None = None,
    today: datetime.date | None = None,
) -> QuerySet[Prescription]:
    """The pharmacy's identity-code search, newest first (kanta-reference.md 3.5).

    With medicine left (the default): what can be dispensed today, i.e. undispensed or partly dispensed and
    valid, plus 2-year prescriptions with medicine left in the grace month after expiry. Otherwise: every
    undispensed and partly dispensed prescription whatever its validity, usually narrowed with
    `prescribed_since`. Denials of disclosure are the gate's to apply, not this function's.
    """
    today = today or timezone.localdate()
    queryset = Prescription.objects.filter(person=person)
    if with_medicine_left:
        # Both branches lie within the partial index prescription_dispensable: (person, valid_until) of the
        # undispensed and partly dispensed. The daily job leaves a grace-month prescription in its status.
        two_year_with_medicine_left = Q(
            narcotic=False, pkv=False, special_permit=False, quantity_dispensed__lt=F("total_quantity")
        )
        queryset = queryset.filter(
            Q(valid_until__gte=today) | two_year_with_medicine_left,
            status__in=DISPENSABLE_STATUSES,
            valid_until__gte=rules.grace_cutoff(today),
        )
    else:
        queryset = queryset.filter(status__in=DISPENSABLE_STATUSES)
    if prescribed_since is not None:
        if not isinstance(prescribed_since, datetime.datetime):
            prescribed_since = timezone.make_aware(
                datetime.datetime.combine(prescribed_since, datetime.time.min)
            )
        queryset = queryset.filter(prescribed_at__gte=prescribed_since)
    # Fewer joins than _with_related: every row is this person's, and a lock or a reservation is rare, so
    # they are prefetched (no query at all when no row has one). Planning a join of eight tables took longer
    # than running it (docs/operations.md, "Benchmarks").
    return (
        queryset.select_related(*SEARCH_RELATED)
        .prefetch_related(*SEARCH_PREFETCHED)
        .order_by("-prescribed_at", "-pk")
    )


def summary_by_barcode(barcode: str) -> PrescriptionSummary | None:
    """The printed summary a barcode names, with its person; None for an unknown or malformed code."""
    code = "".join((barcode or "").split()).replace("-", "").upper()
    if not code or len(code) > PrescriptionSummary._meta.get_field("barcode").max_length:
        return None
    return PrescriptionSummary.objects.select_related("person").filter(barcode=code).first()


def by_summary_barcode(barcode: str) -> QuerySet[Prescription]:
    """The prescriptions of the summary a barcode names (none for an unknown code), newest first.

    Every prescription of the summary is returned whatever its status, so the page can say why one is not
    dispensable; the person showed the summary, so denials do not hide its prescriptions (rule 6).
    """
    code = "".join((barcode or "").split()).replace("-", "").upper()
    members = PrescriptionSummary.prescriptions.through.objects.filter(prescriptionsummary__barcode=code)
    return _with_related(Prescription.objects.filter(pk__in=members.values("prescription_id"))).order_by(
        "-prescribed_at", "-pk"
    )


def valid_cross_border_consent(
    person: Person, *, at: datetime.datetime | None = None
) -> CrossBorderConsent | None:
    """The person's consent to using their prescriptions abroad, valid at `at` (default now), if any."""
    at = at or timezone.now()
    return (
        CrossBorderConsent.objects.filter(person=person, given_at__lte=at)
        .filter(Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=at))
        .order_by("-given_at")
        .first()
    )


# -- the medication list ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MedicationRow:
    """One medicine on the medication list: an active substance in one strength.

    `prescription` is the newest valid prescription of it, whose dosage is the current one. `amount_left` is
    what is left on that prescription, `amount_left_all` on every valid prescription of the substance and
    strength; `last_dispensing` is the newest dispensing on any of them.
    """

    active_substance: str
    strength: str
    prescription: Prescription
    prescriptions: tuple[Prescription, ...]
    amount_left: Decimal
    amount_left_all: Decimal
    last_dispensing: Dispensing | None

    @property
    def medicine_name(self) -> str:
        return self.prescription.medicine_name

    @property
    def dosage(self) -> str:
        return self.prescription.dosage

    @property
    def valid_until(self) -> datetime.date:
        return self.prescription.valid_until


def _medicine_key(prescription: Prescription) -> tuple[str, str]:
    return (
        " ".join(prescription.active_substance.casefold().split()),
        "".join(prescription.strength.casefold().split()),
    )


def medication_list(person: Person, *, today: datetime.date | None = None) -> list[MedicationRow]:
    """The person's one current medication list, from valid prescriptions and their dispensings.

    Valid: not invalidated nor expired, and `valid_until` today or later (a fully dispensed prescription
    still valid is current medication). One row per active substance and strength, compared ignoring case
    and spacing; the newest prescription wins. Two queries, whatever the number of prescriptions.
    """
    today = today or timezone.localdate()
    newest_dispensing = (
        Dispensing.objects.filter(prescription=OuterRef("pk"))
        .order_by("-dispensed_at", "-pk")
        .values("pk")[:1]
    )
    prescriptions = list(
        Prescription.objects.filter(
            person=person,
            status__in=[*DISPENSABLE_STATUSES, PrescriptionStatus.FULLY_DISPENSED],
            invalidated_at__isnull=True,
            valid_until__gte=today,
        )
        .select_related("product", "prescriber__user", "unit")
        .annotate(newest_dispensing_id=Subquery(newest_dispensing))
        .order_by("-prescribed_at", "-pk")
    )
    dispensing_ids = [p.newest_dispensing_id for p in prescriptions if p.newest_dispensing_id]
    dispensings = (
        Dispensing.objects.select_related("product", "pharmacy").in_bulk(dispensing_ids)
        if dispensing_ids
        else {}
    )
    groups: dict[tuple[str, str], list[Prescription]] = {}
    for prescription in prescriptions:  # newest first, so each group's first is the one that wins
        groups.setdefault(_medicine_key(prescription), []).append(prescription)
    rows = []
    for group in groups.values():
        newest = group[0]
        group_dispensings = [dispensings[p.newest_dispensing_id] for p in group if p.newest_dispensing_id]
        rows.append(
            MedicationRow(
                active_substance=newest.active_substance,
                strength=newest.strength,
                prescription=newest,
                prescriptions=tuple(group),
                amount_left=newest.quantity_left,
                amount_left_all=sum((p.quantity_left for p in group), Decimal(0)),
                last_dispensing=max(group_dispensings, key=lambda d: (d.dispensed_at, d.pk), default=None),
            )
        )
    rows.sort(key=lambda row: (row.active_substance.casefold(), row.strength.casefold()))
    return rows
