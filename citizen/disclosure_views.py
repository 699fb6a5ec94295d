"""MyKanta "Where my data has been processed": who has read the person's data, when, where and on what basis.

The page reads the audit log (kanta.models.AuditEvent) through citizen.selectors.disclosure_log: allowed reads
by anyone but the person, from the last two years, newest first, keyset-paginated with an opaque cursor.
It names the organisation and unit, never the professional (DOMAIN.md, "The citizen's disclosure log").
Older entries are given only on request (chosen): the request form records the request for the controller.
"""

from __future__ import annotations

import datetime

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from citizen.decorators import citizen_required, declarations_allowed
from citizen.forms import DisclosureRequestForm
from citizen.selectors import disclosure_log, disclosure_log_cutoff
from citizen.services import disclosure_log_request, disclosure_log_view_record
from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import AuditCategory, AuditEvent, DataType, LegalBasis

LOG_PAGE_SIZE = 50
CURSOR_SALT = "citizen.disclosure_log"

# What the basis of a read means to the person whose data it was; the rest use the model's labels.
BASIS_LABELS = {
    LegalBasis.GUARDIAN: _("guardian"),
    LegalBasis.MANDATE: _("person acting on your behalf"),
}


def _cursor(event: AuditEvent) -> str:
    """The keyset of the last event shown, signed: opaque to the reader and not forgeable."""
    return signing.dumps([event.occurred_at.isoformat(), event.pk], salt=CURSOR_SALT, compress=True)


def _from_cursor(value: str) -> tuple[datetime.datetime, int] | None:
    try:
        occurred_at, event_id = signing.loads(value, salt=CURSOR_SALT)
        return datetime.datetime.fromisoformat(occurred_at), int(event_id)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def _row(event: AuditEvent) -> dict:
    if event.category == AuditCategory.EMERGENCY:
        basis = LegalBasis.EMERGENCY.label
    else:
        basis = BASIS_LABELS.get(event.legal_basis) or (
            LegalBasis(event.legal_basis).label if event.legal_basis in LegalBasis.values else ""
        )
    citizen_read = event.legal_basis in BASIS_LABELS and event.organisation is None
    return {
        "occurred_at": event.occurred_at,
        # A guardian or a mandate holder reads in MyKanta; a professional's organisation and unit, never the name.
        "organisation": _("MyKanta")
        if citizen_read
        else (event.organisation.name if event.organisation else ""),
        "unit": event.unit.name if event.unit else "",
        "data_type": DataType(event.data_type).label if event.data_type in DataType.values else "",
        "basis": basis,
        "emergency": event.category == AuditCategory.EMERGENCY,
    }


@require_safe
@citizen_required
@declarations_allowed
def log(request: HttpRequest) -> HttpResponse:
    cursor = request.GET.get("after")
    before = _from_cursor(cursor) if cursor else None
    if request.acting_for is not None:
        # Someone acting for the person reads their log: that read is the person's data too.
        disclosure_log_view_record(
            actor=audit.Actor.from_request(request), person=request.subject, basis=request.acting_basis
        )
    events = disclosure_log(person=request.subject, before=before, limit=LOG_PAGE_SIZE + 1)
    shown = events[:LOG_PAGE_SIZE]
    return render(
        request,
        "citizen/disclosure_log.html",
        {
            "rows": [_row(event) for event in shown],
            "next_cursor": _cursor(shown[-1]) if len(events) > LOG_PAGE_SIZE else None,
            "is_first_page": before is None,
            "invalid_cursor": bool(cursor) and before is None,
            "cutoff": disclosure_log_cutoff(),
        },
    )


@require_http_methods(["GET", "POST"])
@citizen_required
@declarations_allowed
def request_older(request: HttpRequest) -> HttpResponse:
    cutoff = timezone.localdate(disclosure_log_cutoff())
    form = DisclosureRequestForm(request.POST or None, cutoff=cutoff)
    if request.method == "POST" and form.is_valid():
        try:
            disclosure_log_request(
                actor=audit.Actor.from_request(request),
                person=request.subject,
                basis=request.acting_basis,
                since=form.cleaned_data["since"],
                until=form.cleaned_data["until"],
                details=form.cleaned_data["details"],
            )
        except RuleViolation as violation:
            form.add_error(violation.field if violation.field in form.fields else None, violation.message)
        else:
            return redirect("citizen:disclosure_request_sent")
    return render(
        request,
        "citizen/disclosure_request.html",
        {"form": form, "cutoff": cutoff},
        status=400 if form.errors else 200,
    )


@require_safe
@citizen_required
@declarations_allowed
def request_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "citizen/disclosure_request_sent.html")
