"""Policy-free reads of the Prescription service.

Pages never call these for someone else's data: the disclosure gate (consents.policy, rule 6 of "Who may see
what") composes them and decides what is visible. Every function returns a queryset (or one row) with the
related rows a page shows already joined or prefetched, so a page runs the same few queries whatever the
number of prescriptions.
"""

from __future__ import annotations

import datetime
import uuid

from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from kanta.models import Person, Unit
from prescriptions import rules
from prescriptions.models import (
    DISPENSABLE_STATUSES,
    Dispensing,
    Prescription,
    PrescriptionEvent,
    PrescriptionStatus,
    RenewalRequest,
    RenewalStatus,
)

PRESCRIPTION_RELATED = ("prescriber__user", "unit__organisation", "product")
# Statuses of a prescription that is still in force (possibly with nothing left to dispense).
VALID_STATUSES = [*DISPENSABLE_STATUSES, PrescriptionStatus.FULLY_DISPENSED]


def with_renewal_state(prescriptions: QuerySet[Prescription]) -> QuerySet[Prescription]:
    """Annotate what `rules.renewal_refusal_reason` and the renewal status column need, in the same query.

    renewal_open / renewal_rejected / renewal_done: booleans; renewal_status: the newest request's status.
    """
    requests = RenewalRequest.objects.filter(prescription=OuterRef("pk"))
    return prescriptions.annotate(
        renewal_open=Exists(requests.filter(status=RenewalStatus.SENT)),
        renewal_rejected=Exists(requests.filter(status=RenewalStatus.REJECTED)),
        renewal_done=Exists(requests.filter(status=RenewalStatus.RENEWED))
        | Exists(Prescription.objects.filter(renewed_from=OuterRef("pk"))),
        renewal_status=Subquery(requests.order_by("-sent_at", "-id").values("status")[:1]),
    )


def person_prescriptions(
    person: Person,
    *,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    valid_only: bool = False,
    with_medicine_left: bool = False,
    expiring_within_months: int | None = None,
    renewal_requested: bool = False,
    today: datetime.date | None = None,
) -> QuerySet[Prescription]:
    """A person's prescriptions: those in force first, then newest first (index prescription_person_time).

    The filters are the ones of the citizen's list and the prescription summary (kanta-reference.md 1.3):
    written in a period (`since`/`until`, by prescribing date), in force, with medicine left, expiring within
    some months, with a renewal request. Rows carry the renewal annotations of `with_renewal_state`.
    """
    today = today or timezone.localdate()
    prescriptions = Prescription.objects.filter(person=person)
    if since:
        prescriptions = prescriptions.filter(prescribed_at__date__gte=since)
    if until:
        prescriptions = prescriptions.filter(prescribed_at__date__lte=until)
    if valid_only:
        prescriptions = prescriptions.filter(status__in=VALID_STATUSES)
    if with_medicine_left:
        prescriptions = prescriptions.filter(
            status__in=DISPENSABLE_STATUSES, quantity_dispensed__lt=F("total_quantity")
        )
    if expiring_within_months is not None:
        prescriptions = prescriptions.filter(
            status__in=VALID_STATUSES,
            valid_until__gte=today,
            valid_until__lte=rules.add_months(today, expiring_within_months),
        )
    if renewal_requested:
        prescriptions = prescriptions.filter(
            Exists(RenewalRequest.objects.filter(prescription=OuterRef("pk")))
        )
    return (
        with_renewal_state(prescriptions)
        .annotate(
            in_force=Case(
                When(status__in=VALID_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .select_related(*PRESCRIPTION_RELATED)
        .order_by("in_force", "-prescribed_at", "-id")
    )


def dispensable_prescriptions(*, person: Person) -> QuerySet[Prescription]:
    """A person's prescriptions with medicine left that may still be dispensed (index prescription_dispensable)."""
    return (
        Prescription.objects.filter(
            person=person, status__in=DISPENSABLE_STATUSES, quantity_dispensed__lt=F("total_quantity")
        )
        .select_related(*PRESCRIPTION_RELATED)
        .order_by("valid_until", "id")
    )


def _parse_uuid(public_id: uuid.UUID | str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(public_id))
    except ValueError:
        return None


def prescription_with_history(public_id: uuid.UUID | str) -> Prescription | None:
    """One prescription with its history, dispensings, renewal requests and renewal links prefetched.

    `events`, `dispensings` and `renewal_requests` come in display order (oldest event first, newest
    dispensing and request first). The caller (the gate) decides whether the viewer may see it.
    """
    parsed = _parse_uuid(public_id)
    if parsed is None:
        return None
    return (
        with_renewal_state(Prescription.objects.filter(public_id=parsed))
        .select_related(*PRESCRIPTION_RELATED, "person", "renewed_from", "locked_by")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=PrescriptionEvent.objects.select_related(
                    "professional__user", "organisation"
                ).order_by("occurred_at", "id"),
            ),
            Prefetch(
                "dispensings",
                queryset=Dispensing.objects.select_related("pharmacy", "product").order_by(
                    "-dispensed_at", "-id"
                ),
            ),
            Prefetch(
                "renewal_requests",
                queryset=RenewalRequest.objects.select_related("unit", "new_prescription").order_by(
                    "-sent_at", "-id"
                ),
            ),
            Prefetch("renewals", queryset=Prescription.objects.order_by("prescribed_at")),
        )
        .first()
    )


def renewal_queue(unit: Unit, *, now: datetime.datetime | None = None) -> QuerySet[RenewalRequest]:
    """The unit's open renewal requests, oldest first (index renewal_queue).

    A request older than 8 days is past its time even before the nightly job marks it expired, so it is left
    out here and cannot be handled.
    """
    now = now or timezone.now()
    oldest = now - datetime.timedelta(days=rules.RENEWAL_REQUEST_DAYS)
    # Only what the queue shows: the person, the medicine and its prescriber. Joining the prescribing unit
    # and its organisation too made planning the query take longer than running it (docs/operations.md,
    # "Benchmarks"); the request's own page reads them with `renewal_request`.
    return (
        RenewalRequest.objects.filter(unit=unit, status=RenewalStatus.SENT, sent_at__gt=oldest)
        .select_related("person", "prescription__product", "prescription__prescriber__user")
        .order_by("sent_at", "id")
    )


def renewal_request(public_id: uuid.UUID | str) -> RenewalRequest | None:
    parsed = _parse_uuid(public_id)
    if parsed is None:
        return None
    return (
        RenewalRequest.objects.select_related(
            "person",
            "unit__organisation",
            "prescription__product",
            "prescription__person",
            "new_prescription",
        )
        .filter(public_id=parsed)
        .first()
    )


def person_renewal_requests(*, person: Person) -> QuerySet[RenewalRequest]:
    """A person's renewal requests, newest first (index renewal_person_time), for the citizen's status page."""
    return (
        RenewalRequest.objects.filter(person=person)
        .select_related("unit__organisation", "prescription", "new_prescription", "handled_by__user")
        .order_by("-sent_at", "-id")
    )


def renewable_units_for(person: Person) -> QuerySet[Unit]:
    """Units that may receive the person's renewal requests: they have prescribed to the person before and
    accept requests (kanta-reference.md 1.4)."""
    prescribing_units = Prescription.objects.filter(person=person).values("unit_id")
    return (
        Unit.objects.filter(pk__in=prescribing_units, accepts_renewal_requests=True)
        .select_related("organisation")
        .order_by("name_fi", "id")
    )
