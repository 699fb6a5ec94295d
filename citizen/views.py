"""MyKanta pages: identification, the front page and the citizen's own settings."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from citizen import oidc
from citizen.acting import attach_subject, start_acting, stop_acting
from citizen.decorators import citizen_required
from citizen.forms import ActOnBehalfForm, IdentityCodeForm, PreferredLanguageForm
from citizen.identification import (
    NEXT_SESSION_KEY,
    SignInRefused,
    safe_next,
    sign_in,
    sign_out,
    signed_in_person,
)
from citizen.selectors import acting_candidates, children_in_care
from citizen.services import act_on_behalf, person_set_preferred_language
from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import Language, Person

# The test identification page lists at most this many persons at a time.
TEST_PERSONS_PER_PAGE = 50


# -- front page --------------------------------------------------------------------------------------------


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    person = signed_in_person(request)
    if person is None:
        return render(request, "citizen/home.html", {"person": None})
    attach_subject(request, person)
    return _render_home(
        request, person, PreferredLanguageForm(initial={"language": person.preferred_language})
    )


def _render_home(
    request: HttpRequest, person: Person, language_form: PreferredLanguageForm, status: int = 200
):
    children = children_in_care(guardian=person)
    return render(
        request,
        "citizen/home.html",
        {
            "person": person,
            # The calling name is usually the first of the first names.
            "first_name": (person.first_names.split() or [person.first_names])[0],
            "children": children,
            "candidates": acting_candidates(viewer=person, children=children),
            "language_form": language_form,
        },
        status=status,
    )


@require_POST
@citizen_required
def change_language(request: HttpRequest) -> HttpResponse:
    form = PreferredLanguageForm(request.POST)
    if not form.is_valid():
        return _render_home(request, request.person, form, status=400)
    language = form.cleaned_data["language"]
    person_set_preferred_language(
        actor=audit.Actor.from_request(request), person=request.person, language=language
    )
    # The pages switch too, the way django.views.i18n.set_language does it.
    translation.activate(language)
    messages.success(
        request,
        _("Your preferred language is now %(language)s.") % {"language": Language(language).label},
    )
    response = redirect("citizen:home")
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


# -- whose matters -----------------------------------------------------------------------------------------


@require_POST
@citizen_required
def switch_subject(request: HttpRequest) -> HttpResponse:
    """The "Whose matters" switcher: the person's own matters, a child's or a mandate principal's."""
    form = ActOnBehalfForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whose matters you want to handle."))
        return redirect("citizen:home")
    public_id = form.cleaned_data["person"]
    if public_id == request.person.public_id:
        stop_acting(request)
        messages.success(request, _("You now see your own matters."))
        return redirect("citizen:home")
    try:
        subject, _basis = act_on_behalf(
            actor=audit.Actor.from_request(request), viewer=request.person, public_id=public_id
        )
    except RuleViolation as refusal:
        # Whoever was acted for before stays so only while acting_basis still holds (checked per request).
        messages.error(request, refusal.message)
        return redirect("citizen:home")
    start_acting(request, subject)
    messages.success(request, _("You are now acting on behalf of %(name)s.") % {"name": subject.full_name})
    return redirect("citizen:home")


# -- identification ----------------------------------------------------------------------------------------


@require_safe
def login_chooser(request: HttpRequest) -> HttpResponse:
    next_path = safe_next(request, request.GET.get("next"))
    if signed_in_person(request) is not None:
        return HttpResponseRedirect(next_path or reverse("citizen:home"))
    return render(
        request,
        "citizen/login.html",
        {
            "next": next_path,
            "oidc_configured": oidc.is_configured(),
            "test_identification_enabled": settings.TEST_IDENTIFICATION,
        },
    )


@require_http_methods(["GET", "POST"])
def test_identification(request: HttpRequest) -> HttpResponse:
    """The stand-in for the national identification service's test environment (demo and tests only)."""
    if not settings.TEST_IDENTIFICATION:
        raise Http404
    next_path = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = IdentityCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sign_in(request, code=form.cleaned_data["identity_code"])
        except SignInRefused as refusal:
            form.add_error("identity_code", refusal.message)
        else:
            return HttpResponseRedirect(next_path or reverse("citizen:home"))
    test_persons = (
        Person.objects.alive()
        # Individual number 900-999: the ninth character of the code is 9.
        .filter(identity_code__regex=r"^.{7}9")
        .order_by("last_name", "first_names", "id")
        .only("public_id", "identity_code", "first_names", "last_name")
    )
    page = Paginator(test_persons, TEST_PERSONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "citizen/test_identification.html",
        {"form": form, "page": page, "next": next_path},
        status=400 if form.errors else 200,
    )


@require_GET
def oidc_start(request: HttpRequest) -> HttpResponse:
    if not oidc.is_configured():
        raise Http404
    next_path = safe_next(request, request.GET.get("next"))
    if next_path:
        request.session[NEXT_SESSION_KEY] = next_path
    else:
        request.session.pop(NEXT_SESSION_KEY, None)
    try:
        return oidc.start(request, redirect_uri=request.build_absolute_uri(reverse("citizen:oidc_callback")))
    except oidc.IdentificationFailed as failure:
        return _error_page(request, failure.message, status=503)


@require_GET
def oidc_callback(request: HttpRequest) -> HttpResponse:
    if not oidc.is_configured():
        raise Http404
    next_path = safe_next(request, request.session.pop(NEXT_SESSION_KEY, None))
    try:
        code = oidc.identify(request)
        sign_in(request, code=code)
    except (oidc.IdentificationFailed, SignInRefused) as failure:
        return _error_page(request, failure.message, status=400)
    return HttpResponseRedirect(next_path or reverse("citizen:home"))


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    sign_out(request)
    return redirect("citizen:home")


def _error_page(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "citizen/error.html", {"message": message}, status=status)
