"""The one gate in front of every professional page: signed in here, OTP-verified, working in a chosen unit."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from kanta.audit import Actor
from kanta.models import Professional, Unit
from professional.signin import SESSION_FLAG

# The id of the unit the professional chose to work in for this session.
UNIT_SESSION_KEY = "professional_unit_id"


def _signed_in_professional(request) -> tuple[Professional | None, Unit | None]:
    """The signed-in professional and the unit chosen for this session, both read fresh on every request:
    the unit only while the professional still works in it (else None)."""
    user = request.user
    # A citizen session, a password-only session (admin) or a session without a verified device is not
    # a professional session, even for a user who also has a Professional row.
    if not (user.is_authenticated and request.session.get(SESSION_FLAG) and user.is_verified()):
        return None, None
    unit_id = request.session.get(UNIT_SESSION_KEY)
    if unit_id is not None:
        # The usual case in one query: the membership row names both the professional and the unit.
        membership = (
            Professional.units.through.objects.select_related("professional", "unit__organisation")
            .filter(professional__user=user, unit_id=unit_id)
            .first()
        )
        if membership is not None:
            professional = membership.professional
            professional.user = user
            return professional, membership.unit
    professional = Professional.objects.filter(user=user).first()
    if professional is not None:
        professional.user = user
    return professional, None


def professional_required(view=None, *, unit_required: bool = True):
    """Let the view run only for a signed-in, OTP-verified professional (and, by default, a chosen unit).

    Sets request.professional, request.unit (None when not required and not chosen) and request.actor, the
    kanta.audit.Actor every service and access check of the page is given.
    """

    def decorator(view_func):
        @functools.wraps(view_func)
        def wrapped(request, *args, **kwargs):
            professional, unit = _signed_in_professional(request)
            if professional is None:
                return redirect("professional:login")
            if unit is None and request.session.get(UNIT_SESSION_KEY) is not None:
                # Checked on every request: the professional may have left the unit since choosing it.
                del request.session[UNIT_SESSION_KEY]
                messages.warning(request, _("You no longer work in the unit you chose. Choose again."))
            if unit is None and unit_required:
                return redirect("professional:choose_unit")
            request.professional = professional
            request.unit = unit
            request.actor = Actor.from_request(request, professional=professional, unit=unit)
            return view_func(request, *args, **kwargs)

        return wrapped

    return decorator(view) if view is not None else decorator
