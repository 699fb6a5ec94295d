"""Citizen authentication: an identified person becomes a signed-in user.

The identification itself happens elsewhere: the OpenID Connect provider in production (citizen.oidc), the
test identification page in the demo and the tests. Both end here with a validated identity code.
"""

from __future__ import annotations

from django.contrib.auth.backends import BaseBackend

from kanta.models import Person, User


class CitizenBackend(BaseBackend):
    def authenticate(self, request, *, identified_identity_code: str | None = None, **kwargs) -> User | None:
        if not identified_identity_code:
            return None
        person = Person.objects.select_related("user").filter(identity_code=identified_identity_code).first()
        if person is None:
            return None
        if person.user is None:
            user = User(
                username=f"citizen-{person.public_id}",
                first_name=person.first_names,
                last_name=person.last_name,
            )
            user.set_unusable_password()
            user.save()
            person.user = user
            person.save(update_fields=["user"])
        return person.user if person.user.is_active else None

    def get_user(self, user_id: int) -> User | None:
        return User.objects.filter(pk=user_id, is_active=True).first()
