"""Whose matters the signed-in citizen is handling: their own, a child's as guardian, or a principal's under a
mandate (DOMAIN.md rule 8).

The session keeps only the subject's public id, and it is never trusted: every request asks
consents.policy.acting_basis again, so a guardianship that ended, a child who turned 18 or a mandate that
expired applies to the very next page. When the basis no longer holds the session falls back to the person's
own matters with a message.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from consents import policy
from kanta.models import LegalBasis, Person

# The session key of the person acted for (absent: the signed-in person's own matters).
ACTING_SESSION_KEY = "citizen_acting_for"


def resolve_subject(request: HttpRequest, person: Person) -> tuple[Person, str]:
    """The person whose matters this request handles and the basis: (person, "self") unless acting for
    someone the person may still act for."""
    stored = request.session.get(ACTING_SESSION_KEY)
    if not stored:
        return person, LegalBasis.SELF
    subject = None
    try:
        public_id = uuid.UUID(str(stored))
    except ValueError:
        public_id = None
    if public_id is not None and public_id != person.public_id:
        subject = Person.objects.filter(public_id=public_id).first()
    # for_prescriptions: the widest basis lets the switch happen; each page's gate then applies the mandate's
    # scope (a prescriptions-only mandate sees prescriptions and nothing else).
    basis = (
        policy.acting_basis(viewer=person, person=subject, for_prescriptions=True)
        if subject is not None
        else LegalBasis.NONE
    )
    if basis in (LegalBasis.GUARDIAN, LegalBasis.MANDATE):
        return subject, basis
    stop_acting(request)
    if subject is not None:
        messages.warning(
            request,
            _("You can no longer act on behalf of %(name)s. You now see your own matters.")
            % {"name": subject.full_name},
        )
    return person, LegalBasis.SELF


def start_acting(request: HttpRequest, subject: Person) -> None:
    request.session[ACTING_SESSION_KEY] = str(subject.public_id)


def stop_acting(request: HttpRequest) -> None:
    request.session.pop(ACTING_SESSION_KEY, None)


def attach_subject(request: HttpRequest, person: Person) -> None:
    """Set request.person (signed in), request.subject (whose matters), request.acting_basis and
    request.acting_for (the subject when it is someone else, for the header; else None)."""
    subject, basis = resolve_subject(request, person)
    request.person = person
    request.subject = subject
    request.acting_basis = basis
    request.acting_for = subject if subject.pk != person.pk else None
