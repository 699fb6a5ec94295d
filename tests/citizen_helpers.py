"""Helpers shared by the MyKanta page tests: signing in, persons of a given age, a county with its registers."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from kanta.models import Organisation, OrganisationKind, Person, Register, RegisterKind, Unit
from tests.factories import (
    OrganisationFactory,
    PersonFactory,
    RegisterFactory,
    UnitFactory,
    temporary_identity_code,
)


def log_in(client, person: Person) -> None:
    response = client.post("/login/test/", {"identity_code": person.identity_code})
    assert response.status_code == 302


def years_ago(years: int, days: int = 0) -> datetime.date:
    today = timezone.localdate()
    try:
        anniversary = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year - years, day=28)
    return anniversary - datetime.timedelta(days=days)


def person_aged(age: int, **fields) -> Person:
    """A person whose birthday was ten days ago `age` years back: `age` years old today."""
    return PersonFactory(identity_code=temporary_identity_code(years_ago(age, days=10)), **fields)


def days_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


@dataclass
class Provider:
    organisation: Organisation
    unit: Unit
    health: Register


def provider(name: str, *, kind: str = OrganisationKind.COUNTY, unit_name: str = "") -> Provider:
    """An organisation with one unit and its health care register."""
    organisation = OrganisationFactory(name_fi=name, name_sv=name, kind=kind)
    unit = UnitFactory(
        organisation=organisation, name_fi=unit_name or f"{name} unit", name_sv=unit_name or name
    )
    register = RegisterFactory(controller=organisation, kind=RegisterKind.HEALTH_CARE)
    return Provider(organisation=organisation, unit=unit, health=register)
