"""Importer for LRA's released Pathfinder images (``lra_release/pathfinder32``).

The release (Linsley et al.'s generator at 32x32, LRA's ``lra_benchmarks/data/
pathfinder.py``) holds one folder per difficulty, ``curv_baseline``,
``curv_contour_length_9`` and ``curv_contour_length_14`` (LRA's Pathfinder is
``pathfinder32_hard``: the last), each with ``imgs/<n>/sample_<k>.png`` and
``metadata/<n>.npy``. Despite the name a metadata file is text: one line per
image, fields separated by single spaces; field 0 is the image's folder relative
to the difficulty folder (``imgs/0``), field 1 its file name, field 3 its label
(1: the dots are connected). The task's ``files`` name the difficulty folder for
each split.

Images are 8-bit grayscale PNG (:mod:`tasks.importers.png_gray`); rows are
``{"idx", "pixels", "label"}`` with the 1024 gray levels row-major, as LRA
flattens them. LRA's ``input_pipeline.py`` drops images whose file is empty
(``tf.strings.length(image) > 0``); so does this importer, and only those. A
metadata line without four fields, a label other than 0 or 1, a path leaving the
folder, a missing or undecodable image or one of the wrong size raises
:class:`ImportFormatError` naming the metadata file and line.

Splits: LRA takes ``[:80%]`` for training, ``[80%:90%]`` for validation and
``[90%:]`` for test of one difficulty. Its order is the TFDS builder's, which
shuffles by a hash of each example's key; here it is the metadata files in
numeric order, lines in file order. Sizes and proportions match, not which images
fall in which split (the task's deviations say so).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.common import decode_utf8, missing_split
from tasks.importers.png_gray import PngError, read_gray_png
from tasks.specs import TaskSpec

# LRA's split boundaries in percent of one difficulty's images
# (lra_benchmarks/image/input_pipeline.py, get_pathfinder_base_datasets).
SPLIT_PERCENTS = {"train": (0, 80), "validation": (80, 90), "test": (90, 100)}


@dataclass(frozen=True)
class Pathfinder32Config:
    """Options of the ``lra_pathfinder32`` importer.

    Attributes:
        size: the images' width and height in pixels (32 for pathfinder32).
    """

    size: int = 32

    @classmethod
    def from_options(cls, options: Any) -> Pathfinder32Config:
        """Build a config from a spec table; bad options raise ValueError."""
        unknown = set(options) - {"size"}
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}")
        config = cls(**options)
        if isinstance(config.size, bool) or not (
            isinstance(config.size, int) and config.size >= 1
        ):
            raise ValueError("size must be a whole number above 0")
        return config


def _metadata_order(path: Path) -> tuple[int, int | str]:
    """Metadata files in numeric order (``2.npy`` before ``10.npy``)."""
    return (0, int(path.stem)) if path.stem.isdigit() else (1, path.stem)


def read_difficulty(folder: Path, *, size: int = 32) -> list[dict[str, Any]]:
    """Every non-empty image of one difficulty folder, in metadata order."""
    metadata = sorted((folder / "metadata").glob("*.npy"), key=_metadata_order)
    if not metadata:
        raise ImportFormatError(
            "import.missing_file", "no metadata/*.npy files", file=folder
        )
    rows: list[dict[str, Any]] = []
    root = folder.resolve()
    for meta in metadata:
        text = decode_utf8(meta.read_bytes(), where=meta)
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            row = _read_line(line, root, size=size, meta=meta, number=number)
            if row is not None:
                rows.append({"idx": len(rows), **row})
    return rows


def _read_line(
    line: str, root: Path, *, size: int, meta: Path, number: int
) -> dict[str, Any] | None:
    """One metadata line's row, or None for an empty image file (LRA drops it)."""

    def fail(message: str) -> ImportFormatError:
        return ImportFormatError("import.bad_row", message, file=meta, line=number)

    fields = line.split(" ")
    if len(fields) < 4:
        raise fail(f"{len(fields)} fields; expected folder, file, _, label")
    if fields[3] not in ("0", "1"):
        raise fail(f"label {fields[3]!r}; expected 0 or 1")
    image = (root / fields[0] / fields[1]).resolve()
    if not image.is_relative_to(root):
        raise fail(f"image path {fields[0]}/{fields[1]} leaves the folder")
    if not image.is_file():
        raise fail(f"image {fields[0]}/{fields[1]} is missing")
    data = image.read_bytes()
    if not data:
        return None
    try:
        pixels = read_gray_png(data)
    except PngError as exc:
        raise fail(f"image {fields[0]}/{fields[1]}: {exc}") from exc
    if pixels.shape != (size, size):
        raise fail(
            f"image {fields[0]}/{fields[1]} is {pixels.shape[1]}x{pixels.shape[0]}; "
            f"expected {size}x{size}"
        )
    return {"pixels": pixels.reshape(-1).tolist(), "label": int(fields[3])}


def split_slice(rows: list[Any], split: str) -> list[Any]:
    """LRA's percentage slice of one difficulty's rows for ``split``."""
    start, stop = SPLIT_PERCENTS[split]
    n = len(rows)
    return rows[round(n * start / 100) : round(n * stop / 100)]


class Pathfinder32Importer:
    """The ``lra_pathfinder32`` importer."""

    def check_options(self, task: TaskSpec) -> None:
        """Check :class:`Pathfinder32Config`; splits must be LRA's three names."""
        Pathfinder32Config.from_options(task.importer_options)
        unknown = set(task.splits) - set(SPLIT_PERCENTS)
        if unknown:
            raise ValueError(
                f"splits {sorted(unknown)}: lra_pathfinder32 fills only "
                f"{', '.join(SPLIT_PERCENTS)}"
            )

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read each split's difficulty folder once and take LRA's slice of it."""
        config = Pathfinder32Config.from_options(task.importer_options)
        read: dict[str, list[dict[str, Any]]] = {}
        splits = {}
        for split in task.splits:
            name = task.files[split]
            if name not in read:
                path = folder / name
                if not (path / "metadata").is_dir():
                    raise missing_split(task, split, path / "metadata", kind="folder")
                read[name] = read_difficulty(path, size=config.size)
            rows = split_slice(read[name], split)
            splits[split] = [{**row, "idx": i} for i, row in enumerate(rows)]
        return Dataset(task, splits)


IMPORTER = Pathfinder32Importer()
