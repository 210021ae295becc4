"""Shared helpers for the tasks/ tests: writing files in the original GLUE layout."""

from __future__ import annotations

from pathlib import Path

import pytest

# The real GLUE release files, read-only, beside the checkout (CI has the same).
GLUE_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "glue"

BOM = "\ufeff"


def write_tsv(
    path: Path, rows: list[list[str]], *, header: list[str] | None = None, bom=False
) -> Path:
    """Write rows exactly as GLUE does: tabs, no quoting, "\\n" line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ([header] if header else []) + rows
    text = "".join("\t".join(line) + "\n" for line in lines)
    path.write_bytes(((BOM if bom else "") + text).encode("utf-8"))
    return path


@pytest.fixture
def glue_root(tmp_path: Path) -> Path:
    """An empty folder to build a GLUE release layout in."""
    root = tmp_path / "glue"
    root.mkdir()
    return root


requires_glue_data = pytest.mark.skipif(
    not GLUE_DATA.is_dir(), reason=f"real GLUE files not found at {GLUE_DATA}"
)


# MNLI's released column layouts (train; dev_matched/mismatched with five annotator
# labels), for tests that write MNLI files in the exact original layout.
MNLI_TRAIN = [
    "index",
    "promptID",
    "pairID",
    "genre",
    "sentence1_binary_parse",
    "sentence2_binary_parse",
    "sentence1_parse",
    "sentence2_parse",
    "sentence1",
    "sentence2",
    "label1",
    "gold_label",
]
MNLI_DEV = MNLI_TRAIN[:-2] + [
    "label1",
    "label2",
    "label3",
    "label4",
    "label5",
    "gold_label",
]
