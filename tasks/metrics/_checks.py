"""Input checks shared by the metric families."""

from __future__ import annotations

from collections.abc import Sequence

from tasks.errors import UserError


def check_lengths(predictions: Sequence, references: Sequence) -> None:
    """Refuse empty or mismatched inputs: a score over nothing is meaningless."""
    if len(predictions) != len(references):
        raise UserError(
            "metrics.length_mismatch",
            f"{len(predictions)} predictions for {len(references)} references",
        )
    if len(references) == 0:
        raise UserError("metrics.empty", "no predictions to score")
