"""Renewal requests: what can be renewed and why not, sending, renewing, rejecting, returning, the 8-day
expiry and two professionals handling one request at once (kanta-reference.md 1.4, 3.6)."""

from __future__ import annotations

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import AuditEvent, Guardianship, LegalBasis, Profession
from prescriptions import rules, selectors, services
from prescriptions.models import (
    EventKind,
    Prescription,
    PrescriptionStatus,
    RenewalRequest,
    RenewalStatus,
)
from tests.factories import PersonFactory, ProfessionalFactory, UnitFactory, temporary_identity_code
from tests.factories_prescriptions import (
    DispensingFactory,
    PrescriptionFactory,
    ProductFactory,
    RenewalRequestFactory,
)

CITIZEN = audit.Actor()


def actor_for(professional, unit) -> audit.Actor:
    return audit.Actor(user=professional.user, professional=professional, unit=unit)


def months_ago(months: int, *, days: int = 0) -> datetime.datetime:
    day = rules.add_months(timezone.localdate(), -months) - datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def dispensed(prescription: Prescription, quantity: str = "100") -> Prescription:
    Prescription.objects.filter(pk=prescription.pk).update(
        quantity_dispensed=Decimal(quantity),
        status=PrescriptionStatus.PARTLY_DISPENSED,
        last_dispensed_at=timezone.now(),
    )
    prescription.refresh_from_db()
    return prescription


@pytest.fixture
def unit(health_centre):
    health_centre.accepts_renewal_requests = True
    health_centre.save()
    return health_centre


@pytest.fixture
def doctor(treating_doctor, unit):
    return actor_for(treating_doctor, unit)


@pytest.fixture
def prescription(patient, unit, treating_doctor):
    # warfarin: not on the nurse list
    warfarin = ProductFactory(
        name="Marevan Test", atc="B01AA03", active_substance="warfarin", strength="3 mg"
    )
    return dispensed(
        PrescriptionFactory(person=patient, unit=unit, prescriber=treating_doctor, product=warfarin)
    )


def send(person, prescriptions, unit, *, acting_person=None, basis="", phone=""):
    return services.renewal_request_send(
        actor=CITIZEN,
        person=person,
        acting_person=acting_person or person,
        prescriptions=prescriptions,
        unit=unit,
        phone=phone,
        on_behalf_basis=basis,
    )


def other_accepting_unit_for(person) -> object:
    """Another unit that has prescribed to the person before and accepts requests."""
    other = UnitFactory(accepts_renewal_requests=True)
    PrescriptionFactory(person=person, unit=other)
    return other


# -- what can be renewed ---------------------------------------------------------------------------------


def test_a_never_dispensed_prescription_cannot_be_renewed_and_the_reason_says_why(patient, unit):
    never = PrescriptionFactory(person=patient, unit=unit)

    with pytest.raises(RuleViolation, match="dispensed at least once") as refused:
        send(patient, [never], unit)

    assert refused.value.code == "not_renewable"
    assert never.medicine_name in str(refused.value)
    assert rules.renewal_refusal_reason(never) in str(refused.value)
    assert not RenewalRequest.objects.exists()


def test_a_dispensed_prescription_is_sent_with_the_phone_number_and_logged(patient, prescription, unit):
    requests = send(patient, [prescription], unit, phone="040 123 4567")

    [request] = requests
    assert (request.status, request.unit, request.person) == (RenewalStatus.SENT, unit, patient)
    assert request.phone == "+358401234567"
    logged = AuditEvent.objects.get(action="renewal_request.send")
    assert (logged.person, logged.legal_basis) == (patient, LegalBasis.SELF)
    assert logged.object_ids == [str(request.public_id)]
    assert rules.renewal_refusal_reason(prescription) == (
        "A renewal request for this prescription is already waiting to be handled."
    )


def test_a_two_year_prescription_older_than_28_months_cannot_be_renewed(patient, unit):
    too_old = dispensed(PrescriptionFactory(person=patient, unit=unit, prescribed_at=months_ago(28, days=1)))

    with pytest.raises(RuleViolation, match="28 months"):
        send(patient, [too_old], unit)

    still = dispensed(PrescriptionFactory(person=patient, unit=unit, prescribed_at=months_ago(28)))
    assert len(send(patient, [still], unit)) == 1


def test_a_29_months_old_two_year_prescription_cannot_be_renewed(patient, unit):
    old = dispensed(PrescriptionFactory(person=patient, unit=unit, prescribed_at=months_ago(29)))

    assert "28 months" in rules.renewal_refusal_reason(old)
    with pytest.raises(RuleViolation, match="28 months"):
        send(patient, [old], unit)


@pytest.mark.parametrize("flag", ["narcotic", "pkv", "special_permit"])
def test_a_17_months_old_one_year_prescription_cannot_be_renewed(patient, unit, flag):
    old = dispensed(
        PrescriptionFactory(person=patient, unit=unit, prescribed_at=months_ago(17), **{flag: True})
    )

    with pytest.raises(RuleViolation, match="16 months"):
        send(patient, [old], unit)

    recent = dispensed(
        PrescriptionFactory(person=patient, unit=unit, prescribed_at=months_ago(15), **{flag: True})
    )
    assert len(send(patient, [recent], unit)) == 1


def test_an_expired_but_dispensed_prescription_within_the_window_can_be_renewed(patient, unit):
    expired = dispensed(PrescriptionFactory(person=patient, unit=unit, prescribed_at=months_ago(25)))
    Prescription.objects.filter(pk=expired.pk).update(status=PrescriptionStatus.EXPIRED)
    expired.refresh_from_db()

    assert rules.renewal_refusal_reason(expired) is None
    assert len(send(patient, [expired], unit)) == 1


def test_an_invalidated_prescription_cannot_be_renewed(patient, prescription, unit):
    Prescription.objects.filter(pk=prescription.pk).update(status=PrescriptionStatus.INVALIDATED)

    with pytest.raises(RuleViolation, match="invalidated"):
        send(patient, [prescription], unit)


def test_a_unit_that_does_not_accept_requests_is_refused(patient, prescription, unit):
    unit.accepts_renewal_requests = False
    unit.save()

    with pytest.raises(RuleViolation, match="does not accept") as refused:
        send(patient, [prescription], unit)

    assert refused.value.field == "unit"
    assert not RenewalRequest.objects.exists()
    assert unit not in selectors.renewable_units_for(patient)


def test_a_unit_that_never_prescribed_to_the_person_is_refused(patient, prescription):
    stranger = UnitFactory(accepts_renewal_requests=True)

    with pytest.raises(RuleViolation, match="prescribed medicines to you before"):
        send(patient, [prescription], stranger)

    assert list(selectors.renewable_units_for(patient)) == [prescription.unit]


def test_someone_elses_prescription_cannot_be_sent(patient, unit):
    other = dispensed(PrescriptionFactory(unit=unit))
    PrescriptionFactory(person=patient, unit=unit)

    with pytest.raises(RuleViolation, match="your own prescriptions"):
        send(patient, [other], unit)


def test_all_or_nothing_when_one_of_several_is_not_renewable(patient, prescription, unit):
    never = PrescriptionFactory(person=patient, unit=unit)

    with pytest.raises(RuleViolation):
        send(patient, [prescription, never], unit)

    assert not RenewalRequest.objects.exists()


@pytest.mark.parametrize("phone", ["12345", "+46 70 123 4567", "09 1234567", "040 12"])
def test_a_phone_number_that_is_not_a_finnish_mobile_number_is_refused(patient, prescription, unit, phone):
    with pytest.raises(RuleViolation, match="Finnish mobile number") as refused:
        send(patient, [prescription], unit, phone=phone)

    assert refused.value.field == "phone"


@pytest.mark.parametrize(
    "phone", ["+358 40 1234567", "040 1234567", "040-123 4567", "00358401234567", "+358401234567"]
)
def test_finnish_mobile_numbers_are_accepted_in_their_usual_forms(phone):
    assert rules.normalise_phone(phone) == "+358401234567"


def test_phone_number_is_optional(patient, prescription, unit):
    assert send(patient, [prescription], unit)[0].phone == ""


# -- on behalf of another --------------------------------------------------------------------------------


def child_born_years_ago(years: int):
    birth = rules.add_months(timezone.localdate(), -12 * years) - datetime.timedelta(days=30)
    return PersonFactory(identity_code=temporary_identity_code(birth))


def test_without_a_basis_nobody_sends_for_another_person(patient, prescription, unit):
    with pytest.raises(RuleViolation, match="on behalf"):
        send(patient, [prescription], unit, acting_person=PersonFactory(), basis=LegalBasis.NONE)


def test_a_guardian_sends_for_a_child_under_10_but_not_for_an_older_one(unit):
    guardian = PersonFactory()
    older, younger = child_born_years_ago(11), child_born_years_ago(9)
    for child in (older, younger):
        Guardianship.objects.create(guardian=guardian, child=child)
    older_prescription = dispensed(PrescriptionFactory(person=older, unit=unit))
    younger_prescription = dispensed(PrescriptionFactory(person=younger, unit=unit))

    with pytest.raises(RuleViolation, match="under 10"):
        send(older, [older_prescription], unit, acting_person=guardian, basis=LegalBasis.GUARDIAN)

    [request] = send(younger, [younger_prescription], unit, acting_person=guardian, basis=LegalBasis.GUARDIAN)
    assert request.person == younger
    assert AuditEvent.objects.get(action="renewal_request.send").legal_basis == LegalBasis.GUARDIAN


# -- handling --------------------------------------------------------------------------------------------


@pytest.fixture
def request_sent(patient, prescription, unit):
    return send(patient, [prescription], unit, phone="0401234567")[0]


def test_a_professional_of_another_unit_cannot_handle_the_request(request_sent):
    elsewhere = UnitFactory()
    outsider = actor_for(ProfessionalFactory(units=[elsewhere]), elsewhere)

    with pytest.raises(RuleViolation, match="another unit"):
        services.renewal_renew(actor=outsider, request=request_sent)

    request_sent.refresh_from_db()
    assert request_sent.status == RenewalStatus.SENT


@pytest.mark.parametrize("profession", [Profession.PHARMACIST, Profession.MEDICAL_STUDENT, Profession.NURSE])
def test_only_professionals_with_the_right_to_prescribe_it_handle_the_request(request_sent, unit, profession):
    actor = actor_for(ProfessionalFactory(units=[unit], profession=profession), unit)

    with pytest.raises(RuleViolation) as refused:
        services.renewal_reject(actor=actor, request=request_sent, reason="ei")

    assert refused.value.code == "no_prescribing_right"
    request_sent.refresh_from_db()
    assert request_sent.status == RenewalStatus.SENT


def test_a_nurse_renews_a_medicine_on_the_nurse_list(patient, unit):
    contraceptive = ProductFactory(atc="G03AA07", name="Ehkäisy Test", package_quantity=Decimal("63"))
    old = dispensed(PrescriptionFactory(person=patient, unit=unit, product=contraceptive), "63")
    [request] = send(patient, [old], unit)
    nurse = actor_for(ProfessionalFactory(units=[unit], profession=Profession.NURSE), unit)

    assert services.renewal_renew(actor=nurse, request=request).renewed_from == old


def test_renewing_creates_a_new_prescription_linked_to_the_old_one(request_sent, prescription, doctor):
    new = services.renewal_renew(actor=doctor, request=request_sent)

    assert new.renewed_from == prescription
    assert (new.product, new.dosage, new.total_quantity) == (
        prescription.product,
        prescription.dosage,
        prescription.total_quantity,
    )
    assert new.status == PrescriptionStatus.UNDISPENSED
    assert new.prescriber == doctor.professional
    assert new.valid_until == rules.add_months(timezone.localdate(), 24)
    request_sent.refresh_from_db()
    assert request_sent.status == RenewalStatus.RENEWED
    assert request_sent.new_prescription == new
    assert request_sent.handled_by == doctor.professional
    assert prescription.events.filter(kind=EventKind.RENEWED, note=str(new.public_id)).exists()
    assert new.events.get(kind=EventKind.PRESCRIBED).note == str(prescription.public_id)
    assert AuditEvent.objects.filter(action="renewal_request.renew", person=prescription.person).exists()


def test_renewing_may_change_the_dosage_but_not_the_medicine(request_sent, doctor):
    with pytest.raises(RuleViolation, match="cannot be changed when renewing"):
        services.renewal_renew(actor=doctor, request=request_sent, product=ProductFactory())

    new = services.renewal_renew(actor=doctor, request=request_sent, dosage="2 tablettia", amount_packages=1)

    assert (new.dosage, new.total_quantity) == ("2 tablettia", Decimal("100"))


def test_a_renewed_prescription_is_not_renewed_again(patient, request_sent, prescription, unit, doctor):
    services.renewal_renew(actor=doctor, request=request_sent)

    with pytest.raises(RuleViolation, match="already been renewed"):
        send(patient, [prescription], unit)


def test_a_handled_request_cannot_be_handled_again(request_sent, doctor):
    services.renewal_renew(actor=doctor, request=request_sent)

    with pytest.raises(RuleViolation, match="already been handled") as refused:
        services.renewal_reject(actor=doctor, request=request_sent, reason="ei")

    assert refused.value.code == "handled"


def test_rejecting_needs_a_reason(request_sent, doctor):
    with pytest.raises(RuleViolation, match="reason"):
        services.renewal_reject(actor=doctor, request=request_sent, reason=" ")

    request_sent.refresh_from_db()
    assert request_sent.status == RenewalStatus.SENT


def test_a_rejection_is_final_even_at_another_unit(patient, request_sent, prescription, doctor):
    services.renewal_reject(actor=doctor, request=request_sent, reason="Varaa aika vastaanotolle.")
    other = other_accepting_unit_for(patient)

    with pytest.raises(RuleViolation, match="rejected"):
        send(patient, [prescription], other)

    request_sent.refresh_from_db()
    assert (request_sent.status, request_sent.reason) == (RenewalStatus.REJECTED, "Varaa aika vastaanotolle.")


def test_a_returned_request_can_be_sent_to_another_unit_but_not_back(
    patient, request_sent, prescription, doctor, unit
):
    services.renewal_return(actor=doctor, request=request_sent, reason="Väärä yksikkö.")

    with pytest.raises(RuleViolation, match="returned"):
        send(patient, [prescription], unit)

    other = other_accepting_unit_for(patient)
    [again] = send(patient, [prescription], other)
    assert (again.unit, again.status) == (other, RenewalStatus.SENT)


# -- the 8 days ------------------------------------------------------------------------------------------


def test_a_request_unhandled_for_8_days_expires_once(prescription, unit):
    now = timezone.now()
    old = RenewalRequestFactory(
        prescription=prescription, sent_at=now - datetime.timedelta(days=8, minutes=1)
    )
    fresh = RenewalRequestFactory(
        prescription=dispensed(PrescriptionFactory(person=prescription.person, unit=unit)),
        sent_at=now - datetime.timedelta(days=7, hours=23),
    )

    assert services.expire_renewal_requests(now=now) == 1
    assert services.expire_renewal_requests(now=now) == 0

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == (RenewalStatus.EXPIRED, RenewalStatus.SENT)
    assert AuditEvent.objects.filter(action="renewal_request.expire").count() == 1
    # an expired request does not block a new one
    assert rules.renewal_refusal_reason(prescription) is None


def test_a_request_older_than_8_days_cannot_be_handled_even_before_the_job_runs(prescription, unit, doctor):
    stale = RenewalRequestFactory(
        prescription=prescription, sent_at=timezone.now() - datetime.timedelta(days=8)
    )

    assert stale not in selectors.renewal_queue(unit)
    with pytest.raises(RuleViolation, match="expired"):
        services.renewal_renew(actor=doctor, request=stale)


# -- reads -----------------------------------------------------------------------------------------------


def test_the_renewal_queue_shows_the_units_open_requests_oldest_first_in_bounded_queries(
    patient, unit, django_assert_max_num_queries
):
    requests = [
        RenewalRequestFactory(
            prescription=dispensed(PrescriptionFactory(unit=unit)),
            sent_at=timezone.now() - datetime.timedelta(hours=n),
        )
        for n in range(6)
    ]
    elsewhere = RenewalRequestFactory(prescription=dispensed(PrescriptionFactory()))

    with django_assert_max_num_queries(1):
        queue = list(selectors.renewal_queue(unit))
        shown = [
            (r.person.last_name, r.prescription.product.name, r.prescription.prescriber.user.username)
            for r in queue
        ]

    assert [r.pk for r in queue] == [r.pk for r in reversed(requests)]
    assert elsewhere not in queue
    assert len(shown) == 6


def test_the_persons_prescription_list_shows_renewal_state_in_bounded_queries(
    patient, unit, doctor, django_assert_max_num_queries
):
    rows = [dispensed(PrescriptionFactory(person=patient, unit=unit)) for _ in range(5)]
    send(patient, rows[:1], unit)
    services.renewal_reject(actor=doctor, request=send(patient, rows[1:2], unit)[0], reason="ei")
    Prescription.objects.filter(pk=rows[2].pk).update(status=PrescriptionStatus.INVALIDATED)
    for prescription in rows[3:]:
        DispensingFactory(prescription=prescription)

    with django_assert_max_num_queries(1):
        listed = list(selectors.person_prescriptions(person=patient))
        reasons = {p.pk: rules.renewal_refusal_reason(p) for p in listed}
        [(p.prescriber.user.username, p.unit.organisation.name, p.product.name) for p in listed]

    assert listed[-1].pk == rows[2].pk  # not in force: last
    assert "already waiting" in reasons[rows[0].pk]
    assert "rejected" in reasons[rows[1].pk]
    assert "invalidated" in reasons[rows[2].pk]
    assert reasons[rows[3].pk] is None
    assert {p.pk: p.renewal_status for p in listed}[rows[1].pk] == RenewalStatus.REJECTED


def test_prescription_with_history_reads_everything_in_bounded_queries(
    request_sent, prescription, doctor, django_assert_max_num_queries
):
    new = services.renewal_renew(actor=doctor, request=request_sent)
    DispensingFactory(prescription=prescription)

    with django_assert_max_num_queries(6):
        found = selectors.prescription_with_history(prescription.public_id)
        kinds = [event.kind for event in found.events.all()]
        [event.professional.user.username for event in found.events.all() if event.professional]
        [d.product.name for d in found.dispensings.all()]
        [r.unit.name for r in found.renewal_requests.all()]
        renewals = list(found.renewals.all())

    assert kinds == [EventKind.RENEWED]  # the factory row has no PRESCRIBED event of its own
    assert renewals == [new]
    assert selectors.prescription_with_history("not-a-uuid") is None


# -- two professionals at once ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_professionals_handling_the_same_request_at_once_only_one_succeeds(monkeypatch):
    """Two threads with their own database connections; the first to lock the request holds the lock for a
    while, so the second really waits on the row lock and then finds the request handled."""
    unit = UnitFactory(accepts_renewal_requests=True)
    patient = PersonFactory()
    old = dispensed(PrescriptionFactory(person=patient, unit=unit))
    [request] = send(patient, [old], unit)
    first, second = (actor_for(ProfessionalFactory(units=[unit]), unit) for _ in range(2))

    real = services._request_for_handling

    def slow_while_holding_the_lock(actor, request):
        handled = real(actor, request)
        time.sleep(0.5)
        return handled

    monkeypatch.setattr(services, "_request_for_handling", slow_while_holding_the_lock)
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def handle(name, call):
        try:
            start.wait()
            outcomes[name] = call()
        except RuleViolation as refused:
            outcomes[name] = refused
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=handle, args=("renew", lambda: services.renewal_renew(actor=first, request=request))
        ),
        threading.Thread(
            target=handle,
            args=("reject", lambda: services.renewal_reject(actor=second, request=request, reason="ei")),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    refusals = [o for o in outcomes.values() if isinstance(o, RuleViolation)]
    assert len(outcomes) == 2
    assert len(refusals) == 1
    assert refusals[0].code == "handled"
    request.refresh_from_db()
    renewed = Prescription.objects.filter(renewed_from=old).count()
    if isinstance(outcomes["renew"], RuleViolation):
        assert (request.status, renewed) == (RenewalStatus.REJECTED, 0)
    else:
        assert (request.status, renewed) == (RenewalStatus.RENEWED, 1)
