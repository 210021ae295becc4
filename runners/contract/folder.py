"""The job folder: where the worker puts the job and where the program answers.

The worker lays it out outside the sandbox; inside, it appears at ``JOB_ROOT``
(docs/interfaces.md, "The job folder and spec")::

    spec.json      the job spec, read-only         /job/spec.json
    model/         the extracted model, read-only  /job/model
    data/          the rows, read-only             /job/data/<split>.jsonl
    out/           the only writable folder        /job/out
                   (predictions/<split>.jsonl and measurements.json land here)
"""

from __future__ import annotations

import os
from pathlib import Path

JOB_ROOT = "/job"
"""Where the job folder appears inside the sandbox; spec paths are written for it."""

SPEC_FILE = "spec.json"
MODEL_DIR = "model"
DATA_DIR = "data"
OUT_DIR = "out"

PREDICTIONS_DIR = "predictions"
MEASUREMENTS_FILE = "measurements.json"
"""What the program writes under the spec's ``output_dir``:
``predictions/<split>.jsonl`` and ``measurements.json``."""


def inside_job(*parts: str) -> str:
    """A path inside the job folder as the sandbox sees it (``/job/...``), the
    form every path in a spec takes: ``inside_job(MODEL_DIR)`` is ``/job/model``."""
    return "/".join((JOB_ROOT, *parts))


def data_file(name: str) -> str:
    """Where the rows of the job's split ``name`` are, as the spec names them."""
    return inside_job(DATA_DIR, f"{name}.jsonl")


def predictions_file(output_dir: str | os.PathLike[str], split: str) -> Path:
    """The predictions the program wrote for ``split`` (one JSON row per line:
    ``{"idx": ..., "prediction": ...}``, in the input's order)."""
    return Path(output_dir) / PREDICTIONS_DIR / f"{split}.jsonl"


def measurements_file(output_dir: str | os.PathLike[str]) -> Path:
    """The measurements the program wrote (:data:`MEASUREMENT_KEYS`)."""
    return Path(output_dir) / MEASUREMENTS_FILE
