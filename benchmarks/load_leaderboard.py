"""Leaderboard pages and API under load, with 10,000 submissions in PostgreSQL.

Fills a dedicated database (``glew_load`` by default, dropped and made anew) with
N submissions whose leaderboard rows are precomputed as the platform keeps them,
serves the site on loopback as deployed (deploy/serve_web.py), and drives C
concurrent keep-alive clients for a bounded time against the leaderboard page, the
leaderboard API, the home page and submission pages. Prints p50/p95/p99 latency,
throughput and errors. Target: p95 <= 50 ms and 0 errors.

    python benchmarks/load_leaderboard.py [--submissions 10000] [--clients 50]
        [--seconds 20] [--workers N] [--threads 8] [--server-cpus 0]
        [--server granian|gunicorn|gunicorn-sync] [--reuse-database]

The server's processes meter the CPU time of each request
(leaderboard/request_cpu.py), and the benchmark prints CPU ms per request by route
and microcache outcome (hit, hit-shared, waited, refresh, miss, uncached) and the
server's whole CPU per request against the budget the target implies (at ~2,000
req/s, two cores give a request 1 ms of CPU, client included). ``--server-cpus 0``
pins the server to one core (wrk to the others): a stand-in for a slower machine of
two cores. ``--server gunicorn`` serves the same application with gunicorn, the
baseline the figures in README compare against.
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
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from benchlib.request_cpu import cpu_name, cpu_report  # noqa: E402


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
    database_url: str,
    port: int,
    workers: int,
    cache_url: str = "",
    *,
    server: str = "granian",
    threads: int = 8,
    cpus: str = "",
    cpu_dir: str = "",
) -> subprocess.Popen:
    """The web tier on loopback as deployed (deploy/serve_web.py: Granian), or, to
    compare, gunicorn with gthread workers (``gunicorn``) or sync workers
    (``gunicorn-sync``, which close every connection); under ``taskset -c cpus``."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="leaderboard.settings",
        GLEW_DEBUG="0",
        GLEW_SECRET_KEY="load-benchmark-only",
        GLEW_ALLOWED_HOSTS="127.0.0.1",
        GLEW_WEB_BIND=f"127.0.0.1:{port}",
        GLEW_WEB_WORKERS=str(workers),
        GLEW_WEB_THREADS=str(threads),
        GLEW_WEB_LOG_LEVEL="warning",
    )
    if cache_url:
        env["GLEW_CACHE_URL"] = cache_url
    if cpu_dir:
        env["GLEW_REQUEST_CPU_DIR"] = cpu_dir
    command = [sys.executable, "deploy/serve_web.py"]
    if server.startswith("gunicorn"):
        command = [sys.executable, "-m", "gunicorn", "leaderboard.wsgi"]
        command += ["-b", f"127.0.0.1:{port}", "-w", str(workers)]
        command += ["--log-level", "warning", "--keep-alive", "30"]
        if server == "gunicorn":
            command += ["-k", "gthread", "--threads", str(threads)]
    if cpus:
        command = ["taskset", "-c", cpus, *command]
    proc = subprocess.Popen(
        command,
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


def drive(
    port: int, paths: list[str], clients: int, seconds: float, warmup: bool = False
) -> dict:
    """C keep-alive clients, each looping over random paths until the deadline.
    Warm-up requests say so in a header, and the CPU meter leaves them out."""
    headers = {"X-Glew-Warmup": "1"} if warmup else {}
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
                conn.request("GET", path, headers=headers)
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


def drive_wrk(
    port: int, paths: list[str], clients: int, seconds: float, cpus: str = ""
) -> dict:
    """The same load from wrk (C, one thread per core): the client costs far less
    CPU than Python threads, so the figures are the server's."""

    script = WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    pin = ["taskset", "-c", cpus] if cpus else []
    done = subprocess.run(
        [
            *pin,
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


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--server",
        choices=["granian", "gunicorn", "gunicorn-sync"],
        default="granian",
        help="granian as deployed (deploy/serve_web.py), or gunicorn to compare",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes; by default as deployed, one per CPU the server may use",
    )
    parser.add_argument(
        "--threads", type=int, default=8, help="Python threads per worker (8)"
    )
    parser.add_argument(
        "--server-cpus",
        default="",
        help="pin the server to these CPUs (taskset -c), e.g. 0 to approximate a "
        "slower machine with one core; wrk then runs on the others",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default="glew_load")
    parser.add_argument(
        "--reuse-database",
        action="store_true",
        help="serve the database a previous run filled",
    )
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
    return parser.parse_args()


def public_ids(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        rows = conn.execute(
            "SELECT id FROM submissions_submission WHERE visibility = 'public'"
        )
        return [row[0] for row in rows]


def main() -> int:
    args = arguments()
    url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    if args.reuse_database:
        # A database filled by older code lacks newer columns: every page would
        # answer 500 and the figures would measure errors.
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=REPO,
            env={**os.environ, "DATABASE_URL": url},
            check=True,
        )
        ids = public_ids(url)
    else:
        recreate_database(args.database)
        started = time.monotonic()
        ids = populate(url, args.submissions)
        took = time.monotonic() - started
        print(f"populated {args.submissions} submissions in {took:.1f} s")
    server_cpus = len(args.server_cpus.split(",")) if args.server_cpus else None
    args.workers = args.workers or server_cpus or len(os.sched_getaffinity(0))
    cpu_dir = tempfile.mkdtemp(prefix="glew-request-cpu-")
    server = serve(
        url,
        args.port,
        args.workers,
        args.cache_url,
        server=args.server,
        threads=args.threads,
        cpus=args.server_cpus,
        cpu_dir=cpu_dir,
    )
    client_cpus = ""
    if args.server_cpus:
        others = set(range(os.cpu_count() or 1)) - set(
            int(c) for c in args.server_cpus.split(",")
        )
        client_cpus = ",".join(str(c) for c in sorted(others))
    try:
        rng = random.Random(1)
        paths = ["/api/v1/leaderboards/glue", "/suites/glue/", "/", "/api/v1/suites"]
        paths += [f"/api/v1/submissions/{rng.choice(ids)}" for _ in range(20)]
        paths += [f"/suites/glue/?page={rng.randint(1, 50)}" for _ in range(5)]
        drive(args.port, paths, 4, 2.0, warmup=True)  # imports, connections
        use_wrk = args.client == "wrk" or (
            args.client == "auto" and shutil.which("wrk") is not None
        )
        load_before = os.getloadavg()[0]
        if use_wrk:
            figures = drive_wrk(
                args.port, paths, args.clients, args.seconds, client_cpus
            )
        else:
            figures = drive(args.port, paths, args.clients, args.seconds)
        load_after = os.getloadavg()[0]
        time.sleep(1.2)
        drive(args.port, paths, 8, 0.5, warmup=True)  # the processes write figures
        print(f"client: {'wrk' if use_wrk else 'python threads'}")
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
    model = {
        "granian": f"granian, {args.threads} threads each",
        "gunicorn": f"gunicorn gthread, {args.threads} threads each",
        "gunicorn-sync": "gunicorn sync",
    }[args.server]
    pinned = (
        f"server pinned to CPU {args.server_cpus}"
        if args.server_cpus
        else ("server unpinned")
    )
    print(
        f"clients {args.clients}, {args.seconds:.0f} s, {args.workers} workers "
        f"({model}), {pinned}, cache "
        f"{args.cache_url or 'per process'}; CPU: {cpu_name()}, "
        f"{os.cpu_count()} CPUs; load average (1 min) {load_before:.2f} before, "
        f"{load_after:.2f} after"
    )
    for key in ("requests", "rps", "p50_ms", "p95_ms", "p99_ms", "errors"):
        value = figures[key]
        print(f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}")
    if figures["error_samples"]:
        print("error samples:", figures["error_samples"])
    cpu_report(cpu_dir, float(server_cpus or os.cpu_count() or 1))
    shutil.rmtree(cpu_dir, ignore_errors=True)
    ok = figures["p95_ms"] <= 50 and figures["errors"] == 0
    print(f"target p95 <= 50 ms and 0 errors: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
