"""Importer for CIFAR-10's binary release (``cifar-10-binary.tar.gz``), for LRA Image.

Files ``data_batch_1.bin`` ... ``data_batch_5.bin`` (train) and ``test_batch.bin``:
records of 3073 bytes, one label byte (0-9) then 1024 red, 1024 green and 1024
blue bytes, each plane row-major 32x32. The task's ``files`` name the first
train batch; the importer reads ``data_batch_1.bin`` to ``data_batch_5.bin`` in
order. No pickle is read.

Images become grayscale as in LRA, which used ``tf.image.rgb_to_grayscale``
(:func:`to_gray`). LRA trains on ``train[:90%]`` (its ``input_pipeline.py``; the
other 10% is its validation split): the ``train_examples`` option
(:class:`CifarBinConfig`) keeps the first 45,000 training images. Rows are
``{"idx", "pixels", "label"}``
with ``pixels`` the 1024 row-major gray levels and ``idx`` the record's position
across the split's files. A file whose size is not a whole number of records,
or a label byte above 9, raises :class:`ImportFormatError` naming the file (and
the record).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.common import missing_split
from tasks.specs import TaskSpec

RECORD = 1 + 3 * 1024
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """``(n, 3, 1024)`` uint8 planes -> ``(n, 1024)`` uint8 gray levels.

    What ``tf.image.rgb_to_grayscale`` computes on uint8 images, in float32 as
    TensorFlow does: each channel scaled by ``1 / 255``, weighted ``0.2989 R +
    0.5870 G + 0.1140 B``, then ``convert_image_dtype`` back to uint8, which
    multiplies by ``255.5`` and truncates. So pure green 255 is 149, not the
    rounded 150.

    >>> to_gray(np.array([[[255], [255], [255]], [[0], [255], [0]]], np.uint8))
    array([[255],
           [149]], dtype=uint8)
    """
    scaled = rgb.astype(np.float32) * np.float32(1.0 / 255)
    weights = np.asarray(GRAY_WEIGHTS, dtype=np.float32)
    gray = (
        scaled[:, 0, :] * weights[0]
        + scaled[:, 1, :] * weights[1]
        + scaled[:, 2, :] * weights[2]
    )
    return (gray * np.float32(255.5)).astype(np.uint8)


def read_batch(path: str | Path, *, first_idx: int = 0) -> list[dict[str, Any]]:
    """Read one CIFAR-10 ``.bin`` file into canonical rows."""
    path = Path(path)
    data = path.read_bytes()
    if not data or len(data) % RECORD:
        raise ImportFormatError(
            "import.bad_file",
            f"{len(data)} bytes is not a whole number of {RECORD}-byte records",
            file=path,
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0]
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise ImportFormatError(
            "import.bad_row",
            f"record {int(bad[0])} (byte {int(bad[0]) * RECORD}) has label "
            f"{int(labels[bad[0]])}; CIFAR-10 labels are 0-9",
            file=path,
        )
    gray = to_gray(records[:, 1:].reshape(-1, 3, 1024))
    return [
        {"idx": first_idx + i, "pixels": gray[i].tolist(), "label": int(labels[i])}
        for i in range(len(records))
    ]


@dataclass(frozen=True)
class CifarBinConfig:
    """Options of the ``cifar_bin`` importer.

    Attributes:
        train_examples: keep only the first this many training images, in the
            release's order (LRA: 45,000, its ``train[:90%]``); None keeps all.
    """

    train_examples: int | None = None

    @classmethod
    def from_options(cls, options: Any) -> CifarBinConfig:
        """Build a config from a spec table; bad options raise ValueError."""
        unknown = set(options) - {"train_examples"}
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}")
        config = cls(**options)
        kept = config.train_examples
        if kept is not None and (
            isinstance(kept, bool) or not isinstance(kept, int) or kept < 1
        ):
            raise ValueError("train_examples must be a whole number above 0")
        return config


class CifarBinImporter:
    """The ``cifar_bin`` importer."""

    def check_options(self, task: TaskSpec) -> None:
        """Check :class:`CifarBinConfig`; the task must be a 10-class pixels task."""
        CifarBinConfig.from_options(task.importer_options)
        if task.vocabulary != "pixels" or task.num_labels != 10:
            raise ValueError("cifar_bin fills a 10-class task with vocabulary pixels")

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read the train batches and the test batch; all must be present."""
        config = CifarBinConfig.from_options(task.importer_options)
        splits = {}
        for split in task.splits:
            names = (
                TRAIN_FILES
                if task.files[split] == TRAIN_FILES[0]
                else (task.files[split],)
            )
            rows: list[dict[str, Any]] = []
            for name in names:
                path = folder / name
                if not path.is_file():
                    raise missing_split(task, split, path)
                rows += read_batch(path, first_idx=len(rows))
            if split == task.train_split and config.train_examples is not None:
                rows = rows[: config.train_examples]
            splits[split] = rows
        return Dataset(task, splits)


IMPORTER = CifarBinImporter()
