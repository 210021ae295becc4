"""gunicorn settings of the web tier: ``gunicorn -c deploy/gunicorn.conf.py
leaderboard.wsgi`` (deploy/compose.yml; benchmarks/load_leaderboard.py serves with
this file too, so its figures are the deployment's).

Why these:
- Most requests are anonymous reads answered by the microcache in front of Django
  (leaderboard/microcache.py) in ~0.04 ms of CPU; what is left per request is the
  server's own work, and the cheapest way to do it is to keep each client's connection
  open: ``gthread`` workers keep connections alive, sync workers close every one
  (measured on 2 cores with 50 clients: sync workers 1,000 req/s with p95 in seconds,
  gthread 6,500-7,500 req/s).
- One worker process per CPU the server may use: Python runs one thread at a time per
  process, so more processes than cores only add switching and renewals of the
  cache, fewer leave a core idle. ``GLEW_WEB_WORKERS`` overrides.
- Threads per worker: a thread waits on PostgreSQL or Redis while another serves; 8 is
  enough to keep a core busy on a miss and small enough that a page being built does
  not hold up many queued requests (``GLEW_WEB_THREADS`` overrides).
"""

import os

bind = os.environ.get("GLEW_WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GLEW_WEB_WORKERS", 0)) or len(os.sched_getaffinity(0))
worker_class = "gthread"
threads = int(os.environ.get("GLEW_WEB_THREADS", 8))
keepalive = 30  # seconds an idle client connection stays open
