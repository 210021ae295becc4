"""BLURB: BIOSSES and ChemProt as released; HoC and PubMedQA in mirror layouts."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn import metrics as skm

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.loading import load_suite, load_task
from tasks.registry import get_suite, get_task
from tasks.scoring import score_predictions, suite_score
from tests.tasks.conftest import GLUE_DATA

BLURB_DATA = GLUE_DATA.parent / "blurb"
requires_blurb_data = pytest.mark.skipif(
    not (BLURB_DATA / "biosses").is_dir(), reason=f"no BIOSSES files in {BLURB_DATA}"
)


@requires_blurb_data
def test_real_biosses_files_give_blurb_counts():
    dataset = load_task("blurb/biosses", BLURB_DATA)
    assert dataset.counts() == {"train": 64, "validation": 16, "test": 20}
    first = dataset.splits["test"][0]
    assert first["idx"] == 59 and first["label"] == 3.0
    assert "“cyclin degradation box”" in first["sentence2"]
    low_high = dataset.label_distribution()["train"]
    assert 0.0 <= low_high["min"] and low_high["max"] <= 4.0


@requires_blurb_data
def test_suite_import_names_the_split_files_a_found_task_lacks():
    # The shared copy holds BIOSSES whole but only ChemProt's dev file: importing
    # the suite refuses, naming the file, rather than importing a partial task.
    with pytest.raises(ImportFormatError) as caught:
        load_suite("blurb", BLURB_DATA)
    assert "chemprot/test.tsv" in str(caught.value)
    assert "needs its test split" in str(caught.value)


@requires_blurb_data
def test_real_chemprot_file_is_read_in_its_released_headerless_layout(tmp_path):
    # BLURB's chemprot TSVs: no header; id, sentence, label. The copy has dev only,
    # so the same real file stands in for every split here.
    folder = tmp_path / "chemprot"
    folder.mkdir()
    real = (BLURB_DATA / "chemprot" / "dev.tsv").read_bytes()
    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        (folder / name).write_bytes(real)
    dataset = load_task("blurb/chemprot", tmp_path)
    assert dataset.counts()["validation"] == 11268
    first = dataset.splits["validation"][0]
    assert first["idx"] == 0 and first["label"] == 0  # "false", the negative class
    assert first["sentence"].startswith("Binding of dimemorfan to @GENE$")
    labels = {row["label"] for row in dataset.splits["validation"]}
    assert labels == set(range(6))


def test_blurb_tasks_score_test_and_keep_dev_for_selection():
    for task in get_suite("blurb").tasks:
        assert task.train_split == "train" and task.dev_split == "validation"
        assert task.eval_splits == ("test",) and task.test_splits == ()
        assert task.splits == ("train", "validation", "test")
        # Test labels are kept for scoring; like every eval split, never served.
        assert task.is_labelled("test")
    assert get_task("blurb/biosses").metrics == ("pearson",)


def test_biosses_score_out_of_range_is_refused(tmp_path):
    folder = tmp_path / "biosses"
    folder.mkdir()
    header = "pair_id\tsent1\tsent2\tscore\n"
    (folder / "test.tsv").write_text(header + "1\ta\tb\t4.5\n", encoding="utf-8")
    with pytest.raises(ImportFormatError) as caught:
        load_task("blurb/biosses", folder)
    assert caught.value.line == 2 and "outside" in str(caught.value)


HOC = get_task("blurb/hoc").labels


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_hoc_jsonl_gives_sorted_label_sets(tmp_path):
    folder = tmp_path / "hoc"
    records = [
        {"text": "Angiogenesis and death.", "labels": [HOC[4], HOC[2]]},
        {"text": "Nothing relevant.", "labels": []},
    ]
    for name in ("train", "dev", "test"):
        write_jsonl(folder / f"{name}.jsonl", records)
    dataset = load_task("blurb/hoc", tmp_path)
    assert dataset.splits["test"] == [
        {"idx": 0, "text": "Angiogenesis and death.", "label": [2, 4]},
        {"idx": 1, "text": "Nothing relevant.", "label": []},
    ]
    assert dataset.label_distribution()["train"][HOC[2]] == 1
    # The canonical bytes survive a round trip.
    again = Dataset.from_jsonl(
        dataset.task, {s: dataset.to_jsonl(s) for s in dataset.splits}
    )
    assert again.sha256() == dataset.sha256()


def test_hoc_unknown_hallmark_names_file_and_line(tmp_path):
    folder = tmp_path / "hoc"
    write_jsonl(
        folder / "test.jsonl",
        [{"text": "a", "labels": [HOC[0]]}, {"text": "b", "labels": ["cancer"]}],
    )
    with pytest.raises(ImportFormatError) as caught:
        load_task("blurb/hoc", folder)
    assert caught.value.file == str(folder / "test.jsonl") and caught.value.line == 2
    assert "'cancer'" in str(caught.value)


def test_hoc_is_scored_with_micro_f1_over_label_sets():
    hoc = get_task("blurb/hoc")
    predictions = [[0, 1], [2], []]
    references = [[0], [2, 3], [1]]
    # Pooled decisions: TP 2 (0 and 2), FP 1 (1 in row 0), FN 2 (3, 1).
    scores = score_predictions(hoc, {"test": predictions}, {"test": references})
    assert scores == {"micro_f1": pytest.approx(2 * 2 / (2 * 2 + 1 + 2))}


# BLURB's released chemprot layout: no header; id, sentence, label.
CHEMPROT_TSV = (
    '16357751.T1.T2\t@CHEMICAL$ inhibits @GENE$ "strongly".\tCPR:4\n'
    "16357751.T1.T3\t@CHEMICAL$ and @GENE$ were measured.\tfalse\n"
    "10064839.T2.T5\t@CHEMICAL$ is a substrate of @GENE$.\tCPR:9\n"
)


def test_chemprot_tsv_layout_keeps_quotes_as_text(tmp_path):
    folder = tmp_path / "chemprot"
    folder.mkdir()
    for name in ("train", "dev", "test"):
        (folder / f"{name}.tsv").write_text(CHEMPROT_TSV, encoding="utf-8")
    dataset = load_task("blurb/chemprot", folder)
    assert dataset.counts() == {"train": 3, "validation": 3, "test": 3}
    assert dataset.splits["test"][0] == {
        "idx": 0,
        "sentence": '@CHEMICAL$ inhibits @GENE$ "strongly".',
        "label": 2,
    }
    assert [r["label"] for r in dataset.splits["test"]] == [2, 0, 5]


def test_chemprot_unknown_relation_is_refused(tmp_path):
    folder = tmp_path / "chemprot"
    folder.mkdir()
    (folder / "test.tsv").write_text(
        CHEMPROT_TSV.replace("CPR:9", "CPR:10"), encoding="utf-8"
    )
    with pytest.raises(ImportFormatError) as caught:
        load_task("blurb/chemprot", folder)
    assert caught.value.line == 3 and "'CPR:10'" in str(caught.value)


def test_chemprot_metric_leaves_out_the_negative_class():
    chemprot = get_task("blurb/chemprot")
    predictions = [1, 0, 2, 0, 3, 1]
    references = [1, 1, 0, 0, 3, 2]
    scores = score_predictions(chemprot, {"test": predictions}, {"test": references})
    expected = skm.f1_score(
        references, predictions, labels=[1, 2, 3, 4, 5], average="micro"
    )
    # By hand: TP 2 (rows 0, 4), FP 2 (rows 2, 5), FN 2 (rows 1, 5): 4 / 8.
    assert scores["micro_f1_excluding_negative"] == pytest.approx(0.5)
    assert expected == pytest.approx(0.5)


def test_pubmedqa_parquet_layout_joins_context_passages(tmp_path):
    folder = tmp_path / "pubmedqa"
    folder.mkdir()
    table = pa.table(
        {
            "pubid": [21645374, 16418930],
            "question": ["Do mitochondria play a role?", "Is it safe?"],
            "context": [["Passage one.", "Passage two."], ["Only one."]],
            "long_answer": ["Yes, they do.", "Unclear."],
            "final_decision": ["yes", "maybe"],
        }
    )
    for name in ("train", "dev", "test"):
        pq.write_table(table, folder / f"{name}.parquet")
    dataset = load_task("blurb/pubmedqa", tmp_path)
    assert dataset.splits["test"][0] == {
        "idx": 21645374,
        "question": "Do mitochondria play a role?",
        "context": "Passage one. Passage two.",
        "label": 0,
    }
    assert dataset.label_distribution()["test"] == {"yes": 1, "no": 0, "maybe": 1}


def test_blurb_score_is_the_mean_of_four_tasks():
    blurb = get_suite("blurb")
    scores = {t.name: 0.2 * (i + 1) for i, t in enumerate(blurb.tasks)}
    assert suite_score(blurb, scores) == pytest.approx(0.5)
