"""The admin site: the Django admin behind the same second factor and lockout as the professionals' sign-in.

An administrator sees every person's identity and can change who works where: a password alone is not enough
(OWASP ASVS 2.2, multi-factor for administrative interfaces). The sign-in asks for username, password and the
one-time code of the account's TOTP device in one step, refuses without saying which of the three was wrong,
counts failures for the per-username lockout (kanta.lockout) and writes an audit event either way. Every
admin page then requires a session verified by that device (django-otp's OTPAdminSite).
"""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite

from kanta import audit
from kanta.lockout import is_locked_out, record_refused_sign_in, verified_device
from kanta.models import AuditCategory


class AdminSignInForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label=_("One-time code"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _("Username, password or one-time code is wrong."),
        "locked_out": _("Too many failed sign-in attempts. Try again later."),
    }

    def clean(self):
        username = self.cleaned_data.get("username", "")
        if is_locked_out(username):
            self._refuse(username, lockout=True)
        try:
            super().clean()  # password, active, staff
        except ValidationError:
            self._refuse(username, lockout=False)
        device = verified_device(self.user_cache, self.cleaned_data.get("otp_token", ""))
        if device is None:
            self._refuse(username, lockout=False)
        # django-otp marks the session as verified by this device when Django logs the user in.
        self.user_cache.otp_device = device
        with transaction.atomic():
            audit.record(
                actor=self._actor(),
                action="admin.login",
                category=AuditCategory.AUTHENTICATION,
                object_type="username",
                object_ids=[username],
            )
        return self.cleaned_data

    def _refuse(self, username: str, *, lockout: bool):
        record_refused_sign_in(self._actor(), action="admin.login", username=username, lockout=lockout)
        raise ValidationError(
            self.error_messages["locked_out" if lockout else "invalid_login"],
            code="locked_out" if lockout else "invalid_login",
        )

    def _actor(self) -> audit.Actor:
        meta = self.request.META if self.request is not None else {}
        return audit.Actor(
            user=self.user_cache,
            client_address=meta.get("REMOTE_ADDR") or None,
            user_agent=meta.get("HTTP_USER_AGENT", "")[:300],
        )


class KantaAdminSite(OTPAdminSite):
    site_header = "Kanta"
    site_title = "Kanta"
    login_form = AdminSignInForm
    login_template = "admin/kanta_login.html"
