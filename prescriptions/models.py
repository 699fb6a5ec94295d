"""The Prescription service: the medicine database, prescriptions, dispensings and renewal requests.

A prescription row holds its current state; every change (correction, technical correction, lock, release,
invalidation, renewal) is kept as a PrescriptionEvent with a snapshot, so the history is complete while the
pages read one row. Amounts are kept in units (tablets, millilitres...): packages are converted with the
product's package quantity, so "amount left" does not depend on which substitutable package was dispensed.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from kanta.models import Organisation, Person, Professional, Unit


class Reimbursement(models.TextChoices):
    NONE = "none", _("not reimbursed")
    BASIC = "basic", _("basic reimbursement (40 %)")
    LOWER_SPECIAL = "lower_special", _("lower special reimbursement (65 %)")
    HIGHER_SPECIAL = "higher_special", _("higher special reimbursement (100 %)")


class Product(models.Model):
    """One marketed package in the medicine database (Lääketietokanta), identified by its VNR."""

    vnr = models.CharField(_("VNR"), max_length=6, unique=True)
    name = models.CharField(_("product name"), max_length=120)
    atc = models.CharField(_("ATC code"), max_length=8, db_index=True)
    active_substance = models.CharField(_("active substance"), max_length=120)
    strength = models.CharField(_("strength"), max_length=40)
    form = models.CharField(_("pharmaceutical form"), max_length=60)
    package_size = models.CharField(_("package size"), max_length=40)
    package_quantity = models.DecimalField(_("units per package"), max_digits=10, decimal_places=2)
    substitution_group = models.CharField(_("substitution group"), max_length=20, blank=True, db_index=True)
    retail_price = models.DecimalField(_("retail price (€)"), max_digits=10, decimal_places=2)
    reimbursement = models.CharField(
        _("reimbursement"), max_length=16, choices=Reimbursement.choices, default=Reimbursement.NONE
    )
    narcotic = models.BooleanField(_("narcotic"), default=False)
    pkv = models.BooleanField(_("CNS-acting (PKV)"), default=False)
    special_permit = models.BooleanField(_("special permit product"), default=False)
    marketed = models.BooleanField(_("marketed"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("medicine package")
        verbose_name_plural = _("medicine packages")
        indexes = [models.Index(fields=["name"], name="product_name")]
        constraints = [
            models.CheckConstraint(condition=Q(package_quantity__gt=0), name="product_quantity_positive"),
            models.CheckConstraint(condition=Q(retail_price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.strength} {self.package_size} ({self.vnr})"

    @property
    def shorter_validity(self) -> bool:
        """Narcotics, CNS-acting and special-permit products are valid 1 year instead of 2."""
        return self.narcotic or self.pkv or self.special_permit


class ProductImport(models.Model):
    """One run of the medicine database import, with its report of rejected rows."""

    file_name = models.CharField(_("file"), max_length=200)
    started_at = models.DateTimeField(_("started"), db_default=Now())
    created = models.PositiveIntegerField(_("new packages"), default=0)
    updated = models.PositiveIntegerField(_("updated packages"), default=0)
    rejected = models.PositiveIntegerField(_("rejected rows"), default=0)
    report = models.TextField(_("report"), blank=True)

    class Meta:
        verbose_name = _("medicine database import")
        verbose_name_plural = _("medicine database imports")

    def __str__(self) -> str:
        return f"{self.file_name} {self.started_at:%Y-%m-%d}"


class AmountKind(models.TextChoices):
    PACKAGES = "packages", _("packages")
    QUANTITY = "quantity", _("quantity")
    TREATMENT_PERIOD = "treatment_period", _("treatment period")


class PrescriptionStatus(models.TextChoices):
    UNDISPENSED = "undispensed", _("not dispensed")
    PARTLY_DISPENSED = "partly_dispensed", _("partly dispensed")
    FULLY_DISPENSED = "fully_dispensed", _("fully dispensed")
    EXPIRED = "expired", _("expired")
    INVALIDATED = "invalidated", _("invalidated")


DISPENSABLE_STATUSES = [PrescriptionStatus.UNDISPENSED, PrescriptionStatus.PARTLY_DISPENSED]


class InvalidationCategory(models.TextChoices):
    CARE = "care", _("care-related, agreed with the patient")
    TECHNICAL = "technical", _("technical, e.g. written for the wrong person")
    PATIENT = "patient", _("caused by the patient")
    AUTOMATIC = "automatic", _("automatic: the patient has died")


class Prescription(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="prescriptions")
    prescriber = models.ForeignKey(Professional, on_delete=models.PROTECT, related_name="prescriptions")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="prescriptions")
    version = models.PositiveIntegerField(default=1)

    # what: a product (package) or an active substance with strength and form
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    atc = models.CharField(_("ATC code"), max_length=8)
    medicine_name = models.CharField(_("medicine"), max_length=200)
    active_substance = models.CharField(_("active substance"), max_length=120)
    strength = models.CharField(_("strength"), max_length=40)
    form = models.CharField(_("pharmaceutical form"), max_length=60)
    narcotic = models.BooleanField(default=False)
    pkv = models.BooleanField(default=False)
    special_permit = models.BooleanField(default=False)
    pharmacy_made = models.BooleanField(_("pharmacy-made"), default=False)

    # how much and how
    dosage = models.TextField(_("dosage instructions"))
    daily_quantity = models.DecimalField(_("units per day"), max_digits=8, decimal_places=2)
    amount_kind = models.CharField(_("amount given as"), max_length=16, choices=AmountKind.choices)
    amount_packages = models.PositiveIntegerField(_("packages"), null=True, blank=True)
    amount_treatment_days = models.PositiveIntegerField(_("treatment period (days)"), null=True, blank=True)
    total_quantity = models.DecimalField(_("total amount (units)"), max_digits=12, decimal_places=2)
    purpose = models.CharField(_("purpose"), max_length=200)
    message_to_pharmacy = models.CharField(_("message to the pharmacy"), max_length=300, blank=True)
    substitution_allowed = models.BooleanField(_("generic substitution allowed"), default=True)

    prescribed_at = models.DateTimeField(_("prescribed"))
    valid_until = models.DateField(_("valid until"))
    status = models.CharField(
        _("status"), max_length=20, choices=PrescriptionStatus.choices, default=PrescriptionStatus.UNDISPENSED
    )
    quantity_dispensed = models.DecimalField(
        _("dispensed (units)"), max_digits=12, decimal_places=2, default=0
    )
    last_dispensed_at = models.DateTimeField(_("last dispensed"), null=True, blank=True)
    renewed_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewals",
        verbose_name=_("renews"),
    )

    # pharmacy lock (waiting for the prescriber's correction) and reservation (a dispensing under way)
    locked_by = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lock_reason = models.CharField(_("reason for the lock"), max_length=200, blank=True)
    reserved_by = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reserved_until = models.DateTimeField(null=True, blank=True)

    invalidated_at = models.DateTimeField(null=True, blank=True)
    invalidation_category = models.CharField(max_length=10, choices=InvalidationCategory.choices, blank=True)
    invalidation_text = models.TextField(blank=True)

    class Meta:
        verbose_name = _("prescription")
        verbose_name_plural = _("prescriptions")
        indexes = [
            models.Index(fields=["person", "-prescribed_at"], name="prescription_person_time"),
            # the pharmacy's identity-code search: dispensable prescriptions of one person
            models.Index(
                fields=["person", "valid_until"],
                condition=Q(status__in=["undispensed", "partly_dispensed"]),
                name="prescription_dispensable",
            ),
            # the daily expiry job
            models.Index(
                fields=["valid_until"],
                condition=Q(status__in=["undispensed", "partly_dispensed", "fully_dispensed"]),
                name="prescription_valid_until",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total_quantity__gt=0), name="prescription_amount_positive"),
            models.CheckConstraint(condition=Q(daily_quantity__gt=0), name="prescription_daily_positive"),
            models.CheckConstraint(
                condition=Q(quantity_dispensed__gte=0)
                & Q(quantity_dispensed__lte=models.F("total_quantity")),
                name="prescription_dispensed_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.medicine_name} ({self.prescribed_at:%d.%m.%Y})"

    @property
    def quantity_left(self):
        return self.total_quantity - self.quantity_dispensed

    @property
    def two_year_validity(self) -> bool:
        return not (self.narcotic or self.pkv or self.special_permit)


class EventKind(models.TextChoices):
    PRESCRIBED = "prescribed", _("prescribed")
    CORRECTED = "corrected", _("corrected by the prescriber")
    TECHNICAL_CORRECTION = "technical_correction", _("technical correction by a pharmacy")
    LOCKED = "locked", _("locked by a pharmacy")
    RELEASED = "released", _("lock released")
    INVALIDATED = "invalidated", _("invalidated")
    EXPIRED = "expired", _("expired")
    RENEWED = "renewed", _("renewed")


class PrescriptionEvent(models.Model):
    """The history of one prescription: who changed what, when, with the state after the change."""

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("change"), max_length=20, choices=EventKind.choices)
    version = models.PositiveIntegerField(_("version"))
    occurred_at = models.DateTimeField(_("time"), db_default=Now())
    professional = models.ForeignKey(
        Professional, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    snapshot = models.JSONField(_("state after the change"), default=dict)

    class Meta:
        verbose_name = _("prescription event")
        verbose_name_plural = _("prescription events")
        indexes = [models.Index(fields=["prescription", "occurred_at"], name="prescription_event_order")]

    def __str__(self) -> str:
        return f"{self.prescription_id} {self.kind} v{self.version}"


class CrossBorderCountry(models.TextChoices):
    FINLAND = "FI", _("Finland")
    ESTONIA = "EE", _("Estonia")
    CROATIA = "HR", _("Croatia")
    PORTUGAL = "PT", _("Portugal")
    SPAIN = "ES", _("Spain")
    POLAND = "PL", _("Poland")
    CZECHIA = "CZ", _("Czechia")


class Dispensing(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="dispensings")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    pharmacy = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pharmacist = models.ForeignKey(
        Professional, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    country = models.CharField(
        _("country"), max_length=2, choices=CrossBorderCountry.choices, default=CrossBorderCountry.FINLAND
    )
    packages = models.PositiveIntegerField(_("packages"))
    quantity = models.DecimalField(_("amount (units)"), max_digits=12, decimal_places=2)
    price = models.DecimalField(_("price (€)"), max_digits=10, decimal_places=2, null=True, blank=True)
    dispensed_at = models.DateTimeField(_("dispensed"))

    class Meta:
        verbose_name = _("dispensing")
        verbose_name_plural = _("dispensings")
        indexes = [
            models.Index(fields=["prescription", "-dispensed_at"], name="dispensing_prescription_time")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="dispensing_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.prescription_id} {self.dispensed_at:%d.%m.%Y} {self.quantity}"


class RenewalStatus(models.TextChoices):
    SENT = "sent", _("sent")
    RENEWED = "renewed", _("renewed")
    REJECTED = "rejected", _("rejected")
    RETURNED = "returned", _("returned")
    EXPIRED = "expired", _("expired")


class RenewalRequest(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="renewal_requests")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="renewal_requests")
    phone = models.CharField(_("phone number for the outcome"), max_length=20, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RenewalStatus.choices, default=RenewalStatus.SENT
    )
    sent_at = models.DateTimeField(_("sent"))
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    handled_by = models.ForeignKey(
        Professional, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    new_prescription = models.ForeignKey(
        Prescription, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("renewal request")
        verbose_name_plural = _("renewal requests")
        indexes = [
            # the unit's renewal queue, oldest first
            models.Index(fields=["unit", "sent_at"], condition=Q(status="sent"), name="renewal_queue"),
            models.Index(fields=["person", "-sent_at"], name="renewal_person_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["prescription"], condition=Q(status="sent"), name="renewal_one_open_per_prescription"
            ),
            models.UniqueConstraint(
                fields=["prescription"], condition=Q(status="rejected"), name="renewal_rejection_is_final"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prescription_id} → {self.unit_id} ({self.status})"


class CrossBorderConsent(models.Model):
    """The person's consent to use their prescriptions abroad, given in MyKanta.

    Kept here rather than with the other declarations because the dispensing rules read it and domain apps
    never import the consents app.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    given_at = models.DateTimeField(_("given"))
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("cross-border prescription consent")
        verbose_name_plural = _("cross-border prescription consents")
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(withdrawn_at__isnull=True), name="cross_border_one_valid"
            )
        ]

    def __str__(self) -> str:
        return str(self.person)


class PrescriptionSummary(models.Model):
    """A printed prescription summary; its barcode lets a pharmacy fetch exactly these prescriptions."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    barcode = models.CharField(_("barcode"), max_length=16, unique=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    prescriptions = models.ManyToManyField(Prescription, related_name="+")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("prescription summary")
        verbose_name_plural = _("prescription summaries")

    def __str__(self) -> str:
        return self.barcode
