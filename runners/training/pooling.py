"""How a sentence becomes one vector for the classifier: the checkpoint decides.

A model fine-tuned for sentence embeddings (sentence-transformers) declares how its
sentence vector is made, in ``modules.json`` and its Pooling module's
``config.json``: all-MiniLM-L6-v2 averages its token states ("mean"), and its BERT
pooler (the dense + tanh over ``[CLS]`` that ``BertForSequenceClassification``
would read) was never trained. Reading the vector the checkpoint was trained to
produce is what makes such a model learn in a few hundred steps, so the runner
honours the declaration and records it (:class:`Pooling`, in the measurements and
the manifest):

- a checkpoint whose architecture is a ``*ForSequenceClassification`` keeps its
  own head (and the pooling its architecture defines);
- else a sentence-transformers folder gets a :class:`PooledClassifier`: the
  encoder (``AutoModel``), its declared pooling, dropout and a new linear head;
- else the architecture's own sequence-classification head, as transformers builds
  it (for BERT: the pooler over ``[CLS]``).

Only one pooling mode is supported per model (sentence-transformers may
concatenate several; such a folder is refused with the reason). Dense and
Normalize modules after pooling are embedding-space details and are not part of a
classifier; they are recorded as skipped.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from kernels.packed import POOLING_MODES
from tasks.errors import UserError

# The modes a PooledClassifier computes (sentence-transformers' names, without the
# ``pooling_mode_`` prefix and ``_tokens`` suffix): the packed path's list.

_ST_POOLING = "sentence_transformers.models.Pooling"
_ST_FLAGS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
    "pooling_mode_lasttoken": "lasttoken",
    "pooling_mode_weightedmean_tokens": "weightedmean",
}


@dataclass(frozen=True)
class Pooling:
    """Which vector the classifier reads, and who said so.

    ``mode``: a :data:`POOLING_MODES` entry for a pooled classifier, or ``"head"``
    when the model's own sequence-classification head (and its pooling) is used.
    ``head``: ``"checkpoint"`` when the classifier weights came from the
    checkpoint, ``"new"`` when they were initialised for this task.
    """

    mode: str
    source: str
    head: str = "new"
    skipped: tuple[str, ...] = field(default_factory=tuple)

    def record(self) -> dict[str, Any]:
        """JSON for the measurements and the manifest."""
        data = asdict(self)
        data["skipped"] = list(self.skipped)
        return data


def is_sequence_classifier_checkpoint(config: Any) -> bool:
    """Whether the checkpoint was saved as a ``*ForSequenceClassification``."""
    names = getattr(config, "architectures", None) or []
    return any(str(n).endswith("ForSequenceClassification") for n in names)


def declared_pooling(model_dir: Path) -> Pooling | None:
    """The pooling a sentence-transformers folder declares, or None when it
    declares none (no ``modules.json``, or no Pooling module in it)."""
    modules_file = model_dir / "modules.json"
    if not modules_file.is_file():
        return None
    modules = _read_json(modules_file)
    if not isinstance(modules, list):
        raise _bad("modules.json must be a list of modules")
    pooling = [
        m for m in modules if isinstance(m, dict) and m.get("type") == _ST_POOLING
    ]
    if not pooling:
        return None
    path = str(pooling[0].get("path") or "")
    config_file = (model_dir / path / "config.json").resolve()
    if not config_file.is_relative_to(model_dir.resolve()) or not config_file.is_file():
        raise _bad(
            f"modules.json names a Pooling module at {path!r} without config.json"
        )
    flags = _read_json(config_file)
    if not isinstance(flags, dict):
        raise _bad(f"{path}/config.json must be an object")
    modes = [mode for flag, mode in _ST_FLAGS.items() if flags.get(flag) is True]
    if len(modes) != 1 or modes[0] not in POOLING_MODES:
        raise _bad(
            f"{path}/config.json declares pooling {modes or 'none'}; the runner "
            f"supports exactly one of {', '.join(POOLING_MODES)}"
        )
    after = [
        str(m.get("type", "")).rsplit(".", 1)[-1]
        for m in modules
        if isinstance(m, dict) and int(m.get("idx", 0)) > int(pooling[0].get("idx", 0))
    ]
    return Pooling(
        mode=modes[0],
        source=f"sentence-transformers {path}/config.json",
        skipped=tuple(after),
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"{path.name} is not readable JSON: {exc}") from exc


def _bad(message: str) -> UserError:
    return UserError("execute.bad_model", f"the model folder's pooling: {message}")


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """One vector per row of a padded batch ``[rows, length, hidden]``; ``mask``
    is the attention mask (1 on real tokens). The reference for the packed path."""
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    if mode == "cls":
        return hidden[:, 0]
    if mode in ("mean", "mean_sqrt_len"):
        total = (hidden * weights).sum(dim=1)
        count = weights.sum(dim=1).clamp(min=1.0)
        return total / (count if mode == "mean" else count.sqrt())
    if mode == "max":
        return hidden.masked_fill(weights == 0, torch.finfo(hidden.dtype).min).amax(1)
    if mode == "lasttoken":
        last = mask.sum(dim=1).long() - 1
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling mode {mode!r}")


class PooledClassifier(torch.nn.Module):
    """An encoder, its declared pooling, dropout and a linear head.

    The packed path (``kernels.packed``) computes the same logits without pads: it
    reads ``encoder``, ``pooling``, ``dropout`` and ``head`` by name. ``config`` is
    the encoder's, with ``num_labels`` and ``problem_type`` set, so the runner
    treats it like any ``*ForSequenceClassification``.
    """

    def __init__(self, encoder: PreTrainedModel, pooling: str, num_labels: int):
        super().__init__()
        if pooling not in POOLING_MODES:
            raise ValueError(f"unknown pooling mode {pooling!r}")
        self.encoder = encoder
        self.config = encoder.config
        self.pooling = pooling
        rate = getattr(self.config, "classifier_dropout", None)
        if rate is None:
            rate = getattr(self.config, "hidden_dropout_prob", 0.1)
        self.dropout = torch.nn.Dropout(float(rate))
        self.head = torch.nn.Linear(int(self.config.hidden_size), num_labels)
        std = float(getattr(self.config, "initializer_range", 0.02))
        torch.nn.init.normal_(self.head.weight, std=std)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, **batch: torch.Tensor) -> SequenceClassifierOutput:
        mask = batch.get("attention_mask")
        if mask is None:
            mask = torch.ones_like(batch["input_ids"])
        hidden = self.encoder(**batch).last_hidden_state
        pooled = pool(hidden, mask, self.pooling)
        return SequenceClassifierOutput(logits=self.head(self.dropout(pooled)))
