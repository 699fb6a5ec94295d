"""Pharmacy pages: find a person's prescriptions by identity code or by the barcode of a prescription summary,
then reserve, dispense, lock or technically correct one prescription at a time.

Only a pharmacist or a dispensing pharmacist working in a unit of a pharmacy reaches these pages; everyone else
gets 403. Every read goes through the disclosure gate (consents.policy, rule 6 of DOMAIN.md "Who may see
what") and every write through prescriptions.dispensing, which checks the rules and raises RuleViolation:
these views only show the answer. The identity code is only ever posted, never put in a URL. The barcode of a
scanned summary is kept in the session for the same reason: it opens the person's prescriptions, denied ones
included.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from consents import policy
from kanta import services
from kanta.access import person_for_professional
from kanta.errors import RuleViolation
from kanta.models import CareReason, OrganisationKind, Person, Professional, Unit
from prescriptions import dispensing
from prescriptions.models import DISPENSABLE_STATUSES, Prescription
from professional.decorators import professional_required
from professional.pharmacy_forms import (
    SCOPE_LEFT,
    DispenseForm,
    LockForm,
    PharmacySearchForm,
    PrescriptionFilterForm,
    SummarySearchForm,
    TechnicalCorrectionForm,
)
from professional.writing import add_violation

# The barcode of the prescription summary this session scanned last.
SUMMARY_SESSION_KEY = "pharmacy_summary_barcode"
PER_PAGE = 50
# The pages of one prescription, each under the prescription's own address (see `_urls`).
PRESCRIPTION_PAGES = ("prescription", "reserve", "release", "dispense", "lock", "correct")


def works_at_pharmacy(professional: Professional | None, unit: Unit | None) -> bool:
    """A pharmacist or a dispensing pharmacist working, this session, in a unit of a pharmacy."""
    return (
        professional is not None
        and unit is not None
        and unit.organisation.kind == OrganisationKind.PHARMACY
        and professional.profession in dispensing.DISPENSING_PROFESSIONS
    )


def pharmacist_required(view):
    """professional_required, and then 403 for anyone who is not a pharmacist working at a pharmacy."""

    @professional_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        # request.unit is read fresh on every request (professional_required), organisation included.
        if not works_at_pharmacy(request.professional, request.unit):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


# -- finding prescriptions --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@pharmacist_required
def search(request):
    """The pharmacy's home: the identity-code search and the summary's barcode."""
    form = PharmacySearchForm(request.POST or None)
    not_found = False
    if request.method == "POST" and form.is_valid():
        person = services.person_find_by_identity_code(
            actor=request.actor, identity_code=form.cleaned_data["identity_code"]
        )
        if person is None:
            not_found = True
        else:
            try:
                # A customer at the counter is the care situation: the search confirms it (audited).
                services.care_relationship_confirm(
                    actor=request.actor, person=person, reason=CareReason.DISPENSING
                )
            except RuleViolation as violation:
                add_violation(form, violation)
            else:
                # The person's public id and the chosen scope go in the URL; the identity code never does.
                return redirect(
                    _person_list_url(person, form.cleaned_data["scope"], form.cleaned_data["since"])
                )
    return render(
        request,
        "professional/pharmacy/search.html",
        {"form": form, "summary_form": SummarySearchForm(), "not_found": not_found},
        status=400 if form.errors else 200,
    )


def _person_list_url(person: Person, scope: str, since: datetime.date | None) -> str:
    url = reverse("professional:pharmacy_person", args=[person.public_id])
    if scope == SCOPE_LEFT:
        return url
    query = {"scope": scope}
    if since:
        query["since"] = since.isoformat()
    return f"{url}?{urlencode(query)}"


def _page_number(request) -> int:
    try:
        return max(1, int(request.GET.get("page", 1)))
    except ValueError:
        return 1


@require_GET
@pharmacist_required
def person_prescriptions(request, person_id):
    """The person's dispensable prescriptions, as the gate lets this pharmacy see them.

    Without the care relationship the search confirmed, kanta.access answers 404 (and logs it). A prescription
    under a denial is left out by the gate, and nothing on the page tells that one exists.
    """
    person = person_for_professional(actor=request.actor, public_id=person_id, action="person.view")
    filters = PrescriptionFilterForm(request.GET if "scope" in request.GET else None)
    scope, since = SCOPE_LEFT, None
    if filters.is_bound and filters.is_valid():
        scope, since = filters.cleaned_data["scope"], filters.cleaned_data["since"]
    page = _page_number(request)
    gate = policy.for_professional(actor=request.actor, person=person)
    prescriptions = gate.dispensable_prescriptions(
        with_medicine_left=scope == SCOPE_LEFT,
        prescribed_since=since,
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    for prescription in prescriptions:
        _annotate(prescription)
        prescription.page_url = reverse(
            "professional:pharmacy_prescription", args=[person.public_id, prescription.public_id]
        )
    query = {key: value for key, value in request.GET.items() if key in ("scope", "since")}
    return render(
        request,
        "professional/pharmacy/person.html",
        {
            "person": person,
            "prescriptions": prescriptions,
            "filters": filters,
            "scope": scope,
            "since": since,
            "page": page,
            # the gate reads one page at a time: a full page may have a next one
            "previous_page": page - 1 if page > 1 else None,
            "next_page": page + 1 if len(prescriptions) == PER_PAGE else None,
            "query": urlencode(query),
        },
        status=400 if filters.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@pharmacist_required
def summary(request):
    """The prescriptions of a scanned prescription summary: exactly those, denied ones included."""
    if request.method == "POST":
        form = SummarySearchForm(request.POST)
        if not form.is_valid():
            return _render_search_with_summary_error(request, form)
        barcode = form.cleaned_data["barcode"]
    else:
        form = SummarySearchForm()
        barcode = request.session.get(SUMMARY_SESSION_KEY)
        if not barcode:
            return redirect("professional:pharmacy_search")
    try:
        person, prescriptions = policy.for_pharmacy_summary(actor=request.actor, barcode=barcode)
    except Http404:
        # An unknown barcode: the gate logged the refusal; the pharmacist can scan again.
        request.session.pop(SUMMARY_SESSION_KEY, None)
        form.add_error(
            "barcode", _("No prescription summary has this barcode. Check the code and scan it again.")
        )
        return _render_search_with_summary_error(request, form)
    request.session[SUMMARY_SESSION_KEY] = barcode
    for prescription in prescriptions:
        _annotate(prescription)
        prescription.page_url = reverse(
            "professional:pharmacy_summary_prescription", args=[prescription.public_id]
        )
    return render(
        request,
        "professional/pharmacy/summary.html",
        {"person": person, "prescriptions": prescriptions, "summary_form": SummarySearchForm()},
    )


def _render_search_with_summary_error(request, summary_form):
    return render(
        request,
        "professional/pharmacy/search.html",
        {"form": PharmacySearchForm(), "summary_form": summary_form, "not_found": False},
        status=400,
    )


# -- one prescription -------------------------------------------------------------------------------------


class SummaryNotScanned(Exception):
    """The session holds no scanned summary (it ended, or another summary replaced it)."""


def _prescription(request, prescription_id: uuid.UUID, person_id: uuid.UUID | None) -> Prescription:
    """The prescription through the gate: found by identity code (person_id) or on the scanned summary.

    404, logged by the gate, when this pharmacy may not see it: no care relationship, a denial, another
    person's prescription, not on the summary, or no such prescription.
    """
    if person_id is not None:
        person = person_for_professional(actor=request.actor, public_id=person_id, action="person.view")
        return policy.for_professional(actor=request.actor, person=person).prescription(prescription_id)
    barcode = request.session.get(SUMMARY_SESSION_KEY)
    if not barcode:
        raise SummaryNotScanned
    return policy.summary_prescription(actor=request.actor, barcode=barcode, public_id=prescription_id)


def _urls(prescription: Prescription, person_id: uuid.UUID | None) -> dict[str, str]:
    """The addresses of the prescription's pages, and of the list it was found in (`list`)."""
    if person_id is not None:
        prefix, args = "professional:pharmacy_", [person_id, prescription.public_id]
        urls = {"list": reverse("professional:pharmacy_person", args=[person_id])}
    else:
        prefix, args = "professional:pharmacy_summary_", [prescription.public_id]
        urls = {"list": reverse("professional:pharmacy_summary")}
    urls.update({name: reverse(prefix + name, args=args) for name in PRESCRIPTION_PAGES})
    return urls


def _annotate(prescription: Prescription) -> Prescription:
    """What the pages show beside the stored fields: the amount left in packages, the grace month, and
    whether a reservation is still running."""
    today = timezone.localdate()
    product = prescription.product
    left = prescription.quantity_left
    prescription.packages_left = (
        (left / product.package_quantity).quantize(Decimal("0.1")).normalize()
        if product is not None and product.package_quantity
        else None
    )
    grace_end = dispensing.grace_ends_on(prescription)
    prescription.grace_end = grace_end if left > 0 else None
    prescription.in_grace = bool(
        prescription.grace_end and prescription.valid_until < today <= prescription.grace_end
    )
    prescription.past_validity = today > (prescription.grace_end or prescription.valid_until)
    prescription.reservation_live = bool(
        prescription.reserved_by_id
        and prescription.reserved_until is not None
        and prescription.reserved_until > timezone.now()
    )
    return prescription


def _products(prescription: Prescription):
    return dispensing.dispensable_products(prescription).order_by("name", "package_quantity", "vnr")


def _render_prescription(
    request,
    prescription: Prescription,
    person_id: uuid.UUID | None,
    *,
    dispense_form: DispenseForm | None = None,
    lock_form: LockForm | None = None,
    correction_form: TechnicalCorrectionForm | None = None,
    error: str = "",
    status: int = 200,
):
    _annotate(prescription)
    products = _products(prescription)
    own_pharmacy = request.unit.organisation_id
    if dispense_form is None:
        prescribed = prescription.product
        dispense_form = DispenseForm(
            products=products, initial={"product": prescribed.vnr if prescribed else None, "packages": 1}
        )
    open_status = prescription.status in DISPENSABLE_STATUSES
    locked = prescription.locked_by_id is not None
    reserved_here = prescription.reservation_live and prescription.reserved_by_id == own_pharmacy
    reserved_elsewhere = prescription.reservation_live and not reserved_here
    may_dispense = (
        open_status
        and not locked
        and not prescription.past_validity
        and prescription.quantity_left > 0
        and not prescription.person.is_deceased
    )
    return render(
        request,
        "professional/pharmacy/prescription.html",
        {
            "prescription": prescription,
            "person": prescription.person,
            "urls": _urls(prescription, person_id),
            "from_summary": person_id is None,
            "products": list(products),
            "dispensings": prescription.dispensings.all(),
            "cross_border_refusal": dispensing.cross_border_refusal_reason(prescription),
            "locked": locked,
            "reserved_here": reserved_here,
            "reserved_elsewhere": reserved_elsewhere,
            # A refused form is shown with its error even where the page would otherwise leave it out.
            "show_dispense": may_dispense or dispense_form.is_bound,
            "show_reserve": may_dispense and not reserved_here,
            "show_lock": (open_status and not locked) or (lock_form is not None and lock_form.is_bound),
            "show_correction": open_status or (correction_form is not None and correction_form.is_bound),
            "dispense_form": dispense_form,
            "lock_form": lock_form or LockForm(),
            "correction_form": correction_form
            or TechnicalCorrectionForm(
                initial={
                    "dosage": prescription.dosage,
                    "message_to_pharmacy": prescription.message_to_pharmacy,
                }
            ),
            "error": error,
            "reservation_hours": dispensing.RESERVATION_HOURS,
        },
        status=status,
    )


def _summary_gone(request):
    messages.error(request, _("Scan the prescription summary again."))
    return redirect("professional:pharmacy_search")


def prescription_page(view):
    """Fetch the prescription through the gate before the view; a lost summary sends back to the search."""

    @functools.wraps(view)
    def wrapped(request, prescription_id, person_id=None):
        try:
            prescription = _prescription(request, prescription_id, person_id)
        except SummaryNotScanned:
            return _summary_gone(request)
        return view(request, prescription, person_id)

    return wrapped


def _done(request, prescription: Prescription, person_id: uuid.UUID | None, message: str):
    messages.success(request, message)
    return redirect(_urls(prescription, person_id)["prescription"])


@require_GET
@pharmacist_required
@prescription_page
def prescription_detail(request, prescription, person_id):
    return _render_prescription(request, prescription, person_id)


@require_POST
@pharmacist_required
@prescription_page
def reserve(request, prescription, person_id):
    try:
        dispensing.reserve(actor=request.actor, prescription=prescription)
    except RuleViolation as violation:
        return _render_prescription(request, prescription, person_id, error=violation.message, status=400)
    return _done(
        request,
        prescription,
        person_id,
        _("The prescription is reserved for your pharmacy for %(hours)s hours or until it is dispensed.")
        % {"hours": dispensing.RESERVATION_HOURS},
    )


@require_POST
@pharmacist_required
@prescription_page
def release(request, prescription, person_id):
    try:
        dispensing.release_reservation(actor=request.actor, prescription=prescription)
    except RuleViolation as violation:
        return _render_prescription(request, prescription, person_id, error=violation.message, status=400)
    return _done(request, prescription, person_id, _("The reservation is released."))


@require_POST
@pharmacist_required
@prescription_page
def dispense(request, prescription, person_id):
    form = DispenseForm(request.POST, products=_products(prescription))
    if form.is_valid():
        try:
            dispensed = dispensing.dispense(
                actor=request.actor,
                prescription=prescription,
                product=form.cleaned_data["product"],
                packages=form.cleaned_data["packages"],
                price=form.cleaned_data["price"],
            )
        except RuleViolation as violation:
            add_violation(form, violation)
        else:
            return _done(
                request,
                prescription,
                person_id,
                _("Dispensed %(packages)s package(s) of %(product)s.")
                % {"packages": dispensed.packages, "product": dispensed.product.name},
            )
    return _render_prescription(request, prescription, person_id, dispense_form=form, status=400)


@require_POST
@pharmacist_required
@prescription_page
def lock(request, prescription, person_id):
    form = LockForm(request.POST)
    if form.is_valid():
        try:
            dispensing.lock(
                actor=request.actor, prescription=prescription, reason=form.cleaned_data["reason"]
            )
        except RuleViolation as violation:
            add_violation(form, violation)
        else:
            return _done(
                request,
                prescription,
                person_id,
                _("The prescription is locked until the prescriber corrects it."),
            )
    return _render_prescription(request, prescription, person_id, lock_form=form, status=400)


@require_POST
@pharmacist_required
@prescription_page
def correct(request, prescription, person_id):
    form = TechnicalCorrectionForm(request.POST)
    if form.is_valid():
        try:
            dispensing.technical_correction(
                actor=request.actor,
                prescription=prescription,
                dosage=form.cleaned_data["dosage"],
                message_to_pharmacy=form.cleaned_data["message_to_pharmacy"],
                note=form.cleaned_data["note"],
            )
        except RuleViolation as violation:
            add_violation(form, violation)
        else:
            return _done(request, prescription, person_id, _("The technical correction is saved."))
    return _render_prescription(request, prescription, person_id, correction_form=form, status=400)
