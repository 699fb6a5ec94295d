"""Smoke test of the embedded SQLite demo (`make demo`): migrate, load the demo data (with the apps' demo content)
twice, and find it there, written once.

Runs manage.py in subprocesses with the demo's environment, so it exercises SQLite even though the rest of the
suite runs on PostgreSQL. Marked `sqlite_demo`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_demo

PROJECT_DIR = Path(__file__).resolve().parent.parent

CHECK_SCRIPT = """
import json
from django.db import DatabaseError, connection, transaction
from kanta import audit
from archive.models import Document
from consents.models import DisclosureConsent, LivingWill, Prohibition
from kanta.models import AuditEvent, Guardianship, Organisation, Person, Professional, User
from prescriptions.models import Dispensing, Prescription, Product, ProductImport, RenewalRequest

counts = {
    "organisations": Organisation.objects.count(),
    "professionals": Professional.objects.count(),
    "persons": Person.objects.count(),
    "guardianships": Guardianship.objects.count(),
    "users": User.objects.count(),
    "documents": Document.objects.count(),
    "consents": DisclosureConsent.objects.count(),
    "prohibitions": Prohibition.objects.count(),
    "living_wills": LivingWill.objects.count(),
    "products": Product.objects.count(),
    "product_imports": ProductImport.objects.count(),
    "prescriptions": Prescription.objects.count(),
    "dispensings": Dispensing.objects.count(),
    "renewal_requests": RenewalRequest.objects.count(),
    # the demo's own audit events (this script writes one more below, each time it runs)
    "audit_events": AuditEvent.objects.exclude(action="smoke.test").count(),
}
with connection.cursor() as cursor:
    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'kanta_auditevent'")
    triggers = sorted(row[0] for row in cursor.fetchall())
with transaction.atomic():
    event = audit.record(actor=audit.Actor(), action="smoke.test", category="change")
try:
    with transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    update_refused = False
except DatabaseError:
    update_refused = True
print(json.dumps({
    "vendor": connection.vendor,
    "counts": counts,
    "triggers": triggers,
    "update_refused": update_refused,
    "action": AuditEvent.objects.get(pk=event.pk).action,
}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, f"manage.py {args[0]} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


@pytest.fixture
def demo_env(tmp_path) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if key not in {"CELERY_BROKER_URL", "DATABASE_URL"}
    }
    env.update(
        DEBUG="1",
        KANTA_HTTPS="0",
        TEST_IDENTIFICATION="1",
        DATABASE_URL=f"sqlite:///{tmp_path}/demo.sqlite3",
    )
    return env


def test_sqlite_demo_migrates_loads_twice_and_keeps_the_audit_log_append_only(demo_env):
    manage(demo_env, "migrate", "--no-input", "-v", "0")
    first_output = manage(demo_env, "demo_data")
    first = json.loads(manage(demo_env, "shell", "-c", CHECK_SCRIPT).strip().splitlines()[-1])
    manage(demo_env, "demo_data")
    second = json.loads(manage(demo_env, "shell", "-c", CHECK_SCRIPT).strip().splitlines()[-1])

    assert "kanta-demo-password" in first_output
    assert first["vendor"] == "sqlite"
    assert first["counts"]["organisations"] == 9
    assert first["counts"]["persons"] >= 18
    assert first["counts"]["professionals"] >= 9
    assert first["counts"]["documents"] >= 80
    assert first["counts"]["living_wills"] >= 2
    assert first["counts"]["product_imports"] == 1
    assert first["counts"]["prescriptions"] >= 20
    assert first["counts"]["dispensings"] > first["counts"]["prescriptions"]
    assert first["counts"]["renewal_requests"] >= 3
    assert first["counts"]["audit_events"] > first["counts"]["documents"]
    assert second["counts"] == first["counts"]
    assert first["triggers"] == ["kanta_auditevent_no_delete", "kanta_auditevent_no_update"]
    assert first["update_refused"]
    assert first["action"] == "smoke.test"
    assert manage(demo_env, "check").strip().startswith("System check identified no issues")
