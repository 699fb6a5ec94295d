"""kanta.sessions: renewing a session is one UPDATE outside a transaction, and a vanished session still fails."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kanta.sessions import SessionStore

# Outside the test transaction: the one-statement path runs only in autocommit.
pytestmark = pytest.mark.django_db(transaction=True)


def test_renewing_a_session_is_one_update_that_moves_its_expiry():
    store = SessionStore()
    store["answer"] = 42
    store.create()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=Session.objects.get(session_key=store.session_key).expire_date
        - datetime.timedelta(minutes=10)
    )
    before = Session.objects.get(session_key=store.session_key).expire_date

    with CaptureQueriesContext(connection) as captured:
        store.save()

    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["UPDATE"]
    row = Session.objects.get(session_key=store.session_key)
    assert row.expire_date > before
    assert SessionStore(session_key=store.session_key)["answer"] == 42


def test_a_session_deleted_elsewhere_is_not_recreated_by_a_save():
    store = SessionStore()
    store["answer"] = 42
    store.create()
    Session.objects.filter(session_key=store.session_key).delete()

    with pytest.raises(UpdateError):
        store.save()

    assert not Session.objects.filter(session_key=store.session_key).exists()
