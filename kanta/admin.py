"""The Django admin for the core models.

Who sees what:
- superusers and staff with model permissions: everything their permissions allow;
- organisation administrators (object permission ``kanta.manage_organisation``, see
  ``kanta.admin_permissions`` for how to grant it): their organisations, units, registers and professionals;
- persons, guardianships, care relationships, users and the audit log: model permissions only;
- the audit log (events, chain links, seals) is read-only for everyone; the database refuses changes anyway.

Scale: persons, users, care relationships and the audit log hold millions to billions of rows. Their lists
never count the whole table (``LargeTablePaginator``), search by exact keys rather than ``LIKE '%...%'``,
order by an indexed column, and use date filters instead of ``date_hierarchy``, whose drill-down runs
``SELECT DISTINCT date_trunc(...)`` over every row. Foreign keys to persons and users are autocomplete or
raw-id widgets, never a select with every row in it.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from guardian.admin import ReinforcedGuardedModelAdminMixin
from guardian.shortcuts import get_users_with_perms

from kanta import audit, identity_code
from kanta.admin_permissions import (
    OrganisationListFilter,
    OrganisationScopedAdminMixin,
    ProfessionalScopeMixin,
    managed_organisation_ids,
)
from kanta.models import (
    AuditCategory,
    AuditChainLink,
    AuditEvent,
    AuditSeal,
    CareRelationship,
    DataType,
    Guardianship,
    LoginFailure,
    Organisation,
    Person,
    Professional,
    Register,
    Unit,
    User,
)
from kanta.paging import CappedPaginator

# -- shared pieces -----------------------------------------------------------------------------------------


class LargeTablePaginator(CappedPaginator):
    """Pages a table too large to count.

    The changelist needs a row count to draw its page links, and an exact ``COUNT(*)`` over millions or
    billions of rows takes seconds to minutes. An unfiltered list takes PostgreSQL's own estimate of the table
    size; a filtered one counts at most ``cap`` rows (nobody pages further; narrow the filter).
    """

    estimate_from = 100_000
    cap = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if not queryset.query.where and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            # reltuples is -1 before the first ANALYZE, and small tables are cheap to count exactly.
            if row and row[0] >= self.estimate_from:
                return row[0]
        return super().count


class LargeTableAdmin(admin.ModelAdmin):
    paginator = LargeTablePaginator
    # The "N total" beside a filtered list would be a second full count.
    show_full_result_count = False


def identity_code_from_search(term: str) -> str | None:
    """The normalised identity code when the search term is one, else None."""
    try:
        return identity_code.parse(term).code
    except ValidationError:
        return None


class ReadOnlyAdminMixin:
    """The audit log: nobody adds, changes or deletes through the admin; viewing needs the view permission."""

    actions = None  # no bulk "delete selected"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # Superusers hold every permission; the default would also accept the (meaningless) change one.
        return request.user.has_perm(f"{self.opts.app_label}.view_{self.opts.model_name}")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.opts.fields]


# -- people ------------------------------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(DjangoUserAdmin, LargeTableAdmin):
    """Every citizen who has signed in has a user: millions of rows."""

    list_display = ("username", "first_name", "last_name", "email", "is_staff", "is_superuser", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    # Exact username and e-mail (unique-ish keys) and a last-name prefix, never a substring scan.
    search_fields = ("=username", "=email", "^last_name")
    ordering = ("username",)


@admin.register(Person)
class PersonAdmin(LargeTableAdmin):
    list_display = (
        "last_name",
        "first_names",
        "identity_code",
        "birth_date",
        "sex",
        "non_disclosure",
        "date_of_death",
    )
    list_filter = (
        "non_disclosure",
        ("date_of_death", admin.EmptyFieldListFilter),
        "sex",
        "preferred_language",
    )
    search_fields = ("=identity_code", "^last_name")
    search_help_text = _("A personal identity code (exact) or the beginning of a last name.")
    ordering = ("last_name", "first_names")  # the (last_name, first_names) index
    # Birth date and sex are facts of the identity code and are derived from it on save.
    readonly_fields = ("public_id", "birth_date", "sex", "created_at")
    autocomplete_fields = ("user",)
    fieldsets = (
        (None, {"fields": ("identity_code", "birth_date", "sex", "first_names", "last_name")}),
        (
            _("Status"),
            {"fields": ("preferred_language", "non_disclosure", "date_of_death")},
        ),
        (_("Technical"), {"fields": ("user", "public_id", "created_at")}),
    )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            # An administrator opening a person's details reads personal data: it is logged like any read.
            person = Person.objects.filter(pk=object_id).first()
            if person is not None:
                with transaction.atomic():
                    audit.record(
                        actor=audit.Actor.from_request(request),
                        action="admin.person.view",
                        category=AuditCategory.ACCESS,
                        person=person,
                        data_type=DataType.IDENTITY,
                        object_type="person",
                        object_ids=[person.public_id],
                        purpose="administration",
                    )
        return response

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        code = identity_code_from_search(term)
        if code is not None:
            # The unique index; "=identity_code" would compare UPPER() of every row.
            return queryset.filter(identity_code=code), False
        return queryset.filter(last_name__istartswith=term), False


@admin.register(Guardianship)
class GuardianshipAdmin(LargeTableAdmin):
    list_display = ("guardian", "child", "starts_on", "ends_on")
    list_select_related = ("guardian", "child")
    list_filter = ("starts_on", ("ends_on", admin.EmptyFieldListFilter))
    search_fields = ("=guardian__identity_code", "=child__identity_code")
    search_help_text = _("The personal identity code of the guardian or the child.")
    autocomplete_fields = ("guardian", "child")
    ordering = ("-id",)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        person = Person.objects.filter(identity_code=identity_code_from_search(term) or term.upper())
        return queryset.filter(Q(guardian__in=person) | Q(child__in=person)), False


# -- organisations (organisation admins manage their own) --------------------------------------------------


@admin.register(Organisation)
class OrganisationAdmin(OrganisationScopedAdminMixin, ReinforcedGuardedModelAdminMixin, admin.ModelAdmin):
    """Superusers also get guardian's "Object permissions" page to grant ``manage_organisation``."""

    list_display = ("name_fi", "name_sv", "oid", "kind", "parent")
    list_select_related = ("parent",)
    list_filter = ("kind",)
    search_fields = ("name_fi", "name_sv", "=oid")
    ordering = ("name_fi",)
    autocomplete_fields = ("parent",)
    fields = ("oid", "name_fi", "name_sv", "kind", "parent", "public_id", "administrators")

    def organisation_ids_of(self, obj) -> set[int]:
        return {obj.pk} if obj.pk is not None else set()

    def scope_queryset(self, queryset, organisation_ids):
        return queryset.filter(pk__in=organisation_ids)

    def has_add_permission(self, request) -> bool:
        # An organisation admin manages what exists; new organisations come from the national register.
        return self._has_model_permission(request, "add")

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._has_model_permission(request, "delete")

    def get_readonly_fields(self, request, obj=None):
        readonly = ["public_id", "administrators"]
        if self.is_organisation_scoped(request):
            # The register identity (OID, kind, place in the hierarchy) is not the organisation's to change.
            readonly += ["oid", "kind", "parent"]
        return readonly

    @admin.display(description=_("administrators"))
    def administrators(self, obj) -> str:
        """Who holds ``manage_organisation`` on this organisation, directly or through a group."""
        if obj.pk is None:
            return ""
        users = get_users_with_perms(
            obj, only_with_perms_in=["manage_organisation"], with_group_users=True
        ).order_by("username")
        return ", ".join(f"{user.get_full_name() or user.username} ({user.username})" for user in users)

    def _may_manage_object_permissions(self, request) -> bool:
        # The same permissions ReinforcedGuardedModelAdminMixin requires for its pages.
        return request.user.has_perm("guardian.view_userobjectpermission") and request.user.has_perm(
            "guardian.view_groupobjectpermission"
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        response = super().render_change_form(request, context, add, change, form_url, obj)
        if not add and not self._may_manage_object_permissions(request):
            # guardian's template adds an "Object permissions" link these users could not follow.
            opts = self.opts
            response.template_name = [
                f"admin/{opts.app_label}/{opts.model_name}/change_form.html",
                f"admin/{opts.app_label}/change_form.html",
                "admin/change_form.html",
            ]
        return response


@admin.register(Unit)
class UnitAdmin(OrganisationScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name_fi", "name_sv", "oid", "organisation", "register_kind")
    list_select_related = ("organisation",)
    list_filter = ("register_kind", OrganisationListFilter)
    search_fields = ("name_fi", "name_sv", "=oid")
    ordering = ("name_fi",)
    autocomplete_fields = ("organisation",)
    readonly_fields = ("public_id",)


@admin.register(Register)
class RegisterAdmin(OrganisationScopedAdminMixin, admin.ModelAdmin):
    organisation_field = "controller"
    list_display = ("controller", "kind")
    list_select_related = ("controller",)
    list_filter = ("kind", OrganisationListFilter)
    search_fields = ("controller__name_fi", "controller__name_sv", "=controller__oid")
    ordering = ("controller__name_fi", "kind")
    autocomplete_fields = ("controller",)
    readonly_fields = ("public_id",)


@admin.register(Professional)
class ProfessionalAdmin(ProfessionalScopeMixin, admin.ModelAdmin):
    list_display = ("name", "registration_number", "profession", "unit_names")
    list_select_related = ("user",)
    list_filter = ("profession", OrganisationListFilter)
    search_fields = ("=registration_number", "^user__last_name", "=user__username")
    ordering = ("registration_number",)
    # Users number in the millions and organisation admins cannot browse them: a raw id, not autocomplete
    # (which needs the view permission on users).
    raw_id_fields = ("user",)
    autocomplete_fields = ("units",)
    readonly_fields = ("public_id",)

    def get_queryset(self, request):
        units = Unit.objects.order_by("name_fi")
        if not self.sees_all_organisations(request):
            units = units.filter(organisation__in=managed_organisation_ids(request))
        # A separate attribute, so that ``units.all()`` stays the whole truth for the permission checks.
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("units", queryset=units, to_attr="listed_units"))
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and self.is_organisation_scoped(request):
            # Which login a professional signs in with is an identity decision for national administrators.
            return (*self.readonly_fields, "user")
        return self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and self.is_organisation_scoped(request):
            # An organisation admin must not attach a professional role to a staff account, their own included.
            kwargs["queryset"] = User.objects.filter(
                is_staff=False, is_superuser=False, professional__isnull=True
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("name"), ordering="user__last_name")
    def name(self, obj) -> str:
        return obj.user.get_full_name() or obj.user.username

    @admin.display(description=_("units"))
    def unit_names(self, obj) -> str:
        return ", ".join(unit.name for unit in getattr(obj, "listed_units", ()))


# -- care relationships --------------------------------------------------------------------------------------


class CareRelationshipStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("active")), ("ended", _("ended"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.active(now)
        if self.value() == "ended":
            return queryset.filter(ends_at__lte=now)
        return queryset


@admin.register(CareRelationship)
class CareRelationshipAdmin(LargeTableAdmin):
    list_display = ("person", "unit", "reason", "starts_at", "ends_at", "is_active", "confirmed_by")
    list_select_related = ("person", "unit", "confirmed_by__user")
    list_filter = (CareRelationshipStateFilter, "reason", "starts_at")
    search_fields = ("=person__identity_code",)
    search_help_text = _("The personal identity code of the person.")
    autocomplete_fields = ("person", "unit", "confirmed_by")
    readonly_fields = ("public_id",)
    ordering = ("-id",)

    @admin.display(description=_("active"), boolean=True)
    def is_active(self, obj) -> bool:
        return obj.starts_at <= timezone.now() < obj.ends_at

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        code = identity_code_from_search(term) or term.upper()
        # Through the person's unique code, then the (person, unit, ends_at) index.
        return queryset.filter(person__in=Person.objects.filter(identity_code=code)), False


# -- the audit log (read-only) and sign-in failures --------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = (
        "occurred_at",
        "action",
        "category",
        "outcome",
        "data_type",
        "legal_basis",
        "user",
        "unit",
        "person",
    )
    list_select_related = ("user", "unit", "person")
    # A range filter on the indexed time instead of date_hierarchy (see the module docstring).
    list_filter = ("category", "outcome", "data_type", "legal_basis", "occurred_at")
    search_fields = ("=action",)
    search_help_text = _("The exact action, for example care_relationship.confirm.")
    ordering = ("-id",)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # Actions are lower-case identifiers: compare as they are, without UPPER() on every row.
        return queryset.filter(action=term), False


@admin.register(AuditChainLink)
class AuditChainLinkAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = ("position", "event_id", "chain_hash")
    search_fields = ("=event_id",)
    search_help_text = _("The id of an audit event.")
    ordering = ("-position",)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if not term.isdigit():
            return queryset.none(), False
        return queryset.filter(event_id=int(term)), False


@admin.register(AuditSeal)
class AuditSealAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "sealed_at", "last_position", "event_count", "seal_hash")
    search_fields = ("=seal_hash",)
    date_hierarchy = "sealed_at"
    ordering = ("-id",)


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    """Written by the sign-in only; an administrator may delete rows to lift a lockout early."""

    list_display = ("username", "occurred_at", "client_address")
    search_fields = ("=username",)
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at",)
    readonly_fields = ("username", "occurred_at", "client_address")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
