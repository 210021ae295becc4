"""WSGI entry point (deploy/serve_web.py serves it with Granian in production).

The anonymous microcache sits in front of Django's handler (leaderboard/microcache.py
says why); the per-request CPU meter wraps both, only when the load benchmark asks for
it with ``GLEW_REQUEST_CPU_DIR``.
"""

import os

from django.core.wsgi import get_wsgi_application

from leaderboard.microcache import Microcache

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")
application = Microcache(get_wsgi_application())
if os.environ.get("GLEW_REQUEST_CPU_DIR"):
    from leaderboard.request_cpu import RequestCpu

    application = RequestCpu(application, os.environ["GLEW_REQUEST_CPU_DIR"])
