"""Padding waste (tokens computed / real tokens) of each batching path on GLUE.

For every GLUE task under the data folder, the rows' lengths come from the
MiniLM tokenizer (truncated at 128, pairs joined as the runner encodes them),
and each path's plan is costed with ``kernels.accounting.padding_waste``:

* ``pad128``: every row padded to 128 (run_glue's default);
* ``dynamic``: shuffled batches of 32 padded to their longest row (Trainer with
  DataCollatorWithPadding, pipelines);
* ``bucketed``: ``kernels.batching.train_batches`` (32 rows, length-sorted buckets),
  padded (the runner's fallback for non-BERT models, training);
* ``budget``: ``kernels.batching.inference_plan`` (the runner's prediction plan),
  padded (fallback, prediction);
* ``packed``: the packed path (``kernels.packed``) computes real tokens only.

Ends with ``speedup: X.XX``: pad128's computed tokens / packed's, over all tasks.

    .venv/bin/python benchmarks/padding.py [--split train|dev|both] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import GLUE_DIR, TASKS, minilm_dir, read_glue, text_fields  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("train", "dev", "both"), default="both")
    parser.add_argument("--limit", type=int, default=20000, help="rows per split")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from transformers import AutoTokenizer

    from kernels.accounting import padding_waste
    from kernels.batching import inference_plan, train_batches

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    splits = ("train", "dev") if args.split == "both" else (args.split,)
    bs = args.batch_size
    header = f"{'task/split':<14}{'rows':>7}{'mean len':>9}"
    paths = ("pad128", "dynamic", "bucketed", "budget", "packed")
    print(header + "".join(f"{p:>10}" for p in paths))
    base_tokens = packed_tokens = 0
    worst_ours = 1.0
    for task, spec in TASKS.items():
        for split in splits:
            if not (GLUE_DIR / spec["folder"] / f"{split}.tsv").is_file():
                continue
            rows = read_glue(task, split, args.limit)
            columns = [[r[f] for r in rows] for f in text_fields(task)]
            enc = tokenizer(*columns, truncation=True, max_length=128)
            lengths = [len(ids) for ids in enc["input_ids"]]
            order = list(range(len(lengths)))
            random.Random(0).shuffle(order)
            dynamic = [order[i : i + bs] for i in range(0, len(order), bs)]
            everything = [list(range(len(lengths)))]
            waste = {
                "pad128": padding_waste(lengths, everything, pad_to=128),
                "dynamic": padding_waste(lengths, dynamic),
                "bucketed": padding_waste(
                    lengths, train_batches(lengths, batch_size=bs, seed=0)
                ),
                "budget": padding_waste(
                    lengths, inference_plan(lengths, batch_size=bs)[0]
                ),
                "packed": padding_waste(lengths, everything, packed=True),
            }
            worst_ours = max(worst_ours, waste["bucketed"], waste["budget"])
            base_tokens += len(lengths) * 128
            packed_tokens += sum(lengths)
            mean = sum(lengths) / len(lengths)
            print(
                f"{task + '/' + split:<14}{len(lengths):>7}{mean:>9.1f}"
                + "".join(f"{waste[p]:>10.3f}" for p in paths)
            )
    print(f"worst padded-fallback waste (bucketed/budget): {worst_ours:.3f}")
    print(f"speedup: {base_tokens / packed_tokens:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
