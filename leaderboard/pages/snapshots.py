"""Pages of frozen leaderboards: a snapshot, its archive, and freezing (staff).

Views parse, call one service of ``standings.snapshots`` and render.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leaderboard.catalogue.selectors import suite_get
from leaderboard.pages.curation import staff_page
from leaderboard.standings import snapshots
from tasks.errors import UserError


def _found(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except UserError as error:
        raise Http404(error.message) from None


def snapshot_detail(request: HttpRequest, suite: str, sha: str) -> HttpResponse:
    suite_obj = _found(suite_get, suite)
    snapshot = _found(snapshots.snapshot_get, suite=suite_obj, sha=sha)
    document = snapshot.document
    return render(
        request,
        "pages/snapshot.html",
        {
            "suite": suite_obj,
            "snapshot": snapshot,
            "board": document["board"],
            "rule": document["score_rule"],
            "tasks": document["tasks"],
            "recipes": document["recipes"],
            "manifest_count": len(document["manifests"]),
            "changes": snapshots.snapshot_changes(snapshot),
        },
    )


def snapshot_archive(request: HttpRequest, suite: str, sha: str) -> HttpResponse:
    suite_obj = _found(suite_get, suite)
    snapshot = _found(snapshots.snapshot_get, suite=suite_obj, sha=sha)
    response = HttpResponse(
        snapshots.snapshot_archive_bytes(snapshot), content_type="application/zip"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="glew-{suite_obj.slug}-{snapshot.sha256}.zip"'
    )
    return response


@require_POST
@staff_page
def snapshot_freeze(request: HttpRequest, suite: str) -> HttpResponse:
    """Freeze the board of the track the suite page showed (its hidden input)."""
    suite_obj = _found(suite_get, suite)
    try:
        snapshot = snapshots.leaderboard_snapshot_freeze(
            suite=suite_obj,
            actor=request.user,
            note=request.POST.get("note", "")[:2000],
            track=request.POST.get("track", "full").strip(),
        )
    except UserError as error:
        messages.error(request, error.message)
        return redirect("suite-leaderboard", suite_obj.slug)
    messages.success(
        request, f"Froze the {snapshot.track} board as {snapshot.sha256[:12]}."
    )
    return redirect("snapshot-detail", suite_obj.slug, snapshot.sha256)
