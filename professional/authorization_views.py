"""Purchased-service authorizations (ostopalvelun valtuutus).

The organiser's professional creates an authorization for one of its organisation's registers, for one
patient or for the whole register, and edits it later (names the producer, moves the end date, rewrites the
ordered service). The producer's professional lists every authorization granted to its organisation.
archive.services decides who may create and edit; its RuleViolation is shown on the form.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from archive import selectors as archive_selectors
from archive import services
from archive.models import AuthorizationScope
from kanta import services as core_services
from kanta.errors import RuleViolation
from kanta.models import Register
from professional import writing
from professional.decorators import professional_required
from professional.forms import AuthorizationCreateForm, AuthorizationEditForm

PER_PAGE = 25
# What archive.services calls a field, and what the form calls it.
FIELD_NAMES = {"person": "identity_code"}


@require_GET
@professional_required
def authorizations(request):
    organisation = request.unit.organisation
    received = Paginator(archive_selectors.authorizations_received(organisation=organisation), PER_PAGE)
    given = Paginator(archive_selectors.authorizations_given(organisation=organisation), PER_PAGE)
    return render(
        request,
        "professional/authorizations.html",
        {
            "organisation": organisation,
            "received": received.get_page(request.GET.get("received")),
            "given": given.get_page(request.GET.get("given")),
            "received_page": request.GET.get("received", ""),
            "given_page": request.GET.get("given", ""),
        },
    )


def _own_registers(request) -> list[Register]:
    return list(
        Register.objects.select_related("controller")
        .filter(controller_id=request.unit.organisation_id)
        .order_by("kind")
    )


@require_http_methods(["GET", "POST"])
@professional_required
def authorization_create(request):
    registers = _own_registers(request)
    choices = [(str(r.public_id), f"{r.controller.name}: {r.get_kind_display()}") for r in registers]
    form = AuthorizationCreateForm(request.POST or None, register_choices=choices)
    if request.method == "POST" and form.is_valid():
        person = None
        if form.cleaned_data["scope"] == AuthorizationScope.PATIENT:
            # The same logged identity-code search as on the front page; the code is never put in a URL.
            person = core_services.person_find_by_identity_code(
                actor=request.actor, identity_code=form.cleaned_data["identity_code"]
            )
            if person is None:
                form.add_error("identity_code", _("No person with this identity code was found."))
        if not form.errors:
            register = next(r for r in registers if str(r.public_id) == form.cleaned_data["register"])
            try:
                authorization = services.authorization_create(
                    actor=request.actor,
                    register=register,
                    scope=form.cleaned_data["scope"],
                    person=person,
                    producer=form.cleaned_data["producer"],
                    starts_on=form.cleaned_data["starts_on"],
                    ends_on=form.cleaned_data["ends_on"],
                    ordered_service=form.cleaned_data["ordered_service"],
                )
            except RuleViolation as violation:
                writing.add_violation(form, violation, fields=FIELD_NAMES)
            else:
                messages.success(request, _("The purchased-service authorization is created."))
                return redirect("professional:authorization_edit", authorization_id=authorization.public_id)
    return render(
        request,
        "professional/authorization_form.html",
        {"form": form, "authorization": None, "has_registers": bool(registers)},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@professional_required
def authorization_edit(request, authorization_id):
    # Only the organiser's own authorizations; any other is as good as missing.
    authorization = (
        archive_selectors.authorizations_given(organisation=request.unit.organisation)
        .filter(public_id=authorization_id)
        .first()
    )
    if authorization is None:
        raise Http404
    form = AuthorizationEditForm(
        request.POST or None,
        producer_named=authorization.producer_id is not None,
        initial={
            "ends_on": authorization.ends_on,
            "ordered_service": authorization.ordered_service,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.authorization_update(
                actor=request.actor,
                authorization=authorization,
                producer=form.cleaned_data.get("producer"),
                ends_on=form.cleaned_data["ends_on"],
                ordered_service=form.cleaned_data["ordered_service"],
            )
        except RuleViolation as violation:
            writing.add_violation(form, violation)
        else:
            messages.success(request, _("The purchased-service authorization is saved."))
            return redirect("professional:authorization_edit", authorization_id=authorization.public_id)
    return render(
        request,
        "professional/authorization_form.html",
        {"form": form, "authorization": authorization},
        status=400 if form.errors else 200,
    )
