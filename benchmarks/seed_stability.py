"""Seed stability: how a recipe behaves across seeds on the small GLUE tasks.

Small data sets make fine-tuning unstable: the same recipe learns with one seed and
not with another. This runs a recipe (``standard`` by default) with several seeds on
each task, through the runner's own code (benchlib.runner), and prints per task the
mean and spread of the dev score and how many seeds did not learn (the platform's
rule: constant predictions, or a score not above the majority-class or chance
baseline of ``tasks.baselines``). ``--knob key=value`` runs the recipe with its
stability parameters changed (``layerwise_lr_decay``, ``reinit_top_layers``,
``freeze_lower_layers``; runners.training.stability), to compare with and without.

Not a timed test: tens of minutes on a CPU. The last line is the spread of the
recipe over every task and seed, ``spread: X.XXXX`` (mean of the per-task std).

    .venv/bin/python benchmarks/seed_stability.py [--tasks rte,mrpc,stsb,cola]
        [--recipe standard] [--seeds 0,1,2,3,4] [--knob reinit_top_layers=1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import quiet_setup  # noqa: E402
from benchlib.runner import load_rows, run_ours, task_score  # noqa: E402


def learned(spec, predictions, score, train_rows, dev_rows) -> bool:
    """The platform's rule, as ``tasks.baselines`` states it."""
    from tasks import baselines

    split = spec.eval_splits[0]
    found = baselines.baselines_from_labels(
        spec,
        {
            spec.train_split: [r["label"] for r in train_rows],
            split: [r["label"] for r in dev_rows],
        },
    )
    verdict = baselines.learning_check(spec, {split: predictions}, score, found)
    return not verdict.did_not_learn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="rte,mrpc,stsb,cola")
    parser.add_argument("--recipe", default="standard")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--precision", choices=("bf16", "fp32"), default=None)
    parser.add_argument("--knob", action="append", default=[])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    quiet_setup(args.threads)
    import torch

    from kernels import precision as precisions
    from runners.recipes import get_recipe

    spreads = []
    for short in args.tasks.split(","):
        name = short if "/" in short else f"glue/{short}"
        spec, train_rows, dev_rows = load_rows(name)
        recipe = get_recipe(args.recipe, task_name=name, task_type=spec.type).to_dict()
        for knob in args.knob:
            key, _, value = knob.partition("=")
            recipe[key] = json.loads(value)
        used = precisions.resolve(
            args.precision or recipe["precision"], torch.device("cpu")
        )
        references = [r["label"] for r in dev_rows]
        scores, failed, seconds = [], 0, 0.0
        for seed in (int(s) for s in args.seeds.split(",")):
            took, predictions = run_ours(spec, recipe, train_rows, dev_rows, seed, used)
            score, _ = task_score(spec, predictions, references)
            scores.append(score)
            failed += not learned(spec, predictions, score, train_rows, dev_rows)
            seconds += took
            print(f"  {name} seed {seed}: {score:.4f} ({took:.0f} s)", flush=True)
        spread = statistics.pstdev(scores)
        spreads.append(spread)
        knobs = ", ".join(args.knob) or "no knobs"
        print(
            f"{name} ({recipe['version']}, {used}, {knobs}): mean "
            f"{statistics.fmean(scores):.4f} ± {spread:.4f} over {len(scores)} seeds, "
            f"min {min(scores):.4f}, max {max(scores):.4f}; {failed}/{len(scores)} "
            f"did not learn; {seconds / 60:.1f} min",
            flush=True,
        )
    print(f"spread: {statistics.fmean(spreads):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
