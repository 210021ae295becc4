"""The program that runs inside the sandbox: ``python -m runners.execute SPEC``.

It reads one job spec (``runners.contract.JobSpec``; docs/interfaces.md, "The
job folder and spec"), fine-tunes the submitted model with the spec's recipe,
predicts every split it is given and writes ``predictions/<split>.jsonl`` and
``measurements.json`` into the output folder (efficiency measured on this run by
``runners.measure``). Labels of scored splits never reach it; the worker scores
outside the sandbox.

It imports only the standard library, the numeric stack and ``tasks.errors``
(never Django: the sandbox holds no credentials and no database), and it
never touches the network. Failures end with one error line
(``runners.contract.format_error``) on stderr, after the traceback, and the
contract's non-zero exit: 1 ``execute.crashed`` (anything unexpected), 2 the
spec, the model folder or the data is wrong (``execute.bad_*``), 3
``execute.out_of_memory``.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernels import numerics
from kernels.numerics import Numerics
from runners.contract import (
    EXIT_BAD_INPUT,
    EXIT_CRASHED,
    EXIT_OUT_OF_MEMORY,
    OUT_OF_MEMORY_CODE,
    PREDICTIONS_DIR,
    JobSpec,
    bad_spec,
    format_error,
    measurements_file,
    predictions_file,
)
from runners.job_model import LoadedModel, load
from tasks.errors import GlewError, PlatformError

if TYPE_CHECKING:
    import torch

    from runners.training import Encoding, Tracker

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


@dataclass
class Predicted:
    """What prediction measured, and the rows kept to re-predict one at a time
    afterwards (latency on the first split's rows, batch invariance on all)."""

    seconds: float = 0.0
    examples: int = 0
    tokens: int = 0
    flops_per_example: float | None = None
    sample: list[Encoding] = field(default_factory=list)
    sample_logits: list[torch.Tensor] = field(default_factory=list)
    latency_rows: int = 0


def run_job(spec: JobSpec, tracker: Tracker) -> dict[str, Any]:
    """Fine-tune and predict as the spec says; write predictions; return measurements.

    Everything that could change a score is driven by the spec and its seed,
    so the same spec on the same hardware gives the same predictions. The
    measurements are taken on this run (runners.measure says how).
    """
    import transformers

    from runners import distributed, measure

    seed = int(spec.seed)
    transformers.utils.logging.disable_progress_bar()
    determinism = measure.configure_determinism(seed, tracker.device)
    with tracker.timed("load"):
        loaded = load(spec, tracker)
    tracker.parallel = distributed.plan(loaded.model, tracker.device)
    counts = measure.parameter_counts(loaded.model)
    energy = measure.EnergyMeter(tracker.device)
    stats = train(loaded, seed=seed, tracker=tracker)
    predicted = predict_splits(loaded, tracker=tracker)
    energy_j = energy.stop()
    with tracker.timed("measure"):
        checks = _checks(loaded, predicted, tracker)
    return measurements(
        loaded,
        tracker,
        counts=counts,
        stats=stats,
        predicted=predicted,
        checks=checks,
        energy_j=energy_j,
        determinism=determinism,
    )


def _checks(loaded: LoadedModel, predicted: Predicted, tracker: Tracker) -> dict:
    """Latency at batch 1 and batch invariance, on rows already predicted."""
    import torch

    from runners import measure

    return measure.latency_and_invariance(
        predict=loaded.ops().predict_logits,
        model=loaded.model,
        encodings=predicted.sample,
        reference=(
            torch.cat(predicted.sample_logits)
            if predicted.sample_logits
            else torch.zeros(0, loaded.num_labels)
        ),
        latency_rows=predicted.latency_rows,
        tracker=tracker,
        **loaded.pad,
    )


def train(loaded: LoadedModel, *, seed: int, tracker: Tracker) -> dict[str, Any]:
    """Fine-tune on the spec's training rows (a seeded shuffle, capped at the
    recipe's ``max_train_examples``); returns the training figures."""
    from runners import training

    spec, recipe = loaded.spec, loaded.spec.recipe
    train_path = spec.data.train
    if not train_path:
        return {"train_seconds": 0.0, "train_examples": 0, "train_steps": 0}
    rows = training.read_jsonl(train_path)
    random.Random(seed).shuffle(rows)
    if recipe["max_train_examples"]:
        rows = rows[: int(recipe["max_train_examples"])]
    if loaded.token_task:
        from runners.training import tokens

        labels: list = tokens.train_tags(rows, loaded.num_labels, str(train_path))
    else:
        labels = training.train_labels(
            rows,
            spec.task.type == "regression",
            loaded.num_labels,
            train_path,
            multi_label=spec.task.type == "multilabel_classification",
        )
    with tracker.timed("encode"):
        encodings = loaded.encode(rows, str(train_path), "train")
    with tracker.timed("train"):
        return loaded.ops().train(
            loaded.model,
            encodings,
            labels,
            recipe,
            seed=seed,
            tracker=tracker,
            **loaded.pad,
        )


def predict_splits(loaded: LoadedModel, *, tracker: Tracker) -> Predicted:
    """Predict every split the spec names, in its order, and write each one's
    ``predictions/<split>.jsonl``; the first split's first batch is also the
    untimed warm-up on which forward FLOPs are counted."""
    from runners import measure, training

    spec = loaded.spec
    eval_batch_size = int(spec.recipe["eval_batch_size"])
    multi_label = spec.task.type == "multilabel_classification"
    predicted = Predicted()
    (Path(spec.output_dir) / PREDICTIONS_DIR).mkdir(parents=True, exist_ok=True)
    for number, (split, path) in enumerate(spec.data.predict.items()):
        rows = training.read_jsonl(path)
        with tracker.timed("encode"):
            encodings = loaded.encode(rows, str(path), split)
        if predicted.flops_per_example is None and encodings:
            with tracker.timed("measure"):
                predicted.flops_per_example = measure.warm_up_and_count_flops(
                    loaded.model,
                    encodings,
                    batch_size=eval_batch_size,
                    tracker=tracker,
                    predict=loaded.ops().predict_logits,
                    forward=loaded.ops().forward,
                    **loaded.pad,
                )
        tracker.stage = f"predict {split}"
        start = time.perf_counter()
        with tracker.timed("predict"):
            logits, tokens = loaded.ops().predict_logits(
                loaded.model,
                encodings,
                batch_size=eval_batch_size,
                tracker=tracker,
                **loaded.pad,
            )
        seconds = time.perf_counter() - start
        predicted.seconds += seconds
        predicted.examples += len(rows)
        predicted.tokens += tokens
        if loaded.token_task:
            values: list = loaded.ops().to_tags(logits, encodings)
        else:
            values = training.to_predictions(logits, multi_label=multi_label)
        _write_predictions(predictions_file(spec.output_dir, split), rows, values)
        if number == 0:
            predicted.latency_rows = min(measure.LATENCY_ROWS, len(encodings))
        room = max(0, measure.INVARIANCE_ROWS - len(predicted.sample))
        predicted.sample.extend(encodings[:room])
        kept = room
        if loaded.token_task:  # logits are per word: the sample rows' words
            kept = loaded.ops().sample_words(encodings, room)
        predicted.sample_logits.append(logits[:kept])
        training.emit_progress(
            stage="predict",
            split=split,
            step=tracker.batch,
            total_steps=tracker.batch,
            loss=None,
            examples_per_s=round(len(rows) / max(seconds, 1e-9), 2),
        )
    return predicted


def _write_predictions(path: Path, rows: list[dict[str, Any]], values: list) -> None:
    """One ``{"idx", "prediction"}`` line per row, in the rows' order."""
    with open(path, "w", encoding="utf-8") as out:
        for row, value in zip(rows, values, strict=True):
            out.write(json.dumps({"idx": row["idx"], "prediction": value}) + "\n")


def measurements(
    loaded: LoadedModel,
    tracker: Tracker,
    *,
    counts: tuple[int, int],
    stats: dict[str, Any],
    predicted: Predicted,
    checks: dict[str, Any],
    energy_j: float | None,
    determinism: dict[str, Any],
) -> dict[str, Any]:
    """``measurements.json``: every key of ``runners.contract.MEASUREMENT_KEYS``."""
    from runners import measure, training

    recipe = loaded.spec.recipe

    def rate(amount: float, seconds: float) -> float:
        return amount / seconds if seconds > 0 else 0.0

    return {
        "params": counts[0],
        "trainable_params": counts[1],
        "method": loaded.method,
        "from_scratch": loaded.from_scratch,
        "pooling": loaded.pooling,
        "flops_per_example": predicted.flops_per_example,
        **stats,
        "train_examples_per_s": rate(stats["train_examples"], stats["train_seconds"]),
        "train_batch_size": int(recipe["batch_size"]),
        "gradient_accumulation_steps": int(
            recipe.get("gradient_accumulation_steps") or 1
        ),
        "infer_seconds": predicted.seconds,
        "infer_examples": predicted.examples,
        "infer_examples_per_s": rate(predicted.examples, predicted.seconds),
        "infer_tokens_per_s": rate(predicted.tokens, predicted.seconds),
        "eval_batch_size": int(recipe["eval_batch_size"]),
        "truncated_rows": loaded.truncated_rows,
        "model_max_length": loaded.model_max_length,
        "max_length_used": loaded.row_limit,
        **checks,
        "peak_memory_bytes": training.peak_memory_bytes(tracker.device),
        "energy_j": energy_j,
        "final_train_loss": tracker.final_train_loss,
        "device": tracker.device.type,
        "precision_used": tracker.precision,
        "numerics": tracker.numerics.profile if tracker.numerics else None,
        "numerics_detail": tracker.numerics.detail if tracker.numerics else None,
        "attention_implementation": measure.attention_implementation(loaded.model),
        **training.kernel_measurements(tracker),
        "determinism": determinism,
        "parallel": tracker.parallel.record(),
        "versions": measure.versions(),
        "hardware": measure.hardware(tracker.device),
        "measurement_method": measure.METHODS,
        "stage_seconds": {k: round(v, 3) for k, v in tracker.stage_seconds.items()},
        "process_seconds": round(process_seconds(), 3),
    }


def process_seconds() -> float:
    """Wall seconds since this process started (interpreter start-up included)."""
    import psutil

    return time.time() - psutil.Process().create_time()


def establish_numerics(spec: JobSpec) -> Numerics:
    """Set the spec's thread count, then check and record how this run computes.

    The spec's ``numerics`` profile (kernels.numerics) decides the device and the
    precision; a pinned profile fixes its own thread count. A machine that cannot
    compute in the profile fails here, before the model loads, with a plain reason.
    """
    import torch

    if spec.threads:
        torch.set_num_threads(int(spec.threads))
    try:
        return numerics.establish(spec.numerics, spec.recipe["precision"])
    except numerics.NumericsError as exc:
        raise PlatformError(exc.code, exc.message) from exc


def join_processes(spec: JobSpec, tracker: Tracker) -> JobSpec:
    """Under torchrun, join the other processes (runners.distributed) on this
    rank's device; every rank but 0 writes its outputs to a scratch folder and
    prints no progress, so the job folder gets one set of files and lines."""
    from runners import distributed

    joined = distributed.start(tracker.device.type)
    tracker.device = distributed.device_for(tracker.device)
    if joined is None or joined[0] == 0:
        return spec
    import tempfile

    sys.stdout = open(os.devnull, "w")  # for the rest of the process's life
    scratch = tempfile.mkdtemp(prefix=f"rank{joined[0]}-")
    return replace(spec, output_dir=scratch)


def _fail(code: str, message: str, exit_code: int) -> int:
    """Print the traceback, then the one line the worker parses, and give the exit."""
    traceback.print_exc(file=sys.stderr)
    print(format_error(code, message), file=sys.stderr, flush=True)
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
            raise bad_spec("usage: python -m runners.execute /job/spec.json")
        spec = JobSpec.read(Path(argv[0]))
        started, clock = process_seconds(), time.perf_counter()
        # Imported here so the offline settings above are in place first.
        import torch

        from runners import distributed, training

        tracker = training.Tracker(device=torch.device("cpu"))
        tracker.stage_seconds["start"] = started
        tracker.stage_seconds["imports"] = time.perf_counter() - clock
        with tracker.timed("numerics"):
            tracker.numerics = establish_numerics(spec)
        tracker.device = torch.device(tracker.numerics.device)
        tracker.precision = tracker.numerics.precision
        spec = join_processes(spec, tracker)
        result = run_job(spec, tracker)
        measurements_file(spec.output_dir).write_text(
            json.dumps(result, indent=2) + "\n", encoding="utf-8"
        )
        distributed.finish()
        return 0
    except GlewError as exc:
        oom = exc.code == OUT_OF_MEMORY_CODE
        status = EXIT_OUT_OF_MEMORY if oom else EXIT_BAD_INPUT
        return _fail(exc.code, exc.message, status)
    except Exception as exc:  # every failure must end in one error line
        if training is not None and tracker and training.is_out_of_memory(exc):
            error = training.out_of_memory_error(tracker)
            return _fail(error.code, error.message, EXIT_OUT_OF_MEMORY)
        return _fail("execute.crashed", f"{type(exc).__name__}: {exc}", EXIT_CRASHED)


if __name__ == "__main__":
    sys.exit(main())
