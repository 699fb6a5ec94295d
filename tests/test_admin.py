"""The Django admin: every page loads, the audit log is read-only, organisation admins see only their own."""

from __future__ import annotations

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from guardian.shortcuts import assign_perm

from kanta import audit
from kanta.admin import LargeTablePaginator
from kanta.models import (
    AuditCategory,
    AuditChainLink,
    AuditEvent,
    AuditSeal,
    CareReason,
    CareRelationship,
    DataType,
    Guardianship,
    LoginFailure,
    Organisation,
    Person,
    Profession,
    Professional,
    Register,
    RegisterKind,
    Unit,
    User,
)
from tests.admin_helpers import admin_login
from tests.factories import (
    PASSWORD,
    OrganisationFactory,
    PersonFactory,
    ProfessionalFactory,
    RegisterFactory,
    UnitFactory,
    UserFactory,
)

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)
KANTA_MODELS = [model for model in REGISTERED if model._meta.app_label == "kanta"]
# Rows are written by the system only: the admin refuses to add them.
NO_ADD = {AuditEvent, AuditChainLink, AuditSeal, LoginFailure}


def label(model) -> str:
    return model._meta.label_lower


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# -- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Thirty professionals each get a password; the production hasher would take most of the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def superuser_client(client, superuser):
    admin_login(client, superuser)
    return client


@pytest.fixture
def org_admin(county):
    """A staff user with no model permission, managing the county through the object permission."""
    user = UserFactory(username="county-admin", is_staff=True)
    assign_perm("kanta.manage_organisation", user, county)
    return user


@pytest.fixture
def org_admin_client(client, org_admin):
    admin_login(client, org_admin)
    return client


def record_event(*, person=None, unit=None, user=None, action="person.view") -> AuditEvent:
    return audit.record(
        actor=audit.Actor(user=user, unit=unit),
        action=action,
        category=AuditCategory.ACCESS,
        person=person,
        data_type=DataType.IDENTITY,
    )


def care_relationship(*, person, unit, professional=None, days_ago=0, days=30) -> CareRelationship:
    starts_at = timezone.now() - datetime.timedelta(days=days_ago)
    return CareRelationship.objects.create(
        person=person,
        unit=unit,
        confirmed_by=professional,
        reason=CareReason.APPOINTMENT,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(days=days),
    )


@pytest.fixture
def one_of_each(patient, county, health_centre, treating_doctor, superuser):
    """At least one row for every model registered in the admin (the doctor brings a TOTP device)."""
    guardian = PersonFactory(last_name="Korhonen")
    Guardianship.objects.create(guardian=guardian, child=patient)
    RegisterFactory(controller=county)
    care_relationship(person=patient, unit=health_centre, professional=treating_doctor)
    record_event(person=patient, unit=health_centre, user=treating_doctor.user)
    audit.seal()
    LoginFailure.objects.create(username="somebody", client_address="192.0.2.1")
    Group.objects.create(name="Archivists")


# -- every page loads for a superuser ----------------------------------------------------------------------


@pytest.mark.parametrize("model", REGISTERED, ids=label)
def test_changelist_loads_for_superuser(superuser_client, one_of_each, model):
    response = superuser_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200


def test_core_rows_written_only_by_the_system_cannot_be_added(rf, superuser):
    request = rf.get("/")
    request.user = superuser
    refused = {model for model in KANTA_MODELS if not admin.site._registry[model].has_add_permission(request)}
    assert refused == NO_ADD


@pytest.mark.parametrize("model", REGISTERED, ids=label)
def test_add_page_loads_for_superuser_or_is_refused_when_adding_is_not_allowed(
    rf, superuser, superuser_client, model
):
    request = rf.get("/")
    request.user = superuser
    allowed = admin.site._registry[model].has_add_permission(request)
    response = superuser_client.get(admin_url(model, "add"))
    assert response.status_code == (200 if allowed else 403)


@pytest.mark.parametrize("model", REGISTERED, ids=label)
def test_change_page_loads_for_superuser(superuser_client, one_of_each, model):
    obj = model._default_manager.order_by("pk").first()
    if obj is None:
        if model._meta.app_label == "kanta":
            pytest.fail(
                f"Add a {label(model)} row to the one_of_each fixture so that its change page is tested."
            )
        pytest.skip(f"no {label(model)} row here; the app's own tests cover its admin pages")
    response = superuser_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200


def test_person_birth_date_and_sex_are_shown_but_not_editable(superuser_client, patient):
    response = superuser_client.get(admin_url(Person, "change", patient.pk))
    form = response.context["adminform"].form
    assert "identity_code" in form.fields
    assert "birth_date" not in form.fields
    assert "sex" not in form.fields
    assert patient.birth_date.strftime("%Y") in response.text


def test_person_search_finds_the_exact_identity_code_and_last_names(superuser_client, patient):
    other = PersonFactory(last_name="Nieminen")
    response = superuser_client.get(admin_url(Person, "changelist"), {"q": patient.identity_code.lower()})
    assert list(response.context["cl"].result_list) == [patient]
    response = superuser_client.get(admin_url(Person, "changelist"), {"q": "niemi"})
    assert list(response.context["cl"].result_list) == [other]


def test_care_relationships_filter_active_and_ended(superuser_client, patient, health_centre):
    active = care_relationship(person=patient, unit=health_centre)
    ended = care_relationship(person=patient, unit=health_centre, days_ago=40)
    url = admin_url(CareRelationship, "changelist")
    assert list(superuser_client.get(url, {"state": "active"}).context["cl"].result_list) == [active]
    assert list(superuser_client.get(url, {"state": "ended"}).context["cl"].result_list) == [ended]


def test_professionals_filter_by_organisation(superuser_client, treating_doctor, other_county_doctor, county):
    response = superuser_client.get(admin_url(Professional, "changelist"), {"organisation": county.pk})
    assert list(response.context["cl"].result_list) == [treating_doctor]


# -- the audit log is read-only ----------------------------------------------------------------------------


def test_audit_event_cannot_be_added_through_the_admin(superuser_client, patient):
    response = superuser_client.post(
        admin_url(AuditEvent, "add"), {"action": "forged", "category": "access", "outcome": "allowed"}
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="forged").exists()


def test_audit_event_cannot_be_changed_through_the_admin(superuser_client, patient):
    event = record_event(person=patient)
    response = superuser_client.post(
        admin_url(AuditEvent, "change", event.pk),
        {"action": "forged", "category": "access", "outcome": "refused"},
    )
    assert response.status_code == 403
    event.refresh_from_db()
    assert (event.action, event.outcome) == ("person.view", "allowed")


def test_audit_event_change_page_shows_the_event_without_a_form(superuser_client, patient):
    event = record_event(person=patient)
    response = superuser_client.get(admin_url(AuditEvent, "change", event.pk))
    assert response.status_code == 200
    assert not response.context["adminform"].form.fields
    assert 'name="_save"' not in response.text
    assert "person.view" in response.text


def test_audit_event_cannot_be_deleted_through_the_admin(superuser_client, patient):
    event = record_event(person=patient)
    assert superuser_client.get(admin_url(AuditEvent, "delete", event.pk)).status_code == 403
    assert (
        superuser_client.post(admin_url(AuditEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_changelist_has_no_bulk_delete(superuser_client, patient):
    event = record_event(person=patient)
    response = superuser_client.post(
        admin_url(AuditEvent, "changelist"), {"action": "delete_selected", "_selected_action": [event.pk]}
    )
    assert "delete_selected" not in response.text
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize("model", [AuditChainLink, AuditSeal], ids=label)
def test_audit_chain_and_seals_cannot_be_deleted(superuser_client, patient, model):
    record_event(person=patient)
    audit.seal()
    obj = model.objects.get()
    assert superuser_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_staff_without_the_view_permission_cannot_read_the_audit_log(client, patient):
    event = record_event(person=patient)
    admin_login(client, UserFactory(is_staff=True))
    assert client.get(admin_url(AuditEvent, "changelist")).status_code == 403
    assert client.get(admin_url(AuditEvent, "change", event.pk)).status_code == 403


def test_staff_with_the_view_permission_reads_the_audit_log(client, patient):
    event = record_event(person=patient)
    auditor = UserFactory(is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    admin_login(client, auditor)
    assert client.get(admin_url(AuditEvent, "changelist")).status_code == 200
    assert client.get(admin_url(AuditEvent, "change", event.pk)).status_code == 200
    assert client.post(admin_url(AuditEvent, "delete", event.pk), {"post": "yes"}).status_code == 403


def test_audit_search_matches_the_exact_action(superuser_client, patient):
    wanted = record_event(person=patient, action="care_relationship.confirm")
    record_event(person=patient, action="care_relationship.confirm.extra")
    response = superuser_client.get(admin_url(AuditEvent, "changelist"), {"q": "care_relationship.confirm"})
    assert list(response.context["cl"].result_list) == [wanted]


def test_audit_changelist_does_not_count_the_whole_table(superuser_client, patient, monkeypatch):
    for _ in range(30):
        record_event(person=patient)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE kanta_auditevent")
    # Pretend 30 rows are the billions of production: the planner's estimate must be used.
    monkeypatch.setattr(LargeTablePaginator, "estimate_from", 10)
    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get(admin_url(AuditEvent, "changelist"))
    assert response.status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "kanta_auditevent" in q["sql"]]
    assert counts == []
    assert response.context["cl"].result_count == 30


# -- organisation administrators ---------------------------------------------------------------------------


def test_staff_without_a_managed_organisation_cannot_open_units(client, health_centre):
    admin_login(client, UserFactory(is_staff=True))
    assert client.get(admin_url(Unit, "changelist")).status_code == 403
    assert client.get(admin_url(Unit, "change", health_centre.pk)).status_code == 404


@pytest.mark.parametrize(
    "model", [Person, Guardianship, CareRelationship, User, AuditEvent, AuditChainLink, AuditSeal], ids=label
)
def test_org_admin_cannot_browse_people_or_the_audit_log(org_admin_client, one_of_each, model):
    assert org_admin_client.get(admin_url(model, "changelist")).status_code == 403
    obj = model._default_manager.order_by("pk").first()
    assert org_admin_client.get(admin_url(model, "change", obj.pk)).status_code == 403


def test_org_admin_index_lists_only_what_they_manage(org_admin_client):
    response = org_admin_client.get(reverse("admin:index"))
    assert admin_url(Unit, "changelist") in response.text
    assert admin_url(Professional, "changelist") in response.text
    assert admin_url(Person, "changelist") not in response.text
    assert admin_url(AuditEvent, "changelist") not in response.text


def test_org_admin_sees_only_their_organisations_units(org_admin_client, health_centre, other_county_unit):
    response = org_admin_client.get(admin_url(Unit, "changelist"))
    assert list(response.context["cl"].result_list) == [health_centre]
    assert other_county_unit.name_fi not in response.text
    assert other_county_unit.organisation.name_fi not in response.text  # not even in the filter


def test_org_admin_sees_only_their_organisations_professionals(
    org_admin_client, treating_doctor, other_county_doctor
):
    response = org_admin_client.get(admin_url(Professional, "changelist"))
    assert list(response.context["cl"].result_list) == [treating_doctor]
    assert other_county_doctor.registration_number not in response.text


def test_org_admin_sees_only_their_organisations_registers(org_admin_client, county):
    own = RegisterFactory(controller=county)
    RegisterFactory(kind=RegisterKind.SOCIAL_WELFARE)
    response = org_admin_client.get(admin_url(Register, "changelist"))
    assert list(response.context["cl"].result_list) == [own]


def test_org_admin_sees_only_their_own_organisation(org_admin_client, county, other_county_unit):
    other = other_county_unit.organisation
    response = org_admin_client.get(admin_url(Organisation, "changelist"))
    assert list(response.context["cl"].result_list) == [county]
    assert other.name_fi not in response.text
    assert org_admin_client.get(admin_url(Organisation, "change", other.pk)).status_code == 404


@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_org_admin_gets_404_for_another_organisations_unit(org_admin_client, other_county_unit, view):
    response = org_admin_client.get(admin_url(Unit, view, other_county_unit.pk))
    assert response.status_code == 404


def test_org_admin_gets_404_for_another_organisations_professional(org_admin_client, other_county_doctor):
    response = org_admin_client.get(admin_url(Professional, "change", other_county_doctor.pk))
    assert response.status_code == 404


def unit_form(unit: Unit, **changes) -> dict:
    """The unit's change form as the browser would post it, with some values changed."""
    return {key: value for key, value in model_to_dict(unit).items() if value is not None} | changes


def test_org_admin_cannot_move_a_unit_to_another_organisation(
    org_admin_client, health_centre, other_county_unit
):
    other = other_county_unit.organisation
    response = org_admin_client.post(
        admin_url(Unit, "change", health_centre.pk), unit_form(health_centre, organisation=other.pk)
    )
    assert response.status_code == 200
    assert "organisation" in response.context["adminform"].form.errors
    health_centre.refresh_from_db()
    assert health_centre.organisation_id != other.pk


def test_org_admin_cannot_add_a_unit_to_another_organisation(org_admin_client, other_county_unit):
    other = other_county_unit.organisation
    response = org_admin_client.post(
        admin_url(Unit, "add"),
        unit_form(UnitFactory.build(organisation=other, oid="1.2.246.10.1.2.3")),
    )
    assert response.status_code == 200
    assert "organisation" in response.context["adminform"].form.errors
    assert not Unit.objects.filter(oid="1.2.246.10.1.2.3").exists()


def test_org_admin_changes_and_adds_their_own_units(org_admin_client, county, health_centre):
    response = org_admin_client.post(
        admin_url(Unit, "change", health_centre.pk), unit_form(health_centre, name_fi="Hervannan sote-keskus")
    )
    assert response.status_code == 302
    health_centre.refresh_from_db()
    assert health_centre.name_fi == "Hervannan sote-keskus"
    response = org_admin_client.post(
        admin_url(Unit, "add"),
        unit_form(UnitFactory.build(organisation=county, oid="1.2.246.10.1.2.4")),
    )
    assert response.status_code == 302
    assert Unit.objects.get(oid="1.2.246.10.1.2.4").organisation == county


def test_org_admin_cannot_add_a_register_for_another_organisation(
    org_admin_client, county, other_county_unit
):
    other = other_county_unit.organisation
    response = org_admin_client.post(
        admin_url(Register, "add"), {"controller": other.pk, "kind": RegisterKind.HEALTH_CARE}
    )
    assert response.status_code == 200
    assert not Register.objects.filter(controller=other).exists()
    response = org_admin_client.post(
        admin_url(Register, "add"), {"controller": county.pk, "kind": RegisterKind.HEALTH_CARE}
    )
    assert response.status_code == 302
    assert Register.objects.filter(controller=county).exists()


def test_org_admin_cannot_add_or_delete_organisations(org_admin_client, county):
    assert org_admin_client.get(admin_url(Organisation, "add")).status_code == 403
    assert (
        org_admin_client.post(admin_url(Organisation, "delete", county.pk), {"post": "yes"}).status_code
        == 403
    )
    assert Organisation.objects.filter(pk=county.pk).exists()


def test_org_admin_renames_their_organisation_but_not_its_register_identity(org_admin_client, county):
    response = org_admin_client.post(
        admin_url(Organisation, "change", county.pk),
        {"name_fi": "Pirkanmaan HVA", "name_sv": "Birkalands VFO", "oid": "9.9.9", "kind": "pharmacy"},
    )
    assert response.status_code == 302
    before = county.oid
    county.refresh_from_db()
    assert county.name_fi == "Pirkanmaan HVA"
    assert (county.oid, county.kind) == (before, "county")


def test_org_admin_cannot_manage_object_permissions(org_admin_client, county):
    response = org_admin_client.get(admin_url(Organisation, "permissions", county.pk))
    assert response.status_code == 302
    change_page = org_admin_client.get(admin_url(Organisation, "change", county.pk))
    assert change_page.status_code == 200
    assert admin_url(Organisation, "permissions", county.pk) not in change_page.text


def test_superuser_sees_who_manages_an_organisation(superuser_client, org_admin, county):
    response = superuser_client.get(admin_url(Organisation, "change", county.pk))
    assert "county-admin" in response.text
    assert admin_url(Organisation, "permissions", county.pk) in response.text
    assert superuser_client.get(admin_url(Organisation, "permissions", county.pk)).status_code == 200


def test_org_admin_autocomplete_offers_only_their_units(org_admin_client, health_centre, other_county_unit):
    response = org_admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "kanta", "model_name": "professional", "field_name": "units", "term": ""},
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(health_centre.pk)]


def test_org_admin_cannot_search_persons_through_autocomplete(org_admin_client, patient):
    response = org_admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "kanta", "model_name": "carerelationship", "field_name": "person", "term": "Virt"},
    )
    assert response.status_code == 403
    assert patient.last_name not in response.text


def test_org_admin_cannot_put_a_professional_in_another_organisations_unit(
    org_admin_client, treating_doctor, other_county_unit
):
    response = org_admin_client.post(
        admin_url(Professional, "change", treating_doctor.pk),
        {
            "registration_number": treating_doctor.registration_number,
            "profession": treating_doctor.profession,
            "units": [other_county_unit.pk],
        },
    )
    assert response.status_code == 200
    assert "units" in response.context["adminform"].form.errors
    assert other_county_unit not in treating_doctor.units.all()


def test_org_admin_editing_a_shared_professional_keeps_other_organisations_units(
    org_admin_client, health_centre, other_county_unit
):
    shared = ProfessionalFactory(units=[health_centre, other_county_unit])
    listing = org_admin_client.get(admin_url(Professional, "changelist"))
    assert health_centre.name_fi in listing.text
    assert other_county_unit.name_fi not in listing.text
    response = org_admin_client.post(
        admin_url(Professional, "change", shared.pk),
        {
            "registration_number": shared.registration_number,
            "profession": Profession.NURSE,
            "units": [health_centre.pk],
        },
    )
    assert response.status_code == 302
    shared.refresh_from_db()
    assert shared.profession == Profession.NURSE
    assert set(shared.units.all()) == {health_centre, other_county_unit}
    # Deleting would reach the other organisation too.
    assert (
        org_admin_client.post(admin_url(Professional, "delete", shared.pk), {"post": "yes"}).status_code
        == 403
    )
    assert Professional.objects.filter(pk=shared.pk).exists()


def test_org_admin_cannot_give_a_professional_role_to_a_staff_account(
    org_admin_client, org_admin, health_centre
):
    response = org_admin_client.post(
        admin_url(Professional, "add"),
        {
            "user": org_admin.pk,
            "registration_number": "99999999",
            "profession": Profession.PHYSICIAN,
            "units": [health_centre.pk],
        },
    )
    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    assert not Professional.objects.filter(registration_number="99999999").exists()


def test_org_admin_adds_a_professional_to_their_unit(org_admin_client, health_centre):
    login = UserFactory()
    response = org_admin_client.post(
        admin_url(Professional, "add"),
        {
            "user": login.pk,
            "registration_number": "99999998",
            "profession": Profession.NURSE,
            "units": [health_centre.pk],
        },
    )
    assert response.status_code == 302
    assert list(Professional.objects.get(registration_number="99999998").units.all()) == [health_centre]


def test_delete_confirmation_does_not_name_patients_to_an_org_admin(
    client, org_admin, superuser, patient, health_centre
):
    care_relationship(person=patient, unit=health_centre)
    url = admin_url(Unit, "delete", health_centre.pk)
    admin_login(client, superuser)
    assert patient.last_name in client.get(url).text
    admin_login(client, org_admin)
    response = client.get(url)
    assert response.status_code == 200
    assert patient.last_name not in response.text
    assert response.context["protected"]
    # The care relationship protects the unit.
    assert client.post(url, {"post": "yes"}).status_code == 200
    assert Unit.objects.filter(pk=health_centre.pk).exists()


# -- query budgets -----------------------------------------------------------------------------------------


@pytest.fixture
def thirty_of_each(county, health_centre, superuser):
    """Thirty rows of every core model, to expose a query per row."""
    persons = [PersonFactory() for _ in range(31)]
    units = [health_centre, *(UnitFactory(organisation=county) for _ in range(29))]
    for index in range(30):
        organisation = OrganisationFactory(parent=county)
        RegisterFactory(controller=organisation)
        units.append(UnitFactory(organisation=organisation))
        doctor = ProfessionalFactory(units=[units[index], units[index + 1]])
        Guardianship.objects.create(guardian=persons[index], child=persons[index + 1])
        care_relationship(person=persons[index], unit=units[index], professional=doctor)
        record_event(person=persons[index], unit=units[index], user=doctor.user)
        audit.seal()
        LoginFailure.objects.create(username=f"user{index}")
    RegisterFactory(controller=county)
    for model in KANTA_MODELS:
        assert model._default_manager.count() >= 30, model


@pytest.mark.parametrize("model", KANTA_MODELS, ids=label)
def test_changelist_query_count_is_bounded_for_superuser(
    superuser_client, thirty_of_each, model, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = superuser_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= 30


@pytest.mark.parametrize("model", [Organisation, Unit, Register, Professional], ids=label)
def test_changelist_query_count_is_bounded_for_org_admin(
    org_admin_client, thirty_of_each, model, django_assert_max_num_queries
):
    with django_assert_max_num_queries(14):
        response = org_admin_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_list


def test_administrator_opening_a_person_is_logged(superuser_client, patient):
    person = patient
    response = superuser_client.get(admin_url(Person, "change", person.pk))
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="admin.person.view")
    assert event.person == person
    assert event.outcome == "allowed"


# -- signing in: password and one-time code ---------------------------------------------------------------------

ADMIN_LOGIN = "/admin/login/"


def admin_code(user, *, steps_ahead: int = 0) -> str:
    device = TOTPDevice.objects.get(user=user)
    return f"{totp(device.bin_key, drift=steps_ahead):06d}"


@pytest.fixture
def admin_with_authenticator(superuser):
    TOTPDevice.objects.create(user=superuser, name="authenticator", confirmed=True)
    return superuser


@pytest.fixture
def english_client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def sign_in(client, user, *, code: str, password: str = PASSWORD):
    return client.post(
        f"{ADMIN_LOGIN}?next=/admin/",
        {"username": user.username, "password": password, "otp_token": code, "next": "/admin/"},
    )


def test_a_password_session_without_a_verified_code_is_not_let_into_the_admin(client, superuser):
    client.force_login(superuser)  # as a password-only sign-in would leave it

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith(ADMIN_LOGIN)


def test_a_wrong_code_is_refused_without_saying_which_part_was_wrong(
    english_client, admin_with_authenticator
):
    wrong = "000000" if admin_code(admin_with_authenticator) != "000000" else "111111"

    response = sign_in(english_client, admin_with_authenticator, code=wrong)

    assert response.status_code == 200
    assert "Username, password or one-time code is wrong." in response.text
    assert f'value="{admin_with_authenticator.username}"' in response.text  # what was typed is kept
    assert english_client.get("/admin/").status_code == 302
    assert LoginFailure.objects.filter(username=admin_with_authenticator.username).count() == 1
    refused = AuditEvent.objects.get(action="admin.login")
    assert (refused.outcome, refused.object_ids) == ("refused", [admin_with_authenticator.username])


def test_a_wrong_password_with_the_right_code_is_refused_the_same_way(
    english_client, admin_with_authenticator
):
    response = sign_in(
        english_client, admin_with_authenticator, code=admin_code(admin_with_authenticator), password="nope"
    )

    assert "Username, password or one-time code is wrong." in response.text
    assert english_client.get("/admin/").status_code == 302


def test_password_and_code_open_the_admin_and_are_logged(english_client, admin_with_authenticator):
    response = sign_in(english_client, admin_with_authenticator, code=admin_code(admin_with_authenticator))

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert english_client.get("/admin/").status_code == 200
    allowed = AuditEvent.objects.get(action="admin.login")
    assert (allowed.outcome, allowed.user) == ("allowed", admin_with_authenticator)


def test_repeated_failures_lock_the_username_even_for_the_right_code(
    english_client, admin_with_authenticator, settings
):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _attempt in range(3):
        sign_in(
            english_client, admin_with_authenticator, code=admin_code(admin_with_authenticator), password="x"
        )

    response = sign_in(english_client, admin_with_authenticator, code=admin_code(admin_with_authenticator))

    assert "Too many failed sign-in attempts. Try again later." in response.text
    assert english_client.get("/admin/").status_code == 302
    assert LoginFailure.objects.count() == 3  # the refusal by the lockout is not counted again


def test_the_sign_in_page_asks_for_the_one_time_code_in_finnish(client):
    response = client.get(ADMIN_LOGIN, headers={"accept-language": "fi"})

    assert response.status_code == 200
    assert 'name="otp_token"' in response.text
    assert 'autocomplete="one-time-code"' in response.text
    assert "Kertakäyttöinen koodi" in response.text
