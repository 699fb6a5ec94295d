"""Database sessions that renew an existing session with one statement.

Every request saves the session (SESSION_SAVE_EVERY_REQUEST: the idle timeout counts from the last request).
Django's database backend wraps that save in a transaction of its own, three statements where the single
UPDATE is already atomic; outside a transaction this store sends just the UPDATE. A new session, and any save
made inside a transaction, goes through Django's code unchanged.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DatabaseError, router, transaction


class SessionStore(DatabaseSessionStore):
    def save(self, must_create: bool = False) -> None:
        using = router.db_for_write(self.model)
        if must_create or self.session_key is None or transaction.get_connection(using).in_atomic_block:
            return super().save(must_create=must_create)
        obj = self.create_model_instance(self._get_session())
        try:
            # a session that is gone (expired and cleared, or signed out elsewhere) updates no row: as Django
            obj.save(force_update=True, using=using)
        except DatabaseError as error:
            raise UpdateError from error
        return None
