"""manage.py benchmark_pages: server time and query count of the pages that must stay fast at scale."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from archive.models import Document
from consents.models import DisclosureConsent, InformationNotice
from kanta.management.commands import benchmark_pages
from kanta.models import AuditEvent, CareRelationship, Professional

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
