"""Recompute the audit log's hash chain and seals and say whether anything sealed has changed (docs/audit.md).

Exit status 0 when the log is intact, 1 at the first event or seal that no longer matches, so that a cron job
or a monitoring check can alert on it.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kanta import audit


class Command(BaseCommand):
    # argparse needs plain strings: command help stays in English, like Django's own commands.
    help = (
        "Verify the audit log: recompute the hash chain over every sealed event and every seal. Exits with "
        "status 1 and names the first event or seal that no longer matches."
    )

    def handle(self, *args, **options) -> None:
        result = audit.verify_log()
        if result.mismatch is not None:
            mismatch = result.mismatch
            if mismatch.kind == "seal":
                message = _("Audit log tampered: seal %(id)s: %(problem)s.")
            else:
                message = _("Audit log tampered: event %(id)s: %(problem)s.")
            raise CommandError(message % {"id": mismatch.ident, "problem": mismatch.detail}, returncode=1)
        self.stdout.write(
            self.style.SUCCESS(
                _("Audit log intact: %(events)s events in %(seals)s seals")
                % {"events": result.events, "seals": result.seals}
            )
        )
        if result.latest_seal is not None and options["verbosity"] >= 1:
            # Compare this with the seal hash the sealing job logged: only that copy, kept outside the
            # database, shows whether the newest seals were removed together with their events.
            self.stdout.write(
                _("Newest seal %(id)s, sealed at %(sealed_at)s: %(hash)s")
                % {
                    "id": result.latest_seal.pk,
                    "sealed_at": result.latest_seal.sealed_at.isoformat(timespec="seconds"),
                    "hash": result.latest_seal.seal_hash,
                }
            )
        if result.unsealed_events and options["verbosity"] >= 1:
            self.stdout.write(
                _("%(count)s newer events are not sealed yet; the next sealing run covers them.")
                % {"count": result.unsealed_events}
            )
