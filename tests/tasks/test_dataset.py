import hashlib

import pytest

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError, UserError
from tasks.registry import get_task

RTE = get_task("glue/rte")


def rte_dataset() -> Dataset:
    return Dataset(
        RTE,
        {
            "validation": [
                {
                    "idx": 0,
                    "sentence1": "Ça va « bien ».",
                    "sentence2": "H.",
                    "label": 1,
                },
            ],
            "test": [{"idx": 3, "sentence1": "P.", "sentence2": "H."}],
        },
    )


def test_jsonl_is_canonical_sorted_compact_utf8():
    data = rte_dataset().to_jsonl("validation")
    assert (
        data
        == (
            '{"idx":0,"label":1,"sentence1":"Ça va « bien ».","sentence2":"H."}\n'
        ).encode()
    )
    assert b'"label"' not in rte_dataset().to_jsonl("validation", with_labels=False)


def test_sha256_covers_split_names_and_bytes_in_sorted_order():
    dataset = rte_dataset()
    expected = hashlib.sha256(
        b"test\n"
        + dataset.to_jsonl("test")
        + b"validation\n"
        + dataset.to_jsonl("validation")
    ).hexdigest()
    assert dataset.sha256() == expected


def test_jsonl_round_trip_keeps_the_hash():
    dataset = rte_dataset()
    files = {split: dataset.to_jsonl(split) for split in dataset.splits}
    again = Dataset.from_jsonl(RTE, files)
    assert again.sha256() == dataset.sha256()
    assert again.splits == dataset.splits


def test_references_and_stripped_rows():
    dataset = rte_dataset()
    assert dataset.references("validation") == [1]
    assert dataset.strip_labels("validation") == [
        {"idx": 0, "sentence1": "Ça va « bien ».", "sentence2": "H."}
    ]
    with pytest.raises(UserError, match="no labels"):
        dataset.references("test")
    with pytest.raises(UserError, match="present: validation, test"):
        dataset.references("train")


def test_regression_integer_labels_hash_like_floats():
    stsb = get_task("glue/stsb")
    row = {"idx": 0, "sentence1": "a", "sentence2": "b"}
    as_int = Dataset(stsb, {"validation": [{**row, "label": 5}]})
    as_float = Dataset(stsb, {"validation": [{**row, "label": 5.0}]})
    assert as_int.sha256() == as_float.sha256()


@pytest.mark.parametrize(
    "row",
    [
        {"idx": 0, "sentence1": "P.", "sentence2": "H.", "label": 2},  # out of range
        {"idx": 0, "sentence1": "P.", "sentence2": "H."},  # label missing
        {"idx": "0", "sentence1": "P.", "sentence2": "H.", "label": 0},
        {"idx": 0, "sentence1": "P.", "label": 0},
        {"idx": 0, "sentence1": "P.", "sentence2": "H.", "label": 0, "x": 1},
    ],
)
def test_invalid_rows_are_refused(row):
    with pytest.raises(UserError):
        Dataset(RTE, {"validation": [row]})


def test_duplicate_idx_and_unknown_split_are_refused():
    row = {"idx": 0, "sentence1": "P.", "sentence2": "H.", "label": 0}
    with pytest.raises(UserError, match="appears twice"):
        Dataset(RTE, {"validation": [row, row]})
    with pytest.raises(UserError, match="no split 'dev'"):
        Dataset(RTE, {"dev": [row]})


def test_bad_jsonl_names_file_and_line():
    good = b'{"idx":0,"label":0,"sentence1":"P.","sentence2":"H."}\n'
    with pytest.raises(ImportFormatError, match="validation.jsonl, line 2"):
        Dataset.from_jsonl(RTE, {"validation": good + b"{not json\n"})
    with pytest.raises(ImportFormatError, match="validation.jsonl, line 2"):
        Dataset.from_jsonl(
            RTE, {"validation": good + good.replace(b'"label":0', b'"label":7')}
        )


HOC = get_task("blurb/hoc")


def test_multilabel_rows_are_sorted_so_the_hash_ignores_label_order():
    row = {"idx": 0, "text": "a", "document": "1"}
    one = Dataset(HOC, {"test": [{**row, "label": [4, 0]}]})
    two = Dataset(HOC, {"test": [{**row, "label": [0, 4]}]})
    assert one.splits["test"][0]["label"] == [0, 4]
    assert one.sha256() == two.sha256()
    assert one.references("test") == [[0, 4]]


@pytest.mark.parametrize("label", [[1, 1], [10], [-1], [True], 3, ["0"]])
def test_multilabel_label_must_be_distinct_class_indices(label):
    with pytest.raises(UserError) as caught:
        Dataset(
            HOC, {"test": [{"idx": 0, "text": "a", "document": "1", "label": label}]}
        )
    assert caught.value.code == "dataset.invalid_row"


@pytest.mark.parametrize("document", [None, "", 7])
def test_a_grouped_task_s_rows_need_their_group(document):
    row = {"idx": 0, "text": "a", "label": [1]}
    if document is not None:
        row["document"] = document
    with pytest.raises(UserError) as caught:
        Dataset(HOC, {"test": [row]})
    assert caught.value.code == "dataset.invalid_row"
    assert "document" in str(caught.value)
