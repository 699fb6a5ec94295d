"""MyKanta declarations of intent: the living will and the organ donation will. Write, edit, delete (after a
confirmation) and print as PDF.

The wills are read through the disclosure gate (consents.policy.for_citizen(...).declarations()) and written
through consents.services, which keep every earlier version. A guardian gets an explanation instead
(citizen.decorators.declarations_allowed).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from citizen.decorators import citizen_required, declarations_allowed
from citizen.forms import LivingWillForm, OrganDonationWillForm
from consents import policy, services
from consents.models import Channel
from kanta import audit
from kanta.errors import RuleViolation

PRINT_STYLESHEET = "css/declaration-print.css"
LIVING_WILL = "living-will"
ORGAN_DONATION = "organ-donation-will"


def _actor(request: HttpRequest) -> audit.Actor:
    return audit.Actor.from_request(request)


def _who(request: HttpRequest) -> dict:
    return {
        "actor": _actor(request),
        "person": request.subject,
        "acting_person": request.person,
        "channel": Channel.MYKANTA,
    }


def _wills(request: HttpRequest):
    """(living will, organ donation will), each None when there is none; a read through the gate."""
    gate = policy.for_citizen(actor=_actor(request), viewer=request.person, person=request.subject)
    return gate.declarations()


@require_safe
@citizen_required
@declarations_allowed
def declarations(request: HttpRequest) -> HttpResponse:
    living_will, donation_will = _wills(request)
    return render(
        request, "citizen/declarations.html", {"living_will": living_will, "donation_will": donation_will}
    )


# -- living will ---------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@citizen_required
@declarations_allowed
def living_will_edit(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = LivingWillForm(request.POST)
        if form.is_valid():
            try:
                services.living_will_save(**_who(request), text=form.cleaned_data["text"])
            except RuleViolation as violation:
                form.add_error("text" if violation.field == "text" else None, violation.message)
            else:
                messages.success(request, _("Your living will is saved."))
                return redirect("citizen:declarations")
        return render(request, "citizen/living_will_form.html", {"form": form}, status=400)
    living_will, _donation = _wills(request)
    form = LivingWillForm(initial={"text": living_will.text} if living_will else None)
    return render(request, "citizen/living_will_form.html", {"form": form, "living_will": living_will})


# -- organ donation will -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@citizen_required
@declarations_allowed
def organ_donation_edit(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = OrganDonationWillForm(request.POST)
        if form.is_valid():
            try:
                services.organ_donation_will_save(
                    **_who(request),
                    consents_to_donation=form.cleaned_data["consents_to_donation"],
                    restrictions=form.cleaned_data["restrictions"],
                )
            except RuleViolation as violation:
                form.add_error(
                    "restrictions" if violation.field == "restrictions" else None, violation.message
                )
            else:
                messages.success(request, _("Your organ donation will is saved."))
                return redirect("citizen:declarations")
        return render(request, "citizen/organ_donation_form.html", {"form": form}, status=400)
    _living, donation_will = _wills(request)
    initial = None
    if donation_will is not None:
        initial = {
            "consents_to_donation": "yes" if donation_will.consents_to_donation else "no",
            "restrictions": donation_will.restrictions,
        }
    form = OrganDonationWillForm(initial=initial)
    return render(request, "citizen/organ_donation_form.html", {"form": form, "donation_will": donation_will})


# -- delete (with a confirmation step) -----------------------------------------------------------------------

_DELETE = {
    LIVING_WILL: {
        "service": services.living_will_delete,
        "title": lambda: _("Delete your living will?"),
        "done": lambda: _("Your living will is deleted."),
    },
    ORGAN_DONATION: {
        "service": services.organ_donation_will_delete,
        "title": lambda: _("Delete your organ donation will?"),
        "done": lambda: _("Your organ donation will is deleted."),
    },
}


@require_http_methods(["GET", "POST"])
@citizen_required
@declarations_allowed
def declaration_delete(request: HttpRequest, kind: str) -> HttpResponse:
    spec = _DELETE[kind]
    if request.method == "POST":
        try:
            spec["service"](**_who(request))
        except RuleViolation as violation:
            messages.error(request, violation.message)
        else:
            messages.success(request, spec["done"]())
        return redirect("citizen:declarations")
    living_will, donation_will = _wills(request)
    will = living_will if kind == LIVING_WILL else donation_will
    if will is None:
        messages.info(request, _("There is nothing to delete."))
        return redirect("citizen:declarations")
    return render(
        request, "citizen/declaration_delete.html", {"kind": kind, "title": spec["title"](), "will": will}
    )


# -- printable PDF -------------------------------------------------------------------------------------------


@cache
def _print_stylesheet():
    import weasyprint

    # The print layout has its own stylesheet in static/, read from the file (never fetched over the network).
    path = finders.find(PRINT_STYLESHEET) or Path(settings.STATIC_ROOT) / PRINT_STYLESHEET
    return weasyprint.CSS(string=Path(path).read_text(encoding="utf-8"))


def render_pdf(template: str, context: dict) -> bytes:
    # Imported here: WeasyPrint is heavy to import and only the PDF downloads need it.
    import weasyprint
    from weasyprint.urls import URLFetcher

    html = render_to_string(template, context)
    # No protocol allowed: the print templates reference no images, fonts or other URLs, so whatever a
    # person typed into their will can never make the server fetch anything.
    no_fetching = URLFetcher(allowed_protocols=())
    return weasyprint.HTML(string=html, url_fetcher=no_fetching).write_pdf(stylesheets=[_print_stylesheet()])


@require_safe
@citizen_required
@declarations_allowed
def declaration_pdf(request: HttpRequest, kind: str) -> HttpResponse:
    living_will, donation_will = _wills(request)
    will = living_will if kind == LIVING_WILL else donation_will
    if will is None:
        messages.info(request, _("There is nothing to print yet."))
        return redirect("citizen:declarations")
    template = (
        "citizen/print/living_will.html" if kind == LIVING_WILL else "citizen/print/organ_donation_will.html"
    )
    title = _("Living will") if kind == LIVING_WILL else _("Organ donation will")
    pdf = render_pdf(
        template,
        {"will": will, "person": request.subject, "title": title, "printed_at": timezone.localtime()},
    )
    # e.g. living-will-virtanen-2025-05-31.pdf (hoitotahto-... in Finnish): what, whose, and when printed
    filename = "-".join(
        [
            slugify(title) or kind,
            slugify(request.subject.last_name) or "kanta",
            f"{timezone.localdate():%Y-%m-%d}",
        ]
    )
    filename = f"{filename}.pdf"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
