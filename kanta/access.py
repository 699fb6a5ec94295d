"""Person-level access for professionals: without an active care relationship, nothing of the person.

This is the first rule of the disclosure gate (DOMAIN.md, "Who may see what"); the gate for documents and
other data composes it. A refused person answers 404, the same as a missing one, and the refusal is logged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.http import Http404

from kanta import audit
from kanta.models import AuditCategory, AuditEvent, CareRelationship, DataType, LegalBasis, Person


def active_care_relationship(*, person: Person, unit) -> CareRelationship | None:
    return CareRelationship.objects.active().filter(person=person, unit=unit).order_by("-ends_at").first()


@dataclass(frozen=True)
class PersonAccess:
    """A person the actor's unit has an active care relationship with.

    `event` is the allowed access event for the person, built but not yet written: a page that reads more
    of the person through the disclosure gate writes it with the gate's events, in the one transaction of
    `Gate.audit_batch(access.event)`, and gives the gate `care_relationship` instead of reading it again.
    """

    person: Person
    care_relationship: CareRelationship
    event: AuditEvent


def person_access_for_professional(
    *, actor: audit.Actor, public_id: uuid.UUID | str, action: str
) -> PersonAccess:
    """The person and the care relationship that lets the actor's unit see them; otherwise 404, the refusal
    written at once. The caller must write `event` (see PersonAccess) before it shows anything of the person.
    """
    person = Person.objects.filter(public_id=public_id).first()
    relationship = (
        active_care_relationship(person=person, unit=actor.unit)
        if person is not None and actor.unit
        else None
    )
    if relationship is None:
        audit.record_refusal(
            actor=actor,
            action=action,
            person=person,
            data_type=DataType.IDENTITY,
            object_type="person",
            object_ids=[public_id],
            legal_basis=LegalBasis.NONE,
        )
        raise Http404
    event = audit.event_for(
        actor=actor,
        action=action,
        category=AuditCategory.ACCESS,
        person=person,
        data_type=DataType.IDENTITY,
        object_type="person",
        object_ids=[person.public_id],
        legal_basis=LegalBasis.CARE_RELATIONSHIP,
        purpose=relationship.reason,
    )
    return PersonAccess(person=person, care_relationship=relationship, event=event)


def person_for_professional(*, actor: audit.Actor, public_id: uuid.UUID | str, action: str) -> Person:
    """The person, if the actor's unit has an active care relationship with them; otherwise 404, logged."""
    access = person_access_for_professional(actor=actor, public_id=public_id, action=action)
    with transaction.atomic():
        access.event.save(force_insert=True)
    return access.person
