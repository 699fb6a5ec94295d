"""Signing a citizen in and out, whichever way they were identified.

Both identification routes (the OpenID Connect provider, the test identification page) end in sign_in() with a
validated identity code. It refuses unknown and deceased persons, lets kanta.auth.CitizenBackend make the
login, marks the session as a citizen's and writes the authentication event, refused or allowed.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from kanta import audit
from kanta.models import AuditCategory, AuditOutcome, DataType, LegalBasis, Person

# The session key the header and every citizen page read: the signed-in person's public id.
SESSION_KEY = "citizen"
# Where to go after an OpenID Connect round trip.
NEXT_SESSION_KEY = "citizen_next"


class SignInRefused(Exception):
    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


def sign_in(request: HttpRequest, *, code: str) -> Person:
    """Sign in the person whose (validated) identity code this is, or raise SignInRefused."""
    person = Person.objects.filter(identity_code=code).first()
    if person is None:
        _record_refusal(request, person=None)
        raise SignInRefused(_("Kanta has no information about a person with this personal identity code."))
    if person.is_deceased:
        _record_refusal(request, person=person)
        raise SignInRefused(_("This person has died. Their data cannot be opened by signing in."))
    with transaction.atomic():
        user = authenticate(request, identified_identity_code=code)
        if user is not None:  # None: the account has been deactivated
            # login() gives the session a new key, so a key planted before sign-in is worth nothing after.
            login(request, user, backend="kanta.auth.CitizenBackend")
            request.session[SESSION_KEY] = str(person.public_id)
            audit.record(
                actor=audit.Actor.from_request(request),
                action="citizen.login",
                category=AuditCategory.AUTHENTICATION,
                person=person,
                data_type=DataType.IDENTITY,
                legal_basis=LegalBasis.SELF,
            )
    if user is None:
        _record_refusal(request, person=person)
        raise SignInRefused(_("Signing in to MyKanta has been blocked for this person."))
    return person


def sign_out(request: HttpRequest) -> None:
    person = signed_in_person(request)
    if person is not None:
        with transaction.atomic():
            audit.record(
                actor=audit.Actor.from_request(request),
                action="citizen.logout",
                category=AuditCategory.AUTHENTICATION,
                person=person,
                data_type=DataType.IDENTITY,
                legal_basis=LegalBasis.SELF,
            )
    # Flushes the session: its key and everything in it are gone, server side too.
    logout(request)


def signed_in_person(request: HttpRequest) -> Person | None:
    """The person signed in on this session, if any; a session of a professional or a stale one gives None."""
    public_id = request.session.get(SESSION_KEY)
    if not public_id or not request.user.is_authenticated:
        return None
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Person.objects.alive().filter(user=request.user, public_id=public_id).first()


def redirect_to_login(request: HttpRequest, next_path: str | None = None) -> HttpResponseRedirect:
    url = reverse("citizen:login")
    next_path = safe_next(request, next_path)
    if next_path:
        url = f"{url}?{urlencode({'next': next_path})}"
    return HttpResponseRedirect(url)


def safe_next(request: HttpRequest, value: str | None) -> str | None:
    """The value if it is a path on this site, else None: never a redirect to another site."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return None
    if not url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False):
        return None
    return value


def _record_refusal(request: HttpRequest, *, person: Person | None) -> None:
    with transaction.atomic():
        audit.record(
            actor=audit.Actor.from_request(request),
            action="citizen.login",
            category=AuditCategory.AUTHENTICATION,
            outcome=AuditOutcome.REFUSED,
            person=person,
            data_type=DataType.IDENTITY,
            legal_basis=LegalBasis.NONE,
        )
