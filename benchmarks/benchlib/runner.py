"""The runner's own fine-tuning, in-process, for the recipe benchmarks.

Rows come from the platform's importer on the real GLUE files, the model from the
runner's ``load_model`` (the pooling the checkpoint declares, a seeded head), the
training and prediction from ``runners.training``: what a sandboxed job does,
without the sandbox, so several runs can be compared in one process.
"""

from __future__ import annotations

import random
import time

from benchlib import GLUE_DIR, minilm_dir


def load_rows(task_name: str):
    """The task's spec and its train and dev rows, read by the platform's importer."""
    from tasks.importers.loading import load_task
    from tasks.registry import get_task

    spec = get_task(task_name)
    dataset = load_task(task_name, GLUE_DIR)
    return spec, dataset.splits[spec.train_split], dataset.splits[spec.eval_splits[0]]


def build(spec, recipe: dict, seed: int):
    """The runner's model for the task, seeded (identical for both loops)."""
    from runners import training

    training.seed_everything(seed)
    num_labels = 1 if spec.type == "regression" else spec.num_labels
    tokenizer, model, _, pooling = training.load_model(
        minilm_dir(), task_type=spec.type, num_labels=num_labels
    )
    return tokenizer, model, pooling


def encode(tokenizer, spec, rows, max_length):
    from runners import training

    encodings, _ = training.encode_rows(
        rows, spec.text_fields, max_length, "bench", tokenizer=tokenizer
    )
    return encodings


def run_ours(spec, recipe, train_rows, dev_rows, seed, precision):
    """The sandbox's own functions: the seeded shuffle, train, predict."""
    import torch

    from runners import training

    tokenizer, model, _ = build(spec, recipe, seed)
    rows = list(train_rows)
    random.Random(seed).shuffle(rows)
    if recipe["max_train_examples"]:
        rows = rows[: recipe["max_train_examples"]]
    labels = training.train_labels(
        rows, spec.type == "regression", model.config.num_labels, "bench"
    )
    tracker = training.Tracker(device=torch.device("cpu"), precision=precision)
    pad = {"pad_id": tokenizer.pad_token_id, "padding_side": tokenizer.padding_side}
    start = time.perf_counter()
    training.train(
        model,
        encode(tokenizer, spec, rows, recipe["max_length"]),
        labels,
        recipe,
        seed=seed,
        tracker=tracker,
        **pad,
    )
    logits, _ = training.predict_logits(
        model,
        encode(tokenizer, spec, dev_rows, recipe["max_length"]),
        batch_size=recipe["eval_batch_size"],
        tracker=tracker,
        **pad,
    )
    seconds = time.perf_counter() - start
    return seconds, training.to_predictions(logits, multi_label=False)


def task_score(spec, predictions, references):
    from tasks import scoring

    split = spec.eval_splits[0]
    scores = scoring.score_predictions(spec, {split: predictions}, {split: references})
    return scoring.task_score(spec, scores), scores
