"""MyKanta consents and prohibitions: the information notice, disclosure consents per sector, prohibitions with
a preview before saving, the research-contact prohibition and the history of every change.

Only the person or a mandate holder may change these (consents.policy.may_make_declarations); a guardian sees
an explanation instead. consents.services decides and records every change (channel MyKanta); its
RuleViolation is shown on the page, never as a server error.
"""

from __future__ import annotations

from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from citizen.decorators import citizen_required, declarations_allowed
from citizen.forms import ConsentChangeForm, ProhibitionForm, ResearchContactForm
from citizen.selectors import prohibition_targets
from consents import policy, selectors, services
from consents.models import Channel
from kanta import audit
from kanta.errors import RuleViolation

# The person's newest documents the prohibition form offers targets from (service events, counties,
# registers). Bounded so that the form costs one query however long the history is.
PROHIBITION_TARGET_DOCUMENTS = 1000
PREVIEW_SALT = "citizen.prohibition.preview"
PREVIEW_MAX_AGE = 60 * 60  # seconds: a preview left open longer is shown again before saving


def _actor(request: HttpRequest) -> audit.Actor:
    return audit.Actor.from_request(request)


def _who(request: HttpRequest) -> dict:
    """The keyword arguments every consents service takes about who acts for whom, and through which channel."""
    return {
        "actor": _actor(request),
        "person": request.subject,
        "acting_person": request.person,
        "channel": Channel.MYKANTA,
    }


# -- overview ------------------------------------------------------------------------------------------------


@require_safe
@citizen_required
@declarations_allowed
def consents(request: HttpRequest) -> HttpResponse:
    overview = selectors.declarations_overview(person=request.subject)
    return render(
        request,
        "citizen/consents.html",
        {
            "overview": overview,
            "history": selectors.declaration_history(person=request.subject),
            "notice_version": selectors.CURRENT_NOTICE_VERSION,
        },
    )


@require_http_methods(["GET", "POST"])
@citizen_required
@declarations_allowed
def notice(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            services.notice_acknowledge(**_who(request))
        except RuleViolation as violation:
            messages.error(request, violation.message)
            return redirect("citizen:notice")
        messages.success(request, _("You have acknowledged the information notice."))
        return redirect("citizen:consents")
    overview = selectors.declarations_overview(person=request.subject)
    return render(
        request,
        "citizen/notice.html",
        {"overview": overview, "notice_version": selectors.CURRENT_NOTICE_VERSION},
    )


@require_POST
@citizen_required
@declarations_allowed
def consent_change(request: HttpRequest) -> HttpResponse:
    form = ConsentChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the consent to give or withdraw."))
        return redirect("citizen:consents")
    sector, change = form.cleaned_data["sector"], form.cleaned_data["change"]
    try:
        if change == ConsentChangeForm.GIVE:
            consent = services.consent_give(**_who(request), sector=sector)
            messages.success(
                request, _("You gave consent: %(sector)s.") % {"sector": consent.get_sector_display()}
            )
        else:
            current = selectors.declarations_overview(person=request.subject).consents.get(sector)
            if current is None:
                raise RuleViolation(_("There is no valid consent to withdraw."), code="not_found")
            services.consent_withdraw(**_who(request), consent=current)
            messages.success(
                request, _("You withdrew consent: %(sector)s.") % {"sector": current.get_sector_display()}
            )
    except RuleViolation as violation:
        messages.error(request, violation.message)
    return redirect("citizen:consents")


@require_POST
@citizen_required
@declarations_allowed
def research_contact(request: HttpRequest) -> HttpResponse:
    form = ResearchContactForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether you want to prohibit contact."))
        return redirect("citizen:consents")
    prohibited = form.cleaned_data["prohibited"]
    try:
        services.research_contact_prohibition_set(**_who(request), prohibited=prohibited)
    except RuleViolation as violation:
        messages.error(request, violation.message)
    else:
        messages.success(
            request,
            _("Contact about research findings is now prohibited.")
            if prohibited
            else _("You withdrew the prohibition of contact about research findings."),
        )
    return redirect("citizen:consents")


# -- prohibitions --------------------------------------------------------------------------------------------


def _prohibition_form(request: HttpRequest, data=None) -> ProhibitionForm:
    documents = policy.for_citizen(
        actor=_actor(request), viewer=request.person, person=request.subject
    ).documents(social_welfare=False, limit=PROHIBITION_TARGET_DOCUMENTS, action="prohibition.targets")
    return ProhibitionForm(data, targets=prohibition_targets(documents))


def _render_form(request: HttpRequest, form: ProhibitionForm, *, status: int = 200) -> HttpResponse:
    return render(request, "citizen/prohibition_form.html", {"form": form}, status=status)


def _render_preview(
    request: HttpRequest, form: ProhibitionForm, *, notice: str = "", status: int = 200
) -> HttpResponse:
    try:
        preview = services.prohibition_preview(
            person=request.subject, scope=form.cleaned_data["scope"], **form.target()
        )
    except RuleViolation as violation:
        form.add_error(violation.field if violation.field in form.fields else None, violation.message)
        return _render_form(request, form, status=400)
    choice = form.choice()
    return render(
        request,
        "citizen/prohibition_preview.html",
        {
            "form": form,
            "preview": preview,
            "choice": choice,
            "token": signing.dumps(_signed_choice(request, choice), salt=PREVIEW_SALT),
            "notice": notice,
        },
        status=status,
    )


def _signed_choice(request: HttpRequest, choice: dict) -> dict:
    # The preview is for this subject and this exact choice: a token never carries over to another one.
    return {"subject": str(request.subject.public_id), **choice}


@require_http_methods(["GET", "POST"])
@citizen_required
@declarations_allowed
def prohibition_new(request: HttpRequest) -> HttpResponse:
    """The choice of what to prohibit; a POST here is the preview's "Back", with the choice kept."""
    return _render_form(request, _prohibition_form(request, request.POST or None))


@require_POST
@citizen_required
@declarations_allowed
def prohibition_preview(request: HttpRequest) -> HttpResponse:
    form = _prohibition_form(request, request.POST)
    if not form.is_valid():
        return _render_form(request, form, status=400)
    return _render_preview(request, form)


@require_POST
@citizen_required
@declarations_allowed
def prohibition_save(request: HttpRequest) -> HttpResponse:
    """Save exactly the choice the preview showed; anything else goes back to a (new) preview first."""
    form = _prohibition_form(request, request.POST)
    if not form.is_valid():
        return _render_form(request, form, status=400)
    try:
        previewed = signing.loads(request.POST.get("preview", ""), salt=PREVIEW_SALT, max_age=PREVIEW_MAX_AGE)
    except signing.BadSignature:
        previewed = None
    if previewed != _signed_choice(request, form.choice()):
        return _render_preview(
            request, form, notice=_("Check what the prohibition would hide before you save it.")
        )
    try:
        services.prohibition_add(
            **_who(request),
            scope=form.cleaned_data["scope"],
            emergency_permission=form.cleaned_data["emergency_permission"],
            **form.target(),
        )
    except RuleViolation as violation:
        form.add_error(violation.field if violation.field in form.fields else None, violation.message)
        return _render_form(request, form, status=400)
    messages.success(request, _("The prohibition is saved and applies from now on."))
    return redirect("citizen:consents")


@require_POST
@citizen_required
@declarations_allowed
def prohibition_withdraw(request: HttpRequest, prohibition_id) -> HttpResponse:
    overview = selectors.declarations_overview(person=request.subject)
    prohibition = next((p for p in overview.prohibitions if p.public_id == prohibition_id), None)
    try:
        if prohibition is None:
            raise RuleViolation(_("There is no such prohibition in force."), code="not_found")
        services.prohibition_withdraw(**_who(request), prohibition=prohibition)
    except RuleViolation as violation:
        messages.error(request, violation.message)
    else:
        messages.success(request, _("You withdrew the prohibition."))
    return redirect("citizen:consents")
