"""``glew``: log in, submit a model folder, follow it, rank, download data.

    glew login [--username U] [--password P | --token KEY]
    glew submit MODEL_DIR --suite glue --recipe quick [--tracks full,lora]
    glew status ID [--watch]
    glew leaderboard SUITE [--csv] [--track lora]
    glew download SUITE/TASK [-o FILE]

Server and token: ``--url``/``--token``, else ``GLEW_URL``/``GLEW_TOKEN``, else the
config file ``glew login`` writes (see ``glew_cli.config``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from glew_cli import config
from glew_cli.client import ApiError, Client

TERMINAL = {"finished", "failed", "cancelled"}


def _client(args) -> Client:
    settings = config.resolve(args.url, args.token)
    return Client(settings.url, settings.token)


def _need_token(client: Client) -> None:
    if not client.token:
        raise ApiError(
            "Not logged in: run `glew login`, or pass --token / set GLEW_TOKEN.",
            "client.no_token",
        )


def cmd_login(args) -> int:
    settings = config.resolve(args.url, None)
    client = Client(settings.url)
    token = args.token or os.environ.get("GLEW_TOKEN")
    if not token:
        username = args.username or input("Username: ")
        password = args.password or getpass.getpass("Password: ")
        token = client.token_for(username, password)
    client.token = token
    me = client.json("GET", "/api/v1/auth/me")
    path = config.write_file(url=settings.url, token=token)
    print(f"Logged in to {settings.url} as {me['username']}; saved to {path}")
    return 0


def zip_folder(folder: Path, out: Path) -> Path:
    """Zip a model folder (files at the zip root), skipping hidden files."""
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise ApiError(f"{folder} holds no files.", "client.empty_folder")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder).as_posix())
    return out


def cmd_submit(args) -> int:
    from tqdm import tqdm

    client = _client(args)
    _need_token(client)
    source = Path(args.model)
    if not source.exists():
        raise ApiError(f"{source} does not exist.", "client.not_found")
    if not (args.suite or args.task):
        raise ApiError("Give --suite or --task.", "client.no_targets")
    with tempfile.TemporaryDirectory(prefix="glew-") as tmp:
        if source.is_dir():
            archive = zip_folder(source, Path(tmp) / f"{source.name}.zip")
        else:
            archive = source
        fields = {
            "name": args.name or source.stem,
            "suites": ",".join(args.suite or []),
            "tasks": ",".join(args.task or []),
            "recipe": args.recipe,
            "tracks": args.tracks,
            "visibility": "private" if args.private else "public",
            "description": args.description or "",
        }
        size = archive.stat().st_size
        with tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="Uploading",
            disable=args.quiet,
            file=sys.stderr,
        ) as bar:
            body = client.submit(
                archive, fields, progress=lambda n: bar.update(min(n, size - bar.n))
            )
    print(f"Submission {body['id']} ({body['status']}): {body['url']}")
    if args.watch:
        return _watch(client, body["id"], args.interval)
    return 0


def _print_status(body: dict) -> None:
    print(f"#{body['id']} {body['name']}: {body['status']}")
    for e in body["evaluations"]:
        line = (
            f"  eval {e['id']:>5}  {e['task']:<16} seed {e['seed']:<2} {e['status']:<9}"
        )
        if e.get("task_score") is not None:
            line += f" score {100 * e['task_score']:.1f}"
        progress = e.get("progress") or {}
        if e["status"] == "running" and progress.get("total_steps"):
            line += f" step {progress.get('step')}/{progress['total_steps']}"
        if e.get("error"):
            line += f" error: {e['error']['message']} ({e['error']['code']})"
        print(line)


def _watch(client: Client, submission_id: int, interval: float) -> int:
    last = None
    while True:
        body = client.submission(submission_id)
        state = [(e["id"], e["status"]) for e in body["evaluations"]]
        if state != last:
            _print_status(body)
            last = state
        if body["status"] in TERMINAL and all(
            e["status"] in TERMINAL for e in body["evaluations"]
        ):
            return 0 if body["status"] == "finished" else 1
        time.sleep(interval)


def cmd_status(args) -> int:
    client = _client(args)
    if args.watch:
        return _watch(client, args.id, args.interval)
    _print_status(client.submission(args.id))
    return 0


def cmd_leaderboard(args) -> int:
    client = _client(args)
    params = {"all": "1" if args.all else "", "sort": args.sort, "track": args.track}
    if args.csv:
        params["format"] = "csv"
        sys.stdout.write(
            client.text(f"/api/v1/leaderboards/{args.suite}", params=params)
        )
        return 0
    body = client.json("GET", f"/api/v1/leaderboards/{args.suite}", params=params)
    tasks = body.get("tasks", [])
    header = ["rank", "name", "score"] + [t.split("/", 1)[-1] for t in tasks]
    lines = [header]
    for row in body["rows"]:
        details = row.get("task_details", {})
        lines.append(
            [
                _rank(row),
                row["name"],
                _suite_score(row),
                *(_cell(row["tasks"].get(t), details.get(t)) for t in tasks),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
    if not body["rows"]:
        print(f"(no finished evaluations on {args.suite} yet)")
    _print_notes(body)
    return 0


def _rank(row: dict) -> str:
    """A rank; a partial score's rank is among partial scores only (``P1``)."""
    if row["rank"] is None:
        return "-"
    return f"P{row['rank']}" if row.get("partial") else str(row["rank"])


def _suite_score(row: dict) -> str:
    text = _pct(row["score"])
    if row.get("partial"):
        text += f" (partial {row['tasks_counted']}/{row['tasks_in_suite']})"
    return text


def _cell(mean, detail: dict | None) -> str:
    """A task's mean, and how many of its seeds did not learn when any did."""
    text = _pct(mean)
    if detail and detail.get("did_not_learn"):
        text += f" ({detail['did_not_learn']}/{detail['seeds']} dnl)"
    return text


def _print_notes(body: dict) -> None:
    """What the scores are over, the partial ranking rule, and the dnl legend."""
    coverage = body.get("coverage") or {}
    if coverage.get("partial"):
        print(
            f"{coverage['text']}. Partial scores (P ranks) are ranked among "
            "themselves, after complete ones."
        )
    if any(row.get("did_not_learn") for row in body["rows"]):
        print(
            "dnl: seeds that did not learn (constant predictions, or a score not "
            "above the majority-class or chance baseline)."
        )


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def cmd_download(args) -> int:
    client = _client(args)
    if "/" not in args.task:
        raise ApiError(
            "Name the task as SUITE/TASK, e.g. glue/sst2.", "client.bad_task"
        )
    suite, task = args.task.split("/", 1)
    out = Path(args.output or f"{suite}-{task}.zip")
    size = client.download(f"/api/v1/tasks/{suite}/{task}/download", out)
    print(f"Saved {args.task} ({size:,} bytes) to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glew", description="Command line client of a Glew leaderboard server."
    )
    parser.add_argument("--url", help="server URL (default: GLEW_URL or config)")
    parser.add_argument("--token", help="API token (default: GLEW_TOKEN or config)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("login", help="get an API token and save it")
    p.add_argument("--username")
    p.add_argument("--password")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("submit", help="zip a model folder, upload it, queue it")
    p.add_argument("model", help="a Hugging Face model folder (or a .zip of one)")
    p.add_argument("--suite", action="append", help="suite to evaluate on (repeat)")
    p.add_argument("--task", action="append", help="single task, e.g. glue/rte")
    p.add_argument("--recipe", default="quick")
    p.add_argument(
        "--tracks",
        default="full",
        help="fine-tuning methods, comma-separated: full, lora, bitfit, mlm "
        "(default full)",
    )
    p.add_argument("--name")
    p.add_argument("--description")
    p.add_argument("--private", action="store_true")
    p.add_argument("--watch", action="store_true", help="follow it until done")
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("status", help="show a submission's evaluations")
    p.add_argument("id", type=int)
    p.add_argument("--watch", action="store_true")
    p.add_argument("--interval", type=float, default=5.0)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("leaderboard", help="print a suite leaderboard")
    p.add_argument("suite")
    p.add_argument("--csv", action="store_true")
    p.add_argument("--all", action="store_true", help="every submission")
    p.add_argument("--sort", default="")
    p.add_argument(
        "--track", default="full", help="fine-tuning method: full, lora, bitfit or mlm"
    )
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("download", help="download a task's dataset")
    p.add_argument("task", help="SUITE/TASK, e.g. glue/sst2")
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_download)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ApiError as error:
        print(f"error: {error.message} ({error.code})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
