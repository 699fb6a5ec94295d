"""The write side of consents: the notice, consents, prohibitions and their preview, declarations of intent,
mandates, the overview and history selectors, and the admin. Real PostgreSQL; in each group the refusal
comes before the success."""

from __future__ import annotations

import datetime

import pytest
from django.contrib import admin
from django.urls import path, reverse
from django.utils import timezone, translation

from archive.models import DocumentKind, DocumentStatus
from consents import policy, selectors, services
from consents.models import (
    Channel,
    ConsentSector,
    DisclosureConsent,
    InformationNotice,
    LivingWill,
    Mandate,
    MandateScope,
    OrganDonationWill,
    Prohibition,
    ProhibitionScope,
    ResearchContactProhibition,
)
from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import (
    AuditCategory,
    AuditEvent,
    CareReason,
    CareRelationship,
    Guardianship,
    LegalBasis,
    OrganisationKind,
    RegisterKind,
)
from tests.admin_helpers import admin_login
from tests.factories import (
    OrganisationFactory,
    PersonFactory,
    ProfessionalFactory,
    RegisterFactory,
    UserFactory,
    temporary_identity_code,
)
from tests.factories_archive import (
    DisclosureConsentFactory,
    DocumentFactory,
    InformationNoticeFactory,
    MandateFactory,
    ServiceEventFactory,
)

pytestmark = pytest.mark.django_db

ALL_DATA = ProhibitionScope.ALL_DATA


@pytest.fixture(autouse=True)
def english():
    # Messages are asserted in their source language, whatever translations exist.
    with translation.override("en"):
        yield


def signed_in(person) -> audit.Actor:
    """The actor of a citizen signed in to MyKanta as `person`."""
    if person.user_id is None:
        person.user = UserFactory()
        person.save(update_fields=["user"])
    return audit.Actor(user=person.user, client_address="192.0.2.7", user_agent="pytest")


def at_unit(unit) -> audit.Actor:
    """A professional recording a declaration at `unit` on the person's behalf."""
    nurse = ProfessionalFactory(units=[unit])
    return audit.Actor(user=nurse.user, professional=nurse, unit=unit, client_address="192.0.2.8")


def person_aged(years: int):
    today = timezone.localdate()
    # born on 1 January: exactly `years` old all year round
    return PersonFactory(identity_code=temporary_identity_code(datetime.date(today.year - years, 1, 1)))


def changes(person=None) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(category=AuditCategory.CHANGE).order_by("id")
    return list(events.filter(person=person) if person is not None else events)


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def noticed(patient):
    InformationNoticeFactory(person=patient, version=services.CURRENT_NOTICE_VERSION)
    return patient


@pytest.fixture
def registers(county):
    """A county's three registers, another county's health care register, a private provider's two."""
    other_county = OrganisationFactory(name_fi="Toinen hyvinvointialue")
    private = OrganisationFactory(name_fi="Yksityinen Oy", kind=OrganisationKind.PRIVATE_HEALTH)
    return {
        "health": RegisterFactory(controller=county, kind=RegisterKind.HEALTH_CARE),
        "occupational": RegisterFactory(controller=county, kind=RegisterKind.OCCUPATIONAL_HEALTH),
        "social": RegisterFactory(controller=county, kind=RegisterKind.SOCIAL_WELFARE),
        "other_county": RegisterFactory(controller=other_county, kind=RegisterKind.HEALTH_CARE),
        "private_health": RegisterFactory(controller=private, kind=RegisterKind.HEALTH_CARE),
        "private_occupational": RegisterFactory(controller=private, kind=RegisterKind.OCCUPATIONAL_HEALTH),
    }


# -- the information notice and consents -------------------------------------------------------------------


def test_consent_without_the_current_notice_is_refused_and_given_once_it_is_acknowledged(patient):
    actor = signed_in(patient)
    InformationNoticeFactory(person=patient, version="1.1")  # an older notice is not enough

    with pytest.raises(RuleViolation) as refused:
        services.consent_give(
            actor=actor, person=patient, acting_person=patient, sector=ConsentSector.HEALTH_CARE
        )

    assert refused.value.code == "notice_required"
    assert "information notice" in str(refused.value)
    assert not DisclosureConsent.objects.exists()
    assert changes() == []

    services.notice_acknowledge(actor=actor, person=patient, acting_person=patient)
    consent = services.consent_give(
        actor=actor, person=patient, acting_person=patient, sector=ConsentSector.HEALTH_CARE
    )

    assert consent.is_active
    assert (consent.made_by, consent.channel, consent.unit) == (patient.user, Channel.MYKANTA, None)
    assert [event.action for event in changes(patient)] == ["notice.acknowledge", "consent.give"]


def test_acknowledging_the_notice_again_changes_nothing(patient):
    actor = signed_in(patient)

    first = services.notice_acknowledge(actor=actor, person=patient, acting_person=patient)
    second = services.notice_acknowledge(actor=actor, person=patient, acting_person=patient)

    assert second == first
    assert first.version == "2.0"
    assert InformationNotice.objects.filter(person=patient).count() == 1
    assert len(changes(patient)) == 1


def test_giving_a_consent_that_is_already_valid_returns_it_without_a_new_row(noticed):
    actor = signed_in(noticed)

    first = services.consent_give(
        actor=actor, person=noticed, acting_person=noticed, sector=ConsentSector.HEALTH_CARE
    )
    again = services.consent_give(
        actor=actor, person=noticed, acting_person=noticed, sector=ConsentSector.HEALTH_CARE
    )
    social = services.consent_give(
        actor=actor, person=noticed, acting_person=noticed, sector=ConsentSector.SOCIAL_WELFARE
    )

    assert again == first
    assert social != first
    assert DisclosureConsent.objects.filter(person=noticed).count() == 2
    assert [event.action for event in changes(noticed)] == ["consent.give", "consent.give"]


def test_withdrawing_a_consent_keeps_the_row_with_who_when_and_channel(noticed, health_centre):
    actor = signed_in(noticed)
    someone_elses = DisclosureConsentFactory()
    consent = services.consent_give(
        actor=actor, person=noticed, acting_person=noticed, sector=ConsentSector.HEALTH_CARE
    )

    with pytest.raises(RuleViolation) as refused:
        services.consent_withdraw(actor=actor, person=noticed, acting_person=noticed, consent=someone_elses)
    assert refused.value.code == "not_found"
    someone_elses.refresh_from_db()
    assert someone_elses.is_active

    unit_actor = at_unit(health_centre)
    withdrawn = services.consent_withdraw(
        actor=unit_actor, person=noticed, acting_person=noticed, consent=consent, channel=Channel.UNIT
    )

    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    assert (consent.withdrawn_by, consent.withdrawal_channel) == (unit_actor.user, Channel.UNIT)
    assert withdrawn == consent
    with pytest.raises(RuleViolation) as twice:
        services.consent_withdraw(actor=actor, person=noticed, acting_person=noticed, consent=consent)
    assert twice.value.code == "already_withdrawn"

    # valid until withdrawn, and it can be given again: the old row stays beside the new one
    again = services.consent_give(
        actor=actor, person=noticed, acting_person=noticed, sector=ConsentSector.HEALTH_CARE
    )
    assert again != consent
    assert DisclosureConsent.objects.filter(person=noticed).count() == 2


# -- who may act ---------------------------------------------------------------------------------------------


def test_guardian_cannot_add_a_prohibition_for_a_nine_year_old(health_centre):
    child = person_aged(9)
    guardian = PersonFactory()
    Guardianship.objects.create(guardian=guardian, child=child, starts_on=child.birth_date)
    InformationNoticeFactory(person=child)
    actor = signed_in(guardian)

    with pytest.raises(RuleViolation) as refused:
        services.prohibition_add(actor=actor, person=child, acting_person=guardian, scope=ALL_DATA)
    assert refused.value.code == "guardian"
    assert "guardian cannot" in str(refused.value)
    for attempt in (
        lambda: services.consent_give(
            actor=actor, person=child, acting_person=guardian, sector=ConsentSector.HEALTH_CARE
        ),
        lambda: services.living_will_save(
            actor=actor, person=child, acting_person=guardian, text="Ei elvytystä."
        ),
        lambda: services.notice_acknowledge(actor=actor, person=child, acting_person=guardian),
    ):
        with pytest.raises(RuleViolation) as also_refused:
            attempt()
        assert also_refused.value.code == "guardian"
    assert not Prohibition.objects.exists()
    assert not DisclosureConsent.objects.exists()
    assert not LivingWill.objects.exists()
    assert changes() == []

    # The child can make it at a unit, where a professional records it on the child's behalf.
    unit_actor = at_unit(health_centre)
    prohibition = services.prohibition_add(
        actor=unit_actor, person=child, acting_person=child, scope=ALL_DATA, channel=Channel.UNIT
    )
    assert (prohibition.channel, prohibition.unit, prohibition.made_by) == (
        Channel.UNIT,
        health_centre,
        unit_actor.user,
    )
    [event] = changes(child)
    assert (event.unit, event.user, event.legal_basis) == (health_centre, unit_actor.user, LegalBasis.SELF)


def test_recording_at_a_unit_needs_the_unit(noticed, health_centre):
    professional_without_unit = audit.Actor(user=UserFactory())

    with pytest.raises(RuleViolation) as refused:
        services.prohibition_add(
            actor=professional_without_unit,
            person=noticed,
            acting_person=noticed,
            scope=ALL_DATA,
            channel=Channel.UNIT,
        )
    assert refused.value.code == "unit_required"
    assert not Prohibition.objects.exists()

    prohibition = services.prohibition_add(
        actor=at_unit(health_centre),
        person=noticed,
        acting_person=noticed,
        scope=ALL_DATA,
        channel=Channel.UNIT,
    )
    assert prohibition.unit == health_centre


def test_mandate_holder_acts_only_within_the_period_and_scope_of_the_mandate(noticed):
    expired_agent, future_agent, prescriptions_agent, agent = PersonFactory.create_batch(4)
    MandateFactory(principal=noticed, agent=expired_agent, starts_on=days(-60), ends_on=days(-1))
    MandateFactory(principal=noticed, agent=future_agent, starts_on=days(1), ends_on=days(60))
    MandateFactory(principal=noticed, agent=prescriptions_agent, scope=MandateScope.PRESCRIPTIONS)
    MandateFactory(principal=noticed, agent=agent, starts_on=days(0), ends_on=days(0))

    for outsider in (expired_agent, future_agent, prescriptions_agent):
        with pytest.raises(RuleViolation) as refused:
            services.prohibition_add(
                actor=signed_in(outsider), person=noticed, acting_person=outsider, scope=ALL_DATA
            )
        assert refused.value.code == "no_mandate"
    assert not Prohibition.objects.exists()
    assert changes() == []

    actor = signed_in(agent)
    prohibition = services.prohibition_add(actor=actor, person=noticed, acting_person=agent, scope=ALL_DATA)

    assert prohibition.made_by == agent.user
    [event] = changes(noticed)
    assert (event.user, event.legal_basis, event.action) == (
        agent.user,
        LegalBasis.MANDATE,
        "prohibition.add",
    )


def test_a_deceased_persons_declarations_cannot_be_changed(noticed):
    actor = signed_in(noticed)
    noticed.date_of_death = days(-1)
    noticed.save(update_fields=["date_of_death"])

    with pytest.raises(RuleViolation) as refused:
        services.living_will_save(actor=actor, person=noticed, acting_person=noticed, text="Ei elvytystä.")
    assert refused.value.code == "deceased"
    assert not LivingWill.objects.exists()


# -- prohibitions --------------------------------------------------------------------------------------------


def test_occupational_health_scope_refuses_a_county_register(noticed, registers):
    actor = signed_in(noticed)
    occupational = ProhibitionScope.OCCUPATIONAL_HEALTH

    for wrong in (registers["occupational"], registers["private_health"]):
        with pytest.raises(RuleViolation) as refused:
            services.prohibition_add(
                actor=actor, person=noticed, acting_person=noticed, scope=occupational, register=wrong
            )
        assert refused.value.code == "target"
        assert "private provider" in str(refused.value)
    assert not Prohibition.objects.exists()

    prohibition = services.prohibition_add(
        actor=actor,
        person=noticed,
        acting_person=noticed,
        scope=occupational,
        register=registers["private_occupational"],
        emergency_permission=True,
    )
    assert (prohibition.register, prohibition.emergency_permission) == (
        registers["private_occupational"],
        True,
    )


def test_a_prohibition_target_must_fit_its_scope(noticed, registers):
    actor = signed_in(noticed)
    someone_elses_event = ServiceEventFactory(register=registers["health"])
    social_event = ServiceEventFactory(person=noticed, register=registers["social"])
    private_provider = registers["private_health"].controller
    wrong_targets = [
        {"scope": ProhibitionScope.SERVICE_EVENT},
        {"scope": ProhibitionScope.SERVICE_EVENT, "service_event": someone_elses_event},
        {"scope": ProhibitionScope.SERVICE_EVENT, "service_event": social_event},
        {"scope": ProhibitionScope.COUNTY, "organisation": private_provider},
        {"scope": ProhibitionScope.REGISTER, "register": registers["social"]},
        {"scope": ALL_DATA, "register": registers["health"]},
        {"scope": "everything"},
    ]
    for target in wrong_targets:
        with pytest.raises(RuleViolation):
            services.prohibition_add(actor=actor, person=noticed, acting_person=noticed, **target)
    assert not Prohibition.objects.exists()
    assert changes() == []

    event = ServiceEventFactory(person=noticed, register=registers["health"])
    by_event = services.prohibition_add(
        actor=actor,
        person=noticed,
        acting_person=noticed,
        scope=ProhibitionScope.SERVICE_EVENT,
        service_event=event,
    )
    by_county = services.prohibition_add(
        actor=actor,
        person=noticed,
        acting_person=noticed,
        scope=ProhibitionScope.COUNTY,
        organisation=registers["other_county"].controller,
    )
    assert (by_event.service_event, by_county.organisation) == (event, registers["other_county"].controller)


def test_a_duplicate_prohibition_of_the_same_target_is_refused_until_the_first_is_withdrawn(
    noticed, registers
):
    actor = signed_in(noticed)
    register = registers["private_occupational"]
    first = services.prohibition_add(
        actor=actor,
        person=noticed,
        acting_person=noticed,
        scope=ProhibitionScope.OCCUPATIONAL_HEALTH,
        register=register,
    )

    # the same register through the other register scope is the same target
    for scope in (ProhibitionScope.OCCUPATIONAL_HEALTH, ProhibitionScope.REGISTER):
        with pytest.raises(RuleViolation) as refused:
            services.prohibition_add(
                actor=actor, person=noticed, acting_person=noticed, scope=scope, register=register
            )
        assert refused.value.code == "duplicate"
        assert "Yksityinen Oy" in str(refused.value)
        assert "already in force" in str(refused.value)
    assert Prohibition.objects.count() == 1

    services.prohibition_withdraw(actor=actor, person=noticed, acting_person=noticed, prohibition=first)
    again = services.prohibition_add(
        actor=actor, person=noticed, acting_person=noticed, scope=ProhibitionScope.REGISTER, register=register
    )
    assert again != first


def test_withdrawing_a_prohibition_keeps_the_row(noticed):
    actor = signed_in(noticed)
    prohibition = services.prohibition_add(actor=actor, person=noticed, acting_person=noticed, scope=ALL_DATA)
    stranger = PersonFactory()

    with pytest.raises(RuleViolation) as refused:
        services.prohibition_withdraw(
            actor=signed_in(stranger), person=noticed, acting_person=stranger, prohibition=prohibition
        )
    assert refused.value.code == "no_mandate"
    prohibition.refresh_from_db()
    assert prohibition.is_active

    services.prohibition_withdraw(actor=actor, person=noticed, acting_person=noticed, prohibition=prohibition)

    prohibition.refresh_from_db()
    assert not prohibition.is_active
    assert (prohibition.withdrawn_by, prohibition.withdrawal_channel) == (noticed.user, Channel.MYKANTA)
    assert Prohibition.objects.filter(person=noticed).count() == 1


# -- the preview ---------------------------------------------------------------------------------------------


@pytest.fixture
def documents(patient, registers):
    """The patient's documents across registers, with some that no preview may count."""
    health, occupational = registers["health"], registers["occupational"]
    event = ServiceEventFactory(person=patient, register=health)
    for _n in range(2):
        DocumentFactory(person=patient, register=health, service_event=event)
    DocumentFactory(person=patient, register=health)
    DocumentFactory(person=patient, register=health, status=DocumentStatus.SUPERSEDED)
    DocumentFactory(person=patient, register=health, status=DocumentStatus.INVALIDATED)
    DocumentFactory(person=patient, register=occupational)
    for _n in range(2):
        DocumentFactory(person=patient, register=registers["social"], kind=DocumentKind.DECISION)
        DocumentFactory(person=patient, register=registers["other_county"])
    DocumentFactory(person=patient, register=registers["private_occupational"])
    DocumentFactory(register=health)  # someone else's
    DocumentFactory(register=health)
    return {"event": event}


def test_preview_refuses_a_target_that_does_not_fit_and_writes_nothing(patient, registers):
    with pytest.raises(RuleViolation):
        services.prohibition_preview(
            person=patient, scope=ProhibitionScope.OCCUPATIONAL_HEALTH, register=registers["occupational"]
        )
    assert not Prohibition.objects.exists()
    assert not AuditEvent.objects.exists()


def test_preview_counts_exactly_the_documents_the_prohibition_would_cover_and_names_their_registers(
    patient, county, registers, documents, django_assert_num_queries
):
    # a display delay still running: covered, but MyKanta does not show it yet, so no count reveals it
    DocumentFactory(
        person=patient, register=registers["health"], display_delayed_until=days(10), display_delay_reason="x"
    )

    with django_assert_num_queries(1):
        preview = services.prohibition_preview(
            person=patient, scope=ProhibitionScope.COUNTY, organisation=county
        )

    assert preview.document_count == 4
    assert [(r.label, r.document_count) for r in preview.registers] == [
        ("Pirkanmaan hyvinvointialue, health care register", 3),
        ("Pirkanmaan hyvinvointialue, occupational health care register", 1),
    ]
    assert "Pirkanmaan hyvinvointialue" in preview.covers
    assert "Other wellbeing services counties and private providers" in preview.hidden_from
    assert "other registers of the provider" in preview.hidden_from
    still = " ".join(preview.still_visible_to)
    assert "own register" in still
    assert "purchased-service authorization" in still
    assert "emergency permission" in still
    assert not AuditEvent.objects.exists()
    assert not Prohibition.objects.exists()

    everything = services.prohibition_preview(person=patient, scope=ALL_DATA)
    assert everything.document_count == 3 + 1 + 2 + 1  # health registers only, never social welfare
    assert "Social welfare data is not affected" in everything.covers

    event = services.prohibition_preview(
        person=patient, scope=ProhibitionScope.SERVICE_EVENT, service_event=documents["event"]
    )
    assert [(r.label, r.document_count) for r in event.registers] == [
        ("Pirkanmaan hyvinvointialue, health care register", 2)
    ]

    other = services.prohibition_preview(
        person=patient, scope=ProhibitionScope.REGISTER, register=registers["other_county"]
    )
    assert (other.document_count, [r.controller_name for r in other.registers]) == (
        2,
        ["Toinen hyvinvointialue"],
    )


def test_preview_counts_what_the_gate_then_hides_from_another_county(
    noticed, county, registers, documents, other_county_doctor, other_county_unit
):
    DisclosureConsentFactory(person=noticed, sector=ConsentSector.HEALTH_CARE)
    CareRelationship.objects.create(
        person=noticed,
        unit=other_county_unit,
        reason=CareReason.APPOINTMENT,
        starts_at=timezone.now() - datetime.timedelta(hours=1),
        ends_at=timezone.now() + datetime.timedelta(days=1),
    )
    doctor = audit.Actor(
        user=other_county_doctor.user, professional=other_county_doctor, unit=other_county_unit
    )
    hidden_before = policy.for_professional(actor=doctor, person=noticed).hidden_count()
    preview = services.prohibition_preview(person=noticed, scope=ProhibitionScope.COUNTY, organisation=county)

    services.prohibition_add(
        actor=signed_in(noticed),
        person=noticed,
        acting_person=noticed,
        scope=ProhibitionScope.COUNTY,
        organisation=county,
    )

    hidden_after = policy.for_professional(actor=doctor, person=noticed).hidden_count()
    assert preview.document_count == 4
    assert hidden_after - hidden_before == preview.document_count


# -- research contact, living will, organ donation will ----------------------------------------------------


def test_research_contact_prohibition_needs_the_notice_then_is_set_and_lifted(patient):
    actor = signed_in(patient)

    with pytest.raises(RuleViolation) as refused:
        services.research_contact_prohibition_set(
            actor=actor, person=patient, acting_person=patient, prohibited=True
        )
    assert refused.value.code == "notice_required"
    assert not ResearchContactProhibition.objects.exists()

    services.notice_acknowledge(actor=actor, person=patient, acting_person=patient)
    prohibition = services.research_contact_prohibition_set(
        actor=actor, person=patient, acting_person=patient, prohibited=True
    )
    same = services.research_contact_prohibition_set(
        actor=actor, person=patient, acting_person=patient, prohibited=True
    )
    lifted = services.research_contact_prohibition_set(
        actor=actor, person=patient, acting_person=patient, prohibited=False
    )

    assert same == prohibition
    assert lifted is None
    prohibition.refresh_from_db()
    assert prohibition.withdrawn_at is not None
    assert [e.action for e in changes(patient)] == [
        "notice.acknowledge",
        "research_contact_prohibition.set",
        "research_contact_prohibition.withdraw",
    ]


def test_living_will_refuses_empty_or_too_long_text(patient):
    actor = signed_in(patient)

    with pytest.raises(RuleViolation) as empty:
        services.living_will_save(
            actor=actor, person=patient, acting_person=patient, text="\u200b \r\n\t\x00\ufeff"
        )
    with pytest.raises(RuleViolation) as too_long:
        services.living_will_save(actor=actor, person=patient, acting_person=patient, text="a" * 10_001)

    assert (empty.value.code, empty.value.field) == ("required", "text")
    assert (too_long.value.code, too_long.value.field) == ("too_long", "text")
    assert "10,000" in str(too_long.value)
    assert not LivingWill.objects.exists()
    assert changes() == []

    # the limit counts what is kept: invisible characters around 10,000 letters do not count
    will = services.living_will_save(
        actor=actor, person=patient, acting_person=patient, text="\u200b" + "a" * 10_000 + "\u200b"
    )
    assert len(will.text) == 10_000


def test_living_will_edit_keeps_history_and_pasted_control_characters_are_removed(patient):
    actor = signed_in(patient)
    pasted = "\ufeffEi elvytystä.\u200b\r\nEi verensiirtoja.\x07\tKiitos.\u00ad\u202e\x0bMusiikkia: Sibelius\u2028Ulkoilua."

    first = services.living_will_save(actor=actor, person=patient, acting_person=patient, text=pasted)
    assert first.text == "Ei elvytystä.\nEi verensiirtoja.\tKiitos.\nMusiikkia: Sibelius\nUlkoilua."

    # decomposed "ä" (as some systems paste it) is one character again
    second = services.living_will_save(
        actor=actor, person=patient, acting_person=patient, text="Ei elvyt\u0079sta\u0308."
    )
    unchanged = services.living_will_save(
        actor=actor, person=patient, acting_person=patient, text="Ei elvytystä."
    )

    assert second.text == "Ei elvytystä."
    assert unchanged == second
    first.refresh_from_db()
    assert first.withdrawn_at == second.made_at
    assert (first.withdrawn_by, first.withdrawal_channel) == (patient.user, Channel.MYKANTA)
    assert list(LivingWill.objects.filter(person=patient, withdrawn_at__isnull=True)) == [second]

    services.living_will_delete(actor=actor, person=patient, acting_person=patient)

    assert LivingWill.objects.filter(person=patient).count() == 2
    assert not LivingWill.objects.filter(person=patient, withdrawn_at__isnull=True).exists()
    with pytest.raises(RuleViolation) as nothing_left:
        services.living_will_delete(actor=actor, person=patient, acting_person=patient)
    assert nothing_left.value.code == "not_found"
    assert [e.action for e in changes(patient)] == [
        "living_will.save",
        "living_will.save",
        "living_will.delete",
    ]


def test_organ_donation_will_is_saved_changed_and_deleted_with_history(patient):
    actor = signed_in(patient)

    with pytest.raises(RuleViolation) as too_long:
        services.organ_donation_will_save(
            actor=actor,
            person=patient,
            acting_person=patient,
            consents_to_donation=True,
            restrictions="x" * 2_001,
        )
    assert too_long.value.field == "restrictions"
    assert not OrganDonationWill.objects.exists()

    yes = services.organ_donation_will_save(
        actor=actor, person=patient, acting_person=patient, consents_to_donation=True
    )
    limited = services.organ_donation_will_save(
        actor=actor,
        person=patient,
        acting_person=patient,
        consents_to_donation=True,
        restrictions="Ei sarveiskalvoja.\u200b",
    )
    services.organ_donation_will_delete(actor=actor, person=patient, acting_person=patient)

    yes.refresh_from_db()
    limited.refresh_from_db()
    assert limited.restrictions == "Ei sarveiskalvoja."
    assert yes.withdrawn_at == limited.made_at
    assert limited.withdrawn_at is not None
    assert OrganDonationWill.objects.filter(person=patient).count() == 2


# -- audit and atomicity -------------------------------------------------------------------------------------


def test_every_successful_change_writes_one_audit_event(patient, registers):
    actor = signed_in(patient)
    kw = {"actor": actor, "person": patient, "acting_person": patient}

    services.notice_acknowledge(**kw)
    consent = services.consent_give(**kw, sector=ConsentSector.HEALTH_CARE)
    services.consent_withdraw(**kw, consent=consent)
    prohibition = services.prohibition_add(
        **kw, scope=ProhibitionScope.REGISTER, register=registers["health"]
    )
    services.prohibition_withdraw(**kw, prohibition=prohibition)
    services.research_contact_prohibition_set(**kw, prohibited=True)
    services.research_contact_prohibition_set(**kw, prohibited=False)
    services.living_will_save(**kw, text="Ei elvytystä.")
    services.living_will_save(**kw, text="Ei elvytystä eikä verensiirtoja.")
    services.living_will_delete(**kw)
    services.organ_donation_will_save(**kw, consents_to_donation=True)
    services.organ_donation_will_delete(**kw)
    # repeats that change nothing write nothing
    services.notice_acknowledge(**kw)
    services.research_contact_prohibition_set(**kw, prohibited=False)

    events = changes()
    assert [e.action for e in events] == [
        "notice.acknowledge",
        "consent.give",
        "consent.withdraw",
        "prohibition.add",
        "prohibition.withdraw",
        "research_contact_prohibition.set",
        "research_contact_prohibition.withdraw",
        "living_will.save",
        "living_will.save",
        "living_will.delete",
        "organ_donation_will.save",
        "organ_donation_will.delete",
    ]
    assert AuditEvent.objects.count() == len(events)
    for event in events:
        assert (event.person, event.user, event.legal_basis, event.purpose) == (
            patient,
            patient.user,
            LegalBasis.SELF,
            Channel.MYKANTA,
        )
        assert event.client_address == "192.0.2.7"
        assert len(event.object_ids) == 1
    assert events[3].object_ids == [str(prohibition.public_id)]


def test_nothing_is_half_written_when_a_change_fails(noticed, monkeypatch):
    actor = signed_in(noticed)
    kw = {"actor": actor, "person": noticed, "acting_person": noticed}
    will = services.living_will_save(**kw, text="Ei elvytystä.")
    services.prohibition_add(**kw, scope=ALL_DATA)
    events_before = AuditEvent.objects.count()

    with pytest.raises(RuleViolation):
        services.prohibition_add(**kw, scope=ALL_DATA)
    with pytest.raises(RuleViolation):
        services.living_will_save(**kw, text="x" * 10_001)

    # A failure after the writes began (here: the audit event) rolls the whole change back.
    def failing_record(**kwargs):
        raise RuleViolation("the audit log refused")

    monkeypatch.setattr(audit, "record", failing_record)
    with pytest.raises(RuleViolation):
        services.living_will_save(**kw, text="Uusi tahto.")
    with pytest.raises(RuleViolation):
        services.consent_give(**kw, sector=ConsentSector.HEALTH_CARE)

    will.refresh_from_db()
    assert will.is_active
    assert list(LivingWill.objects.filter(person=noticed)) == [will]
    assert Prohibition.objects.filter(person=noticed).count() == 1
    assert not DisclosureConsent.objects.exists()
    assert AuditEvent.objects.count() == events_before


# -- selectors -----------------------------------------------------------------------------------------------


@pytest.fixture
def long_history(noticed, registers):
    """Many rows of every kind, enough for an N+1 to show."""
    actor = signed_in(noticed)
    kw = {"actor": actor, "person": noticed, "acting_person": noticed}
    InformationNoticeFactory(
        person=noticed, version="1.1", made_at=timezone.now() - datetime.timedelta(days=900)
    )
    for _n in range(5):
        for sector in ConsentSector.values:
            consent = services.consent_give(**kw, sector=sector)
            services.consent_withdraw(**kw, consent=consent)
    for sector in ConsentSector.values:
        services.consent_give(**kw, sector=sector)
    for _n in range(8):
        event = ServiceEventFactory(person=noticed, register=registers["health"])
        services.prohibition_add(**kw, scope=ProhibitionScope.SERVICE_EVENT, service_event=event)
        county = OrganisationFactory()
        services.prohibition_add(**kw, scope=ProhibitionScope.COUNTY, organisation=county)
        register = RegisterFactory(controller=county, kind=RegisterKind.OCCUPATIONAL_HEALTH)
        by_register = services.prohibition_add(**kw, scope=ProhibitionScope.REGISTER, register=register)
        services.prohibition_withdraw(**kw, prohibition=by_register)
    services.research_contact_prohibition_set(**kw, prohibited=True)
    for n in range(10):
        services.living_will_save(**kw, text=f"Versio {n}.")
    services.organ_donation_will_save(**kw, consents_to_donation=False)
    services.organ_donation_will_save(**kw, consents_to_donation=True)
    return noticed


def test_overview_runs_a_bounded_number_of_queries_with_many_rows(
    long_history, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        overview = selectors.declarations_overview(person=long_history)
        targets = [
            selectors.prohibition_target_label(
                scope=p.scope, service_event=p.service_event, organisation=p.organisation, register=p.register
            )
            for p in overview.prohibitions
        ]
        makers = [p.made_by.person for p in overview.prohibitions]

    assert overview.notice.version == "2.0"
    assert overview.notice_is_current
    assert set(overview.consents) == set(ConsentSector.values)
    assert all(row.consent is not None for row in overview.consent_rows)
    assert len(overview.prohibitions) == 16  # the register prohibitions were withdrawn
    assert len(targets) == 16
    assert set(makers) == {long_history}
    assert overview.research_contact_prohibition is not None
    assert overview.living_will.text == "Versio 9."
    assert overview.organ_donation_will.consents_to_donation is True


def test_overview_of_a_person_without_declarations_says_the_notice_is_missing(patient):
    overview = selectors.declarations_overview(person=patient)

    assert not overview.notice_is_current
    assert overview.prohibitions == []
    assert [row.consent for row in overview.consent_rows] == [None] * len(ConsentSector.values)
    assert overview.living_will is None


def test_history_runs_a_bounded_number_of_queries_newest_first(long_history, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        history = selectors.declaration_history(person=long_history)
        words = [
            (entry.subject, entry.action_label, entry.channel_label, str(entry.user)) for entry in history
        ]

    assert len(words) == len(history)
    assert [entry.at for entry in history] == sorted((entry.at for entry in history), reverse=True)
    # ten living will versions: one made, nine changes, no separate withdrawals
    wills = [entry.action for entry in history if entry.subject == "Living will"]
    assert sorted(wills) == ["changed"] * 9 + ["made"]


def test_history_lists_every_change_with_who_when_and_channel(noticed, health_centre):
    citizen = signed_in(noticed)
    nurse = at_unit(health_centre)
    consent = services.consent_give(
        actor=nurse,
        person=noticed,
        acting_person=noticed,
        sector=ConsentSector.HEALTH_CARE,
        channel=Channel.UNIT,
    )
    services.consent_withdraw(actor=citizen, person=noticed, acting_person=noticed, consent=consent)
    services.living_will_save(actor=citizen, person=noticed, acting_person=noticed, text="Ensimmäinen.")
    services.living_will_save(actor=citizen, person=noticed, acting_person=noticed, text="Toinen.")

    history = selectors.declaration_history(person=noticed)

    rows = [(e.subject, e.action, e.user, e.channel, e.unit) for e in history]
    assert rows[:4] == [
        ("Living will", "changed", noticed.user, Channel.MYKANTA, None),
        ("Living will", "made", noticed.user, Channel.MYKANTA, None),
        ("Consent to disclosure: health care", "withdrawn", noticed.user, Channel.MYKANTA, None),
        ("Consent to disclosure: health care", "made", nurse.user, Channel.UNIT, health_centre),
    ]
    assert rows[4][0] == "Kanta information notice, version 2.0"
    assert history[3].channel_label == "at a health or social care unit"


# -- mandates ------------------------------------------------------------------------------------------------


@pytest.fixture
def administrator(db):
    return UserFactory(is_staff=True, is_superuser=True)


def test_mandate_create_refuses_what_is_not_a_mandate_between_adults(administrator):
    principal, agent = PersonFactory.create_batch(2)
    minor = person_aged(17)
    admin_actor = audit.Actor(user=administrator)
    valid = {"scope": MandateScope.HEALTH_CARE, "starts_on": days(0), "ends_on": days(365)}
    refusals = [
        (audit.Actor(user=UserFactory()), {"principal": principal, "agent": agent, **valid}, "permission"),
        (admin_actor, {"principal": principal, "agent": minor, **valid}, "minor"),
        (admin_actor, {"principal": minor, "agent": agent, **valid}, "minor"),
        (admin_actor, {"principal": principal, "agent": principal, **valid}, "self"),
        (admin_actor, {"principal": principal, "agent": agent, **valid, "ends_on": days(-1)}, "period"),
        (
            admin_actor,
            {
                "principal": principal,
                "agent": agent,
                "scope": "everything",
                "starts_on": days(0),
                "ends_on": days(1),
            },
            "scope",
        ),
    ]
    for actor, arguments, code in refusals:
        with pytest.raises(RuleViolation) as refused:
            services.mandate_create(actor=actor, **arguments)
        assert refused.value.code == code
    assert not Mandate.objects.exists()
    assert changes() == []

    mandate = services.mandate_create(actor=admin_actor, principal=principal, agent=agent, **valid)

    assert policy.acting_basis(viewer=agent, person=principal) == LegalBasis.MANDATE
    [event] = changes(principal)
    assert (event.action, event.user, event.object_ids) == (
        "mandate.create",
        administrator,
        [str(mandate.public_id)],
    )
    with pytest.raises(RuleViolation) as overlap:
        services.mandate_create(
            actor=admin_actor, principal=principal, agent=agent, **{**valid, "starts_on": days(100)}
        )
    assert overlap.value.code == "overlap"

    ended = services.mandate_update(
        actor=admin_actor, mandate=mandate, scope=mandate.scope, starts_on=days(-1), ends_on=days(-1)
    )
    assert policy.acting_basis(viewer=agent, person=principal) == LegalBasis.NONE
    assert ended.ends_on == days(-1)
    assert [e.action for e in changes(principal)] == ["mandate.create", "mandate.update"]


# -- the admin -----------------------------------------------------------------------------------------------

# The admin on its own, so that these tests do not depend on the pages of other apps.
urlpatterns = [path("admin/", admin.site.urls)]


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.urls(__name__)
def test_admin_shows_declarations_found_by_identity_code_but_never_changes_or_deletes_them(
    client, administrator, long_history
):
    admin_login(client, administrator)
    stranger = PersonFactory()
    DisclosureConsentFactory(person=stranger)
    consent = DisclosureConsent.objects.filter(person=long_history, sector=ConsentSector.HEALTH_CARE).first()

    assert client.get(admin_url(DisclosureConsent, "delete", consent.pk)).status_code == 403
    response = client.post(admin_url(DisclosureConsent, "change", consent.pk), {"sector": "social_welfare"})
    assert response.status_code == 403
    assert client.get(admin_url(DisclosureConsent, "add")).status_code == 403
    consent.refresh_from_db()
    assert consent.sector == ConsentSector.HEALTH_CARE

    for model in (
        InformationNotice,
        DisclosureConsent,
        Prohibition,
        ResearchContactProhibition,
        LivingWill,
        OrganDonationWill,
    ):
        response = client.get(admin_url(model, "changelist"), {"q": long_history.identity_code.lower()})
        assert response.status_code == 200
        found = list(response.context["cl"].result_list)
        assert found
        assert {row.person for row in found} == {long_history}
        obj = found[0]
        assert client.get(admin_url(model, "change", obj.pk)).status_code == 200  # view-only page
    filtered = client.get(admin_url(Prohibition, "changelist"), {"withdrawn": "yes", "scope": "register"})
    assert {p.scope for p in filtered.context["cl"].result_list} == {"register"}
    assert all(p.withdrawn_at is not None for p in filtered.context["cl"].result_list)


@pytest.mark.urls(__name__)
def test_admin_enters_a_mandate_through_the_service_rules(client, administrator):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    admin_login(client, administrator)
    principal, agent = PersonFactory.create_batch(2)
    minor = person_aged(15)
    form = {
        "scope": MandateScope.HEALTH_CARE,
        "starts_on": days(0).isoformat(),
        "ends_on": days(30).isoformat(),
    }

    refused = client.post(admin_url(Mandate, "add"), {"principal": principal.pk, "agent": minor.pk, **form})
    assert refused.status_code == 200
    assert "under 18" in refused.text
    assert not Mandate.objects.exists()

    response = client.post(admin_url(Mandate, "add"), {"principal": principal.pk, "agent": agent.pk, **form})
    assert response.status_code == 302
    mandate = Mandate.objects.get()
    assert (mandate.principal, mandate.agent) == (principal, agent)
    assert [e.action for e in changes(principal)] == ["mandate.create"]
    assert client.get(admin_url(Mandate, "delete", mandate.pk)).status_code == 403

    response = client.post(
        admin_url(Mandate, "change", mandate.pk), {**form, "ends_on": days(10).isoformat()}
    )
    assert response.status_code == 302
    mandate.refresh_from_db()
    assert mandate.ends_on == days(10)
    assert [e.action for e in changes(principal)] == ["mandate.create", "mandate.update"]
