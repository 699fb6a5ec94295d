"""The tamper-evident audit log: the database refuses changes, and what slips past it is caught by verify.

Runs against the real PostgreSQL: the append-only triggers and the ways around them (a superuser's
session_replication_role, ALTER TABLE ... DISABLE TRIGGER) exist only there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from kanta import audit, tasks
from kanta.celery import app as celery_app
from kanta.models import AuditCategory, AuditChainLink, AuditEvent, AuditSeal, DataType, LegalBasis

pytestmark = pytest.mark.django_db

# each append-only table with a column to try to change
PROTECTED_TABLES = {
    "kanta_auditevent": "action",
    "kanta_auditchainlink": "chain_hash",
    "kanta_auditseal": "seal_hash",
}


def write_events(count: int, *, person=None, action: str = "person.view") -> list[AuditEvent]:
    actor = audit.Actor(client_address="192.0.2.10", user_agent="pytest")
    with transaction.atomic():
        return [
            audit.record(
                actor=actor,
                action=action,
                category=AuditCategory.ACCESS,
                person=person,
                data_type=DataType.PATIENT,
                object_type="document",
                object_ids=[n],
                legal_basis=LegalBasis.CARE_RELATIONSHIP,
                reason_text=f"visit {n}",
            )
            for n in range(count)
        ]


def behind_the_triggers(sql: str, params: list) -> None:
    """What a superuser can do: switch the user triggers off for this transaction and change a row."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        assert cursor.rowcount == 1
        cursor.execute("SET LOCAL session_replication_role = origin")


def verify_audit_command() -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("verify_audit", stdout=out)
    return out.getvalue()


def verify_audit_failure() -> CommandError:
    with translation.override("en"), pytest.raises(CommandError) as failure:
        call_command("verify_audit", stdout=StringIO())
    assert failure.value.returncode == 1
    return failure.value


def named_ids(error: CommandError, kind: str) -> list[int]:
    return [int(n) for n in re.findall(rf"\b{kind} (\d+)\b", str(error))]


# -- the database refuses changes ---------------------------------------------------------------------------


def assert_refused(statement) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        statement()


@pytest.fixture
def sealed_event() -> AuditEvent:
    [event] = write_events(1)
    audit.seal()
    return event


@pytest.mark.parametrize(("table", "column"), PROTECTED_TABLES.items())
def test_database_refuses_raw_sql_update_of_audit_tables(sealed_event, table, column):
    def update():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {column} = 'changed'")  # noqa: S608 - fixed names

    assert_refused(update)


@pytest.mark.parametrize("table", PROTECTED_TABLES)
def test_database_refuses_raw_sql_delete_from_audit_tables(sealed_event, table):
    def delete():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names

    assert_refused(delete)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        assert cursor.fetchone()[0] == 1


def test_database_refuses_orm_update_and_delete_of_an_event(sealed_event):
    sealed_event.reason_text = "nothing to see here"
    assert_refused(sealed_event.save)
    assert_refused(lambda: AuditEvent.objects.filter(pk=sealed_event.pk).update(action="person.edit"))
    assert_refused(sealed_event.delete)
    assert_refused(AuditEvent.objects.all().delete)

    stored = AuditEvent.objects.get(pk=sealed_event.pk)
    assert (stored.action, stored.reason_text) == ("person.view", "visit 0")


def test_database_refuses_orm_update_and_delete_of_chain_links_and_seals(sealed_event):
    link = AuditChainLink.objects.get(event_id=sealed_event.pk)
    seal = AuditSeal.objects.get()

    link.chain_hash = "0" * 64
    assert_refused(link.save)
    assert_refused(link.delete)
    seal.event_count = 2
    assert_refused(seal.save)
    assert_refused(lambda: AuditSeal.objects.update(chain_hash="0" * 64))
    assert_refused(seal.delete)

    assert AuditChainLink.objects.get().chain_hash != "0" * 64
    assert AuditSeal.objects.get().event_count == 1


# -- sealing ------------------------------------------------------------------------------------------------


def test_sealing_twice_seals_nothing_the_second_time():
    events = write_events(3)

    first = audit.seal()
    second = audit.seal()

    assert first is not None
    assert first.event_count == 3
    assert second is None
    assert AuditSeal.objects.count() == 1
    assert sorted(AuditChainLink.objects.values_list("event_id", flat=True)) == [e.pk for e in events]


def test_each_seal_covers_only_events_written_since_the_previous_one():
    write_events(2)
    first = audit.seal()
    write_events(3)
    second = audit.seal()

    assert (first.event_count, second.event_count) == (2, 3)
    assert second.previous_seal_hash == first.seal_hash


def test_seal_task_reports_how_many_events_it_sealed():
    write_events(4)

    assert tasks.seal_audit_log() == 4
    assert tasks.seal_audit_log() == 0


# -- verification -------------------------------------------------------------------------------------------


def test_verify_audit_reports_an_intact_log(patient):
    write_events(2, person=patient)
    audit.seal()
    write_events(3)
    audit.seal()

    output = verify_audit_command()

    assert "Audit log intact: 5 events in 2 seals" in output
    assert audit.verify() is None


def test_events_written_after_the_last_seal_are_not_reported_as_tampering():
    write_events(2)
    audit.seal()
    write_events(3)

    output = verify_audit_command()

    assert "Audit log intact: 2 events in 1 seals" in output
    assert "3 newer events are not sealed yet" in output


def test_verify_audit_on_an_empty_log_is_intact():
    assert "Audit log intact: 0 events in 0 seals" in verify_audit_command()


@pytest.mark.parametrize(
    ("column", "value"), [("action", "person.view.nothing"), ("reason_text", "a different reason")]
)
def test_event_altered_behind_the_trigger_is_named_by_verify_audit(column, value):
    events = write_events(5)
    audit.seal()
    tampered = events[2]

    sql = f"UPDATE kanta_auditevent SET {column} = %s WHERE id = %s"  # noqa: S608 - fixed names
    behind_the_triggers(sql, [value, tampered.pk])

    error = verify_audit_failure()
    assert named_ids(error, "event") == [tampered.pk]
    assert "content differs" in str(error)
    assert audit.verify().ident == tampered.pk


def test_event_deleted_behind_the_trigger_is_named_as_missing():
    events = write_events(4)
    audit.seal()
    deleted = events[1]

    behind_the_triggers("DELETE FROM kanta_auditevent WHERE id = %s", [deleted.pk])

    error = verify_audit_failure()
    assert named_ids(error, "event") == [deleted.pk]
    assert "missing" in str(error)


def test_event_deleted_together_with_its_chain_link_is_caught_at_the_next_event():
    events = write_events(3)
    audit.seal()

    behind_the_triggers("DELETE FROM kanta_auditevent WHERE id = %s", [events[1].pk])
    behind_the_triggers("DELETE FROM kanta_auditchainlink WHERE event_id = %s", [events[1].pk])

    assert named_ids(verify_audit_failure(), "event") == [events[2].pk]


def test_chain_link_appended_by_hand_is_named():
    write_events(2)
    audit.seal()
    [forged] = write_events(1)

    AuditChainLink.objects.create(event_id=forged.pk, chain_hash="f" * 64)

    error = verify_audit_failure()
    assert named_ids(error, "event") == [forged.pk]
    assert "not covered by any seal" in str(error)


def test_event_altered_with_its_table_triggers_disabled_is_named():
    """The other way round the trigger: ALTER TABLE ... DISABLE TRIGGER USER (also needs the table owner)."""
    events = write_events(3)
    audit.seal()
    with connection.cursor() as cursor:
        # The deferred foreign-key checks of the events just written must run before the table is altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE kanta_auditevent DISABLE TRIGGER USER")
        cursor.execute("UPDATE kanta_auditevent SET outcome = 'refused' WHERE id = %s", [events[0].pk])
        cursor.execute("ALTER TABLE kanta_auditevent ENABLE TRIGGER USER")

    assert named_ids(verify_audit_failure(), "event") == [events[0].pk]


@pytest.mark.parametrize(
    "change",
    [
        "event_count = event_count + 1",
        "sealed_at = sealed_at - interval '1 hour'",
        "chain_hash = repeat('0', 64)",
        "seal_hash = repeat('1', 64)",
        "previous_seal_hash = repeat('2', 64)",
    ],
)
def test_seal_altered_behind_the_trigger_is_named(change):
    write_events(2)
    first = audit.seal()
    write_events(2)
    audit.seal()

    behind_the_triggers(f"UPDATE kanta_auditseal SET {change} WHERE id = %s", [first.pk])  # noqa: S608

    error = verify_audit_failure()
    assert named_ids(error, "seal") == [first.pk]
    assert named_ids(error, "event") == []


def test_seal_removed_from_the_middle_names_the_seal_after_it():
    write_events(1)
    removed = audit.seal()
    write_events(1)
    following = audit.seal()
    write_events(1)
    audit.seal()

    behind_the_triggers("DELETE FROM kanta_auditseal WHERE id = %s", [removed.pk])

    assert named_ids(verify_audit_failure(), "seal") == [following.pk]


# -- through the real command line and a real worker ----------------------------------------------------


def _test_database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _run_verify_audit() -> subprocess.CompletedProcess:
    manage = Path(__file__).resolve().parent.parent / "manage.py"
    return subprocess.run(  # noqa: S603 - our own manage.py with a fixed argument list
        [sys.executable, str(manage), "verify_audit"],
        env={**os.environ, "DATABASE_URL": _test_database_url()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_verify_audit_exits_with_status_1_naming_the_event_on_the_command_line():
    events = write_events(3)
    audit.seal()
    intact = _run_verify_audit()
    with transaction.atomic():
        behind_the_triggers("UPDATE kanta_auditevent SET action = 'x' WHERE id = %s", [events[1].pk])

    tampered = _run_verify_audit()

    assert intact.returncode == 0, intact.stderr
    assert tampered.returncode == 1
    # the command speaks the site's default language, like the rest of the command line
    with translation.override(settings.LANGUAGE_CODE):
        naming = _("Audit log tampered: event %(id)s: %(problem)s.") % {"id": events[1].pk, "problem": ""}
    assert naming.rsplit(":", 1)[0] + ":" in tampered.stderr


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_seals_the_log_through_the_redis_broker():
    """The worker runs in a thread with its own database connection, so it sees only committed rows (hence
    transaction=True); Celery's Django fixup closes that connection after each task."""
    from celery.contrib.testing.worker import start_worker

    assert celery_app.conf.broker_url.startswith("redis://"), "set CELERY_BROKER_URL for the worker tests"
    assert not celery_app.conf.task_always_eager
    events = write_events(3)

    with start_worker(celery_app, pool="solo", perform_ping_check=False):
        tasks.seal_audit_log.delay()
        deadline = time.monotonic() + 30
        while not _sealed([e.pk for e in events]):
            assert time.monotonic() < deadline, "the worker did not seal the events within 30 s"
            time.sleep(0.1)

    assert audit.verify() is None
    assert AuditSeal.objects.get().event_count == 3


def _sealed(event_ids: list[int]) -> bool:
    links = AuditChainLink.objects.filter(event_id__in=event_ids)
    if links.count() < len(event_ids):
        return False
    last = max(link.position for link in links)
    return AuditSeal.objects.filter(last_position__gte=last).exists()


def test_verify_audit_help_says_what_the_exit_status_means():
    from kanta.management.commands.verify_audit import Command

    assert "status 1" in Command().create_parser("manage.py", "verify_audit").format_help()
