"""The program that runs inside the sandbox: ``python -m runners.execute SPEC``.

It reads one job spec (docs/interfaces.md, "The job folder and spec"),
fine-tunes the submitted model with the spec's recipe, predicts every split
it is given and writes ``predictions/<split>.jsonl`` and ``measurements.json``
into the output folder (efficiency measured on this run by ``runners.measure``).
Labels of scored splits never reach it; the worker scores outside the sandbox.

It imports only the standard library, the numeric stack and ``tasks.errors``
(never Django: the sandbox holds no credentials and no database), and it
never touches the network. Failures end with one
``GLEW_ERROR {"code": ..., "message": ...}`` line on stderr, after the
traceback, and a non-zero exit:

* 1: ``execute.crashed`` (anything unexpected),
* 2: the spec, the model folder or the data is wrong (``execute.bad_*``),
* 3: ``execute.out_of_memory``.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernels import numerics
from kernels.numerics import Numerics
from tasks.errors import GlewError, PlatformError, UserError

if TYPE_CHECKING:
    from runners.training import Tracker

SPEC_VERSION = 1
PRECISIONS = ("fp32", "bf16")
TASK_TYPES = ("classification", "regression", "multilabel_classification")
SCHEDULERS = ("linear", "rsqrt_decay")
EXIT_CRASHED, EXIT_BAD_INPUT, EXIT_OUT_OF_MEMORY = 1, 2, 3

OFFLINE_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
# Deterministic cuBLAS reads this when CUDA starts, so it is set before torch loads.
DETERMINISM_DEFAULTS = {"CUBLAS_WORKSPACE_CONFIG": ":4096:8"}

_REQUIRED = {
    "": ("spec_version", "task", "recipe", "seed", "model_dir", "data", "output_dir"),
    "task": ("name", "type", "text_fields", "num_labels"),
    "recipe": (
        "version",
        "learning_rate",
        "batch_size",
        "eval_batch_size",
        "epochs",
        "max_steps",
        "warmup_ratio",
        "weight_decay",
        "max_length",
        "max_train_examples",
        "optimizer",
        "scheduler",
        "precision",
    ),
    "data": ("predict",),
}
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def _bad_spec(message: str) -> UserError:
    return UserError("execute.bad_spec", f"job spec: {message}")


def load_spec(path: Path) -> dict[str, Any]:
    """Read and check the spec, so a worker bug fails in one clear line.

    Only what this program relies on is checked; unknown extra keys are
    allowed so a newer worker can add fields without breaking older images.
    """
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _bad_spec(f"cannot read {path}: {exc}") from exc
    if not isinstance(spec, dict):
        raise _bad_spec("the top level must be an object")
    if spec.get("spec_version") != SPEC_VERSION:
        raise _bad_spec(
            f"spec_version {spec.get('spec_version')!r} is not {SPEC_VERSION}"
        )
    for section, keys in _REQUIRED.items():
        where = spec if not section else spec.get(section)
        if not isinstance(where, dict):
            raise _bad_spec(f"{section!r} must be an object")
        missing = [k for k in keys if k not in where]
        if missing:
            raise _bad_spec(f"missing {', '.join(missing)} in {section or 'spec'}")
    task, recipe, data = spec["task"], spec["recipe"], spec["data"]
    if task["type"] not in TASK_TYPES:
        raise _bad_spec(f"unknown task type {task['type']!r}")
    fields = task["text_fields"]
    if not isinstance(fields, list) or len(fields) not in (1, 2):
        raise _bad_spec("task.text_fields must list one or two field names")
    _check_task_inputs(task)
    if recipe["optimizer"] != "adamw" or recipe["scheduler"] not in SCHEDULERS:
        raise _bad_spec(
            "only the adamw optimizer with a linear or rsqrt_decay schedule "
            "is supported"
        )
    warmup_steps = recipe.get("warmup_steps")
    if warmup_steps is not None and (
        isinstance(warmup_steps, bool)
        or not (isinstance(warmup_steps, int) and warmup_steps >= 0)
    ):
        raise _bad_spec("recipe.warmup_steps must be null or an integer >= 0")
    if recipe["precision"] not in PRECISIONS:
        raise _bad_spec(
            f"precision {recipe['precision']!r} is not one of {', '.join(PRECISIONS)}"
        )
    accumulation = recipe.get("gradient_accumulation_steps", 1)
    if isinstance(accumulation, bool) or not (
        isinstance(accumulation, int) and accumulation >= 1
    ):
        raise _bad_spec("recipe.gradient_accumulation_steps must be an integer >= 1")
    for key in ("batch_size", "eval_batch_size"):
        value = recipe[key]
        if isinstance(value, bool) or not (isinstance(value, int) and value >= 1):
            raise _bad_spec(f"recipe.{key} must be an integer >= 1")
    predict = data["predict"]
    if not isinstance(predict, dict) or not all(
        isinstance(s, str) and _SPLIT_NAME.match(s) for s in predict
    ):
        raise _bad_spec("data.predict must map plain split names to files")
    return spec


def _check_task_inputs(task: dict[str, Any]) -> None:
    """The optional input keys: ``vocabulary``, ``two_tower``, ``long_context``."""
    from tasks.vocab import VOCABULARIES

    vocabulary = task.get("vocabulary")
    if vocabulary is not None and vocabulary not in VOCABULARIES:
        raise _bad_spec(
            f"task.vocabulary {vocabulary!r} is not one of "
            f"{', '.join(VOCABULARIES)} (or null)"
        )
    for key in ("two_tower", "long_context"):
        if not isinstance(task.get(key, False), bool):
            raise _bad_spec(f"task.{key} must be true or false")
    two = len(task["text_fields"]) == 2
    if task.get("two_tower") and not two:
        raise _bad_spec("task.two_tower needs two text_fields")
    if vocabulary is not None and two and not task.get("two_tower"):
        # A task vocabulary has no separator token to join a pair with.
        raise _bad_spec("a task vocabulary with two text_fields needs two_tower")


def run_job(spec: dict[str, Any], tracker: Tracker) -> dict[str, Any]:
    """Fine-tune and predict as the spec says; write predictions; return measurements.

    Everything that could change a score is driven by the spec and its seed,
    so the same spec on the same hardware gives the same predictions. The
    measurements are taken on this run (runners.measure says how).
    """
    import torch
    import transformers

    from runners import measure, training

    task, recipe, seed = spec["task"], spec["recipe"], int(spec["seed"])
    transformers.utils.logging.disable_progress_bar()
    determinism = measure.configure_determinism(seed, tracker.device)
    regression = task["type"] == "regression"
    multi_label = task["type"] == "multilabel_classification"
    num_labels = 1 if regression else int(task["num_labels"])
    fields, max_length = task["text_fields"], int(recipe["max_length"])
    two_tower = bool(task.get("two_tower"))
    vocabulary = None
    if task.get("vocabulary"):
        from tasks.vocab import get_vocabulary

        vocabulary = get_vocabulary(task["vocabulary"])
    tokenizer, model, from_scratch = training.load_model(
        Path(spec["model_dir"]),
        task_type=task["type"],
        num_labels=num_labels,
        vocabulary=vocabulary,
        # A task vocabulary's rows are [CLS] plus up to max_length symbols.
        positions=max_length + 1 if vocabulary is not None else None,
        two_tower=two_tower,
    )
    if vocabulary is not None:
        print(
            f"glew: the task supplies the {vocabulary.name!r} vocabulary; "
            "training from scratch from config.json",
            file=sys.stderr,
        )
    elif from_scratch:
        print("glew: no weights in the model; training from scratch", file=sys.stderr)
    model.to(tracker.device)
    params, trainable_params = measure.parameter_counts(model)
    energy = measure.EnergyMeter(tracker.device)
    model_max_length = training.model_max_length(model, tokenizer)
    row_limit = max_length
    if vocabulary is None and model_max_length and model_max_length < max_length:
        # A long input is cut at the model's maximum, and the cut rows counted,
        # rather than crashing the position embeddings.
        row_limit = model_max_length
        print(
            f"glew: rows are cut at the model's maximum of {model_max_length} "
            f"tokens (the recipe allows {max_length})",
            file=sys.stderr,
        )
    if vocabulary is not None:
        pad = {"pad_id": vocabulary.pad_id, "padding_side": "right"}
    else:
        # Two towers read their first token, so they are padded on the right.
        side = "right" if two_tower else tokenizer.padding_side
        pad = {"pad_id": tokenizer.pad_token_id, "padding_side": side}
    eval_batch_size = int(recipe["eval_batch_size"])
    truncated_rows: dict[str, int] = {}

    def encode(
        rows: list[dict[str, Any]], source: str, split: str
    ) -> list[training.Encoding]:
        """Encode rows as the task says and count the rows cut, per split."""
        encodings, cut = training.encode_rows(
            rows,
            fields,
            row_limit,
            source,
            tokenizer=tokenizer,
            vocabulary=vocabulary,
            two_tower=two_tower,
            keep_second=bool(task.get("long_context")),
        )
        truncated_rows[split] = cut
        return encodings

    stats = {"train_seconds": 0.0, "train_examples": 0, "train_steps": 0}
    train_path = spec["data"].get("train")
    if train_path:
        rows = training.read_jsonl(train_path)
        random.Random(seed).shuffle(rows)
        if recipe["max_train_examples"]:
            rows = rows[: int(recipe["max_train_examples"])]
        labels = training.train_labels(
            rows, regression, num_labels, train_path, multi_label=multi_label
        )
        encodings = encode(rows, str(train_path), "train")
        stats = training.train(
            model, encodings, labels, recipe, seed=seed, tracker=tracker, **pad
        )

    infer_seconds, infer_examples, infer_tokens = 0.0, 0, 0
    flops_per_example = None
    # Rows re-predicted one at a time after prediction (latency, batch invariance).
    sample: list[training.Encoding] = []
    sample_logits: list[torch.Tensor] = []
    latency_rows = 0
    predictions_dir = Path(spec["output_dir"]) / "predictions"
    predictions_dir.mkdir(parents=True, exist_ok=True)
    for number, (split, path) in enumerate(spec["data"]["predict"].items()):
        rows = training.read_jsonl(path)
        encodings = encode(rows, str(path), split)
        if flops_per_example is None and encodings:
            flops_per_example = measure.warm_up_and_count_flops(
                model, encodings, batch_size=eval_batch_size, tracker=tracker, **pad
            )
        tracker.stage = f"predict {split}"
        start = time.perf_counter()
        logits, tokens = training.predict_logits(
            model, encodings, batch_size=eval_batch_size, tracker=tracker, **pad
        )
        seconds = time.perf_counter() - start
        infer_seconds += seconds
        infer_examples += len(rows)
        infer_tokens += tokens
        values = training.to_predictions(logits, multi_label=multi_label)
        with open(predictions_dir / f"{split}.jsonl", "w", encoding="utf-8") as out:
            for row, value in zip(rows, values, strict=True):
                out.write(json.dumps({"idx": row["idx"], "prediction": value}) + "\n")
        if number == 0:
            latency_rows = min(measure.LATENCY_ROWS, len(encodings))
        room = measure.INVARIANCE_ROWS - len(sample)
        sample.extend(encodings[:room])
        sample_logits.append(logits[:room])
        training.emit_progress(
            stage="predict",
            split=split,
            step=tracker.batch,
            total_steps=tracker.batch,
            loss=None,
            examples_per_s=round(len(rows) / max(seconds, 1e-9), 2),
        )
    energy_j = energy.stop()
    checks = measure.latency_and_invariance(
        model,
        sample,
        torch.cat(sample_logits) if sample_logits else torch.zeros(0, num_labels),
        latency_rows=latency_rows,
        tracker=tracker,
        **pad,
    )

    def rate(amount: float, seconds: float) -> float:
        return amount / seconds if seconds > 0 else 0.0

    return {
        "params": params,
        "trainable_params": trainable_params,
        "from_scratch": from_scratch,
        "flops_per_example": flops_per_example,
        **stats,
        "train_examples_per_s": rate(stats["train_examples"], stats["train_seconds"]),
        "train_batch_size": int(recipe["batch_size"]),
        "gradient_accumulation_steps": int(
            recipe.get("gradient_accumulation_steps") or 1
        ),
        "infer_seconds": infer_seconds,
        "infer_examples": infer_examples,
        "infer_examples_per_s": rate(infer_examples, infer_seconds),
        "infer_tokens_per_s": rate(infer_tokens, infer_seconds),
        "eval_batch_size": eval_batch_size,
        "truncated_rows": truncated_rows,
        "model_max_length": model_max_length,
        "max_length_used": row_limit,
        **checks,
        "peak_memory_bytes": training.peak_memory_bytes(tracker.device),
        "energy_j": energy_j,
        "final_train_loss": tracker.final_train_loss,
        "device": tracker.device.type,
        "precision_used": tracker.precision,
        "numerics": tracker.numerics.profile if tracker.numerics else None,
        "numerics_detail": tracker.numerics.detail if tracker.numerics else None,
        "attention_implementation": measure.attention_implementation(model),
        **training.kernel_measurements(tracker),
        "determinism": determinism,
        "versions": measure.versions(),
        "hardware": measure.hardware(tracker.device),
        "measurement_method": measure.METHODS,
    }


def establish_numerics(spec: dict[str, Any]) -> Numerics:
    """Set the spec's thread count, then check and record how this run computes.

    The spec's ``numerics`` profile (kernels.numerics) decides the device and the
    precision; a pinned profile fixes its own thread count. A machine that cannot
    compute in the profile fails here, before the model loads, with a plain reason.
    """
    import torch

    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    try:
        return numerics.establish(spec.get("numerics"), spec["recipe"]["precision"])
    except numerics.NumericsError as exc:
        raise PlatformError(exc.code, exc.message) from exc


def _fail(code: str, message: str, exit_code: int) -> int:
    """Print the traceback, then the one line the worker parses, and give the exit."""
    traceback.print_exc(file=sys.stderr)
    line = json.dumps({"code": code, "message": message})
    print(f"GLEW_ERROR {line}", file=sys.stderr, flush=True)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    """Run one job; returns the process exit status (0 on success)."""
    argv = sys.argv[1:] if argv is None else argv
    for key, value in (OFFLINE_DEFAULTS | DETERMINISM_DEFAULTS).items():
        os.environ.setdefault(key, value)
    training = None
    tracker = None
    try:
        if len(argv) != 1:
            raise _bad_spec("usage: python -m runners.execute /job/spec.json")
        spec = load_spec(Path(argv[0]))
        # Imported here so the offline settings above are in place first.
        import torch

        from runners import training

        tracker = training.Tracker(device=torch.device("cpu"))
        tracker.numerics = establish_numerics(spec)
        tracker.device = torch.device(tracker.numerics.device)
        tracker.precision = tracker.numerics.precision
        measurements = run_job(spec, tracker)
        out = Path(spec["output_dir"]) / "measurements.json"
        out.write_text(json.dumps(measurements, indent=2) + "\n", encoding="utf-8")
        return 0
    except GlewError as exc:
        oom = exc.code == "execute.out_of_memory"
        status = EXIT_OUT_OF_MEMORY if oom else EXIT_BAD_INPUT
        return _fail(exc.code, exc.message, status)
    except Exception as exc:  # every failure must end in one GLEW_ERROR line
        if training is not None and tracker and training.is_out_of_memory(exc):
            error = training.out_of_memory_error(tracker)
            return _fail(error.code, error.message, EXIT_OUT_OF_MEMORY)
        return _fail("execute.crashed", f"{type(exc).__name__}: {exc}", EXIT_CRASHED)


if __name__ == "__main__":
    sys.exit(main())
