"""Per architecture: the padded baseline vs ours, for fine-tuning and scoring.

Every architecture Glew fine-tunes (``runners.architectures``) is built as a
random MiniLM-sized classifier (6 layers, hidden 384, 12 heads, feed-forward
1536; each family's own layout around that: ELECTRA and ALBERT embed in 128,
DeBERTa in the v3 layout, ModernBERT with its local and global layers) and runs
the same rows twice, from the same weights, in fp32:

* baseline: what a Hugging Face user gets: batches of 32 rows in shuffled order
  (scoring: in input order), each padded to its longest row (Trainer with
  ``DataCollatorWithPadding``, pipelines), the model's own forward with SDPA
  attention where the architecture has it, AdamW;
* ours: ``runners.training.train`` and ``runners.training.predict_logits``, the
  code the sandbox runs: length-bucketed steps of the same 32 rows and
  token-budget scoring batches, padding-free (``kernels.packed``) for the
  families that have a packed forward, padded per bucket for the others.

The rows are the real SST-2 and RTE files (single sentences and pairs, cut at
128 tokens), tokenized once with MiniLM's tokenizer so every architecture sees
the same token ids; the tokenizer is not what is measured.

Parity, per architecture: scoring logits of the two paths on every row (largest
absolute difference, argmax agreement), and the gradients of one 32-row batch
through our forward and through the padded one, in eval mode (no dropout;
largest absolute difference relative to the largest gradient).

Prints one line per architecture, the geometric mean of the BERT-layout families
(target >= 2.0 in fp32 on a CPU), and ends with ``speedup: X.XX``: the geometric
mean over all architectures of baseline seconds / ours seconds (fine-tuning plus
scoring).

    .venv/bin/python benchmarks/architectures.py [--train N] [--dev N] \
        [--only bert,roberta] [--repeats N]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import inspect
import io
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import quiet_setup, read_glue, text_fields  # noqa: E402

MINILM = {
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
}
LAYOUTS = {
    "bert": {},
    "roberta": {},
    "xlm-roberta": {},
    "camembert": {},
    "electra": {"embedding_size": 128},
    "modernbert": {
        "global_attn_every_n_layers": 3,
        "local_attention": 128,
        "reference_compile": False,
    },
    "distilbert": {},
    "albert": {"embedding_size": 128},
    "mpnet": {},
    "deberta-v2": {
        "relative_attention": True,
        "position_buckets": 256,
        "max_relative_positions": -1,
        "pos_att_type": ["p2c", "c2p"],
        "norm_rel_ebd": "layer_norm",
        "share_att_key": True,
        "position_biased_input": False,
        "type_vocab_size": 0,
    },
}
"""Each family's MiniLM-sized layout (extra config keys over :data:`MINILM`)."""

BERT_LAYOUT = ("bert", "roberta", "xlm-roberta", "camembert", "electra")
RECIPE = {
    "learning_rate": 5e-5,
    "batch_size": 32,
    "epochs": 1,
    "max_steps": None,
    "warmup_ratio": 0.0,
    "weight_decay": 0.01,
}
MAX_LENGTH = 128
TASKS = ("sst2", "rte")
SEED = 0


def build_model(model_type: str, tokenizer):
    """A seeded random classifier of ``model_type``, MiniLM-sized, with SDPA
    attention where the architecture has it (as the runner builds it)."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    sizes = dict(MINILM)
    if model_type == "distilbert":  # the same sizes under DistilBERT's names
        names = ("dim", "n_layers", "n_heads", "hidden_dim")
        sizes = dict(zip(names, MINILM.values(), strict=True))
    ids = {
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.cls_token_id,
        "eos_token_id": tokenizer.sep_token_id,
    }
    if model_type == "modernbert":
        ids.update(cls_token_id=tokenizer.cls_token_id)
        ids.update(sep_token_id=tokenizer.sep_token_id)
    if "type_vocab_size" not in LAYOUTS[model_type] and model_type != "distilbert":
        sizes["type_vocab_size"] = 2  # MiniLM's tokenizer marks pairs 0 / 1
    config = AutoConfig.for_model(
        model_type,
        vocab_size=tokenizer.vocab_size,
        max_position_embeddings=MAX_LENGTH + 4,
        num_labels=2,
        **ids,
        **sizes,
        **LAYOUTS[model_type],
    )
    torch.manual_seed(SEED)
    try:
        model = AutoModelForSequenceClassification.from_config(
            copy.deepcopy(config), attn_implementation="sdpa"
        )
    except ValueError:  # no SDPA for this architecture (DeBERTa, MPNet)
        model = AutoModelForSequenceClassification.from_config(config)
    return model.float()


def load_rows(tokenizer, train: int, dev: int):
    """Per task (SST-2, RTE): encodings and labels of ``train`` rows of its train
    file and ``dev`` rows of its dev file (seeded subsets, in shuffled order: the
    baseline's order)."""
    from runners import training

    data = {}
    for task in TASKS:
        data[task] = {}
        for split, limit in (("train", train), ("dev", dev)):
            rows = read_glue(task, split, limit, seed=SEED)
            random.Random(SEED).shuffle(rows)
            fields = text_fields(task)
            encodings = training.encode(tokenizer, rows, fields, MAX_LENGTH, task)
            data[task][split] = (encodings, [r["label"] for r in rows])
    return data


def fit_inputs(model, encodings):
    """Drop the token types a model's forward does not take (DistilBERT, MPNet,
    ModernBERT), as their own tokenizers would not return them."""
    if "token_type_ids" in inspect.signature(model.forward).parameters:
        return encodings
    return [{k: v for k, v in e.items() if k != "token_type_ids"} for e in encodings]


def train_padded(model, encodings, labels, pad_id):
    """The baseline's fine-tuning: batches of 32 in the given (shuffled) order,
    each padded to its longest row, AdamW with the same clipping."""
    import torch
    import torch.nn.functional as F

    from runners import training

    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=RECIPE["learning_rate"],
        weight_decay=RECIPE["weight_decay"],
    )
    model.train()
    size = RECIPE["batch_size"]
    for start in range(0, len(encodings), size):
        batch = training.collate(encodings[start : start + size], pad_id, "right")
        target = torch.tensor(labels[start : start + size])
        loss = F.cross_entropy(model(**batch).logits, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def train_ours(model, encodings, labels, pad_id):
    """Ours: the sandbox's training loop (its progress lines silenced)."""
    import torch

    from runners import training

    tracker = training.Tracker(device=torch.device("cpu"), precision="fp32")
    with contextlib.redirect_stdout(io.StringIO()):
        training.train(
            model,
            encodings,
            labels,
            RECIPE,
            seed=SEED,
            pad_id=pad_id,
            padding_side="right",
            tracker=tracker,
        )
    return tracker.execution_path


def score_padded(model, encodings, pad_id):
    """The baseline's scoring: batches of 32 in input order, padded to longest."""
    import torch

    from runners import training

    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(encodings), 32):
            batch = training.collate(encodings[start : start + 32], pad_id, "right")
            out.append(model(**batch).logits)
    return torch.cat(out)


def score_ours(model, encodings, pad_id):
    """Ours: the sandbox's prediction path (logits back in input order)."""
    import torch

    from runners import training

    tracker = training.Tracker(device=torch.device("cpu"), precision="fp32")
    logits, _ = training.predict_logits(
        model,
        encodings,
        batch_size=32,
        pad_id=pad_id,
        padding_side="right",
        tracker=tracker,
    )
    return logits


def gradient_gap(model, encodings, labels, pad_id) -> float:
    """Largest gradient difference between our forward and the padded one on
    one batch, relative to the largest gradient (eval mode: no dropout)."""
    import torch
    import torch.nn.functional as F

    from runners import training

    tracker = training.Tracker(device=torch.device("cpu"), precision="fp32")
    target = torch.tensor(labels)
    grads = []
    for ours in (True, False):
        model.eval()
        model.zero_grad(set_to_none=True)
        if ours:
            logits = training.forward(
                model, encodings, pad_id=pad_id, padding_side="right", tracker=tracker
            )
        else:
            logits = model(**training.collate(encodings, pad_id, "right")).logits
        F.cross_entropy(logits, target).backward()
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    model.zero_grad(set_to_none=True)
    scale = max(g.abs().max().item() for g in grads[1])
    gap = max((a - b).abs().max().item() for a, b in zip(*grads, strict=True))
    return gap / scale


def _best(repeats: int, fn, *args):
    best, result = float("inf"), None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def _fine_tune(train, model, encodings, labels, pad_id):
    """``train`` (either path) on a copy of ``model``: each run starts afresh."""
    return train(copy.deepcopy(model), encodings, labels, pad_id)


def bench_task(model, task_data, pad_id: int, repeats: int) -> dict:
    """Both paths on one task: seconds (baseline, ours), ours' path, parity."""
    train_enc, labels = task_data["train"]
    train_enc = fit_inputs(model, train_enc)
    dev_enc = fit_inputs(model, task_data["dev"][0])
    first = RECIPE["batch_size"]
    grad = gradient_gap(model, train_enc[:first], labels[:first], pad_id)
    base_train, _ = _best(
        repeats, _fine_tune, train_padded, model, train_enc, labels, pad_id
    )
    ours_train, path = _best(
        repeats, _fine_tune, train_ours, model, train_enc, labels, pad_id
    )
    base_score, base = _best(repeats, score_padded, model, dev_enc, pad_id)
    ours_score, ours = _best(repeats, score_ours, model, dev_enc, pad_id)
    return {
        "path": path,
        "train": (base_train, ours_train),
        "score": (base_score, ours_score),
        "grad_gap": grad,
        "logit_gap": (base - ours).abs().max().item(),
        "agree": int((base.argmax(-1) == ours.argmax(-1)).sum()),
        "rows": len(dev_enc),
    }


def bench(model_type: str, tokenizer, data, repeats: int) -> dict:
    """One architecture on each task: seconds summed over tasks, parity the
    worst over tasks."""
    pad_id = tokenizer.pad_token_id
    model = build_model(model_type, tokenizer)
    runs = [bench_task(model, data[task], pad_id, repeats) for task in data]
    return {
        "path": runs[0]["path"],
        "train": tuple(sum(r["train"][k] for r in runs) for k in (0, 1)),
        "score": tuple(sum(r["score"][k] for r in runs) for k in (0, 1)),
        "grad_gap": max(r["grad_gap"] for r in runs),
        "logit_gap": max(r["logit_gap"] for r in runs),
        "agree": sum(r["agree"] for r in runs),
        "rows": sum(r["rows"] for r in runs),
    }


def report(model_type: str, r: dict) -> float:
    """Print one architecture's line; return its overall speedup."""
    (bt, ot), (bs, os_) = r["train"], r["score"]
    total = (bt + bs) / (ot + os_)
    print(
        f"{model_type:<12}[{r['path']:<11}] "
        f"fine-tune {bt:6.2f} s -> {ot:6.2f} s x{bt / ot:.2f} | "
        f"score {bs:5.2f} s -> {os_:5.2f} s x{bs / os_:.2f} | total x{total:.2f} | "
        f"logits max|d| {r['logit_gap']:.1e}, agree {r['agree']}/{r['rows']}, "
        f"grad max|d|/max {r['grad_gap']:.1e}",
        flush=True,
    )
    return total


def geomean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=64, help="train rows per task")
    parser.add_argument("--dev", type=int, default=64, help="dev rows per task")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs")
    parser.add_argument("--only", default="", help="comma-separated model types")
    args = parser.parse_args()
    tokenizer = quiet_setup(args.threads)

    from runners.architectures import ARCHITECTURES

    chosen = [m for m in LAYOUTS if not args.only or m in args.only.split(",")]
    if set(LAYOUTS) != set(ARCHITECTURES):
        raise SystemExit("LAYOUTS must name every supported architecture")
    data = load_rows(tokenizer, args.train, args.dev)
    print(
        f"fp32, {args.threads} threads; per task (SST-2, RTE): fine-tune "
        f"{args.train} train rows, score {args.dev} dev rows; seconds summed "
        "over tasks, padded baseline -> ours"
    )
    totals = {m: report(m, bench(m, tokenizer, data, args.repeats)) for m in chosen}
    bert_layout = [totals[m] for m in BERT_LAYOUT if m in totals]
    if bert_layout:
        print(f"BERT-layout families: geometric mean x{geomean(bert_layout):.2f}")
    print(f"speedup: {geomean(totals.values()):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
