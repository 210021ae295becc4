"""CPU time per request, by route and microcache outcome, for the load benchmark.

``leaderboard/wsgi.py`` wraps the application in :class:`RequestCpu` only when
``GLEW_REQUEST_CPU_DIR`` is set (``benchmarks/load_leaderboard.py`` sets it), so
production pays nothing. Each request's CPU is the serving thread's CPU time
(``time.thread_time``) from the call into the application until the server closes
the response, so it includes writing the body to the socket but not the server's own
parsing and connection handling; the process's whole CPU (``resource``) since its
first measured request is recorded beside it to show that part. Each process writes
``<pid>.json`` into the folder at most once a second, on a request, and at exit where
the server runs ``atexit`` (Granian's workers do not). Requests with an
``X-Glew-Warmup`` header are served but not counted; the benchmark sends some after
the load, a second later, so every process writes its last figures.
"""

import atexit
import json
import os
import re
import resource
import threading
import time
from pathlib import Path

from leaderboard.microcache import OUTCOME

NUMBER = re.compile(r"(?<=/)\d+(?=/|$)")


def route_of(path: str) -> str:
    """``/api/v1/submissions/123`` -> ``/api/v1/submissions/N``: one row per route."""
    return NUMBER.sub("N", path)


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class RequestCpu:
    """WSGI wrapper that sums thread CPU seconds per (route, outcome)."""

    def __init__(self, app, folder: str) -> None:
        self.app = app
        self.folder = Path(folder)
        self.lock = threading.Lock()
        self.totals: dict[str, list[float]] = {}  # "route outcome" -> [n, seconds]
        self.first: tuple[float, float] | None = None  # (process CPU, wall) at start
        self.written = 0.0
        atexit.register(self.write)

    def __call__(self, environ: dict, start_response):
        if "HTTP_X_GLEW_WARMUP" in environ:  # also how the benchmark flushes
            if self.first is not None and time.monotonic() - self.written > 1:
                self.write()
            return self.app(environ, start_response)
        if self.first is None:
            self.first = (_process_cpu(), time.monotonic())
        started = time.thread_time()
        result = self.app(environ, start_response)
        return _Timed(self, result, environ, started)

    def record(self, environ: dict, seconds: float) -> None:
        route = route_of(environ.get("PATH_INFO", ""))
        if environ.get("QUERY_STRING"):
            route += "?"
        key = f"{route} {environ.get(OUTCOME, 'uncached')}"
        with self.lock:
            row = self.totals.setdefault(key, [0, 0.0])
            row[0] += 1
            row[1] += seconds
        if time.monotonic() - self.written > 1:
            self.write()

    def write(self) -> None:
        """Dump the totals (and the process's CPU since the first request)."""
        if self.first is None:
            return
        self.written = time.monotonic()
        with self.lock:
            totals = {key: list(row) for key, row in self.totals.items()}
        data = {
            "totals": totals,
            "process_cpu_s": _process_cpu() - self.first[0],
            "wall_s": time.monotonic() - self.first[1],
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{os.getpid()}.json"
        path.with_suffix(".tmp").write_text(json.dumps(data))
        path.with_suffix(".tmp").replace(path)


class _Timed:
    """The application's response, timed until the server closes it."""

    def __init__(self, owner: RequestCpu, result, environ: dict, started: float):
        self.owner, self.result = owner, result
        self.environ, self.started = environ, started

    def __iter__(self):
        return iter(self.result)

    def close(self) -> None:
        close = getattr(self.result, "close", None)
        if close is not None:
            close()
        self.owner.record(self.environ, time.thread_time() - self.started)
