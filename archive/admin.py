"""The archive in the Django admin.

Documents, service events and structured entries are read-only here: they are written through
archive.services (with their rules and audit events), corrected by new versions, and never deleted on request.
Purchased-service authorizations are editable but not deletable; each admin change writes an audit event in
the admin's own transaction.

The tables grow to billions of rows, so every person, document or register link is a raw id field (no
select of all rows), lists order by the primary key (an index scan backwards, not a sort), an unfiltered list
shows PostgreSQL's row estimate (kanta.admin.LargeTableAdmin), and search goes through an index: a person's
identity code, a public id, or a code.
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from archive.models import (
    Diagnosis,
    Document,
    ImagingStudy,
    LabResult,
    Measurement,
    Procedure,
    PurchasedServiceAuthorization,
    RiskInformation,
    ServiceEvent,
    Vaccination,
)
from kanta import audit
from kanta.admin import LargeTableAdmin, ReadOnlyAdminMixin, identity_code_from_search
from kanta.models import AuditCategory, DataType, LegalBasis, Person, RegisterKind


def _as_uuid(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


class ArchiveListAdmin(LargeTableAdmin):
    """Search by the person's identity code, a public id (`uuid_fields`) or a code (`code_fields`).

    The admin's own "=field" search compares UPPER() of every row; here each kind of term hits an index.
    """

    list_per_page = 50
    ordering = ("-id",)
    raw_id_fields = ("person",)
    uuid_fields: tuple[str, ...] = ("public_id",)
    code_fields: tuple[str, ...] = ()
    search_fields = ("person__identity_code",)  # shows the search box; get_search_results does the search
    search_help_text = _("A personal identity code, a public id or a code.")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        code = identity_code_from_search(term)
        if code is not None:
            return queryset.filter(person__in=Person.objects.filter(identity_code=code)), False
        value = _as_uuid(term)
        if value is not None:
            condition = Q(pk__in=[])
            for field in self.uuid_fields:
                condition |= Q(**{field: value})
            return queryset.filter(condition), False
        condition = Q(pk__in=[])
        for field in self.code_fields:
            condition |= Q(**{field: term.upper()})
        return queryset.filter(condition), False


@admin.register(ServiceEvent)
class ServiceEventAdmin(ReadOnlyAdminMixin, ArchiveListAdmin):
    list_display = ("title", "person", "register", "unit", "started_on", "ended_on")
    list_filter = ("register__kind",)
    list_select_related = ("person", "register__controller", "unit")
    raw_id_fields = ("person", "register", "unit")


# -- documents and their entries --------------------------------------------------------------------------


class EntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


class DiagnosisInline(EntryInline):
    model = Diagnosis


class RiskInline(EntryInline):
    model = RiskInformation


class ProcedureInline(EntryInline):
    model = Procedure


class MeasurementInline(EntryInline):
    model = Measurement


class VaccinationInline(EntryInline):
    model = Vaccination


class LabResultInline(EntryInline):
    model = LabResult


class ImagingStudyInline(EntryInline):
    model = ImagingStudy


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdminMixin, ArchiveListAdmin):
    list_display = ("title", "kind", "status", "version", "person", "register", "recorded_at")
    list_filter = ("status", "kind", "register__kind", "special_content", "certificate_form", "service_task")
    list_select_related = ("person", "register__controller")
    raw_id_fields = ("person", "register", "service_event", "unit", "author", "supersedes")
    uuid_fields = ("public_id", "lineage_id")
    inlines = (
        DiagnosisInline,
        RiskInline,
        ProcedureInline,
        MeasurementInline,
        VaccinationInline,
        LabResultInline,
        ImagingStudyInline,
    )


class EntryAdmin(ReadOnlyAdminMixin, ArchiveListAdmin):
    list_select_related = ("person", "document")
    raw_id_fields = ("document", "person")
    uuid_fields = ("document__public_id",)


@admin.register(Diagnosis)
class DiagnosisAdmin(EntryAdmin):
    list_display = ("code", "title", "primary", "person", "recorded_on")
    list_filter = ("primary",)
    code_fields = ("code",)


@admin.register(RiskInformation)
class RiskInformationAdmin(EntryAdmin):
    list_display = ("description", "kind", "critical", "person", "recorded_on")
    list_filter = ("kind", "critical")


@admin.register(Procedure)
class ProcedureAdmin(EntryAdmin):
    list_display = ("description", "person", "recorded_on")


@admin.register(Measurement)
class MeasurementAdmin(EntryAdmin):
    list_display = ("name", "value", "unit_of_measure", "loinc", "person", "recorded_on")
    code_fields = ("loinc",)


@admin.register(Vaccination)
class VaccinationAdmin(EntryAdmin):
    list_display = ("name", "atc", "dose", "person", "recorded_on")
    code_fields = ("atc",)


@admin.register(LabResult)
class LabResultAdmin(EntryAdmin):
    list_display = ("name", "value", "unit_of_measure", "abnormal", "loinc", "person", "recorded_on")
    list_filter = ("abnormal",)
    code_fields = ("loinc",)


@admin.register(ImagingStudy)
class ImagingStudyAdmin(EntryAdmin):
    list_display = ("examination", "modality", "study_instance_uid", "person", "recorded_on")
    list_filter = ("modality",)
    code_fields = ("study_instance_uid",)


# -- purchased-service authorizations ---------------------------------------------------------------------


@admin.register(PurchasedServiceAuthorization)
class PurchasedServiceAuthorizationAdmin(admin.ModelAdmin):
    list_display = ("organiser", "producer", "scope", "register", "person", "starts_on", "ends_on")
    list_filter = ("scope", "register__kind")
    list_select_related = ("organiser", "producer", "register__controller", "person")
    search_fields = ("organiser__name_fi", "producer__name_fi", "ordered_service")
    raw_id_fields = ("organiser", "register", "producer", "person", "created_by")
    readonly_fields = ("public_id", "created_at")
    ordering = ("-id",)
    actions = None  # no bulk "delete selected"

    def has_delete_permission(self, request, obj=None) -> bool:
        # An authorization may have covered writes and reads: end it (ends_on), never erase it.
        return False

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        # The admin's change view runs in one transaction, so the event commits with the change.
        audit.record(
            actor=audit.Actor.from_request(request),
            action="authorization.update" if change else "authorization.create",
            category=AuditCategory.CHANGE,
            person=obj.person,
            data_type=(
                DataType.SOCIAL_WELFARE
                if obj.register.kind == RegisterKind.SOCIAL_WELFARE
                else DataType.PATIENT
            ),
            object_type="purchased_service_authorization",
            object_ids=[obj.public_id],
            legal_basis=LegalBasis.OWN_REGISTER,
            purpose="admin",
            reason_text=("changed: " + ", ".join(form.changed_data)) if change else "",
        )
