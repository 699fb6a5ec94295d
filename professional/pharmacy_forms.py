"""Forms of the pharmacy pages: they validate what was typed; prescriptions.dispensing decides the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from prescriptions.dispensing import LOCK_REASON_MAX, MESSAGE_TO_PHARMACY_MAX
from prescriptions.models import PrescriptionSummary
from professional.forms import DATE_WIDGET, PersonSearchForm

# The identity-code search: what can be dispensed now, or everything still open from a given date on.
SCOPE_LEFT = "left"
SCOPE_OPEN = "open"
SCOPE_CHOICES = [
    (SCOPE_LEFT, _("Prescriptions with medicine left that can be dispensed now")),
    (SCOPE_OPEN, _("All undispensed and partly dispensed prescriptions prescribed since a date")),
]


def _since_field() -> forms.DateField:
    return forms.DateField(
        label=_("Prescribed since"),
        required=False,
        help_text=_("Only for the search of all undispensed and partly dispensed prescriptions."),
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
    )


class ScopeMixin:
    """The scope of the identity-code search and its date, checked together."""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == SCOPE_LEFT:
            cleaned["since"] = None  # the default search is not limited by date
        return cleaned


class PharmacySearchForm(ScopeMixin, PersonSearchForm):
    """The identity-code search: the code is posted, never put in a URL (see professional.views.home)."""

    scope = forms.ChoiceField(
        label=_("Show"), choices=SCOPE_CHOICES, initial=SCOPE_LEFT, widget=forms.RadioSelect
    )
    since = _since_field()


class PrescriptionFilterForm(ScopeMixin, forms.Form):
    """The same choice on the person's list page, where it travels in the query string (no code in it)."""

    scope = forms.ChoiceField(
        label=_("Show"), choices=SCOPE_CHOICES, initial=SCOPE_LEFT, widget=forms.RadioSelect, required=False
    )
    since = _since_field()

    def clean_scope(self) -> str:
        return self.cleaned_data.get("scope") or SCOPE_LEFT


def normalised_barcode(value: str) -> str:
    """A barcode as printed on the summary, however it was typed or scanned (spaces, hyphens, case)."""
    return "".join((value or "").split()).replace("-", "").upper()


class SummarySearchForm(forms.Form):
    """The barcode of a printed prescription summary. A scanner types the code and presses Enter."""

    barcode = forms.CharField(
        label=_("Barcode of the prescription summary"),
        help_text=_("Scan the barcode or type the code printed below it."),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
        error_messages={"required": _("Scan or type the barcode of the summary.")},
    )

    def clean_barcode(self) -> str:
        code = normalised_barcode(self.cleaned_data["barcode"])
        if not code or len(code) > PrescriptionSummary._meta.get_field("barcode").max_length:
            raise forms.ValidationError(
                _("This is not the barcode of a prescription summary. Check the code and try again."),
                code="malformed",
            )
        return code


class PriceField(forms.DecimalField):
    """Euros with either decimal sign: a Finnish till writes 12,50 whatever the page's language."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace("\N{NO-BREAK SPACE}", "").replace(" ", "").replace(",", ".")
        return super().to_python(value)


class DispenseForm(forms.Form):
    """One dispensing of one prescription: a product of those it may be dispensed with, and how many."""

    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=None,
        to_field_name="vnr",
        empty_label=_("Choose the product"),
        error_messages={
            "required": _("Choose the product to dispense."),
            "invalid_choice": _("Choose one of the products this prescription may be dispensed with."),
        },
    )
    packages = forms.IntegerField(
        label=_("Number of packages"),
        min_value=1,
        max_value=999,
        initial=1,
        error_messages={
            "required": _("Give the number of packages."),
            "invalid": _("Give the number of packages as a whole number."),
            "min_value": _("Give the number of packages as a whole number, at least 1."),
        },
    )
    price = PriceField(
        label=_("Price (€)"),
        required=False,
        min_value=0,
        max_digits=10,
        decimal_places=2,
        help_text=_("Leave empty to use the retail price of the medicine database."),
        # text, not number: a number input refuses the decimal comma in some browsers
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"min_value": _("The price cannot be negative.")},
    )

    def __init__(self, *args, products, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        # The label is what the pharmacist checks against the package in hand.
        self.fields["product"].label_from_instance = lambda product: (
            f"{product.name} {product.strength} {product.package_size} (VNR {product.vnr})"
        )


class LockForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the lock"),
        max_length=LOCK_REASON_MAX,
        help_text=_("What the prescriber should correct. The lock is lifted by the prescriber's correction."),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the prescription is locked.")},
    )


class TechnicalCorrectionForm(forms.Form):
    """Formatting only: letter case and spacing of the dosage text and the message to the pharmacy."""

    dosage = forms.CharField(
        label=_("Dosage instructions"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("The dosage instructions cannot be empty.")},
    )
    message_to_pharmacy = forms.CharField(
        label=_("Message to the pharmacy"),
        required=False,
        max_length=MESSAGE_TO_PHARMACY_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        label=_("Note for the history"),
        required=False,
        max_length=200,
        help_text=_("Optional: what was tidied up."),
    )
