"""The per-username lockout of every password sign-in (professionals and administrators).

Failures are counted in kanta.models.LoginFailure; once settings.LOGIN_FAILURE_LIMIT of them fall within
settings.LOGIN_FAILURE_WINDOW_SECONDS the username is refused even with correct credentials, until enough of
them have aged out of the window. Attempts refused by an active lockout are not counted again, so that
hammering a locked username cannot keep it locked for ever.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from kanta import audit
from kanta.models import AuditCategory, AuditOutcome, LoginFailure, User


def is_locked_out(username: str) -> bool:
    since = timezone.now() - datetime.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(username=username, occurred_at__gte=since)
    return recent.count() >= settings.LOGIN_FAILURE_LIMIT


def record_refused_sign_in(actor: audit.Actor, *, action: str, username: str, lockout: bool) -> None:
    """Count the failure (unless the lockout itself refused) and audit the refusal, in a transaction of
    their own: both are kept whatever happens to the request afterwards."""
    with transaction.atomic():
        if not lockout:
            LoginFailure.objects.create(username=username, client_address=actor.client_address)
        audit.record(
            actor=actor,
            action=action,
            category=AuditCategory.AUTHENTICATION,
            outcome=AuditOutcome.REFUSED,
            object_type="username",
            object_ids=[username],
            reason_text="lockout" if lockout else "",
        )


def verified_device(user: User, token: str) -> TOTPDevice | None:
    """The user's confirmed TOTP device that accepts `token`, or None."""
    # Row locks keep two simultaneous attempts from both spending the same code; verify_token also
    # refuses a code already used and applies django-otp's own throttling after wrong codes.
    with transaction.atomic():
        for device in TOTPDevice.objects.devices_for_user(user, confirmed=True).select_for_update():
            if device.verify_token(token):
                return device
    return None
