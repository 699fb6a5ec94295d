"""The Prescription Centre's nightly jobs, as thin Celery tasks over prescriptions.services.

Each job is idempotent (a second run the same night changes nothing), so a redelivered message is harmless
and the tasks acknowledge late. Scheduled in kanta/settings.py (CELERY_BEAT_SCHEDULE).
"""

from __future__ import annotations

from celery import shared_task

from prescriptions import services


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def expire_prescriptions() -> int:
    """Mark expired the prescriptions past their last dispensable day; returns how many."""
    return services.expire_prescriptions()


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def invalidate_prescriptions_of_deceased() -> int:
    """Invalidate the prescriptions in force of persons who have died; returns how many."""
    return services.invalidate_prescriptions_of_deceased()


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def expire_renewal_requests() -> int:
    """Mark expired the renewal requests left unhandled for 8 days; returns how many."""
    return services.expire_renewal_requests()
