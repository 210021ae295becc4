"""Which fine-tuning methods (tracks) a submission asks for, and which of its
tasks each track can run: the one place for both rules.

Every track runs every task except ``mlm``, which answers by filling a mask with a
label word and so runs only tasks whose catalogue entry has a prompt
(tasks.prompts: GLUE's classification tasks; not STS-B, a regression).
"""

from __future__ import annotations

from collections.abc import Iterable

from leaderboard.catalogue.models import Task
from runners.contract import METHODS
from tasks import registry
from tasks.errors import UserError
from tasks.specs import TaskSpec


def tracks_check(tracks: Iterable[str]) -> list[str]:
    """The fine-tuning methods asked for, known and without repeats, in the order
    of runners.contract.METHODS; at least one."""
    asked = [str(t).strip() for t in tracks if str(t).strip()]
    unknown = sorted(set(asked) - set(METHODS))
    if unknown:
        raise UserError(
            "submission.unknown_track",
            f"Unknown track {', '.join(map(repr, unknown))}; choose from "
            f"{', '.join(METHODS)}.",
        )
    if not asked:
        raise UserError(
            "submission.no_track", f"Choose at least one track: {', '.join(METHODS)}."
        )
    return [method for method in METHODS if method in asked]


def method_runs(method: str, spec: TaskSpec) -> bool:
    """Whether ``method`` can evaluate the task ``spec`` (``mlm`` needs its prompt)."""
    return method != "mlm" or spec.prompt is not None


def track_runs(method: str, task: Task) -> bool:
    """:func:`method_runs` for a catalogue row."""
    return method_runs(method, registry.get_task(task.name))


def tracks_targets_check(tracks: list[str], targets: list[Task]) -> None:
    """Refuse a track that can run none of the targets, saying which could."""
    for method in tracks:
        if not any(track_runs(method, task) for task in targets):
            runnable = sorted(
                spec.name for spec in registry.all_tasks() if spec.prompt is not None
            )
            raise UserError(
                "submission.track_unsupported",
                f"The {method} track fills a [MASK] with a label word, so it needs "
                "tasks with a prompt; none of "
                f"{', '.join(t.name for t in targets)} has one. Tasks with a prompt: "
                f"{', '.join(runnable) or 'none'}.",
            )
