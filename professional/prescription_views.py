"""The prescriber's prescription pages: a person's prescriptions and medication list, prescribing with a
product search, a prescription's detail with correction, invalidation and the release of a pharmacy lock,
and the unit's renewal queue with renew, reject and return.

A person is opened through kanta.access (an active care relationship of the unit) and every prescription is
read through the disclosure gate (consents.policy, rule 6), which decides what is visible and logs each read.
The writes are prescriptions.services; a RuleViolation is shown on the form with everything typed kept.

A renewal request is the exception to the care relationship: the person's request to the unit is the care
contact (prescriptions.services), so the handling page opens the request by its id for a professional of the
receiving unit, and shows the prescription through the gate, which lets the handler see it even under a
denial of disclosure (DOMAIN.md, rule 6).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from consents import policy
from kanta import audit
from kanta.access import person_for_professional
from kanta.errors import RuleViolation
from kanta.models import DataType, LegalBasis, Person
from kanta.paging import CappedPaginator
from prescriptions import rules, selectors, services
from prescriptions.models import (
    DISPENSABLE_STATUSES,
    EventKind,
    Prescription,
    PrescriptionEvent,
    Product,
    RenewalRequest,
    RenewalStatus,
)
from professional import writing
from professional.decorators import professional_required
from professional.prescription_forms import (
    SERVICE_FIELDS,
    PrescribeForm,
    PrescriptionCorrectForm,
    PrescriptionInvalidateForm,
    ProductSearchForm,
    RenewalReasonForm,
    RenewForm,
)

LIST_PAGE_SIZE = 50
PRODUCT_SEARCH_LIMIT = 50
QUEUE_PAGE_SIZE = 25
# Who signs prescriptions, and so handles renewal requests (a nurse only for the medicines of the nurse list:
# prescriptions.services checks the medicine).
PRESCRIBING_PROFESSIONS = rules.PRESCRIBING_PROFESSIONS | rules.LIMITED_PRESCRIBING_PROFESSIONS


def _person(request, public_id) -> Person:
    # 404, logged as refused, without an active care relationship of the unit.
    return person_for_professional(actor=request.actor, public_id=public_id, action="person.view")


def gate_for(request, person: Person) -> policy.Gate:
    return policy.for_professional(actor=request.actor, person=person)


def _may_prescribe(request) -> bool:
    return request.professional.profession in PRESCRIBING_PROFESSIONS


def _page_number(request) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


# -- the person's prescriptions ----------------------------------------------------------------------------


@require_GET
@professional_required
def person_prescriptions(request, public_id):
    person = _person(request, public_id)
    gate = gate_for(request, person)
    number = _page_number(request)
    # One row more than the page shows tells whether there is a next page without counting them all.
    items = gate.prescriptions(limit=LIST_PAGE_SIZE + 1, offset=(number - 1) * LIST_PAGE_SIZE)
    medication = gate.medication_list() if number == 1 else []
    hidden = gate.prescription_hidden_count()
    today = timezone.localdate()
    for item in items:
        item.expiring_soon = item.status in DISPENSABLE_STATUSES and rules.expiring_soon(
            item.valid_until, today
        )
        item.renewal_status_label = RenewalStatus(item.renewal_status).label if item.renewal_status else ""
    return render(
        request,
        "professional/prescriptions/list.html",
        {
            "person": person,
            "prescriptions": items[:LIST_PAGE_SIZE],
            "page_number": number,
            "has_previous": number > 1,
            "has_next": len(items) > LIST_PAGE_SIZE,
            "medication": medication,
            "hidden_count": hidden,
            "may_prescribe": _may_prescribe(request),
        },
    )


# -- prescribing -------------------------------------------------------------------------------------------


def _product_search(query: str) -> list[Product]:
    """Packages of the medicine database by ATC code (prefix) or name, marketed first.

    The medicine database is reference data, not anyone's personal data, so it is read directly.
    """
    needle = query.strip()
    if not needle:
        return []
    return list(
        Product.objects.filter(Q(atc__istartswith=needle) | Q(name__icontains=needle)).order_by(
            "-marketed", "name", "strength", "package_quantity", "vnr"
        )[:PRODUCT_SEARCH_LIMIT]
    )


def _chosen_product(request) -> tuple[Product | None, bool]:
    """The package the prescription is written for (from the search's link, then the form), and whether a
    VNR was given that the medicine database does not know."""
    vnr = (request.POST.get("product") if request.method == "POST" else request.GET.get("product")) or ""
    vnr = vnr.strip()
    if not vnr:
        return None, False
    product = Product.objects.filter(vnr=vnr).first()
    return product, product is None


def _substance_initial(request) -> dict:
    """A substance prescription prefilled from a package (e.g. one no longer marketed)."""
    source = Product.objects.filter(vnr=(request.GET.get("from") or "").strip()).first()
    if source is None:
        return {}
    return {
        "active_substance": source.active_substance,
        "strength": source.strength,
        "pharmaceutical_form": source.form,
        "atc": source.atc,
        "narcotic": source.narcotic,
        "pkv": source.pkv,
        "special_permit": source.special_permit,
    }


@require_http_methods(["GET", "POST"])
@professional_required
def prescribe(request, public_id):
    person = _person(request, public_id)
    product, unknown_vnr = _chosen_product(request)
    by_substance = (request.POST if request.method == "POST" else request.GET).get("by") == "substance"
    if product is None and not by_substance:
        # First step: find the package, or choose to prescribe by active substance.
        search = ProductSearchForm(request.GET if "q" in request.GET else None)
        query = search.cleaned_data["q"] if search.is_bound and search.is_valid() else ""
        return render(
            request,
            "professional/prescriptions/product_search.html",
            {
                "person": person,
                "search": search,
                "query": query,
                "products": _product_search(query),
                "limit": PRODUCT_SEARCH_LIMIT,
                "unknown_vnr": unknown_vnr,
            },
            status=400 if unknown_vnr or request.method == "POST" else 200,
        )
    form = PrescribeForm(
        request.POST if request.method == "POST" else None,
        by_product=product is not None,
        initial={} if product is not None else _substance_initial(request),
    )
    if request.method == "POST" and form.is_valid():
        try:
            prescription = services.prescribe(
                actor=request.actor,
                person=person,
                product=product,
                **form.medicine(),
                **form.content(),
                valid_until=form.cleaned_data["valid_until"],
            )
        except RuleViolation as violation:
            writing.add_violation(form, violation, fields=SERVICE_FIELDS)
        else:
            messages.success(
                request,
                _("The prescription of %(medicine)s is saved, valid until %(date)s.")
                % {
                    "medicine": prescription.medicine_name,
                    "date": date_format(prescription.valid_until, "SHORT_DATE_FORMAT"),
                },
            )
            return redirect(
                "professional:prescription",
                public_id=person.public_id,
                prescription_id=prescription.public_id,
            )
    controlled = []
    if product is not None and (product.narcotic or product.pkv):
        # About to prescribe a narcotic or CNS-acting medicine: the physician also sees the person's denied
        # narcotic and PKV prescriptions (the gate decides who may; kanta-reference.md 1.6).
        controlled = [
            item
            for item in gate_for(request, person).prescriptions(
                include_denied_for=policy.CONTROLLED_PRESCRIBING, valid_only=True, limit=LIST_PAGE_SIZE
            )
            if item.narcotic or item.pkv
        ]
    return render(
        request,
        "professional/prescriptions/prescribe.html",
        {"person": person, "product": product, "form": form, "controlled": controlled},
        status=400 if form.errors else 200,
    )


# -- one prescription --------------------------------------------------------------------------------------


def _prescription(request, person: Person, prescription_id) -> Prescription:
    # 404 (and a logged refusal) for a prescription the gate does not let this professional see.
    return gate_for(request, person).prescription(prescription_id)


def _to_detail(person: Person, prescription: Prescription):
    return redirect(
        "professional:prescription", public_id=person.public_id, prescription_id=prescription.public_id
    )


@require_GET
@professional_required
def prescription(request, public_id, prescription_id):
    person = _person(request, public_id)
    item = _prescription(request, person, prescription_id)
    correctable = item.status in DISPENSABLE_STATUSES
    in_force = item.status in selectors.VALID_STATUSES
    return render(
        request,
        "professional/prescriptions/detail.html",
        {
            "person": person,
            "prescription": item,
            "history": [_history_row(event) for event in item.events.all()],
            "dispensings": item.dispensings.all(),
            "renewal_requests": item.renewal_requests.all(),
            "renewals": item.renewals.all(),
            # prescriptions.services decides whether this professional may; students never see the buttons
            "actions": _may_prescribe(request) and (correctable or in_force or item.locked_by_id is not None),
            "correctable": correctable,
            "in_force": in_force,
        },
    )


def _history_row(event: PrescriptionEvent) -> dict:
    """One history event with the dosage, amount and validity its snapshot kept after the change."""
    snapshot = event.snapshot or {}
    total = snapshot.get("total_quantity")
    valid_until = snapshot.get("valid_until")
    return {
        "event": event,
        "dosage": snapshot.get("dosage", ""),
        "total_quantity": Decimal(total) if total else None,
        "valid_until": datetime.date.fromisoformat(valid_until) if valid_until else None,
        # a prescribing or renewal event notes the linked prescription's id, which the page links instead
        "note": "" if event.kind in (EventKind.PRESCRIBED, EventKind.RENEWED) else event.note,
    }


@require_http_methods(["GET", "POST"])
@professional_required
def prescription_correct(request, public_id, prescription_id):
    person = _person(request, public_id)
    item = _prescription(request, person, prescription_id)
    form = PrescriptionCorrectForm(request.POST if request.method == "POST" else None, prescription=item)
    if request.method == "POST" and form.is_valid():
        try:
            corrected = services.prescription_correct(
                actor=request.actor, prescription=item, **form.changes()
            )
        except RuleViolation as violation:
            writing.add_violation(form, violation, fields=SERVICE_FIELDS)
        else:
            messages.success(
                request, _("The correction is saved as version %(version)s.") % {"version": corrected.version}
            )
            return _to_detail(person, corrected)
    return render(
        request,
        "professional/prescriptions/correct.html",
        {"person": person, "prescription": item, "form": form},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@professional_required
def prescription_invalidate(request, public_id, prescription_id):
    person = _person(request, public_id)
    item = _prescription(request, person, prescription_id)
    form = PrescriptionInvalidateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.prescription_invalidate(
                actor=request.actor,
                prescription=item,
                category=form.cleaned_data["category"],
                text=form.cleaned_data["text"],
                patient_agreed=form.cleaned_data["patient_agreed"],
            )
        except RuleViolation as violation:
            writing.add_violation(form, violation)
        else:
            messages.success(request, _("The prescription is invalidated. It stays in the history."))
            return _to_detail(person, item)
    return render(
        request,
        "professional/prescriptions/invalidate.html",
        {"person": person, "prescription": item, "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
@professional_required
def prescription_release_lock(request, public_id, prescription_id):
    person = _person(request, public_id)
    item = _prescription(request, person, prescription_id)
    try:
        services.prescription_release_lock(actor=request.actor, prescription=item)
    except RuleViolation as violation:
        messages.error(request, violation.message)
    else:
        messages.success(request, _("The pharmacy's lock is released."))
    return _to_detail(person, item)


# -- renewal requests --------------------------------------------------------------------------------------


@require_GET
@professional_required
def renewals(request):
    """The unit's open renewal requests, oldest first."""
    may_handle = _may_prescribe(request)
    page = None
    if may_handle:
        page = CappedPaginator(selectors.renewal_queue(request.unit), QUEUE_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        # Through the gate: every person listed gets an audit event of the read.
        page.object_list = policy.renewal_queue(actor=request.actor, requests=page.object_list)
        for item in page:
            item.expires_at = rules.renewal_request_expires_at(item.sent_at)
    return render(
        request,
        "professional/prescriptions/renewals.html",
        {
            "page": page,
            "may_handle": may_handle,
            "accepts_requests": request.unit.accepts_renewal_requests,
            "request_days": rules.RENEWAL_REQUEST_DAYS,
        },
    )


def _renewal_request(request, request_id) -> RenewalRequest:
    """A renewal request sent to the professional's unit; 404 (logged as refused) for anything else."""
    found = selectors.renewal_request(request_id)
    if found is None or found.unit_id != request.unit.pk or not _may_prescribe(request):
        audit.record_refusal(
            actor=request.actor,
            action="renewal_request.view",
            person=found.person if found is not None else None,
            data_type=DataType.PRESCRIPTION,
            object_type="renewal_request",
            object_ids=[request_id],
            legal_basis=LegalBasis.NONE,
        )
        raise Http404
    return found


def _render_renewal(request, renewal: RenewalRequest, *, renew_form=None, reject_form=None, return_form=None):
    item = None
    expires_at = rules.renewal_request_expires_at(renewal.sent_at)
    open_request = renewal.status == RenewalStatus.SENT and timezone.now() < expires_at
    if open_request:
        # Through the gate: it shows the handler the prescription even under a denial, and logs the read.
        item = gate_for(request, renewal.person).prescription(renewal.prescription.public_id)
        renew_form = renew_form or RenewForm(prescription=item, prefix="renew")
        reject_form = reject_form or RenewalReasonForm(prefix="reject")
        return_form = return_form or RenewalReasonForm(prefix="return")
    failed = any(form is not None and form.errors for form in (renew_form, reject_form, return_form))
    return render(
        request,
        "professional/prescriptions/renewal.html",
        {
            "renewal": renewal,
            "person": renewal.person,
            "prescription": item,
            "dispensings": item.dispensings.all() if item else [],
            "expires_at": expires_at,
            "open_request": open_request,
            # past its 8 days before the nightly job marked it expired
            "expired": renewal.status == RenewalStatus.SENT and not open_request,
            "renew_form": renew_form,
            "reject_form": reject_form,
            "return_form": return_form,
        },
        status=400 if failed else 200,
    )


@require_GET
@professional_required
def renewal(request, request_id):
    return _render_renewal(request, _renewal_request(request, request_id))


@require_POST
@professional_required
def renewal_renew(request, request_id):
    renewal = _renewal_request(request, request_id)
    if renewal.status != RenewalStatus.SENT:
        messages.error(request, _("This request has already been handled."))
        return redirect("professional:renewal", request_id=renewal.public_id)
    item = gate_for(request, renewal.person).prescription(renewal.prescription.public_id)
    form = RenewForm(request.POST, prescription=item, prefix="renew")
    if form.is_valid():
        try:
            new = services.renewal_renew(actor=request.actor, request=renewal, **form.changes())
        except RuleViolation as violation:
            writing.add_violation(form, violation, fields=SERVICE_FIELDS)
        else:
            messages.success(
                request,
                _("%(medicine)s is renewed for %(person)s: a new prescription valid until %(date)s.")
                % {
                    "medicine": new.medicine_name,
                    "person": renewal.person.full_name,
                    "date": date_format(new.valid_until, "SHORT_DATE_FORMAT"),
                },
            )
            return redirect("professional:renewals")
    return _render_renewal(request, renewal, renew_form=form)


def _handle(request, request_id, *, prefix: str, service, done: str):
    renewal = _renewal_request(request, request_id)
    if renewal.status != RenewalStatus.SENT:
        messages.error(request, _("This request has already been handled."))
        return redirect("professional:renewal", request_id=renewal.public_id)
    form = RenewalReasonForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            service(actor=request.actor, request=renewal, reason=form.cleaned_data["reason"])
        except RuleViolation as violation:
            writing.add_violation(form, violation)
        else:
            messages.success(request, done % {"person": renewal.person.full_name})
            return redirect("professional:renewals")
    return _render_renewal(request, renewal, **{f"{prefix}_form": form})


@require_POST
@professional_required
def renewal_reject(request, request_id):
    return _handle(
        request,
        request_id,
        prefix="reject",
        service=services.renewal_reject,
        done=_("The renewal request of %(person)s is rejected."),
    )


@require_POST
@professional_required
def renewal_return(request, request_id):
    return _handle(
        request,
        request_id,
        prefix="return",
        service=services.renewal_return,
        done=_("The renewal request of %(person)s is returned."),
    )
