"""Organisation administrators in the Django admin, with django-guardian object permissions.

The role. A staff user holding the object permission ``kanta.manage_organisation`` on an organisation manages
that organisation in the admin: its own record (names only), its units, its registers and the professionals
working in its units. Nothing of any other organisation, and never persons, guardianships, care
relationships or the audit log. They need no model-level permission: the object permission *is* the grant.

Granting it (a superuser, in ``manage.py shell`` or on the organisation's "Object permissions" page)::

    from guardian.shortcuts import assign_perm, remove_perm

    user.is_staff = True
    user.save(update_fields=["is_staff"])
    assign_perm("kanta.manage_organisation", user, organisation)
    # and to take it away:
    remove_perm("kanta.manage_organisation", user, organisation)

The permission may also be given to a group. It covers one organisation, not the ones below it *(chosen:
explicit grants are easier to audit than inherited ones)*.

A user holding the model-level permission (a superuser, or staff given e.g. ``kanta.change_unit``) acts
nationally: the organisation scope applies only to those without it. The same helper answers "which rows may
this user see" (``get_queryset``) and "may they act on this row" (``has_*_permission``), so the list and the
object check cannot drift apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from django.contrib import admin
from django.contrib.admin.utils import NestedObjects
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db import router
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from guardian.shortcuts import get_objects_for_user

from kanta.models import Organisation, Professional, Unit

MANAGE_ORGANISATION = "kanta.manage_organisation"


def managed_organisation_ids(request: HttpRequest) -> frozenset[int]:
    """Ids of the organisations the signed-in user manages by object permission, computed once per request.

    Only object permissions count (``accept_global_perms=False``): a model-level grant is national scope and
    is handled by the model-permission checks, not by this list.
    """
    cached = getattr(request, "_kanta_managed_organisation_ids", None)
    if cached is not None:
        return cached
    user = request.user
    ids: frozenset[int] = frozenset()
    if user.is_active and user.is_staff:
        ids = frozenset(
            get_objects_for_user(
                user,
                MANAGE_ORGANISATION,
                klass=Organisation,
                accept_global_perms=False,
                with_superuser=False,
            ).values_list("pk", flat=True)
        )
    request._kanta_managed_organisation_ids = ids
    return ids


class OrganisationScopedAdminMixin:
    """ModelAdmin mixin: national access with model permissions, one organisation's rows with the object one.

    Subclasses say how a row belongs to an organisation: ``organisation_field`` for a plain foreign key, or
    override ``organisation_ids_of`` / ``organisation_ids_in_form`` / ``scope_queryset`` (Professional works
    in units of possibly several organisations).
    """

    organisation_field = "organisation"

    # -- which organisation(s) a row belongs to ------------------------------------------------------------

    def organisation_ids_of(self, obj) -> set[int]:
        value = getattr(obj, f"{self.organisation_field}_id", None)
        return {value} if value is not None else set()

    def organisation_ids_in_form(self, form) -> set[int]:
        """The organisations the row will belong to once the submitted form is saved."""
        return self.organisation_ids_of(form.instance)

    def scope_queryset(self, queryset: QuerySet, organisation_ids: Collection[int]) -> QuerySet:
        return queryset.filter(**{f"{self.organisation_field}__in": organisation_ids})

    # -- national or organisation scope --------------------------------------------------------------------

    def _has_model_permission(self, request: HttpRequest, action: str) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")

    def sees_all_organisations(self, request: HttpRequest) -> bool:
        return self._has_model_permission(request, "view") or self._has_model_permission(request, "change")

    def is_organisation_scoped(self, request: HttpRequest) -> bool:
        """True when what this user may write is limited to the organisations they manage."""
        return not self._has_model_permission(request, "change")

    def _manages(self, request: HttpRequest, obj, *, entirely: bool = False) -> bool:
        managed = managed_organisation_ids(request)
        if not managed:
            return False
        if obj is None:
            return True
        ids = self.organisation_ids_of(obj)
        if not ids:
            return False
        return ids <= managed if entirely else not ids.isdisjoint(managed)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if self.sees_all_organisations(request):
            return queryset
        return self.scope_queryset(queryset, managed_organisation_ids(request))

    def get_object(self, request: HttpRequest, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and not self.sees_all_organisations(request):
            # Another organisation's row answers exactly like a missing one (CONVENTIONS.md).
            raise Http404
        return obj

    # -- permissions: the model permission, or the object permission on the row's organisation -------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or bool(managed_organisation_ids(request))

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) or self._manages(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) or self._manages(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) or bool(managed_organisation_ids(request))

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Deleting reaches every organisation the row belongs to, so all of them must be managed.
        return super().has_delete_permission(request, obj) or self._manages(request, obj, entirely=True)

    # -- forms: offer only managed organisations and units, and refuse anything else on save ---------------

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.related_model is Organisation and self.is_organisation_scoped(request):
            kwargs["queryset"] = Organisation.objects.filter(pk__in=managed_organisation_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        if db_field.related_model is Unit and self.is_organisation_scoped(request):
            kwargs["queryset"] = Unit.objects.filter(organisation__in=managed_organisation_ids(request))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        # The limited choices already reject another organisation as a form error; this is the backstop
        # should a subclass ever widen a field.
        if self.is_organisation_scoped(request):
            ids = self.organisation_ids_in_form(form)
            if not ids or not ids <= managed_organisation_ids(request):
                raise PermissionDenied
        super().save_model(request, obj, form, change)

    def get_deleted_objects(self, objs, request: HttpRequest):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if self.is_organisation_scoped(request):
            # The confirmation page names the related rows it would delete or that block the deletion. Rows of
            # models without an admin, or that this user may delete, are shown by name, and a name may be a
            # patient's: an organisation admin may not browse persons, so they see counts per model only.
            deleted = [f"{capfirst(name)}: {count}" for name, count in model_count.items()]
            if protected:
                collector = NestedObjects(using=router.db_for_write(self.model))
                collector.collect(objs)
                counts = Counter(str(capfirst(obj._meta.verbose_name_plural)) for obj in collector.protected)
                protected = [f"{name}: {count}" for name, count in counts.items()]
        return deleted, model_count, perms_needed, protected


class ProfessionalScopeMixin(OrganisationScopedAdminMixin):
    """A professional belongs to the organisations of the units they work in, possibly several."""

    def organisation_ids_of(self, obj) -> set[int]:
        # Always from the database: a prefetched, scope-filtered ``units`` would hide other organisations.
        if obj.pk is None:
            return set()
        return set(Unit.objects.filter(professionals=obj).values_list("organisation_id", flat=True))

    def organisation_ids_in_form(self, form) -> set[int]:
        return {unit.organisation_id for unit in form.cleaned_data.get("units", ())}

    def scope_queryset(self, queryset: QuerySet, organisation_ids: Collection[int]) -> QuerySet:
        # EXISTS rather than a join: a professional in two managed units must be listed once.
        return queryset.filter(
            Exists(
                Professional.units.through.objects.filter(
                    professional_id=OuterRef("pk"), unit__organisation_id__in=organisation_ids
                )
            )
        )

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        # The form offered only the managed organisations' units; keep the units elsewhere that the
        # organisation admin could neither see nor choose.
        kept: list[int] = []
        if change and self.is_organisation_scoped(request):
            kept = list(
                form.instance.units.exclude(organisation__in=managed_organisation_ids(request)).values_list(
                    "pk", flat=True
                )
            )
        super().save_related(request, form, formsets, change)
        if kept:
            form.instance.units.add(*kept)


class OrganisationListFilter(admin.SimpleListFilter):
    """Filter by organisation, offering only the organisations the user may see (no names of others)."""

    title = _("organisation")
    parameter_name = "organisation"

    def __init__(self, request, params, model, model_admin) -> None:
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        organisations = Organisation.objects.only("pk", "name_fi", "name_sv").order_by("name_fi")
        if not model_admin.sees_all_organisations(request):
            organisations = organisations.filter(pk__in=managed_organisation_ids(request))
        return [(str(organisation.pk), str(organisation)) for organisation in organisations]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        # A non-numeric value raises here and the changelist answers with its "incorrect lookup" redirect.
        return self.model_admin.scope_queryset(queryset, [int(self.value())])
