"""The microcache's builder: renews anonymous pages outside the serving processes.

A page build is ~10 ms of CPU. Done in a serving thread it holds that process's GIL,
so on a slow or shared core every request of the process waits behind it: the tail
of the load benchmark was made of such builds. ``deploy/serve_web.py`` starts this
process beside Granian (``python -m leaderboard.microcache_builder --parent PID``);
it runs at the serving processes' priority (``NICE`` says why not lower), pops the
requests the serving processes ask to renew (leaderboard/microcache.py, ``ask``),
runs the same Django application on the request's cacheable part only, and stores
what may be shared in the shared cache exactly as a serving process would, then
clears the renewal claim. The serving processes take the entry from there. Nothing
depends on it for correctness: an entry it does not renew in time expires and is
built inline as without it.

It dies with the server: the kernel sends it SIGTERM when its parent exits (Linux),
and it also checks its parent once a second.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import signal
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from leaderboard import microcache

# Niceness added to the server's (GLEW_MICROCACHE_BUILDER_NICE overrides). Not a
# lower priority: under a saturating load the scheduler shares a core by weight, and
# the builds need ~18-25% of one (~15 a second, 10-16 ms each) while the serving
# processes keep it busy. In the load benchmark on half a core, nice 10 and nice 5 got
# the builder 3-8%, nice 2 too little as well: entries expired and were built inline
# (250-270 misses in 20 s, p95 59-103 ms); at nice 0 it kept up (27 misses, p95 11
# ms). When it still falls behind, serving processes renew inline at REFRESH_AFTER.
NICE = 0
# An entry younger than this share of the period is not built again (two processes
# asked after a claim expired, or a serving process built it inline meanwhile).
SKIP_YOUNGER_THAN = 0.5


def _die_with_parent(parent: int) -> None:
    """Ask Linux for SIGTERM when the parent exits; leave now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the once-a-second check below still ends it
    if os.getppid() != parent:
        raise SystemExit(0)


class Builder:
    """Pops requests, builds and stores their pages; counts what it did."""

    def __init__(self, app, queue, stats_dir: str = "") -> None:
        self.app, self.queue = app, queue
        self.stats_dir = Path(stats_dir) if stats_dir else None
        self.counts = {"built": 0, "stored": 0, "skipped": 0}
        self.build_cpu = 0.0
        self.written = 0.0
        self.started_cpu = _process_cpu()  # Django is set up by now

    def renew(self, message: bytes | str) -> None:
        """Build one asked-for page and store it where it may be shared; the claim
        is cleared whatever happens, so the next ask is not held off."""
        environ = microcache.request_environ(message)
        key = microcache.key_of(environ)
        seconds = settings.GLEW_MICROCACHE_SECONDS
        try:
            shared = cache.get(key)
            if shared is not None and time.time() - shared[0] < (
                SKIP_YOUNGER_THAN * seconds
            ):
                self.counts["skipped"] += 1
                return
            started = time.thread_time()
            result, entry = microcache.build(self.app, environ, _discard)
            if entry is None:
                getattr(result, "close", lambda: None)()
            else:
                cache.set(key, entry, int(seconds) + 1)
                self.counts["stored"] += 1
            self.counts["built"] += 1
            self.build_cpu += time.thread_time() - started
        finally:
            cache.delete("renew:" + key)

    def serve(self, parent: int) -> None:
        """Renew pages until the parent process is gone."""
        while os.getppid() == parent:
            popped = self.queue.blpop([microcache.QUEUE], timeout=1)
            if popped is not None:
                self.renew(popped[1])
            if self.stats_dir is not None and time.monotonic() - self.written > 1:
                self.write()

    def write(self) -> None:
        """Counts and CPU for the load benchmark (``<dir>/builder/<pid>.json``)."""
        self.written = time.monotonic()
        data = {
            **self.counts,
            "build_cpu_s": self.build_cpu,
            "process_cpu_s": _process_cpu() - self.started_cpu,
        }
        folder = self.stats_dir / "builder"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{os.getpid()}.json"
        path.with_suffix(".tmp").write_text(json.dumps(data))
        path.with_suffix(".tmp").replace(path)


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _discard(status, headers, exc_info=None):
    """start_response for a build nobody reads: the entry carries what was sent."""
    return lambda data: None


def main() -> None:
    """``python -m leaderboard.microcache_builder --parent PID``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args()
    _die_with_parent(args.parent)
    os.nice(int(os.environ.get("GLEW_MICROCACHE_BUILDER_NICE", NICE)))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")
    import redis
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    queue = redis.Redis.from_url(settings.GLEW_CACHE_URL)
    Builder(app, queue, os.environ.get("GLEW_REQUEST_CPU_DIR", "")).serve(args.parent)


if __name__ == "__main__":
    main()
