"""Writing into the Patient Data Repository: record entries, laboratory results and certificates, and the
corrections, invalidations and delayed display of documents.

The person is opened through kanta.access and an existing document through the disclosure gate, as for
reading; archive.services decides whether the professional may write and into which register, and its
RuleViolation is shown on the form with everything typed kept.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from archive import codes, services
from archive.models import CertificateForm, DocumentKind, DocumentStatus
from consents import policy
from kanta.access import person_for_professional
from kanta.errors import RuleViolation
from professional import writing
from professional.decorators import professional_required
from professional.forms import (
    CertificateChoiceForm,
    CertificateDocumentForm,
    CodeSearchForm,
    DelayDisplayForm,
    InvalidateForm,
    LabResultsForm,
    RecordEntryForm,
)

# What archive.services calls a field, and what the forms call it.
FIELD_NAMES = {"diagnoses": "diagnosis_0", "risks": "risk_description_0", "lab_results": "test_0"}
CODE_SEARCH_LIMIT = 50


def _person(request, public_id):
    return person_for_professional(actor=request.actor, public_id=public_id, action="person.view")


def _registers(request, person):
    registers = writing.writable_registers(actor=request.actor, person=person)
    return registers, writing.register_choices(registers, own_unit=request.unit)


def _chosen(registers, form):
    public_id = form.cleaned_data["register"]
    return next(register for register in registers if str(register.public_id) == public_id)


def _created(request, person, document):
    messages.success(request, _("The document “%(title)s” is saved.") % {"title": document.title})
    return redirect("professional:document", public_id=person.public_id, document_id=document.public_id)


# -- new documents -----------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@professional_required
def write_entry(request, public_id):
    person = _person(request, public_id)
    registers, choices = _registers(request, person)
    form = RecordEntryForm(request.POST or None, register_choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            document = services.document_create(
                actor=request.actor,
                person=person,
                kind=DocumentKind.RECORD_ENTRY,
                view=form.cleaned_data["view"],
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                diagnoses=form.diagnosis_inputs(),
                risks=form.risk_inputs(),
                organiser_register=_chosen(registers, form),
            )
        except RuleViolation as violation:
            writing.add_violation(form, violation, fields=FIELD_NAMES)
        else:
            return _created(request, person, document)
    return render(
        request,
        "professional/write_entry.html",
        {"person": person, "form": form, "correcting": None},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@professional_required
def write_lab(request, public_id):
    person = _person(request, public_id)
    registers, choices = _registers(request, person)
    form = LabResultsForm(
        request.POST or None,
        register_choices=choices,
        sex=person.sex,
        initial={"title": _("Laboratory results")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            document = services.document_create(
                actor=request.actor,
                person=person,
                kind=DocumentKind.LABORATORY,
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                lab_results=form.lab_inputs(),
                organiser_register=_chosen(registers, form),
            )
        except RuleViolation as violation:
            writing.add_violation(form, violation, fields=FIELD_NAMES)
        else:
            return _created(request, person, document)
    return render(
        request,
        "professional/write_lab.html",
        {"person": person, "form": form, "correcting": None},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@professional_required
def write_certificate(request, public_id):
    person = _person(request, public_id)
    chooser = CertificateChoiceForm(request.GET if "form" in request.GET else None)
    certificate_form = request.POST.get("certificate_form") or (
        chooser.cleaned_data["form"] if chooser.is_bound and chooser.is_valid() else ""
    )
    if certificate_form not in CertificateForm.values:
        # First step: which form. A form unknown in a POST is shown as the same choice again.
        return render(
            request,
            "professional/write_certificate.html",
            {"person": person, "chooser": chooser, "form": None},
            status=400 if chooser.is_bound or request.method == "POST" else 200,
        )
    registers, choices = _registers(request, person)
    form = CertificateDocumentForm(
        request.POST if request.method == "POST" else None,
        certificate_form=certificate_form,
        register_choices=choices,
        initial={"title": CertificateForm(certificate_form).label},
    )
    if request.method == "POST" and form.is_valid():
        try:
            document = services.document_create(
                actor=request.actor,
                person=person,
                kind=DocumentKind.CERTIFICATE,
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                certificate_form=certificate_form,
                form_data=form.form_data(),
                organiser_register=_chosen(registers, form),
            )
        except RuleViolation as violation:
            writing.add_violation(form, violation, fields=FIELD_NAMES)
        else:
            return _created(request, person, document)
    return render(
        request,
        "professional/write_certificate.html",
        {
            "person": person,
            "form": form,
            "certificate_form": certificate_form,
            "certificate_label": CertificateForm(certificate_form).label,
            "correcting": None,
        },
        status=400 if form.errors else 200,
    )


# -- changing a document -----------------------------------------------------------------------------------


def _current_document(request, person, document_id):
    """The document through the gate (404 if hidden), only while it is the current version."""
    gate = policy.for_professional(actor=request.actor, person=person)
    document = gate.document(document_id, action="document.view")
    if document.status != DocumentStatus.CURRENT:
        messages.error(request, _("Only the current version of a document can be changed."))
        return None
    return document


def _back_to(person, document):
    return redirect("professional:document", public_id=person.public_id, document_id=document.public_id)


@require_http_methods(["GET", "POST"])
@professional_required
def document_correct(request, public_id, document_id):
    person = _person(request, public_id)
    document = _current_document(request, person, document_id)
    if document is None:
        return redirect("professional:document", public_id=person.public_id, document_id=document_id)
    prefetch_related_objects([document], "diagnosiss", "riskinformations", "labresults")
    data = request.POST if request.method == "POST" else None
    edited: set[str]
    if document.kind == DocumentKind.LABORATORY:
        results = list(document.labresults.all())
        initial = {"title": document.title, "text": document.text}
        if results:
            initial["sampled_on"] = results[0].recorded_on
        for index, result in enumerate(results):
            initial[f"test_{index}"] = result.loinc
            initial[f"value_{index}"] = writing.plain_number(result.value)
        form = LabResultsForm(data, rows=len(results) + 2, sex=person.sex, initial=initial)
        template, edited = "professional/write_lab.html", {"lab_results"}
    elif document.kind == DocumentKind.CERTIFICATE and document.certificate_form in CertificateForm.values:
        initial = {"title": document.title, "text": document.text}
        initial.update(CertificateDocumentForm.initial_from(document.form_data))
        form = CertificateDocumentForm(data, certificate_form=document.certificate_form, initial=initial)
        template, edited = "professional/write_certificate.html", set()
    else:
        diagnoses = list(document.diagnosiss.all())
        risks = list(document.riskinformations.all())
        initial = {"title": document.title, "text": document.text}
        # the primary diagnosis first: it goes into the primary row
        for index, diagnosis in enumerate(sorted(diagnoses, key=lambda d: not d.primary)):
            initial[f"diagnosis_{index}"] = diagnosis.code
        for index, risk in enumerate(risks):
            initial[f"risk_kind_{index}"] = risk.kind
            initial[f"risk_description_{index}"] = risk.description
            initial[f"risk_critical_{index}"] = risk.critical
        form = RecordEntryForm(
            data, diagnosis_rows=max(3, len(diagnoses) + 1), risk_rows=len(risks) + 1, initial=initial
        )
        template, edited = "professional/write_entry.html", {"diagnoses", "risks"}
    if request.method == "POST" and form.is_valid():
        entries = writing.kept_entries(document, edited=edited)
        if "lab_results" in edited:
            entries["lab_results"] = form.lab_inputs()
        if "diagnoses" in edited:
            # an unchanged diagnosis or risk keeps the date it was first recorded on
            entries["diagnoses"] = form.diagnosis_inputs(
                dates={d.code: d.recorded_on for d in document.diagnosiss.all()}
            )
            entries["risks"] = form.risk_inputs(
                dates={(r.kind, r.description): r.recorded_on for r in document.riskinformations.all()}
            )
        extra = {"form_data": form.form_data()} if isinstance(form, CertificateDocumentForm) else {}
        try:
            corrected = services.document_correct(
                actor=request.actor,
                document=document,
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                **extra,
                **entries,
            )
        except RuleViolation as violation:
            writing.add_violation(form, violation, fields=FIELD_NAMES)
        else:
            messages.success(
                request, _("The correction is saved as version %(version)s.") % {"version": corrected.version}
            )
            return _back_to(person, corrected)
    return render(
        request,
        template,
        {
            "person": person,
            "form": form,
            "correcting": document,
            "certificate_form": document.certificate_form,
            "certificate_label": document.get_certificate_form_display(),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@professional_required
def document_invalidate(request, public_id, document_id):
    person = _person(request, public_id)
    document = _current_document(request, person, document_id)
    if document is None:
        return redirect("professional:document", public_id=person.public_id, document_id=document_id)
    form = InvalidateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_invalidate(
                actor=request.actor, document=document, reason=form.cleaned_data["reason"]
            )
        except RuleViolation as violation:
            writing.add_violation(form, violation)
        else:
            messages.success(request, _("The document is invalidated. It stays in the history."))
            return _back_to(person, document)
    return render(
        request,
        "professional/document_change.html",
        {
            "person": person,
            "document": document,
            "form": form,
            "heading": _("Invalidate the document"),
            "action_url": "professional:document_invalidate",
            "submit": _("Invalidate"),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@professional_required
def document_delay(request, public_id, document_id):
    person = _person(request, public_id)
    document = _current_document(request, person, document_id)
    if document is None:
        return redirect("professional:document", public_id=person.public_id, document_id=document_id)
    form = DelayDisplayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_delay_display(
                actor=request.actor,
                document=document,
                until=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
            )
        except RuleViolation as violation:
            writing.add_violation(form, violation)
        else:
            messages.success(request, _("The document is shown in MyKanta only from the date you gave."))
            return _back_to(person, document)
    return render(
        request,
        "professional/document_change.html",
        {
            "person": person,
            "document": document,
            "form": form,
            "heading": _("Delay the display in MyKanta"),
            "action_url": "professional:document_delay",
            "submit": _("Delay the display"),
        },
        status=400 if form.errors else 200,
    )


# -- code search -------------------------------------------------------------------------------------------


@require_GET
@professional_required
def code_search(request):
    """ICD-10 codes of the shipped list by code or name, in the page's language."""
    form = CodeSearchForm(request.GET or None)
    results = []
    query = ""
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
    if query:
        needle = query.casefold()
        normalized = codes.normalize_icd10(query)
        results = [
            item
            for item in codes.icd10().values()
            if item.code.startswith(normalized) or needle in item.title().casefold()
        ][:CODE_SEARCH_LIMIT]
    return render(
        request, "professional/code_search.html", {"form": form, "query": query, "results": results}
    )
