"""Pages for professionals: sign-in, unit choice, finding a person, the person's overview and documents.

Every page behind sign-in goes through professional.decorators.professional_required, which gives the view
request.actor for the services and access checks. The identity code is only ever sent in a POST body: it
never appears in a URL, a redirect or the audit log. A person's data is read only through the disclosure gate
(consents.policy), which decides what is visible and logs every read; these views never filter it themselves.
"""

from __future__ import annotations

import datetime

from django.contrib import auth, messages
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from archive import codes, forms_spec
from archive import selectors as archive_selectors
from archive.models import Diagnosis, DocumentKind, DocumentStatus, RiskInformation
from consents import policy
from kanta import audit, services
from kanta.access import (
    PersonAccess,
    active_care_relationship,
    person_access_for_professional,
    person_for_professional,
)
from kanta.errors import RuleViolation
from kanta.models import AuditCategory, Person, Professional, RegisterKind
from professional import pharmacy_views, writing
from professional.decorators import UNIT_SESSION_KEY, professional_required
from professional.forms import (
    CareRelationshipConfirmForm,
    EmergencyAccessForm,
    PersonSearchForm,
    SignInForm,
    UnitChoiceForm,
)
from professional.signin import SESSION_FLAG, SignInRefused, sign_in
from professional.templatetags.professional_tags import legal_basis

# The public id of the person this session last found by identity code and has not yet confirmed.
FOUND_PERSON_SESSION_KEY = "professional_found_person"
# The overview shows this many of the newest documents the gate allows.
OVERVIEW_DOCUMENTS = 50
# The columns the overview shows (and the relations they name): the gate reads nothing else of these rows.
OVERVIEW_DOCUMENT_FIELDS = (
    "public_id",
    "recorded_at",
    "title",
    "kind",
    "unit__name_fi",
    "unit__name_sv",
    "register__kind",
    "register__controller__name_fi",
    "register__controller__name_sv",
)
OVERVIEW_ENTRY_FIELDS = (
    "recorded_on",
    "document__register__controller__name_fi",
    "document__register__controller__name_sv",
)
OVERVIEW_RISK_FIELDS = (*OVERVIEW_ENTRY_FIELDS, "kind", "description", "critical")
OVERVIEW_DIAGNOSIS_FIELDS = (*OVERVIEW_ENTRY_FIELDS, "code", "title", "primary")
# The structured entries of one document version, as the document page lists them.
ENTRY_RELATIONS = (
    "riskinformations",
    "diagnosiss",
    "procedures",
    "measurements",
    "vaccinations",
    "labresults",
    "imagingstudys",
)


@require_http_methods(["GET", "POST"])
def login(request):
    if request.user.is_authenticated and request.session.get(SESSION_FLAG) and request.user.is_verified():
        return redirect("professional:home")
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sign_in(
                request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                token=form.cleaned_data["token"],
            )
        except SignInRefused as refused:
            form.add_error(None, refused.message)
            # A spent or wrong one-time code is no use typed again; the username is kept.
            form.data = form.data.copy()
            form.data["token"] = ""
        else:
            return redirect("professional:choose_unit")
    return render(request, "professional/login.html", {"form": form})


@require_POST
def logout(request):
    if request.user.is_authenticated and request.session.get(SESSION_FLAG):
        professional = Professional.objects.filter(user=request.user).first()
        with transaction.atomic():
            audit.record(
                actor=audit.Actor.from_request(request, professional=professional),
                action="professional.logout",
                category=AuditCategory.AUTHENTICATION,
            )
    auth.logout(request)  # flushes the session: the old cookie no longer signs anyone in
    messages.info(request, _("You have signed out."))
    return redirect("professional:login")


@require_http_methods(["GET", "POST"])
@professional_required(unit_required=False)
def choose_unit(request):
    form = UnitChoiceForm(
        request.POST or None,
        professional=request.professional,
        initial={"unit": request.unit.pk if request.unit else None},
    )
    if request.method == "POST" and form.is_valid():
        request.session[UNIT_SESSION_KEY] = form.cleaned_data["unit"].pk
        # A person found while working in another unit is confirmed for that unit only by searching again.
        request.session.pop(FOUND_PERSON_SESSION_KEY, None)
        return redirect("professional:home")
    return render(request, "professional/choose_unit.html", {"form": form})


@require_http_methods(["GET", "POST"])
@professional_required
def home(request):
    if request.method == "GET" and pharmacy_views.works_at_pharmacy(request.professional, request.unit):
        # A pharmacist's work starts from the prescription search, so that is a pharmacy's home page.
        return redirect("professional:pharmacy_search")
    form = PersonSearchForm(request.POST or None)
    not_found = False
    if request.method == "POST" and form.is_valid():
        person = services.person_find_by_identity_code(
            actor=request.actor, identity_code=form.cleaned_data["identity_code"]
        )
        if person is None:
            not_found = True
        elif active_care_relationship(person=person, unit=request.unit) is not None:
            return redirect("professional:person", public_id=person.public_id)
        else:
            # Rendered, not redirected: the confirmation step must not need the code in its URL.
            request.session[FOUND_PERSON_SESSION_KEY] = str(person.public_id)
            return render(
                request,
                "professional/confirm.html",
                {
                    "form": CareRelationshipConfirmForm(initial={"person": person.public_id}),
                    "identity_code": person.identity_code,
                },
            )
    return render(request, "professional/home.html", {"form": form, "not_found": not_found})


def _found_person(request, public_id) -> Person | None:
    """The person this session found by identity code, if that is the one posted back.

    Confirming a care relationship is possible only for the person just found by a (logged) identity-code
    search, not for any public id someone may have come across.
    """
    if public_id is None or request.session.get(FOUND_PERSON_SESSION_KEY) != str(public_id):
        return None
    return Person.objects.filter(public_id=public_id).first()


@require_POST
@professional_required
def confirm(request):
    form = CareRelationshipConfirmForm(request.POST)
    form.is_valid()
    person = _found_person(request, form.cleaned_data.get("person"))
    if person is None:
        messages.error(request, _("Search for the person again by their identity code."))
        return redirect("professional:home")
    if form.is_valid():
        try:
            services.care_relationship_confirm(
                actor=request.actor, person=person, reason=form.cleaned_data["reason"]
            )
        except RuleViolation as violation:
            form.add_error(None, violation.message)
        else:
            request.session.pop(FOUND_PERSON_SESSION_KEY, None)
            messages.success(request, _("The care relationship is confirmed."))
            return redirect("professional:person", public_id=person.public_id)
    return render(request, "professional/confirm.html", {"form": form, "identity_code": person.identity_code})


@require_GET
@professional_required
def person(request, public_id):
    # kanta.access answers 404 (and logs the refusal) without an active care relationship of this unit.
    access = person_access_for_professional(actor=request.actor, public_id=public_id, action="person.view")
    return _render_overview(request, access, emergency_form=EmergencyAccessForm())


@require_POST
@professional_required
def person_emergency(request, public_id):
    """The overview again, read under the emergency rule (DOMAIN.md rule 4) with the reason given."""
    access = person_access_for_professional(actor=request.actor, public_id=public_id, action="person.view")
    form = EmergencyAccessForm(request.POST)
    if not form.is_valid():
        return _render_overview(request, access, emergency_form=form, status=400)
    return _render_overview(
        request, access, emergency_form=form, emergency_reason=form.cleaned_data["reason"]
    )


def _render_overview(
    request, access: PersonAccess, *, emergency_form, emergency_reason: str = "", status=200
):
    person = access.person
    # The gate builds its rules on the care relationship kanta.access has just read, not on a second read.
    gate = policy.for_professional(
        actor=request.actor,
        person=person,
        emergency_reason=emergency_reason,
        care_relationship=access.care_relationship,
    )
    emergency = _is_emergency(gate)
    if emergency_reason and not emergency:
        # The gate decides where the emergency rule applies (not in social welfare units).
        emergency_form.add_error("reason", _("Emergency access is not available in the unit you work in."))
        status = 400
    # The order of the reads is the order of the page: risk information before anything else. Their audit
    # events are written together with the person.view event of kanta.access, once the last read is done.
    with gate.audit_batch(access.event):
        risks = gate.entries(RiskInformation, fields=OVERVIEW_RISK_FIELDS, action="risk_information.list")
        living_will, donation_will = gate.declarations() if gate.may_see_declarations else (None, None)
        diagnoses = gate.entries(Diagnosis, fields=OVERVIEW_DIAGNOSIS_FIELDS, action="diagnosis.list")
        documents = gate.documents(limit=OVERVIEW_DOCUMENTS, fields=OVERVIEW_DOCUMENT_FIELDS)
    hidden = gate.hidden_count()
    relationship = gate.care_relationship
    if relationship is None and access.care_relationship.is_active():
        # the gate refused on another ground (Gate.refusal): the relationship itself still holds
        relationship = access.care_relationship
    return render(
        request,
        "professional/person.html",
        {
            "person": person,
            "age": _age(person),
            "relationship": relationship,
            "risks": risks,
            "has_declarations": living_will is not None or donation_will is not None,
            "living_will": living_will,
            "donation_will": donation_will,
            "diagnoses": diagnoses,
            "registers": _by_register(documents, person=person, emergency=emergency),
            "document_count": len(documents),
            "overview_limit": OVERVIEW_DOCUMENTS,
            "hidden_count": hidden,
            "emergency": emergency,
            "emergency_reason": gate.reason_text if emergency else "",
            "emergency_form": emergency_form,
            "may_use_emergency": request.unit.register_kind != RegisterKind.SOCIAL_WELFARE,
        },
        status=status,
    )


def _is_emergency(gate: policy.Gate) -> bool:
    return gate.category == AuditCategory.EMERGENCY


def _age(person: Person) -> int:
    return person.age_on(person.date_of_death) if person.is_deceased else person.age


def _by_register(documents, *, person: Person, emergency: bool) -> list[dict]:
    """The documents the gate returned, grouped by register (controller and register kind), newest first.

    Each document carries what its row shows beyond its own fields: `link` (what the emergency form posts
    to, in an emergency) and the labels of its kind and basis, worked out once per value, not once per row.
    """
    view = "professional:document_emergency" if emergency else "professional:document"
    kinds = dict(DocumentKind.choices)
    kind_labels: dict[str, str] = {}
    basis_labels: dict[str, str] = {}
    groups: dict[tuple[int, str], dict] = {}
    for document in documents:
        document.link = reverse(view, args=[person.public_id, document.public_id])
        if document.kind not in kind_labels:
            kind_labels[document.kind] = capfirst(kinds.get(document.kind, document.kind))
        document.kind_label = kind_labels[document.kind]
        if document.basis not in basis_labels:
            basis_labels[document.basis] = capfirst(legal_basis(document.basis))
        document.basis_label = basis_labels[document.basis]
        key = (document.register.controller_id, document.register.kind)
        group = groups.setdefault(key, {"register": document.register, "documents": []})
        group["documents"].append(document)
    return list(groups.values())


@require_GET
@professional_required
def declarations(request, public_id):
    """The living will and organ donation will: visible throughout health care (DOMAIN.md rule 5)."""
    person = person_for_professional(actor=request.actor, public_id=public_id, action="person.view")
    gate = policy.for_professional(actor=request.actor, person=person)
    if not gate.may_see_declarations:
        gate.declarations()  # logs the refusal
        raise Http404
    living_will, donation_will = gate.declarations()
    return render(
        request,
        "professional/declarations.html",
        {"person": person, "living_will": living_will, "donation_will": donation_will},
    )


@require_GET
@professional_required
def document(request, public_id, document_id):
    person = person_for_professional(actor=request.actor, public_id=public_id, action="person.view")
    gate = policy.for_professional(actor=request.actor, person=person)
    return _render_document(request, person, gate, document_id)


@require_POST
@professional_required
def document_emergency(request, public_id, document_id):
    """A document opened from the emergency overview: read under the emergency rule with the same reason."""
    form = EmergencyAccessForm(request.POST)
    if not form.is_valid():
        access = person_access_for_professional(
            actor=request.actor, public_id=public_id, action="person.view"
        )
        return _render_overview(request, access, emergency_form=form, status=400)
    person = person_for_professional(actor=request.actor, public_id=public_id, action="person.view")
    # Where the gate does not apply the emergency rule (a social welfare unit), the ordinary rules answer.
    gate = policy.for_professional(
        actor=request.actor, person=person, emergency_reason=form.cleaned_data["reason"]
    )
    return _render_document(request, person, gate, document_id)


def _render_document(request, person: Person, gate: policy.Gate, document_id):
    # 404 (and a logged refusal) for a document the gate does not let this professional see.
    document = gate.document(document_id)
    emergency = _is_emergency(gate)
    history = list(archive_selectors.versions(document))
    prefetch_related_objects([document], *ENTRY_RELATIONS)
    writable = (
        not emergency
        and document.status == DocumentStatus.CURRENT
        and document.register_id
        in {r.pk for r in writing.writable_registers(actor=request.actor, person=person)}
    )
    return render(
        request,
        "professional/document.html",
        {
            "person": person,
            "document": document,
            "history": history,
            "entries": {relation: getattr(document, relation).all() for relation in ENTRY_RELATIONS},
            "certificate_fields": _certificate_fields(document),
            "emergency": emergency,
            "emergency_reason": gate.reason_text if emergency else "",
            "writable": writable,
        },
    )


def _certificate_fields(document) -> list[tuple[str, str]]:
    """(label, value) of a certificate's form data, in the order and with the labels its form defines."""
    specs = forms_spec.FORMS.get(document.certificate_form, ())
    fields = []
    for spec in specs:
        value = document.form_data.get(spec.name)
        if value in (None, ""):
            continue
        if isinstance(value, bool):
            value = _("Yes") if value else _("No")
        elif spec.choices:
            value = capfirst(dict(spec.choices).get(value, value))
        elif spec.kind == forms_spec.Kind.DATE:
            value = date_format(datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT")
        elif spec.kind == forms_spec.Kind.ICD10:
            value = f"{value} {codes.diagnosis_title(value)}"
        fields.append((spec.label, value))
    return fields
