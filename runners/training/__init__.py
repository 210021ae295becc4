"""Fine-tuning and prediction for the in-sandbox program (``runners.execute``).

Kept apart from ``runners.execute`` so that module reads as the outline of a
job (check the spec, load, train, predict, measure, report errors) while the
loops and their details live here, one topic per module:

* ``tracking``: the job's running state (:class:`Tracker`), out-of-memory
  errors, progress lines, seeding;
* ``encoding``: the job's JSONL rows, their labels and their token ids;
* ``models``: loading the submission (tokenizer, classifier, two towers);
* ``batches``: one batch through the model (padded or packed), prediction;
* ``loop``: the optimizer, the schedules and the training loop.

The same import rule applies as to ``runners.execute``: stdlib, numpy, torch,
transformers, tokenizers, safetensors, psutil and ``tasks.errors`` only; no
Django, no network. Callers use the names exported here; a test that replaces
a function replaces it in the module that calls it.
"""

from runners.architectures import TOKENIZER_FILES
from runners.training.batches import (
    collate,
    forward,
    predict,
    predict_logits,
    to_predictions,
)
from runners.training.encoding import (
    PAIR_PREFIX,
    Encoding,
    encode,
    encode_rows,
    read_jsonl,
    row_length,
    train_labels,
)
from runners.training.loop import (
    GRAD_CLIP_NORM,
    PROGRESS_EVERY,
    clip_gradients,
    cosine_schedule,
    linear_schedule,
    make_optimizer,
    rsqrt_schedule,
    schedule,
    train,
)
from runners.training.models import (
    MULTI_LABEL,
    TwoTowerClassifier,
    check_config_fits,
    is_multi_label,
    load_model,
    model_max_length,
    position_limit,
    problem_type,
)
from runners.training.tracking import (
    Tracker,
    autocast,
    emit_progress,
    is_out_of_memory,
    kernel_measurements,
    out_of_memory_error,
    peak_memory_bytes,
    seed_everything,
)

__all__ = [
    "GRAD_CLIP_NORM",
    "MULTI_LABEL",
    "PAIR_PREFIX",
    "PROGRESS_EVERY",
    "TOKENIZER_FILES",
    "Encoding",
    "Tracker",
    "TwoTowerClassifier",
    "autocast",
    "check_config_fits",
    "clip_gradients",
    "collate",
    "cosine_schedule",
    "emit_progress",
    "encode",
    "encode_rows",
    "forward",
    "is_multi_label",
    "is_out_of_memory",
    "kernel_measurements",
    "linear_schedule",
    "load_model",
    "make_optimizer",
    "model_max_length",
    "out_of_memory_error",
    "peak_memory_bytes",
    "position_limit",
    "predict",
    "predict_logits",
    "problem_type",
    "read_jsonl",
    "row_length",
    "rsqrt_schedule",
    "schedule",
    "seed_everything",
    "to_predictions",
    "train",
    "train_labels",
]
