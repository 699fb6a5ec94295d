"""Forms of the MyKanta prescription pages: the list's filters (which also choose what the printed summary
holds), the renewal request, the per-prescription denial and the cross-border consent."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from citizen.forms import DATE_INPUT_FORMATS
from kanta.models import Unit
from prescriptions import rules
from prescriptions.models import Prescription


def _date_field(label) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date, for example 31.5.2024.")},
    )


class PrescriptionFilterForm(forms.Form):
    """Which prescriptions the list shows and the printed summary holds; every filter is optional."""

    ALL = "all"
    EXPIRING = "expiring"
    MEDICINE_LEFT = "medicine_left"
    RENEWAL = "renewal"
    FIELDS = ("show", "since", "until")

    show = forms.ChoiceField(
        label=_("Prescriptions to show"),
        required=False,
        choices=[
            (ALL, _("All prescriptions")),
            (EXPIRING, _("Expiring within 2 months")),
            (MEDICINE_LEFT, _("With medicine left")),
            (RENEWAL, _("With a renewal request")),
        ],
        error_messages={"invalid_choice": _("Choose one of the options.")},
    )
    since = _date_field(_("Prescribed from"))
    until = _date_field(_("Prescribed until"))

    @classmethod
    def from_query(cls, query) -> PrescriptionFilterForm:
        """Bound when the query holds any filter (a page number alone is no filter)."""
        if any(name in query for name in cls.FIELDS):
            return cls(query)
        return cls(initial={"show": cls.ALL})

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date cannot be before the start date."))
        return cleaned

    def gate_filters(self) -> dict:
        """The keyword arguments of consents.policy.Gate.prescriptions for the chosen filters."""
        if not self.is_bound:
            return {}
        data = self.cleaned_data
        show = data.get("show") or self.ALL
        return {
            "since": data.get("since"),
            "until": data.get("until"),
            "expiring_within_months": rules.EXPIRING_SOON_MONTHS if show == self.EXPIRING else None,
            "with_medicine_left": show == self.MEDICINE_LEFT,
            "renewal_requested": show == self.RENEWAL,
        }

    def query(self) -> str:
        """The filters as typed, for links that keep them (the next page, the PDF summary)."""
        if not self.is_bound:
            return ""
        return urlencode({name: self.data[name] for name in self.FIELDS if self.data.get(name)})

    def description(self) -> list[str]:
        """The chosen filters in words, printed on the summary so that its reader knows what it holds."""
        if not self.is_bound:
            return []
        data = self.cleaned_data
        parts = []
        show = data.get("show") or self.ALL
        if show != self.ALL:
            parts.append(str(dict(self.fields["show"].choices)[show]))
        if data.get("since"):
            parts.append(
                str(_("prescribed on or after %(date)s"))
                % {"date": formats.date_format(data["since"], "j.n.Y")}
            )
        if data.get("until"):
            parts.append(
                str(_("prescribed on or before %(date)s"))
                % {"date": formats.date_format(data["until"], "j.n.Y")}
            )
        return parts


class RenewalRequestForm(forms.Form):
    """Prescriptions to renew and the unit that receives the request.

    Every prescription the page lists is a choice, so that one that cannot be renewed is refused with the
    reason rules.renewal_refusal_reason gives (the same function the service asks), not a generic error.
    """

    prescriptions = forms.MultipleChoiceField(
        label=_("Prescriptions to renew"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one prescription to renew."),
            "invalid_choice": _("Choose among the prescriptions listed."),
        },
    )
    unit = forms.ChoiceField(
        label=_("Unit that receives the request"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the unit that receives the request."),
            "invalid_choice": _("Choose one of the units listed."),
        },
    )
    phone = forms.CharField(
        label=_("Phone number for the outcome"),
        help_text=_("Optional. A Finnish mobile number, for example 040 1234567."),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def __init__(
        self, *args, rows: list[tuple[Prescription, str | None]], units: list[Unit], **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        self._prescriptions = {str(p.public_id): (p, reason) for p, reason in rows}
        self._units = {str(unit.public_id): unit for unit in units}
        self.fields["prescriptions"].choices = [
            (key, p.medicine_name) for key, (p, _r) in self._prescriptions.items()
        ]
        self.fields["unit"].choices = [
            (key, f"{unit.name} ({unit.organisation.name})") for key, unit in self._units.items()
        ]

    def clean_prescriptions(self) -> list[str]:
        chosen = self.cleaned_data["prescriptions"]
        errors = [
            ValidationError(
                _("%(medicine)s: %(reason)s"),
                params={"medicine": prescription.medicine_name, "reason": reason},
                code="not_renewable",
            )
            for prescription, reason in (self._prescriptions[key] for key in chosen)
            if reason
        ]
        if errors:
            raise ValidationError(errors)
        return chosen

    def clean_phone(self) -> str:
        try:
            return rules.normalise_phone(self.cleaned_data["phone"])
        except ValueError as error:
            raise ValidationError(str(error), code="phone") from None

    def chosen_prescriptions(self) -> list[Prescription]:
        return [self._prescriptions[key][0] for key in self.cleaned_data["prescriptions"]]

    def chosen_unit(self) -> Unit:
        return self._units[self.cleaned_data["unit"]]

    def checked(self) -> set[str]:
        """The prescriptions ticked in the submitted form, so that a rejected form keeps them ticked."""
        return set(self.data.getlist("prescriptions")) if self.is_bound else set()


class PrescriptionDenialForm(forms.Form):
    ADD = "add"
    WITHDRAW = "withdraw"

    change = forms.ChoiceField(choices=[(ADD, ADD), (WITHDRAW, WITHDRAW)])
    emergency_permission = forms.BooleanField(
        label=_("Allow the prescription to be seen in an emergency"),
        help_text=_(
            "If you are unconscious or in a comparable state, a professional treating you may then see it "
            "despite the denial."
        ),
        required=False,
    )


class CrossBorderConsentForm(forms.Form):
    GIVE = "give"
    WITHDRAW = "withdraw"

    change = forms.ChoiceField(choices=[(GIVE, GIVE), (WITHDRAW, WITHDRAW)])
