"""Glew's Django project: site, REST API, admin and the Celery application."""

from leaderboard.celery import app as celery_app

__all__ = ["celery_app"]
