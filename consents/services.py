"""Write use cases of a person's declarations: the information notice, disclosure consents, prohibitions,
the research-contact prohibition, the living will and organ donation will, and mandates.

Every service runs in one transaction: it checks who is acting (the person themself or a mandate holder,
never a guardian for a child: consents.policy.may_make_declarations), takes the person's row lock so that a
double-submitted form cannot race past the one-current constraints, writes, and records one audit event
(category CHANGE) in the same transaction. A rule that says no raises RuleViolation before anything is
written.

Nothing is deleted: a withdrawal sets withdrawn_at/by/channel, and saving a new version of a will withdraws
the previous one at the same instant, so the history keeps who did what, when and through which channel.
A request that changes nothing (a second acknowledgement, a consent already valid, an unchanged will) writes
nothing and is not audited.

Rules: DOMAIN.md, "Consents, prohibitions and declarations of intent" and rule 8 of "Who may see what".
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.db import transaction
from django.db.models import Count, Model
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from archive import selectors as archive
from archive.models import ServiceEvent
from consents import policy
from consents.models import (
    Channel,
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

# CURRENT_NOTICE_VERSION lives in selectors (the overview needs it too) and is used here under the same name.
from consents.selectors import CURRENT_NOTICE_VERSION, prohibition_target_label
from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import (
    AuditCategory,
    DataType,
    LegalBasis,
    Organisation,
    OrganisationKind,
    Person,
    Register,
    RegisterKind,
    localized_name,
)
from prescriptions.models import Prescription

LIVING_WILL_MAX_LENGTH = 10_000
DONATION_RESTRICTIONS_MAX_LENGTH = 2_000  # (chosen) a few sentences of additional information
ADULT_AGE = 18

_OBJECT_TYPES: dict[type[Model], str] = {
    InformationNotice: "information_notice",
    DisclosureConsent: "disclosure_consent",
    Prohibition: "prohibition",
    ResearchContactProhibition: "research_contact_prohibition",
    LivingWill: "living_will",
    OrganDonationWill: "organ_donation_will",
    Mandate: "mandate",
    PrescriptionDenial: "prescription_denial",
}


# -- shared steps --------------------------------------------------------------------------------------------


def _authorize(*, actor: audit.Actor, person: Person, acting_person: Person, channel: str) -> str:
    """The legal basis of the change (own or mandate), or RuleViolation saying who may not."""
    if channel not in Channel.values:
        raise RuleViolation(_("Unknown channel."), code="channel")
    if channel == Channel.UNIT and actor.unit is None:
        raise RuleViolation(
            _("Choose the unit you work in before recording a declaration on the person's behalf."),
            code="unit_required",
        )
    if person.is_deceased:
        raise RuleViolation(
            _("The declarations of a deceased person can no longer be changed."), code="deceased"
        )
    if policy.may_make_declarations(viewer=acting_person, person=person):
        return LegalBasis.SELF if acting_person.pk == person.pk else LegalBasis.MANDATE
    if policy.acting_basis(viewer=acting_person, person=person) == LegalBasis.GUARDIAN:
        raise RuleViolation(
            _(
                "A guardian cannot make or withdraw consents, prohibitions or declarations of intent for a "
                "child. The child can make them at a health care unit, where a professional assesses their "
                "capacity to decide."
            ),
            code="guardian",
        )
    raise RuleViolation(
        _("You cannot make declarations for this person: you hold no valid mandate from them."),
        code="no_mandate",
    )


def _lock_person(person: Person) -> None:
    # One writer of a person's declarations at a time: the partial unique constraints (one valid consent per
    # sector, one current will) then never surface as an IntegrityError from two tabs or a double submit.
    list(Person.objects.select_for_update().filter(pk=person.pk).values_list("pk", flat=True))


def _require_notice(person: Person) -> None:
    acknowledged = InformationNotice.objects.filter(
        person=person, version=CURRENT_NOTICE_VERSION, withdrawn_at__isnull=True
    ).exists()
    if not acknowledged:
        raise RuleViolation(
            _("Read and acknowledge the Kanta information notice before giving a consent or a prohibition."),
            code="notice_required",
        )


def _made(*, actor: audit.Actor, channel: str, at: datetime.datetime) -> dict:
    return {
        "made_at": at,
        "made_by": actor.user,
        "channel": channel,
        # where a professional recorded it on the person's behalf
        "unit": actor.unit if channel == Channel.UNIT else None,
    }


def _withdraw(declaration, *, actor: audit.Actor, channel: str, at: datetime.datetime) -> None:
    declaration.withdrawn_at = at
    declaration.withdrawn_by = actor.user
    declaration.withdrawal_channel = channel
    declaration.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_channel"])


def _record(
    *,
    actor: audit.Actor,
    person: Person,
    action: str,
    obj: Model,
    basis: str,
    channel: str = "",
    data_type: str = DataType.PATIENT,
) -> None:
    audit.record(
        actor=actor,
        action=action,
        category=AuditCategory.CHANGE,
        person=person,
        data_type=data_type,
        object_type=_OBJECT_TYPES[type(obj)],
        object_ids=[obj.public_id],
        legal_basis=basis,
        purpose=channel,
    )


_NEWLINES = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs"}  # controls, format characters (zero-width, bidi), lone surrogates
_KEPT = {"\n", "\t"}


def clean_pasted_text(text: str) -> str:
    """Text as a person meant it: without the invisible characters pasted text carries.

    Word processors and web pages leave zero-width spaces, soft hyphens, byte-order marks, direction marks and
    other control characters in copied text; they are invisible, can hide or reorder what a reader sees, and
    break printing. Line breaks of every flavour become one newline; newlines and tabs stay. NFC keeps "ä" one
    character however the source composed it.
    """
    text = _NEWLINES.sub("\n", unicodedata.normalize("NFC", text or ""))
    kept = (ch for ch in text if ch in _KEPT or unicodedata.category(ch) not in _INVISIBLE_CATEGORIES)
    return "".join(kept).replace("\ufffc", "").strip()  # U+FFFC: an image left behind by a rich-text copy


def _check_length(text: str, *, limit: int, field_name: str) -> None:
    if len(text) > limit:
        raise RuleViolation(
            _("The text can be at most %(limit)s characters long; it now has %(length)s.")
            % {
                "limit": formats.number_format(limit, force_grouping=True),
                "length": formats.number_format(len(text), force_grouping=True),
            },
            code="too_long",
            field=field_name,
        )


# -- information notice --------------------------------------------------------------------------------------


def notice_acknowledge(
    *, actor: audit.Actor, person: Person, acting_person: Person, channel: str = Channel.MYKANTA
) -> InformationNotice:
    """The person has read the current Kanta information notice. Acknowledging it again changes nothing."""
    with transaction.atomic():
        basis = _authorize(actor=actor, person=person, acting_person=acting_person, channel=channel)
        _lock_person(person)
        existing = (
            InformationNotice.objects.filter(
                person=person, version=CURRENT_NOTICE_VERSION, withdrawn_at__isnull=True
            )
            .order_by("made_at")
            .first()
        )
        if existing is not None:
            return existing
        notice = InformationNotice.objects.create(
            person=person,
            version=CURRENT_NOTICE_VERSION,
            **_made(actor=actor, channel=channel, at=timezone.now()),
        )
        _record(
            actor=actor, person=person, action="notice.acknowledge", obj=notice, basis=basis, channel=channel
        )
    return notice


# -- disclosure consents -------------------------------------------------------------------------------------


def _consent_data_type(sector: str) -> str:
    return DataType.SOCIAL_WELFARE if sector == ConsentSector.SOCIAL_WELFARE else DataType.PATIENT


def consent_give(
    *,
    actor: audit.Actor,
    person: Person,
    acting_person: Person,
    sector: str,
    channel: str = Channel.MYKANTA,
) -> DisclosureConsent:
    """Consent to disclosure in one sector (or across sectors in one direction), valid until withdrawn.

    Giving a consent that is already valid returns it unchanged.
    """
    with transaction.atomic():
        basis = _authorize(actor=actor, person=person, acting_person=acting_person, channel=channel)
        if sector not in ConsentSector.values:
            raise RuleViolation(_("Choose the sector the consent covers."), code="sector", field="sector")
        _lock_person(person)
        _require_notice(person)
        existing = DisclosureConsent.objects.filter(
            person=person, sector=sector, withdrawn_at__isnull=True
        ).first()
        if existing is not None:
            return existing
        consent = DisclosureConsent.objects.create(
            person=person, sector=sector, **_made(actor=actor, channel=channel, at=timezone.now())
        )
        _record(
            actor=actor,
            person=person,
            action="consent.give",
            obj=consent,
            basis=basis,
            channel=channel,
            data_type=_consent_data_type(sector),
        )
    return consent


def consent_withdraw(
    *,
    actor: audit.Actor,
    person: Person,
    acting_person: Person,
    consent: DisclosureConsent,
    channel: str = Channel.MYKANTA,
) -> DisclosureConsent:
    """Withdraw a consent; the row stays with who withdrew it, when and how.

    No notice is needed: withdrawing only narrows what is disclosed.
    """
    with transaction.atomic():
        basis = _authorize(actor=actor, person=person, acting_person=acting_person, channel=channel)
        _lock_person(person)
        # Re-read under the lock: the object the caller holds may be stale, or another person's.
        current = DisclosureConsent.objects.filter(pk=consent.pk, person=person).first()
        if current is None:
            raise RuleViolation(_("There is no such consent."), code="not_found")
        if current.withdrawn_at is not None:
            raise RuleViolation(_("This consent has already been withdrawn."), code="already_withdrawn")
        _withdraw(current, actor=actor, channel=channel, at=timezone.now())
        _record(
            actor=actor,
            person=person,
            action="consent.withdraw",
            obj=current,
            basis=basis,
            channel=channel,
            data_type=_consent_data_type(current.sector),
        )
    return current


# -- prohibitions --------------------------------------------------------------------------------------------


def _check_target(
    *,
    person: Person,
    scope: str,
    service_event: ServiceEvent | None,
    organisation: Organisation | None,
    register: Register | None,
) -> None:
    """The target must fit the scope; prohibitions concern health data only (DOMAIN.md)."""
    if scope not in ProhibitionScope.values:
        raise RuleViolation(_("Choose what the prohibition covers."), code="scope", field="scope")
    needed = {
        ProhibitionScope.ALL_DATA: None,
        ProhibitionScope.SERVICE_EVENT: "service_event",
        ProhibitionScope.COUNTY: "organisation",
        ProhibitionScope.REGISTER: "register",
        ProhibitionScope.OCCUPATIONAL_HEALTH: "register",
    }[scope]
    given = {
        name
        for name, value in (
            ("service_event", service_event),
            ("organisation", organisation),
            ("register", register),
        )
        if value is not None
    }
    if given - {needed}:
        raise RuleViolation(
            _("A prohibition of this kind covers only its own target; choose one target."),
            code="target",
            field="scope",
        )
    match scope:
        case ProhibitionScope.SERVICE_EVENT:
            if service_event is None:
                raise RuleViolation(
                    _("Choose the service event the prohibition covers."),
                    code="target",
                    field="service_event",
                )
            if service_event.person_id != person.pk:
                raise RuleViolation(
                    _("The service event is not one of this person's service events."),
                    code="target",
                    field="service_event",
                )
            if service_event.register.kind not in policy.HEALTH_REGISTERS:
                raise RuleViolation(
                    _("Prohibitions cover health data; this service event is in a social welfare register."),
                    code="target",
                    field="service_event",
                )
        case ProhibitionScope.COUNTY:
            if organisation is None:
                raise RuleViolation(
                    _("Choose the wellbeing services county the prohibition covers."),
                    code="target",
                    field="organisation",
                )
            if organisation.kind != OrganisationKind.COUNTY:
                raise RuleViolation(
                    _(
                        "“%(name)s” is not a wellbeing services county. For a private provider, choose a "
                        "prohibition of one of its registers."
                    )
                    % {"name": organisation.name},
                    code="target",
                    field="organisation",
                )
        case ProhibitionScope.REGISTER:
            if register is None:
                raise RuleViolation(
                    _("Choose the register the prohibition covers."), code="target", field="register"
                )
            if register.kind not in policy.HEALTH_REGISTERS:
                raise RuleViolation(
                    _(
                        "Prohibitions cover health data: choose a health care or occupational health care "
                        "register."
                    ),
                    code="target",
                    field="register",
                )
        case ProhibitionScope.OCCUPATIONAL_HEALTH:
            if register is None:
                raise RuleViolation(
                    _("Choose the occupational health care register the prohibition covers."),
                    code="target",
                    field="register",
                )
            private_occupational = (
                register.kind == RegisterKind.OCCUPATIONAL_HEALTH
                and register.controller.kind == OrganisationKind.PRIVATE_HEALTH
            )
            if not private_occupational:
                raise RuleViolation(
                    _(
                        "This prohibition covers the occupational health care register of a private provider; "
                        "“%(register)s” is not one. For a wellbeing services county's register, choose a "
                        "prohibition of one register."
                    )
                    % {"register": prohibition_target_label(scope=scope, register=register)},
                    code="target",
                    field="register",
                )


def prohibition_add(
    *,
    actor: audit.Actor,
    person: Person,
    acting_person: Person,
    scope: str,
    service_event: ServiceEvent | None = None,
    organisation: Organisation | None = None,
    register: Register | None = None,
    emergency_permission: bool = False,
    channel: str = Channel.MYKANTA,
) -> Prohibition:
    """Prohibit disclosure of the health data the scope and target name (existing and future data)."""
    with transaction.atomic():
        basis = _authorize(actor=actor, person=person, acting_person=acting_person, channel=channel)
        _check_target(
            person=person,
            scope=scope,
            service_event=service_event,
            organisation=organisation,
            register=register,
        )
        _lock_person(person)
        _require_notice(person)
        active = Prohibition.objects.filter(person=person, withdrawn_at__isnull=True)
        match scope:
            case ProhibitionScope.ALL_DATA:
                duplicate = active.filter(scope=scope)
            case ProhibitionScope.SERVICE_EVENT:
                duplicate = active.filter(scope=scope, service_event=service_event)
            case ProhibitionScope.COUNTY:
                duplicate = active.filter(scope=scope, organisation=organisation)
            case _:  # a register, whichever of the two register scopes named it
                duplicate = active.filter(register=register)
        if duplicate.exists():
            raise RuleViolation(
                _(
                    "A prohibition covering %(target)s is already in force. To change its emergency "
                    "permission, withdraw it and make a new one."
                )
                % {
                    "target": prohibition_target_label(
                        scope=scope, service_event=service_event, organisation=organisation, register=register
                    )
                },
                code="duplicate",
            )
        prohibition = Prohibition.objects.create(
            person=person,
            scope=scope,
            service_event=service_event,
            organisation=organisation,
            register=register,
            emergency_permission=emergency_permission,
            **_made(actor=actor, channel=channel, at=timezone.now()),
        )
        _record(
            actor=actor,
            person=person,
            action="prohibition.add",
            obj=prohibition,
            basis=basis,
            channel=channel,
        )
    return prohibition


def prohibition_withdraw(
    *,
    actor: audit.Actor,
    person: Person,
    acting_person: Person,
    prohibition: Prohibition,
    channel: str = Channel.MYKANTA,
) -> Prohibition:
    """Withdraw a prohibition; the row stays. No notice is needed to withdraw."""
    with transaction.atomic():
        basis = _authorize(actor=actor, person=person, acting_person=acting_person, channel=channel)
        _lock_person(person)
        current = Prohibition.objects.filter(pk=prohibition.pk, person=person).first()
        if current is None:
            raise RuleViolation(_("There is no such prohibition."), code="not_found")
        if current.withdrawn_at is not None:
            raise RuleViolation(_("This prohibition has already been withdrawn."), code="already_withdrawn")
        _withdraw(current, actor=actor, channel=channel, at=timezone.now())
        _record(
            actor=actor,
            person=person,
            action="prohibition.withdraw",
            obj=current,
            basis=basis,
            channel=channel,
        )
    return current


@dataclass(frozen=True)
class PreviewRegister:
    """One register holding documents the prohibition would cover."""

    controller_name: str
    kind: str
    document_count: int

    @property
    def kind_label(self) -> str:
        return str(RegisterKind(self.kind).label)

    @property
    def label(self) -> str:
        return _("%(controller)s, %(kind)s register") % {
            "controller": self.controller_name,
            "kind": self.kind_label,
        }


@dataclass(frozen=True)
class PreviewResult:
    """What a prohibition would hide from whom, before it is saved."""

    scope: str
    covers: str  # what the prohibition covers, in words
    document_count: int
    registers: list[PreviewRegister] = field(default_factory=list)
    hidden_from: str = ""  # who could no longer see the documents
    still_visible_to: list[str] = field(default_factory=list)  # who still could, and when


def _covers_sentence(
    *,
    scope: str,
    service_event: ServiceEvent | None,
    organisation: Organisation | None,
    register: Register | None,
) -> str:
    match scope:
        case ProhibitionScope.ALL_DATA:
            return _(
                "All your patient data in health care and occupational health care, now and in the future. "
                "Social welfare data is not affected."
            )
        case ProhibitionScope.SERVICE_EVENT:
            return _(
                "The documents of %(target)s, including those recorded later in the same service event."
            ) % {"target": prohibition_target_label(scope=scope, service_event=service_event)}
        case ProhibitionScope.COUNTY:
            return _(
                "The patient data recorded by %(county)s in its health care and occupational health care "
                "registers, now and in the future."
            ) % {"county": organisation.name}
    return _("The patient data in the register of %(register)s, now and in the future.") % {
        "register": prohibition_target_label(scope=scope, register=register)
    }


def prohibition_preview(
    *,
    person: Person,
    scope: str,
    service_event: ServiceEvent | None = None,
    organisation: Organisation | None = None,
    register: Register | None = None,
) -> PreviewResult:
    """Before saving: how many of the person's documents the prohibition would cover, in which registers, and
    who could no longer see them. A pure read: one aggregate query (plus the target's register when a
    service event or register is not loaded with it).

    The coverage is the disclosure gate's own condition, so the preview and the gate cannot disagree. The
    count is of documents MyKanta shows the person: a document whose display is still delayed, or special
    content, is covered too but is not revealed by a count.
    """
    _check_target(
        person=person, scope=scope, service_event=service_event, organisation=organisation, register=register
    )
    unsaved = Prohibition(
        person=person, scope=scope, service_event=service_event, organisation=organisation, register=register
    )
    covered = policy._covered_by([unsaved])
    rows = (
        archive.current_documents(person=person)
        .filter(policy._shown_in_mykanta(timezone.localdate()))
        .filter(covered)
        .order_by()
        .values(
            "register_id", "register__kind", "register__controller__name_fi", "register__controller__name_sv"
        )
        .annotate(document_count=Count("id"))
    )
    registers = [
        PreviewRegister(
            controller_name=localized_name(
                SimpleNamespace(
                    name_fi=row["register__controller__name_fi"], name_sv=row["register__controller__name_sv"]
                )
            ),
            kind=row["register__kind"],
            document_count=row["document_count"],
        )
        for row in rows
    ]
    registers.sort(key=lambda r: (-r.document_count, r.controller_name, r.kind))
    return PreviewResult(
        scope=scope,
        covers=_covers_sentence(
            scope=scope, service_event=service_event, organisation=organisation, register=register
        ),
        document_count=sum(r.document_count for r in registers),
        registers=registers,
        hidden_from=_(
            "Other wellbeing services counties and private providers could no longer see these documents, and "
            "neither could the other registers of the provider that recorded them (for example its "
            "occupational health care)."
        ),
        still_visible_to=[
            _(
                "The provider that recorded the documents still sees them in its own register when treating you."
            ),
            _(
                "A provider producing services that the recording provider has bought (under a purchased-service "
                "authorization) still sees them."
            ),
            _(
                "In an emergency, for example if you are unconscious, they can be used only if you give "
                "emergency permission with the prohibition."
            ),
        ],
    )


# -- research-contact prohibition ----------------------------------------------------------------------------


def research_contact_prohibition_set(
    *,
    actor: audit.Actor,
    person: Person,
    acting_person: Person,
    prohibited: bool,
    channel: str = Channel.MYKANTA,
) -> ResearchContactProhibition | None:
    """Forbid (or allow again) contact about significant findings of register-based research.

    Returns the prohibition in force, or None. Setting what is already set changes nothing.
    """
    with transaction.atomic():
        basis = _authorize(actor=actor, person=person, acting_person=acting_person, channel=channel)
        _lock_person(person)
        current = ResearchContactProhibition.objects.filter(person=person, withdrawn_at__isnull=True).first()
        if prohibited:
            if current is not None:
                return current
            _require_notice(person)
            current = ResearchContactProhibition.objects.create(
                person=person, **_made(actor=actor, channel=channel, at=timezone.now())
            )
            _record(
                actor=actor,
                person=person,
                action="research_contact_prohibition.set",
                obj=current,
                basis=basis,
                channel=channel,
            )
            return current
        if current is not None:
            _withdraw(current, actor=actor, channel=channel, at=timezone.now())
            _record(
                actor=actor,
                person=person,
                action="research_contact_prohibition.withdraw",
                obj=current,
                basis=basis,
                channel=channel,
            )
    return None


# -- declarations of intent ----------------------------------------------------------------------------------


def living_will_save(
    *, actor: audit.Actor, person: Person, acting_person: Person, text: str, channel: str = Channel.MYKANTA
) -> LivingWill:
    """Save the living will as a new version; the previous one is withdrawn at the same instant (kept).

    Saving the same text again changes nothing.
    """
    with transaction.atomic():
        basis = _authorize(actor=actor, person=person, acting_person=acting_person, channel=channel)
        cleaned = clean_pasted_text(text)
        if not cleaned:
            raise RuleViolation(_("Write your living will before saving it."), code="required", field="text")
        _check_length(cleaned, limit=LIVING_WILL_MAX_LENGTH, field_name="text")
        _lock_person(person)
        current = LivingWill.objects.filter(person=person, withdrawn_at__isnull=True).first()
        if current is not None and current.text == cleaned:
            return current
        now = timezone.now()
        if current is not None:
            _withdraw(current, actor=actor, channel=channel, at=now)
        will = LivingWill.objects.create(
            person=person, text=cleaned, **_made(actor=actor, channel=channel, at=now)
        )
        _record(actor=actor, person=person, action="living_will.save", obj=will, basis=basis, channel=channel)
    return will


def living_will_delete(
    *, actor: audit.Actor, person: Person, acting_person: Person, channel: str = Channel.MYKANTA
) -> LivingWill:
    """Delete the living will as the person sees it: withdrawn, the row kept for history."""
    with transaction.atomic():
        basis = _authorize(actor=actor, person=person, acting_person=acting_person, channel=channel)
        _lock_person(person)
        current = LivingWill.objects.filter(person=person, withdrawn_at__isnull=True).first()
        if current is None:
            raise RuleViolation(_("There is no living will to delete."), code="not_found")
        _withdraw(current, actor=actor, channel=channel, at=timezone.now())
        _record(
            actor=actor, person=person, action="living_will.delete", obj=current, basis=basis, channel=channel
        )
    return current


def organ_donation_will_save(
    *,
    actor: audit.Actor,
    person: Person,
    acting_person: Person,
    consents_to_donation: bool,
    restrictions: str = "",
    channel: str = Channel.MYKANTA,
) -> OrganDonationWill:
    """Save the organ donation will (yes or no, optional restrictions) as a new version, like the living will."""
    with transaction.atomic():
        basis = _authorize(actor=actor, person=person, acting_person=acting_person, channel=channel)
        cleaned = clean_pasted_text(restrictions)
        _check_length(cleaned, limit=DONATION_RESTRICTIONS_MAX_LENGTH, field_name="restrictions")
        _lock_person(person)
        current = OrganDonationWill.objects.filter(person=person, withdrawn_at__isnull=True).first()
        if (
            current is not None
            and current.consents_to_donation == consents_to_donation
            and current.restrictions == cleaned
        ):
            return current
        now = timezone.now()
        if current is not None:
            _withdraw(current, actor=actor, channel=channel, at=now)
        will = OrganDonationWill.objects.create(
            person=person,
            consents_to_donation=consents_to_donation,
            restrictions=cleaned,
            **_made(actor=actor, channel=channel, at=now),
        )
        _record(
            actor=actor,
            person=person,
            action="organ_donation_will.save",
            obj=will,
            basis=basis,
            channel=channel,
        )
    return will


def organ_donation_will_delete(
    *, actor: audit.Actor, person: Person, acting_person: Person, channel: str = Channel.MYKANTA
) -> OrganDonationWill:
    """Withdraw the organ donation will; the row stays for history."""
    with transaction.atomic():
        basis = _authorize(actor=actor, person=person, acting_person=acting_person, channel=channel)
        _lock_person(person)
        current = OrganDonationWill.objects.filter(person=person, withdrawn_at__isnull=True).first()
        if current is None:
            raise RuleViolation(_("There is no organ donation will to delete."), code="not_found")
        _withdraw(current, actor=actor, channel=channel, at=timezone.now())
        _record(
            actor=actor,
            person=person,
            action="organ_donation_will.delete",
            obj=current,
            basis=basis,
            channel=channel,
        )
    return current


# -- mandates (entered by administrators, like Suomi.fi e-authorizations) -----------------------------------


def _require_permission(actor: audit.Actor, permission: str) -> None:
    if actor.user is None or not actor.user.has_perm(permission):
        raise RuleViolation(_("Only administrators may enter mandates."), code="permission")


def mandate_validate(
    *,
    principal: Person,
    agent: Person,
    scope: str,
    starts_on: datetime.date,
    ends_on: datetime.date,
    mandate: Mandate | None = None,
) -> None:
    """The rules of a mandate, for the services and for the admin form that shows them as form errors."""
    today = timezone.localdate()
    if principal.pk == agent.pk:
        raise RuleViolation(_("A person cannot hold a mandate from themself."), code="self", field="agent")
    if scope not in MandateScope.values:
        raise RuleViolation(_("Choose the mandate's scope."), code="scope", field="scope")
    if ends_on < starts_on:
        raise RuleViolation(
            _("The mandate must end on or after the day it starts."), code="period", field="ends_on"
        )
    if mandate is None and ends_on < today:
        raise RuleViolation(_("The mandate's period has already ended."), code="period", field="ends_on")
    for role, who in (("principal", principal), ("agent", agent)):
        if who.is_deceased:
            raise RuleViolation(
                _("%(name)s has died.") % {"name": who.full_name}, code="deceased", field=role
            )
        # adult both now and when the mandate starts: a child is acted for by a guardian, not by mandate
        if who.age_on(min(today, starts_on)) < ADULT_AGE:
            raise RuleViolation(
                _("%(name)s is under 18: a mandate is given by an adult to an adult.")
                % {"name": who.full_name},
                code="minor",
                field=role,
            )
    overlapping = Mandate.objects.filter(
        principal=principal, agent=agent, scope=scope, starts_on__lte=ends_on, ends_on__gte=starts_on
    )
    if mandate is not None:
        overlapping = overlapping.exclude(pk=mandate.pk)
    if overlapping.exists():
        raise RuleViolation(
            _("A mandate of the same scope between these persons already covers part of this period."),
            code="overlap",
            field="starts_on",
        )


def mandate_create(
    *,
    actor: audit.Actor,
    principal: Person,
    agent: Person,
    scope: str,
    starts_on: datetime.date,
    ends_on: datetime.date,
) -> Mandate:
    """An administrator enters a mandate: `agent` may act for `principal` within `scope` during the period."""
    _require_permission(actor, "consents.add_mandate")
    with transaction.atomic():
        _lock_person(principal)
        mandate_validate(principal=principal, agent=agent, scope=scope, starts_on=starts_on, ends_on=ends_on)
        mandate = Mandate.objects.create(
            principal=principal, agent=agent, scope=scope, starts_on=starts_on, ends_on=ends_on
        )
        _record(actor=actor, person=principal, action="mandate.create", obj=mandate, basis="")
    return mandate


def mandate_update(
    *,
    actor: audit.Actor,
    mandate: Mandate,
    scope: str,
    starts_on: datetime.date,
    ends_on: datetime.date,
) -> Mandate:
    """An administrator changes a mandate's scope or period (ending it early sets its end date).

    Who gives and who holds it never changes: that is another mandate.
    """
    _require_permission(actor, "consents.change_mandate")
    with transaction.atomic():
        current = Mandate.objects.select_for_update().select_related("principal", "agent").get(pk=mandate.pk)
        mandate_validate(
            principal=current.principal,
            agent=current.agent,
            scope=scope,
            starts_on=starts_on,
            ends_on=ends_on,
            mandate=current,
        )
        current.scope, current.starts_on, current.ends_on = scope, starts_on, ends_on
        current.save(update_fields=["scope", "starts_on", "ends_on"])
        _record(actor=actor, person=current.principal, action="mandate.update", obj=current, basis="")
    return current


# -- per-prescription denials of disclosure ------------------------------------------------------------------


def _authorize_prescription_denial(
    *, actor: audit.Actor, person: Person, acting_person: Person, channel: str
) -> str:
    """As for the other declarations: the person or a health-care mandate holder, never a guardian.

    A prescriptions-only mandate lets its holder see the prescriptions and ask for renewals, not decide who
    else sees them (chosen): a denial is a declaration like a prohibition.
    """
    try:
        return _authorize(actor=actor, person=person, acting_person=acting_person, channel=channel)
    except RuleViolation as refusal:
        if (
            refusal.code == "no_mandate"
            and policy.acting_basis(viewer=acting_person, person=person, for_prescriptions=True)
            == LegalBasis.MANDATE
        ):
            raise RuleViolation(
                _(
                    "A mandate for prescriptions only lets you see the prescriptions and ask for renewals. Denying "
                    "the disclosure of a prescription needs a mandate for managing health care matters."
                ),
                code="mandate_scope",
            ) from refusal
        raise


def _persons_prescription(person: Person, prescription: Prescription) -> Prescription:
    # Re-read: the object the caller holds may be stale, or another person's.
    current = Prescription.objects.filter(pk=prescription.pk, person=person).first()
    if current is None:
        raise RuleViolation(
            _("This prescription is not one of this person's prescriptions."),
            code="not_own",
            field="prescription",
        )
    return current


def prescription_denial_add(
    *,
    actor: audit.Actor,
    person: Person,
    acting_person: Person,
    prescription: Prescription,
    emergency_permission: bool = False,
    channel: str = Channel.MYKANTA,
) -> PrescriptionDenial:
    """Deny the disclosure of one of the person's prescriptions: pharmacies no longer find it by identity code
    and other professionals no longer see it (consents.policy, rule 6). `emergency_permission` lets emergency
    care see it; the permission of any one denial opens all of them in an emergency (kanta-reference.md 1.6).

    Needs the information notice, like every prohibition. To change the emergency permission, withdraw the
    denial and make a new one.
    """
    with transaction.atomic():
        basis = _authorize_prescription_denial(
            actor=actor, person=person, acting_person=acting_person, channel=channel
        )
        _lock_person(person)
        current = _persons_prescription(person, prescription)
        _require_notice(person)
        if PrescriptionDenial.objects.filter(prescription=current, withdrawn_at__isnull=True).exists():
            raise RuleViolation(
                _(
                    "The disclosure of this prescription is already denied. To change its emergency "
                    "permission, withdraw the denial and make a new one."
                ),
                code="duplicate",
            )
        denial = PrescriptionDenial.objects.create(
            person=person,
            prescription=current,
            emergency_permission=emergency_permission,
            **_made(actor=actor, channel=channel, at=timezone.now()),
        )
        _record(
            actor=actor,
            person=person,
            action="prescription_denial.add",
            obj=denial,
            basis=basis,
            channel=channel,
            data_type=DataType.PRESCRIPTION,
        )
    return denial


def prescription_denial_withdraw(
    *,
    actor: audit.Actor,
    person: Person,
    acting_person: Person,
    prescription: Prescription,
    channel: str = Channel.MYKANTA,
) -> PrescriptionDenial:
    """Withdraw the denial in force on one of the person's prescriptions; the row stays. No notice is needed:
    withdrawing only widens disclosure back to what rule 6 allows."""
    with transaction.atomic():
        basis = _authorize_prescription_denial(
            actor=actor, person=person, acting_person=acting_person, channel=channel
        )
        _lock_person(person)
        current = _persons_prescription(person, prescription)
        denial = PrescriptionDenial.objects.filter(
            person=person, prescription=current, withdrawn_at__isnull=True
        ).first()
        if denial is None:
            raise RuleViolation(
                _("The disclosure of this prescription is not denied, so there is nothing to withdraw."),
                code="not_found",
            )
        _withdraw(denial, actor=actor, channel=channel, at=timezone.now())
        _record(
            actor=actor,
            person=person,
            action="prescription_denial.withdraw",
            obj=denial,
            basis=basis,
            channel=channel,
            data_type=DataType.PRESCRIPTION,
        )
    return denial
