"""The Prescription service in the Django admin: every model, read-only.

The medicine database changes only through its import (manage.py import_medicines, docs/medicine-database.md):
an edit made here would be overwritten by the next refresh, so packages and import runs are shown, not edited.
Prescriptions, their history, dispensings, renewal requests, cross-border consents and summaries change only
through prescriptions.services, which check the rules and write the audit log; the admin shows them and never
deletes them. Opening one that belongs to a person is a read of that person's prescription data and is
written to the audit log, like a person's details in kanta.admin.

Prescriptions and dispensings number tens of millions a year, so their lists use kanta.admin.LargeTableAdmin
(no full count), order by the primary key, search through an index (a person's identity code, a public id,
a barcode) and show persons, professionals and products as raw ids, never as a select of every row.
"""

from __future__ import annotations

import re
import uuid

from django.contrib import admin
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kanta import audit
from kanta.admin import LargeTableAdmin, ReadOnlyAdminMixin, identity_code_from_search
from kanta.models import AuditCategory, DataType, Person
from prescriptions.models import (
    CrossBorderConsent,
    Dispensing,
    Prescription,
    PrescriptionEvent,
    PrescriptionSummary,
    Product,
    ProductImport,
    RenewalRequest,
)

# An ATC code or the beginning of one: C, C08, C08C, C08CA, C08CA0, C08CA01.
ATC_PREFIX = re.compile(r"[A-Z]([0-9]{1,2}([A-Z]{1,2}([0-9]{1,2})?)?)?")


def _as_uuid(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


# -- the medicine database ----------------------------------------------------------------------------------


@admin.register(Product)
class ProductAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "vnr",
        "name",
        "strength",
        "form",
        "package_size",
        "atc",
        "substitution_group",
        "retail_price",
        "reimbursement",
        "narcotic",
        "pkv",
        "special_permit",
        "marketed",
    )
    list_filter = ("reimbursement", "marketed", "narcotic", "pkv", "special_permit")
    search_fields = ("=vnr", "^name", "^atc")
    search_help_text = _(
        "A VNR (6 digits), an ATC code or its beginning (C08CA), or the beginning of a name."
    )
    ordering = ("name", "vnr")
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if re.fullmatch(r"[0-9]{6}", term):
            return queryset.filter(vnr=term), False
        code = term.upper()
        if ATC_PREFIX.fullmatch(code):
            # A short word such as "C" could also start a name: show both.
            return queryset.filter(Q(atc__startswith=code) | Q(name__istartswith=term)), False
        return queryset.filter(name__istartswith=term), False


@admin.register(ProductImport)
class ProductImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("file_name", "started_at", "created", "updated", "rejected")
    search_fields = ("file_name",)
    ordering = ("-id",)
    fields = ("file_name", "started_at", "created", "updated", "rejected", "report")


# -- prescriptions and what hangs on them -------------------------------------------------------------------


class PrescriptionDataAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    """A read-only list of one kind of prescription data, searchable by identity code or public id."""

    list_per_page = 50
    ordering = ("-id",)
    # Where the person is, from this model: "person" or "prescription__person".
    person_path = "person"
    uuid_fields: tuple[str, ...] = ("public_id",)
    search_fields = ("=public_id",)  # shows the search box; get_search_results does the search
    search_help_text = _("A personal identity code or a public id.")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        code = identity_code_from_search(term)
        if code is not None:
            persons = Person.objects.filter(identity_code=code)
            return queryset.filter(**{f"{self.person_path}__in": persons}), False
        value = _as_uuid(term)
        if value is not None:
            condition = Q(pk__in=[])
            for name in self.uuid_fields:
                condition |= Q(**{name: value})
            return queryset.filter(condition), False
        return self.search_other(queryset, term), False

    def search_other(self, queryset, term: str):
        return queryset.none()

    def person_of(self, obj) -> Person | None:
        return obj.person

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            # Reading someone's prescription data in the admin is logged like any other read.
            obj = self.get_object(request, object_id)
            if obj is not None:
                with transaction.atomic():
                    audit.record(
                        actor=audit.Actor.from_request(request),
                        action=f"admin.{self.opts.model_name}.view",
                        category=AuditCategory.ACCESS,
                        person=self.person_of(obj),
                        data_type=DataType.PRESCRIPTION,
                        object_type=self.opts.model_name,
                        object_ids=[getattr(obj, "public_id", obj.pk)],
                        purpose="administration",
                    )
        return response


@admin.register(Prescription)
class PrescriptionAdmin(PrescriptionDataAdmin):
    list_display = (
        "medicine_name",
        "person",
        "prescriber",
        "unit",
        "prescribed_at",
        "valid_until",
        "status",
        "version",
    )
    list_select_related = ("person", "prescriber__user", "unit")
    list_filter = ("status", "amount_kind", "narcotic", "pkv", "special_permit", "prescribed_at")
    raw_id_fields = ("person", "prescriber", "unit", "product", "renewed_from", "locked_by", "reserved_by")


@admin.register(PrescriptionEvent)
class PrescriptionEventAdmin(PrescriptionDataAdmin):
    list_display = ("prescription", "kind", "version", "occurred_at", "professional", "organisation")
    list_select_related = ("prescription", "professional__user", "organisation")
    list_filter = ("kind", "occurred_at")
    raw_id_fields = ("prescription", "professional", "organisation")
    person_path = "prescription__person"
    uuid_fields = ("prescription__public_id",)
    search_help_text = _("A personal identity code or the public id of the prescription.")

    def person_of(self, obj) -> Person | None:
        return obj.prescription.person


@admin.register(Dispensing)
class DispensingAdmin(PrescriptionDataAdmin):
    list_display = ("prescription", "product", "pharmacy", "country", "packages", "quantity", "dispensed_at")
    list_select_related = ("prescription", "product", "pharmacy")
    list_filter = ("country", "dispensed_at")
    raw_id_fields = ("prescription", "product", "pharmacy", "pharmacist")
    person_path = "prescription__person"
    uuid_fields = ("public_id", "prescription__public_id")
    search_help_text = _(
        "A personal identity code, or the public id of the dispensing or of its prescription."
    )

    def person_of(self, obj) -> Person | None:
        return obj.prescription.person


@admin.register(RenewalRequest)
class RenewalRequestAdmin(PrescriptionDataAdmin):
    list_display = ("prescription", "person", "unit", "status", "sent_at", "handled_at")
    list_select_related = ("prescription", "person", "unit")
    list_filter = ("status", "sent_at")
    raw_id_fields = ("prescription", "person", "unit", "handled_by", "new_prescription")
    uuid_fields = ("public_id", "prescription__public_id")
    search_help_text = _("A personal identity code, or the public id of the request or of its prescription.")


@admin.register(CrossBorderConsent)
class CrossBorderConsentAdmin(PrescriptionDataAdmin):
    list_display = ("person", "given_at", "withdrawn_at")
    list_select_related = ("person",)
    list_filter = (("withdrawn_at", admin.EmptyFieldListFilter), "given_at")
    raw_id_fields = ("person",)


@admin.register(PrescriptionSummary)
class PrescriptionSummaryAdmin(PrescriptionDataAdmin):
    list_display = ("barcode", "person", "created_at")
    list_select_related = ("person",)
    raw_id_fields = ("person", "prescriptions")
    search_help_text = _("A personal identity code, a barcode or a public id.")

    def search_other(self, queryset, term: str):
        return queryset.filter(barcode=term)
