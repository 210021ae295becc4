"""The keys of ``measurements.json``, and which of them a Result publishes."""

from __future__ import annotations

MEASUREMENT_KEYS: frozenset[str] = frozenset(
    {
        # The model and the run's shape.
        "params",
        "trainable_params",
        # The fine-tuning method (track) and what it trained (runners.training.methods).
        "method",
        "from_scratch",
        "pooling",
        "flops_per_example",
        "train_seconds",
        "train_examples",
        "train_steps",
        "train_examples_per_s",
        "train_batch_size",
        "gradient_accumulation_steps",
        "final_train_loss",
        "infer_seconds",
        "infer_examples",
        "infer_examples_per_s",
        "infer_tokens_per_s",
        "eval_batch_size",
        "truncated_rows",
        "model_max_length",
        "max_length_used",
        # Measured on every run (runners.measure); null where not measurable.
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_examples",
        "batch_invariant",
        "batch_invariance",
        "peak_memory_bytes",
        "energy_j",
        # How it computed, for the reproducibility manifest.
        "device",
        "precision_used",
        "numerics",
        "numerics_detail",
        "attention_implementation",
        "execution_path",
        "padding_waste",
        "determinism",
        # How the run was laid out over processes (runners.distributed).
        "parallel",
        "versions",
        "hardware",
        "measurement_method",
        # Where the time went: wall seconds per stage, and of the whole process.
        "stage_seconds",
        "process_seconds",
    }
)
"""The keys every successful run writes into ``measurements.json``, no more, no
fewer (``runners.measure.METHODS`` says how each figure is taken)."""

EFFICIENCY_KEYS: tuple[str, ...] = (
    "params",
    "trainable_params",
    "flops_per_example",
    "train_seconds",
    "train_examples",
    "train_examples_per_s",
    "infer_examples_per_s",
    "infer_tokens_per_s",
    "latency_p50_ms",
    "latency_p95_ms",
    "peak_memory_bytes",
    "energy_j",
    "device",
    "precision_used",
    "numerics",
    "padding_waste",
    "execution_path",
    "batch_invariant",
)
"""The subset of :data:`MEASUREMENT_KEYS` published on a Result as its efficiency
figures (the rest goes into the reproducibility manifest or stays in the log)."""
