"""A seeded ListOps generator (Nangia & Bowman 2018, as configured by LRA).

Following the LRA paper (Tay et al., 2021, section 3.1) and its generator
(``lra_benchmarks/data/listops.py``): a tree node is an operator with probability
``op_probability`` (LRA: 0.25) and a digit 0-9 otherwise; an operator takes 2 to
``max_args`` (10) arguments; below ``max_depth`` (10) every node is a digit;
a tree is kept only if its flat form has strictly more than ``min_length`` (500)
and strictly fewer than ``max_length`` (2000) symbols, as LRA's
``length > min_length and length < max_length``. LRA collects the trees in one
set before cutting it into splits, so no expression is in two splits (or twice
in one): a tree drawn again is drawn anew here too. Splits of 96k/2k/2k by
default.

Operators: ``[MIN``, ``[MAX``, ``[MED`` (median), ``[SM`` (sum modulo 10); each
list ends with ``]``. The median of an even number of values is LRA's
``int(np.median(values))``: the mean of the two middle values, rounded down
(values are non-negative). The flat form, one symbol per space-separated token,
is what the LRA TSV files hold: ``[MAX 2 9 [MIN 4 7 ] 0 ]``.

Randomness comes only from ``numpy.random.default_rng(seed)``, so a seed fixes
every example; the splits are drawn one after another from the one generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

OPERATORS = ("[MIN", "[MAX", "[MED", "[SM")
END = "]"
TSV_HEADER = "Source\tTarget"
SPLIT_FILES = {
    "train": "basic_train.tsv",
    "validation": "basic_val.tsv",
    "test": "basic_test.tsv",
}

Tree = int | tuple[str, list["Tree"]]


@dataclass(frozen=True)
class ListOpsConfig:
    """Generator settings; the defaults are LRA's."""

    max_depth: int = 10
    max_args: int = 10
    op_probability: float = 0.25
    min_length: int = 500
    max_length: int = 2000
    # Draws per example before giving up (a setting that cannot hit the length
    # window must fail loudly, not loop forever).
    max_attempts: int = 100_000


def evaluate(tree: Tree) -> int:
    """The value of a tree (a digit or ``(operator, arguments)``)."""
    if isinstance(tree, int):
        return tree
    op, args = tree
    values = sorted(evaluate(a) for a in args)
    if op == "[MIN":
        return values[0]
    if op == "[MAX":
        return values[-1]
    if op == "[SM":
        return sum(values) % 10
    if op == "[MED":
        mid = len(values) // 2
        if len(values) % 2:
            return values[mid]
        return (values[mid - 1] + values[mid]) // 2
    raise ValueError(f"unknown operator {op!r}")


def to_tokens(tree: Tree) -> list[str]:
    """The flat symbols of a tree: ``[MAX 2 9 ]`` -> ``["[MAX", "2", "9", "]"]``."""
    out: list[str] = []
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, int):
            out.append(str(item))
        else:
            op, args = item
            out.append(op)
            stack.append(END)
            stack.extend(reversed(args))
    return out


def _draw_tree(rng: np.random.Generator, config: ListOpsConfig, depth: int) -> Tree:
    if depth < config.max_depth and rng.random() < config.op_probability:
        op = OPERATORS[int(rng.integers(len(OPERATORS)))]
        n_args = int(rng.integers(2, config.max_args + 1))
        return (op, [_draw_tree(rng, config, depth + 1) for _ in range(n_args)])
    return int(rng.integers(10))


def _draw_root(rng: np.random.Generator, config: ListOpsConfig) -> Tree:
    # The root is always an operator: a lone digit is not a ListOps example.
    op = OPERATORS[int(rng.integers(len(OPERATORS)))]
    n_args = int(rng.integers(2, config.max_args + 1))
    return (op, [_draw_tree(rng, config, 2) for _ in range(n_args)])


def _tree_size(tree: Tree) -> int:
    if isinstance(tree, int):
        return 1
    return 2 + sum(_tree_size(a) for a in tree[1])


def generate_examples(
    n: int,
    rng: np.random.Generator,
    config: ListOpsConfig = ListOpsConfig(),
    *,
    seen: set[str] | None = None,
) -> list[tuple[str, int]]:
    """``n`` (flat expression, value) pairs strictly inside the length window.

    Expressions already in ``seen`` (the other splits') are drawn again; the new
    ones are added to it.
    """
    seen = set() if seen is None else seen
    examples = []
    for _ in range(n):
        for _attempt in range(config.max_attempts):
            tree = _draw_root(rng, config)
            if config.min_length < _tree_size(tree) < config.max_length:
                text = " ".join(to_tokens(tree))
                if text not in seen:
                    break
        else:
            raise ValueError(
                f"no new tree of more than {config.min_length} and fewer than "
                f"{config.max_length} symbols in {config.max_attempts} draws; "
                "check the ListOps settings"
            )
        seen.add(text)
        examples.append((text, evaluate(tree)))
    return examples


def generate_listops(
    *,
    seed: int,
    n_train: int = 96_000,
    n_val: int = 2_000,
    n_test: int = 2_000,
    config: ListOpsConfig = ListOpsConfig(),
) -> dict[str, list[dict[str, Any]]]:
    """Rows per split (``train``, ``validation``, ``test``) in canonical form.

    Rows are ``{"idx", "text", "label"}`` with ``label`` the value 0-9.
    """
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    splits = {}
    for split, n in (("train", n_train), ("validation", n_val), ("test", n_test)):
        drawn = generate_examples(n, rng, config, seen=seen)
        splits[split] = [
            {"idx": i, "text": text, "label": value}
            for i, (text, value) in enumerate(drawn)
        ]
    return splits


def write_lra_tsv(splits: dict[str, list[dict[str, Any]]], folder: str | Path):
    """Write splits in LRA's layout: ``basic_{train,val,test}.tsv``, header
    ``Source<TAB>Target``, one ``expression<TAB>value`` per line."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        lines = [TSV_HEADER] + [f"{row['text']}\t{row['label']}" for row in rows]
        (folder / SPLIT_FILES[split]).write_text(
            "\n".join(lines) + "\n", encoding="utf-8"
        )
