"""The general CSV/JSON/Parquet importer: a task added by a TOML spec alone."""

import json
from pathlib import Path

import pytest

from tasks.errors import CatalogueError, ImportFormatError
from tasks.importers.datasets_files import IMPORTER
from tasks.spec_files import load_spec_file
from tasks.specs import TaskSpec

SPEC = """
[suite]
name = "demo"
title = "Demo"
description = "A domain suite added without code."
score_rule = "mean_of_task_means"
score_rule_text = "Mean of tasks."

[tasks.one]
title = "One"
description = "A task."
version = 1
type = "{type}"
text_fields = ["text"]
{labels}
metrics = ["{metric}"]
primary_metric = "{metric}"
train_split = "train"
eval_splits = ["validation"]
test_splits = ["test"]
in_suite_score = true
importer = "datasets_files"
folder = "one"
files = {{ train = "train.{ext}", validation = "dev.{ext}", test = "test.{ext}" }}

[tasks.one.importer_options]
{options}
"""


def make_task(
    tmp_path: Path,
    *,
    ext: str,
    options: str = "",
    type: str = "classification",
    labels: str = 'labels = ["neg", "pos"]',
    metric: str = "accuracy",
) -> TaskSpec:
    path = tmp_path / "demo.toml"
    path.write_text(
        SPEC.format(type=type, labels=labels, metric=metric, ext=ext, options=options),
        encoding="utf-8",
    )
    return load_spec_file(path).tasks[0]


def test_csv_cells_stay_text_with_quotes_commas_and_newlines(tmp_path):
    task = make_task(tmp_path, ext="csv", options='text_columns = { text = "body" }')
    csv_text = (
        'id,body,label\n1,"a, b",pos\n2,"line one\nline two",neg\n3,007,neg\n4,,pos\n'
    )
    (tmp_path / "dev.csv").write_text(csv_text, encoding="utf-8")
    (tmp_path / "test.csv").write_text("id,body\n9,x\n", encoding="utf-8")
    dataset = IMPORTER.load(task, tmp_path)
    assert dataset.splits["validation"] == [
        {"idx": 0, "text": "a, b", "label": 1},
        {"idx": 1, "text": "line one\nline two", "label": 0},
        {"idx": 2, "text": "007", "label": 0},
        {"idx": 3, "text": "", "label": 1},
    ]
    assert dataset.splits["test"] == [{"idx": 0, "text": "x"}]
    assert "train" not in dataset.splits  # absent, and not required


def test_jsonl_with_index_column_and_index_labels(tmp_path):
    task = make_task(
        tmp_path, ext="jsonl", options='index_column = "id"\nlabel_encoding = "index"'
    )
    rows = [{"id": 10, "text": "x", "label": 1}, {"id": 11, "text": "y", "label": 0}]
    (tmp_path / "dev.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    dataset = IMPORTER.load(task, tmp_path)
    assert [(r["idx"], r["label"]) for r in dataset.splits["validation"]] == [
        (10, 1),
        (11, 0),
    ]


def test_tsv_multilabel_cells_with_a_separator(tmp_path):
    task = make_task(
        tmp_path,
        ext="tsv",
        type="multilabel_classification",
        labels='labels = ["a", "b", "c"]',
        metric="micro_f1",
        options='label_column = "tags"\nlabel_separator = ";"',
    )
    (tmp_path / "dev.tsv").write_text(
        "text\ttags\nfirst\tc;a\nsecond\t\n", encoding="utf-8"
    )
    dataset = IMPORTER.load(task, tmp_path)
    assert [r["label"] for r in dataset.splits["validation"]] == [[0, 2], []]


def test_regression_with_range(tmp_path):
    task = make_task(
        tmp_path,
        ext="jsonl",
        type="regression",
        labels="",
        metric="pearson",
        options='label_column = "score"\nlabel_range = [0.0, 1.0]',
    )
    (tmp_path / "dev.jsonl").write_text(
        '{"text": "a", "score": 0.5}\n{"text": "b", "score": 2}\n', encoding="utf-8"
    )
    with pytest.raises(ImportFormatError) as caught:
        IMPORTER.load(task, tmp_path)
    assert caught.value.line == 2 and "outside" in str(caught.value)


@pytest.mark.parametrize(
    ("second", "words"),
    [
        # The columnar reader fills a key missing from one record with null.
        ('{"label": "neg"}', "'text' is not a string: None"),
        ('{"text": 5, "label": "neg"}', "'text' is not a string"),
        ('{"text": "b", "label": "meh"}', "unknown label 'meh'"),
    ],
)
def test_bad_jsonl_record_names_file_and_line(tmp_path, second, words):
    task = make_task(tmp_path, ext="jsonl")
    first = '{"text": "a", "label": "pos"}'
    (tmp_path / "dev.jsonl").write_text(f"{first}\n{second}\n", encoding="utf-8")
    with pytest.raises(ImportFormatError) as caught:
        IMPORTER.load(task, tmp_path)
    assert caught.value.file == str(tmp_path / "dev.jsonl")
    assert caught.value.line == 2 and words in str(caught.value)


def test_a_file_the_reader_cannot_parse_is_named(tmp_path):
    task = make_task(tmp_path, ext="jsonl")
    (tmp_path / "dev.jsonl").write_text('{"text": "a", "label": \n', encoding="utf-8")
    with pytest.raises(ImportFormatError) as caught:
        IMPORTER.load(task, tmp_path)
    assert caught.value.code == "import.unreadable"
    assert str(tmp_path / "dev.jsonl") in str(caught.value)


def test_missing_eval_file_is_an_error(tmp_path):
    task = make_task(tmp_path, ext="parquet")
    with pytest.raises(ImportFormatError) as caught:
        IMPORTER.load(task, tmp_path)
    assert caught.value.code == "import.missing_file"


def test_label_column_in_an_unlabelled_split_is_refused(tmp_path):
    task = make_task(tmp_path, ext="csv")
    (tmp_path / "dev.csv").write_text("text,label\na,pos\n", encoding="utf-8")
    (tmp_path / "test.csv").write_text("text,label\na,pos\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="unlabelled split"):
        IMPORTER.load(task, tmp_path)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ('labl_column = "x"', "'labl_column'"),
        ('label_encoding = "ids"', "'label_encoding'"),
        ("label_range = [0, 1]", "regression"),
        ('label_separator = ";"', "multi-label"),
        ('format = "xml"', "'format'"),
    ],
)
def test_bad_options_fail_when_the_spec_loads(tmp_path, options, words):
    with pytest.raises(CatalogueError) as caught:
        make_task(tmp_path, ext="csv", options=options)
    assert caught.value.code == "catalogue.invalid_importer_options"
    assert words in str(caught.value)


def test_unknown_suffix_needs_a_format(tmp_path):
    with pytest.raises(CatalogueError, match="set 'format'"):
        make_task(tmp_path, ext="txt")
    task = make_task(tmp_path, ext="txt", options='format = "json"')
    (tmp_path / "dev.txt").write_text('{"text": "a", "label": "neg"}\n')
    assert IMPORTER.load(task, tmp_path).counts() == {"validation": 1}
