"""Scoring throughput: the runner's prediction path vs ``transformers.pipeline``.

Both score the same GLUE dev rows (SST-2 single sentences, RTE pairs) with the
same MiniLM classifier (all-MiniLM-L6-v2 with a seeded classification head) at
batch 32, tokenization included. Baseline: ``pipeline("text-classification",
batch_size=32)`` in fp32, as it runs by default. Ours: ``runners.training.encode``
+ ``runners.training.predict`` (length-sorted token-budget batches, packed
padding-free forward when the model allows it) in the standard recipe's
precision, bf16 (autocast where the device multiplies bf16 natively, else fp32:
kernels.precision); ``--precision fp32`` times ours in fp32 (unpinned kernels).
``--pipeline-bf16`` also times the pipeline under bf16 autocast, as a reference
(printed, not in the speedup).

Prints rows/s for each, how many predictions agree, our forward's achieved FLOP
rate (from the token counts) against the rate of fp32 matrix multiplies of the
model's own shapes timed in the same run (``benchlib.flops``), and ends with
``speedup: X.XX`` (total baseline seconds / total ours seconds).

    .venv/bin/python benchmarks/inference_vs_pipeline.py [--precision bf16|fp32] \
        [--pipeline-bf16] [--sst2-dev N] [--rte-dev N]
"""

from __future__ import annotations

import argparse
import sys
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
from benchlib.flops import rate_line  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sst2-dev", type=int, default=872, help="SST-2 dev rows")
    parser.add_argument("--rte-dev", type=int, default=277, help="RTE dev rows")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs")
    add_precision_option(parser)
    parser.add_argument(
        "--pipeline-bf16",
        action="store_true",
        help="also time the pipeline under bf16 autocast (reference only)",
    )
    args = parser.parse_args()
    tokenizer = quiet_setup(args.threads)

    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification

    from kernels import precision
    from kernels.batching import inference_plan
    from runners import training

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        minilm_dir(), num_labels=2, dtype=torch.float32
    ).eval()
    classifier = transformers.pipeline(
        "text-classification", model=model, tokenizer=tokenizer, device="cpu"
    )
    used = resolved_precision(args.precision)
    tracker = training.Tracker(device=torch.device("cpu"), precision=used)
    pad = {"pad_id": tokenizer.pad_token_id, "padding_side": tokenizer.padding_side}

    total_base = total_ours = 0.0
    for task, limit in (("sst2", args.sst2_dev), ("rte", args.rte_dev)):
        rows = read_glue(task, "dev", limit)
        fields = text_fields(task)
        if len(fields) == 1:
            inputs = [r[fields[0]] for r in rows]
        else:
            inputs = [{"text": r[fields[0]], "text_pair": r[fields[1]]} for r in rows]

        def baseline(inputs=inputs, bf16=False):
            context = precision.autocast(
                precision.BF16 if bf16 else precision.FP32, torch.device("cpu")
            )
            with context:
                out = classifier(
                    inputs, batch_size=args.batch_size, truncation=True, max_length=128
                )
            return [int(o["label"].rsplit("_", 1)[-1]) for o in out]

        forward = {"seconds": float("inf")}

        def ours(rows=rows, fields=fields, forward=forward):
            encodings = training.encode(tokenizer, rows, fields, 128, "dev")
            start = time.perf_counter()
            values, _ = training.predict(
                model, encodings, batch_size=args.batch_size, tracker=tracker, **pad
            )
            seconds = time.perf_counter() - start
            forward["seconds"] = min(forward["seconds"], seconds)
            forward["lengths"] = [training.row_length(e) for e in encodings]
            return values

        base_s, base_pred = _best(baseline, args.repeats)
        ours_s, ours_pred = _best(ours, args.repeats)
        agree = sum(a == b for a, b in zip(base_pred, ours_pred, strict=True))
        print(
            f"{task}: {len(rows)} rows | pipeline {len(rows) / base_s:.1f} rows/s "
            f"({base_s:.2f} s) | ours [{tracker.execution_path}] "
            f"{len(rows) / ours_s:.1f} rows/s ({ours_s:.2f} s) | "
            f"x{base_s / ours_s:.2f} | predictions agree {agree}/{len(rows)}"
        )
        lengths = forward["lengths"]
        batches = len(inference_plan(lengths, batch_size=args.batch_size)[0])
        print(rate_line(model.config, lengths, forward["seconds"], batches))
        if args.pipeline_bf16:
            ref_s, _ = _best(lambda: baseline(bf16=True), args.repeats)
            print(
                f"  reference, pipeline under bf16 autocast: "
                f"{len(rows) / ref_s:.1f} rows/s ({ref_s:.2f} s); "
                f"ours x{ref_s / ours_s:.2f}"
            )
        total_base += base_s
        total_ours += ours_s
    print(f"total: pipeline {total_base:.2f} s, ours {total_ours:.2f} s")
    print(speedup_line(total_base, total_ours))
    return 0


def _best(fn, repeats):
    best, result = float("inf"), None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


if __name__ == "__main__":
    sys.exit(main())
