"""Forms of the prescriber's prescription pages: they check what was typed; prescriptions.services decides.

The rules (who may prescribe what, validity, amounts, renewal windows) live in prescriptions/rules.py and
prescriptions/services.py. These forms only make sure the values have the right shape, so that the service
can name what a rule refuses and the page can show it next to the field with everything typed kept.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from prescriptions import services
from prescriptions.models import AmountKind, InvalidationCategory, Prescription
from professional.writing import plain_number

DATE_WIDGET = {"type": "date"}
SEARCH_MAX = 100

# What prescriptions.services calls a field, and what these forms call it.
SERVICE_FIELDS = {"form": "pharmaceutical_form"}
# The fields a correction or a renewal restates: the service takes them by these names.
CONTENT_FIELDS = (
    "dosage",
    "daily_quantity",
    "amount_kind",
    "amount_packages",
    "amount_quantity",
    "amount_treatment_days",
    "purpose",
    "message_to_pharmacy",
    "substitution_allowed",
)
AMOUNT_FIELDS = ("amount_kind", "amount_packages", "amount_quantity", "amount_treatment_days")


def _date_field(label, **kwargs) -> forms.DateField:
    # An HTML date input sends ISO dates and shows them in the browser's own format.
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"), **kwargs
    )


class ProductSearchForm(forms.Form):
    q = forms.CharField(
        label=_("ATC code or product name"),
        max_length=SEARCH_MAX,
        required=False,
        help_text=_("For example C08CA01, C08 or amlodipine."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "spellcheck": "false"}),
    )


class _ContentForm(forms.Form):
    """Dosage and amount, purpose, message and substitution: what prescribing, correcting and renewing share."""

    dosage = forms.CharField(
        label=_("Dosage instructions"),
        max_length=services.DOSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("As the patient reads it on the package label, for example “1 tablet in the morning”."),
        error_messages={"required": _("Give the dosage instructions.")},
    )
    daily_quantity = forms.DecimalField(
        label=_("Units per day"),
        min_value=Decimal("0.01"),
        max_digits=8,
        decimal_places=2,
        localize=True,
        help_text=_(
            "Tablets, millilitres… a day at the usual dose; the treatment period is counted with it."
        ),
        error_messages={"required": _("Give the daily amount.")},
    )
    amount_kind = forms.ChoiceField(
        label=_("Amount given as"),
        choices=[(value, capfirst(label)) for value, label in AmountKind.choices],
        initial=AmountKind.PACKAGES,
        widget=forms.RadioSelect,
        error_messages={"required": _("Give the amount as packages, a quantity or a treatment period.")},
    )
    amount_packages = forms.IntegerField(
        label=_("Number of packages"), required=False, min_value=1, max_value=services.COUNT_MAX
    )
    amount_quantity = forms.DecimalField(
        label=_("Quantity (units)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        localize=True,
    )
    amount_treatment_days = forms.IntegerField(
        label=_("Treatment period (days)"), required=False, min_value=1, max_value=services.COUNT_MAX
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=services.PURPOSE_MAX,
        help_text=_(
            "What the medicine is for, as the patient reads it, for example “for high blood pressure”."
        ),
        error_messages={"required": _("Give the purpose of the medicine.")},
    )
    message_to_pharmacy = forms.CharField(
        label=_("Message to the pharmacy"),
        max_length=services.MESSAGE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    substitution_allowed = forms.BooleanField(
        label=_("Generic substitution allowed"), required=False, initial=True
    )

    def clean(self):
        cleaned = super().clean()
        # Only the amount of the chosen kind is sent: a stale value of another kind must not look like a change.
        kind = cleaned.get("amount_kind")
        for name, for_kind in (
            ("amount_packages", AmountKind.PACKAGES),
            ("amount_quantity", AmountKind.QUANTITY),
            ("amount_treatment_days", AmountKind.TREATMENT_PERIOD),
        ):
            if kind != for_kind:
                cleaned[name] = None
        return cleaned

    def main_fields(self):
        return [self[name] for name in ("dosage", "daily_quantity")]

    def amount_fields(self):
        kinds = {value for value, _label in self.fields["amount_kind"].choices}
        names = [name for name in AMOUNT_FIELDS if name != "amount_kind"]
        if AmountKind.PACKAGES not in kinds:
            names.remove("amount_packages")
        return [self[name] for name in names]

    def other_fields(self):
        return [
            self[name] for name in ("purpose", "message_to_pharmacy", "valid_until") if name in self.fields
        ]

    def without_packages(self) -> None:
        """A prescription without a package counts its amount in units or days, never in packages."""
        field = self.fields["amount_kind"]
        field.choices = [choice for choice in field.choices if choice[0] != AmountKind.PACKAGES]

    def content(self) -> dict:
        return {name: self.cleaned_data[name] for name in CONTENT_FIELDS if name in self.cleaned_data}


class PrescribeForm(_ContentForm):
    """A new prescription by package (the product is chosen on the search page) or by active substance."""

    active_substance = forms.CharField(label=_("Active substance"), max_length=services.NAME_MAX)
    strength = forms.CharField(label=_("Strength"), max_length=services.STRENGTH_MAX)
    pharmaceutical_form = forms.CharField(label=_("Pharmaceutical form"), max_length=services.FORM_MAX)
    atc = forms.CharField(
        label=_("ATC code"),
        max_length=8,
        help_text=_("The complete code, for example C08CA01."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    narcotic = forms.BooleanField(label=_("Narcotic"), required=False)
    pkv = forms.BooleanField(label=_("CNS-acting (PKV)"), required=False)
    special_permit = forms.BooleanField(label=_("Special permit product"), required=False)
    valid_until = _date_field(
        _("Valid until"),
        help_text=_(
            "Leave empty for the longest validity: 2 years, 1 year for narcotics, CNS-acting (PKV) and "
            "special-permit medicines. You may only shorten it."
        ),
    )

    SUBSTANCE_FIELDS = ("active_substance", "strength", "pharmaceutical_form", "atc")
    FLAG_FIELDS = ("narcotic", "pkv", "special_permit")

    def __init__(self, *args, by_product: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.by_product = by_product
        if by_product:
            # The package says what is prescribed; the substance fields are for a prescription without one.
            for name in (*self.SUBSTANCE_FIELDS, *self.FLAG_FIELDS):
                del self.fields[name]
        else:
            required = {
                "active_substance": _("Give the active substance."),
                "strength": _("Give the strength."),
                "pharmaceutical_form": _("Give the pharmaceutical form."),
                "atc": _("A prescription by active substance needs its ATC code."),
            }
            for name, message in required.items():
                self.fields[name].error_messages["required"] = message
            self.without_packages()
            self.fields["amount_kind"].initial = AmountKind.QUANTITY

    def substance_fields(self):
        return [self[name] for name in self.SUBSTANCE_FIELDS if name in self.fields]

    def flag_fields(self):
        return [self[name] for name in self.FLAG_FIELDS if name in self.fields]

    def medicine(self) -> dict:
        if self.by_product:
            return {}
        data = self.cleaned_data
        return {
            "active_substance": data["active_substance"],
            "strength": data["strength"],
            "form": data["pharmaceutical_form"],
            "atc": data["atc"].strip().upper(),
            "narcotic": data["narcotic"],
            "pkv": data["pkv"],
            "special_permit": data["special_permit"],
        }


def content_initial(prescription: Prescription) -> dict:
    """A prescription's dosage and amount as the correction and renewal forms show them."""
    initial = {
        "dosage": prescription.dosage,
        "daily_quantity": plain_number(prescription.daily_quantity),
        "amount_kind": prescription.amount_kind,
        "amount_packages": prescription.amount_packages,
        "amount_treatment_days": prescription.amount_treatment_days,
        "purpose": prescription.purpose,
        "message_to_pharmacy": prescription.message_to_pharmacy,
        "substitution_allowed": prescription.substitution_allowed,
    }
    if prescription.amount_kind == AmountKind.QUANTITY:
        initial["amount_quantity"] = plain_number(prescription.total_quantity)
    return initial


def _current_content(prescription: Prescription) -> dict:
    return {
        "dosage": prescription.dosage,
        "daily_quantity": prescription.daily_quantity,
        "amount_kind": prescription.amount_kind,
        "amount_packages": prescription.amount_packages,
        "amount_quantity": (
            prescription.total_quantity if prescription.amount_kind == AmountKind.QUANTITY else None
        ),
        "amount_treatment_days": prescription.amount_treatment_days,
        "purpose": prescription.purpose,
        "message_to_pharmacy": prescription.message_to_pharmacy,
        "substitution_allowed": prescription.substitution_allowed,
    }


class _ChangesMixin:
    """What the professional changed compared with a prescription: the service takes only the changes."""

    prescription: Prescription
    cleaned_data: dict

    def changes(self) -> dict:
        current = _current_content(self.prescription)
        typed = {name: self.cleaned_data.get(name) for name in CONTENT_FIELDS}
        changed = {name: value for name, value in typed.items() if value != current[name]}
        if any(name in AMOUNT_FIELDS for name in changed):
            # The amount is restated as a whole: its kind and the one value of that kind.
            changed.update({name: typed[name] for name in AMOUNT_FIELDS})
        return changed


class PrescriptionCorrectForm(_ChangesMixin, _ContentForm):
    valid_until = _date_field(
        _("Valid until"), help_text=_("A correction may shorten the validity, never lengthen it.")
    )

    def __init__(self, *args, prescription: Prescription, **kwargs) -> None:
        kwargs.setdefault(
            "initial", {**content_initial(prescription), "valid_until": prescription.valid_until}
        )
        super().__init__(*args, **kwargs)
        self.prescription = prescription
        if prescription.product_id is None:
            self.without_packages()

    def changes(self) -> dict:
        changed = super().changes()
        valid_until = self.cleaned_data.get("valid_until")
        if valid_until and valid_until != self.prescription.valid_until:
            changed["valid_until"] = valid_until
        return changed


class RenewForm(_ChangesMixin, _ContentForm):
    """Renewing copies the old prescription; what is changed here is passed on as an adjustment."""

    valid_until = _date_field(
        _("Valid until"),
        help_text=_("Leave empty for the longest validity counted from today; you may shorten it."),
    )

    def __init__(self, *args, prescription: Prescription, **kwargs) -> None:
        kwargs.setdefault("initial", content_initial(prescription))
        super().__init__(*args, **kwargs)
        self.prescription = prescription
        if prescription.product_id is None:
            self.without_packages()

    def changes(self) -> dict:
        changed = super().changes()
        # The old prescription's validity is no default: the new one counts from today unless shortened here.
        if self.cleaned_data.get("valid_until"):
            changed["valid_until"] = self.cleaned_data["valid_until"]
        return changed


class PrescriptionInvalidateForm(forms.Form):
    category = forms.ChoiceField(
        label=_("Reason category"),
        choices=[
            ("", _("Choose the reason category")),
            *((category.value, capfirst(category.label)) for category in services.INVALIDATION_CATEGORIES),
        ],
        error_messages={
            "required": _("Choose the reason: care-related, technical or caused by the patient.")
        },
    )
    patient_agreed = forms.BooleanField(
        label=_("The patient agreed to the invalidation"),
        required=False,
        help_text=_("Needed for a care-related invalidation."),
    )
    text = forms.CharField(
        label=_("Explanation"),
        max_length=services.INVALIDATION_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The patient reads it in MyKanta and the pharmacy sees it."),
        error_messages={"required": _("Explain why the prescription is invalidated.")},
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("category") == InvalidationCategory.CARE and not cleaned.get("patient_agreed"):
            self.add_error(
                "patient_agreed",
                _(
                    "A care-related invalidation needs the patient's agreement: confirm that the patient agreed."
                ),
            )
        return cleaned


class RenewalReasonForm(forms.Form):
    """The reason of a rejection or a return: the patient reads it in MyKanta."""

    reason = forms.CharField(
        label=_("Reason for the patient"),
        max_length=services.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Give the reason for the patient.")},
    )
