"""The GLUE TSV importer: real release files, and tiny files in each exact layout."""

from pathlib import Path

import pytest

from tasks.errors import ImportFormatError, UserError
from tasks.importers.loading import load_suite, load_task, scan_suite
from tests.tasks.conftest import (
    GLUE_DATA,
    MNLI_DEV,
    MNLI_TRAIN,
    requires_glue_data,
    write_tsv,
)

OFFICIAL_COUNTS = {
    "glue/sst2": {"train": 67349, "validation": 872, "test": 1821},
    "glue/cola": {"train": 8551, "validation": 1043, "test": 1063},
    "glue/mrpc": {"train": 3667, "validation": 408, "test": 1725},
    "glue/rte": {"train": 2490, "validation": 277, "test": 3000},
    "glue/stsb": {"train": 5749, "validation": 1500, "test": 1379},
    "glue/wnli": {"train": 635, "validation": 71, "test": 146},
    "glue/qnli": {"validation": 5463, "test": 5463},
    "glue/ax": {"test": 1104},
}


@requires_glue_data
@pytest.mark.parametrize("task_name", sorted(OFFICIAL_COUNTS))
def test_real_release_files_give_the_official_counts(task_name):
    dataset = load_task(task_name, GLUE_DATA)
    assert dataset.counts() == OFFICIAL_COUNTS[task_name]


@requires_glue_data
def test_real_files_keep_text_exactly_and_map_labels():
    sst2 = load_task("glue/sst2", GLUE_DATA / "SST-2")
    assert sst2.splits["validation"][0] == {
        "idx": 0,
        "sentence": "it 's a charming and often affecting journey . ",
        "label": 1,
    }
    assert sst2.label_distribution()["validation"] == {"0": 428, "1": 444}
    mrpc = load_task("glue/mrpc", GLUE_DATA)
    first = mrpc.splits["validation"][0]
    assert first["sentence2"].startswith('" The foodservice')  # bare quote kept
    assert mrpc.splits["test"][0]["idx"] == 0 and "label" not in mrpc.splits["test"][0]
    stsb = load_task("glue/stsb", GLUE_DATA)
    assert stsb.splits["validation"][1]["label"] == 4.75


@requires_glue_data
def test_suite_import_reports_found_and_missing_tasks():
    scan = scan_suite("glue", GLUE_DATA)
    assert set(scan.missing) == {"glue/mnli", "glue/qqp"}
    datasets = load_suite("glue", GLUE_DATA)
    assert [d.task.name for d in datasets] == list(scan.found)


def test_cola_headerless_train_and_headed_test(glue_root):
    folder = glue_root / "CoLA"
    write_tsv(
        folder / "train.tsv",
        [["gj04", "1", "", "Bill left."], ["gj04", "0", "*", "Left Bill the."]],
    )
    write_tsv(folder / "dev.tsv", [["clc95", "1", "", 'He said "hi".']])
    write_tsv(
        folder / "test.tsv", [["7", "Bill whistled."]], header=["index", "sentence"]
    )
    dataset = load_task("glue/cola", glue_root)
    assert dataset.splits["train"] == [
        {"idx": 0, "sentence": "Bill left.", "label": 1},
        {"idx": 1, "sentence": "Left Bill the.", "label": 0},
    ]
    assert dataset.splits["validation"][0]["sentence"] == 'He said "hi".'
    assert dataset.splits["test"] == [{"idx": 7, "sentence": "Bill whistled."}]


def test_sst2_layout(glue_root):
    folder = glue_root / "SST-2"
    write_tsv(folder / "dev.tsv", [["good . ", "1"]], header=["sentence", "label"])
    write_tsv(folder / "test.tsv", [["0", "bad ."]], header=["index", "sentence"])
    dataset = load_task("glue/sst2", folder)
    assert dataset.counts() == {"validation": 1, "test": 1}
    assert dataset.splits["validation"] == [
        {"idx": 0, "sentence": "good . ", "label": 1}
    ]


MRPC_HEADER = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]


def test_mrpc_layout_with_byte_order_mark(glue_root):
    folder = glue_root / "MRPC"
    rows = [
        ["1", "702876", "702977", "A said .", "A told ."],
        ["0", "2108705", "2108831", "B .", "C ."],
    ]
    write_tsv(folder / "train.tsv", rows, header=MRPC_HEADER, bom=True)
    write_tsv(folder / "dev.tsv", rows[:1], header=MRPC_HEADER, bom=True)
    write_tsv(
        folder / "test.tsv",
        [["0", "1", "2", "X .", "Y ."]],
        header=["index"] + MRPC_HEADER[1:],
    )
    dataset = load_task("glue/mrpc", glue_root)
    assert dataset.splits["train"][1] == {
        "idx": 1,
        "sentence1": "B .",
        "sentence2": "C .",
        "label": 0,
    }
    assert dataset.splits["test"] == [
        {"idx": 0, "sentence1": "X .", "sentence2": "Y ."}
    ]


def test_qqp_layout(glue_root):
    folder = glue_root / "QQP"
    header = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
    write_tsv(
        folder / "train.tsv",
        [["133273", "213221", "213222", "How?", "Why?", "0"]],
        header=header,
    )
    write_tsv(
        folder / "dev.tsv",
        [["201359", "303345", "303346", "Is it?", "It is?", "1"]],
        header=header,
    )
    write_tsv(
        folder / "test.tsv",
        [["0", "Who?", "Whom?"]],
        header=["id", "question1", "question2"],
    )
    dataset = load_task("glue/qqp", glue_root)
    assert dataset.splits["validation"] == [
        {"idx": 201359, "question1": "Is it?", "question2": "It is?", "label": 1}
    ]
    assert dataset.splits["test"] == [
        {"idx": 0, "question1": "Who?", "question2": "Whom?"}
    ]


STSB_HEADER = [
    "index",
    "genre",
    "filename",
    "year",
    "old_index",
    "source1",
    "source2",
    "sentence1",
    "sentence2",
    "score",
]


def stsb_row(index: str, score: str) -> list[str]:
    return [
        index,
        "main-captions",
        "MSRvid",
        "2012test",
        "0001",
        "none",
        "none",
        "A plane.",
        "An air plane.",
        score,
    ]


def test_stsb_layout_reads_float_scores(glue_root):
    folder = glue_root / "STS-B"
    write_tsv(
        folder / "dev.tsv",
        [stsb_row("0", "5.000"), stsb_row("1", "3.800")],
        header=STSB_HEADER,
    )
    write_tsv(folder / "test.tsv", [stsb_row("0", "")[:-1]], header=STSB_HEADER[:-1])
    dataset = load_task("glue/stsb", glue_root)
    assert [r["label"] for r in dataset.splits["validation"]] == [5.0, 3.8]
    assert dataset.splits["test"] == [
        {"idx": 0, "sentence1": "A plane.", "sentence2": "An air plane."}
    ]
    assert dataset.label_distribution()["validation"]["max"] == 5.0


MNLI_TEST = MNLI_TRAIN[:10]


def mnli_row(index: str, labels: list[str]) -> list[str]:
    return [
        index,
        "31193",
        "31193n",
        "government",
        "( ( A B ) )",
        "( C )",
        "(ROOT (S A B))",
        "(ROOT C)",
        "A B.",
        "C.",
        *labels,
    ]


def test_mnli_layout_reads_columns_by_header_name(glue_root):
    folder = glue_root / "MNLI"
    write_tsv(
        folder / "train.tsv", [mnli_row("0", ["neutral", "neutral"])], header=MNLI_TRAIN
    )
    for name in ("dev_matched.tsv", "dev_mismatched.tsv"):
        write_tsv(
            folder / name,
            [
                mnli_row("0", ["neutral"] * 4 + ["entailment", "contradiction"]),
                mnli_row("1", ["entailment"] * 5 + ["entailment"]),
            ],
            header=MNLI_DEV,
        )
    for name in ("test_matched.tsv", "test_mismatched.tsv"):
        write_tsv(folder / name, [mnli_row("0", [])], header=MNLI_TEST)
    dataset = load_task("glue/mnli", glue_root)
    assert dataset.counts() == {
        "train": 1,
        "validation_matched": 2,
        "validation_mismatched": 2,
        "test_matched": 1,
        "test_mismatched": 1,
    }
    assert dataset.splits["train"] == [
        {"idx": 0, "premise": "A B.", "hypothesis": "C.", "label": 1}
    ]
    assert dataset.references("validation_matched") == [2, 0]  # gold_label


@pytest.mark.parametrize(
    ("key", "folder", "header", "labels"),
    [
        (
            "qnli",
            "QNLI",
            ["index", "question", "sentence", "label"],
            ("entailment", "not_entailment"),
        ),
        (
            "rte",
            "RTE",
            ["index", "sentence1", "sentence2", "label"],
            ("entailment", "not_entailment"),
        ),
        ("wnli", "WNLI", ["index", "sentence1", "sentence2", "label"], ("0", "1")),
    ],
)
def test_pair_layouts_with_index_column(glue_root, key, folder, header, labels):
    path = glue_root / folder
    write_tsv(path / "train.tsv", [["0", "P.", "H.", labels[1]]], header=header)
    write_tsv(path / "dev.tsv", [["5", "P.", "H.", labels[0]]], header=header)
    write_tsv(path / "test.tsv", [["9", "P.", "H."]], header=header[:3])
    dataset = load_task(f"glue/{key}", glue_root)
    first, second = header[1], header[2]
    assert dataset.splits["train"] == [
        {"idx": 0, first: "P.", second: "H.", "label": 1}
    ]
    assert dataset.splits["validation"][0]["idx"] == 5
    assert dataset.splits["test"] == [{"idx": 9, first: "P.", second: "H."}]


def test_ax_diagnostic_layout(glue_root):
    write_tsv(
        glue_root / "diagnostic" / "diagnostic.tsv",
        [["0", "The cat sat.", "The cat did not sit."]],
        header=["index", "sentence1", "sentence2"],
    )
    dataset = load_task("glue/ax", glue_root)
    assert dataset.splits == {
        "test": [
            {"idx": 0, "premise": "The cat sat.", "hypothesis": "The cat did not sit."}
        ]
    }


# Malformed input: every problem names the file and the line.


def write_rte(glue_root: Path, dev_rows: list[list[str]]) -> Path:
    header = ["index", "sentence1", "sentence2", "label"]
    return write_tsv(glue_root / "RTE" / "dev.tsv", dev_rows, header=header)


@pytest.mark.parametrize(
    ("bad_row", "words"),
    [
        (["1", "P.", "H."], "expected 4 tab-separated columns, found 3"),
        (["1", "P.", "H.", "entailment", "extra"], "found 5"),
        (["1", "P.", "H.", "entails"], "unknown label 'entails'"),
        (["one", "P.", "H.", "entailment"], "not an integer"),
        (["0", "P.", "H.", "entailment"], "index 0 already used on line 2"),
        ([], "found 0"),  # a blank line is not skipped
    ],
)
def test_malformed_row_names_file_and_line(glue_root, bad_row, words):
    path = write_rte(
        glue_root,
        [["0", "P.", "H.", "entailment"], bad_row, ["2", "P.", "H.", "entailment"]],
    )
    with pytest.raises(ImportFormatError) as caught:
        load_task("glue/rte", glue_root)
    assert caught.value.line == 3
    assert f"{path}, line 3: " in str(caught.value)
    assert words in str(caught.value)


def test_non_numeric_score_names_file_and_line(glue_root):
    path = write_tsv(
        glue_root / "STS-B" / "dev.tsv",
        [stsb_row("0", "5.0"), stsb_row("1", "high")],
        header=STSB_HEADER,
    )
    with pytest.raises(ImportFormatError, match=f"{path}, line 3: score 'high'"):
        load_task("glue/stsb", glue_root)


def test_score_outside_range_is_refused(glue_root):
    write_tsv(
        glue_root / "STS-B" / "dev.tsv", [stsb_row("0", "5.5")], header=STSB_HEADER
    )
    with pytest.raises(ImportFormatError, match="line 2: score 5.5 outside"):
        load_task("glue/stsb", glue_root)


def test_missing_eval_file_is_an_error_naming_it(glue_root):
    header = ["index", "sentence1", "sentence2", "label"]
    write_tsv(
        glue_root / "RTE" / "train.tsv",
        [["0", "P.", "H.", "entailment"]],
        header=header,
    )
    with pytest.raises(ImportFormatError) as caught:
        load_task("glue/rte", glue_root)
    assert caught.value.code == "import.missing_file"
    assert str(glue_root / "RTE" / "dev.tsv") in str(caught.value)


def test_wrong_header_is_refused_on_line_one(glue_root):
    write_tsv(
        glue_root / "RTE" / "dev.tsv",
        [["0", "P.", "H.", "entailment"]],
        header=["index", "premise", "hypothesis", "label"],
    )
    with pytest.raises(ImportFormatError, match="dev.tsv, line 1: header"):
        load_task("glue/rte", glue_root)


def test_label_column_in_a_test_file_is_refused(glue_root):
    folder = glue_root / "SST-2"
    write_tsv(folder / "dev.tsv", [["good", "1"]], header=["sentence", "label"])
    write_tsv(
        folder / "test.tsv", [["0", "bad", "0"]], header=["index", "sentence", "label"]
    )
    with pytest.raises(ImportFormatError, match="test.tsv, line 1"):
        load_task("glue/sst2", glue_root)


def test_invalid_utf8_names_the_line(glue_root):
    path = write_rte(glue_root, [["0", "P.", "H.", "entailment"]])
    path.write_bytes(path.read_bytes() + b"1\tP\xff.\tH.\tentailment\n")
    with pytest.raises(ImportFormatError, match="line 3: not valid UTF-8"):
        load_task("glue/rte", glue_root)


def test_folder_without_task_files_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no files of glue/rte"):
        load_task("glue/rte", tmp_path)


def test_unknown_format_suggests_a_known_one(glue_root):
    write_rte(glue_root, [["0", "P.", "H.", "entailment"]])
    with pytest.raises(UserError, match="Did you mean 'glue_tsv'"):
        load_task("glue/rte", glue_root, format="glue_csv")


# Content hashing.


def test_reimport_gives_the_same_hash_and_one_changed_row_a_different_one(glue_root):
    rows = [["0", "P.", "H.", "entailment"], ["1", "Q.", "H.", "not_entailment"]]
    write_rte(glue_root, rows)
    first = load_task("glue/rte", glue_root).sha256()
    assert load_task("glue/rte", glue_root).sha256() == first
    write_rte(glue_root, [rows[0], ["1", "Q.", "H.", "entailment"]])
    assert load_task("glue/rte", glue_root).sha256() != first


@requires_glue_data
def test_real_file_reimport_is_stable():
    assert (
        load_task("glue/wnli", GLUE_DATA).sha256()
        == load_task("glue/wnli", GLUE_DATA / "WNLI").sha256()
    )
