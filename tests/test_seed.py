"""manage.py seed: synthetic persons, care relationships, documents with their entries, consents and
prohibitions, written with COPY into the real PostgreSQL."""

from __future__ import annotations

import datetime
import uuid
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone, translation

from archive import codes
from archive.forms_spec import clean_form_data
from archive.models import (
    SOCIAL_WELFARE_KINDS,
    Diagnosis,
    Document,
    DocumentKind,
    DocumentStatus,
    ImagingStudy,
    LabResult,
    Measurement,
    Procedure,
    RecordView,
    RiskInformation,
    ServiceEvent,
    ServiceTask,
    Vaccination,
)
from archive.services import DICOM_UID, MODALITIES, abnormal_flag
from consents import policy
from consents.models import (
    DisclosureConsent,
    InformationNotice,
    LivingWill,
    OrganDonationWill,
    Prohibition,
    ResearchContactProhibition,
)
from consents.policy import HEALTH_REGISTERS
from kanta import audit, identity_code
from kanta.management.commands.seed import synthetic_identity_codes
from kanta.models import (
    AuditEvent,
    CareRelationship,
    LegalBasis,
    Organisation,
    OrganisationKind,
    Person,
    RegisterKind,
    Unit,
)
from tests.factories import OrganisationFactory, PersonFactory, ProfessionalFactory, UnitFactory

pytestmark = pytest.mark.django_db

SEED_SIGNS = set("YXWVUBCDEF")
ENTRY_MODELS = (Diagnosis, RiskInformation, Procedure, Measurement, Vaccination, LabResult, ImagingStudy)
DECLARATION_MODELS = (
    InformationNotice,
    DisclosureConsent,
    Prohibition,
    ResearchContactProhibition,
    LivingWill,
    OrganDonationWill,
)
FOREIGN_KEYS = [
    "person",
    "register",
    "unit",
    "service_event",
    "supersedes",
    "author",
    "document",
    "organisation",
]


def seed(*args: str) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("seed", *args, "--verbosity", "0", stdout=out)
    return out.getvalue()


def seeded_persons():
    return Person.objects.filter(identity_code__regex=r"^.{6}[YXWVUBCDEF]9")


def test_seed_creates_valid_persons_with_consistent_birth_date_and_sex():
    output = seed("--persons", "500")

    persons = list(seeded_persons())
    assert len(persons) == 500
    assert "500 rows to kanta_person" in output
    for person in persons:
        parsed = identity_code.parse(person.identity_code)
        assert parsed.code == person.identity_code
        assert parsed.is_temporary
        assert person.identity_code[6] in SEED_SIGNS
        assert (person.birth_date, person.sex) == (parsed.birth_date, parsed.sex)
        assert uuid.UUID(str(person.public_id)).version == 4
        assert person.first_names
        assert person.last_name
        assert person.preferred_language in {"fi", "sv", "en"}
    assert len({p.public_id for p in persons}) == 500
    # mostly Finnish speakers, and an age range, not one birthday
    assert sum(p.preferred_language == "fi" for p in persons) > 350
    assert len({p.birth_date.year for p in persons}) >= 90


def test_seed_gives_each_person_a_care_relationship_of_the_standard_length():
    before = timezone.now()
    seed("--persons", "500")

    relationships = list(CareRelationship.objects.select_related("unit"))
    assert len(relationships) == 500
    assert {r.person_id for r in relationships} == set(seeded_persons().values_list("id", flat=True))
    period = datetime.timedelta(days=settings.CARE_RELATIONSHIP_DAYS)
    for relationship in relationships:
        assert relationship.ends_at - relationship.starts_at == period
        assert before - datetime.timedelta(days=366) < relationship.starts_at <= timezone.now()
    assert len({r.public_id for r in relationships}) == 500


def test_seed_on_an_empty_database_creates_synthetic_units_for_the_relationships():
    seed("--persons", "10")

    assert Organisation.objects.filter(name_fi__startswith="Synteettinen").count() == 5
    assert (
        CareRelationship.objects.exclude(unit__organisation__name_fi__startswith="Synteettinen").count() == 0
    )


def test_seed_uses_the_existing_units_and_creates_none(health_centre):
    seed("--persons", "50")

    assert Unit.objects.count() == 1
    assert set(CareRelationship.objects.values_list("unit_id", flat=True)) == {health_centre.pk}


def test_fractional_relationships_per_person_are_spread_over_the_persons():
    seed("--persons", "500", "--care-relationships-per-person", "1.5")

    assert CareRelationship.objects.count() == 750
    per_person = {r: 0 for r in seeded_persons().values_list("id", flat=True)}
    for person_id in CareRelationship.objects.values_list("person_id", flat=True):
        per_person[person_id] += 1
    assert set(per_person.values()) == {1, 2}


def test_seeding_again_appends_new_persons_without_collisions():
    PersonFactory.create_batch(3)  # demo-style persons (century signs - and A) do not shift the numbering
    seed("--persons", "500")
    first = set(seeded_persons().values_list("identity_code", flat=True))

    seed("--persons", "500", "--batch", "64")

    codes = set(seeded_persons().values_list("identity_code", flat=True))
    assert len(codes) == 1000
    assert first < codes
    assert CareRelationship.objects.count() == 1000
    assert Person.objects.count() == 1003


def test_codes_already_in_the_synthetic_range_are_skipped_not_repeated():
    # Demo data carries the population register's published test codes, some with the 2023 signs; one of
    # them, and the very code this run would write first, must not make the run fail on the unique code.
    PersonFactory(identity_code="010516B903X")
    next_code = next(synthetic_identity_codes(2))[0]
    PersonFactory(identity_code=next_code)

    seed("--persons", "50")

    assert Person.objects.count() == 52
    assert Person.objects.filter(identity_code=next_code).count() == 1
    assert CareRelationship.objects.count() == 50


def test_seed_is_recorded_in_the_audit_log():
    seed("--persons", "20")

    event = AuditEvent.objects.get(action="synthetic_data.seed")
    assert "20 synthetic persons" in event.reason_text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--persons", "-5"], "--persons must be at least 1"),
        (["--persons", "0"], "--persons must be at least 1"),
        (["--care-relationships-per-person", "-1"], "--care-relationships-per-person must be 0 or more"),
        (["--batch", "0"], "--batch must be at least 1"),
        (["--persons", "many"], "invalid int value"),
    ],
)
def test_seed_refuses_a_wrong_argument_and_writes_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        seed(*args)

    assert not Person.objects.exists()
    assert not Organisation.objects.exists()


def test_seed_refuses_a_database_other_than_postgresql(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")

    with pytest.raises(CommandError, match="PostgreSQL COPY"):
        seed("--persons", "10")

    assert not Person.objects.exists()


def test_seed_help_lists_the_options():
    from kanta.management.commands.seed import Command

    text = Command().create_parser("manage.py", "seed").format_help()

    assert "--persons" in text
    assert "--care-relationships-per-person" in text
    assert "--batch" in text
    for option in ("--documents-per-person", "--documents", "--persons-for-documents", "--keep-indexes"):
        assert option in text


# -- documents, structured entries, consents and prohibitions ----------------------------------------------


def seed_documents(*args: str) -> str:
    return seed("--persons", "200", "--documents-per-person", "5", *args)


def archive_schema() -> list[tuple]:
    """Every index and constraint of the tables seed bulk-loads, as PostgreSQL would dump them."""
    from kanta.management.commands._seed_documents import TABLES

    tables = [model._meta.db_table for model, _columns in TABLES]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated, condeferrable, "
            "condeferred FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
            [tables],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1, 2",
            [tables],
        )
        return constraints + cursor.fetchall()


def test_documents_are_spread_over_the_persons_with_events_entries_and_declarations():
    output = seed_documents()

    persons = list(seeded_persons())
    documents = list(Document.objects.all())
    assert len(documents) == 1000
    assert "1,000 rows to archive_document for 200 persons" in output
    per_person = defaultdict(int)
    for document in documents:
        per_person[document.person_id] += 1
    # between half and one and a half times the mean, and every person has some
    assert set(per_person) == {p.pk for p in persons}
    assert 2 <= min(per_person.values()) and max(per_person.values()) <= 8
    # a few service events per person, in health care mostly, with some occupational health and social welfare
    assert 200 <= ServiceEvent.objects.count() <= 400
    kinds = Counter(Document.objects.values_list("register__kind", flat=True))
    assert kinds[RegisterKind.HEALTH_CARE] > kinds[RegisterKind.SOCIAL_WELFARE] > 0
    assert kinds[RegisterKind.OCCUPATIONAL_HEALTH] > 0
    assert len({d.kind for d in documents}) == len(DocumentKind.values)
    for model in (Diagnosis, LabResult, Measurement, Vaccination, ImagingStudy, Procedure):
        assert model.objects.exists(), model
    assert InformationNotice.objects.count() > 100
    assert DisclosureConsent.objects.exists()
    # some fifteen prohibitions of four scopes drawn at random: the database checks each one's target, and
    # asking for all four scopes would fail now and then on a fair draw
    scopes = Counter(Prohibition.objects.values_list("scope", flat=True))
    assert sum(scopes.values()) >= 8 and len(scopes) >= 3, scopes


def test_every_generated_row_passes_model_validation_and_fits_its_register():
    seed_documents()

    documents = list(Document.objects.select_related("register__controller", "service_event"))
    for document in documents:
        # foreign keys and constraints are the database's to check (and it did, at commit)
        document.full_clean(exclude=FOREIGN_KEYS, validate_unique=False, validate_constraints=False)
        event = document.service_event
        assert (event.person_id, event.register_id) == (document.person_id, document.register_id)
        if document.register.kind == RegisterKind.SOCIAL_WELFARE:
            assert document.kind in SOCIAL_WELFARE_KINDS
            assert document.service_task in ServiceTask.values
        else:
            assert document.kind not in SOCIAL_WELFARE_KINDS
            assert document.service_task == ""
            assert not document.special_content
        if document.kind == DocumentKind.RECORD_ENTRY:
            assert document.view in RecordView.values
        if document.kind == DocumentKind.CERTIFICATE:
            assert clean_form_data(document.certificate_form, document.form_data) == document.form_data
        else:
            assert (document.certificate_form, document.form_data) == ("", {})
    for model in (ServiceEvent, *ENTRY_MODELS, *DECLARATION_MODELS):
        for row in model.objects.all():
            # made_by: synthetic persons have no user account (the column may be NULL)
            row.full_clean(
                exclude=[*FOREIGN_KEYS, "made_by"], validate_unique=False, validate_constraints=False
            )
    # special content only in social welfare, marked for guardians only for persons aged 10 to 17
    assert Document.objects.filter(special_content=True).exists()
    today = timezone.localdate()
    for document in Document.objects.filter(disclosable_to_guardians=True).select_related("person"):
        assert 10 <= document.person.age_on(today) < 18


def test_documents_are_dated_within_ten_years_and_the_persons_lives():
    seed_documents()

    now = timezone.now()
    for document in Document.objects.select_related("person", "service_event"):
        recorded = timezone.localtime(document.recorded_at).date()
        assert document.recorded_at < now
        assert recorded >= document.person.birth_date
        assert recorded >= timezone.localdate() - datetime.timedelta(days=3652)
        assert recorded >= document.service_event.started_on
    years = {d.recorded_at.year for d in Document.objects.all()}
    assert len(years) >= 9


def test_structured_entries_carry_real_codes_with_their_titles_and_ranges():
    seed_documents()

    for diagnosis in Diagnosis.objects.all():
        assert codes.diagnosis(diagnosis.code).title_en == diagnosis.title
    assert Diagnosis.objects.filter(primary=True).count() >= Diagnosis.objects.count() // 2
    flags = Counter()
    for result in LabResult.objects.select_related("person"):
        test = codes.lab_test(result.loinc)
        assert (test.name_en, test.unit) == (result.name, result.unit_of_measure)
        assert (result.reference_low, result.reference_high) == test.reference_range(result.person.sex)
        assert result.abnormal == abnormal_flag(result.value, result.reference_low, result.reference_high)
        flags[result.abnormal] += 1
    assert flags["N"] > flags["H"] > 0 and flags["L"] > 0
    for vaccination in Vaccination.objects.all():
        assert codes.vaccine(vaccination.atc).name_en == vaccination.name
        assert 1 <= vaccination.dose <= 3
    for measurement in Measurement.objects.all():
        kind = codes.measurement_type(measurement.loinc)
        assert (kind.name_en, kind.unit) == (measurement.name, measurement.unit_of_measure)
    for study in ImagingStudy.objects.select_related("document"):
        assert DICOM_UID.match(study.study_instance_uid) and study.modality in MODALITIES
        assert study.document.kind == DocumentKind.IMAGING_STATEMENT
    # each entry belongs to a document of the same person, on the document's day
    for model in ENTRY_MODELS:
        for entry in model.objects.select_related("document"):
            assert entry.person_id == entry.document.person_id
            assert entry.recorded_on == timezone.localtime(entry.document.recorded_at).date() or (
                entry.document.status == DocumentStatus.SUPERSEDED
            )


def test_corrections_keep_the_superseded_version_in_the_lineage_and_some_documents_are_invalidated():
    seed_documents()

    superseded = list(Document.objects.filter(status=DocumentStatus.SUPERSEDED))
    assert superseded
    for old in superseded:
        new = Document.objects.get(supersedes=old)
        assert (old.version, new.version) == (1, 2)
        assert new.lineage_id == old.lineage_id and new.status == DocumentStatus.CURRENT
        assert (new.person_id, new.register_id, new.service_event_id, new.kind) == (
            old.person_id,
            old.register_id,
            old.service_event_id,
            old.kind,
        )
    assert not Document.objects.values("lineage_id").annotate(n=Count("id")).filter(n__gt=2).exists()
    invalidated = Document.objects.filter(status=DocumentStatus.INVALIDATED)
    assert invalidated.exists()
    assert not invalidated.filter(invalidation_reason="").exists()
    delayed = Document.objects.filter(display_delayed_until__isnull=False)
    assert delayed.exists()
    assert not delayed.filter(display_delay_reason="").exists()


def test_consents_and_prohibitions_follow_the_notice_and_point_at_the_persons_own_health_data():
    seed_documents()

    notices = {n.person_id: n.made_at for n in InformationNotice.objects.all()}
    for model in (DisclosureConsent, Prohibition):
        for row in model.objects.all():
            assert row.made_at >= notices[row.person_id], "made before the notice"
            assert row.withdrawn_at is None or row.withdrawn_at >= row.made_at
    for prohibition in Prohibition.objects.select_related(
        "service_event__register", "organisation", "register"
    ):
        match prohibition.scope:
            case "service_event":
                assert prohibition.service_event.person_id == prohibition.person_id
                assert prohibition.service_event.register.kind in HEALTH_REGISTERS
            case "county":
                assert prohibition.organisation.kind == OrganisationKind.COUNTY
            case "register":
                assert prohibition.register.kind in HEALTH_REGISTERS
            case "occupational_health":
                assert prohibition.register.kind == RegisterKind.OCCUPATIONAL_HEALTH
                assert prohibition.register.controller.kind == OrganisationKind.PRIVATE_HEALTH
            case "all_data":
                assert (prohibition.service_event, prohibition.organisation, prohibition.register) == (
                    None,
                ) * 3
    # the partial unique constraints hold: one valid consent per sector, one current will
    assert not (
        DisclosureConsent.objects.filter(withdrawn_at__isnull=True)
        .values("person", "sector")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    assert DisclosureConsent.objects.filter(withdrawn_at__isnull=False).exists()


def test_the_gate_shows_citizens_their_own_current_documents_except_special_and_delayed_ones():
    seed_documents()

    today = timezone.localdate()
    for person in seeded_persons()[:40]:
        gate = policy.for_citizen(actor=audit.Actor(), viewer=person, person=person)
        shown = {d.pk for d in gate.documents(limit=1000)}
        expected = set(
            Document.objects.filter(person=person, status=DocumentStatus.CURRENT, special_content=False)
            .filter(Q(display_delayed_until__isnull=True) | Q(display_delayed_until__lte=today))
            .values_list("pk", flat=True)
        )
        assert shown == expected


def test_the_gate_discloses_other_registers_health_data_to_a_professional_under_consent(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # factories set passwords
    # enough documents per person for a few service events each, some of them in another register
    seed("--persons", "80", "--documents-per-person", "24")

    consented = DisclosureConsent.objects.filter(sector="health_care", withdrawn_at__isnull=True)
    persons = (
        seeded_persons()
        .filter(pk__in=consented.values("person"))
        .exclude(pk__in=Prohibition.objects.values("person"))
        .exclude(pk__in=DisclosureConsent.objects.filter(sector="social_to_health").values("person"))
    )
    checked = 0
    for person in persons[:30]:
        health = Document.objects.filter(
            person=person, status=DocumentStatus.CURRENT, register__kind__in=HEALTH_REGISTERS
        )
        if len({d.register_id for d in health}) < 2:
            continue
        own = health.filter(register__kind=RegisterKind.HEALTH_CARE).first()
        if own is None:
            continue
        unit = Unit.objects.filter(
            organisation=own.register.controller, register_kind=RegisterKind.HEALTH_CARE
        ).first()
        professional = ProfessionalFactory(units=[unit])
        CareRelationship.objects.create(
            person=person,
            unit=unit,
            reason="appointment",
            starts_at=timezone.now() - datetime.timedelta(days=1),
            ends_at=timezone.now() + datetime.timedelta(days=1),
        )
        actor = audit.Actor(user=professional.user, professional=professional, unit=unit)
        gate = policy.for_professional(actor=actor, person=person)

        shown = {d.pk: d.basis for d in gate.documents(limit=1000)}

        assert set(shown) == set(health.values_list("pk", flat=True))
        assert {LegalBasis.OWN_REGISTER, LegalBasis.CONSENT} <= set(shown.values())
        checked += 1
        if checked == 5:
            break
    assert checked >= 3


def test_bulk_load_into_empty_tables_restores_every_index_and_constraint():
    before = archive_schema()

    output = seed_documents()

    assert "written without secondary indexes" in output
    assert archive_schema() == before


def test_bulk_load_also_on_a_demo_database_restores_every_index_and_keeps_the_demo_rows():
    # The demo's few dozen documents are far fewer than a tenth of what the run adds: the fast path still
    # pays, but nothing is truncated, so the rows are written unfrozen.
    call_command("demo_data", "--force", stdout=StringIO())
    demo = {model: set(model.objects.values_list("pk", flat=True)) for model in (Document, ServiceEvent)}
    demo_rows = {
        model: list(model.objects.order_by("pk").values())
        for model in (Document, ServiceEvent, Diagnosis, *DECLARATION_MODELS)
    }
    assert 0 < len(demo[Document]) <= 100
    before = archive_schema()

    output = seed("--persons", "300", "--documents", "1500")

    assert "The archive tables were empty or nearly so: written without secondary indexes" in output
    assert "rows frozen: no" in output
    assert archive_schema() == before
    for model, rows in demo_rows.items():
        assert list(model.objects.filter(pk__in=[row["id"] for row in rows]).order_by("pk").values()) == rows
    assert Document.objects.exclude(pk__in=demo[Document]).count() == 1500
    seeded_ids = set(seeded_persons().values_list("id", flat=True))
    assert (
        set(Document.objects.exclude(pk__in=demo[Document]).values_list("person_id", flat=True)) <= seeded_ids
    )
    assert Document.objects.values("public_id").distinct().count() == Document.objects.count()


def test_documents_are_appended_with_the_indexes_in_place_when_the_tables_hold_rows():
    seed_documents()
    before = archive_schema()

    output = seed("--persons", "50", "--documents", "123")

    assert "written without secondary indexes" not in output
    assert archive_schema() == before
    assert Document.objects.count() == 1123
    assert set(Document.objects.values_list("person_id", flat=True)) == set(
        seeded_persons().values_list("id", flat=True)
    )
    assert Document.objects.values("public_id").distinct().count() == 1123


def test_documents_for_persons_seeded_earlier():
    seed("--persons", "300")

    seed("--persons", "0", "--persons-for-documents", "100", "--documents", "700", "--keep-indexes")

    owners = set(Document.objects.values_list("person_id", flat=True))
    assert len(owners) == 100
    # the newest persons come first
    assert owners == set(seeded_persons().order_by("-id").values_list("id", flat=True)[:100])
    assert Document.objects.count() == 700


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--documents", "10", "--documents-per-person", "2"], "not allowed with"),
        (["--documents", "-1"], "--documents must be 0 or more"),
        (["--documents-per-person", "nan"], "--documents-per-person must be 0 or more"),
        (["--persons", "0", "--documents", "10"], "say with --persons-for-documents"),
        (["--persons-for-documents", "5"], "needs --documents or --documents-per-person"),
        (["--persons", "0", "--persons-for-documents", "5", "--documents", "10"], "Only 0 synthetic persons"),
    ],
)
def test_seed_refuses_a_wrong_document_argument_and_writes_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        seed(*args)

    assert not Document.objects.exists()
    assert not Person.objects.exists()


def test_seed_refuses_documents_without_a_county_and_writes_nothing():
    UnitFactory(organisation=OrganisationFactory(kind=OrganisationKind.PRIVATE_HEALTH))

    with pytest.raises(CommandError, match="wellbeing services counties, and there are none"):
        seed("--persons", "10", "--documents", "20")

    assert not Person.objects.exists()
    assert not Document.objects.exists()
