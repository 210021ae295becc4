"""A batch through the model: pad it (or pack it) and get its logits.

Training and prediction share :func:`forward`, so both take the same path
(packed, padding-free attention where the model's layout allows it, else padded
to the batch's longest row) and the tracker records which one ran.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedModel

from kernels import batching, packed
from runners import distributed
from runners.training.encoding import PAIR_PREFIX, Encoding, row_length
from runners.training.models import is_multi_label
from runners.training.tracking import Tracker, autocast


def collate(
    encodings: Sequence[Encoding], pad_id: int, padding_side: str
) -> dict[str, torch.Tensor]:
    """Pad a batch to its own longest row (dynamic padding); each tower of a
    two-tower batch is padded to its own longest text."""
    pads = {"input_ids": pad_id, "token_type_ids": 0, "attention_mask": 0}
    widths: dict[str, int] = {}
    out = {}
    for key in encodings[0]:
        tower = PAIR_PREFIX if key.startswith(PAIR_PREFIX) else ""
        if tower not in widths:
            widths[tower] = max(len(e[tower + "input_ids"]) for e in encodings)
        width = widths[tower]
        fill = pads[key.removeprefix(tower)]
        tensor = torch.full((len(encodings), width), fill, dtype=torch.long)
        for row, enc in enumerate(encodings):
            values = torch.tensor(enc[key], dtype=torch.long)
            if padding_side == "left":
                tensor[row, width - len(values) :] = values
            else:
                tensor[row, : len(values)] = values
        out[key] = tensor
    return out


def forward(
    model: PreTrainedModel,
    encodings: Sequence[Encoding],
    *,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
) -> torch.Tensor:
    """Logits for a batch, in its order: packed (no pad computed) when the model's
    layout allows it (kernels.packed), else padded to the batch's longest row.

    Both paths give the same logits within float tolerance; the tracker records
    which one ran and how many tokens it computed.
    """
    # A sharded model gathers its layers' weights in their own forward.
    use_packed = packed.supports_packed(model) and not distributed.is_sharded(model)
    tracker.execution_path = packed.PACKED_PATH if use_packed else packed.PADDED_PATH
    for tower in ("", PAIR_PREFIX):
        if tower + "input_ids" in encodings[0]:
            lengths = [len(e[tower + "input_ids"]) for e in encodings]
            tracker.padding.add(lengths, packed=use_packed)
    with autocast(tracker):
        if use_packed:
            logits, _ = packed.forward_logits(
                model, encodings, pad_id=pad_id, device=tracker.device, packed=True
            )
            return logits
        batch = collate(encodings, pad_id, padding_side)
        batch = {k: v.to(tracker.device) for k, v in batch.items()}
        return model(**batch).logits


@torch.inference_mode()
def predict_logits(
    model: PreTrainedModel,
    encodings: list[Encoding],
    *,
    batch_size: int,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
) -> tuple[torch.Tensor, int]:
    """Run the model on every row; returns fp32 CPU logits ``[rows, num_labels]``
    in input order and the real (non-pad) tokens seen.

    Rows are sorted longest first (so an out-of-memory failure shows on the first
    batch) and cut into token-budget batches of ``batch_size`` rows on average
    (kernels.batching.inference_plan); the logits go back to input order.
    The logits (not just the labels) let the measurements check that a row's
    output does not depend on the rows batched with it.
    """
    model.eval()
    tracker.batch_size = batch_size
    logits = torch.zeros(len(encodings), model.config.num_labels)
    tokens = tracker.batch = 0
    lengths = [row_length(e) for e in encodings]
    plan, _ = batching.inference_plan(lengths, batch_size=batch_size)
    for number, ids in enumerate(plan, start=1):
        tracker.batch = number
        tracker.batch_size = len(ids)
        tokens += sum(lengths[i] for i in ids)
        out = forward(
            model,
            [encodings[i] for i in ids],
            pad_id=pad_id,
            padding_side=padding_side,
            tracker=tracker,
        )
        logits[ids] = out.float().cpu()
    return logits, tokens


def to_predictions(
    logits: torch.Tensor, *, multi_label: bool = False
) -> list[int] | list[float] | list[list[int]]:
    """One prediction per row: the score for regression, the sorted classes whose
    sigmoid is above 0.5 (logit above 0) for multi-label, else the argmax label."""
    if multi_label:
        return [torch.nonzero(row > 0).flatten().tolist() for row in logits]
    if logits.shape[1] == 1:
        return logits[:, 0].tolist()
    return logits.argmax(-1).tolist()


def predict(
    model: PreTrainedModel,
    encodings: list[Encoding],
    *,
    batch_size: int,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
) -> tuple[list[int] | list[float], int]:
    """Predict every row; returns predictions in input order and real tokens seen."""
    logits, tokens = predict_logits(
        model,
        encodings,
        batch_size=batch_size,
        pad_id=pad_id,
        padding_side=padding_side,
        tracker=tracker,
    )
    return to_predictions(logits, multi_label=is_multi_label(model)), tokens
