"""MyKanta health records: visits by service event, the summary sections, a document with its versions, and the
social welfare documents.

Every read goes through consents.policy.for_citizen, also for the person's own data: the gate applies what
MyKanta may show (no special content, no display delay still running) and, for a guardian of a child aged
10 to 17, only the documents marked for guardians. Views never query the archive models themselves.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from archive import codes
from archive import selectors as archive
from archive.forms_spec import FORMS, Kind
from archive.models import (
    AbnormalFlag,
    CertificateForm,
    Diagnosis,
    DocumentKind,
    ImagingStudy,
    LabResult,
    Procedure,
    RiskInformation,
    ServiceTask,
    Vaccination,
)
from citizen.decorators import citizen_required
from citizen.forms import DateRangeForm, ServiceTaskForm
from consents import policy
from kanta import audit

RECORDS_PAGE_SIZE = 20
# Page numbers beyond this are not offered: OFFSET grows with the page (a person has at most some hundreds
# of documents in a year; the date search narrows anything older).
MAX_PAGE = 200
DEFAULT_PERIOD_DAYS = 365
SUMMARY_LIMIT = 200  # entries per section; the date search narrows a longer history


def _gate(request: HttpRequest) -> policy.Gate:
    return policy.for_citizen(
        actor=audit.Actor.from_request(request), viewer=request.person, person=request.subject
    )


def _page_number(request: HttpRequest) -> int:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def _period(request: HttpRequest) -> tuple[DateRangeForm, datetime.date | None, datetime.date | None]:
    """The date search: the last 12 months unless the reader chose otherwise; an invalid form keeps the input."""
    today = timezone.localdate()
    if "since" not in request.GET and "until" not in request.GET:
        since = today - datetime.timedelta(days=DEFAULT_PERIOD_DAYS)
        form = DateRangeForm(initial={"since": since, "until": today})
        return form, since, None
    form = DateRangeForm(request.GET)
    if not form.is_valid():
        return form, None, None
    return form, form.cleaned_data["since"], form.cleaned_data["until"]


def _query(**values) -> str:
    return urlencode({key: value for key, value in values.items() if value})


# -- visits --------------------------------------------------------------------------------------------------


@require_safe
@citizen_required
def records(request: HttpRequest) -> HttpResponse:
    form, since, until = _period(request)
    if form.is_bound and not form.is_valid():
        return render(request, "citizen/records.html", {"form": form, "visits": []}, status=400)
    number = _page_number(request)
    # Exactly one page is read: every document read on someone's behalf is logged as shown, so none is read
    # just to learn whether another page exists. A full page offers the next one (which may then be empty).
    documents = _gate(request).documents(
        since=since,
        until=until,
        social_welfare=False,
        limit=RECORDS_PAGE_SIZE,
        offset=(number - 1) * RECORDS_PAGE_SIZE,
        action="records.list",
    )
    period = {"since": request.GET.get("since"), "until": request.GET.get("until")}
    return render(
        request,
        "citizen/records.html",
        {"form": form, "visits": _by_service_event(documents), **_pager(number, len(documents), **period)},
    )


def _pager(number: int, shown: int, **filters) -> dict:
    """Previous and next page links keeping the filters; a full page has a next one."""
    has_next = shown == RECORDS_PAGE_SIZE and number < MAX_PAGE
    return {
        "page_number": number,
        "previous_query": _query(**filters, page=number - 1) if number > 1 else None,
        "next_query": _query(**filters, page=number + 1) if has_next else None,
    }


def _by_service_event(documents) -> list[dict]:
    """The page's documents grouped by service event, in the order of each event's newest document."""
    groups: dict[object, dict] = {}
    for document in documents:
        event = document.service_event
        key = event.pk if event is not None else None
        group = groups.setdefault(key, {"service_event": event, "unit": document.unit, "documents": []})
        group["documents"].append(document)
    return list(groups.values())


# -- summary -------------------------------------------------------------------------------------------------


@require_safe
@citizen_required
def summary(request: HttpRequest) -> HttpResponse:
    form, since, until = _period(request)
    if form.is_bound and not form.is_valid():
        return render(request, "citizen/records_summary.html", {"form": form, "invalid": True}, status=400)
    gate = _gate(request)
    period = {"since": since, "until": until, "limit": SUMMARY_LIMIT}
    diagnoses = gate.entries(Diagnosis, **period, action="diagnosis.list")
    risks = gate.entries(RiskInformation, **period, action="risk_information.list")
    lab_results = gate.entries(LabResult, **period, action="lab_result.list")
    vaccinations = gate.entries(Vaccination, **period, action="vaccination.list")
    procedures = gate.entries(Procedure, **period, action="procedure.list")
    studies = gate.entries(ImagingStudy, **period, action="imaging_study.list")
    imaging = gate.documents(
        since=since,
        until=until,
        kinds=[DocumentKind.IMAGING_STATEMENT],
        limit=SUMMARY_LIMIT,
        action="imaging_statement.list",
    )
    certificates = gate.documents(
        since=since,
        until=until,
        kinds=[DocumentKind.CERTIFICATE],
        limit=SUMMARY_LIMIT,
        action="certificate.list",
    )
    studies_by_document: dict[int, list] = {}
    for study in studies:
        studies_by_document.setdefault(study.document_id, []).append(study)
    return render(
        request,
        "citizen/records_summary.html",
        {
            "form": form,
            "diagnoses": [{"entry": d, "title": _diagnosis_title(d)} for d in diagnoses],
            "risks": risks,
            "lab_results": [_lab_row(result, sex=request.subject.sex) for result in lab_results],
            "vaccinations": [{"entry": v, "name": _vaccine_name(v)} for v in vaccinations],
            "procedures": procedures,
            "imaging": [{"document": d, "studies": studies_by_document.get(d.pk, [])} for d in imaging],
            "certificates": certificates,
            "limit": SUMMARY_LIMIT,
        },
    )


def _diagnosis_title(diagnosis: Diagnosis) -> str:
    # The shipped ICD-10 list names the diagnosis in the reader's language; an unknown code keeps its text.
    return codes.diagnosis_title(diagnosis.code) if codes.diagnosis(diagnosis.code) else diagnosis.title


def _vaccine_name(vaccination: Vaccination) -> str:
    return codes.vaccine_name(vaccination.atc) if codes.vaccine(vaccination.atc) else vaccination.name


def number(value: Decimal | None) -> str:
    """A result as people write it: no trailing zeros, the reader's decimal separator."""
    if value is None:
        return ""
    value = value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
    return formats.number_format(value)


def _reference_range(low: Decimal | None, high: Decimal | None) -> str:
    if low is not None and high is not None:
        return f"{number(low)}–{number(high)}"
    if low is not None:
        return _("at least %(value)s") % {"value": number(low)}
    if high is not None:
        return _("at most %(value)s") % {"value": number(high)}
    return ""


def _lab_row(result: LabResult, *, sex: str) -> dict:
    test = codes.lab_test(result.loinc)
    low, high = result.reference_low, result.reference_high
    if low is None and high is None and test is not None:
        low, high = test.reference_range(sex)  # the laboratory gave none: the usual adult range
    return {
        "entry": result,
        "name": test.name() if test is not None else result.name,
        "value": number(result.value),
        "reference_range": _reference_range(low, high),
        "flag": AbnormalFlag(result.abnormal).label if result.abnormal in AbnormalFlag.values else "",
        "abnormal": result.abnormal in (AbnormalFlag.LOW, AbnormalFlag.HIGH),
    }


# -- one document --------------------------------------------------------------------------------------------


@require_safe
@citizen_required
def document(request: HttpRequest, document_id) -> HttpResponse:
    # 404 for a missing document and for one the reader may not see (logged when someone acts for another)
    shown = _gate(request).document(document_id, action="document.view")
    # The gate decided the document is visible; its versions are part of it.
    versions = list(archive.versions(shown))
    studies = list(shown.imagingstudys.all()) if shown.kind == DocumentKind.IMAGING_STATEMENT else []
    return render(
        request,
        "citizen/document.html",
        {
            "document": shown,
            "versions": versions,
            "studies": studies,
            "certificate_fields": _certificate_fields(shown),
        },
    )


def _certificate_fields(document) -> list[tuple[str, str]]:
    """The certificate form's fields as (label, value) in the form's own order."""
    if document.kind != DocumentKind.CERTIFICATE or document.certificate_form not in CertificateForm.values:
        return []
    rows = []
    for spec in FORMS.get(document.certificate_form, ()):
        value = document.form_data.get(spec.name)
        if value in (None, ""):
            continue
        match spec.kind:
            case Kind.BOOLEAN:
                shown = _("yes") if value else _("no")
            case Kind.DATE:
                try:
                    shown = formats.date_format(datetime.date.fromisoformat(str(value)), "j.n.Y")
                except ValueError:
                    shown = str(value)
            case Kind.CHOICE:
                shown = str(dict(spec.choices).get(value, value))
            case Kind.ICD10:
                shown = (
                    f"{value} {codes.diagnosis_title(str(value))}"
                    if codes.diagnosis(str(value))
                    else str(value)
                )
            case _:
                shown = str(value)
        rows.append((str(spec.label), shown))
    return rows


# -- social welfare ------------------------------------------------------------------------------------------


@require_safe
@citizen_required
def social_welfare(request: HttpRequest) -> HttpResponse:
    form = ServiceTaskForm(request.GET or None, choices=ServiceTask.choices)
    if form.is_bound and not form.is_valid():
        return render(request, "citizen/social_welfare.html", {"form": form, "tasks": []}, status=400)
    service_task = form.cleaned_data.get("service_task") if form.is_bound else ""
    number = _page_number(request)
    documents = _gate(request).documents(
        social_welfare=True,
        service_task=service_task or None,
        limit=RECORDS_PAGE_SIZE,
        offset=(number - 1) * RECORDS_PAGE_SIZE,
        action="social_welfare.list",
    )
    tasks: dict[str, dict] = {}
    for item in documents:
        label = item.get_service_task_display() if item.service_task else _("Service task not recorded")
        tasks.setdefault(item.service_task, {"label": label, "documents": []})["documents"].append(item)
    return render(
        request,
        "citizen/social_welfare.html",
        {
            "form": form,
            "tasks": list(tasks.values()),
            **_pager(number, len(documents), service_task=request.GET.get("service_task")),
        },
    )
