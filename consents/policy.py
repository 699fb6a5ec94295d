"""The disclosure gate: the only code that decides who may see which of a person's data.

Rules 1-8 of DOMAIN.md, "Who may see what". A gate is built for one viewer and one person; building it reads
the few facts the rules need (care relationship, notice, consents, prohibitions, authorizations, guardianship,
mandates) fresh from the database, so a change applies to the very next request; rule 6 (prescriptions) reads
its facts on the gate's first prescription read. The rules become one SQL condition per legal basis; the
visible queryset and the single-item decision are the same condition, so list scoping and object checks cannot
drift apart.

Every read through a gate writes audit events in one transaction: one per legal basis and data type of what
was shown, and one per data type for what the read withheld; a viewer with no basis at all gets one refusal.
A citizen reading their own data is not a disclosure and is not logged. Anything unexpected fails closed: an
error while building the gate leaves nothing visible, an error while reading is logged as a refusal and
raised, never answered with a list that merely looks empty. docs/disclosure-gate.md explains the rules.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.http import Http404
from django.utils import timezone

from archive import selectors as archive
from archive.models import Document, PurchasedServiceAuthorization
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
)
from kanta import audit
from kanta.access import active_care_relationship
from kanta.models import (
    AuditCategory,
    AuditEvent,
    AuditOutcome,
    CareReason,
    CareRelationship,
    DataType,
    Guardianship,
    LegalBasis,
    OrganisationKind,
    Person,
    Profession,
    RegisterKind,
    Unit,
)
from prescriptions import pharmacy_selectors
from prescriptions import rules as prescription_rules
from prescriptions import selectors as prescription_selectors
from prescriptions.dispensing import DISPENSING_PROFESSIONS
from prescriptions.models import (
    Dispensing,
    Prescription,
    PrescriptionSummary,
    RenewalRequest,
    RenewalStatus,
)
from prescriptions.pharmacy_selectors import MedicationRow

logger = logging.getLogger(__name__)

HEALTH_REGISTERS = [RegisterKind.HEALTH_CARE, RegisterKind.OCCUPATIONAL_HEALTH]
GUARDIAN_FULL_VIEW_UNTIL_AGE = 10
ADULT_AGE = 18
# Organisations whose professionals read the repositories; pharmacies and outside recipients (Kela,
# Traficom) reach a person's data only through their own rules (prescriptions, forwarded certificates).
CARE_PROVIDER_KINDS = [
    OrganisationKind.COUNTY,
    OrganisationKind.PRIVATE_HEALTH,
    OrganisationKind.PRIVATE_SOCIAL,
]
# A refusal names at most this many withheld items, so that one list read cannot write a huge audit row.
WITHHELD_IDS_LOGGED = 1000
GATE_ERROR = "gate error"

# Rule 6, who reads prescriptions: prescribers (full or limited right) and medical students, who read but
# never sign, in a health care or occupational health unit of a care provider; pharmacists at a pharmacy.
PRESCRIBER_PROFESSIONS = (
    prescription_rules.PRESCRIBING_PROFESSIONS | prescription_rules.LIMITED_PRESCRIBING_PROFESSIONS
)
# `include_denied_for=CONTROLLED_PRESCRIBING`: a physician or dentist about to prescribe a narcotic or
# CNS-acting medicine also sees the person's denied narcotic and PKV prescriptions (kanta-reference.md 1.6).
CONTROLLED_PRESCRIBING = "controlled_prescribing"
EVERY_PRESCRIPTION = Q(pk__isnull=False)  # When() refuses an empty Q()


def data_type_of(register_kind: str) -> str:
    return DataType.SOCIAL_WELFARE if register_kind == RegisterKind.SOCIAL_WELFARE else DataType.PATIENT


@dataclass
class PrescriptionAccess:
    """Rule 6 for one gate: what the viewer may see of the person's prescriptions, and on which basis."""

    # (basis, condition) in order of precedence, as for documents
    rules: list[tuple[str, Q]] = field(default_factory=list)
    # the rule `include_denied_for=CONTROLLED_PRESCRIBING` adds, where this viewer may use it
    controlled: tuple[str, Q] | None = None
    # the emergency rule comes last, so its basis names only what the emergency opened
    emergency: tuple[str, Q] | None = None
    denied_ids: list[int] = field(default_factory=list)  # prescriptions under an active denial
    purpose: str = ""
    refusal: str = ""

    def rules_for(self, include_denied_for: str | None) -> list[tuple[str, Q]]:
        if include_denied_for not in (None, CONTROLLED_PRESCRIBING):
            raise ValueError(f"unknown purpose for denied prescriptions: {include_denied_for!r}")
        if not self.rules:
            return []
        rules = list(self.rules)
        if include_denied_for == CONTROLLED_PRESCRIBING and self.controlled is not None:
            rules.append(self.controlled)
        if self.emergency is not None:
            rules.append(self.emergency)
        return rules


@dataclass
class Gate:
    """What one viewer may see of one person. Build it with `for_professional` or `for_citizen`."""

    actor: audit.Actor
    person: Person
    # (basis, condition) in order of precedence: the first condition a document meets gives its basis
    rules: list[tuple[str, Q]] = field(default_factory=list)
    # An emergency gate logs every read it makes, allowed or refused, in the emergency category with the
    # professional's reason, so that the controller reviews the whole emergency session (DOMAIN.md rule 4).
    category: str = AuditCategory.ACCESS
    reason_text: str = ""
    purpose: str = ""
    may_see_declarations: bool = False
    audited: bool = True  # a citizen reading their own data is not a disclosure
    refusal: str = ""  # why nothing at all is visible, for the refusal audit event
    # the data type a refusal that names no document concerns: the viewer's own sector
    refusal_data_type: str = DataType.PATIENT
    # Rule 6 is built from these on the first prescription read, so a page of documents pays nothing for it.
    viewer: Person | None = None  # the signed-in citizen, for a gate built with `for_citizen`
    emergency_reason: str = ""
    # the active care relationship the rules were built on (professionals), for the page to show
    care_relationship: CareRelationship | None = None
    _prescription_access: PrescriptionAccess | None = field(default=None, init=False, repr=False)
    # audit events held back by `audit_batch()`, written when it ends; None writes each read's at once
    _pending_events: list[AuditEvent] | None = field(default=None, init=False, repr=False)
    # (pk, public_id, register kind) of every current document the rules hide, read once by the first read
    # that needs it; None while unread, or when there are too many to name in a refusal
    _hidden_documents: list[tuple[int, uuid.UUID, str]] | None = field(default=None, init=False, repr=False)
    _hidden_documents_read: bool = field(default=False, init=False, repr=False)

    # -- building blocks -----------------------------------------------------------------------------

    @property
    def allows_anything(self) -> bool:
        return bool(self.rules)

    def _annotated(self, queryset: QuerySet, prefix: str = "") -> QuerySet:
        """`basis` on every row: the first rule the row's document meets, or "" when none does."""
        rules = self.rules
        if prefix:
            rules = [(basis, _prefixed(condition, prefix)) for basis, condition in rules]
        return queryset.annotate(basis=_basis_case(rules))

    def _visible(self, queryset: QuerySet, prefix: str = "") -> QuerySet:
        """Annotate `basis` and keep only what some rule allows. `prefix` reaches the document of an entry."""
        if not self.rules:
            return queryset.none()
        return self._annotated(queryset, prefix).exclude(basis="")

    def _hidden_current_documents(self) -> list[tuple[int, uuid.UUID, str]] | None:
        """(pk, public_id, register kind) of the person's current documents the rules hide, read once per
        gate: the withheld documents of an unfiltered list, the hidden count, and (as an entry is as visible
        as its document) which entries can be withheld at all. None when there are more than a refusal names.
        """
        if not self._hidden_documents_read:
            base = archive.current_documents(person=self.person)
            hidden = list(
                self._annotated(base)
                .filter(basis="")
                .order_by()
                .values_list("pk", "public_id", "register__kind")[: WITHHELD_IDS_LOGGED + 1]
            )
            self._hidden_documents = hidden if len(hidden) <= WITHHELD_IDS_LOGGED else None
            self._hidden_documents_read = True
        return self._hidden_documents

    def _withheld(self, queryset: QuerySet, *, ident: str, prefix: str = "") -> list[tuple[object, str]]:
        """(id, register kind) of what the rules hide in `queryset`, for the refusal audit event."""
        if not self.rules or not self.audited:
            return []
        kind = f"{prefix}__register__kind" if prefix else "register__kind"
        hidden = self._annotated(queryset, prefix).filter(basis="").order_by()
        return list(hidden.values_list(ident, kind)[:WITHHELD_IDS_LOGGED])

    # -- reads (each one audited) ----------------------------------------------------------------------

    def documents(
        self,
        *,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
        kinds: Iterable[str] | None = None,
        social_welfare: bool | None = None,
        service_task: str | None = None,
        limit: int = 50,
        offset: int = 0,
        fields: Sequence[str] | None = None,
        action: str = "documents.list",
    ) -> list[Document]:
        """Current documents, newest first, that this viewer may see.

        `fields`: only these columns (and the relations they name) are read, for a page that shows a few of
        them; what the audit needs is always read.
        """
        try:
            base = archive.current_documents(
                person=self.person,
                since=since,
                until=until,
                kinds=kinds,
                social_welfare=social_welfare,
                service_task=service_task,
            )
            visible = self._visible(base)
            if fields is not None:
                visible = _only(visible, fields, audited=("public_id", "register__kind"))
            items = list(visible[offset : offset + limit])
            unfiltered = (since, until, kinds, social_welfare, service_task) == (None,) * 5
            hidden = self._hidden_current_documents() if unfiltered and self.rules and self.audited else None
            if hidden is not None:
                withheld = [(public_id, kind) for _pk, public_id, kind in hidden]
            else:
                withheld = self._withheld(base, ident="public_id")
        except Exception:
            self._failed(action=action, object_type="document")
            raise
        self._record_reads(items, withheld=withheld, action=action, object_type="document")
        return items

    def entries(
        self,
        model: type[Model],
        *,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
        limit: int = 200,
        fields: Sequence[str] | None = None,
        action: str = "",
    ) -> list[Model]:
        """Structured entries (diagnoses, lab results...) of current documents this viewer may see.

        `fields`: only these columns (and the relations they name) are read, as for `documents()`.
        """
        action = action or f"{model._meta.model_name}.list"
        try:
            base = archive.current_entries(model, person=self.person, since=since, until=until)
            visible = self._visible(base, prefix="document")
            if fields is not None:
                visible = _only(visible, fields, audited=("document__register__kind",))
            items = list(visible[:limit])
            hidden = self._hidden_current_documents() if self.rules and self.audited else None
            if hidden is None:
                withheld = self._withheld(base, ident="pk", prefix="document")
            elif hidden:
                # an entry is withheld exactly when its document is
                withheld = list(
                    base.filter(document_id__in=[pk for pk, _id, _kind in hidden])
                    .order_by()
                    .values_list("pk", "document__register__kind")[:WITHHELD_IDS_LOGGED]
                )
            else:
                withheld = []
        except Exception:
            self._failed(action=action, object_type=model._meta.model_name)
            raise
        self._record_reads(items, withheld=withheld, action=action, object_type=model._meta.model_name)
        return items

    def document(self, public_id: uuid.UUID | str, *, action: str = "document.view") -> Document:
        """One document version (also a superseded one: its history is part of the document)."""
        try:
            document = archive.document_with_history(person=self.person, public_id=public_id)
            # a past version is as visible as the document's current version
            current = archive.current_version(document) if document is not None else None
            visible = self._visible(Document.objects.filter(pk=current.pk)).first() if current else None
        except Exception:
            self._failed(action=action, object_type="document", object_ids=[public_id])
            raise
        if visible is None:
            data_type = data_type_of(document.register.kind) if document is not None else None
            self._refuse(action=action, object_type="document", object_ids=[public_id], data_type=data_type)
            raise Http404
        document.basis = visible.basis
        self._record_reads([document], action=action, object_type="document")
        return document

    def hidden_count(self) -> int:
        """How many current documents exist that this viewer may not see (never what they are)."""
        if self.rules and self._hidden_documents is not None:
            return len(self._hidden_documents)
        base = archive.current_documents(person=self.person).order_by()
        if not self.rules:
            return base.count()
        return self._annotated(base).filter(basis="").count()

    def declarations(self) -> tuple[LivingWill | None, OrganDonationWill | None]:
        """The living will and organ donation will: visible throughout health care (rule 5)."""
        if not self.may_see_declarations:
            self._refuse(action="declarations.view", object_type="declaration", object_ids=[])
            return None, None
        living_will = LivingWill.objects.filter(person=self.person, withdrawn_at__isnull=True).first()
        donation_will = OrganDonationWill.objects.filter(
            person=self.person, withdrawn_at__isnull=True
        ).first()
        shown = [d for d in (living_will, donation_will) if d is not None]
        if shown and self.audited:
            self._write_events(
                [
                    audit.event_for(
                        actor=self.actor,
                        action="declarations.view",
                        category=self.category,
                        person=self.person,
                        data_type=DataType.PATIENT,
                        object_type="declaration",
                        object_ids=[d.public_id for d in shown],
                        legal_basis=(
                            LegalBasis.DECLARATION if self.actor.professional else self._citizen_basis()
                        ),
                        purpose=self.purpose,
                        reason_text=self.reason_text,
                    )
                ]
            )
        return living_will, donation_will

    def _citizen_basis(self) -> str:
        return self.rules[0][0] if self.rules else LegalBasis.NONE

    # -- prescriptions (rule 6), each read audited like the document reads ------------------------------

    def prescriptions(
        self,
        *,
        include_denied_for: str | None = None,
        valid_only: bool = False,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
        with_medicine_left: bool = False,
        expiring_within_months: int | None = None,
        renewal_requested: bool = False,
        limit: int = 100,
        offset: int = 0,
        action: str = "prescriptions.list",
    ) -> list[Prescription]:
        """The person's prescriptions this viewer may see, those in force first, then newest first.

        Each carries `basis` and `under_denial`. `include_denied_for=CONTROLLED_PRESCRIBING` says the
        physician is about to prescribe a narcotic or CNS-acting medicine (see CONTROLLED_PRESCRIBING).
        """

        def base() -> QuerySet[Prescription]:
            return prescription_selectors.person_prescriptions(
                person=self.person,
                since=since,
                until=until,
                valid_only=valid_only,
                with_medicine_left=with_medicine_left,
                expiring_within_months=expiring_within_months,
                renewal_requested=renewal_requested,
            )

        return self._read_prescriptions(
            base, include_denied_for=include_denied_for, limit=limit, offset=offset, action=action
        )

    def dispensable_prescriptions(
        self,
        *,
        with_medicine_left: bool = True,
        prescribed_since: datetime.date | datetime.datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        action: str = "prescriptions.pharmacy_search",
    ) -> list[Prescription]:
        """The pharmacy's identity-code search (prescriptions.pharmacy_selectors.dispensable_for_person),
        without the prescriptions hidden from this viewer: a denied prescription is not found by identity
        code."""

        def base() -> QuerySet[Prescription]:
            return pharmacy_selectors.dispensable_for_person(
                self.person, with_medicine_left=with_medicine_left, prescribed_since=prescribed_since
            )

        return self._read_prescriptions(
            base, include_denied_for=None, limit=limit, offset=offset, action=action
        )

    def prescription(
        self,
        public_id: uuid.UUID | str,
        *,
        include_denied_for: str | None = None,
        action: str = "prescription.view",
    ) -> Prescription:
        """One of the person's prescriptions with its history, dispensings and renewal requests; 404 (and a
        refusal in the log) when it is hidden from this viewer, another person's, or missing."""
        access = self._prescriptions_access()
        try:
            rules = access.rules_for(include_denied_for)
            prescription = prescription_selectors.prescription_with_history(public_id)
            if prescription is not None and prescription.person_id != self.person.pk:
                prescription = None  # reached through another person's gate: as good as missing
            visible = (
                self._visible_prescriptions(Prescription.objects.filter(pk=prescription.pk), rules)
                .values("basis", "under_denial")
                .first()
                if prescription is not None and rules
                else None
            )
        except Exception:
            self._prescription_failed(action=action, object_ids=[public_id])
            raise
        if visible is None:
            self._refuse_prescriptions(action=action, object_ids=[public_id])
            raise Http404
        prescription.basis = visible["basis"]
        prescription.under_denial = visible["under_denial"]
        self._record_prescription_reads([prescription], action=action)
        return prescription

    def medication_list(self, *, action: str = "medication_list.view") -> list[MedicationRow]:
        """The person's current medication list (prescriptions.pharmacy_selectors.medication_list) made of
        the prescriptions this viewer may see: a hidden prescription is neither a row nor counted in one."""
        access = self._prescriptions_access()
        rules = access.rules_for(None)
        if not rules:
            self._refuse_prescriptions(action=action, object_ids=[])
            return []
        try:
            rows = pharmacy_selectors.medication_list(self.person)
            members = {p.pk: p for row in rows for p in row.prescriptions}
            bases = dict(
                self._annotated_prescriptions(Prescription.objects.filter(pk__in=list(members)), rules)
                .order_by()
                .values_list("pk", "basis")
            )
            for pk, prescription in members.items():
                prescription.basis = bases.get(pk, "")
                prescription.under_denial = pk in access.denied_ids
            shown = _visible_medication_rows(rows)
        except Exception:
            self._prescription_failed(action=action, object_ids=[])
            raise
        withheld = [p.public_id for p in members.values() if not p.basis][:WITHHELD_IDS_LOGGED]
        self._record_prescription_reads(
            [p for row in shown for p in row.prescriptions], withheld=withheld, action=action
        )
        return shown

    def prescription_hidden_count(self, *, valid_only: bool = False) -> int:
        """How many of the person's prescriptions exist that this viewer may not see (never which)."""
        base = Prescription.objects.filter(person=self.person).order_by()
        if valid_only:
            base = base.filter(status__in=prescription_selectors.VALID_STATUSES)
        rules = self._prescriptions_access().rules_for(None)
        if not rules:
            return base.count()
        return self._annotated_prescriptions(base, rules).filter(basis="").count()

    def _prescriptions_access(self) -> PrescriptionAccess:
        """Rule 6 for this gate, built on first use from fresh facts; an error leaves nothing visible."""
        if self._prescription_access is None:
            access = PrescriptionAccess()
            try:
                if self.viewer is not None:
                    _citizen_prescription_rules(self, access)
                else:
                    _professional_prescription_rules(self, access)
            except Exception:
                logger.exception("disclosure gate failed on prescriptions; refusing")
                access = PrescriptionAccess(refusal=GATE_ERROR)
            self._prescription_access = access
        return self._prescription_access

    def _annotated_prescriptions(self, queryset: QuerySet, rules: list[tuple[str, Q]]) -> QuerySet:
        denied_ids = self._prescriptions_access().denied_ids
        under_denial = (
            Case(When(pk__in=denied_ids, then=Value(True)), default=Value(False), output_field=BooleanField())
            if denied_ids
            else Value(False, output_field=BooleanField())
        )
        return queryset.annotate(basis=_basis_case(rules), under_denial=under_denial)

    def _visible_prescriptions(self, queryset: QuerySet, rules: list[tuple[str, Q]]) -> QuerySet:
        """The one condition of rule 6 for lists and single prescriptions alike."""
        if not rules:
            return queryset.none()
        return self._annotated_prescriptions(queryset, rules).exclude(basis="")

    def _read_prescriptions(
        self, base, *, include_denied_for: str | None, limit: int, offset: int, action: str
    ) -> list[Prescription]:
        access = self._prescriptions_access()
        try:
            rules = access.rules_for(include_denied_for)
            queryset = base()
            items = list(self._visible_prescriptions(queryset, rules)[offset : offset + limit])
            withheld: list = []
            if rules and self.audited:
                hidden = self._annotated_prescriptions(queryset, rules).filter(basis="").order_by()
                withheld = list(hidden.values_list("public_id", flat=True)[:WITHHELD_IDS_LOGGED])
        except Exception:
            self._prescription_failed(action=action, object_ids=[])
            raise
        self._record_prescription_reads(items, withheld=withheld, action=action)
        return items

    def _record_prescription_reads(self, items: Sequence, *, action: str, withheld: Sequence = ()) -> None:
        if not self.audited:
            return
        access = self._prescriptions_access()
        if not access.rules:
            self._refuse_prescriptions(action=action, object_ids=[])
            return
        shown: dict[tuple[str, str], list] = defaultdict(list)
        for item in items:
            shown[(item.basis, DataType.PRESCRIPTION)].append(item.public_id)
        refused = {DataType.PRESCRIPTION: list(withheld)} if withheld else {}
        self._write_reads(
            shown=shown,
            refused=refused,
            action=action,
            object_type="prescription",
            purpose=access.purpose,
            refusal=access.refusal,
        )

    def _refuse_prescriptions(self, *, action: str, object_ids: list) -> None:
        access = self._prescriptions_access()
        self._refuse(
            action=action,
            object_type="prescription",
            object_ids=object_ids,
            data_type=DataType.PRESCRIPTION,
            refusal=access.refusal,
            purpose=access.purpose,
        )

    def _prescription_failed(self, *, action: str, object_ids: list) -> None:
        logger.exception("disclosure gate failed while reading prescriptions; refusing")
        access = self._prescriptions_access()
        access.refusal = GATE_ERROR
        try:
            self._refuse_prescriptions(action=action, object_ids=object_ids)
        except Exception:
            logger.exception("disclosure gate could not log its refusal")

    # -- audit -----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def audit_batch(self, *events: AuditEvent) -> Iterator[Gate]:
        """Hold the audit events of the reads made inside the block and write them in one transaction when
        it ends, also when a read fails (its refusal is among them). A page making several reads uses this
        so that one request writes its disclosure log once; each event stays as the read would write it.
        `events` (built with `audit.event_for`, such as `kanta.access.PersonAccess.event`) are written first,
        in the same transaction."""
        if self._pending_events is not None:  # already batching: the outer block writes
            self._pending_events.extend(events)
            yield self
            return
        self._pending_events = list(events)
        failed = False
        try:
            yield self
        except BaseException:
            failed = True
            raise
        finally:
            events, self._pending_events = self._pending_events, None
            try:
                self._write_events(events)
            except Exception:
                if not failed:
                    raise
                # the read's own error goes on; this one is only logged, as in `_failed`
                logger.exception("disclosure gate could not log its reads")

    def _write_events(self, events: list[AuditEvent]) -> None:
        if not events:
            return
        if self._pending_events is not None:
            self._pending_events.extend(events)
            return
        with transaction.atomic():
            audit.record_all(events)

    def _record_reads(
        self,
        items: Sequence,
        *,
        action: str,
        object_type: str,
        withheld: Sequence[tuple[object, str]] = (),
    ) -> None:
        if not self.audited:
            return
        if not self.rules:
            # no basis at all (no care relationship, no guardianship...): one refusal, whatever exists
            self._refuse(action=action, object_type=object_type, object_ids=[])
            return
        shown: dict[tuple[str, str], list] = defaultdict(list)
        for item in items:
            document = item if isinstance(item, Document) else item.document
            ident = item.public_id if isinstance(item, Document) else item.pk
            shown[(item.basis, data_type_of(document.register.kind))].append(ident)
        refused: dict[str, list] = defaultdict(list)
        for ident, register_kind in withheld:
            refused[data_type_of(register_kind)].append(ident)
        self._write_reads(
            shown=shown, refused=refused, action=action, object_type=object_type, purpose=self.purpose
        )

    def _write_reads(
        self,
        *,
        shown: dict[tuple[str, str], list],
        refused: dict[str, list],
        action: str,
        object_type: str,
        purpose: str,
        refusal: str = "",
    ) -> None:
        """One allowed row per (basis, data type) shown and one refused row per data type withheld."""
        events = [
            audit.event_for(
                actor=self.actor,
                action=action,
                category=self.category,
                person=self.person,
                data_type=data_type,
                object_type=object_type,
                object_ids=ids,
                legal_basis=basis,
                purpose=purpose,
                reason_text=self.reason_text,
            )
            for (basis, data_type), ids in shown.items()
        ]
        events += [
            audit.event_for(
                actor=self.actor,
                action=action,
                category=self.category,
                outcome=AuditOutcome.REFUSED,
                person=self.person,
                data_type=data_type,
                object_type=object_type,
                object_ids=ids,
                legal_basis=LegalBasis.NONE,
                purpose=purpose,
                reason_text=self.reason_text or refusal,
            )
            for data_type, ids in refused.items()
        ]
        self._write_events(events)

    def _refuse(
        self,
        *,
        action: str,
        object_type: str,
        object_ids: list,
        data_type: str | None = None,
        refusal: str | None = None,
        purpose: str | None = None,
    ) -> None:
        if not self.audited:
            return
        self._write_events(
            [
                audit.event_for(
                    actor=self.actor,
                    action=action,
                    category=self.category,
                    outcome=AuditOutcome.REFUSED,
                    person=self.person,
                    data_type=data_type or self.refusal_data_type,
                    object_type=object_type,
                    object_ids=object_ids,
                    legal_basis=LegalBasis.NONE,
                    purpose=self.purpose if purpose is None else purpose,
                    # an emergency refusal keeps the professional's reason; otherwise say why nothing was shown
                    reason_text=self.reason_text or (self.refusal if refusal is None else refusal),
                )
            ]
        )

    def _failed(self, *, action: str, object_type: str, object_ids: list | None = None) -> None:
        """A read failed: log it as a refusal (if the database still lets us) before the error goes on."""
        logger.exception("disclosure gate failed while reading; refusing")
        self.refusal = GATE_ERROR
        try:
            self._refuse(action=action, object_type=object_type, object_ids=object_ids or [])
        except Exception:
            logger.exception("disclosure gate could not log its refusal")


def _only(queryset: QuerySet, fields: Sequence[str], *, audited: Sequence[str]) -> QuerySet:
    """`queryset` reading just `fields` and what the audit needs, joining only the relations they name."""
    names = list(dict.fromkeys([*fields, *audited]))
    related = sorted({name.rsplit("__", 1)[0] for name in names if "__" in name})
    return queryset.select_related(None).select_related(*related).only(*names)


def _basis_case(rules: list[tuple[str, Q]]) -> Case:
    """The first rule's basis whose condition a row meets, or "" when it meets none."""
    return Case(
        *[When(condition, then=Value(basis)) for basis, condition in rules],
        default=Value(""),
        output_field=CharField(),
    )


def _prefixed(condition: Q, prefix: str) -> Q:
    """The same condition seen from a model that points at the document through `prefix`."""
    clone = Q()
    clone.connector, clone.negated = condition.connector, condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            clone.children.append(_prefixed(child, prefix))
        else:
            lookup, value = child
            clone.children.append((f"{prefix}__{lookup}", value))
    return clone


def _fail_closed(gate: Gate) -> Gate:
    logger.exception("disclosure gate failed; refusing")
    gate.rules = []
    gate.may_see_declarations = False
    gate.refusal = GATE_ERROR
    return gate


# -- professionals (rules 1-5) -------------------------------------------------------------------------


def for_professional(
    *,
    actor: audit.Actor,
    person: Person,
    emergency_reason: str = "",
    care_relationship: CareRelationship | None = None,
) -> Gate:
    """The gate for a professional working in `actor.unit`.

    Without an active care relationship between the unit and the person nothing is visible (rule 1-2).
    `emergency_reason` (rule 4) only counts when it holds more than whitespace. `care_relationship`: the
    relationship this request has just read (kanta.access.PersonAccess), so that the gate need not read it
    again; it counts only while it is active and is the unit's with this person.
    """
    gate = Gate(actor=actor, person=person, emergency_reason=emergency_reason.strip())
    try:
        _professional_rules(gate, emergency_reason=gate.emergency_reason, care_relationship=care_relationship)
    except Exception:
        return _fail_closed(gate)
    return gate


def _care_relationship(person: Person, unit: Unit, given: CareRelationship | None) -> CareRelationship | None:
    """The active care relationship of the unit with the person: `given` if it is one, else read now."""
    if given is None:
        return active_care_relationship(person=person, unit=unit)
    if given.person_id == person.pk and given.unit_id == unit.pk and given.is_active():
        return given
    return None


def _professional_rules(
    gate: Gate, *, emergency_reason: str, care_relationship: CareRelationship | None = None
) -> None:
    actor, person = gate.actor, gate.person
    unit = actor.unit
    if actor.professional is None or unit is None:
        gate.refusal = "no professional or unit"
        return
    viewer_in_social_welfare = unit.register_kind == RegisterKind.SOCIAL_WELFARE
    if viewer_in_social_welfare:
        gate.refusal_data_type = DataType.SOCIAL_WELFARE
    # Rule 4 is a health-care rule (Patient Act §13): a social welfare unit has no emergency access.
    emergency = bool(emergency_reason) and not viewer_in_social_welfare
    if emergency:
        # set first, so that a refused emergency attempt is reviewed with the others
        gate.category = AuditCategory.EMERGENCY
        gate.reason_text = emergency_reason
    # The professional must work in the unit, and the unit must belong to a care provider: a pharmacy or an
    # outside recipient reads no records, whatever the person consented to.
    works_here = Unit.objects.filter(
        pk=unit.pk, professionals=actor.professional, organisation__kind__in=CARE_PROVIDER_KINDS
    ).exists()
    if not works_here:
        gate.refusal = "not a care provider's professional in this unit"
        return
    relationship = _care_relationship(person, unit, care_relationship)
    if relationship is None:
        gate.refusal = "no care relationship"
        return
    gate.care_relationship = relationship
    gate.purpose = relationship.reason
    today = timezone.localdate()
    organisation_id = unit.organisation_id
    gate.may_see_declarations = not viewer_in_social_welfare

    # Rule 1: the controller's own register of the kind this unit records into.
    own = Q(register__controller_id=organisation_id, register__kind=unit.register_kind)
    # Rule 3: a producer under a valid purchased-service authorization, despite prohibitions.
    authorized_registers = list(
        PurchasedServiceAuthorization.objects.filter(
            producer_id=organisation_id, starts_on__lte=today, ends_on__gte=today
        )
        .filter(Q(scope="register") | Q(scope="patient", person=person))
        .values_list("register_id", flat=True)
    )
    authorized = Q(register_id__in=authorized_registers)

    # Rule 2: disclosure from another register needs the notice, the sector consent, and no prohibition. The
    # consents count only while the notice stands: both are read in one query, no sector without the notice.
    noticed = Exists(InformationNotice.objects.filter(person=person, withdrawn_at__isnull=True))
    sectors = set(
        DisclosureConsent.objects.filter(noticed, person=person, withdrawn_at__isnull=True).values_list(
            "sector", flat=True
        )
    )
    consented_kinds = _consented_register_kinds(sectors, viewer_in_social_welfare=viewer_in_social_welfare)
    prohibitions = list(Prohibition.objects.filter(person=person, withdrawn_at__isnull=True))
    prohibited = _covered_by(prohibitions)
    prohibited_even_in_emergency = _covered_by([p for p in prohibitions if not p.emergency_permission])

    rules: list[tuple[str, Q]] = [(LegalBasis.OWN_REGISTER, own)]
    if authorized_registers:
        rules.append((LegalBasis.PURCHASED_SERVICE, authorized))
    if consented_kinds:
        rules.append((LegalBasis.CONSENT, Q(register__kind__in=consented_kinds) & ~prohibited))
    # Rule 4: emergency, with a reason: missing consent (or notice) is overridden for patient data, a
    # prohibition only where it carries the emergency permission. Social welfare data stays out (chosen).
    if emergency:
        rules.append(
            (LegalBasis.EMERGENCY, Q(register__kind__in=HEALTH_REGISTERS) & ~prohibited_even_in_emergency)
        )
    gate.rules = rules


def _consented_register_kinds(sectors: set[str], *, viewer_in_social_welfare: bool) -> list[str]:
    """Register kinds another register's data may be disclosed from, given the person's consents.

    The cross-sector consent alone opens the other sector's data (chosen): it is the person's explicit word
    on exactly that disclosure, so the other sector's own consent is not asked for as well.
    """
    kinds: list[str] = []
    if viewer_in_social_welfare:
        if ConsentSector.SOCIAL_WELFARE in sectors:
            kinds.append(RegisterKind.SOCIAL_WELFARE)
        if ConsentSector.HEALTH_TO_SOCIAL in sectors:
            kinds.extend(HEALTH_REGISTERS)
    else:
        if ConsentSector.HEALTH_CARE in sectors:
            kinds.extend(HEALTH_REGISTERS)
        if ConsentSector.SOCIAL_TO_HEALTH in sectors:
            kinds.append(RegisterKind.SOCIAL_WELFARE)
    return kinds


def _covered_by(prohibitions: list[Prohibition]) -> Q:
    """Documents the prohibitions cover. Prohibitions concern health data only, whatever they point at."""
    covered = Q(pk__in=[])
    for prohibition in prohibitions:
        match prohibition.scope:
            case ProhibitionScope.ALL_DATA:
                covered |= Q(register__kind__in=HEALTH_REGISTERS)
            case ProhibitionScope.SERVICE_EVENT:
                covered |= Q(
                    service_event_id=prohibition.service_event_id, register__kind__in=HEALTH_REGISTERS
                )
            case ProhibitionScope.COUNTY:
                covered |= Q(
                    register__controller_id=prohibition.organisation_id, register__kind__in=HEALTH_REGISTERS
                )
            case ProhibitionScope.REGISTER | ProhibitionScope.OCCUPATIONAL_HEALTH:
                covered |= Q(register_id=prohibition.register_id, register__kind__in=HEALTH_REGISTERS)
            case _:  # an unknown kind covers everything: fail closed
                covered |= Q(pk__isnull=False)
    return covered


# -- prescriptions (rule 6) -------------------------------------------------------------------------------


def _active_denials(person: Person) -> list[tuple[int, bool]]:
    """(prescription id, emergency permission) of the person's denials in force."""
    return list(
        PrescriptionDenial.objects.filter(person=person, withdrawn_at__isnull=True).values_list(
            "prescription_id", "emergency_permission"
        )
    )


def _professional_prescription_rules(gate: Gate, access: PrescriptionAccess) -> None:
    """Rule 6 for a professional: prescribers and pharmacies in a care situation, without consent.

    The disclosure consent, the information notice and the prohibitions on patient data do not apply to
    prescriptions. A prescription under a denial is hidden, except from its prescriber, from the
    professionals of the organisation that stored it, from a prescriber of a unit its open renewal request
    was sent to, in an emergency when any of the person's denials carries the emergency permission, and (on
    request) from a physician about to prescribe a narcotic or CNS-acting medicine. docs/disclosure-gate.md.
    """
    actor, person = gate.actor, gate.person
    professional, unit = actor.professional, actor.unit
    if professional is None or unit is None:
        access.refusal = "no professional or unit"
        return
    # read fresh: the unit's organisation kind and whether the professional works there
    row = (
        Unit.objects.filter(pk=unit.pk, professionals=professional)
        .values_list("organisation_id", "organisation__kind", "register_kind")
        .first()
    )
    if row is None:
        access.refusal = "not a professional of this unit"
        return
    organisation_id, organisation_kind, register_kind = row
    profession = professional.profession
    if organisation_kind == OrganisationKind.PHARMACY:
        if profession not in DISPENSING_PROFESSIONS:
            access.refusal = "not a pharmacist"
            return
        role = "pharmacy"
    elif organisation_kind in CARE_PROVIDER_KINDS and register_kind in HEALTH_REGISTERS:
        if profession in PRESCRIBER_PROFESSIONS:
            role = "prescriber"
        elif profession == Profession.MEDICAL_STUDENT:
            role = "student"  # reads in a care situation, never signs, so never renews (chosen)
        else:
            access.refusal = "profession does not read prescriptions"
            return
    else:
        # social welfare units, outside recipients
        access.refusal = "unit does not read prescriptions"
        return

    now = timezone.now()
    # A prescriber of the unit an open renewal request was sent to sees the requested prescription, even under
    # a denial and even before a care relationship: the person's request is the care contact
    # (prescriptions.services). A request past its 8 days cannot be handled any more.
    renewing = Q(
        pk__in=RenewalRequest.objects.filter(
            person=person,
            unit_id=unit.pk,
            status=RenewalStatus.SENT,
            sent_at__gt=now - datetime.timedelta(days=prescription_rules.RENEWAL_REQUEST_DAYS),
        ).values("prescription_id")
    )
    relationship = active_care_relationship(person=person, unit=unit)
    if relationship is None:
        if role != "prescriber":
            access.refusal = "no care relationship"
            return
        access.denied_ids = [pk for pk, _ in _active_denials(person)]
        access.rules = [(LegalBasis.RENEWAL, renewing)]
        access.purpose = "renewal_request"
        access.refusal = "no care relationship"  # why the rest is withheld
        return
    access.purpose = relationship.reason
    denials = _active_denials(person)
    access.denied_ids = [pk for pk, _ in denials]
    denied = Q(pk__in=access.denied_ids)
    rules: list[tuple[str, Q]] = [(LegalBasis.CARE_RELATIONSHIP, ~denied)]
    if role != "pharmacy":
        if role == "prescriber":
            rules.append((LegalBasis.PRESCRIBER, Q(prescriber_id=professional.pk)))
        # the storing organisation while the care relationship lasts (kanta-reference.md 1.6)
        rules.append((LegalBasis.OWN_REGISTER, Q(unit__organisation_id=organisation_id)))
        if role == "prescriber":
            rules.append((LegalBasis.RENEWAL, renewing))
        if profession in prescription_rules.PRESCRIBING_PROFESSIONS:
            access.controlled = (LegalBasis.CONTROLLED_MEDICINE, Q(narcotic=True) | Q(pkv=True))
        # Rule 4 for prescriptions: one emergency permission covers all of the person's denied prescriptions.
        if gate.emergency_reason and any(permission for _, permission in denials):
            access.emergency = (LegalBasis.EMERGENCY, denied)
    access.rules = rules


def _citizen_prescription_rules(gate: Gate, access: PrescriptionAccess) -> None:
    """Rule 6 in MyKanta: the person, a guardian of a child under 10, a mandate holder (health care or
    prescriptions scope). Denials limit disclosure to care, not what these see (chosen)."""
    viewer, person = gate.viewer, gate.person
    if viewer.pk == person.pk:
        basis = LegalBasis.SELF
    else:
        basis = acting_basis(viewer=viewer, person=person, for_prescriptions=True)
        if (
            basis == LegalBasis.GUARDIAN
            and person.age_on(timezone.localdate()) >= GUARDIAN_FULL_VIEW_UNTIL_AGE
        ):
            # There is no per-prescription "disclosable to guardians" mark, so from 10 on nothing (chosen).
            access.refusal = "guardian of a child aged 10 or over"
            return
        if basis not in (LegalBasis.GUARDIAN, LegalBasis.MANDATE):
            access.refusal = "no guardianship or mandate"
            return
    access.denied_ids = [pk for pk, _ in _active_denials(person)]
    access.rules = [(basis, EVERY_PRESCRIPTION)]


def _visible_medication_rows(rows: list[MedicationRow]) -> list[MedicationRow]:
    """The medication list made of visible prescriptions only (each carries `basis`, "" when hidden).

    A row holding a hidden prescription is recomputed from the visible ones, so nothing of the hidden one
    shows: not its dosage, its amount left or its dispensings. Two queries at most, only when the newest
    dispensing of a row was on a hidden prescription.
    """
    kept: list[MedicationRow] = []
    redo: list[int] = []  # rows whose newest dispensing must be looked up again
    for row in rows:
        group = tuple(p for p in row.prescriptions if p.basis)
        if not group:
            continue
        if len(group) == len(row.prescriptions):
            kept.append(row)
            continue
        visible_ids = {p.pk for p in group}
        last = row.last_dispensing
        if last is not None and last.prescription_id not in visible_ids:
            redo.append(len(kept))
            last = None
        kept.append(
            dataclasses.replace(
                row,
                active_substance=group[0].active_substance,
                strength=group[0].strength,
                prescription=group[0],
                prescriptions=group,
                amount_left=group[0].quantity_left,
                amount_left_all=sum((p.quantity_left for p in group), Decimal(0)),
                last_dispensing=last,
            )
        )
    if redo:
        newest = (
            Dispensing.objects.filter(prescription=OuterRef("pk"))
            .order_by("-dispensed_at", "-pk")
            .values("pk")[:1]
        )
        newest_ids = dict(
            Prescription.objects.filter(pk__in=[p.pk for i in redo for p in kept[i].prescriptions])
            .annotate(newest=Subquery(newest))
            .values_list("pk", "newest")
        )
        dispensings = Dispensing.objects.select_related("product", "pharmacy").in_bulk(
            [pk for pk in newest_ids.values() if pk]
        )
        for i in redo:
            candidates = [
                dispensings[newest_ids[p.pk]] for p in kept[i].prescriptions if newest_ids.get(p.pk)
            ]
            kept[i] = dataclasses.replace(
                kept[i], last_dispensing=max(candidates, key=lambda d: (d.dispensed_at, d.pk), default=None)
            )
    return kept


def _pharmacy_refusal(actor: audit.Actor) -> str:
    """Why the actor may not fetch prescriptions as a pharmacy, or "" when they may."""
    professional, unit = actor.professional, actor.unit
    if professional is None or unit is None:
        return "no professional or unit"
    if professional.profession not in DISPENSING_PROFESSIONS:
        return "not a pharmacist"
    works_at_pharmacy = Unit.objects.filter(
        pk=unit.pk, professionals=professional, organisation__kind=OrganisationKind.PHARMACY
    ).exists()
    return "" if works_at_pharmacy else "not a pharmacist of a pharmacy unit"


def _summary_refusal(
    *, actor: audit.Actor, action: str, summary: PrescriptionSummary | None, reason: str, ids
):
    audit.record_refusal(
        actor=actor,
        action=action,
        person=summary.person if summary is not None else None,
        data_type=DataType.PRESCRIPTION,
        object_type="prescription",
        object_ids=ids,
        legal_basis=LegalBasis.NONE,
        purpose=CareReason.DISPENSING,
        reason_text=reason,
    )


def for_pharmacy_summary(
    *, actor: audit.Actor, barcode: str, action: str = "prescriptions.summary"
) -> tuple[Person, list[Prescription]]:
    """A pharmacy scanned the barcode of a prescription summary: exactly the summary's prescriptions.

    Denied prescriptions included: the person brought the summary (kanta-reference.md 1.6). No care
    relationship is asked for: handing over the summary is the care situation (chosen). Each prescription
    carries `basis` "summary"; the read is audited with that basis. An unknown barcode, or a viewer who is not
    a pharmacist at a pharmacy, gets 404 and a refusal in the log.
    """
    summary = None
    try:
        summary = pharmacy_selectors.summary_by_barcode(barcode)
        refusal = _pharmacy_refusal(actor) or ("" if summary is not None else "unknown summary barcode")
        prescriptions = (
            []
            if refusal
            else [
                p for p in pharmacy_selectors.by_summary_barcode(barcode) if p.person_id == summary.person_id
            ]
        )
    except Exception:
        logger.exception("disclosure gate failed on a prescription summary; refusing")
        _summary_refusal(actor=actor, action=action, summary=summary, reason=GATE_ERROR, ids=[])
        raise
    if refusal:
        _summary_refusal(actor=actor, action=action, summary=summary, reason=refusal, ids=[])
        raise Http404
    for prescription in prescriptions:
        prescription.basis = LegalBasis.SUMMARY
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=action,
            category=AuditCategory.ACCESS,
            person=summary.person,
            data_type=DataType.PRESCRIPTION,
            object_type="prescription",
            object_ids=[p.public_id for p in prescriptions],
            legal_basis=LegalBasis.SUMMARY,
            purpose=CareReason.DISPENSING,
        )
    return summary.person, prescriptions


def summary_prescription(
    *, actor: audit.Actor, barcode: str, public_id: uuid.UUID | str, action: str = "prescription.view"
) -> Prescription:
    """One prescription of a scanned summary with its history (for dispensing it), on the same terms as
    `for_pharmacy_summary`; 404 and a refusal when it is not on the summary."""
    summary = None
    try:
        summary = pharmacy_selectors.summary_by_barcode(barcode)
        refusal = _pharmacy_refusal(actor) or ("" if summary is not None else "unknown summary barcode")
        prescription = None
        if not refusal:
            prescription = prescription_selectors.prescription_with_history(public_id)
            on_summary = (
                prescription is not None
                and prescription.person_id == summary.person_id
                and PrescriptionSummary.prescriptions.through.objects.filter(
                    prescriptionsummary_id=summary.pk, prescription_id=prescription.pk
                ).exists()
            )
            if not on_summary:
                refusal, prescription = "not on the summary", None
    except Exception:
        logger.exception("disclosure gate failed on a prescription summary; refusing")
        _summary_refusal(actor=actor, action=action, summary=summary, reason=GATE_ERROR, ids=[public_id])
        raise
    if refusal:
        _summary_refusal(actor=actor, action=action, summary=summary, reason=refusal, ids=[public_id])
        raise Http404
    prescription.basis = LegalBasis.SUMMARY
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=action,
            category=AuditCategory.ACCESS,
            person=summary.person,
            data_type=DataType.PRESCRIPTION,
            object_type="prescription",
            object_ids=[prescription.public_id],
            legal_basis=LegalBasis.SUMMARY,
            purpose=CareReason.DISPENSING,
        )
    return prescription


# -- citizens: self, guardian, mandate (rule 8) -------------------------------------------------------


def _shown_in_mykanta(today: datetime.date) -> Q:
    """What MyKanta ever shows: no special content, no display delay still running."""
    return Q(special_content=False) & (
        Q(display_delayed_until__isnull=True) | Q(display_delayed_until__lte=today)
    )


def for_citizen(*, actor: audit.Actor, viewer: Person, person: Person) -> Gate:
    """The gate for a citizen signed in as `viewer`, reading their own data or acting for `person`."""
    gate = Gate(actor=actor, person=person, viewer=viewer)
    try:
        _citizen_rules(gate, viewer=viewer)
    except Exception:
        return _fail_closed(gate)
    return gate


def _citizen_rules(gate: Gate, *, viewer: Person) -> None:
    person = gate.person
    today = timezone.localdate()
    shown = _shown_in_mykanta(today)
    if viewer.pk == person.pk:
        gate.rules = [(LegalBasis.SELF, shown)]
        gate.may_see_declarations = True
        gate.audited = False
        return
    basis = acting_basis(viewer=viewer, person=person, today=today)
    if basis == LegalBasis.GUARDIAN:
        if person.age_on(today) < GUARDIAN_FULL_VIEW_UNTIL_AGE:
            gate.rules = [(LegalBasis.GUARDIAN, shown)]
        else:
            gate.rules = [(LegalBasis.GUARDIAN, shown & Q(disclosable_to_guardians=True))]
    elif basis == LegalBasis.MANDATE:
        gate.rules = [(LegalBasis.MANDATE, shown)]
        gate.may_see_declarations = True
    else:
        gate.refusal = "no guardianship or mandate"


def acting_basis(
    *, viewer: Person, person: Person, today: datetime.date | None = None, for_prescriptions: bool = False
) -> str:
    """On what basis `viewer` may act for `person` in MyKanta: guardian, mandate, or none.

    A guardian acts for a living child under 18; a mandate holder within the mandate's health-care scope and
    period. A person with a non-disclosure order for personal safety cannot be acted for (chosen).
    `for_prescriptions`: the question is about the person's prescriptions, which a prescriptions-only mandate
    covers as well; for everything else only the health-care mandate counts.
    """
    today = today or timezone.localdate()
    if person.is_deceased or person.non_disclosure or viewer.is_deceased:
        return LegalBasis.NONE
    if person.age_on(today) < ADULT_AGE:
        is_guardian = (
            Guardianship.objects.filter(guardian=viewer, child=person, starts_on__lte=today)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
            .exists()
        )
        return LegalBasis.GUARDIAN if is_guardian else LegalBasis.NONE
    scopes = (
        [MandateScope.HEALTH_CARE, MandateScope.PRESCRIPTIONS]
        if for_prescriptions
        else [MandateScope.HEALTH_CARE]
    )
    has_mandate = Mandate.objects.filter(
        principal=person,
        agent=viewer,
        scope__in=scopes,
        starts_on__lte=today,
        ends_on__gte=today,
    ).exists()
    return LegalBasis.MANDATE if has_mandate else LegalBasis.NONE


def may_make_declarations(*, viewer: Person, person: Person) -> bool:
    """Prohibitions, consents and declarations of intent: the person themself or a mandate holder, never a
    guardian for a child (DOMAIN.md rule 8)."""
    if viewer.pk == person.pk:
        return True
    return acting_basis(viewer=viewer, person=person) == LegalBasis.MANDATE


# -- renewal requests (rule 6: the professional renewing a prescription) ---------------------------------------


def renewal_queue(*, actor: audit.Actor, requests: Iterable) -> list:
    """Renewal requests addressed to the actor's unit, as the unit's queue shows them.

    The person sent them to this unit, so its prescribers may see who asked for which medicine; each person
    whose request is listed gets their own audit event, so the read shows in their disclosure log.
    """
    items = [item for item in requests if actor.unit is not None and item.unit_id == actor.unit.pk]
    by_person: dict[int, list] = defaultdict(list)
    for item in items:
        by_person[item.person_id].append(item)
    with transaction.atomic():
        audit.record_per_person(
            actor=actor,
            reads=[
                (person_items[0].person, [i.public_id for i in person_items])
                for person_items in by_person.values()
            ],
            action="renewal_queue.view",
            category=AuditCategory.ACCESS,
            data_type=DataType.PRESCRIPTION,
            object_type="renewal_request",
            legal_basis=LegalBasis.RENEWAL,
            purpose="renewal_request",
        )
    return items
