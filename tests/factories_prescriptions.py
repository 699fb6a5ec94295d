"""factory_boy factories for the prescriptions app."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from kanta.models import OrganisationKind, Profession
from prescriptions.models import AmountKind, CrossBorderConsent, Dispensing, Prescription, Product
from tests.factories import OrganisationFactory, PersonFactory, ProfessionalFactory, UnitFactory


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("vnr",)

    vnr = factory.Sequence(lambda n: f"{900000 + n:06d}")
    name = "Amlodipin Test"
    atc = "C08CA01"
    active_substance = "amlodipine"
    strength = "5 mg"
    form = "tablet"
    package_size = "100 tabl"
    package_quantity = Decimal("100")
    substitution_group = "C08CA01-5"
    retail_price = Decimal("12.50")


class PrescriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prescription
        skip_postgeneration_save = True

    person = factory.SubFactory(PersonFactory)
    unit = factory.SubFactory(UnitFactory)
    prescriber = factory.SubFactory(ProfessionalFactory)
    product = factory.SubFactory(ProductFactory)
    atc = factory.SelfAttribute("product.atc")
    medicine_name = factory.LazyAttribute(lambda o: f"{o.product.name} {o.product.strength}")
    active_substance = factory.SelfAttribute("product.active_substance")
    strength = factory.SelfAttribute("product.strength")
    form = factory.SelfAttribute("product.form")
    dosage = "1 tabletti aamulla"
    daily_quantity = Decimal("1")
    amount_kind = AmountKind.PACKAGES
    amount_packages = 2
    total_quantity = Decimal("200")
    purpose = "verenpainetauti"
    prescribed_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=30))
    valid_until = factory.LazyAttribute(lambda o: (o.prescribed_at + datetime.timedelta(days=730)).date())

    @factory.post_generation
    def prescriber_works_in_unit(obj, create, extracted, **kwargs):
        if create:
            obj.prescriber.units.add(obj.unit)


class DispensingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dispensing

    prescription = factory.SubFactory(PrescriptionFactory)
    product = factory.SelfAttribute("prescription.product")
    packages = 1
    quantity = Decimal("100")
    dispensed_at = factory.LazyFunction(timezone.now)


# -- pharmacies (appended for the dispensing tests) ---------------------------------------------------------


class PharmacyFactory(OrganisationFactory):
    name_fi = factory.Sequence(lambda n: f"Testin apteekki {n}")
    name_sv = factory.Sequence(lambda n: f"Testens apotek {n}")
    kind = OrganisationKind.PHARMACY


class PharmacyUnitFactory(UnitFactory):
    organisation = factory.SubFactory(PharmacyFactory)
    name_fi = factory.Sequence(lambda n: f"Apteekin palvelupiste {n}")
    name_sv = factory.Sequence(lambda n: f"Apotekets serviceställe {n}")


class PharmacistFactory(ProfessionalFactory):
    profession = Profession.PHARMACIST


class CrossBorderConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CrossBorderConsent

    person = factory.SubFactory(PersonFactory)
    given_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))


# -- prescriber side and renewal requests (appended for the prescribing and renewal tests) ------------------


class CareRelationshipFactory(factory.django.DjangoModelFactory):
    """An active care relationship of a unit with a person (kanta.access.active_care_relationship)."""

    class Meta:
        model = "kanta.CareRelationship"

    unit = factory.SubFactory(UnitFactory)
    person = factory.SubFactory(PersonFactory)
    reason = "appointment"
    starts_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=30))


class RenewalRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "prescriptions.RenewalRequest"

    prescription = factory.SubFactory(PrescriptionFactory)
    person = factory.SelfAttribute("prescription.person")
    unit = factory.SelfAttribute("prescription.unit")
    sent_at = factory.LazyFunction(timezone.now)
