"""Task bundles as staff upload them: a TOML spec and data files in a release
layout, zipped; and a way to run the import jobs they queue without a worker."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.conftest import write_sst2_folder

SPEC = """\
[suite]
name = "moviebench"
title = "MovieBench"
description = "Movie-review sentiment, curated on the site."
score_rule = "mean_of_task_means"
score_rule_text = "Mean of the task scores."

[tasks.sentiment]
title = "Sentiment"
description = "Is the movie review positive?"
version = 1
type = "classification"
text_fields = ["sentence"]
labels = ["0", "1"]
metrics = ["accuracy"]
primary_metric = "accuracy"
train_split = "train"
eval_splits = ["validation"]
test_splits = ["test"]
in_suite_score = true
importer = "glue_tsv"
folder = "SENT"
files = { train = "train.tsv", validation = "dev.tsv", test = "test.tsv" }

[tasks.sentiment.importer_options]
columns = ["sentence", "label"]

[tasks.sentiment.importer_options.splits.test]
columns = ["index", "sentence"]
index_column = "index"
"""

SECOND_TASK = """
[tasks.polarity]
title = "Polarity"
description = "The same reviews, a second task."
version = 1
type = "classification"
text_fields = ["sentence"]
labels = ["0", "1"]
metrics = ["accuracy"]
primary_metric = "accuracy"
train_split = "train"
eval_splits = ["validation"]
test_splits = ["test"]
in_suite_score = true
importer = "glue_tsv"
folder = "POL"
files = { train = "train.tsv", validation = "dev.tsv", test = "test.tsv" }

[tasks.polarity.importer_options]
columns = ["sentence", "label"]

[tasks.polarity.importer_options.splits.test]
columns = ["index", "sentence"]
index_column = "index"
"""


def data_folder(root: Path, name: str = "SENT", *, flip: int = 0) -> Path:
    """A task folder in GLUE's SST-2 layout; ``flip`` changes that many dev
    labels (other content: another dataset version)."""
    folder = write_sst2_folder(root / name)
    if flip:
        dev = folder / "dev.tsv"
        lines = dev.read_text().splitlines(keepends=True)
        for i in range(1, flip + 1):
            text, label = lines[i].rstrip("\n").rsplit("\t", 1)
            lines[i] = f"{text}\t{1 - int(label)}\n"
        dev.write_text("".join(lines))
    return folder


def zip_bundle(
    files: dict[str, bytes | str], *, top: str = "", extra: Callable | None = None
) -> bytes:
    """A zip of ``{name: content}`` (under the folder ``top`` when given)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{top}/{name}" if top else name, content)
        if extra is not None:
            extra(archive)
    return buffer.getvalue()


def folder_files(folder: Path, prefix: str) -> dict[str, bytes]:
    return {f"{prefix}/{p.name}": p.read_bytes() for p in sorted(folder.iterdir())}


def suite_bundle(
    tmp: Path, spec: str = SPEC, *, flip: int = 0, top: str = "", extra=None
) -> bytes:
    """The MovieBench bundle: its spec and the SENT (and POL) folders."""
    files: dict[str, bytes | str] = {"moviebench.toml": spec}
    files.update(folder_files(data_folder(tmp / "data", flip=flip), "SENT"))
    if "[tasks.polarity]" in spec:
        files.update(folder_files(data_folder(tmp / "data", "POL"), "POL"))
    return zip_bundle(files, top=top, extra=extra)


def data_bundle(tmp: Path, *, flip: int = 0, name: str = "SENT") -> bytes:
    """New data for the sentiment task alone (no spec)."""
    return zip_bundle(folder_files(data_folder(tmp / "data", name, flip=flip), name))


def stream(data: bytes, name: str = "bundle.zip") -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def run_jobs(sent) -> list:
    """Run the bundle jobs a ``queueing.captured()`` list holds, as a worker would
    (then forget them); returns the bundles."""
    from leaderboard.curation.services import PROCESS_BUNDLE, bundle_process

    done = []
    while sent.jobs:
        name, args, _queue = sent.jobs.pop(0)
        assert name == PROCESS_BUNDLE
        done.append(bundle_process(bundle_id=args[0]))
    return done
