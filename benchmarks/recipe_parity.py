"""Recipe parity: the runner's fine-tuning vs transformers' Trainer, same numbers.

Both train the same model (built once by the runner's ``load_model``: the pooling the
checkpoint declares, a seeded head) with the same recipe (``standard`` by default:
its learning rate, batch, epochs, warmup, weight decay, clipping, precision) on the
same rows (the platform's importer on the real GLUE files), and both are scored with
the platform's metrics on the full dev set. They should agree within noise: the
difference of their dev metrics is compared with two standard errors of a paired
bootstrap over the dev rows. Where a published figure exists for this architecture
(MiniLM 6x384, XtremeDistil's comparison table; CoLA: the 12-layer MiniLM) it is
printed beside them.

Not a timed test: it runs for tens of minutes on a CPU. It ends with the Trainer's
time over ours (``speedup: X.XX``) like the other benchmarks.

    .venv/bin/python benchmarks/recipe_parity.py [--tasks rte,mrpc,stsb,cola]
        [--recipe standard] [--seed 0] [--precision bf16|fp32] [--train-limit N]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import quiet_setup, speedup_line  # noqa: E402
from benchlib.runner import (  # noqa: E402
    build,
    encode,
    load_rows,
    run_ours,
    task_score,
)

PUBLISHED = {
    "glue/rte": ("accuracy", 0.689),
    "glue/mrpc": ("accuracy", 0.866),
    "glue/sst2": ("accuracy", 0.913),
    "glue/qnli": ("accuracy", 0.906),
    "glue/cola": ("matthews_corrcoef", 0.585),
}
"""MiniLM-L6-H384 on GLUE dev as published (XtremeDistil model card's comparison
table; MRPC as accuracy there); CoLA is the 12-layer MiniLM's (no 6-layer figure)."""

BOOTSTRAP = 1000


def run_trainer(spec, recipe, train_rows, dev_rows, seed, precision):
    """transformers' Trainer on the same model, rows and hyperparameters."""
    import numpy as np
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from kernels import packed

    tokenizer, model, _ = build(spec, recipe, seed)

    class WithLoss(torch.nn.Module):
        """The runner's model, with the runner's loss, as the Trainer wants it."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, labels=None, **batch):
            logits = self.inner(**batch).logits
            if labels is None:
                return {"logits": logits}
            loss = packed.sequence_loss(self.inner, logits.float(), labels)
            return {"loss": loss, "logits": logits}

    rows = list(train_rows)
    random.Random(seed).shuffle(rows)
    if recipe["max_train_examples"]:
        rows = rows[: recipe["max_train_examples"]]
    dtype = torch.float32 if spec.type == "regression" else torch.long

    def dataset(part, labelled):
        out = []
        for row, enc in zip(
            part, encode(tokenizer, spec, part, recipe["max_length"]), strict=True
        ):
            item = dict(enc)
            if labelled:
                item["labels"] = torch.tensor(row["label"], dtype=dtype)
            out.append(item)
        return out

    steps = recipe["epochs"] * math.ceil(len(rows) / recipe["batch_size"])
    with tempfile.TemporaryDirectory() as workdir:
        args = TrainingArguments(
            output_dir=workdir,
            per_device_train_batch_size=recipe["batch_size"],
            per_device_eval_batch_size=recipe["eval_batch_size"],
            learning_rate=recipe["learning_rate"],
            num_train_epochs=recipe["epochs"],
            max_steps=recipe["max_steps"] or -1,
            warmup_steps=math.ceil(steps * recipe["warmup_ratio"]),
            weight_decay=recipe["weight_decay"],
            max_grad_norm=1.0,
            seed=seed,
            use_cpu=True,
            bf16=precision == "bf16",
            report_to=[],
            save_strategy="no",
            logging_strategy="no",
            eval_strategy="no",
            disable_tqdm=True,
            dataloader_num_workers=0,
            # The wrapper takes **batch: keep every column the collator pads.
            remove_unused_columns=False,
        )
        trainer = Trainer(
            model=WithLoss(model),
            args=args,
            train_dataset=dataset(rows, True),
            data_collator=DataCollatorWithPadding(tokenizer),
        )
        start = time.perf_counter()
        trainer.train()
        output = trainer.predict(dataset(dev_rows, False))
        seconds = time.perf_counter() - start
    logits = np.asarray(output.predictions)
    if spec.type == "regression":
        return seconds, [float(v) for v in logits.reshape(-1)]
    return seconds, logits.argmax(-1).tolist()


def paired_se(spec, ours, theirs, references, seed=0):
    """Standard error of (ours - theirs) by a paired bootstrap over dev rows."""
    rng = random.Random(seed)
    n = len(references)
    diffs = []
    for _ in range(BOOTSTRAP):
        idx = [rng.randrange(n) for _ in range(n)]
        refs = [references[i] for i in idx]
        try:
            a, _ = task_score(spec, [ours[i] for i in idx], refs)
            b, _ = task_score(spec, [theirs[i] for i in idx], refs)
        except Exception:  # a resample a correlation cannot be computed on
            continue
        diffs.append(a - b)
    mean = sum(diffs) / len(diffs)
    return math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="rte,mrpc,stsb,cola")
    parser.add_argument("--recipe", default="standard")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", choices=("bf16", "fp32"), default=None)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    quiet_setup(args.threads)
    import torch

    from kernels import precision as precisions
    from runners.recipes import get_recipe

    total_ours = total_trainer = 0.0
    within = True
    for short in args.tasks.split(","):
        name = short if "/" in short else f"glue/{short}"
        spec, train_rows, dev_rows = load_rows(name)
        if args.train_limit:
            train_rows = train_rows[: args.train_limit]
        recipe = get_recipe(args.recipe, task_name=name, task_type=spec.type).to_dict()
        wanted = args.precision or recipe["precision"]
        used = precisions.resolve(wanted, torch.device("cpu"))
        references = [r["label"] for r in dev_rows]
        ours_s, ours = run_ours(spec, recipe, train_rows, dev_rows, args.seed, used)
        theirs_s, theirs = run_trainer(
            spec, recipe, train_rows, dev_rows, args.seed, used
        )
        a, ours_scores = task_score(spec, ours, references)
        b, their_scores = task_score(spec, theirs, references)
        se = paired_se(spec, ours, theirs, references, seed=args.seed)
        within &= abs(a - b) <= 2 * se
        published = PUBLISHED.get(name)
        shown = f" | published {published[0]} {published[1]:.3f}" if published else ""
        print(
            f"{name} ({recipe['version']}, {used}, seed {args.seed}, "
            f"{len(train_rows)} train / {len(dev_rows)} dev rows): "
            f"ours {a:.4f} {ours_scores} in {ours_s:.0f} s | "
            f"Trainer {b:.4f} {their_scores} in {theirs_s:.0f} s | "
            f"difference {a - b:+.4f} (2 s.e. {2 * se:.4f}){shown}",
            flush=True,
        )
        total_ours += ours_s
        total_trainer += theirs_s
    print(f"parity: {'every task within' if within else 'NOT all within'} 2 s.e.")
    print(speedup_line(total_trainer, total_ours))
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
