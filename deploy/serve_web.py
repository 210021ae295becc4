"""The web tier: Granian serving ``leaderboard.wsgi`` (``python deploy/serve_web.py``;
deploy/compose.yml runs it, and so does benchmarks/load_leaderboard.py, so its
figures are this configuration's).

Why this server and these settings (figures: README, "Performance"):
- Most requests are anonymous reads that the microcache in front of Django
  (leaderboard/microcache.py) answers in ~0.01-0.05 ms of Python; what is left is the
  server's own HTTP work. Granian parses HTTP and keeps connections alive in Rust, so
  a cached request costs the server processes ~0.07 ms of CPU in all, against ~0.19 ms
  under gunicorn's gthread workers (HTTP in Python) and more under its sync workers,
  which also close every connection.
- One worker process per CPU the server may use (``GLEW_WEB_WORKERS`` overrides):
  Python runs one thread at a time per process, so fewer leave a core idle and more
  add switching and one more renewal of each cached URL per period.
- ``GLEW_WEB_THREADS`` (8) Python threads per worker run the application: enough to
  wait on PostgreSQL and Redis while another serves, few enough that a page being
  built does not hold up many others.
"""

import os
import sys


def command() -> list[str]:
    """The granian command line, from GLEW_WEB_BIND, _WORKERS and _THREADS."""
    host, _, port = os.environ.get("GLEW_WEB_BIND", "0.0.0.0:8000").rpartition(":")
    workers = int(os.environ.get("GLEW_WEB_WORKERS", 0)) or len(os.sched_getaffinity(0))
    threads = os.environ.get("GLEW_WEB_THREADS", "8")
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        port,
        "--workers",
        str(workers),
        "--blocking-threads",
        threads,
        "--log-level",
        os.environ.get("GLEW_WEB_LOG_LEVEL", "info"),
        "leaderboard.wsgi:application",
    ]


if __name__ == "__main__":
    argv = command()
    os.execv(argv[0], argv)
