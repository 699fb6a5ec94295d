"""factory_boy factories for the archive and consents apps."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone

from archive.models import Diagnosis, Document, DocumentKind, LabResult, ServiceEvent
from consents.models import (
    ConsentSector,
    DisclosureConsent,
    InformationNotice,
    Mandate,
    MandateScope,
    Prohibition,
)
from tests.factories import PersonFactory, RegisterFactory, UnitFactory


class ServiceEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceEvent

    person = factory.SubFactory(PersonFactory)
    register = factory.SubFactory(RegisterFactory)
    unit = factory.SubFactory(UnitFactory, organisation=factory.SelfAttribute("..register.controller"))
    title = "Käynti"
    started_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    person = factory.SubFactory(PersonFactory)
    register = factory.SubFactory(RegisterFactory)
    unit = factory.SubFactory(UnitFactory, organisation=factory.SelfAttribute("..register.controller"))
    kind = DocumentKind.RECORD_ENTRY
    title = factory.Sequence(lambda n: f"Document {n}")
    text = "Potilas voi hyvin."
    recorded_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=7))


class DiagnosisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Diagnosis

    document = factory.SubFactory(DocumentFactory)
    person = factory.SelfAttribute("document.person")
    recorded_on = factory.LazyAttribute(lambda o: o.document.recorded_at.date())
    code = "J06.9"
    title = "Acute upper respiratory infection, unspecified"


class LabResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LabResult

    document = factory.SubFactory(DocumentFactory, kind=DocumentKind.LABORATORY)
    person = factory.SelfAttribute("document.person")
    recorded_on = factory.LazyAttribute(lambda o: o.document.recorded_at.date())
    loinc = "718-7"
    name = "Hemoglobin"
    value = "135"
    unit_of_measure = "g/L"
    reference_low = "117"
    reference_high = "155"


class InformationNoticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InformationNotice

    person = factory.SubFactory(PersonFactory)
    version = "2.0"


class DisclosureConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DisclosureConsent

    person = factory.SubFactory(PersonFactory)
    sector = ConsentSector.HEALTH_CARE


class ProhibitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prohibition

    person = factory.SubFactory(PersonFactory)
    scope = "all_data"


class MandateFactory(factory.django.DjangoModelFactory):
    """A health-care mandate in force today, between two adults."""

    class Meta:
        model = Mandate

    principal = factory.SubFactory(PersonFactory)
    agent = factory.SubFactory(PersonFactory)
    scope = MandateScope.HEALTH_CARE
    starts_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    ends_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=365))
