"""factory_boy factories for the core models; identity codes are valid temporary codes (900-999)."""

from __future__ import annotations

import datetime
import itertools

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from kanta import identity_code
from kanta.models import (
    Organisation,
    OrganisationKind,
    Person,
    Profession,
    Professional,
    Register,
    RegisterKind,
    Unit,
    User,
)

_codes = itertools.count()
PASSWORD = "correct horse battery staple"


def temporary_identity_code(birth_date: datetime.date | None = None) -> str:
    """A fresh, valid temporary identity code (individual number 900-999)."""
    n = next(_codes)
    birth_date = birth_date or datetime.date(1950, 1, 1) + datetime.timedelta(days=n // 100)
    sign = "-" if birth_date.year < 2000 else "A"
    return identity_code.build(birth_date, 900 + n % 100, sign)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    identity_code = factory.LazyFunction(temporary_identity_code)
    first_names = factory.Iterator(["Aino", "Eino", "Helmi", "Väinö", "Linnea", "Elias"])
    last_name = factory.Iterator(["Virtanen", "Korhonen", "Nieminen", "Lindqvist", "Mäkinen"])


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    oid = factory.Sequence(lambda n: f"1.2.246.10.99{n:05d}")
    name_fi = factory.Sequence(lambda n: f"Testin hyvinvointialue {n}")
    name_sv = factory.Sequence(lambda n: f"Testens välfärdsområde {n}")
    kind = OrganisationKind.COUNTY


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    organisation = factory.SubFactory(OrganisationFactory)
    oid = factory.Sequence(lambda n: f"1.2.246.10.99.1.{n}")
    name_fi = factory.Sequence(lambda n: f"Terveysasema {n}")
    name_sv = factory.Sequence(lambda n: f"Hälsostation {n}")


class RegisterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Register

    controller = factory.SubFactory(OrganisationFactory)
    kind = RegisterKind.HEALTH_CARE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ProfessionalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Professional
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    registration_number = factory.Sequence(lambda n: f"10{n:07d}")
    profession = Profession.PHYSICIAN

    @factory.post_generation
    def units(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.units.set(extracted)

    @factory.post_generation
    def totp(obj, create, extracted, **kwargs):
        if create:
            TOTPDevice.objects.create(user=obj.user, name="default", confirmed=True)
