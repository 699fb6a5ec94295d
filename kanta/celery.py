"""The Celery application: Redis broker from the environment, eager in-process when none is configured."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kanta.settings")

app = Celery("kanta")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
