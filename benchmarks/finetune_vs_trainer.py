"""Fine-tune + score: the runner's path vs the Hugging Face Trainer (run_glue style).

The real all-MiniLM-L6-v2 is fine-tuned on seeded subsets of the real SST-2 and
RTE training files and scores their dev sets, twice per task, from the same
weights (same seed for the new classification head) with the same
hyperparameters (batch 32, lr 5e-5, 1 epoch, 10% linear warmup, weight decay
0.01, grad clip 1.0, AdamW, max length 128):

* baseline: ``transformers.Trainer`` as the run_glue example drives it by default
  (every row padded to max_length 128, fp32, eval batch 32);
* ours: ``runners.training.train`` + ``runners.training.predict``, the code the
  sandbox runs (length-bucketed batches of the same 32 rows per step, packed
  padding-free forward for BERT-family models, token-budget eval batches) in the
  precision the standard recipe computes in, bf16 (autocast where the device
  multiplies bf16 natively, else fp32: kernels.precision; a platform job would be
  refused there instead). ``--precision fp32`` times ours in fp32 (unpinned
  kernels; the smoke and quick jobs pin AVX2 kernels: kernels/numerics.py).

``--trainer-bf16`` also times the Trainer with ``bf16=True`` (autocast, still
padded to 128), as a reference a user could reach with one flag; it is printed,
not counted in the speedup.

Times include model loading and tokenization. Prints each path's seconds and dev
accuracy (with two standard errors of the accuracy difference, the noise level),
then ``speedup: X.XX`` (total baseline seconds / total ours seconds).

    .venv/bin/python benchmarks/finetune_vs_trainer.py [--precision bf16|fp32] \
        [--trainer-bf16] [--sst2-train N] [--sst2-dev N] [--rte-train N] [--rte-dev N]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    add_precision_option,
    minilm_dir,
    quiet_setup,
    read_glue,
    resolved_precision,
    speedup_line,
    text_fields,
)

HPARAMS = {
    "learning_rate": 5e-5,
    "batch_size": 32,
    "eval_batch_size": 32,
    "epochs": 1,
    "max_steps": None,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "max_length": 128,
}
SEED = 0


def _load(num_labels):
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(SEED)
    return AutoModelForSequenceClassification.from_pretrained(
        minilm_dir(), num_labels=num_labels, dtype=torch.float32
    )


def run_trainer(tokenizer, train_rows, dev_rows, fields, workdir, bf16=False):
    """run_glue's defaults: pad_to_max_length=True (128), Trainer loop (fp32
    unless ``bf16``, the Trainer's own bf16 autocast flag)."""
    import numpy as np
    from transformers import Trainer, TrainingArguments

    start = time.perf_counter()
    model = _load(2)

    def encode(rows):
        columns = [[r[f] for r in rows] for f in fields]
        enc = tokenizer(
            *columns,
            padding="max_length",
            max_length=HPARAMS["max_length"],
            truncation=True,
        )
        return [
            {**{k: enc[k][i] for k in enc}, "labels": rows[i]["label"]}
            for i in range(len(rows))
        ]

    steps = HPARAMS["epochs"] * math.ceil(len(train_rows) / HPARAMS["batch_size"])
    args = TrainingArguments(
        output_dir=str(workdir),
        per_device_train_batch_size=HPARAMS["batch_size"],
        per_device_eval_batch_size=HPARAMS["eval_batch_size"],
        learning_rate=HPARAMS["learning_rate"],
        num_train_epochs=HPARAMS["epochs"],
        warmup_steps=math.ceil(steps * HPARAMS["warmup_ratio"]),
        weight_decay=HPARAMS["weight_decay"],
        max_grad_norm=1.0,
        seed=SEED,
        use_cpu=True,
        bf16=bf16,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        eval_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=encode(train_rows))
    trainer.train()
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    output = trainer.predict(encode(dev_rows))
    predictions = np.argmax(output.predictions, axis=-1).tolist()
    return train_s, time.perf_counter() - start, predictions


def run_ours(tokenizer, train_rows, dev_rows, fields, precision):
    """The sandbox's own functions (runners.training), not a copy."""
    import torch

    from runners import training

    start = time.perf_counter()
    model = _load(2)
    tracker = training.Tracker(device=torch.device("cpu"), precision=precision)
    pad = {"pad_id": tokenizer.pad_token_id, "padding_side": tokenizer.padding_side}
    encodings = training.encode(
        tokenizer, train_rows, fields, HPARAMS["max_length"], "train"
    )
    labels = [r["label"] for r in train_rows]
    training.train(model, encodings, labels, HPARAMS, seed=SEED, tracker=tracker, **pad)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    encodings = training.encode(
        tokenizer, dev_rows, fields, HPARAMS["max_length"], "dev"
    )
    predictions, _ = training.predict(
        model,
        encodings,
        batch_size=HPARAMS["eval_batch_size"],
        tracker=tracker,
        **pad,
    )
    return train_s, time.perf_counter() - start, predictions, tracker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sst2-train", type=int, default=2000)
    parser.add_argument("--sst2-dev", type=int, default=None, help="default: all")
    parser.add_argument("--rte-train", type=int, default=500)
    parser.add_argument("--rte-dev", type=int, default=None, help="default: all")
    parser.add_argument("--threads", type=int, default=2)
    add_precision_option(parser)
    parser.add_argument(
        "--trainer-bf16",
        action="store_true",
        help="also time the Trainer with bf16=True (reference, not in the speedup)",
    )
    args = parser.parse_args()
    tokenizer = quiet_setup(args.threads)
    used = resolved_precision(args.precision)

    sizes = {
        "sst2": (args.sst2_train, args.sst2_dev),
        "rte": (args.rte_train, args.rte_dev),
    }
    total_base = total_ours = 0.0
    for task, (n_train, n_dev) in sizes.items():
        train_rows = read_glue(task, "train", n_train, seed=SEED)
        dev_rows = read_glue(task, "dev", n_dev, seed=SEED)
        fields = text_fields(task)
        gold = [r["label"] for r in dev_rows]
        with tempfile.TemporaryDirectory() as workdir:
            b_train, b_pred, b_out = run_trainer(
                tokenizer, train_rows, dev_rows, fields, workdir
            )
        o_train, o_pred, o_out, tracker = run_ours(
            tokenizer, train_rows, dev_rows, fields, used
        )
        b_acc, o_acc = _accuracy(b_out, gold), _accuracy(o_out, gold)
        base, ours = b_train + b_pred, o_train + o_pred
        print(
            f"{task}: train {len(train_rows)} / dev {len(dev_rows)} rows\n"
            f"  Trainer (pad 128, fp32): train {b_train:.1f} s + predict "
            f"{b_pred:.1f} s = {base:.1f} s, dev accuracy {b_acc:.4f}\n"
            f"  ours [{tracker.execution_path}, {tracker.precision}, padding waste "
            f"{tracker.padding.waste:.3f}]: train {o_train:.1f} s + predict "
            f"{o_pred:.1f} s = {ours:.1f} s, dev accuracy {o_acc:.4f}\n"
            f"  accuracy difference {o_acc - b_acc:+.4f} "
            f"(noise: 2 s.e. = {_two_se(b_acc, o_acc, len(gold)):.4f})\n"
            f"  x{base / ours:.2f}"
        )
        if args.trainer_bf16:
            with tempfile.TemporaryDirectory() as workdir:
                r_train, r_pred, r_out = run_trainer(
                    tokenizer, train_rows, dev_rows, fields, workdir, bf16=True
                )
            ref = r_train + r_pred
            print(
                f"  reference, Trainer bf16=True (pad 128): {ref:.1f} s, dev accuracy "
                f"{_accuracy(r_out, gold):.4f}; ours x{ref / ours:.2f}"
            )
        total_base += base
        total_ours += ours
    print(f"total: Trainer {total_base:.1f} s, ours {total_ours:.1f} s")
    print(speedup_line(total_base, total_ours))
    return 0


def _accuracy(predictions, gold):
    return sum(p == g for p, g in zip(predictions, gold, strict=True)) / len(gold)


def _two_se(a, b, n):
    """Two standard errors of the difference of two accuracies on ``n`` rows
    (treated as independent: a generous band for paired runs)."""
    return 2 * math.sqrt((a * (1 - a) + b * (1 - b)) / n)


if __name__ == "__main__":
    sys.exit(main())
