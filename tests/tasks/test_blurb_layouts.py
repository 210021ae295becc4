"""BLURB's relation-extraction and yes/no QA importers on their released layouts:
GAD (header ``index sentence label``), DDI (no header, DDI-* labels) and BioASQ
(no header: id, question, context, yes/no), as inline files, and the real GAD and
DDI releases in ../shared/data/blurb."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.errors import ImportFormatError
from tasks.importers.loading import load_task
from tasks.scoring import score_predictions

BLURB = Path(__file__).resolve().parents[3] / "shared" / "data" / "blurb"

GAD = (
    "index\tsentence\tlabel\n"
    "0\tThe @GENE$ variant is linked to @DISEASE$.\t1\n"
    "1\t@GENE$ shows no tie to @DISEASE$.\t0\n"
)
DDI = (
    "DDI-MedLine.d1.s0.p0\t@DRUG$ raises @DRUG$ levels.\tDDI-mechanism\n"
    "DDI-MedLine.d1.s0.p1\t@DRUG$ and @DRUG$ were both given.\tDDI-false\n"
    "DDI-DrugBank.d2.s1.p0\tAvoid @DRUG$ with @DRUG$.\tDDI-advise\n"
)
BIOASQ = (
    "55031181e9bde69634000014\tIs BRCA1 a tumour suppressor?\tBRCA1 suppresses.\tyes\n"
    "55046d5ff8aee20f27000007\tDoes aspirin cure flu?\tIt does not.\tno\n"
)


def write(folder: Path, text: str, names=("train.tsv", "dev.tsv", "test.tsv")) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_gad_reads_its_header_layout_with_the_index_as_idx(tmp_path: Path) -> None:
    dataset = load_task("blurb/gad", write(tmp_path / "GAD", GAD))
    assert dataset.splits["test"][1] == {
        "idx": 1,
        "sentence": "@GENE$ shows no tie to @DISEASE$.",
        "label": 0,
    }


def test_ddi_reads_headerless_rows_and_scores_without_ddi_false(tmp_path: Path) -> None:
    dataset = load_task("blurb/ddi", write(tmp_path / "DDI", DDI))
    refs = dataset.references("test")
    assert refs == [1, 0, 3]
    # Predicting the negative class everywhere finds no relation: 0, not 1/3.
    task = dataset.task
    scores = score_predictions(task, {"test": [0, 0, 0]}, {"test": refs})
    assert scores == {"micro_f1_excluding_negative": 0.0}


def test_ddi_refuses_an_unknown_label_naming_the_line(tmp_path: Path) -> None:
    folder = write(tmp_path / "DDI", DDI.replace("DDI-advise", "DDI-advice"))
    with pytest.raises(ImportFormatError) as caught:
        load_task("blurb/ddi", folder)
    assert caught.value.line == 3


def test_bioasq_reads_question_context_and_yes_no(tmp_path: Path) -> None:
    dataset = load_task("blurb/bioasq", write(tmp_path / "bioasq", BIOASQ))
    first = dataset.splits["test"][0]
    assert first["question"] == "Is BRCA1 a tumour suppressor?"
    assert first["context"] == "BRCA1 suppresses."
    assert [r["label"] for r in dataset.splits["test"]] == [0, 1]


@pytest.mark.skipif(not BLURB.is_dir(), reason="needs ../shared/data/blurb")
def test_the_released_gad_and_ddi_have_blurbs_counts() -> None:
    gad = load_task("blurb/gad", BLURB)
    assert gad.counts() == {"train": 4261, "validation": 535, "test": 534}
    ddi = load_task("blurb/ddi", BLURB)  # this copy lacks train.tsv
    assert ddi.counts() == {"validation": 2496, "test": 5716}
    assert set(ddi.label_distribution()["test"]) == set(ddi.task.labels)
