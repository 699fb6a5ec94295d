"""View decorators of the MyKanta pages."""

from __future__ import annotations

import functools

from django.http import HttpRequest
from django.shortcuts import render

from citizen.acting import attach_subject
from citizen.identification import redirect_to_login, signed_in_person
from consents import policy


def citizen_required(view):
    """The view needs a signed-in citizen: it gets request.person, anyone else goes to the login page.

    It also gets request.subject, whose matters the page handles (the person, or someone they act for,
    re-checked on every request: citizen.acting), request.acting_basis and request.acting_for.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        person = signed_in_person(request)
        if person is None:
            # Only a page one can come back to with a GET is worth returning to after signing in.
            next_path = request.get_full_path() if request.method == "GET" else None
            return redirect_to_login(request, next_path)
        attach_subject(request, person)
        return view(request, *args, **kwargs)

    return wrapper


def declarations_allowed(view):
    """Consents, prohibitions, declarations of intent and the disclosure log are the person's own or a mandate
    holder's to handle, never a guardian's for a child (consents.policy.may_make_declarations, DOMAIN.md rule
    8). Anyone else gets an explanation instead of the page. Put it below citizen_required."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not policy.may_make_declarations(viewer=request.person, person=request.subject):
            return render(request, "citizen/not_allowed.html", {"subject": request.subject}, status=403)
        return view(request, *args, **kwargs)

    return wrapper
