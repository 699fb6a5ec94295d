"""The person's declarations: information notice, disclosure consents, prohibitions, declarations of intent,
and mandates.

Nothing here is edited away: withdrawing sets `withdrawn_at`, a new living will version supersedes the old
one, so every change stays with who made it, when and through which channel.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from archive.models import ServiceEvent
from kanta.models import Organisation, Person, Register, Unit
from prescriptions.models import Prescription


class Channel(models.TextChoices):
    MYKANTA = "mykanta", _("MyKanta")
    UNIT = "unit", _("at a health or social care unit")


class Declaration(models.Model):
    """Who made or withdrew a declaration, when, and through which channel."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField(_("made"), default=timezone.now)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.MYKANTA)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawal_channel = models.CharField(max_length=8, choices=Channel.choices, blank=True)

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class InformationNotice(Declaration):
    """The Kanta information notice, acknowledged; required before any consent or prohibition."""

    version = models.CharField(_("notice version"), max_length=8)

    class Meta:
        verbose_name = _("information notice acknowledgement")
        verbose_name_plural = _("information notice acknowledgements")
        indexes = [models.Index(fields=["person"], name="notice_person")]

    def __str__(self) -> str:
        return f"{self.person} {self.version}"


class ConsentSector(models.TextChoices):
    HEALTH_CARE = "health_care", _("health care")
    SOCIAL_WELFARE = "social_welfare", _("social welfare")
    HEALTH_TO_SOCIAL = "health_to_social", _("health care data to social welfare")
    SOCIAL_TO_HEALTH = "social_to_health", _("social welfare data to health care")


class DisclosureConsent(Declaration):
    """Luovutuslupa: valid until withdrawn; covers existing and future data; not prescriptions."""

    sector = models.CharField(_("sector"), max_length=16, choices=ConsentSector.choices)

    class Meta:
        verbose_name = _("disclosure consent")
        verbose_name_plural = _("disclosure consents")
        indexes = [models.Index(fields=["person"], name="consent_person")]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "sector"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_one_valid_per_sector",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.get_sector_display()}"


class ProhibitionScope(models.TextChoices):
    ALL_DATA = "all_data", _("all my patient data")
    SERVICE_EVENT = "service_event", _("one service event")
    COUNTY = "county", _("one wellbeing services county")
    REGISTER = "register", _("one register of a provider")
    OCCUPATIONAL_HEALTH = "occupational_health", _("a private occupational health register")


class Prohibition(Declaration):
    """A denial of disclosure of health data; it never limits the controller's own register."""

    scope = models.CharField(_("covers"), max_length=20, choices=ProhibitionScope.choices)
    service_event = models.ForeignKey(
        ServiceEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    register = models.ForeignKey(Register, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    emergency_permission = models.BooleanField(
        _("allow in an emergency"),
        default=False,
        help_text=_(
            "If I am unconscious or in a comparable state, the data may be used despite this prohibition."
        ),
    )

    class Meta:
        verbose_name = _("prohibition")
        verbose_name_plural = _("prohibitions")
        indexes = [models.Index(fields=["person"], name="prohibition_person")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        scope="all_data",
                        service_event__isnull=True,
                        organisation__isnull=True,
                        register__isnull=True,
                    )
                    | Q(scope="service_event", service_event__isnull=False)
                    | Q(scope="county", organisation__isnull=False)
                    | Q(scope__in=["register", "occupational_health"], register__isnull=False)
                ),
                name="prohibition_target_matches_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.get_scope_display()}"


class ResearchContactProhibition(Declaration):
    """No contact about significant findings of register-based research."""

    class Meta:
        verbose_name = _("research contact prohibition")
        verbose_name_plural = _("research contact prohibitions")

    def __str__(self) -> str:
        return str(self.person)


class LivingWill(Declaration):
    """Hoitotahto: free text. An edit is a new row; the previous one is withdrawn (history kept)."""

    text = models.TextField(_("living will"))

    class Meta:
        verbose_name = _("living will")
        verbose_name_plural = _("living wills")
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(withdrawn_at__isnull=True), name="living_will_one_current"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.made_at:%d.%m.%Y}"


class OrganDonationWill(Declaration):
    """Elinluovutustahto: yes or no, with optional restrictions."""

    consents_to_donation = models.BooleanField(_("I consent to organ and tissue donation"))
    restrictions = models.TextField(_("restrictions"), blank=True)

    class Meta:
        verbose_name = _("organ donation will")
        verbose_name_plural = _("organ donation wills")
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(withdrawn_at__isnull=True),
                name="organ_donation_will_one_current",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.made_at:%d.%m.%Y}"


class MandateScope(models.TextChoices):
    HEALTH_CARE = "health_care", _("managing health care matters")
    PRESCRIPTIONS = "prescriptions", _("prescriptions only")


class Mandate(models.Model):
    """An adult acts for another adult within a scope and period (like a Suomi.fi e-authorization)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    principal = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="mandates_given")
    agent = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="mandates_held")
    scope = models.CharField(_("scope"), max_length=16, choices=MandateScope.choices)
    starts_on = models.DateField(_("valid from"))
    ends_on = models.DateField(_("valid until"))

    class Meta:
        verbose_name = _("mandate")
        verbose_name_plural = _("mandates")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="mandate_period"),
            models.CheckConstraint(condition=~Q(principal=models.F("agent")), name="mandate_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.agent} → {self.principal}"


class PrescriptionDenial(Declaration):
    """A denial of disclosure of one prescription: pharmacies do not find it by identity code.

    Its prescriber and a professional renewing it still see it; the emergency permission of any of the
    person's denials lets emergency care see all of them (kanta-reference.md 1.6).
    """

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="+")
    emergency_permission = models.BooleanField(_("allow in an emergency"), default=False)

    class Meta:
        verbose_name = _("prescription denial")
        verbose_name_plural = _("prescription denials")
        indexes = [models.Index(fields=["person"], name="prescription_denial_person")]
        constraints = [
            models.UniqueConstraint(
                fields=["prescription"],
                condition=Q(withdrawn_at__isnull=True),
                name="prescription_denial_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.prescription}"
