"""The bundle's one status machine: its allowed moves in one table, one function
that moves a row, under ``select_for_update`` (STYLE rule 4), so a redelivered
import job is a no-op once its bundle has ended and a status never goes back."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from leaderboard.curation.models import Bundle, BundleStatus

S = BundleStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.AWAITING: frozenset({S.QUEUED, S.DISCARDED}),
    S.QUEUED: frozenset({S.RUNNING, S.FAILED}),
    # running -> running: a job redelivered after its worker died starts again
    # (importing is idempotent: content-addressed versions, the same spec).
    S.RUNNING: frozenset({S.RUNNING, S.FINISHED, S.FAILED}),
    S.FINISHED: frozenset(),
    S.FAILED: frozenset(),
    S.DISCARDED: frozenset(),
}
TERMINAL = frozenset(s for s, moves in TRANSITIONS.items() if not moves)


def bundle_move(*, bundle_id: int, to: str, **changes) -> Bundle | None:
    """Move a bundle to ``to`` with ``changes``; None (and nothing changed) when
    that move is not allowed from where it is."""
    with transaction.atomic():
        bundle = Bundle.objects.select_for_update().get(pk=bundle_id)
        if to not in TRANSITIONS[bundle.status]:
            return None
        bundle.status = to
        if to == S.RUNNING:
            bundle.attempts += 1
            changes.setdefault("started_at", timezone.now())
        if to in TERMINAL:
            changes.setdefault("finished_at", timezone.now())
        for name, value in changes.items():
            setattr(bundle, name, value)
        bundle.save()
        return bundle


def bundle_progress(
    *, bundle_id: int, stage: str, step: int = 0, total: int = 0, message: str = ""
) -> None:
    """What the import is doing, for the bundle page (no status move)."""
    Bundle.objects.filter(pk=bundle_id, status=S.RUNNING).update(
        progress={"stage": stage, "step": step, "total": total, "message": message}
    )
