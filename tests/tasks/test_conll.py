"""The CoNLL importer on files in BLURB's exact layouts, and the token metrics.

Inline fixtures: NCBI-disease style (token TAB tag, B / I / O, blank lines between
sentences, no header) and EBM PICO style (``-DOCSTART-`` lines, I-INT / I-OUT /
I-PAR / O). The real NCBI-disease release gives BLURB's published counts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tasks.errors import ImportFormatError
from tasks.importers.loading import load_task
from tasks.metrics import compute
from tasks.registry import get_suite, get_task
from tasks.scoring import score_predictions, suite_score
from tasks.tagging import mention_counts

NCBI = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "blurb" / "NCBI-disease"
)

NER = (
    "Identification\tO\nof\tO\nAPC2\tO\n,\tO\nadenomatous\tB\npolyposis\tI\n.\tO\n"
    "\nBRCA1\tO\nis\tO\nsecreted\tO\n\n"
)
PICO = (
    "-DOCSTART-\tO\n\n"
    "Aspirin\tI-INT\nin\tO\nadults\tI-PAR\n\n"
    "-DOCSTART-\tO\n\n"
    "Pain\tI-OUT\nfell\tO\n\n"
)


def write(folder: Path, text: str, *, test: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train.tsv", "dev.tsv"):
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "test.tsv").write_text(text if test is None else test, encoding="utf-8")
    return folder


def test_ncbi_style_sentences_become_rows_of_words_and_tags(tmp_path: Path) -> None:
    dataset = load_task("blurb/ncbi-disease", write(tmp_path / "NCBI-disease", NER))
    first, second = dataset.splits["test"]
    assert first == {
        "idx": 0,
        "tokens": [
            "Identification",
            "of",
            "APC2",
            ",",
            "adenomatous",
            "polyposis",
            ".",
        ],
        "label": [0, 0, 0, 0, 1, 2, 0],
    }
    assert second["tokens"] == ["BRCA1", "is", "secreted"]
    assert mention_counts(dataset.task, dict(dataset.splits))["test"] == 1


def test_pico_docstart_lines_separate_documents_and_are_not_sentences(
    tmp_path: Path,
) -> None:
    dataset = load_task("blurb/ebm-pico", write(tmp_path / "ebmnlp", PICO))
    rows = dataset.splits["train"]
    assert [r["tokens"] for r in rows] == [
        ["Aspirin", "in", "adults"],
        ["Pain", "fell"],
    ]
    assert rows[0]["label"] == [1, 0, 3]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a\tO\nb\n", 2, "needs the word, a tab and its tag"),
        ("a\tO\nb\tB-Disease\n", 2, "not in the task's tag set"),
    ],
)
def test_a_bad_token_line_is_refused_naming_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    folder = write(tmp_path / "NCBI-disease", NER, test=text)
    with pytest.raises(ImportFormatError) as caught:
        load_task("blurb/ncbi-disease", folder)
    assert caught.value.line == line and str(caught.value.file).endswith("test.tsv")
    assert words in caught.value.message


def test_a_stray_inside_tag_is_refused_unless_the_task_repairs_it(
    tmp_path: Path,
) -> None:
    from tasks.importers.conll import IMPORTER

    folder = write(tmp_path / "NCBI-disease", "a\tO\nb\tI\nc\tI\n\n")
    strict = dataclasses.replace(
        get_task("blurb/ncbi-disease"), importer_options={"scheme": "BIO"}
    )
    with pytest.raises(ImportFormatError) as caught:
        IMPORTER.load(strict, folder)
    assert caught.value.line == 2 and "starts no mention" in caught.value.message
    # BLURB's specs read it as conlleval does: a B, which scores the same.
    repaired = load_task("blurb/ncbi-disease", folder)
    assert repaired.splits["test"][0]["label"] == [0, 1, 2]


def test_an_empty_split_is_refused(tmp_path: Path) -> None:
    folder = write(tmp_path / "NCBI-disease", NER, test="\n\n")
    with pytest.raises(ImportFormatError, match="no sentence"):
        load_task("blurb/ncbi-disease", folder)


@pytest.mark.skipif(not NCBI.is_dir(), reason="needs ../shared/data/blurb")
def test_the_released_ncbi_disease_has_blurbs_sentences_and_mentions() -> None:
    dataset = load_task("blurb/ncbi-disease", NCBI)
    assert dataset.counts() == {"train": 5424, "validation": 923, "test": 940}
    assert mention_counts(dataset.task, dict(dataset.splits)) == {
        "train": 5134,
        "validation": 787,
        "test": 960,
    }


def test_entity_f1_counts_whole_mentions_and_pico_is_macro_over_classes() -> None:
    task = get_task("blurb/ncbi-disease")
    refs = [[0, 1, 2, 0, 1]]
    # One of two mentions found, one cut short (a miss and a false positive).
    preds = [[0, 1, 2, 0, 0]]
    assert score_predictions(task, {"test": preds}, {"test": refs}) == {
        "entity_f1": pytest.approx(2 / 3)
    }
    pico = [["I-PAR", "I-PAR", "O"]]
    assert compute("token_macro_f1", pico, [["I-PAR", "O", "O"]]) == pytest.approx(
        2 / 3
    )


def test_blurb_score_is_the_mean_of_the_six_task_type_means() -> None:
    suite = get_suite("blurb")
    assert len(suite.tasks) == 13
    scores = {task.name: 0.0 for task in suite.tasks}
    for key in ("bc5-chem", "bc5-disease", "ncbi-disease", "bc2gm", "jnlpba"):
        scores[f"blurb/{key}"] = 0.5  # NER: 0.5
    scores["blurb/ebm-pico"] = 0.3
    scores["blurb/chemprot"] = 0.9  # relation extraction: (0.9 + 0 + 0) / 3
    scores["blurb/biosses"] = 0.6
    scores["blurb/hoc"] = 0.6
    scores["blurb/pubmedqa"] = 1.0  # question answering: 0.5
    expected = (0.5 + 0.3 + 0.3 + 0.6 + 0.6 + 0.5) / 6
    assert suite_score(suite, scores) == pytest.approx(expected)
    # A plain mean over thirteen tasks would be another number.
    assert sum(scores.values()) / 13 != pytest.approx(expected)
    del scores["blurb/bioasq"]
    assert suite_score(suite, scores) is None  # partial: no score
