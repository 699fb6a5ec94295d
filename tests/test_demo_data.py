"""manage.py demo_data and demo_totp: an idempotent, believable demo that will not seed a production database.

The demo is loaded once for the class of tests that read it (it takes seconds now that the apps write their
demo content through their services); each test still runs in its own savepoint, so a test that reruns the
command or changes a row leaves the next one the demo as loaded.
"""

from __future__ import annotations

import ast
import base64
import csv
import datetime
import io
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from archive import codes
from archive.forms_spec import clean_form_data
from archive.models import (
    AbnormalFlag,
    AuthorizationScope,
    CertificateForm,
    Diagnosis,
    Document,
    DocumentKind,
    DocumentStatus,
    ImagingStudy,
    LabResult,
    PurchasedServiceAuthorization,
    RiskInformation,
    RiskKind,
    ServiceTask,
    Vaccination,
)
from citizen.selectors import disclosure_log
from consents import policy
from consents.models import (
    ConsentSector,
    DisclosureConsent,
    InformationNotice,
    LivingWill,
    Mandate,
    MandateScope,
    OrganDonationWill,
    PrescriptionDenial,
    Prohibition,
    ProhibitionScope,
    ResearchContactProhibition,
)
from kanta import access, audit, demo, identity_code
from kanta.management.commands import demo_data
from kanta.models import (
    AuditCategory,
    AuditEvent,
    AuditOutcome,
    CareReason,
    CareRelationship,
    Language,
    LegalBasis,
    Organisation,
    OrganisationKind,
    Person,
    Profession,
    Professional,
    RegisterKind,
    Unit,
    User,
)
from kanta.services import care_relationship_confirm
from prescriptions import demo_content as prescriptions_demo
from prescriptions import pharmacy_selectors, rules
from prescriptions import selectors as prescription_selectors
from prescriptions.models import (
    CrossBorderConsent,
    CrossBorderCountry,
    Dispensing,
    Prescription,
    PrescriptionStatus,
    PrescriptionSummary,
    Product,
    ProductImport,
    RenewalRequest,
    RenewalStatus,
)
from tests.citizen_helpers import log_in
from tests.factories import ProfessionalFactory, UserFactory

DVV_TEST_CODES = {"010594Y9032", "020594X903P", "020503F9037", "020504B904H", "010516B903X"}


def run_demo_data(**options) -> str:
    out = io.StringIO()
    call_command("demo_data", stdout=out, **options)
    return out.getvalue()


def run_demo_totp(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_totp", *args, stdout=out)
    return out.getvalue().strip()


@pytest.fixture(scope="class")
def demo_output(django_db_setup, django_db_blocker):
    """The demo loaded once for a class, in a transaction rolled back after the class."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield run_demo_data(force=True)
        transaction.set_rollback(True)


def person_of(key: str) -> Person:
    code = next(p.identity_code for p in demo.PERSONS if p.key == key)
    return Person.objects.select_related("user").get(identity_code=code)


def actor_of(username: str, unit_key: str) -> audit.Actor:
    professional = Professional.objects.select_related("user").get(user__username=username)
    unit_oid = next(u.oid for org in demo.ORGANISATIONS for u in org.units if u.key == unit_key)
    return audit.Actor(user=professional.user, professional=professional, unit=Unit.objects.get(oid=unit_oid))


def sign_in_demo(username: str, unit_key: str) -> Client:
    """A demo professional signed in with the demo password and their current one-time code, in the unit."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    user = User.objects.get(username=username)
    token = f"{totp(TOTPDevice.objects.get(user=user).bin_key):06d}"
    response = client.post(
        reverse("professional:login"), {"username": username, "password": demo.DEMO_PASSWORD, "token": token}
    )
    assert response.status_code == 302
    response = client.post(
        reverse("professional:choose_unit"), {"unit": actor_of(username, unit_key).unit.pk}
    )
    assert response.status_code == 302
    return client


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


# -- refusals ------------------------------------------------------------------------------------------------


def test_demo_data_refuses_without_debug_and_writes_nothing(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        run_demo_data()
    assert not Organisation.objects.exists()
    assert not User.objects.exists()


def test_demo_data_loads_without_debug_when_forced(db, settings):
    settings.DEBUG = False
    run_demo_data(force=True)
    assert User.objects.filter(username="doctor").exists()


def test_demo_totp_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="not a demo account"):
        run_demo_totp("nobody")


def test_demo_totp_refuses_a_real_professional(db):
    professional = ProfessionalFactory()
    with pytest.raises(CommandError, match="not a demo account"):
        run_demo_totp(professional.user.username)


def test_demo_totp_refuses_a_device_named_demo_without_the_demo_key(db):
    user = UserFactory(username="doctor")
    TOTPDevice.objects.create(user=user, name=demo.DEMO_DEVICE_NAME, confirmed=True)  # random key
    with pytest.raises(CommandError, match="not a demo account"):
        run_demo_totp("doctor")


# -- the loaded demo ----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_output")
class TestTheLoadedDemo:
    @pytest.fixture(autouse=True)
    def _debug(self, db, settings):
        settings.DEBUG = True

    # -- idempotency ---------------------------------------------------------------------------------------------

    def test_running_demo_data_twice_leaves_the_same_rows(self, demo_output):
        first = row_counts()
        persons = set(Person.objects.values_list("pk", "identity_code"))
        assert first["kanta.Person"] > 0

        run_demo_data()

        assert row_counts() == first
        assert set(Person.objects.values_list("pk", "identity_code")) == persons

    def test_rerun_restores_an_expired_care_relationship_and_keeps_the_old_one(self, demo_output):
        doctor = Professional.objects.get(user__username="doctor")
        relationship = CareRelationship.objects.filter(confirmed_by=doctor).first()
        relationship.starts_at = timezone.now() - datetime.timedelta(days=60)
        relationship.ends_at = timezone.now() - datetime.timedelta(days=30)
        relationship.save(update_fields=["starts_at", "ends_at"])

        run_demo_data()

        pair = CareRelationship.objects.filter(unit=relationship.unit, person=relationship.person)
        assert pair.active().count() == 1
        assert pair.filter(pk=relationship.pk, ends_at__lt=timezone.now()).exists()

    # -- what the demo contains ----------------------------------------------------------------------------------

    def test_output_gives_the_password_accounts_and_how_to_get_a_code(self, demo_output):
        assert demo.DEMO_PASSWORD in demo_output
        assert "demo_totp" in demo_output
        for username in ["admin", "admin-pirkanmaa", "doctor", "nurse", "pharmacist", "socialworker"]:
            assert f"\n{username} " in demo_output
        assert "Hervannan terveysasema" in demo_output

    def test_three_counties_each_with_all_three_registers_and_units(self, demo_output):
        counties = Organisation.objects.filter(kind=OrganisationKind.COUNTY)
        assert {(c.name_fi, c.name_sv) for c in counties} == {
            ("Pirkanmaan hyvinvointialue", "Birkalands välfärdsområde"),
            ("Varsinais-Suomen hyvinvointialue", "Egentliga Finlands välfärdsområde"),
            ("Pohjois-Savon hyvinvointialue", "Norra Savolax välfärdsområde"),
        }
        for county in counties:
            assert set(county.registers.values_list("kind", flat=True)) == set(RegisterKind.values)
            assert county.units.count() >= 3

    def test_two_private_providers_one_with_occupational_health(self, demo_output):
        providers = Organisation.objects.filter(kind=OrganisationKind.PRIVATE_HEALTH)
        assert providers.count() == 2
        for provider in providers:
            assert provider.registers.filter(kind=RegisterKind.HEALTH_CARE).exists()
            assert provider.units.exists()
        assert providers.filter(registers__kind=RegisterKind.OCCUPATIONAL_HEALTH).count() == 1

    def test_two_pharmacies_with_a_unit_each_and_kela_and_traficom_as_recipients(self, demo_output):
        pharmacies = Organisation.objects.filter(kind=OrganisationKind.PHARMACY)
        assert pharmacies.count() == 2
        assert all(pharmacy.units.count() == 1 for pharmacy in pharmacies)
        recipients = " ".join(
            Organisation.objects.filter(kind=OrganisationKind.RECIPIENT).values_list("name_fi", flat=True)
        )
        assert "Kela" in recipients
        assert "Traficom" in recipients

    def test_every_oid_is_under_the_demo_arc(self, demo_output):
        oids = [
            *Organisation.objects.values_list("oid", flat=True),
            *Unit.objects.values_list("oid", flat=True),
        ]
        assert oids
        assert all(oid.startswith(demo.OID_ARC + ".") for oid in oids)

    def test_every_profession_signs_in_with_the_demo_password_and_a_confirmed_device(self, demo_output):
        professionals = Professional.objects.select_related("user")
        assert set(professionals.values_list("profession", flat=True)) == set(Profession.values)
        for professional in professionals:
            assert professional.user.check_password(demo.DEMO_PASSWORD)
            assert professional.user.totpdevice_set.filter(
                confirmed=True, name=demo.DEMO_DEVICE_NAME
            ).exists()
            assert professional.units.exists()

    def test_professionals_work_in_fitting_units(self, demo_output):
        def kinds_of(profession):
            return set(
                Unit.objects.filter(professionals__profession=profession).values_list(
                    "organisation__kind", flat=True
                )
            )

        assert kinds_of(Profession.PHARMACIST) == {OrganisationKind.PHARMACY}
        assert kinds_of(Profession.DISPENSING_PHARMACIST) == {OrganisationKind.PHARMACY}
        for profession in (Profession.SOCIAL_WORKER, Profession.ARCHIVIST):
            names = Unit.objects.filter(professionals__profession=profession).values_list(
                "name_fi", flat=True
            )
            assert names
            assert all("sosiaalipalvelut" in name for name in names)

    def test_admin_is_superuser_and_each_county_has_its_own_organisation_admin(self, demo_output):
        admin = User.objects.get(username="admin")
        assert admin.is_superuser
        assert admin.check_password(demo.DEMO_PASSWORD)
        counties = list(Organisation.objects.filter(kind=OrganisationKind.COUNTY))
        for county in counties:
            managers = [
                user
                for user in User.objects.filter(is_staff=True, is_superuser=False)
                if user.has_perm("kanta.manage_organisation", county)
            ]
            assert len(managers) == 1
            others = [c for c in counties if c != county]
            assert not any(managers[0].has_perm("kanta.manage_organisation", other) for other in others)

    def test_every_demo_identity_code_is_valid_and_temporary(self, demo_output):
        codes = list(Person.objects.values_list("identity_code", flat=True))
        assert len(codes) >= 18
        assert {p.identity_code for p in demo.PERSONS} == set(codes)
        for code in codes:
            assert identity_code.parse(code).is_temporary, code
        assert set(codes) >= DVV_TEST_CODES

    def test_children_have_two_guardians_each(self, demo_output):
        """Birth dates are fixed (kanta/demo.py says until when they fit): a child under 10 and one aged 10-17."""
        today = timezone.localdate()
        children = [p for p in Person.objects.prefetch_related("guardians") if p.age_on(today) < 18]
        under_ten = [c for c in children if c.age_on(today) < 10]
        ten_to_seventeen = [c for c in children if 10 <= c.age_on(today) < 18]
        assert under_ten
        assert ten_to_seventeen
        for child in children:
            assert child.guardians.count() == 2
            assert all(g.guardian.age_on(today) >= 18 for g in child.guardians.select_related("guardian"))

    def test_special_persons_exist(self, demo_output):
        assert Person.objects.filter(non_disclosure=True).count() == 1
        assert Person.objects.filter(date_of_death__isnull=False).count() == 1
        today = timezone.localdate()
        assert any(p.age_on(today) >= 80 for p in Person.objects.alive())
        languages = list(Person.objects.values_list("preferred_language", flat=True))
        assert languages.count(Language.SWEDISH) >= 3
        assert languages.count(Language.ENGLISH) == 1

    def test_treating_doctor_opens_a_person_without_confirming_a_care_relationship(self, demo_output):
        doctor = Professional.objects.select_related("user").get(user__username="doctor")
        unit = doctor.units.get(name_fi="Hervannan terveysasema")
        patients = Person.objects.filter(
            care_relationships__in=CareRelationship.objects.active().filter(unit=unit)
        )
        assert patients.count() >= 3
        person = patients.first()
        actor = audit.Actor(user=doctor.user, professional=doctor, unit=unit)

        assert (
            access.person_for_professional(actor=actor, public_id=person.public_id, action="person.view")
            == person
        )

    def test_demo_totp_prints_a_code_the_device_accepts(self, demo_output):
        code = run_demo_totp("doctor")
        assert len(code) == 6
        assert code.isdigit()
        device = TOTPDevice.objects.get(user__username="doctor", name=demo.DEMO_DEVICE_NAME)
        assert device.verify_token(code)

    def test_demo_totp_uri_carries_the_documented_demo_key(self, demo_output):
        uri = run_demo_totp("nurse", "--uri")
        secret = base64.b32encode(bytes.fromhex(demo.totp_key("nurse"))).decode()
        assert uri.startswith("otpauth://totp/nurse?")
        assert f"secret={secret}" in uri

    # -- the apps' demo content ------------------------------------------------------------------------

    def test_running_demo_data_again_writes_no_content_and_no_audit_event(self):
        content = [Document, Diagnosis, LabResult, DisclosureConsent, Prohibition, LivingWill, AuditEvent]
        first = {model: model.objects.count() for model in content}
        assert all(first.values()), first

        output = run_demo_data()

        assert {model: model.objects.count() for model in content} == first
        assert "Archive: every demo person" in output
        assert "nothing written" in output

    def test_every_document_was_written_through_the_archive_services_and_audited(self):
        events = AuditEvent.objects.filter(
            action__in=["document.create", "document.correct"], category=AuditCategory.CHANGE
        )
        audited = {public_id for ids in events.values_list("object_ids", flat=True) for public_id in ids}
        documents = {str(public_id) for public_id in Document.objects.values_list("public_id", flat=True)}
        assert len(documents) >= 80
        assert documents <= audited

    def test_demo_persons_see_their_own_documents_in_mykanta(self):
        with_documents = [
            person
            for person in Person.objects.select_related("user")
            if policy.for_citizen(
                actor=audit.Actor(user=person.user), viewer=person, person=person
            ).documents(limit=1)
        ]
        assert len(with_documents) >= 18
        assert person_of("mikael") in with_documents

    def test_the_default_twelve_months_show_some_documents_and_the_date_search_older_ones(self):
        matti = person_of("matti")
        gate = policy.for_citizen(actor=audit.Actor(user=matti.user), viewer=matti, person=matti)
        today = timezone.localdate()
        last_year = gate.documents(since=today - datetime.timedelta(days=365), limit=200)
        three_years = gate.documents(since=today - datetime.timedelta(days=3 * 365), limit=200)
        assert last_year
        assert len(three_years) > len(last_year)
        assert min(d.recorded_at for d in three_years) < timezone.now() - datetime.timedelta(days=900)

    def test_corrected_document_keeps_both_versions_and_the_invalidated_one_is_hidden(self):
        corrected = Document.objects.get(person=person_of("aino"), version=2)
        versions = Document.objects.filter(lineage_id=corrected.lineage_id).order_by("version")
        assert [v.status for v in versions] == [DocumentStatus.SUPERSEDED, DocumentStatus.CURRENT]
        assert "vasen" in versions[0].text
        assert "oikea" in versions[1].text

        matti = person_of("matti")
        invalidated = Document.objects.get(person=matti, status=DocumentStatus.INVALIDATED)
        assert invalidated.invalidation_reason
        own = policy.for_citizen(actor=audit.Actor(user=matti.user), viewer=matti, person=matti)
        assert invalidated not in own.documents(limit=200)

    def test_delayed_document_is_held_back_from_mykanta_but_the_treating_doctor_sees_it(self):
        pekka = person_of("pekka")
        delayed = Document.objects.get(person=pekka, display_delayed_until__isnull=False)
        assert delayed.display_delayed_until > timezone.localdate()
        own = policy.for_citizen(actor=audit.Actor(user=pekka.user), viewer=pekka, person=pekka)
        assert delayed not in own.documents(limit=200)
        assert delayed in policy.for_professional(
            actor=actor_of("doctor", "hervanta-hc"), person=pekka
        ).documents(limit=200)

    def test_special_content_never_shows_in_mykanta_but_the_social_worker_sees_it(self):
        sanna = person_of("sanna")
        special = Document.objects.get(person=sanna, special_content=True)
        assert special.service_task == ServiceTask.WORKING_AGE_SERVICES
        own = policy.for_citizen(actor=audit.Actor(user=sanna.user), viewer=sanna, person=sanna)
        assert special not in own.documents(social_welfare=True, limit=200)
        assert own.documents(social_welfare=True, limit=200)
        social_worker = policy.for_professional(
            actor=actor_of("socialworker", "tampere-social"), person=sanna
        )
        assert special in social_worker.documents(social_welfare=True, limit=200)

    def test_social_welfare_documents_are_filed_by_service_task(self):
        social = Document.objects.filter(register__kind=RegisterKind.SOCIAL_WELFARE)
        assert {
            DocumentKind.DECISION,
            DocumentKind.SERVICE_NEED_ASSESSMENT,
            DocumentKind.CLIENT_PLAN,
        } <= set(social.values_list("kind", flat=True))
        assert {ServiceTask.WORKING_AGE_SERVICES, ServiceTask.ELDERLY_SERVICES} <= set(
            social.values_list("service_task", flat=True)
        )
        assert not social.filter(service_task="").exists()

    def test_guardian_of_the_14_year_old_sees_only_the_document_marked_for_guardians(self):
        oskar, mother = person_of("oskar"), person_of("anna")
        assert 10 <= oskar.age < 18
        marked = Document.objects.filter(person=oskar, disclosable_to_guardians=True)
        assert marked.count() == 1
        assert Document.objects.filter(person=oskar, register__kind=RegisterKind.HEALTH_CARE).count() > 1
        gate = policy.for_citizen(actor=audit.Actor(user=mother.user), viewer=mother, person=oskar)
        assert gate.documents(limit=200) == list(marked)

    def test_guardian_of_the_child_under_10_sees_all_of_her_documents(self):
        helmi, father = person_of("helmi"), person_of("juhani")
        assert helmi.age < 10
        own = policy.for_citizen(actor=audit.Actor(), viewer=helmi, person=helmi).documents(limit=200)
        guardian = policy.for_citizen(actor=audit.Actor(user=father.user), viewer=father, person=helmi)
        assert len(own) >= 3
        assert guardian.documents(limit=200) == own

    def test_structured_entries_use_real_codes_and_some_results_are_abnormal(self):
        assert all(codes.diagnosis(code) for code in Diagnosis.objects.values_list("code", flat=True))
        loincs = set(LabResult.objects.values_list("loinc", flat=True))
        # hemoglobin, glucose, CRP, the cholesterol panel, TSH
        assert {"718-7", "14749-6", "1988-5", "14647-2", "22748-8", "14646-4", "14927-8", "3016-3"} <= loincs
        assert set(LabResult.objects.values_list("abnormal", flat=True)) == set(AbnormalFlag.values)
        # influenza, covid-19, tick-borne encephalitis
        assert {"J07BB02", "J07BX03", "J07BA01"} <= set(Vaccination.objects.values_list("atc", flat=True))
        assert RiskInformation.objects.filter(
            kind=RiskKind.ALLERGY, description__icontains="penisilliini"
        ).exists()
        study = ImagingStudy.objects.get()
        assert study.study_instance_uid.startswith(demo.OID_ARC + ".")
        assert study.document.kind == DocumentKind.IMAGING_STATEMENT

    def test_documents_of_every_kind_including_both_certificate_forms(self):
        assert set(Document.objects.values_list("kind", flat=True)) == set(DocumentKind.values)
        for form in (CertificateForm.SV6, CertificateForm.F122):
            certificate = Document.objects.get(certificate_form=form)
            assert clean_form_data(form, certificate.form_data) == certificate.form_data

    def test_swedish_speakers_records_are_in_swedish(self):
        for key in ("johan", "anna", "erik", "oskar", "gunnel"):
            texts = " ".join(Document.objects.filter(person=person_of(key)).values_list("text", flat=True))
            assert any(word in texts for word in (" och ", " på ", " med ")), key

    def test_a_county_authorizes_the_private_provider_for_its_register_and_for_one_patient(self):
        producer = Organisation.objects.get(oid=demo.oid(5))
        authorizations = PurchasedServiceAuthorization.objects.filter(producer=producer)
        whole = authorizations.get(scope=AuthorizationScope.REGISTER)
        one = authorizations.get(scope=AuthorizationScope.PATIENT)
        assert whole.organiser.oid == demo.oid(2)
        assert (one.organiser.oid, one.person) == (demo.oid(1), person_of("liisa"))
        for authorization in (whole, one):
            assert authorization.starts_on <= timezone.localdate() <= authorization.ends_on
            # the producer wrote into the organiser's register under it
            assert Document.objects.filter(
                register=authorization.register, unit__organisation=producer
            ).exists()

    def test_declarations_of_every_kind(self):
        prohibitions = {p.scope: p for p in Prohibition.objects.filter(withdrawn_at__isnull=True)}
        assert {ProhibitionScope.ALL_DATA, ProhibitionScope.COUNTY, ProhibitionScope.SERVICE_EVENT} <= set(
            prohibitions
        )
        assert prohibitions[ProhibitionScope.ALL_DATA].emergency_permission
        assert ResearchContactProhibition.objects.filter(withdrawn_at__isnull=True).exists()
        wills = " ".join(LivingWill.objects.filter(withdrawn_at__isnull=True).values_list("text", flat=True))
        assert "En halua elvytystä" in wills
        assert "Jag vill inte bli återupplivad" in wills
        assert OrganDonationWill.objects.filter(consents_to_donation=True).exists()
        assert DisclosureConsent.objects.filter(sector=ConsentSector.SOCIAL_WELFARE).exists()
        for notice_holder in DisclosureConsent.objects.values_list("person", flat=True):
            assert InformationNotice.objects.filter(person=notice_holder).exists()

    def test_an_adult_holds_a_health_care_mandate_for_another_adult_and_uses_it(self):
        elsa, liisa = person_of("elsa"), person_of("liisa")
        mandate = Mandate.objects.get(principal=elsa, agent=liisa)
        assert mandate.scope == MandateScope.HEALTH_CARE
        assert mandate.starts_on <= timezone.localdate() <= mandate.ends_on
        assert policy.acting_basis(viewer=liisa, person=elsa) == LegalBasis.MANDATE
        consent = DisclosureConsent.objects.get(person=elsa, sector=ConsentSector.SOCIAL_WELFARE)
        assert consent.made_by == liisa.user

    def test_disclosure_log_shows_reads_by_another_county_through_consent(self):
        mikael = person_of("mikael")
        own_county = Organisation.objects.get(oid=demo.oid(1))
        log = disclosure_log(person=mikael, limit=100)
        by_others = [event for event in log if event.organisation_id not in (None, own_county.pk)]
        assert by_others
        assert all(event.outcome == AuditOutcome.ALLOWED for event in log)
        assert {event.organisation.oid for event in by_others} == {demo.oid(2)}
        assert LegalBasis.CONSENT in {event.legal_basis for event in by_others}

    def test_emergency_read_is_logged_as_emergency_despite_the_prohibition(self):
        log = disclosure_log(person=person_of("matti"), limit=100)
        emergency = [event for event in log if event.category == AuditCategory.EMERGENCY]
        assert emergency
        assert all(event.legal_basis == LegalBasis.EMERGENCY for event in emergency)
        assert all(event.reason_text for event in emergency)

    # -- prescriptions -------------------------------------------------------------------------------------

    def test_running_demo_data_again_writes_no_prescription_dispensing_request_import_or_audit_event(self):
        content = [
            Product,
            ProductImport,
            Prescription,
            Dispensing,
            RenewalRequest,
            PrescriptionSummary,
            CrossBorderConsent,
            PrescriptionDenial,
            AuditEvent,
        ]
        first = {model: model.objects.count() for model in content}
        assert all(first.values()), first

        output = run_demo_data()

        assert {model: model.objects.count() for model in content} == first
        assert "Medicine database: the sample is imported and unchanged; nothing written." in output
        assert "Prescriptions: every demo person" in output

    def test_the_medicine_database_holds_the_sample_imported_once(self):
        with prescriptions_demo.SAMPLE_FILE.open(encoding="utf-8", newline="") as handle:
            sample = {row["vnr"]: row for row in csv.DictReader(handle, delimiter=";")}
        assert len(sample) >= 300
        assert set(Product.objects.values_list("vnr", flat=True)) == set(sample)
        only_import = ProductImport.objects.get()
        assert only_import.file_name == prescriptions_demo.sample_import_name()
        assert only_import.created == len(sample)
        assert only_import.rejected == 0

    def test_a_changed_sample_is_imported_once_more_and_then_left_alone(self, tmp_path, monkeypatch):
        changed = tmp_path / prescriptions_demo.SAMPLE_FILE.name
        text = prescriptions_demo.SAMPLE_FILE.read_text(encoding="utf-8")
        amlodipine = Product.objects.get(vnr=prescriptions_demo.AMLODIPINE_5_100)
        line = next(line for line in text.splitlines() if line.startswith(amlodipine.vnr + ";"))
        changed.write_text(text.replace(line, line.replace(";6,40;", ";6,95;")), encoding="utf-8")
        monkeypatch.setattr(prescriptions_demo, "SAMPLE_FILE", changed)
        imports, events = ProductImport.objects.count(), AuditEvent.objects.count()

        output = run_demo_data()

        assert "Medicine database: medicines.csv imported (0 new, 1 updated" in output
        assert ProductImport.objects.count() == imports + 1
        assert AuditEvent.objects.count() == events + 1
        amlodipine.refresh_from_db()
        assert str(amlodipine.retail_price) == "6.95"

        run_demo_data()

        assert ProductImport.objects.count() == imports + 1

    def test_most_adults_have_prescriptions_in_every_status_through_the_services(self):
        today = timezone.localdate()
        adults = [p for p in Person.objects.alive() if p.age_on(today) >= 18]
        with_prescriptions = set(Prescription.objects.values_list("person_id", flat=True))
        assert len(with_prescriptions) >= len(adults) * 3 // 4
        statuses = set(Prescription.objects.values_list("status", flat=True))
        assert {
            PrescriptionStatus.UNDISPENSED,
            PrescriptionStatus.PARTLY_DISPENSED,
            PrescriptionStatus.FULLY_DISPENSED,
            PrescriptionStatus.EXPIRED,
        } <= statuses
        partly = Prescription.objects.filter(status=PrescriptionStatus.PARTLY_DISPENSED)
        assert all(0 < p.quantity_left < p.total_quantity for p in partly)
        audited = {
            public_id
            for ids in AuditEvent.objects.filter(
                action__in=["prescription.prescribe", "renewal_request.renew"]
            ).values_list("object_ids", flat=True)
            for public_id in ids
        }
        assert {str(p) for p in Prescription.objects.values_list("public_id", flat=True)} <= audited
        dispensed = {
            public_id
            for ids in AuditEvent.objects.filter(
                action__in=["prescription.dispense", "prescription.dispense_abroad"]
            ).values_list("object_ids", flat=True)
            for public_id in ids
        }
        assert {str(d) for d in Dispensing.objects.values_list("public_id", flat=True)} <= dispensed

    def test_backdated_prescriptions_expire_soon_are_renewable_at_20_months_or_not_when_never_dispensed(self):
        today = timezone.localdate()
        in_force = list(
            Prescription.objects.filter(
                status__in=[PrescriptionStatus.UNDISPENSED, PrescriptionStatus.PARTLY_DISPENSED]
            )
        )
        assert any(rules.expiring_soon(p.valid_until, today) for p in in_force)
        twenty_months = [
            p
            for p in in_force
            if timezone.localdate(p.prescribed_at) <= rules.add_months(today, -20)
            and rules.renewal_refusal_reason(p, today) is None
        ]
        assert twenty_months
        never = Prescription.objects.filter(status=PrescriptionStatus.UNDISPENSED).first()
        assert "has not been dispensed" in rules.renewal_refusal_reason(never, today)
        for prescription in Prescription.objects.exclude(status=PrescriptionStatus.EXPIRED):
            short = not prescription.two_year_validity
            assert prescription.valid_until == rules.maximum_valid_until(
                timezone.localdate(prescription.prescribed_at), short_validity=short
            )

    def test_a_narcotic_a_cns_medicine_a_substance_and_a_nurse_prescription_are_there(self):
        narcotic = Prescription.objects.filter(narcotic=True).first()
        pkv = Prescription.objects.filter(pkv=True, narcotic=False).first()
        for prescription in (narcotic, pkv):
            assert prescription.valid_until == rules.add_months(
                timezone.localdate(prescription.prescribed_at), 12
            )
        by_substance = Prescription.objects.get(product__isnull=True)
        assert by_substance.dispensings.exists()
        nurse = Prescription.objects.get(prescriber__profession=Profession.NURSE)
        assert nurse.atc.startswith("G03")
        assert rules.nurse_list_entry(nurse.atc) is not None

    def test_the_doctors_renewal_queue_holds_a_request_and_handled_ones_show_their_outcome(self):
        doctor_unit = actor_of("doctor", "hervanta-hc").unit
        assert doctor_unit.accepts_renewal_requests
        assert actor_of("doctor-turku", "runosmaki-hc").unit.accepts_renewal_requests
        queue = list(prescription_selectors.renewal_queue(doctor_unit))
        assert [request.person for request in queue] == [person_of("aino")]
        renewed = RenewalRequest.objects.get(status=RenewalStatus.RENEWED)
        assert renewed.new_prescription.renewed_from == renewed.prescription
        assert renewed.handled_at > renewed.sent_at
        rejected = RenewalRequest.objects.get(status=RenewalStatus.REJECTED)
        assert rejected.reason
        assert rejected.prescription.narcotic

    def test_a_prescription_was_dispensed_in_estonia_under_the_persons_consent(self):
        abroad = Dispensing.objects.select_related("prescription__person").get(
            country=CrossBorderCountry.ESTONIA
        )
        assert abroad.pharmacy is None
        assert not (abroad.prescription.narcotic or abroad.prescription.pkv)
        assert pharmacy_selectors.valid_cross_border_consent(
            abroad.prescription.person, at=abroad.dispensed_at
        )

    def test_pharmacy_search_leaves_out_the_denied_prescription_that_the_person_sees(self):
        kalle = person_of("kalle")
        denied = PrescriptionDenial.objects.get(person=kalle).prescription
        pharmacist = actor_of("pharmacist", "ahomansikka")
        care_relationship_confirm(actor=pharmacist, person=kalle, reason=CareReason.DISPENSING)

        found = policy.for_professional(actor=pharmacist, person=kalle).dispensable_prescriptions()

        assert denied not in found
        own = policy.for_citizen(actor=audit.Actor(user=kalle.user), viewer=kalle, person=kalle)
        assert denied in own.prescriptions()

    def test_pharmacy_finds_what_is_left_by_identity_code_and_by_the_summary_barcode(self, demo_output):
        matti = person_of("matti")
        pharmacist = actor_of("pharmacist", "ahomansikka")
        care_relationship_confirm(actor=pharmacist, person=matti, reason=CareReason.DISPENSING)

        found = policy.for_professional(actor=pharmacist, person=matti).dispensable_prescriptions()

        assert {p.status for p in found} == {
            PrescriptionStatus.UNDISPENSED,
            PrescriptionStatus.PARTLY_DISPENSED,
        }
        assert all(p.quantity_left > 0 for p in found)
        summary = PrescriptionSummary.objects.get(person=matti)
        assert summary.barcode in demo_output
        assert pharmacy_selectors.summary_by_barcode(summary.barcode) == summary
        assert set(summary.prescriptions.all()) == set(found)

    # -- what a visitor sees on the pages --------------------------------------------------------------------

    def test_visitor_signed_in_as_matti_sees_valid_expired_and_expiring_prescriptions(self, client):
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        log_in(client, person_of("matti"))

        page = client.get(reverse("citizen:prescriptions")).content.decode()

        valid, ended = page.split("Expired and invalidated prescriptions", 1)
        assert "metformin 500 mg film-coated tablet" in valid
        assert "Amlodipin 5 mg" in valid
        assert "Expires within 2 months" in valid
        assert "Metformin 500 mg" in ended

    def test_visitor_signed_in_as_the_doctor_finds_ainos_request_in_the_renewal_queue(self):
        doctor = sign_in_demo("doctor", "hervanta-hc")

        page = doctor.get(reverse("professional:renewals")).content.decode()

        assert "Aino Maria Virtanen" in page
        assert "Levotyroksiini 50 µg" in page

    def test_visitor_signed_in_as_the_pharmacist_finds_what_is_left_but_not_the_denied_prescription(self):
        pharmacist = sign_in_demo("pharmacist", "ahomansikka")
        search = reverse("professional:pharmacy_search")

        kalle = pharmacist.post(
            search, {"identity_code": person_of("kalle").identity_code, "scope": "left"}, follow=True
        )
        matti = pharmacist.post(
            search, {"identity_code": person_of("matti").identity_code, "scope": "left"}, follow=True
        )

        assert "Prescriptions of Kalle Ilmari Heinonen" in kalle.content.decode()
        assert "Oksatsepaami" not in kalle.content.decode()
        page = matti.content.decode()
        assert "Prescriptions of Matti Tapani Laine" in page
        assert "metformin 500 mg film-coated tablet" in page
        assert "Amlodipin 5 mg" in page
        assert "Metformin 500 mg" not in page  # expired


# -- how demo_data finds the apps' content -------------------------------------------------------------------

ABOVE_KANTA = {
    "archive",
    "consents",
    "prescriptions",
    "bookings",
    "wellbeing",
    "feeds",
    "citizen",
    "professional",
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_demo_data_imports_no_app_above_kanta_by_name():
    kanta_dir = Path(demo.__file__).parent
    for path in (kanta_dir / "demo.py", kanta_dir / "management" / "commands" / "demo_data.py"):
        assert imported_packages(path)
        assert not imported_packages(path) & ABOVE_KANTA, path


def test_demo_content_is_discovered_in_installed_apps_order():
    names = [module.__name__ for module in demo_data.content_modules()]
    assert {"archive.demo_content", "prescriptions.demo_content", "consents.demo_content"} <= set(names)
    order = [config.name for config in apps.get_app_configs()]
    assert names == sorted(names, key=lambda name: order.index(name.rpartition(".")[0]))
    assert all(callable(module.load) for module in demo_data.content_modules())
