"""Long-context tasks built from short ones, inspired by M4LE (Kwan et al., 2023).

Not M4LE itself: the catalogue suite lists what differs (its ``deviations``).

A built row packs many instances ("passages") of a base classification task into
one ``context`` and asks a ``question`` about them::

    context:  "Passage 1: <text>\\nPassage 2: <text>\\n..."
    question: "What is the label of passage 7?"

Kinds (``kind``), and what the label is:

- ``explicit-single``: one passage named by its number; label = its base label.
- ``semantic-single``: one passage named by a phrase that occurs in it and in no
  other passage of the context; label = its base label.
- ``explicit-multiple``: ``spans`` passages named by number; label = how many of
  them have the base label ``positive_label`` (0 to ``spans``).
- ``semantic-multiple``: the same, each passage named by a phrase.
- ``global``: label 1 if strictly more than half of all passages have the base
  label ``positive_label``, else 0.

A base instance's text is its text fields joined by one space, with runs of
whitespace collapsed to one space (so a passage is one line). Within a context
passages are distinct base rows; across rows they repeat.

Lengths: each output split has a target token count (``count_tokens``,
whitespace tokens by default) for ``context + "\\n" + question``; a row has at
most that many tokens and at least ``1 - tolerance`` of it. In the catalogue the
length is the split (``validation_1k`` ... ``validation_16k``), so scores are
reported per length bucket (``accuracy_1k`` ...) and the task score is their
mean.

Each split is drawn from its own generator, seeded with ``(seed, crc32(split))``,
so a split does not change when another is added. The output is a normal
:class:`~tasks.dataset.Dataset`, versioned and hashed like an imported one.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from tasks.dataset import Dataset
from tasks.errors import UserError
from tasks.specs import LONG_CONTEXT_KINDS, TaskSpec

TOLERANCE = 0.1
MIN_PHRASE_TOKENS = 4


def whitespace_token_count(text: str) -> int:
    """Number of whitespace-separated tokens.

    >>> whitespace_token_count("Passage 1: a  fine film")
    5
    """
    return len(text.split())


def passage_text(row: Mapping[str, Any], text_fields: Sequence[str]) -> str:
    """One base row as a single line of text."""
    return " ".join(" ".join(str(row[f]).split()) for f in text_fields)


def _passage_line(number: int, text: str) -> str:
    return f"Passage {number}: {text}"


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _question(kind: str, numbers: list[int], phrases: list[str], positive: str) -> str:
    if kind == "explicit-single":
        return f"What is the label of passage {numbers[0]}?"
    if kind == "semantic-single":
        return f'What is the label of the passage that contains "{phrases[0]}"?'
    if kind == "explicit-multiple":
        return (
            f"How many of passages {_names([str(n) for n in numbers])} "
            f"have the label {positive}?"
        )
    if kind == "semantic-multiple":
        quoted = _names([f'"{p}"' for p in phrases])
        return (
            f"How many of the passages that contain {quoted} have the label {positive}?"
        )
    return f"Do more than half of the passages have the label {positive}?"


def _unique_phrase(
    rng: np.random.Generator, index: int, texts: list[str]
) -> str | None:
    """A run of words of ``texts[index]`` found in no other text, or None."""
    words = texts[index].split()
    wrapped = [f" {t} " for t in texts]
    for n in range(MIN_PHRASE_TOKENS, len(words) + 1):
        starts = rng.permutation(len(words) - n + 1)
        for start in starts[:8]:
            phrase = " ".join(words[start : start + n])
            needle = f" {phrase} "
            if '"' in phrase:
                continue
            if not any(needle in w for i, w in enumerate(wrapped) if i != index):
                return phrase
    return None


class _Builder:
    """Builds the rows of one split."""

    def __init__(
        self,
        *,
        texts: list[str],
        labels: list[int],
        label_names: Sequence[str],
        kind: str,
        spans: int,
        positive_label: int,
        count_tokens: Callable[[str], int],
        tolerance: float,
    ) -> None:
        self.texts, self.labels = texts, labels
        self.kind, self.spans = kind, spans
        self.positive_label = positive_label
        self.positive = label_names[positive_label]
        self.count = count_tokens
        self.tolerance = tolerance
        self.sizes = [count_tokens(_passage_line(99999, t)) for t in texts]
        self.smallest = min(self.sizes)
        self._positives = np.array(
            [i for i, y in enumerate(labels) if y == positive_label], dtype=np.int64
        )
        self._others = np.array(
            [i for i, y in enumerate(labels) if y != positive_label], dtype=np.int64
        )

    def _fill(self, rng: np.random.Generator, budget: int) -> list[int]:
        """Distinct base rows whose lines fit ``budget`` tokens, in random order."""
        chosen, used = [], 0
        for i in self._order(rng):
            if used + self.sizes[i] <= budget:
                chosen.append(i)
                used += self.sizes[i]
            if budget - used < self.smallest:
                break
        return chosen

    def _order(self, rng: np.random.Generator) -> Iterator[int]:
        if self.kind != "global":
            yield from (int(i) for i in rng.permutation(len(self.texts)))
            return
        # Lean the mix towards one side so the majority is rarely a coin toss.
        share = 0.7 if rng.random() < 0.5 else 0.3
        pools = [rng.permutation(self._positives), rng.permutation(self._others)]
        taken = [0, 0]
        while taken[0] < len(pools[0]) or taken[1] < len(pools[1]):
            side = 0 if rng.random() < share else 1
            if taken[side] == len(pools[side]):
                side = 1 - side
            yield int(pools[side][taken[side]])
            taken[side] += 1

    def _targets(self, rng: np.random.Generator, chosen: list[int]) -> list[int]:
        """Positions (into ``chosen``) of the passages the question names."""
        if self.kind == "global":
            return []
        n = 1 if self.kind.endswith("single") else self.spans
        positions = list(range(len(chosen)))
        if self.kind.endswith("single"):
            # Balance the labels: first draw a label present, then a passage.
            present = sorted({self.labels[chosen[p]] for p in positions})
            want = present[int(rng.integers(len(present)))]
            pool = [p for p in positions if self.labels[chosen[p]] == want]
            return [int(pool[int(rng.integers(len(pool)))])]
        # Multiple: draw how many named passages are positive (0..n), then them.
        pos = [p for p in positions if self.labels[chosen[p]] == self.positive_label]
        neg = [p for p in positions if self.labels[chosen[p]] != self.positive_label]
        feasible = [c for c in range(n + 1) if c <= len(pos) and n - c <= len(neg)]
        if not feasible:
            return []
        c = feasible[int(rng.integers(len(feasible)))]
        picked = list(rng.choice(pos, c, replace=False)) if c else []
        picked += list(rng.choice(neg, n - c, replace=False)) if n - c else []
        return [int(p) for p in rng.permutation(picked)]

    def row(self, rng: np.random.Generator, target: int) -> dict[str, Any]:
        """One row of about ``target`` tokens."""
        reserve = self.count(_question(self.kind, [99999] * 3, ["x " * 12] * 3, ""))
        reserve += self.count(self.positive)
        for _attempt in range(20):
            chosen = self._fill(rng, target - reserve)
            if not chosen:
                break
            targets = self._targets(rng, chosen)
            if self.kind != "global" and not targets:
                continue
            texts = [self.texts[i] for i in chosen]
            phrases = []
            if self.kind.startswith("semantic"):
                phrases = [_unique_phrase(rng, p, texts) for p in targets]
                if any(p is None for p in phrases):
                    continue
            context = "\n".join(
                _passage_line(n, t) for n, t in enumerate(texts, start=1)
            )
            question = _question(
                self.kind, [p + 1 for p in targets], phrases, self.positive
            )
            total = self.count(context + "\n" + question)
            if not (1 - self.tolerance) * target <= total <= target:
                continue
            return {
                "context": context,
                "question": question,
                "label": self._label(chosen, targets),
            }
        raise UserError(
            "longcontext.cannot_build",
            f"cannot build a {self.kind} row of {target} tokens "
            f"(within {self.tolerance:.0%}) from {len(self.texts)} base rows; "
            "the base split is too small or its rows too long",
        )

    def _label(self, chosen: list[int], targets: list[int]) -> int:
        if self.kind.endswith("single"):
            return self.labels[chosen[targets[0]]]
        if self.kind.endswith("multiple"):
            return sum(self.labels[chosen[p]] == self.positive_label for p in targets)
        positives = sum(self.labels[i] == self.positive_label for i in chosen)
        return int(2 * positives > len(chosen))


def _target_task(
    base_task: TaskSpec, kind: str, task: TaskSpec | None, spans: int
) -> TaskSpec:
    """The spec a build belongs to, checked against the base task and the kind."""
    if kind not in LONG_CONTEXT_KINDS:
        from tasks.names import did_you_mean

        raise UserError(
            "longcontext.unknown_kind",
            f"Unknown long-context kind {kind!r}."
            f"{did_you_mean(kind, list(LONG_CONTEXT_KINDS))}",
        )
    if base_task.labels is None:
        raise UserError(
            "longcontext.not_classification", f"{base_task.name} is not a classifier"
        )
    if task is None:
        from tasks.registry import get_task

        task = get_task(f"longcontext/{base_task.key}-{kind}")
    expected = (
        len(base_task.labels)
        if kind.endswith("single")
        else spans + 1
        if kind.endswith("multiple")
        else 2
    )
    if task.num_labels != expected:
        raise UserError(
            "longcontext.label_mismatch",
            f"{task.name} has {task.num_labels} labels; a {kind} build of "
            f"{base_task.name} needs {expected}",
        )
    return task


def build_long_context(
    base: Dataset,
    *,
    kind: str,
    target_tokens: Mapping[str, int],
    n_instances: int | Mapping[str, int],
    seed: int,
    count_tokens: Callable[[str], int] = whitespace_token_count,
    task: TaskSpec | None = None,
    source_splits: Mapping[str, str] | None = None,
    spans: int = 3,
    positive_label: int = 1,
    tolerance: float = TOLERANCE,
) -> Dataset:
    """Build long-context rows from ``base``; one output split per ``target_tokens``.

    ``target_tokens`` maps output split -> token count; ``n_instances`` is the
    number of rows per output split (or a map split -> rows). ``source_splits``
    maps output split -> base split (default: ``train`` from the base's train
    split, every other split from its first eval split). ``task`` is the spec the
    result belongs to (default: the catalogue's ``longcontext/<base
    key>-<kind>``). Raises ``UserError`` when a row cannot be built.
    """
    task = _target_task(base.task, kind, task, spans)
    base_task = base.task
    if source_splits is None:
        source_splits = {
            split: (
                base_task.train_split
                if split == task.train_split
                else base_task.eval_splits[0]
            )
            for split in target_tokens
        }
    splits = {}
    for split, target in target_tokens.items():
        source = source_splits[split]
        rows = base.splits.get(source)
        if not rows or not base_task.is_labelled(source):
            raise UserError(
                "longcontext.missing_base_split",
                f"{base_task.name} has no labelled rows in split {source!r}",
            )
        builder = _Builder(
            texts=[passage_text(r, base_task.text_fields) for r in rows],
            labels=[r["label"] for r in rows],
            label_names=base_task.labels,
            kind=kind,
            spans=spans,
            positive_label=positive_label,
            count_tokens=count_tokens,
            tolerance=tolerance,
        )
        rng = np.random.default_rng([seed, zlib.crc32(split.encode("utf-8"))])
        count = n_instances if isinstance(n_instances, int) else n_instances[split]
        splits[split] = [{"idx": i, **builder.row(rng, target)} for i in range(count)]
    return Dataset(task, splits)


def build_task(
    task: TaskSpec,
    *,
    base: Dataset,
    seed: int,
    n_train: int = 2000,
    n_eval: int = 200,
    count_tokens: Callable[[str], int] = whitespace_token_count,
) -> Dataset:
    """Build a catalogue long-context task from its imported base dataset."""
    options = task.long_context
    if base.task.name != options["base"]:
        raise UserError(
            "longcontext.wrong_base",
            f"{task.name} is built from {options['base']}, not {base.task.name}",
        )
    targets = dict(options["lengths"])
    sources = {split: options["base_eval_split"] for split in targets}
    counts = {split: n_eval for split in targets}
    if task.train_split:
        targets[task.train_split] = options["train_tokens"]
        sources[task.train_split] = options["base_train_split"]
        counts[task.train_split] = n_train
    return build_long_context(
        base,
        kind=options["kind"],
        target_tokens=targets,
        n_instances=counts,
        seed=seed,
        count_tokens=count_tokens,
        task=task,
        source_splits=sources,
        spans=options.get("spans", 3),
        positive_label=options.get("positive_label", 1),
    )
