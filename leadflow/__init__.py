"""Leadflow project package: settings, URLs, the Celery app and WSGI entry points."""

from leadflow.celery import app as celery_app

__all__ = ["celery_app"]
