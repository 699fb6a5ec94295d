"""The Patient Data Repository and the Client Data Archive for social welfare.

Documents are never edited in place and never deleted on request: a correction is a new version that
supersedes the old one (kept in its history), an invalidation hides a document from summaries but keeps it.
Structured entries belong to one document version and carry the person, register and date again so that the
summary views read one index per person without joining the documents table first.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kanta.models import Organisation, Person, Professional, Register, Unit


class ServiceEvent(models.Model):
    """A person's matter at one provider; groups documents that may span several visits."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="service_events")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="service_events")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="service_events")
    title = models.CharField(_("title"), max_length=200)
    started_on = models.DateField(_("started"))
    ended_on = models.DateField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("service event")
        verbose_name_plural = _("service events")
        indexes = [models.Index(fields=["person", "-started_on"], name="service_event_person_date")]

    def __str__(self) -> str:
        return f"{self.title} ({self.started_on:%d.%m.%Y})"


class DocumentKind(models.TextChoices):
    RECORD_ENTRY = "record_entry", _("patient record entry")
    LABORATORY = "laboratory", _("laboratory results")
    IMAGING_REQUEST = "imaging_request", _("imaging request")
    IMAGING_STATEMENT = "imaging_statement", _("imaging statement")
    REFERRAL = "referral", _("referral")
    CARE_PLAN = "care_plan", _("health and care plan")
    CERTIFICATE = "certificate", _("certificate or statement")
    VACCINATION = "vaccination", _("vaccination record")
    # social welfare client documents
    DECISION = "decision", _("decision")
    SERVICE_NEED_ASSESSMENT = "service_need_assessment", _("service need assessment")
    CLIENT_PLAN = "client_plan", _("client plan")
    CLIENT_RELATIONSHIP_START = "client_relationship_start", _("start of client relationship")


SOCIAL_WELFARE_KINDS = {
    DocumentKind.DECISION,
    DocumentKind.SERVICE_NEED_ASSESSMENT,
    DocumentKind.CLIENT_PLAN,
    DocumentKind.CLIENT_RELATIONSHIP_START,
}


class RecordView(models.TextChoices):
    GENERAL = "general", _("general")
    SPECIALTY = "specialty", _("specialty")
    NURSING = "nursing", _("nursing")
    ORAL_HEALTH = "oral_health", _("oral health")
    SUMMARY = "summary", _("summary")


class ServiceTask(models.TextChoices):
    CHILD_WELFARE = "child_welfare", _("child welfare")
    FAMILY_SERVICES = "family_services", _("services for families with children")
    ELDERLY_SERVICES = "elderly_services", _("services for older people")
    DISABILITY_SERVICES = "disability_services", _("disability services")
    WORKING_AGE_SERVICES = "working_age_services", _("services for working-age people")
    SUBSTANCE_ABUSE = "substance_abuse", _("substance abuse services")


class CertificateForm(models.TextChoices):
    SV6 = "SV6", _("SV 6 – medical certificate A")
    SV7 = "SV7", _("SV 7 – medical certificate B")
    F122 = "F122", _("Traficom F122 – driving licence health certificate")


class DocumentStatus(models.TextChoices):
    CURRENT = "current", _("current")
    SUPERSEDED = "superseded", _("superseded by a correction")
    INVALIDATED = "invalidated", _("invalidated")


class Document(models.Model):
    """One version of a document. `lineage_id` is the same for every version of one document."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lineage_id = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=DocumentStatus.choices, default=DocumentStatus.CURRENT
    )

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="documents")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="documents")
    service_event = models.ForeignKey(
        ServiceEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    author = models.ForeignKey(
        Professional, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    kind = models.CharField(_("kind"), max_length=28, choices=DocumentKind.choices)
    view = models.CharField(_("view"), max_length=12, choices=RecordView.choices, blank=True)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"), blank=True)
    certificate_form = models.CharField(
        _("certificate form"), max_length=4, choices=CertificateForm.choices, blank=True
    )
    form_data = models.JSONField(_("form data"), default=dict, blank=True)
    service_task = models.CharField(_("service task"), max_length=24, choices=ServiceTask.choices, blank=True)
    special_content = models.BooleanField(
        _("special content"), default=False, help_text=_("Never shown in MyKanta or other e-services.")
    )
    disclosable_to_guardians = models.BooleanField(
        _("guardians may see"),
        default=False,
        help_text=_("For a patient aged 10 to 17: a professional has assessed that guardians may see this."),
    )
    display_delayed_until = models.DateField(_("shown in MyKanta from"), null=True, blank=True)
    display_delay_reason = models.CharField(_("reason for delayed display"), max_length=200, blank=True)
    invalidation_reason = models.CharField(_("reason for invalidation"), max_length=200, blank=True)

    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        indexes = [
            # every page reads one person's current documents newest first
            models.Index(
                fields=["person", "-recorded_at", "-id"],
                condition=Q(status="current"),
                name="document_person_current",
            ),
            models.Index(fields=["register", "-recorded_at"], name="document_register_time"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["lineage_id", "version"], name="document_one_version_number"),
            models.CheckConstraint(
                condition=Q(display_delayed_until__isnull=True) | ~Q(display_delay_reason=""),
                name="document_delay_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.recorded_at:%d.%m.%Y}, v{self.version})"

    @property
    def is_social_welfare(self) -> bool:
        return self.kind in SOCIAL_WELFARE_KINDS


class EntryBase(models.Model):
    """Columns shared by structured entries: they belong to one document version."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="%(class)ss")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    recorded_on = models.DateField(_("date"))

    class Meta:
        abstract = True


class Diagnosis(EntryBase):
    code = models.CharField(_("ICD-10 code"), max_length=8)
    title = models.CharField(_("diagnosis"), max_length=200)
    primary = models.BooleanField(_("primary diagnosis"), default=False)

    class Meta:
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")
        indexes = [models.Index(fields=["person", "-recorded_on"], name="diagnosis_person_date")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class RiskKind(models.TextChoices):
    ALLERGY = "allergy", _("allergy or hypersensitivity")
    HAZARD = "hazard", _("other risk")


class RiskInformation(EntryBase):
    kind = models.CharField(_("kind"), max_length=8, choices=RiskKind.choices)
    description = models.CharField(_("description"), max_length=300)
    critical = models.BooleanField(_("critical"), default=True)

    class Meta:
        verbose_name = _("risk information")
        verbose_name_plural = _("risk information")
        indexes = [models.Index(fields=["person", "-recorded_on"], name="risk_person_date")]

    def __str__(self) -> str:
        return self.description


class Procedure(EntryBase):
    description = models.CharField(_("procedure"), max_length=300)

    class Meta:
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        indexes = [models.Index(fields=["person", "-recorded_on"], name="procedure_person_date")]

    def __str__(self) -> str:
        return self.description


class Measurement(EntryBase):
    loinc = models.CharField(_("LOINC code"), max_length=10)
    name = models.CharField(_("measurement"), max_length=120)
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=2)
    unit_of_measure = models.CharField(_("unit"), max_length=20)

    class Meta:
        verbose_name = _("measurement")
        verbose_name_plural = _("measurements")
        indexes = [models.Index(fields=["person", "-recorded_on"], name="measurement_person_date")]

    def __str__(self) -> str:
        return f"{self.name} {self.value} {self.unit_of_measure}"


class Vaccination(EntryBase):
    atc = models.CharField(_("ATC code"), max_length=8)
    name = models.CharField(_("vaccine"), max_length=120)
    dose = models.PositiveSmallIntegerField(_("dose number"), default=1)

    class Meta:
        verbose_name = _("vaccination")
        verbose_name_plural = _("vaccinations")
        indexes = [models.Index(fields=["person", "-recorded_on"], name="vaccination_person_date")]

    def __str__(self) -> str:
        return f"{self.name} ({self.recorded_on:%d.%m.%Y})"


class AbnormalFlag(models.TextChoices):
    NORMAL = "N", _("within the reference range")
    LOW = "L", _("below the reference range")
    HIGH = "H", _("above the reference range")


class LabResult(EntryBase):
    loinc = models.CharField(_("LOINC code"), max_length=10)
    name = models.CharField(_("test"), max_length=120)
    value = models.DecimalField(_("result"), max_digits=12, decimal_places=3)
    unit_of_measure = models.CharField(_("unit"), max_length=20)
    reference_low = models.DecimalField(
        _("reference low"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    reference_high = models.DecimalField(
        _("reference high"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    abnormal = models.CharField(
        _("flag"), max_length=1, choices=AbnormalFlag.choices, default=AbnormalFlag.NORMAL
    )

    class Meta:
        verbose_name = _("laboratory result")
        verbose_name_plural = _("laboratory results")
        indexes = [models.Index(fields=["person", "-recorded_on"], name="lab_person_date")]

    def __str__(self) -> str:
        return f"{self.name} {self.value} {self.unit_of_measure}"


class ImagingStudy(EntryBase):
    """A reference to a study in the imaging archive; the images themselves are not stored here."""

    study_instance_uid = models.CharField(_("study instance UID"), max_length=64)
    modality = models.CharField(_("modality"), max_length=8)
    examination = models.CharField(_("examination"), max_length=200)

    class Meta:
        verbose_name = _("imaging study")
        verbose_name_plural = _("imaging studies")
        indexes = [models.Index(fields=["person", "-recorded_on"], name="imaging_person_date")]

    def __str__(self) -> str:
        return f"{self.examination} ({self.modality})"


class AuthorizationScope(models.TextChoices):
    PATIENT = "patient", _("one patient")
    REGISTER = "register", _("the whole register")


class PurchasedServiceAuthorization(models.Model):
    """The organiser lets a producer write into and read its register (ostopalvelun valtuutus).

    The producer may be named after the authorization was created; until then it authorizes nobody.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organiser = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="authorizations_given")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="authorizations")
    producer = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="authorizations_received"
    )
    scope = models.CharField(_("scope"), max_length=8, choices=AuthorizationScope.choices)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    starts_on = models.DateField(_("valid from"))
    ends_on = models.DateField(_("valid until"))
    ordered_service = models.CharField(_("ordered service"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        Professional, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        verbose_name = _("purchased-service authorization")
        verbose_name_plural = _("purchased-service authorizations")
        indexes = [models.Index(fields=["producer", "ends_on"], name="authorization_producer")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="authorization_period"
            ),
            models.CheckConstraint(
                condition=Q(scope="register", person__isnull=True) | Q(scope="patient", person__isnull=False),
                name="authorization_person_matches_scope",
            ),
        ]

    def __str__(self) -> str:
        producer = self.producer.name if self.producer else _("producer not yet named")
        return f"{self.organiser.name} → {producer} ({self.get_scope_display()})"
