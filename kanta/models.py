"""The shared core: people, organisations and their registers, professionals, care relationships, audit.

Every other app points down at these models. Rules that can live in the database do (unique identity code
including its century sign, one register per controller and kind, a guardian is not their own child).
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kanta import identity_code


class User(AbstractUser):
    """A login: a citizen (linked from Person.user), a professional (Professional.user) or an administrator."""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Language(models.TextChoices):
    FINNISH = "fi", _("Finnish")
    SWEDISH = "sv", _("Swedish")
    ENGLISH = "en", _("English")


class Sex(models.TextChoices):
    FEMALE = "female", _("female")
    MALE = "male", _("male")


class PersonQuerySet(models.QuerySet):
    def alive(self) -> PersonQuerySet:
        return self.filter(date_of_death__isnull=True)


class Person(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    identity_code = models.CharField(
        _("personal identity code"),
        max_length=11,
        unique=True,  # including the century sign: 010594-9032 and 010594Y9032 are two people
        validators=[identity_code.validate_identity_code],
    )
    birth_date = models.DateField(_("date of birth"), editable=False)
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices, editable=False)
    first_names = models.CharField(_("first names"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default=Language.FINNISH
    )
    non_disclosure = models.BooleanField(
        _("non-disclosure for personal safety"),
        default=False,
        help_text=_("Turvakielto: contact details are never shown or disclosed."),
    )
    date_of_death = models.DateField(_("date of death"), null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="person"
    )
    created_at = models.DateTimeField(_("created"), db_default=Now())

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        indexes = [models.Index(fields=["last_name", "first_names"])]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_names}"

    def save(self, *args, **kwargs) -> None:
        # Birth date and sex are facts of the code, so they are always derived from it.
        parsed = identity_code.parse(self.identity_code)
        self.identity_code = parsed.code
        self.birth_date = parsed.birth_date
        self.sex = parsed.sex
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_names} {self.last_name}"

    @property
    def is_deceased(self) -> bool:
        return self.date_of_death is not None

    def age_on(self, day: datetime.date) -> int:
        had_birthday = (day.month, day.day) >= (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - (0 if had_birthday else 1)

    @property
    def age(self) -> int:
        return self.age_on(timezone.localdate())


class Guardianship(models.Model):
    """A guardian of a child under 18, as the population register records it."""

    guardian = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="wards", verbose_name=_("guardian")
    )
    child = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="guardians", verbose_name=_("child")
    )
    starts_on = models.DateField(_("starts"), default=datetime.date.today)
    ends_on = models.DateField(_("ends"), null=True, blank=True)

    class Meta:
        verbose_name = _("guardianship")
        verbose_name_plural = _("guardianships")
        constraints = [
            models.UniqueConstraint(fields=["guardian", "child"], name="guardianship_unique_pair"),
            models.CheckConstraint(condition=~Q(guardian=models.F("child")), name="guardianship_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.guardian} → {self.child}"


class OrganisationKind(models.TextChoices):
    COUNTY = "county", _("wellbeing services county")
    PRIVATE_HEALTH = "private_health", _("private health care provider")
    PRIVATE_SOCIAL = "private_social", _("private social welfare provider")
    PHARMACY = "pharmacy", _("pharmacy")
    RECIPIENT = "recipient", _("outside recipient")


class Organisation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    oid = models.CharField(
        _("OID"), max_length=64, unique=True, help_text=_("SOTE organisation register OID")
    )
    name_fi = models.CharField(_("name in Finnish"), max_length=200)
    name_sv = models.CharField(_("name in Swedish"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name_fi"]
        permissions = [("manage_organisation", _("Can manage the organisation's units and professionals"))]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized_name(self)


class RegisterKind(models.TextChoices):
    HEALTH_CARE = "health_care", _("health care")
    OCCUPATIONAL_HEALTH = "occupational_health", _("occupational health care")
    SOCIAL_WELFARE = "social_welfare", _("social welfare")


class Unit(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="units", verbose_name=_("organisation")
    )
    oid = models.CharField(_("OID"), max_length=64, unique=True)
    name_fi = models.CharField(_("name in Finnish"), max_length=200)
    name_sv = models.CharField(_("name in Swedish"), max_length=200)
    # Which of the organisation's registers the unit records into: a county's occupational health unit
    # reads its health care register as a disclosure, not as its own register (DOMAIN.md).
    register_kind = models.CharField(
        _("records into register"),
        max_length=20,
        choices=RegisterKind.choices,
        default=RegisterKind.HEALTH_CARE,
    )
    accepts_renewal_requests = models.BooleanField(_("accepts prescription renewal requests"), default=False)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["name_fi"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized_name(self)


class Register(models.Model):
    """A controller's register: every document lives in exactly one."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    controller = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="registers", verbose_name=_("controller")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=RegisterKind.choices)

    class Meta:
        verbose_name = _("register")
        verbose_name_plural = _("registers")
        constraints = [models.UniqueConstraint(fields=["controller", "kind"], name="register_one_per_kind")]

    def __str__(self) -> str:
        return f"{self.controller.name}: {self.get_kind_display()}"


class Profession(models.TextChoices):
    PHYSICIAN = "physician", _("physician")
    DENTIST = "dentist", _("dentist")
    NURSE = "nurse", _("nurse")
    PUBLIC_HEALTH_NURSE = "public_health_nurse", _("public health nurse")
    PHARMACIST = "pharmacist", _("pharmacist")
    DISPENSING_PHARMACIST = "dispensing_pharmacist", _("dispensing pharmacist")
    SOCIAL_WORKER = "social_worker", _("social worker")
    ARCHIVIST = "archivist", _("archivist")
    MEDICAL_STUDENT = "medical_student", _("medical student")


class Professional(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="professional",
        verbose_name=_("user"),
    )
    registration_number = models.CharField(
        _("registration number"),
        max_length=20,
        unique=True,
        help_text=_("Valvira's register of professionals"),
    )
    profession = models.CharField(_("profession"), max_length=24, choices=Profession.choices)
    units = models.ManyToManyField(Unit, related_name="professionals", verbose_name=_("units"))

    class Meta:
        verbose_name = _("professional")
        verbose_name_plural = _("professionals")

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.username} ({self.get_profession_display()})"


class CareReason(models.TextChoices):
    APPOINTMENT = "appointment", _("appointment or visit")
    REFERRAL = "referral", _("referral")
    ONGOING = "ongoing", _("ongoing treatment")
    DISPENSING = "dispensing", _("dispensing a prescription")
    SOCIAL_SERVICE = "social_service", _("social welfare client matter")


class CareRelationshipQuerySet(models.QuerySet):
    def active(self, at: datetime.datetime | None = None) -> CareRelationshipQuerySet:
        at = at or timezone.now()
        return self.filter(starts_at__lte=at, ends_at__gt=at)


class CareRelationship(models.Model):
    """A unit's care (or client) relationship with a person, confirmed by a professional for a period."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="care_relationships", verbose_name=_("unit")
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="care_relationships", verbose_name=_("person")
    )
    confirmed_by = models.ForeignKey(
        Professional, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("confirmed by")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=CareReason.choices)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))

    objects = CareRelationshipQuerySet.as_manager()

    class Meta:
        verbose_name = _("care relationship")
        verbose_name_plural = _("care relationships")
        indexes = [models.Index(fields=["person", "unit", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="care_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit} – {self.person}"

    def is_active(self, at: datetime.datetime | None = None) -> bool:
        """What `CareRelationship.objects.active(at)` says of this row, for one already read."""
        at = at or timezone.now()
        return self.starts_at <= at < self.ends_at


class AuditCategory(models.TextChoices):
    ACCESS = "access", _("data access")
    EMERGENCY = "emergency", _("emergency access")
    CHANGE = "change", _("change")
    AUTHENTICATION = "authentication", _("authentication")


class AuditOutcome(models.TextChoices):
    ALLOWED = "allowed", _("allowed")
    REFUSED = "refused", _("refused")


class LegalBasis(models.TextChoices):
    SELF = "self", _("own data")
    CARE_RELATIONSHIP = "care_relationship", _("care relationship")
    OWN_REGISTER = "own_register", _("own register")
    CONSENT = "consent", _("consent")
    EMERGENCY = "emergency", _("emergency")
    PURCHASED_SERVICE = "purchased_service", _("purchased service")
    GUARDIAN = "guardian", _("guardian")
    MANDATE = "mandate", _("mandate")
    DECLARATION = "declaration", _("declaration of intent, visible throughout health care")
    NONE = "none", _("no basis")
    # prescriptions (rule 6): who still sees a prescription under a per-prescription denial, and why
    PRESCRIBER = "prescriber", _("prescriber of the prescription")
    RENEWAL = "renewal", _("renewal request to the unit")
    SUMMARY = "summary", _("prescription summary brought by the person")
    CONTROLLED_MEDICINE = "controlled_medicine", _("prescribing a narcotic or CNS-acting medicine")


class DataType(models.TextChoices):
    IDENTITY = "identity", _("personal details")
    PATIENT = "patient", _("patient data")
    PRESCRIPTION = "prescription", _("prescription data")
    SOCIAL_WELFARE = "social_welfare", _("social welfare data")
    WELLBEING = "wellbeing", _("wellbeing data")


class AuditEvent(models.Model):
    """One entry of the append-only audit log; the database refuses UPDATE and DELETE on it.

    Foreign keys protect their targets: deleting a person or a user must never rewrite the log.
    """

    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # who
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    professional = models.ForeignKey(Professional, on_delete=models.PROTECT, null=True, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, related_name="+")
    # whose data
    person = models.ForeignKey(Person, on_delete=models.PROTECT, null=True, related_name="+")
    # what
    action = models.CharField(_("action"), max_length=64)
    category = models.CharField(_("category"), max_length=16, choices=AuditCategory.choices)
    data_type = models.CharField(_("data type"), max_length=16, choices=DataType.choices, blank=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_ids = models.JSONField(_("object ids"), default=list, blank=True)
    # why
    purpose = models.CharField(_("purpose"), max_length=64, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=20, choices=LegalBasis.choices, blank=True)
    reason_text = models.TextField(_("reason"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=8, choices=AuditOutcome.choices)
    # from where
    client_address = models.GenericIPAddressField(_("client address"), null=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            # the citizen's "where my data has been processed" page, newest first, keyset-paginated
            models.Index(fields=["person", "-occurred_at", "-id"], name="audit_person_time"),
            models.Index(fields=["professional", "-occurred_at"], name="audit_professional_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"


class AuditChainLink(models.Model):
    """The hash chain over sealed audit events, in sealing order.

    `event_id` is deliberately not a foreign key: a row deleted behind the trigger's back must leave its link
    behind so that verification can name it.
    """

    position = models.BigAutoField(primary_key=True)
    event_id = models.BigIntegerField(unique=True)
    chain_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit chain link")
        verbose_name_plural = _("audit chain links")

    def __str__(self) -> str:
        return f"{self.position}: event {self.event_id}"


class AuditSeal(models.Model):
    """A periodic seal over the chain: its hash covers the chain head and the previous seal."""

    sealed_at = models.DateTimeField(_("sealed"), default=timezone.now)
    last_position = models.BigIntegerField(_("last chain position"))
    event_count = models.PositiveIntegerField(_("events sealed"))
    chain_hash = models.CharField(_("chain hash"), max_length=64)
    previous_seal_hash = models.CharField(_("previous seal hash"), max_length=64)
    seal_hash = models.CharField(_("seal hash"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.sealed_at:%Y-%m-%d %H:%M} ({self.event_count})"


class LoginFailure(models.Model):
    """A failed professional sign-in, counted for the lockout (kept short-term, deletable)."""

    username = models.CharField(max_length=150, db_index=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    client_address = models.GenericIPAddressField(null=True)

    class Meta:
        verbose_name = _("failed sign-in")
        verbose_name_plural = _("failed sign-ins")

    def __str__(self) -> str:
        return f"{self.username} {self.occurred_at:%Y-%m-%d %H:%M}"


def localized_name(obj) -> str:
    """The Swedish name for Swedish-speaking users, the Finnish name otherwise (orgs have no English name)."""
    from django.utils.translation import get_language

    return obj.name_sv if (get_language() or "").startswith("sv") and obj.name_sv else obj.name_fi
