"""Write use cases of the core. Each runs in one transaction and writes its audit event in it."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import AuditCategory, AuditOutcome, CareRelationship, DataType, LegalBasis, Person


def care_relationship_confirm(*, actor: audit.Actor, person: Person, reason: str) -> CareRelationship:
    """The professional confirms that the unit they work in has a care relationship with the person.

    An active relationship of the same unit is extended rather than duplicated.
    """
    if actor.professional is None or actor.unit is None:
        raise RuleViolation(_("Choose the unit you work in before opening a person's data."))
    if not actor.professional.units.filter(pk=actor.unit.pk).exists():
        raise RuleViolation(_("You do not work in this unit."))
    now = timezone.now()
    ends_at = now + datetime.timedelta(days=settings.CARE_RELATIONSHIP_DAYS)
    with transaction.atomic():
        relationship = (
            CareRelationship.objects.select_for_update()
            .active(now)
            .filter(person=person, unit=actor.unit)
            .first()
        )
        if relationship is None:
            relationship = CareRelationship.objects.create(
                person=person,
                unit=actor.unit,
                confirmed_by=actor.professional,
                reason=reason,
                starts_at=now,
                ends_at=ends_at,
            )
        else:
            relationship.ends_at = ends_at
            relationship.reason = reason
            relationship.confirmed_by = actor.professional
            relationship.save(update_fields=["ends_at", "reason", "confirmed_by"])
        audit.record(
            actor=actor,
            action="care_relationship.confirm",
            category=AuditCategory.CHANGE,
            person=person,
            data_type=DataType.IDENTITY,
            object_type="care_relationship",
            object_ids=[relationship.public_id],
            purpose=reason,
            legal_basis=LegalBasis.CARE_RELATIONSHIP,
        )
    return relationship


def person_find_by_identity_code(*, actor: audit.Actor, identity_code: str) -> Person | None:
    """Look a person up by a validated identity code for a professional; the search itself is audited.

    Finding someone reveals only that the person exists; their details are shown after a care relationship
    (kanta.access). The code is not written into the log: a miss names nobody, a hit names the person.
    """
    with transaction.atomic():
        person = Person.objects.filter(identity_code=identity_code).first()
        audit.record(
            actor=actor,
            action="person.search",
            category=AuditCategory.ACCESS,
            outcome=AuditOutcome.ALLOWED if person is not None else AuditOutcome.REFUSED,
            person=person,
            data_type=DataType.IDENTITY,
            object_type="person" if person is not None else "",
            object_ids=[person.public_id] if person is not None else [],
        )
    return person
