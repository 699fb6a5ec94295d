"""Shared fixtures: the persona set every page test uses (CONVENTIONS.md, "Tests")."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import translation

from tests.factories import OrganisationFactory, PersonFactory, ProfessionalFactory, UnitFactory


@pytest.fixture(autouse=True)
def english_outside_requests():
    """Every test reads the messages of services and commands in English unless it asks for another
    language; requests still choose theirs (Accept-Language, else the site's default, Finnish). A request
    leaves the language it chose active in the thread (LocaleMiddleware), which would otherwise leak into
    whatever test runs next."""
    translation.activate("en")
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def patient(db):
    return PersonFactory(first_names="Aino Maria", last_name="Virtanen")


@pytest.fixture
def county(db):
    return OrganisationFactory(name_fi="Pirkanmaan hyvinvointialue", name_sv="Birkalands välfärdsområde")


@pytest.fixture
def health_centre(county):
    return UnitFactory(organisation=county, name_fi="Hervannan terveysasema", name_sv="Hervanta hälsostation")


@pytest.fixture
def other_county_unit(db):
    return UnitFactory(organisation=OrganisationFactory())


@pytest.fixture
def treating_doctor(health_centre):
    return ProfessionalFactory(units=[health_centre])


@pytest.fixture
def unrelated_doctor(health_centre):
    """Works in the same unit but has confirmed no care relationship with the patient."""
    return ProfessionalFactory(units=[health_centre])


@pytest.fixture
def other_county_doctor(other_county_unit):
    return ProfessionalFactory(units=[other_county_unit])
