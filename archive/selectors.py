"""Policy-free reads of the archive. Pages never call these for someone else's data: the disclosure gate
(consents.policy) composes them and decides what is visible."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable

from django.db.models import Model, QuerySet

from archive.models import SOCIAL_WELFARE_KINDS, Document, DocumentStatus, PurchasedServiceAuthorization
from kanta.models import Organisation, Person, Register

DOCUMENT_RELATED = ("register__controller", "unit__organisation", "service_event", "author__user")


def current_documents(
    *,
    person: Person,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    kinds: Iterable[str] | None = None,
    social_welfare: bool | None = None,
    service_task: str | None = None,
) -> QuerySet[Document]:
    """A person's current document versions, newest first (index document_person_current)."""
    documents = Document.objects.filter(person=person, status=DocumentStatus.CURRENT)
    if since:
        documents = documents.filter(recorded_at__date__gte=since)
    if until:
        documents = documents.filter(recorded_at__date__lte=until)
    if kinds is not None:
        documents = documents.filter(kind__in=list(kinds))
    if social_welfare is not None:
        documents = (
            documents.filter(kind__in=SOCIAL_WELFARE_KINDS)
            if social_welfare
            else documents.exclude(kind__in=SOCIAL_WELFARE_KINDS)
        )
    if service_task:
        documents = documents.filter(service_task=service_task)
    return documents.select_related(*DOCUMENT_RELATED).order_by("-recorded_at", "-id")


def current_entries(
    model: type[Model],
    *,
    person: Person,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> QuerySet:
    """Structured entries of a person's current (not superseded, not invalidated) documents, newest first."""
    entries = model.objects.filter(person=person, document__status=DocumentStatus.CURRENT)
    if since:
        entries = entries.filter(recorded_on__gte=since)
    if until:
        entries = entries.filter(recorded_on__lte=until)
    return entries.select_related("document__register__controller", "document__unit").order_by(
        "-recorded_on", "-id"
    )


def document_with_history(*, person: Person, public_id: uuid.UUID | str) -> Document | None:
    """One version of one of the person's documents, whatever its status."""
    try:
        uuid.UUID(str(public_id))
    except ValueError:
        return None
    return (
        Document.objects.select_related(*DOCUMENT_RELATED).filter(person=person, public_id=public_id).first()
    )


def current_version(document: Document) -> Document | None:
    """The newest version of the document's lineage (current or invalidated)."""
    if document.status != DocumentStatus.SUPERSEDED:
        return document
    return Document.objects.filter(lineage_id=document.lineage_id).order_by("-version").first()


def versions(document: Document) -> QuerySet[Document]:
    """Every version of the document, newest first."""
    return (
        Document.objects.filter(lineage_id=document.lineage_id)
        .select_related("author__user", "unit")
        .order_by("-version")
    )


# -- purchased-service authorizations and the archivist's register list -----------------------------------

AUTHORIZATION_RELATED = ("organiser", "producer", "register__controller", "person", "created_by__user")


def authorizations_received(*, organisation: Organisation) -> QuerySet[PurchasedServiceAuthorization]:
    """Every authorization granted to the organisation as a producer, valid or not, newest first."""
    return (
        PurchasedServiceAuthorization.objects.filter(producer=organisation)
        .select_related(*AUTHORIZATION_RELATED)
        .order_by("-starts_on", "-id")
    )


def authorizations_given(*, organisation: Organisation) -> QuerySet[PurchasedServiceAuthorization]:
    """Every authorization the organisation has given as an organiser, newest first."""
    return (
        PurchasedServiceAuthorization.objects.filter(organiser=organisation)
        .select_related(*AUTHORIZATION_RELATED)
        .order_by("-starts_on", "-id")
    )


def register_documents(*, register: Register, service_task: str | None = None) -> QuerySet[Document]:
    """A register's documents for its archivists, newest first (index document_register_time).

    Current and invalidated documents; superseded versions are reached through a document's history. The
    caller paginates and checks that the reader is an archivist of the register (archive.services).
    """
    documents = Document.objects.filter(register=register).exclude(status=DocumentStatus.SUPERSEDED)
    if service_task:
        documents = documents.filter(service_task=service_task)
    return documents.select_related("person", *DOCUMENT_RELATED).order_by("-recorded_at", "-id")
