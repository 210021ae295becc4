"""The efficiency columns of a leaderboard and a row's figures.

**Efficiency of a row**: over its results (the suite's tasks at their current
versions, all seeds), the median of parameters, trainable parameters (what the
row's track trains), inference throughput (examples/s)
and latency p50; the maximum of peak memory; fine-tune cost is the seconds of
fine-tuning to run the suite once: the sum over tasks of the mean ``train_seconds``
over seeds. Figures are what the worker measured (``Result.efficiency``).
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass

from leaderboard.catalogue.models import Task
from leaderboard.submissions.models import Result


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    better: str  # "higher" or "lower"
    unit: str = ""


EFFICIENCY_COLUMNS: tuple[Column, ...] = (
    Column("params", "Parameters", "lower"),
    # What the row's track trained (all of them under full fine-tuning).
    Column("trainable_params", "Trainable parameters", "lower"),
    Column("throughput", "Inference throughput", "higher", "ex/s"),
    Column("latency_p50_ms", "Latency p50", "lower", "ms"),
    Column("peak_memory_bytes", "Peak memory", "lower", "B"),
    Column("train_seconds", "Fine-tune cost", "lower", "s"),
)
EFFICIENCY_KEYS = tuple(c.key for c in EFFICIENCY_COLUMNS)

Figures = dict[str, float | None]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def efficiency_by_submission(
    submission_ids: list[int],
    tasks: list[Task],
    *,
    numerics: str | None = None,
    track: str = "full",
) -> tuple[dict[int, Figures], dict[int, str | None]]:
    """Per submission: the efficiency figures (module docstring) and its devices,
    over its results on ``track`` in the numerics profile ``numerics`` (None: all
    of them)."""
    results = Result.objects.filter(
        evaluation__submission_id__in=submission_ids,
        evaluation__task__in=tasks,
        evaluation__method=track,
        evaluation__rerun_of__isnull=True,  # as the cells: re-runs are not seeds
    )
    if numerics is not None:
        results = results.filter(numerics=numerics)
    results = results.values_list(
        "evaluation__submission_id", "evaluation__task_id", "efficiency", "task_version"
    )
    versions = {t.pk: t.version for t in tasks}
    collected: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    train: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for sub_id, task_id, eff, task_version in results:
        if task_version != versions.get(task_id):
            continue
        eff = eff or {}
        for key in (
            "params",
            "trainable_params",
            "infer_examples_per_s",
            "latency_p50_ms",
            "peak_memory_bytes",
        ):
            if isinstance(eff.get(key), int | float):
                collected[sub_id][key].append(float(eff[key]))
        if isinstance(eff.get("train_seconds"), int | float):
            train[sub_id][task_id].append(float(eff["train_seconds"]))
        if eff.get("device"):
            collected[sub_id]["device"].append(str(eff["device"]))
    figures = {
        pk: _figures(collected.get(pk, {}), train.get(pk, {})) for pk in submission_ids
    }
    devices = {}
    for pk in submission_ids:
        names = sorted(set(collected.get(pk, {}).get("device", [])))
        devices[pk] = ",".join(names) if names else None
    return figures, devices


def _figures(got: dict[str, list], per_task: dict[int, list[float]]) -> Figures:
    memory = got.get("peak_memory_bytes") or []
    return {
        "params": _median(got.get("params", [])),
        "trainable_params": _median(got.get("trainable_params", [])),
        "throughput": _median(got.get("infer_examples_per_s", [])),
        "latency_p50_ms": _median(got.get("latency_p50_ms", [])),
        "peak_memory_bytes": max(memory) if memory else None,
        "train_seconds": (
            sum(statistics.fmean(v) for v in per_task.values()) if per_task else None
        ),
    }
