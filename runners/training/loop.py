"""The training loop: the recipe's optimizer and schedule, gradient accumulation.

Deliberately plain torch rather than the Hugging Face Trainer: it is a few dozen
lines, has no hidden defaults that could change scores between library versions,
and takes its steps from length-bucketed batches (kernels.batching), which is most
of the speed on short GLUE sentences.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from transformers import PreTrainedModel

from kernels import batching, packed
from runners import distributed
from runners.training.batches import forward
from runners.training.encoding import Encoding, row_length
from runners.training.models import is_multi_label
from runners.training.stability import apply_stability, layer_depths
from runners.training.tracking import Tracker, emit_progress

PROGRESS_EVERY = 10
GRAD_CLIP_NORM = 1.0
"""Global gradient norm clip of the ``adamw`` optimizer (``lra_adam`` does not clip)."""

# Adam's (beta1, beta2, eps) per optimizer name (runners.contract.OPTIMIZERS).
# lra_adam: LRA's create_optimizer (lra_benchmarks/*/train.py), flax's
# optim.Adam(beta1=0.9, beta2=0.98, eps=1e-9, weight_decay=...), whose decay is
# decoupled and scaled by the learning rate as torch's AdamW's is.
ADAM_SETTINGS: dict[str, tuple[float, float, float]] = {
    "adamw": (0.9, 0.999, 1e-8),
    "lra_adam": (0.9, 0.98, 1e-9),
}


def make_optimizer(
    model: torch.nn.Module,
    learning_rate: float,
    weight_decay: float,
    layerwise_lr_decay: float = 1.0,
    optimizer: str = "adamw",
) -> torch.optim.AdamW:
    """The recipe's optimizer over the parameters that train.

    ``adamw``: AdamW with no decay on biases and normalisation weights (BERT's
    recipe). ``lra_adam``: LRA's Adam(0.9, 0.98, 1e-9) with weight decay on every
    parameter, as flax applies it. With ``layerwise_lr_decay`` < 1 each encoder
    layer learns at ``learning_rate * decay**depth`` (runners.training.stability).
    """
    beta1, beta2, eps = ADAM_SETTINGS[optimizer]
    no_decay: set[str] = set()
    for module_name, module in model.named_modules():
        is_norm = "norm" in type(module).__name__.lower()
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if optimizer == "adamw" and (is_norm or param_name == "bias"):
                no_decay.add(full)
    depths = layer_depths(model) if layerwise_lr_decay != 1.0 else {}
    groups: dict[tuple[bool, int], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            key = (name not in no_decay, depths.get(name, 0))
            groups.setdefault(key, []).append(param)
    param_groups = [
        {
            "params": params,
            "weight_decay": weight_decay if decays else 0.0,
            "lr": learning_rate * layerwise_lr_decay**depth,
        }
        for (decays, depth), params in sorted(
            groups.items(), key=lambda item: (not item[0][0], item[0][1])
        )
    ]
    # The fused kernel is several times faster than the default per-step on
    # CPU and CUDA (it matters on CPU, where a 22M-parameter step is ~0.1 s).
    return torch.optim.AdamW(
        param_groups, lr=learning_rate, betas=(beta1, beta2), eps=eps, fused=True
    )


def clip_gradients(model: torch.nn.Module, recipe: dict[str, Any]) -> None:
    """Clip the global gradient norm at :data:`GRAD_CLIP_NORM` under ``adamw``;
    LRA's configs set ``grad_clip_norm = None``, so ``lra_adam`` does not clip."""
    if recipe.get("optimizer", "adamw") == "adamw":
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP_NORM)


def linear_schedule(
    total_steps: int, warmup_ratio: float, warmup_steps: int | None = None
) -> Callable[[int], float]:
    """Learning-rate factor: linear warmup to 1, then linear decay to 0.

    ``warmup_steps`` (when given) replaces ``warmup_ratio * total_steps``.
    """
    if warmup_steps is None:
        warmup = math.ceil(total_steps * warmup_ratio)
    else:
        warmup = min(int(warmup_steps), total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def rsqrt_schedule(warmup_steps: int) -> Callable[[int], float]:
    """LRA's "constant * linear_warmup * rsqrt_decay" factor (the recipe's
    learning rate is the constant): ``min(1, s / warmup) / sqrt(max(s, warmup))``
    at step ``s`` counted from 1, so the first step already moves the weights."""
    warmup = max(1, int(warmup_steps))

    def factor(step: int) -> float:
        counted = step + 1
        return min(1.0, counted / warmup) / math.sqrt(max(counted, warmup))

    return factor


def cosine_schedule(warmup_steps: int, cycle_steps: int) -> Callable[[int], float]:
    """LRA's "constant * linear_warmup * cosine_decay" factor (the recipe's
    learning rate is the constant), from ``create_learning_rate_scheduler`` in
    lra_benchmarks/utils/train_utils.py: ``min(1, s / warmup) * max(0, 0.5 * (1 +
    cos(pi * (progress % 1))))`` with ``progress = max(0, (s - warmup) / cycle)``.
    LRA's image configs set the cycle to the whole run, so the rate rises to its
    peak in ``warmup`` steps and falls along one half cosine towards 0 at the last
    step. ``s`` counts from 1, as in :func:`rsqrt_schedule`: LRA's first step,
    at ``s = 0``, has rate 0.
    """
    warmup = max(1, int(warmup_steps))
    cycle = max(1, int(cycle_steps))

    def factor(step: int) -> float:
        counted = step + 1
        progress = max(0.0, (counted - warmup) / cycle)
        cosine = max(0.0, 0.5 * (1.0 + math.cos(math.pi * (progress % 1.0))))
        return min(1.0, counted / warmup) * cosine

    return factor


def schedule(recipe: dict[str, Any], total_steps: int) -> Callable[[int], float]:
    """The learning-rate factor the recipe's ``scheduler`` names (a cosine cycle
    spans the run's ``total_steps``)."""
    if recipe.get("scheduler") == "rsqrt_decay":
        return rsqrt_schedule(recipe.get("warmup_steps") or 0)
    if recipe.get("scheduler") == "cosine_decay":
        return cosine_schedule(recipe.get("warmup_steps") or 0, total_steps)
    return linear_schedule(
        total_steps, recipe["warmup_ratio"], recipe.get("warmup_steps")
    )


def total_steps(recipe: dict[str, Any], lengths: list[int], step_rows: int) -> int:
    """Optimizer steps of a run: ``max_steps`` when the recipe sets it, else
    ``epochs`` passes over the rows, cut to ``max_train_tokens`` when set.

    The token budget is what makes one recipe fit tasks of every size in the same
    minutes: a step's cost is its tokens, so a task of short sentences (CoLA) gets
    its epochs where one of long pairs (RTE) gets fewer passes. The cut counts the
    rows' mean length (after truncation), so it is known before the first step
    and the schedule can decay to zero at the last: ``ceil(budget / (mean length
    * rows per step))`` steps, at least one.

    >>> total_steps({"max_steps": None, "epochs": 2, "max_train_tokens": 640},
    ...             [10] * 64, step_rows=32)
    2
    >>> total_steps({"max_steps": None, "epochs": 2, "max_train_tokens": None},
    ...             [10] * 64, step_rows=32)
    4
    """
    if recipe["max_steps"]:
        return int(recipe["max_steps"])
    total = recipe["epochs"] * math.ceil(len(lengths) / step_rows)
    budget = recipe.get("max_train_tokens")
    if budget and lengths:
        # Integer arithmetic: the same step count on every machine.
        cut = -(-int(budget) * len(lengths) // (sum(lengths) * step_rows))
        total = min(total, max(1, cut))
    return total


MicroLoss = Callable[..., torch.Tensor]
"""``loss_of(model, encodings, labels, *, pad_id, padding_side, tracker)``: the mean
loss of one micro-batch, before it is weighted and back-propagated."""


def sequence_loss_of(
    model: PreTrainedModel,
    encodings: list[Encoding],
    labels: list,
    *,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
) -> torch.Tensor:
    """A micro-batch of sequence rows: the loss ``*ForSequenceClassification``
    computes (cross-entropy, MSE for regression, BCE for multi-label)."""
    logits = forward(
        model, encodings, pad_id=pad_id, padding_side=padding_side, tracker=tracker
    )
    float_labels = model.config.num_labels == 1 or is_multi_label(model)
    target = torch.tensor(labels, dtype=torch.float32 if float_labels else torch.long)
    return packed.sequence_loss(model, logits.float(), target.to(tracker.device))


def train(
    model: PreTrainedModel,
    encodings: list[Encoding],
    labels: list,
    recipe: dict[str, Any],
    *,
    seed: int,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
    loss_of: MicroLoss = sequence_loss_of,
    token_budget: bool = True,
) -> dict[str, float]:
    """Fine-tune in place; returns train_seconds, train_examples, train_steps.

    One optimizer step takes ``batch_size * gradient_accumulation_steps`` rows,
    run as micro-batches of ``batch_size``; each micro-batch's mean loss
    (``loss_of``: a sequence task's by default, runners.training.tokens passes a
    tagger's) is weighted by its share of the step's rows (``1 / accumulation``
    when the micro-batches are full), so the gradient is that of the whole step's
    mean loss. Steps, the schedule and progress lines count optimizer steps, so
    batch 8 x 1 and batch 4 x 2 see the same rows in the same steps.
    ``token_budget=False`` ignores the recipe's ``max_train_tokens``.
    """
    batch_size = recipe["batch_size"]
    accumulation = int(recipe.get("gradient_accumulation_steps") or 1)
    step_rows = batch_size * accumulation
    lengths = [row_length(e) for e in encodings]
    budgeted = recipe if token_budget else recipe | {"max_train_tokens": None}
    total = total_steps(budgeted, lengths, step_rows)
    if not encodings or total <= 0:
        return {"train_seconds": 0.0, "train_examples": 0, "train_steps": 0}
    optimizer, scheduler = _prepare(model, recipe, total, tracker.parallel)
    epoch = 0
    tracker.stage = "train"
    tracker.batch_size = batch_size
    model.train()
    step, progress = 0, _Progress(total)
    while step < total:
        # Steps of step_rows rows drawn from length-sorted buckets
        # (kernels.batching): the recipe's batch size and step count are kept,
        # only which rows share a step changes, so little is padded.
        plan = batching.train_batches(
            lengths, batch_size=step_rows, seed=seed, epoch=epoch
        )
        epoch += 1
        for step_ids in plan:
            if step >= total:
                break
            tracker.batch = step + 1
            step_loss = _gradients(
                model,
                [encodings[i] for i in step_ids],
                [labels[i] for i in step_ids],
                batch_size=batch_size,
                loss_of=loss_of,
                pad_id=pad_id,
                padding_side=padding_side,
                tracker=tracker,
            )
            clip_gradients(model, recipe)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            progress.stepped(step, rows=len(step_ids), loss=step_loss, tracker=tracker)
    if tracker.device.type == "cuda":
        torch.cuda.synchronize(tracker.device)
    seconds = time.perf_counter() - progress.start
    return {
        "train_seconds": seconds,
        "train_examples": progress.seen,
        "train_steps": step,
    }


def _prepare(
    model: torch.nn.Module,
    recipe: dict[str, Any],
    total: int,
    parallel: distributed.Parallel,
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """Apply the recipe's stability knobs, shard the model if the run's layout says
    so (after re-initialising, before the optimizer sees the parameters), then the
    recipe's optimizer and schedule."""
    apply_stability(model, recipe)
    distributed.shard(model, parallel)
    optimizer = make_optimizer(
        model,
        recipe["learning_rate"],
        recipe["weight_decay"],
        float(recipe.get("layerwise_lr_decay") or 1.0),
        recipe.get("optimizer", "adamw"),
    )
    return optimizer, torch.optim.lr_scheduler.LambdaLR(
        optimizer, schedule(recipe, total)
    )


def _gradients(
    model: PreTrainedModel,
    encodings: list[Encoding],
    labels: list,
    *,
    batch_size: int,
    loss_of: MicroLoss,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
) -> float:
    """One optimizer step's gradients from its rows, in micro-batches of
    ``batch_size``; returns the step's loss. Under torchrun each process takes
    its share of every micro-batch and the gradients and loss are summed over
    the processes (runners.distributed); alone, it takes all of them."""
    step_loss = 0.0
    for micro in range(0, len(encodings), batch_size):
        ids, counts = distributed.rows_of_rank(
            range(micro, min(micro + batch_size, len(encodings))), tracker.parallel
        )
        step_loss += _backward(
            model,
            [encodings[i] for i in ids],
            [labels[i] for i in ids],
            loss_of=loss_of,
            share=len(ids) / len(encodings) if counts else 0.0,
            pad_id=pad_id,
            padding_side=padding_side,
            tracker=tracker,
        )
    distributed.sum_gradients(model, tracker.parallel)
    return distributed.sum_loss(step_loss, tracker.parallel, tracker.device)


def _backward(
    model: PreTrainedModel,
    encodings: list[Encoding],
    labels: list,
    *,
    loss_of: MicroLoss,
    share: float,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
) -> float:
    """One micro-batch's loss, weighted by its ``share`` of the step's rows,
    back-propagated into the accumulated gradients; returns the weighted loss."""
    loss = loss_of(
        model,
        encodings,
        labels,
        pad_id=pad_id,
        padding_side=padding_side,
        tracker=tracker,
    )
    loss = loss * share
    (loss * distributed.loss_scale(tracker.parallel)).backward()
    return loss.item()


class _Progress:
    """Counts the rows trained on and prints a progress line every
    ``PROGRESS_EVERY`` optimizer steps (and at the last) with the mean loss of the
    steps since the previous line; that mean is also the run's final train loss."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.seen = 0
        self.start = time.perf_counter()
        self._window_loss = 0.0
        self._window_steps = 0

    def stepped(self, step: int, *, rows: int, loss: float, tracker: Tracker) -> None:
        """Count optimizer step ``step`` (of ``rows`` rows, summed ``loss``)."""
        self.seen += rows
        self._window_loss += loss
        self._window_steps += 1
        if step % PROGRESS_EVERY == 0 or step == self.total:
            tracker.final_train_loss = self._window_loss / self._window_steps
            elapsed = time.perf_counter() - self.start
            emit_progress(
                stage="train",
                step=step,
                total_steps=self.total,
                loss=round(tracker.final_train_loss, 6),
                examples_per_s=round(self.seen / max(elapsed, 1e-9), 2),
            )
            self._window_loss, self._window_steps = 0.0, 0
