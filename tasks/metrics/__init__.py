"""The metric registry: every metric a task spec may name, with its direction.

Metric functions are pure ``(predictions, references) -> float`` over lists, one
module per family (:mod:`.classification`, :mod:`.regression`); this module only
names them, so a catalogue spec and a stored result refer to metrics by a stable
string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tasks.metrics import classification, regression, tokens
from tasks.names import Registry


@dataclass(frozen=True)
class Metric:
    """A named metric function and which direction is better."""

    name: str
    fn: Callable[[Sequence, Sequence], float]
    higher_is_better: bool
    description: str


METRICS: Registry[Metric] = Registry("metric", error_code="metrics.unknown_metric")

for _name, _fn, _higher, _text in [
    ("accuracy", classification.accuracy, True, "Fraction of exact matches."),
    ("f1", classification.f1, True, "Binary F1 of the positive class 1."),
    ("micro_f1", classification.micro_f1, True, "F1 over pooled decisions."),
    ("macro_f1", classification.macro_f1, True, "Unweighted mean of per-class F1."),
    (
        "matthews_corrcoef",
        classification.matthews_corrcoef,
        True,
        "Matthews correlation coefficient.",
    ),
    ("r3", classification.r3, True, "Multiclass Matthews correlation (Gorodkin)."),
    ("pearson", regression.pearson, True, "Pearson correlation."),
    ("spearman", regression.spearman, True, "Spearman rank correlation."),
    ("wmae", regression.wmae, False, "Class-weighted mean absolute error."),
    (
        "one_minus_wmae",
        regression.one_minus_wmae,
        True,
        "KLEJ's AR score: 1 - wMAE / 4 on 1-5 star ratings.",
    ),
    (
        "micro_f1_excluding_negative",
        classification.micro_f1_excluding_negative,
        True,
        "Micro F1 over the positive classes; class 0 is the negative class.",
    ),
    (
        "entity_f1",
        tokens.entity_f1,
        True,
        "Entity-level micro F1 (seqeval, default mode): exact span and type.",
    ),
    (
        "entity_macro_f1",
        tokens.entity_macro_f1,
        True,
        "Entity F1 per mention type (seqeval, default mode), averaged without "
        "weights (LEPISZCZE's F1-macro for NER-style tasks).",
    ),
    (
        "unit_macro_f1",
        tokens.unit_macro_f1,
        True,
        "F1 per tag over single words, averaged without weights (LEPISZCZE's "
        "F1-macro in its unit mode: POS, aspects, punctuation).",
    ),
    ("entity_precision", tokens.entity_precision, True, "Entity-level precision."),
    ("entity_recall", tokens.entity_recall, True, "Entity-level recall."),
    (
        "token_macro_f1",
        tokens.token_macro_f1,
        True,
        "Per-word F1 of each tag but O, averaged (BLURB's PICO metric).",
    ),
]:
    METRICS.add(_name, Metric(_name, _fn, _higher, _text))


def compute(name: str, predictions: Sequence, references: Sequence) -> float:
    """Compute metric ``name``; unknown names raise ``UserError`` with a hint.

    >>> compute("accuracy", [1, 0], [1, 1])
    0.5
    """
    return float(METRICS[name].fn(predictions, references))


__all__ = ["METRICS", "Metric", "compute"]
