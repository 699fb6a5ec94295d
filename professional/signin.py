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
from kanta.lockout import count_failure, is_locked_out, verified_device
from kanta.models import AuditCategory, AuditOutcome, Professional, User

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
    # Its own transaction: the refusal is kept whatever happens to the request afterwards.
    with transaction.atomic():
        if not lockout:  # a refusal by the lockout itself is not counted again (kanta.lockout)
            count_failure(username, actor.client_address)
        audit.record(
            actor=actor,
            action="professional.login",
            category=AuditCategory.AUTHENTICATION,
            outcome=AuditOutcome.REFUSED,
            object_type="username",
            object_ids=[username],
            reason_text="lockout" if lockout else "",
        )
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
