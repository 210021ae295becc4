"""What a valid prediction is, for each task type: checked once, in one place.

Predictions come from a sandbox that ran untrusted code, so the worker reads them
like an upload (:func:`read_predictions`), and scoring refuses anything that is not
a valid output of the task before computing a metric (``tasks.scoring``). Both use
:func:`check_prediction`, so a value is judged the same way, with the same error
code (``scoring.bad_predictions``), wherever it is looked at.

A prediction is: a class index below ``num_labels`` (classification; a bool is not
an index), a finite number (regression), or a list of distinct class indices, maybe
empty (multi-label; stored sorted), or one tag index per word of the row (token
classification; the count is checked against the row where the row is known).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tasks.errors import UserError

__all__ = ["check_prediction", "read_predictions"]

Prediction = int | float | list[int]


def _is_index(value: object, num_labels: int) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 0 <= value < num_labels
    )


def check_prediction(task: Any, value: object, *, where: str) -> Prediction:
    """Return ``value`` in canonical form, or raise naming ``where`` it was found.

    ``task`` needs ``type`` and ``num_labels`` (a TaskSpec). Regression values come
    back as floats and label sets sorted, so stored predictions have one form.
    """
    if task.type == "token_classification":
        if isinstance(value, list | tuple) and all(
            _is_index(i, task.num_labels) for i in value
        ):
            return list(value)
        kind = f"a list of tag indices below {task.num_labels}, one per word"
    elif task.type == "multilabel_classification":
        if (
            isinstance(value, list | tuple)
            and all(_is_index(i, task.num_labels) for i in value)
            and len(set(value)) == len(value)
        ):
            return sorted(value)
        kind = f"a list of distinct label indices below {task.num_labels}"
    elif task.type == "regression":
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        ):
            return float(value)
        kind = "a finite number"
    else:
        if _is_index(value, task.num_labels):
            return value
        kind = f"a label index below {task.num_labels}"
    raise UserError(
        "scoring.bad_predictions",
        f"The prediction at {where} is {_shown(value)}, not {kind}.",
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_predictions(path: Path, *, rows: list[dict], task: Any) -> list[Prediction]:
    """Read one split's predictions file: one valid prediction per row, in order.

    Each line is ``{"idx": ..., "prediction": ...}`` for the row in that position
    of ``rows`` (the split as the job was given it); anything else is refused with
    the line number.
    """
    name = Path(path).stem
    if not Path(path).exists():
        raise UserError(
            "scoring.missing_predictions",
            f"The run wrote no predictions for the {name} split.",
        )
    out: list[Prediction] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                idx, value = item["idx"], item["prediction"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise UserError(
                    "scoring.bad_predictions",
                    f"Line {number} of the {name} predictions is not "
                    '{"idx": ..., "prediction": ...}.',
                ) from None
            if number > len(rows) or rows[number - 1]["idx"] != idx:
                raise UserError(
                    "scoring.bad_predictions",
                    f"Line {number} of the {name} predictions is for idx {idx}, "
                    "not the row in that position.",
                )
            where = f"{name} line {number}"
            value = check_prediction(task, value, where=where)
            if task.type == "token_classification":
                words = len(rows[number - 1][task.text_fields[0]])
                if len(value) != words:
                    raise UserError(
                        "scoring.bad_predictions",
                        f"The prediction at {where} has {len(value)} tags for "
                        f"{words} words.",
                    )
            out.append(value)
    if len(out) != len(rows):
        raise UserError(
            "scoring.bad_predictions",
            f"The {name} predictions have {len(out)} rows; the split has {len(rows)}.",
        )
    return out
