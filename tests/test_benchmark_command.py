"""manage.py benchmark_pages: server time and query count of the pages that must stay fast at scale."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import translation

from archive.models import Document
from consents.models import DisclosureConsent, InformationNotice
from kanta.management.commands import benchmark_pages
from kanta.models import AuditEvent, CareRelationship, Professional
from prescriptions.models import Prescription, RenewalRequest, RenewalStatus

pytestmark = pytest.mark.django_db

LINE = re.compile(
    r"^(?P<page>[\w:]+): median (?P<median>[\d.]+) ms, p95 (?P<p95>[\d.]+) ms, (?P<queries>\d+(–\d+)?) queries",
    re.MULTILINE,
)


def run(*args: str) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("benchmark_pages", *args, stdout=out)
    return out.getvalue()


def test_benchmark_refuses_a_database_without_documents():
    with pytest.raises(CommandError, match="No person has documents"):
        run("--iterations", "2")


def test_benchmark_prints_median_p95_and_queries_for_each_page(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with translation.override("en"):
        call_command("seed", "--persons", "6", "--documents-per-person", "12", verbosity=0, stdout=StringIO())

    output = run("--iterations", "2", "--warmup", "1", "--persons", "2")

    lines = {match["page"]: match for match in LINE.finditer(output)}
    assert set(lines) == {"professional:person", "citizen:records", "citizen:disclosure_log"}
    for match in lines.values():
        assert 0 < float(match["median"]) <= float(match["p95"])
        assert int(match["queries"].split("–")[0]) > 0
    assert "(median SQL statements " in output
    assert "Persons: 2, with" in output
    # what a real session needs: the care relationship, the consent, the professional's own account
    professional = Professional.objects.get(user__username=benchmark_pages.BENCHMARK_USERNAME)
    assert not professional.user.has_usable_password()
    measured = CareRelationship.objects.active().filter(confirmed_by=professional).values("person")
    assert len(measured) == 2
    for person in measured:
        assert Document.objects.filter(person=person["person"]).count() >= 12
        assert InformationNotice.objects.filter(person=person["person"]).exists()
        assert DisclosureConsent.objects.filter(
            person=person["person"], sector="health_care", withdrawn_at__isnull=True
        ).exists()
    # the requests were real reads through the gate: logged like any other
    assert AuditEvent.objects.filter(professional=professional, action="person.view").count() >= 2 * 3


def test_benchmark_skips_a_page_whose_url_does_not_resolve_yet(monkeypatch, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setattr(benchmark_pages, "PAGES", ("citizen:records", "citizen:not_built_yet"))
    with translation.override("en"):
        call_command("seed", "--persons", "2", "--documents-per-person", "3", verbosity=0, stdout=StringIO())

    output = run("--iterations", "2", "--warmup", "0", "--persons", "1")

    assert "citizen:not_built_yet: skipped, the URL name does not resolve" in output
    assert [match["page"] for match in LINE.finditer(output)] == ["citizen:records"]


def test_benchmark_measures_the_prescription_pages_and_the_renewal_queue(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with translation.override("en"):
        call_command("seed", "--persons", "60", "--prescriptions", "400", verbosity=0, stdout=StringIO())
    assert RenewalRequest.objects.filter(status=RenewalStatus.SENT).exists()

    output = run("--iterations", "2", "--warmup", "0", "--persons", "2")

    lines = {match["page"]: match for match in LINE.finditer(output)}
    assert set(lines) == {"citizen:prescriptions", "professional:pharmacy_person", "professional:renewals"}
    for match in lines.values():
        assert 0 < float(match["median"]) <= float(match["p95"])
    # the busiest persons were measured, and the pharmacy read them through the gate like any search would
    busiest = Prescription.objects.values("person").annotate(n=Count("id")).order_by("-n", "person")[:2]
    pharmacist = Professional.objects.get(user__username=benchmark_pages.PHARMACIST_USERNAME)
    for row in busiest:
        assert (
            CareRelationship.objects.active().filter(person=row["person"], confirmed_by=pharmacist).exists()
        )
    assert AuditEvent.objects.filter(professional=pharmacist, action="person.view").count() >= 2 * 2
