"""Import GLUE from the Hugging Face Hub (``nyu-mll/glue``), not the release files.

A convenience for machines with network access; the canonical source stays the
original release (``glue_tsv``). HF uses our split names and text field names, plus
``idx`` and ``label``; its test labels are ``-1`` ("hidden"), which we turn into
unlabelled rows.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlparse

from tasks.dataset import Dataset
from tasks.errors import PlatformError, UserError
from tasks.registry import get_task
from tasks.specs import TaskSpec

HUB_REPO = "nyu-mll/glue"
# Seconds to wait for the Hub before deciding it is unreachable; the default (10 s
# per request, with retries) makes an offline import hang for a long time.
HUB_TIMEOUT_S = "5"


def rows_from_hf(task: TaskSpec, split: str, records: Iterable[Mapping[str, Any]]):
    """Map HF ``glue`` records of ``split`` to our canonical rows.

    Labels of ``-1`` mean "hidden" and are dropped, which is only allowed in a
    test split; in any other split it is an error, not a silent gap.
    """
    rows = []
    for i, record in enumerate(records):
        row: dict[str, Any] = {"idx": int(record["idx"])}
        for name in task.text_fields:
            row[name] = record[name]
        label = record.get("label", -1)
        hidden = label is None or label == -1
        if task.is_labelled(split):
            if hidden:
                raise UserError(
                    "import.missing_label",
                    f"{HUB_REPO}/{task.key} {split} row {i} has no label",
                )
            row["label"] = float(label) if task.labels is None else int(label)
        rows.append(row)
    return rows


def load_glue_from_hub(task_name: str) -> Dataset:
    """Download ``task_name`` (e.g. ``"glue/sst2"``) from the Hub.

    Raises ``PlatformError("import.hub_unreachable")`` when the Hub (or the cache,
    when offline) cannot provide it.
    """
    task = get_task(task_name)
    if task.suite != "glue":
        raise UserError("import.not_on_hub", f"{task.name} is not a GLUE task")
    # Only effective if huggingface_hub is not imported yet; we import it lazily
    # for that reason (and because importing `datasets` is slow).
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", HUB_TIMEOUT_S)
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", HUB_TIMEOUT_S)
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    if not offline and not _hub_reachable(float(HUB_TIMEOUT_S)):
        # Without this check `datasets` retries with backoff for half a minute.
        raise PlatformError(
            "import.hub_unreachable",
            f"the Hugging Face Hub is unreachable from here; import the original "
            f"release files instead (or set HF_HUB_OFFLINE=1 to use a local cache "
            f"of {HUB_REPO})",
        )
    try:
        import datasets

        loaded = datasets.load_dataset(HUB_REPO, task.key)
    except Exception as exc:  # network, auth and cache failures all look different
        raise PlatformError(
            "import.hub_unreachable",
            f"could not load {HUB_REPO} config {task.key!r}: "
            f"{type(exc).__name__}: {exc}",
        ) from exc
    splits = {
        split: rows_from_hf(task, split, loaded[split])
        for split in task.splits
        if split in loaded
    }
    return Dataset(task, splits)


def _hub_reachable(timeout: float) -> bool:
    """Whether a TCP connection to the Hub endpoint opens within ``timeout`` seconds."""
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False
