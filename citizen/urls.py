from django.urls import path, register_converter

from citizen import (
    consent_views,
    declaration_views,
    disclosure_views,
    prescription_views,
    record_views,
    views,
)


class DeclarationKind:
    """living-will or organ-donation-will in the declarations' URLs."""

    regex = f"{declaration_views.LIVING_WILL}|{declaration_views.ORGAN_DONATION}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DeclarationKind, "declaration")

app_name = "citizen"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_chooser, name="login"),
    path("login/test/", views.test_identification, name="test_identification"),
    path("login/oidc/", views.oidc_start, name="oidc_start"),
    path("login/oidc/callback/", views.oidc_callback, name="oidc_callback"),
    path("logout/", views.logout, name="logout"),
    path("me/language/", views.change_language, name="change_language"),
    path("acting/", views.switch_subject, name="switch_subject"),
    # health records and social welfare documents
    path("records/", record_views.records, name="records"),
    path("records/summary/", record_views.summary, name="records_summary"),
    path("records/document/<uuid:document_id>/", record_views.document, name="document"),
    path("records/social-welfare/", record_views.social_welfare, name="social_welfare"),
    # consents and prohibitions
    path("consents/", consent_views.consents, name="consents"),
    path("consents/notice/", consent_views.notice, name="notice"),
    path("consents/consent/", consent_views.consent_change, name="consent_change"),
    path("consents/research-contact/", consent_views.research_contact, name="research_contact"),
    path("consents/prohibitions/new/", consent_views.prohibition_new, name="prohibition_new"),
    path("consents/prohibitions/preview/", consent_views.prohibition_preview, name="prohibition_preview"),
    path("consents/prohibitions/save/", consent_views.prohibition_save, name="prohibition_save"),
    path(
        "consents/prohibitions/<uuid:prohibition_id>/withdraw/",
        consent_views.prohibition_withdraw,
        name="prohibition_withdraw",
    ),
    # declarations of intent
    path("declarations/", declaration_views.declarations, name="declarations"),
    path("declarations/living-will/edit/", declaration_views.living_will_edit, name="living_will_edit"),
    path(
        "declarations/organ-donation-will/edit/",
        declaration_views.organ_donation_edit,
        name="organ_donation_edit",
    ),
    path(
        "declarations/<declaration:kind>/delete/",
        declaration_views.declaration_delete,
        name="declaration_delete",
    ),
    path("declarations/<declaration:kind>/pdf/", declaration_views.declaration_pdf, name="declaration_pdf"),
    # where my data has been processed
    path("disclosures/", disclosure_views.log, name="disclosure_log"),
    path("disclosures/request/", disclosure_views.request_older, name="disclosure_request"),
    path("disclosures/request/sent/", disclosure_views.request_sent, name="disclosure_request_sent"),
    # prescriptions
    path("prescriptions/", prescription_views.prescriptions, name="prescriptions"),
    path("prescriptions/renew/", prescription_views.renew, name="prescription_renew"),
    path("prescriptions/renewals/", prescription_views.renewals, name="prescription_renewals"),
    path("prescriptions/abroad/", prescription_views.abroad, name="prescription_abroad"),
    path("prescriptions/medication-list/", prescription_views.medication_list, name="medication_list"),
    path("prescriptions/summary.pdf", prescription_views.summary_pdf, name="prescription_summary_pdf"),
    path("prescriptions/<uuid:prescription_id>/", prescription_views.prescription, name="prescription"),
    path(
        "prescriptions/<uuid:prescription_id>/denial/",
        prescription_views.prescription_denial,
        name="prescription_denial",
    ),
]
