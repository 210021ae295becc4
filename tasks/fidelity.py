"""How a task's data and numbers compare with the published benchmark's.

A task may declare the split sizes its benchmark publishes (``split_sizes``:
rows, or groups for a task scored per ``group_field``) and, in plain words, where
it deviates (``deviations``, on the task and on its suite). :func:`split_size_report`
checks an import against the published sizes; an import of other sizes (a subset
for development, a different release) is kept but labelled: its datasheet says
its scores are not comparable with the benchmark's. :func:`deviation_text` is the
sentence pages and exports append to a description (:func:`task_description`,
:func:`suite_description`: what the catalogue's rows mirror).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tasks.dataset import Dataset
    from tasks.specs import SuiteSpec, TaskSpec


def split_counts(dataset: Dataset) -> dict[str, int]:
    """Per split, what the benchmark counts: groups for a task scored per group
    (HoC's abstracts), else rows."""
    group = dataset.task.group_field
    if group is None:
        return dataset.counts()
    return {
        split: len({row[group] for row in rows})
        for split, rows in dataset.splits.items()
    }


def split_size_report(dataset: Dataset) -> dict[str, Any] | None:
    """The published split sizes against the imported ones, or None for a task
    that declares none. ``matches`` is False when a declared split is missing or
    of another size; ``note`` then says so in plain words."""
    task = dataset.task
    if not task.split_sizes:
        return None
    found = split_counts(dataset)
    unit = f"{task.group_field}s" if task.group_field else "rows"
    expected = dict(task.split_sizes)
    differ = [s for s in expected if found.get(s) != expected[s]]
    report: dict[str, Any] = {
        "unit": unit,
        "expected": expected,
        "found": {s: found.get(s, 0) for s in expected},
        "matches": not differ,
    }
    if differ:
        report["note"] = (
            "Not the benchmark's splits: "
            + ", ".join(
                f"{s} has {found.get(s, 0)} {unit}, the benchmark {expected[s]}"
                for s in differ
            )
            + "; scores on this version are not comparable with published ones."
        )
    return report


def deviation_text(notes: Iterable[str]) -> str:
    """The sentence appended where a task or suite is described; "" for none.

    >>> deviation_text(["Dev is carved from train."])
    'Differs from the published benchmark: Dev is carved from train.'
    """
    notes = [n.strip() for n in notes if n.strip()]
    if not notes:
        return ""
    return "Differs from the published benchmark: " + " ".join(notes)


def task_fidelity(task: TaskSpec) -> dict[str, Any]:
    """The datasheet's view of a task's fidelity keys (JSON-safe)."""
    return {
        "scored_per": task.group_field,
        "published_split_sizes": dict(task.split_sizes) or None,
        "max_length": task.max_length,
        "deviations": list(task.deviations),
    }


def task_description(task: TaskSpec) -> str:
    """The task's description with its deviations, as its page and the API show it."""
    return " ".join(filter(None, [task.description, deviation_text(task.deviations)]))


def suite_description(suite: SuiteSpec) -> str:
    """The suite's description with its own deviations and its tasks', each task's
    named, as the suite page and the API show it."""
    notes = [*suite.deviations]
    notes += [f"{t.title}: {note}" for t in suite.tasks for note in t.deviations]
    return " ".join(filter(None, [suite.description, deviation_text(notes)]))
