"""The Kanta project package and its shared core app."""

from kanta.celery import app as celery_app

__all__ = ["celery_app"]
