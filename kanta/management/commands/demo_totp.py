"""Print the current one-time code of a demo account (one that demo_data created).

Only devices with the published demo key are served: for any other account the command refuses, so it can
never read out a real user's second factor.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kanta import demo


class Command(BaseCommand):
    help = "Print the current 6-digit one-time code of a demo account created by demo_data."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--uri", action="store_true", help="Print the otpauth:// link for an authenticator app instead."
        )

    def handle(self, *args, username: str, uri: bool = False, **options):
        device = (
            TOTPDevice.objects.select_related("user")
            .filter(user__username=username, name=demo.DEMO_DEVICE_NAME, confirmed=True)
            .first()
        )
        if device is None or not demo.is_demo_device(device):
            raise CommandError(f"“{username}” is not a demo account created by demo_data.")
        if uri:
            self.stdout.write(device.config_url)
            return
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
