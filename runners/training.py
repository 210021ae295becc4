"""Fine-tuning and prediction helpers for the in-sandbox program.

Kept apart from ``runners.execute`` so that module reads as the outline of a
job (check the spec, load, train, predict, measure, report errors) while the
loops and their details live here. The same import
rule applies: stdlib, numpy, torch, transformers, tokenizers, safetensors,
psutil and ``tasks.errors`` only; no Django, no network.

The loop is deliberately plain torch rather than the Hugging Face Trainer: it
is a few dozen lines, has no hidden defaults that could change scores between
library versions, and pads each batch only to its longest row, which is most
of the speed on short GLUE sentences.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
)

from kernels import batching, packed
from kernels.accounting import PaddingCounter
from tasks.errors import PlatformError, UserError

PROGRESS_EVERY = 10
GRAD_CLIP_NORM = 1.0
_WEIGHT_SUFFIXES = (".safetensors", ".safetensors.index.json")
_UNSAFE_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")
_CPU_OOM_MARKERS = ("can't allocate memory", "not enough memory")

Encoding = dict[str, list[int]]


@dataclass
class Tracker:
    """Where the job is (so an out-of-memory error can name the batch and its
    size), the precision the forward passes use, and the last training loss
    (reported in the measurements).

    ``precision`` is the precision actually used: ``"bf16"`` (bf16 autocast on
    CUDA) or ``"fp32"``; execute resolves the recipe's wish against the device.
    """

    device: torch.device
    stage: str = "load"
    batch: int = 0
    batch_size: int | None = None
    precision: str = "fp32"
    final_train_loss: float | None = None
    # Which forward ran (kernels.packed: "packed_sdpa" or "padded") and the
    # tokens it computed against the real ones, for the measurements.
    execution_path: str | None = None
    padding: PaddingCounter = field(default_factory=PaddingCounter)


def kernel_measurements(tracker: Tracker) -> dict[str, Any]:
    """``execution_path`` and ``padding_waste`` (computed / real tokens) of the run."""
    return {
        "execution_path": tracker.execution_path,
        "padding_waste": tracker.padding.waste,
    }


def autocast(tracker: Tracker) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA when the job runs in bf16, else nothing (fp32)."""
    if tracker.precision == "bf16" and tracker.device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA OOM, Python MemoryError and torch's CPU allocator failure.

    Under an address-space rlimit torch's CPU allocator raises a plain
    RuntimeError, so its message is the only way to tell it apart.
    """
    if isinstance(exc, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(m in text for m in _CPU_OOM_MARKERS)


def peak_memory_bytes(device: torch.device) -> int:
    """Peak memory of this job: CUDA allocations on a GPU, else the process's RSS."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    # Linux reports ru_maxrss in KiB.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def out_of_memory_error(tracker: Tracker) -> PlatformError:
    """The error reported when a batch does not fit in memory."""
    peak = peak_memory_bytes(tracker.device) / 2**30
    if tracker.stage == "load":
        where = "while loading the model"
    else:
        where = f"at batch {tracker.batch} of {tracker.stage}"
        if tracker.batch_size:
            where += f", batch size {tracker.batch_size}"
    return PlatformError(
        "execute.out_of_memory", f"out of memory {where} (peak {peak:.2f} GiB)"
    )


def emit_progress(**fields: Any) -> None:
    """Print one progress line the worker turns into live status."""
    print("GLEW_PROGRESS " + json.dumps(fields), flush=True)


def seed_everything(seed: int) -> None:
    """Seed every generator a run touches, so a (spec, seed) pair is repeatable."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read the worker's JSONL rows; a malformed line names the file and line."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(
                    "execute.bad_data", f"{path}, line {number}: not JSON ({exc})"
                ) from exc
            if not isinstance(row, dict) or "idx" not in row:
                raise UserError(
                    "execute.bad_data", f"{path}, line {number}: no 'idx' in the row"
                )
            rows.append(row)
    return rows


# Files from which transformers can build a real tokenizer.
TOKENIZER_FILES = frozenset(
    {
        "tokenizer.json",
        "vocab.txt",
        "vocab.json",
        "tokenizer.model",
        "spiece.model",
        "sentencepiece.bpe.model",
    }
)


def load_model(
    model_dir: Path, *, task_type: str, num_labels: int
) -> tuple[Any, PreTrainedModel, bool]:
    """Load the submission's tokenizer and a sequence-classification model.

    A folder with ``config.json`` but no weights is an architecture
    submission and is built with fresh weights (the caller seeds first, so
    the initialisation is repeatable). Returns (tokenizer, model, from_scratch).
    """
    if not (model_dir / "config.json").is_file():
        raise UserError("execute.bad_model", "the model folder has no config.json")
    names = [p.name for p in model_dir.iterdir() if p.is_file()]
    has_weights = any(n.endswith(_WEIGHT_SUFFIXES) for n in names)
    if not has_weights and any(n.endswith(_UNSAFE_WEIGHT_SUFFIXES) for n in names):
        raise UserError(
            "execute.bad_model", "weights must be in safetensors format (no pickle)"
        )
    if not any(n in TOKENIZER_FILES for n in names):
        # transformers would otherwise build an empty-vocabulary tokenizer that maps
        # every word to [UNK]: a run that "works" and scores like a coin flip.
        raise UserError(
            "execute.bad_model",
            "the model folder has no tokenizer files (one of "
            f"{', '.join(sorted(TOKENIZER_FILES))}); save the tokenizer with "
            "tokenizer.save_pretrained() next to the model",
        )
    problem_type = (
        "regression" if task_type == "regression" else "single_label_classification"
    )

    def build(attention: dict[str, str]) -> PreTrainedModel:
        if has_weights:
            return AutoModelForSequenceClassification.from_pretrained(
                model_dir,
                num_labels=num_labels,
                problem_type=problem_type,
                ignore_mismatched_sizes=True,
                use_safetensors=True,
                trust_remote_code=False,
                dtype=torch.float32,
                **attention,
            )
        config = AutoConfig.from_pretrained(
            model_dir,
            num_labels=num_labels,
            problem_type=problem_type,
            trust_remote_code=False,
        )
        return AutoModelForSequenceClassification.from_config(
            config, trust_remote_code=False, dtype=torch.float32, **attention
        )

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
        try:
            # SDPA is the fused attention kernel (flash / memory-efficient on GPU).
            model = build({"attn_implementation": "sdpa"})
        except (ValueError, ImportError):
            # Architectures without SDPA support keep their default attention.
            model = build({})
    except Exception as exc:
        if is_out_of_memory(exc):
            raise
        raise UserError(
            "execute.bad_model",
            f"the model folder could not be loaded: {type(exc).__name__}: {exc}",
        ) from exc
    if tokenizer.pad_token_id is None:
        # Decoder-only tokenizers often lack a pad token; the end token is the
        # usual stand-in, and the model needs it to find each row's last token.
        if tokenizer.eos_token is None:
            raise UserError(
                "execute.bad_model", "the tokenizer has neither a pad nor an end token"
            )
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return tokenizer, model, not has_weights


def encode(
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    text_fields: Sequence[str],
    max_length: int,
    source: str,
) -> list[Encoding]:
    """Tokenize rows (one text or a pair) without padding; batches pad later."""
    columns = []
    for name in text_fields:
        try:
            columns.append([str(row[name]) for row in rows])
        except KeyError as exc:
            raise UserError(
                "execute.bad_data", f"{source}: a row has no text field {name!r}"
            ) from exc
    if not rows:
        return []
    limit = tokenizer.model_max_length
    if isinstance(limit, int) and 0 < limit < max_length:
        max_length = limit
    batch = tokenizer(*columns, truncation=True, max_length=max_length)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in batch]
    return [{k: batch[k][i] for k in keys} for i in range(len(rows))]


def collate(
    encodings: Sequence[Encoding], pad_id: int, padding_side: str
) -> dict[str, torch.Tensor]:
    """Pad a batch to its own longest row (dynamic padding)."""
    width = max(len(e["input_ids"]) for e in encodings)
    pads = {"input_ids": pad_id, "token_type_ids": 0, "attention_mask": 0}
    out = {}
    for key in encodings[0]:
        tensor = torch.full((len(encodings), width), pads[key], dtype=torch.long)
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
    use_packed = packed.supports_packed(model)
    tracker.execution_path = packed.PACKED_PATH if use_packed else packed.PADDED_PATH
    tracker.padding.add([len(e["input_ids"]) for e in encodings], packed=use_packed)
    with autocast(tracker):
        if use_packed:
            logits, _ = packed.forward_logits(
                model, encodings, pad_id=pad_id, device=tracker.device, packed=True
            )
            return logits
        batch = collate(encodings, pad_id, padding_side)
        batch = {k: v.to(tracker.device) for k, v in batch.items()}
        return model(**batch).logits


def make_optimizer(
    model: torch.nn.Module, learning_rate: float, weight_decay: float
) -> torch.optim.AdamW:
    """AdamW with no decay on biases and normalisation weights (BERT's recipe)."""
    no_decay: set[str] = set()
    for module_name, module in model.named_modules():
        is_norm = "norm" in type(module).__name__.lower()
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if is_norm or param_name == "bias":
                no_decay.add(full)
    decay, plain = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (plain if name in no_decay else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": plain, "weight_decay": 0.0},
    ]
    # The fused kernel is several times faster than the default per-step on
    # CPU and CUDA (it matters on CPU, where a 22M-parameter step is ~0.1 s).
    return torch.optim.AdamW(groups, lr=learning_rate, fused=True)


def linear_schedule(total_steps: int, warmup_ratio: float) -> Callable[[int], float]:
    """Learning-rate factor: linear warmup to 1, then linear decay to 0."""
    warmup = math.ceil(total_steps * warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def train(
    model: PreTrainedModel,
    encodings: list[Encoding],
    labels: list[int] | list[float],
    recipe: dict[str, Any],
    *,
    seed: int,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
) -> dict[str, float]:
    """Fine-tune in place; returns train_seconds, train_examples, train_steps.

    One optimizer step takes ``batch_size * gradient_accumulation_steps`` rows,
    run as micro-batches of ``batch_size``; each micro-batch's mean loss is
    weighted by its share of the step's rows (``1 / accumulation`` when the
    micro-batches are full), so the gradient is that of the whole step's mean
    loss. Steps, the schedule and progress lines count optimizer steps, so
    batch 8 x 1 and batch 4 x 2 see the same rows in the same steps.
    """
    batch_size = recipe["batch_size"]
    accumulation = int(recipe.get("gradient_accumulation_steps") or 1)
    step_rows = batch_size * accumulation
    per_epoch = math.ceil(len(encodings) / step_rows)
    total = recipe["max_steps"] or recipe["epochs"] * per_epoch
    if not encodings or total <= 0:
        return {"train_seconds": 0.0, "train_examples": 0, "train_steps": 0}
    optimizer = make_optimizer(model, recipe["learning_rate"], recipe["weight_decay"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, linear_schedule(total, recipe["warmup_ratio"])
    )
    label_dtype = torch.float32 if model.config.num_labels == 1 else torch.long
    lengths = [len(e["input_ids"]) for e in encodings]
    epoch = 0
    tracker.stage = "train"
    tracker.batch_size = batch_size
    model.train()
    step, seen, window_loss, window_steps = 0, 0, 0.0, 0
    start = time.perf_counter()
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
            step_loss = 0.0
            for micro in range(0, len(step_ids), batch_size):
                ids = step_ids[micro : micro + batch_size]
                logits = forward(
                    model,
                    [encodings[i] for i in ids],
                    pad_id=pad_id,
                    padding_side=padding_side,
                    tracker=tracker,
                )
                target = torch.tensor([labels[i] for i in ids], dtype=label_dtype)
                loss = packed.sequence_loss(
                    model, logits.float(), target.to(tracker.device)
                )
                loss = loss * (len(ids) / len(step_ids))
                loss.backward()
                step_loss += loss.item()
            torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP_NORM)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            seen += len(step_ids)
            window_loss += step_loss
            window_steps += 1
            if step % PROGRESS_EVERY == 0 or step == total:
                tracker.final_train_loss = window_loss / window_steps
                elapsed = time.perf_counter() - start
                emit_progress(
                    stage="train",
                    step=step,
                    total_steps=total,
                    loss=round(tracker.final_train_loss, 6),
                    examples_per_s=round(seen / max(elapsed, 1e-9), 2),
                )
                window_loss, window_steps = 0.0, 0
    if tracker.device.type == "cuda":
        torch.cuda.synchronize(tracker.device)
    seconds = time.perf_counter() - start
    return {"train_seconds": seconds, "train_examples": seen, "train_steps": step}


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
    lengths = [len(e["input_ids"]) for e in encodings]
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


def to_predictions(logits: torch.Tensor) -> list[int] | list[float]:
    """One prediction per row: the score for regression, else the argmax label."""
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
    return to_predictions(logits), tokens


def train_labels(
    rows: list[dict[str, Any]], regression: bool, num_labels: int, source: str
) -> list[int] | list[float]:
    """Training targets, checked so a bad label fails here with a clear message."""
    labels: list[Any] = []
    for row in rows:
        label = row.get("label")
        ok = (
            isinstance(label, int | float)
            and not isinstance(label, bool)
            and math.isfinite(label)
            if regression
            else isinstance(label, int)
            and not isinstance(label, bool)
            and 0 <= label < num_labels
        )
        if not ok:
            raise UserError(
                "execute.bad_data",
                f"{source}: row idx {row.get('idx')!r} has a bad label {label!r}",
            )
        labels.append(float(label) if regression else label)
    return labels
