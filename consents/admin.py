"""The Django admin for declarations and mandates.

Declarations (notice acknowledgements, consents, prohibitions, the research-contact prohibition, wills) are
history: every change to them goes through consents.services, which keeps who, when and through which channel
and writes the audit event. The admin therefore only shows them: nobody adds, edits or deletes a row here.

Mandates are entered by administrators, as e-authorizations are; the admin form runs the same rules as
consents.services and saves through it, so an admin's change is audited like any other.

Scale: one row or more per person of 5.5 million. Lists search by the exact identity code (the unique index),
never count the whole table, and order by the primary key.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from consents import services
from consents.models import (
    DisclosureConsent,
    InformationNotice,
    LivingWill,
    Mandate,
    OrganDonationWill,
    Prohibition,
    ResearchContactProhibition,
)
from consents.selectors import prohibition_target_label
from kanta import audit
from kanta.admin import LargeTableAdmin, identity_code_from_search
from kanta.errors import RuleViolation
from kanta.models import Person


def _persons_with_code(term: str):
    code = identity_code_from_search(term.strip()) or term.strip().upper()
    return Person.objects.filter(identity_code=code)


class WithdrawnFilter(admin.SimpleListFilter):
    title = _("withdrawn")
    parameter_name = "withdrawn"

    def lookups(self, request, model_admin):
        return [("no", _("in force")), ("yes", _("withdrawn"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(withdrawn_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(withdrawn_at__isnull=False)
        return queryset


class DeclarationAdmin(LargeTableAdmin):
    """History rows: shown, never added, changed or deleted through the admin."""

    actions = None  # no bulk "delete selected"
    list_display = ("person", "made_at", "channel", "unit", "withdrawn_at", "withdrawal_channel")
    list_select_related = ("person", "unit")
    list_filter = (WithdrawnFilter, "channel", "withdrawal_channel", "made_at")
    search_fields = ("=person__identity_code",)
    search_help_text = _("The personal identity code of the person (exact).")
    # A raw id, never a select over millions of persons or users, should a form ever be editable.
    raw_id_fields = ("person", "made_by", "withdrawn_by", "unit")
    ordering = ("-id",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.opts.fields]

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        # Through the person's unique code, then the person index of the declaration table.
        return queryset.filter(person__in=_persons_with_code(search_term)), False


@admin.register(InformationNotice)
class InformationNoticeAdmin(DeclarationAdmin):
    list_display = ("person", "version", *DeclarationAdmin.list_display[1:])
    list_filter = ("version", *DeclarationAdmin.list_filter)


@admin.register(DisclosureConsent)
class DisclosureConsentAdmin(DeclarationAdmin):
    list_display = ("person", "sector", *DeclarationAdmin.list_display[1:])
    list_filter = ("sector", *DeclarationAdmin.list_filter)


@admin.register(Prohibition)
class ProhibitionAdmin(DeclarationAdmin):
    list_display = ("person", "scope", "target", "emergency_permission", *DeclarationAdmin.list_display[1:])
    list_select_related = (
        "person",
        "unit",
        "service_event__register__controller",
        "organisation",
        "register__controller",
    )
    list_filter = ("scope", "emergency_permission", *DeclarationAdmin.list_filter)
    raw_id_fields = (*DeclarationAdmin.raw_id_fields, "service_event", "organisation", "register")

    @admin.display(description=_("covers"))
    def target(self, obj) -> str:
        return prohibition_target_label(
            scope=obj.scope,
            service_event=obj.service_event,
            organisation=obj.organisation,
            register=obj.register,
        )


@admin.register(ResearchContactProhibition)
class ResearchContactProhibitionAdmin(DeclarationAdmin):
    pass


@admin.register(LivingWill)
class LivingWillAdmin(DeclarationAdmin):
    pass


@admin.register(OrganDonationWill)
class OrganDonationWillAdmin(DeclarationAdmin):
    list_display = ("person", "consents_to_donation", *DeclarationAdmin.list_display[1:])
    list_filter = ("consents_to_donation", *DeclarationAdmin.list_filter)


# -- mandates ------------------------------------------------------------------------------------------------


class MandateAdminForm(forms.ModelForm):
    """Shows the services' rules (adults, not the same person, a valid period, no overlap) as form errors."""

    class Meta:
        model = Mandate
        fields = ("principal", "agent", "scope", "starts_on", "ends_on")

    def clean(self):
        cleaned = super().clean()
        principal = self.instance.principal if self.instance.pk else cleaned.get("principal")
        agent = self.instance.agent if self.instance.pk else cleaned.get("agent")
        values = [principal, agent, cleaned.get("scope"), cleaned.get("starts_on"), cleaned.get("ends_on")]
        if any(value is None for value in values) or self.errors:
            return cleaned  # the field errors say what is missing
        try:
            services.mandate_validate(
                principal=principal,
                agent=agent,
                scope=cleaned["scope"],
                starts_on=cleaned["starts_on"],
                ends_on=cleaned["ends_on"],
                mandate=self.instance if self.instance.pk else None,
            )
        except RuleViolation as violation:
            field = violation.field if violation.field in self.fields else None
            self.add_error(field, violation.message)
        return cleaned


@admin.register(Mandate)
class MandateAdmin(LargeTableAdmin):
    form = MandateAdminForm
    list_display = ("principal", "agent", "scope", "starts_on", "ends_on")
    list_select_related = ("principal", "agent")
    list_filter = ("scope", "starts_on", "ends_on")
    search_fields = ("=principal__identity_code", "=agent__identity_code")
    search_help_text = _("The personal identity code of the person giving or holding the mandate (exact).")
    raw_id_fields = ("principal", "agent")
    readonly_fields = ("public_id",)
    ordering = ("-id",)

    def get_readonly_fields(self, request, obj=None):
        # Who gives and who holds a mandate is its identity: a different pair is a new mandate.
        return ("public_id", "principal", "agent") if obj is not None else ("public_id",)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Acting-on-behalf events in the audit log rest on the mandate's period: end it, never delete it.
        return False

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        persons = _persons_with_code(search_term)
        return (queryset.filter(principal__in=persons) | queryset.filter(agent__in=persons)), False

    def save_model(self, request, obj, form, change):
        actor = audit.Actor.from_request(request)
        if change:
            services.mandate_update(
                actor=actor, mandate=obj, scope=obj.scope, starts_on=obj.starts_on, ends_on=obj.ends_on
            )
            return
        saved = services.mandate_create(
            actor=actor,
            principal=obj.principal,
            agent=obj.agent,
            scope=obj.scope,
            starts_on=obj.starts_on,
            ends_on=obj.ends_on,
        )
        # The admin logs the addition and redirects with the instance it holds.
        obj.pk, obj.public_id = saved.pk, saved.public_id
        obj._state.adding = False
        obj._state.db = saved._state.db
