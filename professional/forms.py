"""Forms of the professional pages: they validate what was typed; the views call the services."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from archive import codes, forms_spec
from archive.models import AuthorizationScope, CertificateForm, RecordView, RiskKind, ServiceTask
from archive.services import DiagnosisInput, LabResultInput, RiskInput
from kanta import identity_code
from kanta.models import CareReason, Organisation
from professional.writing import plain_number


class SignInForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    token = forms.CharField(
        label=_("One-time code"),
        help_text=_("The six digits your authenticator app shows now."),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )


class UnitChoiceForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=_("Unit you work in"),
        queryset=None,
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the unit you work in."),
            "invalid_choice": _("Choose one of your own units."),
        },
    )

    def __init__(self, *args, professional, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = professional.units.select_related("organisation").order_by(
            "name_fi", "pk"
        )
        # The label shows the organisation too: unit names repeat across counties.
        self.fields["unit"].label_from_instance = lambda unit: f"{unit.name} – {unit.organisation.name}"


class PersonSearchForm(forms.Form):
    identity_code = forms.CharField(
        label=_("Personal identity code"),
        help_text=_("For example 131052-308T."),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )

    def clean_identity_code(self) -> str:
        # The precise message of kanta.identity_code (which part is wrong) reaches the user as it is.
        return identity_code.parse(self.cleaned_data["identity_code"]).code


class CareRelationshipConfirmForm(forms.Form):
    # The person travels as their public id, never as the identity code.
    person = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.ChoiceField(
        label=_("Reason for the care relationship"),
        choices=[
            ("", _("Choose a reason")),
            *((value, capfirst(label)) for value, label in CareReason.choices),
        ],
        error_messages={"required": _("Choose the reason for the care relationship.")},
    )


class EmergencyAccessForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for emergency access"),
        help_text=_(
            "For example: the patient is unconscious and their earlier data is needed for treatment. "
            "The reason is recorded and the access is reviewed by the controller."
        ),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Give the reason for emergency access.")},
    )


# -- writing into the repository ----------------------------------------------------------------------------

DATE_WIDGET = {"type": "date"}
TITLE_MAX = 200
REASON_MAX = 200


def _date_field(label, *, required: bool = True, **kwargs) -> forms.DateField:
    # An HTML date input sends ISO dates and shows them in the browser's own format.
    return forms.DateField(
        label=label,
        required=required,
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        **kwargs,
    )


def _icd10_field(label, *, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=8,
        help_text=_("An ICD-10 code, for example J06.9. Type the code or part of its name to choose."),
        widget=forms.TextInput(attrs={"list": "icd10-codes", "autocomplete": "off", "spellcheck": "false"}),
    )


def _clean_icd10(value: str) -> str:
    if not value:
        return ""
    item = codes.diagnosis(value)
    if item is None:
        raise forms.ValidationError(
            _("%(code)s is not a known ICD-10 code. Choose one from the list."),
            params={"code": value.strip()},
            code="unknown_code",
        )
    return item.code


def _choices(text_choices, *, empty):
    return [("", empty), *((value, capfirst(label)) for value, label in text_choices)]


class RegisterChoiceMixin:
    """A `register` select of the registers the professional may write into (own + authorized)."""

    def add_register_field(self, register_choices) -> None:
        self.fields["register"] = forms.ChoiceField(
            label=_("Register"),
            choices=register_choices,
            help_text=_(
                "Your own register, or an organiser's register under a purchased-service authorization."
            ),
            error_messages={"invalid_choice": _("Choose one of the registers you may write into.")},
        )


class DiagnosisRowsMixin:
    """Numbered ICD-10 rows (diagnosis_0 is the primary diagnosis) and numbered risk information rows."""

    def add_diagnosis_rows(self, rows: int) -> None:
        self.diagnosis_rows = rows
        for index in range(rows):
            label = _("Primary diagnosis (ICD-10)") if index == 0 else _("Other diagnosis (ICD-10)")
            self.fields[f"diagnosis_{index}"] = _icd10_field(label)

    def add_risk_rows(self, rows: int) -> None:
        self.risk_rows = rows
        for index in range(rows):
            self.fields[f"risk_kind_{index}"] = forms.ChoiceField(
                label=_("Kind of risk"),
                required=False,
                choices=_choices(RiskKind.choices, empty=_("No risk information")),
            )
            self.fields[f"risk_description_{index}"] = forms.CharField(
                label=_("Risk description"),
                help_text=_("For example: penicillin allergy, anaphylaxis in 2019."),
                required=False,
                max_length=300,
            )
            self.fields[f"risk_critical_{index}"] = forms.BooleanField(
                label=_("Critical risk"), required=False, initial=True
            )

    def clean_rows(self, cleaned: dict) -> None:
        codes_given = []
        for index in range(getattr(self, "diagnosis_rows", 0)):
            name = f"diagnosis_{index}"
            if name not in cleaned:
                continue
            try:
                cleaned[name] = _clean_icd10(cleaned[name])
            except forms.ValidationError as error:
                self.add_error(name, error)
                continue
            if cleaned[name]:
                if cleaned[name] in codes_given:
                    self.add_error(name, _("This diagnosis is already given above."))
                codes_given.append(cleaned[name])
        if codes_given and not cleaned.get("diagnosis_0") and "diagnosis_0" not in self.errors:
            self.add_error("diagnosis_0", _("Give the primary diagnosis first."))
        for index in range(getattr(self, "risk_rows", 0)):
            kind, description = cleaned.get(f"risk_kind_{index}"), cleaned.get(f"risk_description_{index}")
            if kind and not description:
                self.add_error(f"risk_description_{index}", _("Describe the risk."))
            elif description and not kind:
                self.add_error(f"risk_kind_{index}", _("Choose the kind of risk."))

    def diagnosis_inputs(self, *, dates: dict | None = None) -> list[DiagnosisInput]:
        dates = dates or {}
        return [
            DiagnosisInput(code=code, primary=index == 0, diagnosed_on=dates.get(code))
            for index in range(self.diagnosis_rows)
            if (code := self.cleaned_data.get(f"diagnosis_{index}"))
        ]

    def risk_inputs(self, *, dates: dict | None = None) -> list[RiskInput]:
        dates = dates or {}
        inputs = []
        for index in range(self.risk_rows):
            kind = self.cleaned_data.get(f"risk_kind_{index}")
            if not kind:
                continue
            description = self.cleaned_data[f"risk_description_{index}"]
            inputs.append(
                RiskInput(
                    kind=kind,
                    description=description,
                    critical=self.cleaned_data.get(f"risk_critical_{index}", False),
                    recorded_on=dates.get((kind, description)),
                )
            )
        return inputs

    @property
    def diagnosis_fields(self) -> list:
        return [self[f"diagnosis_{index}"] for index in range(self.diagnosis_rows)]

    @property
    def risk_fields(self) -> list:
        """(kind, description, critical) of each risk row."""
        return [
            (self[f"risk_kind_{i}"], self[f"risk_description_{i}"], self[f"risk_critical_{i}"])
            for i in range(self.risk_rows)
        ]


class RecordEntryForm(RegisterChoiceMixin, DiagnosisRowsMixin, forms.Form):
    """A new patient record entry (with `register_choices`) or the correction of one (without)."""

    view = forms.ChoiceField(
        label=_("View"),
        choices=[(value, capfirst(label)) for value, label in RecordView.choices],
        initial=RecordView.GENERAL,
    )
    title = forms.CharField(
        label=_("Title"), max_length=TITLE_MAX, error_messages={"required": _("Give a title.")}
    )
    text = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": _("Write the text of the entry.")},
    )

    def __init__(self, *args, register_choices=None, diagnosis_rows: int = 3, risk_rows: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        if register_choices is None:
            del self.fields["view"]  # a correction keeps the entry's view
        else:
            self.add_register_field(register_choices)
            self.order_fields(["register", "view", "title", "text"])
        self.add_diagnosis_rows(diagnosis_rows)
        self.add_risk_rows(risk_rows)

    def clean(self):
        cleaned = super().clean()
        self.clean_rows(cleaned)
        return cleaned

    @property
    def main_fields(self):
        return [self[name] for name in ("register", "view", "title", "text") if name in self.fields]


def lab_test_choices(sex: str = "") -> list[tuple[str, str]]:
    """The shipped LOINC list: name, unit and the person's reference range in the option's label."""
    choices = [("", _("Choose a test"))]
    for test in sorted(codes.lab_tests().values(), key=lambda t: t.name()):
        low, high = test.reference_range(sex)
        reference = "–".join(plain_number(limit) for limit in (low, high))
        choices.append((test.loinc, f"{test.name()} – {test.unit}, {reference}"))
    return choices


class LabResultsForm(RegisterChoiceMixin, forms.Form):
    """New laboratory results (with `register_choices`) or their correction (without)."""

    title = forms.CharField(
        label=_("Title"), max_length=TITLE_MAX, error_messages={"required": _("Give a title.")}
    )
    sampled_on = _date_field(_("Sample taken on"))
    text = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, register_choices=None, rows: int = 5, sex: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if register_choices is not None:
            self.add_register_field(register_choices)
            self.order_fields(["register", "title", "sampled_on", "text"])
        self.rows = rows
        tests = lab_test_choices(sex)
        for index in range(rows):
            self.fields[f"test_{index}"] = forms.ChoiceField(
                label=_("Test (LOINC)"), required=False, choices=tests
            )
            self.fields[f"value_{index}"] = forms.CharField(label=_("Result"), required=False, max_length=20)

    def clean(self):
        cleaned = super().clean()
        given = 0
        for index in range(self.rows):
            test, value = cleaned.get(f"test_{index}"), (cleaned.get(f"value_{index}") or "").strip()
            if test and not value:
                self.add_error(f"value_{index}", _("Enter the result."))
            elif value and not test:
                self.add_error(f"test_{index}", _("Choose the test."))
            elif test and value:
                try:
                    Decimal(value.replace(",", "."))
                except InvalidOperation:
                    self.add_error(f"value_{index}", _("Enter the result as a number, for example 5,4."))
                given += 1
        if not given and not self.errors:
            self.add_error("test_0", _("Enter at least one result."))
        return cleaned

    def lab_inputs(self) -> list[LabResultInput]:
        sampled_on = self.cleaned_data["sampled_on"]
        return [
            LabResultInput(
                loinc=test, value=self.cleaned_data[f"value_{index}"].strip(), sampled_on=sampled_on
            )
            for index in range(self.rows)
            if (test := self.cleaned_data.get(f"test_{index}"))
        ]

    @property
    def main_fields(self):
        return [self[name] for name in ("register", "title", "sampled_on", "text") if name in self.fields]

    @property
    def result_rows(self):
        return [(self[f"test_{index}"], self[f"value_{index}"]) for index in range(self.rows)]


class CertificateChoiceForm(forms.Form):
    form = forms.ChoiceField(
        label=_("Certificate form"),
        choices=_choices(CertificateForm.choices, empty=_("Choose a form")),
        error_messages={"required": _("Choose the certificate form.")},
    )


YES_NO = [("", _("Choose")), ("yes", _("Yes")), ("no", _("No"))]


class CertificateDocumentForm(RegisterChoiceMixin, forms.Form):
    """A certificate's fields, built from archive.forms_spec so that the page asks what the form defines."""

    title = forms.CharField(
        label=_("Title"), max_length=TITLE_MAX, error_messages={"required": _("Give a title.")}
    )

    def __init__(self, *args, certificate_form: str, register_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.certificate_form = certificate_form
        self.spec_names = []
        if register_choices is not None:
            self.add_register_field(register_choices)
            self.order_fields(["register", "title"])
        for spec in forms_spec.FORMS[certificate_form]:
            self.fields[spec.name] = self._field(spec)
            self.spec_names.append(spec.name)
        self.fields["text"] = forms.CharField(
            label=_("Additional information"), required=False, widget=forms.Textarea(attrs={"rows": 4})
        )

    @staticmethod
    def _field(spec) -> forms.Field:
        label = capfirst(spec.label)
        required = {"required": _("“%(field)s” is required.") % {"field": capfirst(spec.label)}}
        match spec.kind:
            case forms_spec.Kind.DATE:
                return _date_field(label, required=spec.required, error_messages=required)
            case forms_spec.Kind.BOOLEAN:
                return forms.ChoiceField(
                    label=label, required=spec.required, choices=YES_NO, error_messages=required
                )
            case forms_spec.Kind.CHOICE:
                return forms.ChoiceField(
                    label=label,
                    required=spec.required,
                    choices=[("", _("Choose")), *((key, capfirst(text)) for key, text in spec.choices)],
                    error_messages=required,
                )
            case forms_spec.Kind.ICD10:
                field = _icd10_field(label, required=spec.required)
                field.error_messages.update(required)
                return field
        return forms.CharField(
            label=label,
            required=spec.required,
            max_length=forms_spec.MAX_TEXT,
            widget=forms.Textarea(attrs={"rows": 4}),
            error_messages=required,
        )

    def clean(self):
        cleaned = super().clean()
        for spec in forms_spec.FORMS[self.certificate_form]:
            if spec.kind == forms_spec.Kind.ICD10 and cleaned.get(spec.name):
                try:
                    cleaned[spec.name] = _clean_icd10(cleaned[spec.name])
                except forms.ValidationError as error:
                    self.add_error(spec.name, error)
        return cleaned

    def form_data(self) -> dict:
        data = {}
        for name in self.spec_names:
            value = self.cleaned_data.get(name)
            if value in (None, ""):
                continue
            if isinstance(value, datetime.date):
                value = value.isoformat()
            elif value in ("yes", "no") and isinstance(self.fields[name], forms.ChoiceField):
                value = value == "yes"
            data[name] = value
        return data

    @staticmethod
    def initial_from(form_data: dict) -> dict:
        """Form initial values for stored form data (booleans back to yes/no)."""
        return {
            name: ("yes" if value else "no") if isinstance(value, bool) else value
            for name, value in (form_data or {}).items()
        }

    @property
    def main_fields(self):
        return [self[name] for name in ("register", "title") if name in self.fields]

    @property
    def uses_icd10(self) -> bool:
        return any(spec.kind == forms_spec.Kind.ICD10 for spec in forms_spec.FORMS[self.certificate_form])

    @property
    def certificate_fields(self):
        return [self[name] for name in self.spec_names]


class InvalidateForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for invalidation"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The document stays in the history; it is no longer shown in summaries."),
        error_messages={"required": _("Give the reason for invalidating the document.")},
    )


class DelayDisplayForm(forms.Form):
    until = _date_field(
        _("Show in MyKanta from"), error_messages={"required": _("Give the date from which it is shown.")}
    )
    reason = forms.CharField(
        label=_("Reason for the delay"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Give the reason for delaying the display.")},
    )


class CodeSearchForm(forms.Form):
    q = forms.CharField(label=_("ICD-10 code or name"), max_length=100, required=False)


# -- archivists ----------------------------------------------------------------------------------------------


def _service_task_field(*, required: bool = True, empty=None) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Service task"),
        required=required,
        choices=_choices(ServiceTask.choices, empty=empty or _("Choose a service task")),
        error_messages={"required": _("Choose the service task.")},
    )


class ArchiveFilterForm(forms.Form):
    service_task = _service_task_field(required=False, empty=_("All service tasks"))


class FileDocumentForm(forms.Form):
    service_task = _service_task_field()


class DocumentMetadataForm(forms.Form):
    title = forms.CharField(
        label=_("Title"), max_length=TITLE_MAX, error_messages={"required": _("Give a title.")}
    )
    service_task = _service_task_field()


# -- purchased-service authorizations ------------------------------------------------------------------------


class ProducerField(forms.CharField):
    """An organisation by its OID (the SOTE organisation register): there are too many for a select."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Producer's OID"))
        kwargs.setdefault(
            "help_text",
            _("The organisation register OID of the service producer, for example 1.2.246.10.12345678."),
        )
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value):
        oid = super().clean(value)
        if not oid:
            return None
        producer = Organisation.objects.filter(oid=oid).first()
        if producer is None:
            raise forms.ValidationError(
                _("No organisation has the OID %(oid)s."), params={"oid": oid}, code="unknown"
            )
        return producer


class AuthorizationCreateForm(forms.Form):
    register = forms.ChoiceField(label=_("Register"))
    scope = forms.ChoiceField(
        label=_("Covers"),
        choices=_choices(AuthorizationScope.choices, empty=_("Choose")),
        error_messages={
            "required": _("Choose whether the authorization covers one patient or the register.")
        },
    )
    identity_code = forms.CharField(
        label=_("Patient's personal identity code"),
        help_text=_("Only for an authorization that covers one patient."),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    producer = ProducerField(help_text=_("May be left empty and added later."))
    starts_on = _date_field(_("Valid from"))
    ends_on = _date_field(_("Valid until"))
    ordered_service = forms.CharField(
        label=_("Ordered service"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, register_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["register"].choices = register_choices

    def clean_identity_code(self) -> str:
        code = self.cleaned_data["identity_code"]
        return identity_code.parse(code).code if code else ""

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if (
            scope == AuthorizationScope.PATIENT
            and not cleaned.get("identity_code")
            and "identity_code" not in self.errors
        ):
            self.add_error("identity_code", _("Give the patient's identity code."))
        if scope == AuthorizationScope.REGISTER and cleaned.get("identity_code"):
            self.add_error("identity_code", _("An authorization for the whole register names no patient."))
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The authorization cannot end before it starts."))
        return cleaned


class AuthorizationEditForm(forms.Form):
    producer = ProducerField()
    ends_on = _date_field(_("Valid until"))
    ordered_service = forms.CharField(
        label=_("Ordered service"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, producer_named: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if producer_named:
            # once named, the producer stays (archive.services.authorization_update)
            del self.fields["producer"]
