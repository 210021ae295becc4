"""BLURB: BIOSSES, HoC and ChemProt as released; PubMedQA in its mirror's layout."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn import metrics as skm

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError, UserError
from tasks.fidelity import split_size_report
from tasks.importers.loading import load_suite, load_task
from tasks.registry import get_suite, get_task
from tasks.scoring import row_groups, score_predictions, suite_score
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


def hoc_cell(*present: int) -> str:
    """A released labels cell: every hallmark k as k_1 or k_0, in order."""
    return ",".join(f"{k}_{int(k in present)}" for k in range(10))


# HoC as BLURB/BLUE release it: header labels, sentence, index; one sentence per
# line; index <PubMed id>_s<n>. Two abstracts here, three sentences and one.
HOC_TSV = (
    "labels\tsentence\tindex\n"
    f'{hoc_cell(6)}\tTumours recruit new "vessels".\t22355784_s0\n'
    f"{hoc_cell()}\tWe studied 40 patients.\t22355784_s1\n"
    f"{hoc_cell(6, 7)}\tVEGF blocks apoptosis.\t22355784_s2\n"
    f"{hoc_cell(0)}\tCells invade the stroma.\t9581817_s0\n"
)


def write_hoc_tsv(folder: Path, text: str = HOC_TSV) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train", "dev", "test"):
        (folder / f"{name}.tsv").write_text(text, encoding="utf-8")


def test_hoc_labels_follow_blue_s_order_so_the_released_indices_name_them():
    # BLUE's blue/hoc/eval_hoc.py: LABELS, alphabetical; k in a "k_v" item is a
    # position in that list.
    assert HOC[0] == "activating invasion and metastasis"
    assert HOC[6] == "inducing angiogenesis"
    assert HOC[9] == "tumor promoting inflammation"
    assert list(HOC) == sorted(HOC)


def test_hoc_released_tsv_gives_one_row_per_sentence_with_its_abstract(tmp_path):
    write_hoc_tsv(tmp_path / "hoc")
    dataset = load_task("blurb/hoc", tmp_path)
    assert dataset.task.version == 2
    assert dataset.counts() == {"train": 4, "validation": 4, "test": 4}
    assert dataset.splits["test"][0] == {
        "idx": 0,
        "text": 'Tumours recruit new "vessels".',
        "document": "22355784",
        "label": [6],
    }
    assert [r["label"] for r in dataset.splits["test"]] == [[6], [], [6, 7], [0]]
    assert [r["document"] for r in dataset.splits["test"]][2:] == [
        "22355784",
        "9581817",
    ]
    again = Dataset.from_jsonl(
        dataset.task, {s: dataset.to_jsonl(s) for s in dataset.splits}
    )
    assert again.sha256() == dataset.sha256()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"{hoc_cell(1)}\tA sentence.\t22355784", "not <abstract id>_s<number>"),
        ("0_0,1_2\tA sentence.\t1_s0", "is not <hallmark>_<0|1>"),
        ("0_0,1_1\tA sentence.\t1_s0", "each hallmark 0..9 once"),
        ("0_1\tA sentence.", "expected 3 tab-separated columns"),
    ],
)
def test_hoc_malformed_line_names_file_and_line(tmp_path, line, message):
    folder = tmp_path / "hoc"
    write_hoc_tsv(folder, HOC_TSV + line + "\n")
    with pytest.raises(ImportFormatError) as caught:
        load_task("blurb/hoc", folder)
    assert caught.value.line == 6 and message in str(caught.value)


def test_hoc_file_without_the_released_header_is_refused(tmp_path):
    folder = tmp_path / "hoc"
    write_hoc_tsv(folder, HOC_TSV.split("\n", 1)[1])
    with pytest.raises(ImportFormatError) as caught:
        load_task("blurb/hoc", folder)
    assert caught.value.line == 1 and "released" in str(caught.value)


def test_hoc_older_jsonl_import_is_still_read_one_abstract_per_line(tmp_path):
    folder = tmp_path / "hoc"
    records = [
        {"text": "Angiogenesis and death.", "labels": [HOC[6], HOC[7]]},
        {"text": "Nothing relevant.", "labels": []},
    ]
    for name in ("train", "dev", "test"):
        write_jsonl(folder / f"{name}.jsonl", records)
    dataset = load_task("blurb/hoc", tmp_path)
    assert dataset.splits["test"] == [
        {
            "idx": 0,
            "text": "Angiogenesis and death.",
            "document": "line-1",
            "label": [6, 7],
        },
        {"idx": 1, "text": "Nothing relevant.", "document": "line-2", "label": []},
    ]


def test_hoc_unknown_hallmark_in_jsonl_names_file_and_line(tmp_path):
    folder = tmp_path / "hoc"
    write_jsonl(
        folder / "test.jsonl",
        [{"text": "a", "labels": [HOC[0]]}, {"text": "b", "labels": ["cancer"]}],
    )
    with pytest.raises(ImportFormatError) as caught:
        load_task("blurb/hoc", folder)
    assert caught.value.file == str(folder / "test.jsonl") and caught.value.line == 2
    assert "'cancer'" in str(caught.value)


def test_hoc_is_scored_per_abstract_with_micro_f1(tmp_path):
    # BLUE's blue/hoc/eval_hoc.py keys each line by its index up to the first "_"
    # (the abstract), OR-s the hallmarks of the abstract's lines, gold and
    # predicted alike, and scores one label set per abstract; BLURB reports micro
    # F1 over them (Gu et al., 2021, table 1: 1,295 / 186 / 371 abstracts).
    write_hoc_tsv(tmp_path / "hoc")
    dataset = load_task("blurb/hoc", tmp_path)
    hoc, rows = dataset.task, dataset.splits["test"]
    predictions = [[], [6], [7], [1]]  # per sentence: gold [6], [], [6, 7], [0]
    scores = score_predictions(
        hoc,
        {"test": predictions},
        {"test": dataset.references("test")},
        groups={"test": row_groups(hoc, rows)},
    )
    # Per abstract: 22355784 gold {6, 7}, predicted {6, 7}; 9581817 gold {0},
    # predicted {1}. TP 2, FP 1, FN 1: micro F1 = 2*2 / (2*2 + 1 + 1).
    assert scores == {"micro_f1": pytest.approx(4 / 6)}
    # Per sentence it would be TP 1, FP 2, FN 3: another number.
    per_row = skm.f1_score(
        _binary(dataset.references("test")), _binary(predictions), average="micro"
    )
    assert per_row == pytest.approx(2 / 7)


def _binary(label_sets: list[list[int]]) -> list[list[int]]:
    return [[int(k in s) for k in range(10)] for s in label_sets]


def test_hoc_cannot_be_scored_without_the_abstracts():
    hoc = get_task("blurb/hoc")
    with pytest.raises(UserError) as caught:
        score_predictions(hoc, {"test": [[0]]}, {"test": [[0]]})
    assert caught.value.code == "scoring.missing_groups"


def test_blurb_split_sizes_are_pinned_to_blurb_s_table():
    # BLURB's table 1 (Gu et al., 2021): HoC 1,295 / 186 / 371 abstracts; PubMedQA
    # (PQA-L) 450 / 50 / 500 questions.
    hoc, pubmedqa = get_task("blurb/hoc"), get_task("blurb/pubmedqa")
    assert dict(hoc.split_sizes) == {"train": 1295, "validation": 186, "test": 371}
    assert hoc.group_field == "document"
    assert dict(pubmedqa.split_sizes) == {"train": 450, "validation": 50, "test": 500}


def test_an_import_of_other_split_sizes_is_labelled_not_comparable(tmp_path):
    write_hoc_tsv(tmp_path / "hoc")
    report = split_size_report(load_task("blurb/hoc", tmp_path))
    assert report["unit"] == "documents" and report["matches"] is False
    assert report["found"] == {"train": 2, "validation": 2, "test": 2}
    assert "test has 2 documents, the benchmark 371" in report["note"]
    assert "not comparable" in report["note"]


def test_an_import_of_pqa_l_sizes_matches():
    pubmedqa = get_task("blurb/pubmedqa")

    def rows(n: int) -> list[dict]:
        return [
            {"idx": i, "question": "q", "context": "c", "label": 0} for i in range(n)
        ]

    dataset = Dataset(
        pubmedqa, {"train": rows(450), "validation": rows(50), "test": rows(500)}
    )
    report = split_size_report(dataset)
    assert report["matches"] is True and "note" not in report


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


def test_chemprot_tsv_may_start_with_blue_s_header_line(tmp_path):
    # BLURB's dev.tsv has no header; BLUE's test.tsv starts with one. Both give
    # the same rows, numbered from the first data line.
    folder = tmp_path / "chemprot"
    folder.mkdir()
    for name in ("train", "dev"):
        (folder / f"{name}.tsv").write_text(CHEMPROT_TSV, encoding="utf-8")
    (folder / "test.tsv").write_text(
        "index\tsentence\tlabel\n" + CHEMPROT_TSV, encoding="utf-8"
    )
    dataset = load_task("blurb/chemprot", folder)
    assert dataset.splits["test"] == dataset.splits["train"]
    assert dataset.counts()["test"] == 3


def test_chemprot_header_line_later_in_the_file_is_a_bad_label(tmp_path):
    folder = tmp_path / "chemprot"
    folder.mkdir()
    (folder / "test.tsv").write_text(
        CHEMPROT_TSV + "index\tsentence\tlabel\n", encoding="utf-8"
    )
    with pytest.raises(ImportFormatError) as caught:
        load_task("blurb/chemprot", folder)
    assert caught.value.line == 4 and "'label'" in str(caught.value)


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


def test_blurb_score_averages_within_each_task_type_first():
    """BLURB (Gu et al., 2021, section 3.3): the mean within each of the six task
    types, then their mean; tasks/test_conll.py has a worked example."""
    blurb = get_suite("blurb")
    groups = blurb.score_rule_options["groups"]
    scores = {}
    for number, keys in enumerate(groups.values()):
        for key in keys:
            scores[f"blurb/{key}"] = 0.1 * (number + 1)
    assert len(scores) == 13
    assert suite_score(blurb, scores) == pytest.approx(0.35)
