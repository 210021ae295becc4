"""Leaderboard pages and API under load, with 10,000 submissions in PostgreSQL.

Fills a dedicated database (``glew_load`` by default, dropped and made anew) with
N submissions whose leaderboard rows are precomputed as the platform keeps them,
serves the site with gunicorn on loopback, and drives C concurrent keep-alive
clients for a bounded time against the leaderboard page, the leaderboard API, the
home page and submission pages. Prints p50/p95/p99 latency, throughput and errors.
Target: p95 <= 50 ms and 0 errors.

    python benchmarks/load_leaderboard.py [--submissions 10000] [--clients 50]
        [--seconds 20] [--workers 4]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def populate(database_url: str, submissions: int) -> list[int]:
    """Make the database and fill it; returns the submission ids."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction

    from leaderboard.catalogue.models import DatasetVersion, Suite, Task
    from leaderboard.submissions.models import (
        LeaderboardEntry,
        ModelArchive,
        Submission,
    )

    call_command("migrate", verbosity=0)
    call_command("sync_catalogue", verbosity=0)
    rng = random.Random(0)
    suite = Suite.objects.get(slug="glue")
    tasks = list(Task.objects.filter(suite=suite, key__in=["sst2", "rte", "mrpc"]))
    with transaction.atomic():
        for task in tasks:  # the leaderboard shows tasks that have data
            DatasetVersion.objects.get_or_create(
                task=task, sha256=f"{task.pk:064d}", defaults={"counts": {}}
            )
        owner, _ = get_user_model().objects.get_or_create(username="load")
        archives = ModelArchive.objects.bulk_create(
            ModelArchive(sha256=f"{i:064x}", storage_name="x", size_bytes=1)
            for i in range(submissions)
        )
        subs = Submission.objects.bulk_create(
            Submission(
                owner=owner,
                name=f"model-{i}",
                archive=archive,
                recipe="quick",
                status="finished",
                visibility="public" if i % 10 else "private",
            )
            for i, archive in enumerate(archives)
        )
        entries = []
        for sub in subs:
            cells = {}
            for task in tasks:
                mean = rng.uniform(0.5, 0.95)
                cells[task.name] = {
                    "mean": mean,
                    "std": 0.01,
                    "n": 3,
                    "per_seed": {"0": mean, "1": mean, "2": mean},
                }
            entries.append(
                LeaderboardEntry(
                    suite=suite,
                    submission=sub,
                    score=statistics.fmean(c["mean"] for c in cells.values()),
                    task_count=len(cells),
                    cells=cells,
                    efficiency={
                        "params": rng.choice([4e6, 22.7e6, 110e6, 340e6]),
                        "throughput": rng.uniform(50, 2000),
                        "latency_p50_ms": rng.uniform(2, 40),
                        "peak_memory_bytes": rng.uniform(1e8, 4e9),
                        "train_seconds": rng.uniform(60, 6000),
                        "device": "cpu",
                    },
                )
            )
        LeaderboardEntry.objects.bulk_create(entries, batch_size=2000)
    return [sub.pk for sub in subs if sub.visibility == "public"]


def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect(
        "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def serve(
    database_url: str, port: int, workers: int, cache_url: str = ""
) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="leaderboard.settings",
        GLEW_DEBUG="0",
        GLEW_SECRET_KEY="load-benchmark-only",
        GLEW_ALLOWED_HOSTS="127.0.0.1",
    )
    if cache_url:
        env["GLEW_CACHE_URL"] = cache_url
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "leaderboard.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/suites")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def drive(port: int, paths: list[str], clients: int, seconds: float) -> dict:
    """C keep-alive clients, each looping over random paths until the deadline."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine, bad = [], []
        while time.monotonic() < deadline:
            path = rng.choice(paths)
            start = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad.append(f"{response.status} {path}")
            except (OSError, http.client.HTTPException) as error:
                bad.append(f"{type(error).__name__} {path}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return {
        "requests": len(ordered),
        "rps": len(ordered) / seconds,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "errors": len(errors),
        "error_samples": errors[:5],
    }


WRK_SCRIPT = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  local bad = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  local format = "WRK requests=%%d seconds=%%.3f p50=%%.3f p95=%%.3f p99=%%.3f"
    .. " errors=%%d\\n"
  io.write(string.format(format,
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, bad))
end
"""


def drive_wrk(port: int, paths: list[str], clients: int, seconds: float) -> dict:
    """The same load from wrk (C, one thread per core): the client costs far less
    CPU than Python threads, so the figures are the server's."""
    import tempfile

    script = WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    done = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(clients),
            "-d",
            f"{int(seconds)}s",
            "--timeout",
            "10s",
            "-s",
            handle.name,
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(handle.name)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK "))
    values = dict(item.split("=") for item in line[4:].split())
    requests = int(values["requests"])
    return {
        "requests": requests,
        "rps": requests / float(values["seconds"]),
        "p50_ms": float(values["p50"]),
        "p95_ms": float(values["p95"]),
        "p99_ms": float(values["p99"]),
        "errors": int(values["errors"]),
        "error_samples": [],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default="glew_load")
    parser.add_argument(
        "--cache-url",
        default="redis://127.0.0.1:6379/14",
        help="the shared cache the web processes use, as in production ('' for "
        "per-process memory)",
    )
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="wrk when installed (apt-get install wrk), else Python threads",
    )
    args = parser.parse_args()

    url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    recreate_database(args.database)
    started = time.monotonic()
    ids = populate(url, args.submissions)
    took = time.monotonic() - started
    print(f"populated {args.submissions} submissions in {took:.1f} s")
    server = serve(url, args.port, args.workers, args.cache_url)
    try:
        rng = random.Random(1)
        paths = ["/api/v1/leaderboards/glue", "/suites/glue/", "/", "/api/v1/suites"]
        paths += [f"/api/v1/submissions/{rng.choice(ids)}" for _ in range(20)]
        paths += [f"/suites/glue/?page={rng.randint(1, 50)}" for _ in range(5)]
        drive(args.port, paths, 4, 2.0)  # warm-up: imports, connections, caches
        use_wrk = args.client == "wrk" or (
            args.client == "auto" and shutil.which("wrk") is not None
        )
        run = drive_wrk if use_wrk else drive
        figures = run(args.port, paths, args.clients, args.seconds)
        print(f"client: {'wrk' if use_wrk else 'python threads'}")
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
    print(
        f"clients {args.clients}, {args.seconds:.0f} s, gunicorn workers "
        f"{args.workers}, cache {args.cache_url or 'per process'}, machine: "
        f"{os.cpu_count()} CPUs"
    )
    for key in ("requests", "rps", "p50_ms", "p95_ms", "p99_ms", "errors"):
        value = figures[key]
        print(f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}")
    if figures["error_samples"]:
        print("error samples:", figures["error_samples"])
    ok = figures["p95_ms"] <= 50 and figures["errors"] == 0
    print(f"target p95 <= 50 ms and 0 errors: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
