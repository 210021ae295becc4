"""Freezing a suite's board into a citable snapshot, and what has changed since.

A snapshot is the public board of one track (as an anonymous visitor sees it,
default filters but the track: ``Filters.track``) at one moment, with everything
needed to cite and check it: the track, the rows (ranks, scores, cells, rank
confidence), the suite's score rule, the task and dataset versions, the recipe
versions, and the manifest of every result a row counts (of that track). It
is written once, as one zip archive whose sha256 is the snapshot's identity and
URL, and never recomputed: later results, re-runs, withdrawals or deprecations
change the live board, never the snapshot. :func:`snapshot_changes` says how the
live board differs from it.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from leaderboard.catalogue.models import Suite
from leaderboard.standings.board import Board, Filters, build_board
from leaderboard.standings.cells import counted_results
from leaderboard.standings.exports import board_csv, board_data
from leaderboard.standings.models import LeaderboardSnapshot
from leaderboard.submissions.models import Result
from runners.contract import METHODS
from tasks import registry
from tasks.errors import UserError

FORMAT = "glew-leaderboard-snapshot/1"
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed: the archive's bytes follow its content


def _require_staff(user) -> None:
    if user is None or not user.is_authenticated:
        raise UserError("auth.required", "Log in as staff to freeze a leaderboard.")
    if not user.is_staff:
        raise UserError("auth.forbidden", "Only staff may freeze a leaderboard.")


def _score_rule(suite: Suite) -> dict:
    spec = registry.get_suite(suite.slug)
    return {
        "rule": spec.score_rule,
        "text": spec.score_rule_text,
        "options": dict(spec.score_rule_options),
        "deviations": list(spec.deviations),
        "suite_revision": suite.revision,
        "suite_version": suite.version,
    }


def _task_versions(board: Board) -> dict[str, dict]:
    """Per task on the board: its version and published dataset version."""
    found = {}
    for task in board.tasks:
        version = task.published_version()
        found[task.name] = {
            "task_version": task.version,
            "dataset_sha256": version.sha256 if version else None,
            "dataset_deprecated": bool(version and version.deprecated),
        }
    return found


def _manifests(board: Board) -> dict[str, dict]:
    """Evaluation id -> what its counted result says, for every row's results (of
    the board's track only: a LoRA row counts no full fine-tuning result)."""
    found = {}
    for row in board.rows:
        results = counted_results(
            Result.objects.filter(
                evaluation__submission_id=row.submission.pk,
                evaluation__task__in=board.tasks,
                numerics=row.numerics,
            ),
            track=board.filters.track,
        ).select_related("evaluation__task")
        for result in results.order_by("evaluation_id"):
            found[str(result.evaluation_id)] = {
                "submission": row.submission.pk,
                "task": result.evaluation.task.name,
                "seed": result.evaluation.seed,
                "numerics": result.numerics,
                "scores": result.scores,
                "task_score": result.task_score,
                "task_version": result.task_version,
                "manifest": result.manifest,
            }
    return found


def _recipes(manifests: dict[str, dict]) -> list[dict]:
    """The recipe versions the rows' results were fine-tuned with."""
    seen = {
        (str(recipe.get("name")), str(recipe.get("version")))
        for recipe in (m["manifest"].get("recipe") for m in manifests.values())
        if recipe
    }
    return [{"name": name, "version": version} for name, version in sorted(seen)]


def _require_track(track: str) -> str:
    if track not in METHODS:
        raise UserError(
            "snapshot.unknown_track",
            f"Unknown track {track[:40]!r}; choose from {', '.join(METHODS)}.",
        )
    return track


def public_board(suite: Suite, track: str = "full") -> Board:
    """The board a snapshot of ``track`` freezes: as anyone sees it, default filters
    but the track, by rank."""
    return build_board(
        suite=suite,
        user=None,
        filters=Filters(track=track),
        sort="rank",
        direction="",
    )


def snapshot_document(*, suite: Suite, board: Board) -> dict:
    """Everything a snapshot holds except when and by whom it was frozen."""
    manifests = _manifests(board)
    return {
        "format": FORMAT,
        "suite": {"slug": suite.slug, "title": suite.title},
        # The fine-tuning method whose board this is (in the hash, as all is).
        "track": board.filters.track,
        "score_rule": _score_rule(suite),
        "tasks": _task_versions(board),
        "recipes": _recipes(manifests),
        "board": board_data(board),
        "manifests": manifests,
    }


def snapshot_archive(document: dict, csv_text: str) -> bytes:
    """The archive: snapshot.json, rows.csv and one manifest file per result, with
    fixed dates and order, so its bytes (and hash) follow from its content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, text: str) -> None:
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_DATE), text)

        add("snapshot.json", json.dumps(document, indent=1, sort_keys=True))
        add("rows.csv", csv_text)
        for evaluation_id in sorted(document["manifests"], key=int):
            add(
                f"manifests/evaluation-{evaluation_id}.json",
                json.dumps(
                    document["manifests"][evaluation_id], indent=1, sort_keys=True
                ),
            )
    return buffer.getvalue()


@transaction.atomic
def leaderboard_snapshot_freeze(
    *, suite: Suite, actor, note: str = "", track: str = "full"
) -> LeaderboardSnapshot:
    """Freeze ``suite``'s public board of ``track`` (staff only); the new snapshot."""
    _require_staff(actor)
    board = public_board(suite, _require_track(track))
    now = timezone.now()
    document = snapshot_document(suite=suite, board=board)
    document |= {
        "frozen_at": now.isoformat(),
        "frozen_by": actor.get_username(),
        "note": note,
    }
    data = snapshot_archive(document, board_csv(board))
    sha = hashlib.sha256(data).hexdigest()
    existing = LeaderboardSnapshot.objects.filter(sha256=sha).first()
    if existing is not None:
        return existing
    name = default_storage.save(f"snapshots/{suite.slug}/{sha}.zip", ContentFile(data))
    return LeaderboardSnapshot.objects.create(
        suite=suite,
        track=board.filters.track,
        sha256=sha,
        storage_name=name,
        size_bytes=len(data),
        document=document,
        note=note,
        created_by=actor,
        created_at=now,
    )


def snapshot_get(*, suite: Suite, sha: str) -> LeaderboardSnapshot:
    """One of a suite's snapshots by its full hash."""
    found = LeaderboardSnapshot.objects.filter(suite=suite, sha256=sha.lower()).first()
    if found is None:
        raise UserError(
            "snapshot.not_found", f"{suite.slug} has no snapshot {sha[:64]!r}."
        )
    return found


def snapshot_archive_bytes(snapshot: LeaderboardSnapshot) -> bytes:
    with default_storage.open(snapshot.storage_name, "rb") as handle:
        return handle.read()


def suite_snapshots(suite: Suite) -> list[LeaderboardSnapshot]:
    """A suite's snapshots, newest first."""
    return list(LeaderboardSnapshot.objects.filter(suite=suite))


def snapshots_stamp(suite: Suite) -> str:
    """Changes when a snapshot of ``suite`` is frozen (the live page links them)."""
    latest = LeaderboardSnapshot.objects.filter(suite=suite).order_by("-pk").first()
    return f"snapshots:{latest.pk if latest else 0}"


def snapshot_changes(snapshot: LeaderboardSnapshot) -> dict:
    """How today's public board of the snapshot's track differs from it: rows
    added, removed and moved (rank or score), and task, dataset or recipe
    versions changed."""
    then = snapshot.document
    board = public_board(snapshot.suite, snapshot.track)
    now = snapshot_document(suite=snapshot.suite, board=board)

    def keyed(rows: list[dict]) -> dict[str, dict]:
        return {f"{r['submission']}:{r['numerics']}": r for r in rows}

    before, after = keyed(then["board"]["rows"]), keyed(now["board"]["rows"])
    moved = [
        {
            "row": key,
            "name": after[key]["name"],
            "rank_then": before[key]["rank"],
            "rank_now": after[key]["rank"],
            "score_then": before[key]["score"],
            "score_now": after[key]["score"],
        }
        for key in before
        if key in after
        and (
            before[key]["rank"] != after[key]["rank"]
            or before[key]["score"] != after[key]["score"]
        )
    ]
    versions = [
        {"task": name, "then": then["tasks"].get(name), "now": now["tasks"].get(name)}
        for name in sorted(set(then["tasks"]) | set(now["tasks"]))
        if then["tasks"].get(name) != now["tasks"].get(name)
    ]
    return {
        "added": [_brief(after[k]) for k in after if k not in before],
        "removed": [_brief(before[k]) for k in before if k not in after],
        "moved": moved,
        "versions": versions,
        "score_rule_changed": then["score_rule"] != now["score_rule"],
        "recipes": {"then": then["recipes"], "now": now["recipes"]}
        if then["recipes"] != now["recipes"]
        else None,
        "unchanged": not (
            set(before) ^ set(after)
            or moved
            or versions
            or then["score_rule"] != now["score_rule"]
            or then["recipes"] != now["recipes"]
        ),
    }


def _brief(row: dict) -> dict:
    return {
        "row": f"{row['submission']}:{row['numerics']}",
        "name": row["name"],
        "rank": row["rank"],
        "score": row["score"],
    }
