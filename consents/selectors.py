"""Reads of a person's own declarations, for MyKanta's consents pages and the unit that records them.

These are the person's own choices, not patient data disclosed to someone: the page that shows them checks
who is signed in and for whom they act (consents.policy.may_make_declarations / acting_basis). Every read
runs a fixed number of queries whatever the number of rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consents.models import (
    Channel,
    ConsentSector,
    Declaration,
    DisclosureConsent,
    InformationNotice,
    LivingWill,
    OrganDonationWill,
    Prohibition,
    ProhibitionScope,
    ResearchContactProhibition,
)
from kanta.models import Organisation, Person, Register, Unit, User

# The notice MyKanta shows now. Acknowledging an older one (1.1) does not let a person give new consents or
# prohibitions: they read and acknowledge this one first. Bump it together with the notice text.
CURRENT_NOTICE_VERSION = "2.0"

# Who made or withdrew, and where, for every declaration row that is shown
_WHO = ("made_by__person", "withdrawn_by__person", "unit__organisation")
# What a prohibition covers, named in words without a query per row
_PROHIBITION_TARGETS = (
    "service_event__register__controller",
    "organisation",
    "register__controller",
)


def prohibition_target_label(
    *,
    scope: str,
    service_event=None,
    organisation: Organisation | None = None,
    register: Register | None = None,
) -> str:
    """What a prohibition covers, in words: "all patient data", a service event, a county or a register."""
    if scope == ProhibitionScope.ALL_DATA:
        return _("all patient data")
    if scope == ProhibitionScope.SERVICE_EVENT and service_event is not None:
        return _("the service event “%(title)s” (started %(date)s, %(provider)s)") % {
            "title": service_event.title,
            "date": formats.date_format(service_event.started_on, "SHORT_DATE_FORMAT"),
            "provider": service_event.register.controller.name,
        }
    if scope == ProhibitionScope.COUNTY and organisation is not None:
        return organisation.name
    if register is not None:
        return register_label(register)
    return ProhibitionScope(scope).label if scope in ProhibitionScope.values else ""


def register_label(register: Register) -> str:
    return _("%(controller)s, %(kind)s register") % {
        "controller": register.controller.name,
        "kind": register.get_kind_display(),
    }


# -- the overview --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentRow:
    sector: str
    label: str
    consent: DisclosureConsent | None


@dataclass(frozen=True)
class DeclarationsOverview:
    """Everything currently in force for one person."""

    person: Person
    notice: InformationNotice | None
    consents: dict[str, DisclosureConsent]
    prohibitions: list[Prohibition]
    research_contact_prohibition: ResearchContactProhibition | None
    living_will: LivingWill | None
    organ_donation_will: OrganDonationWill | None

    @property
    def notice_is_current(self) -> bool:
        """Whether the person has acknowledged the notice MyKanta shows now (needed for new declarations)."""
        return self.notice is not None and self.notice.version == CURRENT_NOTICE_VERSION

    @property
    def consent_rows(self) -> list[ConsentRow]:
        """Every sector in a fixed order, with its valid consent or None."""
        return [
            ConsentRow(sector=value, label=str(label), consent=self.consents.get(value))
            for value, label in ConsentSector.choices
        ]


def declarations_overview(*, person: Person) -> DeclarationsOverview:
    """The person's current notice, consents by sector, prohibitions in force (with their targets), the
    research-contact prohibition and the current declarations of intent: six queries, whatever the history."""
    active = {"person": person, "withdrawn_at__isnull": True}
    notice = (
        InformationNotice.objects.filter(**active).select_related(*_WHO).order_by("-made_at", "-id").first()
    )
    consents = {
        consent.sector: consent
        for consent in DisclosureConsent.objects.filter(**active).select_related(*_WHO).order_by("made_at")
    }
    prohibitions = list(
        Prohibition.objects.filter(**active)
        .select_related(*_WHO, *_PROHIBITION_TARGETS)
        .order_by("-made_at", "-id")
    )
    research = (
        ResearchContactProhibition.objects.filter(**active).select_related(*_WHO).order_by("-made_at").first()
    )
    living_will = LivingWill.objects.filter(**active).select_related(*_WHO).first()
    donation_will = OrganDonationWill.objects.filter(**active).select_related(*_WHO).first()
    return DeclarationsOverview(
        person=person,
        notice=notice,
        consents=consents,
        prohibitions=prohibitions,
        research_contact_prohibition=research,
        living_will=living_will,
        organ_donation_will=donation_will,
    )


# -- the history ---------------------------------------------------------------------------------------------


class HistoryAction:
    MADE = "made"
    CHANGED = "changed"  # a new version of a living will or organ donation will replaced the previous one
    WITHDRAWN = "withdrawn"

    LABELS = {
        MADE: gettext_lazy("made"),
        CHANGED: gettext_lazy("changed"),
        WITHDRAWN: gettext_lazy("withdrawn"),
    }


@dataclass(frozen=True)
class HistoryEntry:
    """One change: a declaration made, changed or withdrawn, by whom, when and through which channel."""

    at: datetime.datetime
    action: str
    subject: str
    declaration: Declaration
    user: User | None
    channel: str
    # the unit where it was recorded on the person's behalf; withdrawals keep only their channel
    unit: Unit | None

    @property
    def action_label(self) -> str:
        return str(HistoryAction.LABELS[self.action])

    @property
    def channel_label(self) -> str:
        return str(Channel(self.channel).label) if self.channel in Channel.values else ""


def _subject(declaration: Declaration) -> str:
    match declaration:
        case InformationNotice():
            return _("Kanta information notice, version %(version)s") % {"version": declaration.version}
        case DisclosureConsent():
            return _("Consent to disclosure: %(sector)s") % {"sector": declaration.get_sector_display()}
        case Prohibition():
            return _("Prohibition of disclosure: %(target)s") % {
                "target": prohibition_target_label(
                    scope=declaration.scope,
                    service_event=declaration.service_event,
                    organisation=declaration.organisation,
                    register=declaration.register,
                )
            }
        case ResearchContactProhibition():
            return _("Prohibition of contact about research findings")
        case LivingWill():
            return _("Living will")
        case OrganDonationWill():
            if declaration.consents_to_donation:
                return _("Organ donation will: I consent to donation")
            return _("Organ donation will: I do not consent to donation")
    return str(declaration)  # pragma: no cover - every declaration model is matched above


def _history_of(rows: QuerySet, *, versioned: bool = False) -> list[HistoryEntry]:
    """Entries for one model's rows. For versioned declarations (the wills) a withdrawal at the very moment
    the next version was made is shown once, as a change, not as a withdrawal plus a new declaration."""
    rows = list(rows.order_by("made_at", "id"))
    made_times = {row.made_at for row in rows} if versioned else set()
    withdrawal_times = (
        {row.withdrawn_at for row in rows if row.withdrawn_at is not None} if versioned else set()
    )
    entries: list[HistoryEntry] = []
    for row in rows:
        subject = _subject(row)
        changed = row.made_at in withdrawal_times
        entries.append(
            HistoryEntry(
                at=row.made_at,
                action=HistoryAction.CHANGED if changed else HistoryAction.MADE,
                subject=subject,
                declaration=row,
                user=row.made_by,
                channel=row.channel,
                unit=row.unit,
            )
        )
        if row.withdrawn_at is not None and row.withdrawn_at not in made_times:
            entries.append(
                HistoryEntry(
                    at=row.withdrawn_at,
                    action=HistoryAction.WITHDRAWN,
                    subject=subject,
                    declaration=row,
                    user=row.withdrawn_by,
                    channel=row.withdrawal_channel,
                    unit=None,
                )
            )
    return entries


def declaration_history(*, person: Person) -> list[HistoryEntry]:
    """Every change to the person's declarations, newest first: six queries, one per kind of declaration."""
    mine = {"person": person}
    entries = [
        *_history_of(InformationNotice.objects.filter(**mine).select_related(*_WHO)),
        *_history_of(DisclosureConsent.objects.filter(**mine).select_related(*_WHO)),
        *_history_of(Prohibition.objects.filter(**mine).select_related(*_WHO, *_PROHIBITION_TARGETS)),
        *_history_of(ResearchContactProhibition.objects.filter(**mine).select_related(*_WHO)),
        *_history_of(LivingWill.objects.filter(**mine).select_related(*_WHO), versioned=True),
        *_history_of(OrganDonationWill.objects.filter(**mine).select_related(*_WHO), versioned=True),
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries
