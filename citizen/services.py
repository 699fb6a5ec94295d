"""Writes the citizen makes: about themselves, about whose matters they handle, and requests they send.

Each runs in one transaction with its audit event.
"""

from __future__ import annotations

import datetime
import uuid

from django.db import transaction
from django.utils.translation import gettext as _

from consents import policy
from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import AuditCategory, AuditOutcome, DataType, LegalBasis, Person

ACTING_BASES = (LegalBasis.GUARDIAN, LegalBasis.MANDATE)


def person_set_preferred_language(*, actor: audit.Actor, person: Person, language: str) -> Person:
    """The citizen chooses the language Kanta uses with them (pages, letters, notifications)."""
    with transaction.atomic():
        person.preferred_language = language
        person.save(update_fields=["preferred_language"])
        audit.record(
            actor=actor,
            action="person.preferred_language",
            category=AuditCategory.CHANGE,
            person=person,
            data_type=DataType.IDENTITY,
            object_type="person",
            object_ids=[person.public_id],
            legal_basis=LegalBasis.SELF,
        )
    return person


def act_on_behalf(*, actor: audit.Actor, viewer: Person, public_id: uuid.UUID) -> tuple[Person, str]:
    """The signed-in `viewer` starts handling the matters of the person with `public_id`.

    consents.policy.acting_basis decides (guardian of a child under 18, or a health-care mandate in force).
    Allowed or refused, the attempt is one audit event with both identities: the viewer's user and the
    person acted for. A refusal is written in its own transaction, so that it stays when the caller shows the
    error, and raises RuleViolation.
    """
    subject = Person.objects.filter(public_id=public_id).first()
    basis = LegalBasis.NONE
    if subject is not None and subject.pk != viewer.pk:
        basis = policy.acting_basis(viewer=viewer, person=subject, for_prescriptions=True)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="citizen.act_on_behalf",
            category=AuditCategory.AUTHENTICATION,
            outcome=AuditOutcome.ALLOWED if basis in ACTING_BASES else AuditOutcome.REFUSED,
            person=subject,
            data_type=DataType.IDENTITY,
            object_type="person",
            object_ids=[public_id],
            legal_basis=basis if basis in ACTING_BASES else LegalBasis.NONE,
        )
    if basis not in ACTING_BASES:
        raise RuleViolation(
            _(
                "You cannot act on behalf of this person. A guardian acts for their child under 18, and an "
                "adult for another adult only with a valid mandate for health care matters."
            ),
            code="no_basis",
        )
    return subject, basis


def disclosure_log_view_record(*, actor: audit.Actor, person: Person, basis: str) -> None:
    """Someone acting for the person read the person's disclosure log: that is a read of their data too."""
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="disclosure_log.view",
            category=AuditCategory.ACCESS,
            person=person,
            data_type=DataType.IDENTITY,
            object_type="disclosure_log",
            legal_basis=basis,
        )


def disclosure_log_request(
    *,
    actor: audit.Actor,
    person: Person,
    basis: str,
    since: datetime.date,
    until: datetime.date,
    details: str = "",
) -> None:
    """The person asks for the disclosure log entries older than two years (DOMAIN.md, chosen).

    The request is recorded as an audit event for the controller to handle; the page confirms it.
    """
    if until < since:
        raise RuleViolation(_("The period cannot end before it starts."), code="period", field="until")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="disclosure_log.request",
            category=AuditCategory.CHANGE,
            person=person,
            data_type=DataType.IDENTITY,
            object_type="disclosure_log",
            purpose=f"{since.isoformat()}/{until.isoformat()}",
            legal_basis=basis,
            reason_text=details.strip(),
        )
