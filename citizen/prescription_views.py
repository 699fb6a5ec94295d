"""MyKanta prescriptions: the list with its filters, one prescription with its dispensings and history, renewal
requests and their status, the consent to use prescriptions abroad, the medication list, the per-prescription
denial of disclosure and the printable prescription summary with a barcode a pharmacy scans.

Every read goes through consents.policy.for_citizen (rule 6 and rule 8 of DOMAIN.md, "Who may see what"): the
person, a guardian of a child under 10, or a mandate holder. Views never query the prescription models
themselves; writes go through prescriptions.services, prescriptions.dispensing and consents.services, whose
RuleViolation is shown on the page, never as a server error.
"""

from __future__ import annotations

import base64
import io
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from citizen.decorators import citizen_required, declarations_allowed
from citizen.prescription_forms import (
    CrossBorderConsentForm,
    PrescriptionDenialForm,
    PrescriptionFilterForm,
    RenewalRequestForm,
)
from consents import policy
from consents import services as consent_services
from consents.models import Channel
from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import LegalBasis
from prescriptions import dispensing, rules, selectors, services
from prescriptions.models import CrossBorderCountry, Prescription, RenewalStatus
from prescriptions.pharmacy_selectors import valid_cross_border_consent

PAGE_SIZE = 50
# Page numbers beyond this are not offered: OFFSET grows with the page; the filters narrow a long history.
MAX_PAGE = 100
# The renewal form lists the prescriptions written within the longest renewal window: older ones can never be
# renewed, so listing them would only lengthen the page.
RENEWAL_CANDIDATES = 200
RENEWALS_SHOWN = 200
ABROAD_CHECKED = 200
SUMMARY_PRINT_STYLESHEET = "css/prescription-summary-print.css"


def _actor(request: HttpRequest) -> audit.Actor:
    return audit.Actor.from_request(request)


def _gate(request: HttpRequest) -> policy.Gate:
    return policy.for_citizen(actor=_actor(request), viewer=request.person, person=request.subject)


def _hidden_from_guardian(request: HttpRequest) -> bool:
    """Whether the gate shows this guardian none of the child's prescriptions (a child aged 10 or over).

    The gate has already decided and logged the refusal; this only chooses the explanation the page gives
    instead of an empty list that would look like "no prescriptions".
    """
    return (
        request.acting_basis == LegalBasis.GUARDIAN
        and request.subject.age >= policy.GUARDIAN_FULL_VIEW_UNTIL_AGE
    )


def _not_shown(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "citizen/prescriptions/not_shown.html",
        {"subject": request.subject, "age": policy.GUARDIAN_FULL_VIEW_UNTIL_AGE},
        status=403,
    )


def _page_number(request: HttpRequest) -> int:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


# -- amounts in words -----------------------------------------------------------------------------------------


def _number(value: Decimal) -> str:
    """200, not 200.00; 2,5 in Finnish."""
    value = value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
    return formats.number_format(value, use_l10n=True)


def amount_left(prescription: Prescription) -> dict:
    """What is left on the prescription in units and, where the product is known, in packages."""
    left = prescription.quantity_left
    units = _("%(units)s units") % {"units": _number(left)}
    product = prescription.product
    if product is None or not product.package_quantity:
        return {"units": units, "packages": ""}
    packages = left / product.package_quantity
    if packages == packages.to_integral_value():
        count = int(packages)
        text = ngettext("%(count)s package of %(size)s", "%(count)s packages of %(size)s", count) % {
            "count": count,
            "size": product.package_size,
        }
    else:
        text = _("about %(count)s packages of %(size)s") % {
            "count": _number(packages.quantize(Decimal("0.1"))),
            "size": product.package_size,
        }
    return {"units": units, "packages": text}


def _row(prescription: Prescription, today) -> dict:
    in_force = prescription.status in selectors.VALID_STATUSES
    status = getattr(prescription, "renewal_status", None)
    return {
        "prescription": prescription,
        "in_force": in_force,
        "expiring_soon": in_force and rules.expiring_soon(prescription.valid_until, today),
        "amount_left": amount_left(prescription),
        "renewal_status": RenewalStatus(status).label if status in RenewalStatus.values else "",
    }


# -- the list -------------------------------------------------------------------------------------------------


@require_safe
@citizen_required
def prescriptions(request: HttpRequest) -> HttpResponse:
    form = PrescriptionFilterForm.from_query(request.GET)
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "citizen/prescriptions/list.html",
            {"form": form, "in_force": [], "ended": []},
            status=400,
        )
    number = _page_number(request)
    # Exactly one page is read: a read on someone's behalf is logged item by item as shown.
    shown = _gate(request).prescriptions(
        **form.gate_filters(), limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, action="prescriptions.list"
    )
    if not shown and _hidden_from_guardian(request):
        return _not_shown(request)
    today = timezone.localdate()
    rows = [_row(p, today) for p in shown]
    query = form.query()
    has_next = len(shown) == PAGE_SIZE and number < MAX_PAGE
    return render(
        request,
        "citizen/prescriptions/list.html",
        {
            "form": form,
            # valid first, then expired and invalidated (the gate's order), each in its own section
            "in_force": [row for row in rows if row["in_force"]],
            "ended": [row for row in rows if not row["in_force"]],
            "summary_query": query,
            "page_number": number,
            "previous_query": _with_page(query, number - 1) if number > 1 else None,
            "next_query": _with_page(query, number + 1) if has_next else None,
        },
    )


def _with_page(query: str, number: int) -> str:
    return f"{query}&page={number}" if query else f"page={number}"


# -- one prescription -----------------------------------------------------------------------------------------


@require_safe
@citizen_required
def prescription(request: HttpRequest, prescription_id) -> HttpResponse:
    # 404 for a missing prescription and for one the reader may not see (logged when acting for another)
    shown = _gate(request).prescription(prescription_id, action="prescription.view")
    return render(request, "citizen/prescriptions/detail.html", _detail_context(request, shown))


def _detail_context(request: HttpRequest, shown: Prescription) -> dict:
    today = timezone.localdate()
    prescriber_name = shown.prescriber.user.get_full_name() if shown.prescriber_id else ""
    history = [
        {
            "event": event,
            # Who changed a prescription is named only when it is the prescriber the prescription itself
            # shows; other professionals (a pharmacist's lock, a colleague's correction) stay unnamed.
            "by_prescriber": prescriber_name if event.professional_id == shown.prescriber_id else "",
        }
        for event in shown.events.all()
    ]
    dispensings = [
        {
            "dispensing": d,
            "place": d.pharmacy.name
            if d.country == CrossBorderCountry.FINLAND and d.pharmacy_id
            else d.get_country_display(),
            "product": d.product.name if d.product_id else shown.medicine_name,
        }
        for d in shown.dispensings.all()
    ]
    return {
        "row": _row(shown, today),
        "prescription": shown,
        "prescriber_name": prescriber_name,
        "dispensings": dispensings,
        "history": history,
        "renewal_requests": list(shown.renewal_requests.all()),
        "renewed_as": list(shown.renewals.all()),
        "renewal_refusal": rules.renewal_refusal_reason(shown, today),
        "may_deny": policy.may_make_declarations(viewer=request.person, person=request.subject),
        "denial_form": PrescriptionDenialForm(),
    }


@require_POST
@citizen_required
@declarations_allowed
def prescription_denial(request: HttpRequest, prescription_id) -> HttpResponse:
    """Add or withdraw the denial of disclosure of one prescription (the person or a mandate holder)."""
    shown = _gate(request).prescription(prescription_id, action="prescription.view")
    form = PrescriptionDenialForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to deny or allow the disclosure."))
        return redirect("citizen:prescription", prescription_id=shown.public_id)
    who = {
        "actor": _actor(request),
        "person": request.subject,
        "acting_person": request.person,
        "prescription": shown,
        "channel": Channel.MYKANTA,
    }
    try:
        if form.cleaned_data["change"] == PrescriptionDenialForm.ADD:
            consent_services.prescription_denial_add(
                **who, emergency_permission=form.cleaned_data["emergency_permission"]
            )
            messages.success(
                request,
                _(
                    "The disclosure of %(medicine)s is now denied: pharmacies no longer find it by your identity "
                    "code, and only its prescriber and a professional renewing it see it."
                )
                % {"medicine": shown.medicine_name},
            )
        else:
            consent_services.prescription_denial_withdraw(**who)
            messages.success(
                request,
                _("You withdrew the denial: %(medicine)s is disclosed again as usual.")
                % {"medicine": shown.medicine_name},
            )
    except RuleViolation as violation:
        messages.error(request, violation.message)
    return redirect("citizen:prescription", prescription_id=shown.public_id)


# -- renewal requests -----------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@citizen_required
def renew(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    candidates = _gate(request).prescriptions(
        since=rules.add_months(today, -rules.RENEWAL_WINDOW_MONTHS),
        limit=RENEWAL_CANDIDATES,
        action="prescriptions.renewal_form",
    )
    if not candidates and _hidden_from_guardian(request):
        return _not_shown(request)
    # The same function the service asks, so the reason shown is the reason a request would be refused with.
    rows = [(p, rules.renewal_refusal_reason(p, today)) for p in candidates]
    units = list(selectors.renewable_units_for(request.subject))
    form = RenewalRequestForm(request.POST if request.method == "POST" else None, rows=rows, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            services.renewal_request_send(
                actor=_actor(request),
                person=request.subject,
                acting_person=request.person,
                prescriptions=form.chosen_prescriptions(),
                unit=form.chosen_unit(),
                phone=form.cleaned_data["phone"],
                on_behalf_basis=request.acting_basis if request.acting_for else "",
            )
        except RuleViolation as violation:
            form.add_error(violation.field if violation.field in form.fields else None, violation.message)
        else:
            messages.success(
                request,
                _("Your renewal request was sent to %(unit)s. You can follow it on this page.")
                % {"unit": form.chosen_unit().name},
            )
            return redirect("citizen:prescription_renewals")
    return render(
        request,
        "citizen/prescriptions/renew.html",
        {
            "form": form,
            "rows": [
                {"prescription": p, "reason": reason, "key": str(p.public_id)} for p, reason in form.rows
            ],
            "checked": form.checked(),
            "units": units,
            "any_renewable": any(reason is None for _p, reason in rows),
            "request_days": rules.RENEWAL_REQUEST_DAYS,
        },
        status=400 if form.errors else 200,
    )


@require_safe
@citizen_required
def renewals(request: HttpRequest) -> HttpResponse:
    requested = _gate(request).prescriptions(
        renewal_requested=True, limit=RENEWALS_SHOWN, action="renewal_requests.list"
    )
    if not requested and _hidden_from_guardian(request):
        return _not_shown(request)
    # The gate decided which prescriptions are visible; their requests are part of them.
    requests = (
        list(
            selectors.person_renewal_requests(person=request.subject).filter(
                prescription_id__in=[p.pk for p in requested]
            )[:RENEWALS_SHOWN]
        )
        if requested
        else []
    )
    return render(
        request,
        "citizen/prescriptions/renewals.html",
        {
            "requests": [
                {
                    "request": r,
                    "expires_at": rules.renewal_request_expires_at(r.sent_at)
                    if r.status == RenewalStatus.SENT
                    else None,
                }
                for r in requests
            ],
            "request_days": rules.RENEWAL_REQUEST_DAYS,
        },
    )


# -- using prescriptions abroad -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@citizen_required
def abroad(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = CrossBorderConsentForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose whether to give or withdraw the consent."))
            return redirect("citizen:prescription_abroad")
        who = {"actor": _actor(request), "person": request.subject, "acting_person": request.person}
        try:
            # The service refuses anyone but the person themself (never on behalf of another).
            if form.cleaned_data["change"] == CrossBorderConsentForm.GIVE:
                dispensing.cross_border_consent_give(**who)
                messages.success(request, _("You consented to using your prescriptions abroad."))
            else:
                dispensing.cross_border_consent_withdraw(**who)
                messages.success(request, _("You withdrew your consent to using your prescriptions abroad."))
        except RuleViolation as violation:
            messages.error(request, violation.message)
        return redirect("citizen:prescription_abroad")
    countries = sorted(
        (CrossBorderCountry(code).label for code in dispensing.CROSS_BORDER_COUNTRIES), key=str
    )
    context: dict = {"countries": countries, "consent": None, "not_usable": []}
    if request.acting_for is None:
        context["consent"] = valid_cross_border_consent(request.subject)
        in_force = _gate(request).prescriptions(
            valid_only=True, limit=ABROAD_CHECKED, action="prescriptions.cross_border"
        )
        context["not_usable"] = [
            {"prescription": p, "reason": reason}
            for p in in_force
            if (reason := dispensing.cross_border_refusal_reason(p))
        ]
    return render(request, "citizen/prescriptions/abroad.html", context)


# -- medication list ------------------------------------------------------------------------------------------


@require_safe
@citizen_required
def medication_list(request: HttpRequest) -> HttpResponse:
    rows = _gate(request).medication_list()
    if not rows and _hidden_from_guardian(request):
        return _not_shown(request)
    return render(
        request,
        "citizen/prescriptions/medication_list.html",
        {
            "rows": [
                {
                    "row": row,
                    "amount_left": _number(row.amount_left_all),
                    "place": _dispensing_place(row.last_dispensing),
                }
                for row in rows
            ]
        },
    )


def _dispensing_place(d) -> str:
    if d is None:
        return ""
    if d.country == CrossBorderCountry.FINLAND and d.pharmacy_id:
        return d.pharmacy.name
    return d.get_country_display()


# -- the printable summary ------------------------------------------------------------------------------------


@require_safe
@citizen_required
def summary_pdf(request: HttpRequest) -> HttpResponse:
    """The prescriptions the list's filters choose, as a PDF with a barcode a pharmacy scans.

    A GET that writes: every print makes its own PrescriptionSummary, so that the barcode on the paper names
    exactly the prescriptions printed on it and nothing added later.
    """
    form = PrescriptionFilterForm.from_query(request.GET)
    list_url = reverse("citizen:prescriptions")
    if form.is_bound and not form.is_valid():
        return redirect(f"{list_url}?{request.GET.urlencode()}")
    listed = _gate(request).prescriptions(
        **form.gate_filters(), limit=dispensing.SUMMARY_MAX_PRESCRIPTIONS, action="prescriptions.summary"
    )
    if not listed:
        if _hidden_from_guardian(request):
            return _not_shown(request)
        messages.info(request, _("No prescriptions match the filters, so there is nothing to print."))
        query = form.query()
        return redirect(f"{list_url}?{query}" if query else list_url)
    try:
        summary = dispensing.summary_create(
            actor=_actor(request),
            person=request.subject,
            prescriptions=listed,
            legal_basis=request.acting_basis,
        )
    except RuleViolation as violation:
        messages.error(request, violation.message)
        return redirect(list_url)
    today = timezone.localdate()
    pdf = render_summary_pdf(
        {
            "title": _("Prescription summary"),
            "person": request.subject,
            "summary": summary,
            "barcode_image": barcode_data_uri(summary.barcode),
            "rows": [_row(p, today) for p in listed],
            "filters": form.description(),
            "printed_at": timezone.localtime(),
        }
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    # The barcode in the file name too: the file the person keeps names the summary a pharmacy will fetch.
    response["Content-Disposition"] = f'attachment; filename="prescription-summary-{summary.barcode}.pdf"'
    return response


def barcode_data_uri(code: str) -> str:
    """The code as a Code 128 barcode in SVG, inlined as a data: URL for the print template."""
    import barcode
    from barcode.writer import SVGWriter

    buffer = io.BytesIO()
    # The text goes under the image in the page's own font, so the SVG holds the bars only.
    barcode.Code128(code, writer=SVGWriter()).write(buffer, options={"write_text": False})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@cache
def _summary_stylesheet():
    import weasyprint

    # Read from the file in static/, never fetched over the network.
    path = finders.find(SUMMARY_PRINT_STYLESHEET) or Path(settings.STATIC_ROOT) / SUMMARY_PRINT_STYLESHEET
    return weasyprint.CSS(string=Path(path).read_text(encoding="utf-8"))


def render_summary_pdf(context: dict) -> bytes:
    # Imported here: WeasyPrint is heavy to import and only the PDF downloads need it.
    import weasyprint
    from weasyprint.urls import URLFetcher

    html = render_to_string("citizen/prescriptions/print_summary.html", context)
    # Only inline data: URLs (the barcode) are loaded, so nothing on the page can make the server fetch a URL.
    inline_only = URLFetcher(allowed_protocols=("data",))
    return weasyprint.HTML(string=html, url_fetcher=inline_only).write_pdf(
        stylesheets=[_summary_stylesheet()]
    )
