"""Professional sign-in: username, password and a one-time code in one step, with a per-username lockout.

A refusal never says which of the three was wrong, so that the form cannot be used to find out which
usernames exist or which passwords are right. The lockout (kanta.lockout) is the administrators' too.
"""

from __future__ import annotations

from typing import NoReturn

import django_otp
from django.contrib import auth
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from kanta import audit
from kanta.lockout import is_locked_out, record_refused_sign_in, verified_device
from kanta.models import AuditCategory, Professional, User

WRONG_CREDENTIALS = _("Username, password or one-time code is wrong.")
LOCKED_OUT = _("Too many failed sign-in attempts. Try again later.")

# The session flag kanta.context_processors.identity reads to show the professional header.
SESSION_FLAG = "professional"


class SignInRefused(Exception):
    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


def _refuse(
    request, *, username: str, user: User | None, professional: Professional | None, lockout: bool
) -> NoReturn:
    actor = audit.Actor(
        user=user,
        professional=professional,
        client_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )
    record_refused_sign_in(actor, action="professional.login", username=username, lockout=lockout)
    raise SignInRefused(LOCKED_OUT if lockout else WRONG_CREDENTIALS)


def sign_in(request, *, username: str, password: str, token: str) -> Professional:
    """Sign the professional in and mark the session as OTP-verified, or raise SignInRefused."""
    if is_locked_out(username):
        _refuse(request, username=username, user=None, professional=None, lockout=True)
    user = auth.authenticate(request, username=username, password=password)
    professional = (
        Professional.objects.select_related("user").filter(user=user).first() if user is not None else None
    )
    device = verified_device(user, token) if professional is not None else None
    if device is None:
        _refuse(request, username=username, user=user, professional=professional, lockout=False)
    # A successful sign-in deliberately leaves earlier failures in place: they age out of the window.
    auth.login(request, user)  # cycles the session key (and flushes another user's session)
    django_otp.login(request, device)
    request.session[SESSION_FLAG] = True
    with transaction.atomic():
        audit.record(
            actor=audit.Actor.from_request(request, professional=professional),
            action="professional.login",
            category=AuditCategory.AUTHENTICATION,
            object_type="username",
            object_ids=[username],
        )
    return professional
