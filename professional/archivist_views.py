"""Archivist pages: the social welfare register of the archivist's organisation, filed by service task.

Archivists manage the register itself (DOMAIN.md, "Archivists manage their register's documents"): they list
its documents, file them under a service task and correct their metadata, without a client relationship
with the persons in it. They see each document's metadata, never its content. Other professions get 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from archive import selectors as archive_selectors
from archive import services
from kanta import audit
from kanta.errors import RuleViolation
from kanta.models import AuditCategory, DataType, LegalBasis, Profession, Register, RegisterKind
from kanta.paging import CappedPaginator
from professional import writing
from professional.decorators import professional_required
from professional.forms import ArchiveFilterForm, DocumentMetadataForm, FileDocumentForm

DOCUMENTS_PER_PAGE = 25
# A register holds millions of documents: the list counts the first 10,000 (400 pages); the filter narrows it.
ARCHIVE_LIST_CAP = 10_000
PURPOSE = services.REGISTER_MANAGEMENT


def _archivist_register(request) -> Register:
    """The social welfare register of the archivist's organisation; 403 for anyone who is not its archivist."""
    if request.professional.profession != Profession.ARCHIVIST:
        raise PermissionDenied
    register = (
        Register.objects.select_related("controller")
        .filter(controller_id=request.unit.organisation_id, kind=RegisterKind.SOCIAL_WELFARE)
        .first()
    )
    if register is None:
        raise Http404
    try:
        services.require_archivist(actor=request.actor, register=register)
    except RuleViolation as violation:
        raise PermissionDenied(violation.message) from None
    return register


def _record_read(request, *, action: str, documents, person=None) -> None:
    # The archivist's reads are logged like any other: which documents' metadata was shown, and why.
    with transaction.atomic():
        audit.record(
            actor=request.actor,
            action=action,
            category=AuditCategory.ACCESS,
            person=person,
            data_type=DataType.SOCIAL_WELFARE,
            object_type="document",
            object_ids=[document.public_id for document in documents],
            legal_basis=LegalBasis.OWN_REGISTER,
            purpose=PURPOSE,
        )


@require_GET
@professional_required
def archive_documents(request):
    register = _archivist_register(request)
    filters = ArchiveFilterForm(request.GET or None)
    service_task = filters.cleaned_data["service_task"] if filters.is_valid() else ""
    documents = archive_selectors.register_documents(register=register, service_task=service_task or None)
    page = CappedPaginator(documents, DOCUMENTS_PER_PAGE, cap=ARCHIVE_LIST_CAP).get_page(
        request.GET.get("page")
    )
    if page.object_list:
        _record_read(request, action="register.documents.list", documents=page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "professional/archive_documents.html",
        {"register": register, "filters": filters, "page": page, "query": query.urlencode()},
    )


@require_http_methods(["GET", "POST"])
@professional_required
def archive_document(request, document_id):
    register = _archivist_register(request)
    document = archive_selectors.register_documents(register=register).filter(public_id=document_id).first()
    if document is None:
        raise Http404
    file_form = FileDocumentForm(
        request.POST if request.POST.get("action") == "file" else None,
        initial={"service_task": document.service_task},
        prefix="file",
    )
    metadata_form = DocumentMetadataForm(
        request.POST if request.POST.get("action") == "metadata" else None,
        initial={"title": document.title, "service_task": document.service_task},
        prefix="metadata",
    )
    if request.method == "POST":
        changed = _change(request, document, file_form, metadata_form)
        if changed:
            return redirect("professional:archive_document", document_id=document.public_id)
    else:
        _record_read(request, action="register.document.view", documents=[document], person=document.person)
    return render(
        request,
        "professional/archive_document.html",
        {"register": register, "document": document, "file_form": file_form, "metadata_form": metadata_form},
        status=400 if file_form.errors or metadata_form.errors else 200,
    )


def _change(request, document, file_form, metadata_form) -> bool:
    try:
        if file_form.is_bound and file_form.is_valid():
            services.document_file(
                actor=request.actor, document=document, service_task=file_form.cleaned_data["service_task"]
            )
            messages.success(request, _("The document is filed under the service task."))
            return True
        if metadata_form.is_bound and metadata_form.is_valid():
            services.document_correct_metadata(
                actor=request.actor,
                document=document,
                title=metadata_form.cleaned_data["title"],
                service_task=metadata_form.cleaned_data["service_task"],
            )
            messages.success(request, _("The metadata is corrected."))
            return True
    except RuleViolation as violation:
        writing.add_violation(file_form if file_form.is_bound else metadata_form, violation)
    return False
