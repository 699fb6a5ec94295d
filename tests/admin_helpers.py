"""Signing in to the admin in tests: what kanta.admin_site's sign-in leaves in the session."""

from __future__ import annotations

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from kanta.models import User


def admin_login(client: Client, user: User) -> None:
    """Log `user` in with a session verified by a TOTP device of theirs, as the admin sign-in form does."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test authenticator", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
