"""Forms of the MyKanta pages."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from citizen.selectors import ProhibitionTargets
from consents.models import ConsentSector, ProhibitionScope
from consents.selectors import prohibition_target_label, register_label
from kanta import identity_code
from kanta.models import Language


class IdentityCodeForm(forms.Form):
    """The test identification page: a test person's identity code, typed or chosen from the list."""

    identity_code = forms.CharField(
        label=_("Personal identity code"),
        max_length=20,
        help_text=_("A test identity code, for example 010594Y9032."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )

    def clean_identity_code(self) -> str:
        parsed = identity_code.parse(self.cleaned_data["identity_code"])
        if not parsed.is_temporary:
            # The page stands in for the national identification service's test environment: test persons only.
            raise ValidationError(
                _(
                    "Only test identity codes can be used here: the individual number (digits 8 to 10) must be "
                    "between 900 and 999."
                ),
                code="not_test_code",
            )
        return parsed.code


class PreferredLanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Preferred language"), choices=Language.choices)


# Dates are typed as 2024-05-31 (what a browser's date input sends) or as 31.5.2024.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]


def _date_field(label) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date, for example 31.5.2024.")},
    )


class ActOnBehalfForm(forms.Form):
    """The "Whose matters" switcher: the public id of the person chosen (the signed-in person for their own)."""

    person = forms.UUIDField()


class DateRangeForm(forms.Form):
    """The records' date search; both ends optional, the page fills in the last 12 months."""

    since = _date_field(_("From"))
    until = _date_field(_("Until"))

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date cannot be before the start date."))
        return cleaned


class ServiceTaskForm(forms.Form):
    service_task = forms.ChoiceField(label=_("Service task"), required=False)

    def __init__(self, *args, choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_task"].choices = [("", _("All service tasks")), *choices]


class ConsentChangeForm(forms.Form):
    GIVE = "give"
    WITHDRAW = "withdraw"

    sector = forms.ChoiceField(choices=ConsentSector.choices)
    change = forms.ChoiceField(choices=[(GIVE, GIVE), (WITHDRAW, WITHDRAW)])


class ResearchContactForm(forms.Form):
    prohibited = forms.TypedChoiceField(
        choices=[("yes", "yes"), ("no", "no")], coerce=lambda value: value == "yes"
    )


class ProhibitionForm(forms.Form):
    """What a prohibition covers, chosen among the person's own service events, counties and registers.

    The choices are the public ids of the targets the page offers (citizen.selectors.prohibition_targets);
    `target()` gives the chosen object for consents.services.
    """

    TARGET_FIELDS = {
        ProhibitionScope.SERVICE_EVENT: "service_event",
        ProhibitionScope.COUNTY: "organisation",
        ProhibitionScope.REGISTER: "register",
        ProhibitionScope.OCCUPATIONAL_HEALTH: "occupational_register",
    }

    scope = forms.ChoiceField(
        label=_("What the prohibition covers"), choices=ProhibitionScope.choices, widget=forms.RadioSelect
    )
    service_event = forms.ChoiceField(label=_("Service event"), required=False)
    organisation = forms.ChoiceField(label=_("Wellbeing services county"), required=False)
    register = forms.ChoiceField(label=_("Register"), required=False)
    occupational_register = forms.ChoiceField(label=_("Occupational health care register"), required=False)
    emergency_permission = forms.BooleanField(
        label=_("Allow the data to be used in an emergency"),
        help_text=_(
            "If you are unconscious or in a comparable state, a professional treating you may then see the "
            "data despite the prohibition."
        ),
        required=False,
    )

    def __init__(self, *args, targets: ProhibitionTargets, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.targets = targets
        self._options = {
            "service_event": {
                key: prohibition_target_label(scope=ProhibitionScope.SERVICE_EVENT, service_event=event)
                for key, event in targets.service_events.items()
            },
            "organisation": {key: county.name for key, county in targets.counties.items()},
            "register": {key: register_label(register) for key, register in targets.registers.items()},
            "occupational_register": {
                key: register_label(register) for key, register in targets.occupational_registers.items()
            },
        }
        for name, options in self._options.items():
            ordered = sorted(options.items(), key=lambda item: item[1])
            if name == "service_event":
                ordered = list(options.items())  # newest first, as the records page lists them
            self.fields[name].choices = [("", _("Choose…")), *ordered]

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        needed = self.TARGET_FIELDS.get(scope)
        for name in self.TARGET_FIELDS.values():
            if name != needed:
                cleaned[name] = ""  # only the chosen kind's target counts
        if needed and not cleaned.get(needed):
            if self._options[needed]:
                self.add_error(needed, _("Choose what the prohibition covers."))
            else:
                self.add_error(
                    "scope",
                    _(
                        "You have no data of this kind in Kanta to prohibit. Choose another kind of prohibition."
                    ),
                )
        return cleaned

    def target(self) -> dict:
        """The keyword arguments naming the target, for prohibition_preview and prohibition_add."""
        scope = self.cleaned_data["scope"]
        key = self.cleaned_data.get(self.TARGET_FIELDS.get(scope, ""), "")
        match scope:
            case ProhibitionScope.SERVICE_EVENT:
                return {"service_event": self.targets.service_events[key]}
            case ProhibitionScope.COUNTY:
                return {"organisation": self.targets.counties[key]}
            case ProhibitionScope.REGISTER:
                return {"register": self.targets.registers[key]}
            case ProhibitionScope.OCCUPATIONAL_HEALTH:
                return {"register": self.targets.occupational_registers[key]}
        return {}

    def choice(self) -> dict:
        """The whole choice as plain values: what the preview carries in hidden fields and signs."""
        return {
            name: self.cleaned_data.get(name) or ""
            for name in ("scope", "service_event", "organisation", "register", "occupational_register")
        } | {"emergency_permission": bool(self.cleaned_data.get("emergency_permission"))}


class LivingWillForm(forms.Form):
    text = forms.CharField(
        label=_("Your living will"),
        help_text=_(
            "Write how you want to be treated if you cannot say it yourself, for example about resuscitation, "
            "life-sustaining treatment and pain relief."
        ),
        widget=forms.Textarea(attrs={"rows": 12}),
        error_messages={"required": _("Write your living will before saving it.")},
    )


class OrganDonationWillForm(forms.Form):
    consents_to_donation = forms.TypedChoiceField(
        label=_("Do you consent to donating your organs and tissues after your death?"),
        choices=[("yes", _("Yes, I consent to donation")), ("no", _("No, I do not consent to donation"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether you consent to donation.")},
    )
    restrictions = forms.CharField(
        label=_("Restrictions or additional information"),
        help_text=_("For example organs or tissues you do not want to donate. Optional."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class DisclosureRequestForm(forms.Form):
    """A request for disclosure log entries older than two years."""

    since = _date_field(_("From"))
    until = _date_field(_("Until"))
    details = forms.CharField(
        label=_("Anything else we should know"),
        help_text=_("Optional, for example the organisation you are interested in."),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, cutoff: datetime.date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cutoff = cutoff
        for name in ("since", "until"):
            self.fields[name].required = True
            self.fields[name].error_messages["required"] = _("Enter a date, for example 31.5.2024.")

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and since >= self.cutoff:
            self.add_error(
                "since",
                _(
                    "Entries from the last two years are shown on the page itself. Request only a period "
                    "that begins before %(date)s."
                )
                % {"date": formats.date_format(self.cutoff, "SHORT_DATE_FORMAT")},
            )
        if since and until and until < since:
            self.add_error("until", _("The end date cannot be before the start date."))
        return cleaned
