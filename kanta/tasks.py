"""Periodic jobs of the core."""

from __future__ import annotations

from celery import shared_task

from kanta import audit


# Idempotent: a second run finds nothing unsealed, so a redelivered message is harmless.
@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def seal_audit_log() -> int:
    """Seal every audit event written since the last run; returns how many were sealed."""
    sealed = audit.seal()
    return sealed.event_count if sealed else 0
