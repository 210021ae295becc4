"""The ListOps generator and importer, checked by an evaluator written here."""

import numpy as np
import pytest

from tasks.errors import ImportFormatError
from tasks.generators import generate_task
from tasks.generators.listops import ListOpsConfig, generate_listops, write_lra_tsv
from tasks.importers.loading import load_task
from tasks.importers.lra_listops import read_listops

SMALL = ListOpsConfig(min_length=20, max_length=200)


def reference_value(expression: str) -> int:
    """Evaluate a flat ListOps expression independently of tasks/ code.

    MED of an even count is the floor of the mean of the two middle values,
    LRA's int(np.median(...)).
    """
    tokens = expression.split()
    position = 0

    def parse() -> int:
        nonlocal position
        token = tokens[position]
        position += 1
        if token.isdigit():
            return int(token)
        values = []
        while tokens[position] != "]":
            values.append(parse())
        position += 1
        if token == "[MIN":
            return min(values)
        if token == "[MAX":
            return max(values)
        if token == "[SM":
            return sum(values) % 10
        assert token == "[MED"
        return int(np.median(values))

    value = parse()
    assert position == len(tokens)
    return value


def nesting_depth(expression: str) -> int:
    depth = deepest = 0
    for token in expression.split():
        depth += token.startswith("[")
        depth -= token == "]"
        deepest = max(deepest, depth)
    return deepest


def test_reference_evaluator_agrees_with_lra_examples():
    assert reference_value("[MAX 2 9 [MIN 4 7 ] 0 ]") == 9
    assert reference_value("[MED 1 2 4 8 ]") == 3
    assert reference_value("[SM 9 9 [MED 5 2 ] ]") == 1


def test_generated_labels_match_an_independent_evaluator():
    splits = generate_listops(seed=3, n_train=60, n_val=5, n_test=5, config=SMALL)
    rows = [row for rows in splits.values() for row in rows]
    assert len(rows) == 70
    for row in rows:
        assert row["label"] == reference_value(row["text"])
    # Even-count medians must occur for the rule above to be exercised.
    assert any("[MED" in row["text"] for row in rows)


def test_generated_expressions_respect_lra_bounds():
    splits = generate_listops(seed=0, n_train=8, n_val=1, n_test=1)
    for row in splits["train"]:
        tokens = row["text"].split()
        # Strict, as lra_benchmarks/data/listops.py: length > 500 and < 2000.
        assert 500 < len(tokens) < 2000
        assert nesting_depth(row["text"]) <= 10
        args = []
        for token in tokens:
            if token.startswith("["):
                if args:
                    args[-1] += 1
                args.append(0)
            elif token == "]":
                assert 2 <= args.pop() <= 10
            else:
                args[-1] += 1


def test_length_bounds_are_strict_as_lras_generator():
    # lra_benchmarks/data/listops.py keeps a tree only if
    # `length > FLAGS.min_length and length < FLAGS.max_length`.
    tight = ListOpsConfig(min_length=4, max_length=6)
    splits = generate_listops(seed=0, n_train=40, n_val=0, n_test=0, config=tight)
    assert {len(row["text"].split()) for row in splits["train"]} == {5}


def test_splits_are_disjoint_as_lras_one_set_of_trees():
    # lra_benchmarks/data/listops.py adds every tree to one set, then cuts the
    # set into train, validation and test: no expression is in two splits.
    tiny = ListOpsConfig(min_length=3, max_length=7, max_args=3, max_depth=3)
    splits = generate_listops(seed=0, n_train=60, n_val=10, n_test=10, config=tiny)
    texts = [row["text"] for rows in splits.values() for row in rows]
    assert len(texts) == 80 and len(set(texts)) == 80


def test_generator_is_deterministic_under_a_seed():
    a = generate_listops(seed=7, n_train=5, n_val=2, n_test=2, config=SMALL)
    b = generate_listops(seed=7, n_train=5, n_val=2, n_test=2, config=SMALL)
    c = generate_listops(seed=8, n_train=5, n_val=2, n_test=2, config=SMALL)
    assert a == b and a != c


def test_generate_task_returns_the_declared_splits():
    dataset = generate_task(
        "lra/listops", seed=1, n_train=4, n_val=2, n_test=3, config=SMALL
    )
    assert dataset.counts() == {"train": 4, "test": 3}
    again = generate_task(
        "lra/listops", seed=1, n_train=4, n_val=2, n_test=3, config=SMALL
    )
    assert dataset.sha256() == again.sha256()


def test_generated_tsv_reads_back_through_the_lra_importer(tmp_path):
    splits = generate_listops(seed=2, n_train=3, n_val=2, n_test=2, config=SMALL)
    write_lra_tsv(splits, tmp_path / "listops-1000")
    assert (tmp_path / "listops-1000" / "basic_val.tsv").is_file()
    dataset = load_task("lra/listops", tmp_path)
    assert dataset.splits["train"] == splits["train"]
    assert dataset.splits["test"] == splits["test"]


def test_lra_tsv_layout_is_read_exactly(tmp_path):
    path = tmp_path / "basic_test.tsv"
    path.write_bytes(b"Source\tTarget\n[MAX 2 9 [MIN 4 7 ] 0 ]\t9\n[SM 1 2 ]\t3\n")
    assert read_listops(path) == [
        {"idx": 0, "text": "[MAX 2 9 [MIN 4 7 ] 0 ]", "label": 9},
        {"idx": 1, "text": "[SM 1 2 ]", "label": 3},
    ]


def test_original_release_layout_loses_its_parentheses(tmp_path):
    path = tmp_path / "test_d20s.tsv"
    path.write_bytes(
        b"1\t( ( [SM 6 ) 5 ) ] )\n7\t( ( ( [MAX 2 ) ( ( [MIN 7 ) 9 ) ] ) ) ] )\n"
    )
    rows = read_listops(path, layout="original")
    assert rows == [
        {"idx": 0, "text": "[SM 6 5 ]", "label": 1},
        {"idx": 1, "text": "[MAX 2 [MIN 7 9 ] ]", "label": 7},
    ]
    assert all(row["label"] == reference_value(row["text"]) for row in rows)


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (b"Source\tTarget\n[MAX 2 9 ]\t9\n[MAX 2 9 \t9\n", 3, "not closed"),
        (b"Source\tTarget\n[MAX 2 9 ]\t9\t1\n", 2, "found 3"),
        (b"Source\tTarget\n[MAX 2 9 ]\tnine\n", 2, "not a digit"),
        (b"Source\tTarget\n[MAX 2 X ]\t9\n", 2, "unknown symbol"),
        (b"Source\tTarget\n[MAX 2 ] ]\t2\n", 2, "closes no list"),
        (b"[MAX 2 9 ]\t9\n", 1, "header"),
        (b"Source\tTarget\n\n", 2, "columns"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, content, line, words):
    path = tmp_path / "basic_train.tsv"
    path.write_bytes(content)
    with pytest.raises(ImportFormatError) as caught:
        read_listops(path)
    assert caught.value.line == line and caught.value.file == str(path)
    assert words in str(caught.value)


def test_original_layout_with_a_bad_label_is_refused(tmp_path):
    path = tmp_path / "train_d20s.tsv"
    path.write_bytes(b"( ( [SM 6 ) 5 ) ] )\t1\n")
    with pytest.raises(ImportFormatError, match="line 1"):
        read_listops(path, layout="original")
