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
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from kernels import batching, packed, precision
from kernels.accounting import PaddingCounter
from kernels.numerics import Numerics
from tasks.errors import PlatformError, UserError

PROGRESS_EVERY = 10
GRAD_CLIP_NORM = 1.0
_WEIGHT_SUFFIXES = (".safetensors", ".safetensors.index.json")
_UNSAFE_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")
_CPU_OOM_MARKERS = ("can't allocate memory", "not enough memory")
MULTI_LABEL = "multi_label_classification"
# Keys of the second tower's inputs in a two-tower encoding ("pair_input_ids", ...).
PAIR_PREFIX = "pair_"
# Families whose position ids start after the pad id (RoBERTa's layout): they
# hold max_position_embeddings - pad_token_id - 1 tokens.
_OFFSET_POSITION_TYPES = frozenset(
    {"roberta", "xlm-roberta", "camembert", "longformer", "mpnet", "data2vec-text"}
)
# A tokenizer's model_max_length above this is transformers' "no limit" sentinel.
_NO_LIMIT = 10**8

Encoding = dict[str, list[int]]


def row_length(encoding: Encoding) -> int:
    """Tokens of one row: both towers' for a two-tower row."""
    return len(encoding["input_ids"]) + len(encoding.get("pair_input_ids", ()))


@dataclass
class Tracker:
    """Where the job is (so an out-of-memory error can name the batch and its
    size), the precision the forward passes use, and the last training loss
    (reported in the measurements).

    ``precision`` is the precision actually used: ``"bf16"`` (bf16 autocast on a
    device that multiplies bf16 natively) or ``"fp32"``, and ``numerics`` the
    profile it computes in (kernels.numerics; set by execute).
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
    numerics: Numerics | None = None


def kernel_measurements(tracker: Tracker) -> dict[str, Any]:
    """``execution_path`` and ``padding_waste`` (computed / real tokens) of the run."""
    return {
        "execution_path": tracker.execution_path,
        "padding_waste": tracker.padding.waste,
    }


def autocast(tracker: Tracker) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast when the job runs in bf16 (on a GPU or a CPU with native
    bf16, see kernels.precision), else nothing (fp32)."""
    return precision.autocast(tracker.precision, tracker.device)


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


def problem_type(task_type: str) -> str:
    """The transformers ``problem_type`` (which loss) of a task type."""
    if task_type == "regression":
        return "regression"
    if task_type == "multilabel_classification":
        return MULTI_LABEL
    return "single_label_classification"


class TwoTowerClassifier(torch.nn.Module):
    """LRA's dual encoder: one shared encoder reads each text of a pair alone.

    Each text's vector (the encoder's pooled output, else its first token's
    hidden state, the ``[CLS]`` position) gives ``u`` and ``v``; the head
    classifies ``[u, v, u * v, u - v]`` with a two-layer MLP, as LRA's matching
    models do. The head is created here (seeded by the caller) and trained end
    to end with the encoder. ``config`` is the encoder's, with ``num_labels``
    and ``problem_type`` set, so the runner reads it like a classifier's.
    """

    def __init__(self, encoder: PreTrainedModel, num_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        hidden = int(self.config.hidden_size)
        self.head = torch.nn.Sequential(
            torch.nn.Linear(4 * hidden, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, num_labels),
        )

    def embed(self, **inputs: torch.Tensor) -> torch.Tensor:
        out = self.encoder(**inputs)
        pooled = getattr(out, "pooler_output", None)
        return pooled if pooled is not None else out.last_hidden_state[:, 0]

    def forward(self, **batch: torch.Tensor) -> SequenceClassifierOutput:
        first = {k: v for k, v in batch.items() if not k.startswith(PAIR_PREFIX)}
        second = {
            k.removeprefix(PAIR_PREFIX): v
            for k, v in batch.items()
            if k.startswith(PAIR_PREFIX)
        }
        u, v = self.embed(**first), self.embed(**second)
        return SequenceClassifierOutput(
            logits=self.head(torch.cat((u, v, u * v, u - v), dim=-1))
        )


def load_model(
    model_dir: Path,
    *,
    task_type: str,
    num_labels: int,
    vocabulary: Any | None = None,
    positions: int | None = None,
    two_tower: bool = False,
) -> tuple[Any, PreTrainedModel, bool]:
    """Load the submission's tokenizer and a sequence-classification model.

    A folder with ``config.json`` but no weights is an architecture
    submission and is built with fresh weights (the caller seeds first, so
    the initialisation is repeatable). Returns (tokenizer, model, from_scratch).

    With a task ``vocabulary`` (LRA) the task encodes the inputs: no tokenizer
    files are needed (the tokenizer returned is None), the model is built from
    ``config.json`` alone (weights, if any, are not loaded: LRA trains
    architectures from scratch, and pretrained embeddings would not match the
    task's ids), and a config too small for the vocabulary or for ``positions``
    input tokens is refused, naming the numbers. ``two_tower`` wraps the
    submission's base encoder in :class:`TwoTowerClassifier`.
    """
    if not (model_dir / "config.json").is_file():
        raise UserError("execute.bad_model", "the model folder has no config.json")
    names = [p.name for p in model_dir.iterdir() if p.is_file()]
    has_weights = any(n.endswith(_WEIGHT_SUFFIXES) for n in names)
    if not has_weights and any(n.endswith(_UNSAFE_WEIGHT_SUFFIXES) for n in names):
        raise UserError(
            "execute.bad_model", "weights must be in safetensors format (no pickle)"
        )
    if vocabulary is None and not any(n in TOKENIZER_FILES for n in names):
        # transformers would otherwise build an empty-vocabulary tokenizer that maps
        # every word to [UNK]: a run that "works" and scores like a coin flip.
        raise UserError(
            "execute.bad_model",
            "the model folder has no tokenizer files (one of "
            f"{', '.join(sorted(TOKENIZER_FILES))}); save the tokenizer with "
            "tokenizer.save_pretrained() next to the model",
        )
    if vocabulary is not None:
        has_weights = False
    extra: dict[str, Any] = {}
    if vocabulary is not None:
        extra["pad_token_id"] = vocabulary.pad_id
    if not two_tower:
        extra.update(num_labels=num_labels, problem_type=problem_type(task_type))
    auto = AutoModel if two_tower else AutoModelForSequenceClassification

    def build(attention: dict[str, str]) -> PreTrainedModel:
        if has_weights:
            return auto.from_pretrained(
                model_dir,
                ignore_mismatched_sizes=True,
                use_safetensors=True,
                trust_remote_code=False,
                dtype=torch.float32,
                **extra,
                **attention,
            )
        return auto.from_config(
            config, trust_remote_code=False, dtype=torch.float32, **attention
        )

    tokenizer = None
    try:
        config = AutoConfig.from_pretrained(model_dir, trust_remote_code=False, **extra)
        if vocabulary is not None:
            check_config_fits(config, vocabulary, positions)
        else:
            tokenizer = AutoTokenizer.from_pretrained(
                model_dir, trust_remote_code=False
            )
        try:
            # SDPA is the fused attention kernel (flash / memory-efficient on GPU).
            model = build({"attn_implementation": "sdpa"})
        except (ValueError, ImportError):
            # Architectures without SDPA support keep their default attention.
            model = build({})
    except UserError:
        raise
    except Exception as exc:
        if is_out_of_memory(exc):
            raise
        raise UserError(
            "execute.bad_model",
            f"the model folder could not be loaded: {type(exc).__name__}: {exc}",
        ) from exc
    if tokenizer is not None and tokenizer.pad_token_id is None:
        # Decoder-only tokenizers often lack a pad token; the end token is the
        # usual stand-in, and the model needs it to find each row's last token.
        if tokenizer.eos_token is None:
            raise UserError(
                "execute.bad_model", "the tokenizer has neither a pad nor an end token"
            )
        tokenizer.pad_token = tokenizer.eos_token
    pad_id = vocabulary.pad_id if vocabulary is not None else tokenizer.pad_token_id
    model.config.pad_token_id = pad_id
    if two_tower:
        model.config.num_labels = num_labels
        model.config.problem_type = problem_type(task_type)
        model = TwoTowerClassifier(model, num_labels)
    return tokenizer, model, not has_weights


def check_config_fits(config: Any, vocabulary: Any, positions: int | None) -> None:
    """Refuse a config whose embeddings cannot hold the task's ids or lengths.

    The submitter sizes an architecture for a task-supplied vocabulary; growing
    their config silently would change the model they submitted.
    """
    size = getattr(config, "vocab_size", None)
    if isinstance(size, int) and size < vocabulary.vocab_size:
        raise UserError(
            "execute.bad_model",
            f"config.json has vocab_size {size}, but this task's "
            f"{vocabulary.name!r} vocabulary has {vocabulary.vocab_size} ids; "
            f"set vocab_size to at least {vocabulary.vocab_size}",
        )
    limit = position_limit(config)
    if positions is not None and limit is not None and limit < positions:
        raise UserError(
            "execute.bad_model",
            f"config.json allows {limit} positions (max_position_embeddings "
            f"{config.max_position_embeddings}), but this task feeds up to "
            f"{positions} tokens ([CLS] plus max_length "
            f"{positions - 1}); set max_position_embeddings to at least "
            f"{positions + (getattr(config, 'max_position_embeddings', 0) - limit)}",
        )


def position_limit(config: Any) -> int | None:
    """Tokens the model's position embeddings hold, or None (no fixed table)."""
    table = getattr(config, "max_position_embeddings", None)
    if not isinstance(table, int) or isinstance(table, bool) or table <= 0:
        return None
    if getattr(config, "model_type", None) in _OFFSET_POSITION_TYPES:
        return table - int(getattr(config, "pad_token_id", None) or 0) - 1
    return table


def model_max_length(model: torch.nn.Module, tokenizer: Any | None) -> int | None:
    """The longest row the model takes: its tokenizer's and its positions' limit."""
    limits = [position_limit(model.config)]
    if tokenizer is not None:
        limit = tokenizer.model_max_length
        if isinstance(limit, int) and 0 < limit < _NO_LIMIT:
            limits.append(limit)
    found = [n for n in limits if n is not None]
    return min(found) if found else None


def encode(
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    text_fields: Sequence[str],
    max_length: int,
    source: str,
) -> list[Encoding]:
    """Tokenize rows (one text or a pair) without padding; batches pad later."""
    limit = tokenizer.model_max_length
    if isinstance(limit, int) and 0 < limit < max_length:
        max_length = limit
    encodings, _ = encode_rows(
        rows, text_fields, max_length, source, tokenizer=tokenizer
    )
    return encodings


def encode_rows(
    rows: Sequence[dict[str, Any]],
    text_fields: Sequence[str],
    max_length: int,
    source: str,
    *,
    tokenizer: Any | None = None,
    vocabulary: Any | None = None,
    two_tower: bool = False,
    keep_second: bool = False,
) -> tuple[list[Encoding], int]:
    """Encode rows without padding (batches pad later); returns (encodings, rows cut).

    ``max_length`` is the most tokens a row (or each tower's text) keeps, the
    caller having capped it at the model's maximum. A ``vocabulary`` (task
    supplied) encodes each field with a leading ``[CLS]`` and up to
    ``max_length`` symbols; otherwise the tokenizer encodes one text or a pair.
    ``two_tower`` encodes the two fields separately (``pair_*`` keys hold the
    second). ``keep_second`` cuts a too-long pair from its first text only
    (a long context keeps its question), falling back to cutting the longer one
    when the second alone is too long. Rows longer than allowed are counted.
    """
    for name in text_fields:
        missing = next((row for row in rows if name not in row), None)
        if missing is not None:
            raise UserError(
                "execute.bad_data", f"{source}: a row has no text field {name!r}"
            )
    if not rows:
        return [], 0
    if vocabulary is not None:
        columns = [
            _vocabulary_column(vocabulary, rows, name, max_length, source)
            for name in text_fields
        ]
    elif two_tower:
        columns = [
            _tokenize(tokenizer, [[str(row[name]) for row in rows]], max_length, False)
            for name in text_fields
        ]
    else:
        texts = [[str(row[name]) for row in rows] for name in text_fields]
        columns = [_tokenize(tokenizer, texts, max_length, keep_second)]
    encodings = columns[0][0]
    truncated = list(columns[0][1])
    if len(columns) == 2:
        for i, (encoding, cut) in enumerate(zip(*columns[1], strict=True)):
            encodings[i] |= {PAIR_PREFIX + k: v for k, v in encoding.items()}
            truncated[i] = truncated[i] or cut
    return encodings, sum(truncated)


def _vocabulary_column(
    vocabulary: Any,
    rows: Sequence[dict[str, Any]],
    name: str,
    max_length: int,
    source: str,
) -> tuple[list[Encoding], list[bool]]:
    """One field of every row through a task vocabulary: ``[CLS]`` + symbols."""
    encodings, truncated = [], []
    for row in rows:
        value = row[name]
        if vocabulary.name != "pixels":
            value = str(value)
        try:
            ids = vocabulary.encode(value, max_length + 2, add_cls=True)
        except (UserError, TypeError, AttributeError) as exc:
            detail = exc.message if isinstance(exc, UserError) else str(exc)
            raise UserError(
                "execute.bad_data",
                f"{source}: row idx {row.get('idx')!r}, field {name!r}: {detail}",
            ) from exc
        truncated.append(len(ids) > max_length + 1)
        ids = ids[: max_length + 1]
        encodings.append({"input_ids": ids, "attention_mask": [1] * len(ids)})
    return encodings, truncated


def _tokenize(
    tokenizer: Any, texts: list[list[str]], max_length: int, keep_second: bool
) -> tuple[list[Encoding], list[bool]]:
    """Tokenize one text or a pair per row; rows past ``max_length`` are cut.

    Rows are first tokenized whole, so the rows that are cut can be counted
    and only they are tokenized again with truncation.
    """
    whole = tokenizer(*texts, truncation=False, verbose=False)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in whole]
    encodings = [{k: whole[k][i] for k in keys} for i in range(len(texts[0]))]
    long = [i for i, e in enumerate(encodings) if len(e["input_ids"]) > max_length]
    for i in long:
        row = [column[i] for column in texts]
        strategy = "only_first" if keep_second and len(row) == 2 else True
        try:
            cut = tokenizer(*row, truncation=strategy, max_length=max_length)
        except Exception:
            # The second text alone is longer than max_length: cut the longer one.
            cut = tokenizer(*row, truncation=True, max_length=max_length)
        encodings[i] = {k: cut[k] for k in keys}
    truncated = [False] * len(encodings)
    for i in long:
        truncated[i] = True
    return encodings, truncated


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
    use_packed = packed.supports_packed(model)
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


def schedule(recipe: dict[str, Any], total_steps: int) -> Callable[[int], float]:
    """The learning-rate factor the recipe's ``scheduler`` names."""
    if recipe.get("scheduler") == "rsqrt_decay":
        return rsqrt_schedule(recipe.get("warmup_steps") or 0)
    return linear_schedule(
        total_steps, recipe["warmup_ratio"], recipe.get("warmup_steps")
    )


def train(
    model: PreTrainedModel,
    encodings: list[Encoding],
    labels: list[int] | list[float] | list[list[float]],
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
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule(recipe, total))
    float_labels = model.config.num_labels == 1 or is_multi_label(model)
    label_dtype = torch.float32 if float_labels else torch.long
    lengths = [row_length(e) for e in encodings]
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


def is_multi_label(model: torch.nn.Module) -> bool:
    """Whether the model scores each class alone (sigmoid per class, BCE loss)."""
    return getattr(model.config, "problem_type", None) == MULTI_LABEL


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


def train_labels(
    rows: list[dict[str, Any]],
    regression: bool,
    num_labels: int,
    source: str,
    *,
    multi_label: bool = False,
) -> list[int] | list[float] | list[list[float]]:
    """Training targets, checked so a bad label fails here with a clear message.

    Multi-label rows list distinct class indices; their target is the multi-hot
    vector (one 0/1 per class) the BCE loss takes.
    """
    labels: list[Any] = []
    for row in rows:
        label = row.get("label")
        if multi_label:
            ok = isinstance(label, list) and all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < num_labels
                for i in label
            )
            ok = ok and len(set(label)) == len(label)
        elif regression:
            ok = (
                isinstance(label, int | float)
                and not isinstance(label, bool)
                and math.isfinite(label)
            )
        else:
            ok = (
                isinstance(label, int)
                and not isinstance(label, bool)
                and 0 <= label < num_labels
            )
        if not ok:
            raise UserError(
                "execute.bad_data",
                f"{source}: row idx {row.get('idx')!r} has a bad label {label!r}",
            )
        if multi_label:
            labels.append([1.0 if i in label else 0.0 for i in range(num_labels)])
        else:
            labels.append(float(label) if regression else label)
    return labels
