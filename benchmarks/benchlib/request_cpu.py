"""CPU time per request of the load benchmark's server, read back and printed.

The server's processes write it (leaderboard/request_cpu.py, on when
``GLEW_REQUEST_CPU_DIR`` is set); ``benchmarks/load_leaderboard.py`` prints it.
"""

import json
from pathlib import Path


def cpu_report(folder: str, cores: float) -> None:
    """Print CPU ms per request by route and microcache outcome, from the files the
    server processes wrote (leaderboard/request_cpu.py), against the budget the
    target implies: at 2,000 req/s, ``cores`` cores give each request
    ``cores / 2000`` s of CPU, all of it, server and client included."""
    totals: dict[str, list[float]] = {}
    process_cpu = 0.0
    for path in Path(folder).glob("*.json"):
        data = json.loads(path.read_text())
        process_cpu += data["process_cpu_s"]
        for key, (count, seconds) in data["totals"].items():
            row = totals.setdefault(key, [0, 0.0])
            row[0] += count
            row[1] += seconds
    requests = sum(row[0] for row in totals.values())
    if not requests:
        print("no CPU figures (the server wrote none)")
        return
    print(f"{'route':<32} {'outcome':<10} {'requests':>9} {'CPU ms/request':>15}")
    for key in sorted(totals):
        route, outcome = key.rsplit(" ", 1)
        count, seconds = totals[key]
        print(f"{route:<32} {outcome:<10} {count:>9} {1000 * seconds / count:>15.3f}")
    by_outcome: dict[str, list[float]] = {}
    for key, (count, seconds) in totals.items():
        row = by_outcome.setdefault(key.rsplit(" ", 1)[1], [0, 0.0])
        row[0] += count
        row[1] += seconds
    for outcome, (count, seconds) in sorted(by_outcome.items()):
        share = 100 * count / requests
        mean = 1000 * seconds / count
        print(f"all routes {outcome}: {count} ({share:.1f}%), {mean:.3f} ms CPU each")
    budget_ms = 1000 * cores / 2000
    all_in = 1000 * process_cpu / requests
    print(
        f"server processes' whole CPU per request (the HTTP server's own "
        f"work included): {all_in:.3f} ms; budget at 2,000 req/s on "
        f"{cores:g} core(s): {budget_ms:.3f} ms; ratio {all_in / budget_ms:.2f}"
    )
    built = [by_outcome[o] for o in ("miss", "refresh") if o in by_outcome]
    if "hit" in by_outcome and built:
        hit = by_outcome["hit"][1] / by_outcome["hit"][0]
        django = sum(row[1] for row in built) / sum(row[0] for row in built)
        print(
            f"a hit costs {django / hit:.0f}x less CPU than running Django "
            f"(miss and refresh: {1000 * django:.3f} ms); Django's share of the server "
            f"CPU: {100 * sum(row[1] for row in built) / process_cpu:.0f}%"
        )


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"
