"""Token-level tasks: what a tagged sentence is, and the tag schemes it may use.

A ``token_classification`` task's row is ``{"idx": int, "tokens": [word, ...],
"label": [tag index, ...]}``, one tag per word, indices into the task's ``labels``
(its tag set, e.g. ``["O", "B", "I"]`` for NCBI-disease or ``["O", "I-INT",
"I-OUT", "I-PAR"]`` for EBM PICO). Predictions are the same: one tag index per
word of the row, so a model's sub-word tokens never show outside the runner.

Schemes (the importer's ``scheme`` option):

- ``BIO``: a mention starts with ``B`` (``B-<type>``) and goes on with ``I`` of
  the same type. An ``I`` tag at the start of a sentence, after ``O``, or after a
  tag of another type breaks the scheme; conlleval (and seqeval's default mode,
  which BLURB's NER scoring uses) reads it as the start of a new mention, so the
  repair rule ``begin`` rewrites it to ``B`` of its type, which changes no score.
- ``IO``: no ``B`` tags at all (EBM PICO's ``I-PAR``, ``I-INT``, ``I-OUT``).
- ``UNIT``: every tag but ``O`` labels one word on its own, whatever its name
  (NKJP POS's ``subst``, AspectEmo's ``a_plus_m``, punctuation restoration's
  ``B-,``); ``O`` may be absent. LEPISZCZE's "unit" evaluation mode reads tags so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TOKEN_CLASSIFICATION = "token_classification"
"""The task type (``tasks.specs.TASK_TYPES``)."""
SCHEMES = ("BIO", "IO", "UNIT")
OUTSIDE = "O"


def tag_parts(tag: str) -> tuple[str, str]:
    """``("B", "Disease")`` for ``B-Disease``; ``("I", "")`` for a bare ``I``.

    >>> tag_parts("I-INT"), tag_parts("B"), tag_parts("O")
    (('I', 'INT'), ('B', ''), ('O', ''))
    """
    prefix, _, kind = tag.partition("-")
    return prefix, kind


def check_tag_set(tags: Sequence[str], scheme: str) -> None:
    """Raise ValueError unless every tag is ``O`` or a prefix the scheme has."""
    if scheme == "UNIT":
        return  # any names: each tag stands for itself
    allowed = {"BIO": ("B", "I"), "IO": ("I",)}[scheme]
    if OUTSIDE not in tags:
        raise ValueError(f"a {scheme} tag set needs the {OUTSIDE!r} tag")
    for tag in tags:
        if tag != OUTSIDE and tag_parts(tag)[0] not in allowed:
            raise ValueError(
                f"tag {tag!r} is not O or {' / '.join(p + '-<type>' for p in allowed)}"
                f" as the {scheme} scheme has"
            )


def stray_inside(tags: Sequence[str]) -> list[int]:
    """Positions of ``I`` tags that start no mention in BIO (see the module).

    >>> stray_inside(["I", "O", "B", "I", "O", "I-X", "B-Y", "I-X"])
    [0, 5, 7]
    """
    found = []
    previous = OUTSIDE
    for i, tag in enumerate(tags):
        prefix, kind = tag_parts(tag)
        if prefix == "I":
            before, before_kind = tag_parts(previous)
            if before not in ("B", "I") or before_kind != kind:
                found.append(i)
        previous = tag
    return found


def as_begin(tag: str) -> str:
    """The repair rule ``begin``: ``I-X`` -> ``B-X`` (``I`` -> ``B``)."""
    return "B" + tag[1:]


def tag_names(task: Any, rows: Sequence[Sequence[int]]) -> list[list[str]]:
    """Each row's tag indices as the task's tag names."""
    names = task.labels
    return [[names[i] for i in row] for row in rows]


def mentions(tags: Sequence[Sequence[str]], scheme: str = "BIO") -> int:
    """Mentions (entities) in tagged sentences, as seqeval's default mode finds
    them: the number an entity-level F1 counts as references. Under ``UNIT``
    every word not tagged ``O`` is one mention.

    >>> mentions([["B", "I", "O", "B"], ["O", "I-INT", "I-INT"]])
    3
    >>> mentions([["subst", "O", "B-,"]], scheme="UNIT")
    2
    """
    if scheme == "UNIT":
        return sum(tag != OUTSIDE for sentence in tags for tag in sentence)
    from seqeval.metrics.sequence_labeling import get_entities

    return sum(len(get_entities(list(sentence))) for sentence in tags)


def mention_counts(task: Any, splits: dict[str, list[dict[str, Any]]]) -> dict:
    """Per labelled split, its mentions (what BLURB's tables count)."""
    scheme = getattr(task, "importer_options", {}).get("scheme", "BIO")
    return {
        split: mentions(tag_names(task, [row["label"] for row in rows]), scheme)
        for split, rows in splits.items()
        if rows and "label" in rows[0]
    }


def download_row(task: Any, row: dict[str, Any]) -> dict[str, Any]:
    """A token row as downloads give it (Hugging Face's layout): ``tokens`` and
    ``tags``, the tags as names; an unlabelled row has no ``tags``.

    >>> from types import SimpleNamespace
    >>> task = SimpleNamespace(labels=("O", "B", "I"), text_fields=("tokens",))
    >>> download_row(task, {"idx": 3, "tokens": ["a", "b"], "label": [1, 0]})
    {'idx': 3, 'tokens': ['a', 'b'], 'tags': ['B', 'O']}
    """
    out = {"idx": row["idx"], "tokens": row[task.text_fields[0]]}
    if "label" in row:
        out["tags"] = [task.labels[i] for i in row["label"]]
    return out
