"""Token-level metrics: pure functions over tagged sentences (lists of tag names).

Entity-level precision, recall and F1 are seqeval's (micro over mentions, its
default mode: conlleval's reading, where an ``I`` tag that starts no mention starts
one), which is what BLURB's NER fine-tuning code (Hugging Face's ``run_ner``)
reports. ``token_macro_f1`` is BLURB's PICO metric: F1 per word for each PICO
class (every tag but ``O``), then their unweighted mean.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from tasks.metrics._checks import check_lengths

Tags = Sequence[Sequence[str]]


def _seqeval(name: str, predictions: Tags, references: Tags, **options) -> float:
    from seqeval import metrics as seqeval

    check_lengths(predictions, references)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no predicted samples" is a 0.0 here
        return float(
            getattr(seqeval, name)(
                [list(r) for r in references],
                [list(p) for p in predictions],
                zero_division=0,
                **options,
            )
        )


def entity_f1(predictions: Tags, references: Tags) -> float:
    """Micro F1 over mentions: a mention counts when its span and type match.

    >>> entity_f1([["B", "I", "O", "B"]], [["B", "I", "O", "O"]])
    0.6666666666666666
    """
    return _seqeval("f1_score", predictions, references)


def entity_precision(predictions: Tags, references: Tags) -> float:
    """Predicted mentions that are right, as a fraction of predicted mentions.

    >>> entity_precision([["B", "I", "O", "B"]], [["B", "I", "O", "O"]])
    0.5
    """
    return _seqeval("precision_score", predictions, references)


def entity_recall(predictions: Tags, references: Tags) -> float:
    """Reference mentions found, as a fraction of reference mentions.

    >>> entity_recall([["B", "I", "O", "B"]], [["B", "I", "O", "O"]])
    1.0
    """
    return _seqeval("recall_score", predictions, references)


def entity_macro_f1(predictions: Tags, references: Tags) -> float:
    """Entity F1 per mention type (seqeval's default mode), averaged without
    weights over the types seen in references or predictions.

    >>> entity_macro_f1([["B-X", "O", "B-Y"]], [["B-X", "O", "O"]])
    0.5
    """
    return _seqeval("f1_score", predictions, references, average="macro")


def _as_units(tags: Tags) -> list[list[str]]:
    """Each tag but ``O`` as a one-word BILOU mention (``U-<tag>``), unless every
    tag already is one: what LEPISZCZE's unit mode scores."""
    if all(tag[:2] == "U-" for row in tags for tag in row):
        return [list(row) for row in tags]
    return [[tag if tag == "O" else f"U-{tag}" for tag in row] for row in tags]


def unit_macro_f1(predictions: Tags, references: Tags) -> float:
    """LEPISZCZE's unit mode: F1 per tag over single words, macro-averaged over
    the tags (but ``O``) seen in references or predictions; the same number as
    :func:`token_macro_f1`, computed the way LEPISZCZE computes it.

    >>> unit_macro_f1([["subst", "adj", "B-,"]], [["subst", "subst", "B-,"]])
    0.5555555555555555
    """
    from seqeval.scheme import BILOU

    check_lengths(predictions, references)
    return _seqeval(
        "f1_score",
        _as_units(predictions),
        _as_units(references),
        average="macro",
        mode="strict",
        scheme=BILOU,
    )


def per_type_f1(predictions: Tags, references: Tags) -> dict[str, float]:
    """Entity F1 per mention type (``""`` for untyped ``B``/``I`` tags).

    >>> per_type_f1([["B-X", "O", "B-Y"]], [["B-X", "O", "O"]])
    {'X': 1.0, 'Y': 0.0}
    """
    from seqeval.metrics import classification_report

    check_lengths(predictions, references)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = classification_report(
            [list(r) for r in references],
            [list(p) for p in predictions],
            output_dict=True,
            zero_division=0,
        )
    return {
        kind: float(values["f1-score"])
        for kind, values in report.items()
        if not kind.endswith(" avg")
    }


def token_macro_f1(predictions: Tags, references: Tags) -> float:
    """BLURB's PICO score: per-word F1 of each class other than ``O`` (those seen
    in references or predictions), averaged without weights.

    >>> token_macro_f1([["I-INT", "O", "I-PAR"]], [["I-INT", "I-PAR", "I-PAR"]])
    0.8333333333333333
    """
    from sklearn.metrics import f1_score

    check_lengths(predictions, references)
    flat_pred = [tag for row in predictions for tag in row]
    flat_ref = [tag for row in references for tag in row]
    if len(flat_pred) != len(flat_ref):
        raise ValueError("predictions and references differ in words")
    classes = sorted({*flat_pred, *flat_ref} - {"O"})
    if not classes:
        return 0.0
    return float(
        f1_score(flat_ref, flat_pred, labels=classes, average="macro", zero_division=0)
    )
