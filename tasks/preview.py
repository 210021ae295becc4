"""What a curator looks at before publishing a dataset: sample rows and lengths.

:func:`dataset_preview` gives, per split, a few rows spread evenly over the split
(first, last and between: a sorted file shows its extremes) and a histogram of row
lengths (words over the text fields; items for list inputs such as LRA's pixels),
so a wrong column, an empty text or a truncated file shows before anyone is
scored on it. Counts and label distributions are ``Dataset``'s own.

Labels are shown only where the platform serves them: rows of the training and
dev splits keep theirs; rows of scored and test splits never carry one here.

>>> from tasks.registry import get_task
>>> from tasks.dataset import Dataset
>>> task = get_task("glue/sst2")
>>> rows = [{"idx": i, "sentence": "a " * (i + 1), "label": i % 2} for i in range(9)]
>>> preview = dataset_preview(Dataset(task, {"train": rows, "validation": rows}))
>>> [row["idx"] for row in preview["samples"]["train"]]
[0, 2, 4, 6, 8]
>>> "label" in preview["samples"]["validation"][0]
False
>>> preview["lengths"]["train"]["bins"][0]
{'label': '0-8', 'count': 8}
"""

from __future__ import annotations

import statistics
from typing import Any

from tasks.dataset import Dataset
from tasks.specs import TaskSpec

SAMPLE_ROWS = 5
MAX_SHOWN_CHARS = 300
# Upper bounds of the length bins (words or items); the last bin is open.
BIN_EDGES = (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


def dataset_preview(dataset: Dataset, *, rows: int = SAMPLE_ROWS) -> dict[str, Any]:
    """``{"samples": {split: [row]}, "lengths": {split: {...}}}`` (module doc)."""
    task = dataset.task
    samples = {}
    lengths = {}
    for split in sorted(dataset.splits):
        split_rows = dataset.splits[split]
        samples[split] = [
            _shown(task, split, split_rows[i]) for i in _spread(len(split_rows), rows)
        ]
        lengths[split] = length_histogram(task, split_rows)
    return {"samples": samples, "lengths": lengths}


def _spread(count: int, wanted: int) -> list[int]:
    """Up to ``wanted`` row numbers spread evenly from the first to the last."""
    if count <= wanted:
        return list(range(count))
    if wanted == 1:
        return [0]
    return sorted({round(i * (count - 1) / (wanted - 1)) for i in range(wanted)})


def _shown(task: TaskSpec, split: str, row: dict[str, Any]) -> dict[str, Any]:
    served = split in (task.train_split, task.dev_split)
    shown: dict[str, Any] = {}
    for key, value in row.items():
        if key == "label" and not served:
            continue
        if isinstance(value, str) and len(value) > MAX_SHOWN_CHARS:
            value = value[:MAX_SHOWN_CHARS] + "…"
        elif isinstance(value, list) and key != "label" and len(value) > 16:
            value = f"[{len(value)} values]"
        shown[key] = value
    return shown


def row_length(task: TaskSpec, row: dict[str, Any]) -> int:
    """Words (whitespace-separated) over the text fields; items for list inputs."""
    total = 0
    for field in task.text_fields:
        value = row.get(field)
        if isinstance(value, str):
            total += len(value.split())
        elif isinstance(value, list):
            total += len(value)
    return total


def length_histogram(task: TaskSpec, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Lengths of ``rows``: unit, min, median, max and counts per bin (the bins
    from the first to the last that holds a row)."""
    unit = "items" if task.vocabulary == "pixels" else "words"
    values = [row_length(task, row) for row in rows]
    if not values:
        return {"unit": unit, "min": None, "median": None, "max": None, "bins": []}
    counts = [0] * (len(BIN_EDGES) + 1)
    for value in values:
        counts[_bin(value)] += 1
    used = [i for i, count in enumerate(counts) if count]
    bins = [
        {"label": _bin_label(i), "count": counts[i]}
        for i in range(used[0], used[-1] + 1)
    ]
    return {
        "unit": unit,
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "bins": bins,
    }


def _bin(value: int) -> int:
    for i, edge in enumerate(BIN_EDGES):
        if value <= edge:
            return i
    return len(BIN_EDGES)


def _bin_label(i: int) -> str:
    if i == len(BIN_EDGES):
        return f">{BIN_EDGES[-1]}"
    low = 0 if i == 0 else BIN_EDGES[i - 1] + 1
    return f"{low}-{BIN_EDGES[i]}"
