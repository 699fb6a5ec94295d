from django.urls import path

from professional import (
    archivist_views,
    authorization_views,
    pharmacy_views,
    prescription_views,
    record_views,
    views,
)

app_name = "professional"

person = "person/<uuid:public_id>/"
document = person + "document/<uuid:document_id>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("unit/", views.choose_unit, name="choose_unit"),
    path("person/confirm/", views.confirm, name="confirm"),
    path(person, views.person, name="person"),
    path(person + "emergency/", views.person_emergency, name="person_emergency"),
    path(person + "declarations/", views.declarations, name="declarations"),
    path(person + "new/entry/", record_views.write_entry, name="write_entry"),
    path(person + "new/lab/", record_views.write_lab, name="write_lab"),
    path(person + "new/certificate/", record_views.write_certificate, name="write_certificate"),
    path(document, views.document, name="document"),
    path(document + "emergency/", views.document_emergency, name="document_emergency"),
    path(document + "correct/", record_views.document_correct, name="document_correct"),
    path(document + "invalidate/", record_views.document_invalidate, name="document_invalidate"),
    path(document + "delay/", record_views.document_delay, name="document_delay"),
    path("codes/icd10/", record_views.code_search, name="code_search"),
    path("archive/", archivist_views.archive_documents, name="archive_documents"),
    path("archive/<uuid:document_id>/", archivist_views.archive_document, name="archive_document"),
    path("authorizations/", authorization_views.authorizations, name="authorizations"),
    path("authorizations/new/", authorization_views.authorization_create, name="authorization_create"),
    path(
        "authorizations/<uuid:authorization_id>/",
        authorization_views.authorization_edit,
        name="authorization_edit",
    ),
]

# The prescriber's prescription pages and the unit's renewal queue.
prescription = person + "prescriptions/<uuid:prescription_id>/"
renewal = "renewals/<uuid:request_id>/"
urlpatterns += [
    path(person + "prescriptions/", prescription_views.person_prescriptions, name="person_prescriptions"),
    path(person + "prescribe/", prescription_views.prescribe, name="prescribe"),
    path(prescription, prescription_views.prescription, name="prescription"),
    path(prescription + "correct/", prescription_views.prescription_correct, name="prescription_correct"),
    path(
        prescription + "invalidate/",
        prescription_views.prescription_invalidate,
        name="prescription_invalidate",
    ),
    path(
        prescription + "release/",
        prescription_views.prescription_release_lock,
        name="prescription_release_lock",
    ),
    path("renewals/", prescription_views.renewals, name="renewals"),
    path(renewal, prescription_views.renewal, name="renewal"),
    path(renewal + "renew/", prescription_views.renewal_renew, name="renewal_renew"),
    path(renewal + "reject/", prescription_views.renewal_reject, name="renewal_reject"),
    path(renewal + "return/", prescription_views.renewal_return, name="renewal_return"),
]

# The pharmacy: its search (the home page of a pharmacy unit), the scanned summary, and one prescription's
# pages, reached from the person's list (found by identity code) or from the scanned summary.
pharmacy_prescription = "pharmacy/person/<uuid:person_id>/prescription/<uuid:prescription_id>/"
pharmacy_summary_prescription = "pharmacy/summary/prescription/<uuid:prescription_id>/"
urlpatterns += [
    path("pharmacy/", pharmacy_views.search, name="pharmacy_search"),
    path("pharmacy/summary/", pharmacy_views.summary, name="pharmacy_summary"),
    path("pharmacy/person/<uuid:person_id>/", pharmacy_views.person_prescriptions, name="pharmacy_person"),
]
for base, prefix in (
    (pharmacy_prescription, "pharmacy_"),
    (pharmacy_summary_prescription, "pharmacy_summary_"),
):
    urlpatterns += [
        path(base, pharmacy_views.prescription_detail, name=prefix + "prescription"),
        path(base + "reserve/", pharmacy_views.reserve, name=prefix + "reserve"),
        path(base + "release/", pharmacy_views.release, name=prefix + "release"),
        path(base + "dispense/", pharmacy_views.dispense, name=prefix + "dispense"),
        path(base + "lock/", pharmacy_views.lock, name=prefix + "lock"),
        path(base + "correct/", pharmacy_views.correct, name=prefix + "correct"),
    ]
