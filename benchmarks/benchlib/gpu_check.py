"""The Python half of ``benchmarks/gpu_check.sh``: fine-tune a BERT-base-shaped model
in bf16 on the packed path and report what the GPU did.

A BERT-base-shaped classifier (hidden 768, 12 layers, 12 heads, FFN 3072, vocabulary
30,522; random weights: speed does not depend on them) is trained with AdamW under
bf16 autocast on synthetic rows whose lengths follow a GLUE-like spread (log-normal,
median 40 tokens, 6 to 256), in the runner's token-budget batches
(``kernels.batching.train_token_budget_batches``). It reports:

* throughput (real tokens and rows per second) of the packed path
  (``kernels.packed``: nothing computed on pads, one SDPA call per run of
  equal-length rows);
* MFU: the encoder's training FLOPs over real tokens (``kernels.accounting``) per
  second, against the device's dense bf16 peak (``PEAK_FLOPS``); target >= 40%;
* the SDPA backend PyTorch picks for the packed path's attention calls (its own
  dispatcher's choice for those shapes, and the attention kernels a profiled step
  launched);
* packed versus padded: the same batches through the model's own padded forward
  (each batch padded to its longest row), as a speed ratio in real tokens per
  second;
* energy over the timed packed steps from NVML (joules, mean watts, joules per
  thousand real tokens).

Without a CUDA device it exits 2 saying so; ``--cpu-smoke`` runs every piece on the
CPU instead with a tiny config for a few seconds (no MFU or energy there), which is
what the test suite does to keep this script working where no GPU is lent.

    python benchmarks/benchlib/gpu_check.py [--seconds 60] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from kernels import precision as precisions  # noqa: E402
from kernels.accounting import encoder_flops, mfu, peak_flops  # noqa: E402
from kernels.batching import train_token_budget_batches  # noqa: E402
from kernels.packed import (  # noqa: E402
    PackedBatch,
    pack,
    packed_logits,
    pad,
    padded_logits,
    sequence_loss,
)
from runners.measure import EnergyMeter  # noqa: E402

BERT_BASE = {
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
}
TINY = {
    "vocab_size": 1000,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
    "max_position_embeddings": 512,
}
MFU_TARGET = 0.40
NO_CUDA = 2
"""Exit status when there is no CUDA device and ``--cpu-smoke`` was not asked."""
BELOW_TARGET = 3
"""Exit status when the packed path's MFU on a GPU is under ``MFU_TARGET``."""


@dataclass
class Batch:
    """One training batch in both layouts, with its labels in each one's order."""

    packed: PackedBatch
    padded: dict[str, torch.Tensor]
    packed_labels: torch.Tensor
    padded_labels: torch.Tensor
    lengths: list[int]


def synthetic_lengths(rows: int, seed: int, longest: int = 256) -> list[int]:
    """GLUE-like row lengths: most rows short, a long tail (median 40 tokens)."""
    rng = random.Random(seed)
    return [
        min(longest, max(6, int(rng.lognormvariate(math.log(40), 0.6))))
        for _ in range(rows)
    ]


def make_batches(
    lengths: list[int], *, max_tokens: int, vocab: int, seed: int, device
) -> list[Batch]:
    """Token-budget batches of random ids, packed and padded, already on ``device``
    (the timed loop measures the model, not host-to-device copies)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (len(lengths),), generator=generator)
    batches = []
    plan = train_token_budget_batches(lengths, max_tokens=max_tokens, seed=seed)
    for rows in plan:
        encodings = [
            {
                "input_ids": torch.randint(
                    5, vocab, (lengths[i],), generator=generator
                ).tolist()
            }
            for i in rows
        ]
        packed = pack(encodings)
        ours = labels[torch.tensor(rows)]
        batches.append(
            Batch(
                packed=packed.to(device),
                padded={k: v.to(device) for k, v in pad(encodings, 0).items()},
                packed_labels=ours[torch.tensor(packed.rows)].to(device),
                padded_labels=ours.to(device),
                lengths=[lengths[i] for i in rows],
            )
        )
    return batches


def build_model(shape: dict, device, seed: int):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(**shape, num_labels=2, attn_implementation="sdpa")
    return BertForSequenceClassification(config).to(device).train()


def synchronize(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_path(model, batches: list[Batch], *, packed: bool, args, device) -> dict:
    """Train on ``batches`` (cycled) for ``args.seconds`` after warm-up steps; the
    figures of the timed steps only."""
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=2e-5, fused=device.type == "cuda"
    )

    def step(batch: Batch) -> torch.Tensor:
        with precisions.autocast(args.precision, device):
            if packed:
                logits = packed_logits(model, batch.packed)
                labels = batch.packed_labels
            else:
                logits = padded_logits(model, batch.padded)
                labels = batch.padded_labels
        loss = sequence_loss(model, logits.float(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    for batch in batches[: args.warmup]:
        step(batch)
    synchronize(device)
    meter = EnergyMeter(device)
    losses, real, computed, steps = [], [], 0, 0
    start = time.perf_counter()
    while steps < args.min_steps or time.perf_counter() - start < args.seconds:
        batch = batches[(args.warmup + steps) % len(batches)]
        losses.append(step(batch))
        real.extend(batch.lengths)
        computed += len(batch.lengths) * (1 if packed else max(batch.lengths))
        steps += 1
    synchronize(device)
    seconds = time.perf_counter() - start
    joules = meter.stop()
    tokens = sum(real)
    flops = encoder_flops(model.config, real, training=True)
    return {
        "path": "packed" if packed else "padded",
        "steps": steps,
        "seconds": seconds,
        "rows_per_s": len(real) / seconds,
        "tokens_per_s": tokens / seconds,
        "computed_tokens_per_real": (tokens if packed else computed) / tokens,
        "tflops_per_s": flops / seconds / 1e12,
        "mfu": mfu(flops, seconds, _device_name(device), "bf16"),
        "loss_first_last": [float(losses[0]), float(losses[-1])],
        "energy_j": joules,
        "mean_w": joules / seconds if joules is not None else None,
        "j_per_1k_tokens": 1000 * joules / tokens if joules is not None else None,
    }


def _device_name(device) -> str | None:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else None


def sdpa_backend(shape: dict, device, dtype, *, length: int = 64) -> dict:
    """The backend PyTorch's dispatcher picks for one packed attention call (a run of
    rows of ``length`` tokens, training dropout), and which attention kernels one
    profiled packed step launched on a GPU."""
    from torch.nn.attention import SDPBackend

    heads = shape["num_attention_heads"]
    head_dim = shape["hidden_size"] // heads
    q = torch.randn(8, heads, length, head_dim, device=device, dtype=dtype)
    choice = torch._fused_sdp_choice(q, q, q, None, 0.1, False)
    return {
        "dispatcher_choice": SDPBackend(choice).name,
        "shape": [8, heads, length, head_dim],
        "dtype": str(dtype).removeprefix("torch."),
    }


def profiled_attention_kernels(model, batch: Batch, args, device) -> list[str]:
    """Names of the attention kernels one packed forward and backward launched."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        with precisions.autocast(args.precision, device):
            logits = packed_logits(model, batch.packed)
        sequence_loss(model, logits.float(), batch.packed_labels).backward()
        synchronize(device)
    model.zero_grad(set_to_none=True)
    words = ("flash", "fmha", "attention", "cudnn", "sdp", "efficient")
    names = {event.key for event in prof.key_averages()}
    return sorted(n for n in names if any(w in n.lower() for w in words))[:12]


def report(figures: dict) -> None:
    """Human-readable lines, then one JSON line for the note."""
    device = figures["device"]
    print(f"device: {device['name']} (bf16 peak {device['bf16_peak_tflops']} TFLOP/s)")
    print(f"SDPA backend: {figures['sdpa']['dispatcher_choice']}", end="")
    print(f"; attention kernels launched: {figures['attention_kernels'] or 'none'}")
    for run in (figures["packed"], figures["padded"]):
        share = "n/a" if run["mfu"] is None else f"{100 * run['mfu']:.1f}%"
        energy = (
            "n/a"
            if run["energy_j"] is None
            else f"{run['energy_j']:.0f} J, {run['mean_w']:.0f} W, "
            f"{run['j_per_1k_tokens']:.3f} J/1k tokens"
        )
        print(
            f"{run['path']:>6}: {run['tokens_per_s']:,.0f} real tokens/s, "
            f"{run['rows_per_s']:,.0f} rows/s, {run['tflops_per_s']:.1f} TFLOP/s, "
            f"MFU {share}, {run['steps']} steps in {run['seconds']:.1f} s, "
            f"computed/real tokens {run['computed_tokens_per_real']:.2f}, "
            f"energy {energy}"
        )
    print(f"packed vs padded: {figures['packed_vs_padded']:.2f}x")
    print(f"MFU target >= {MFU_TARGET:.0%}: {figures['verdict']}")
    print("gpu_check: " + json.dumps(figures, sort_keys=True))


def run(args) -> dict:
    """Everything the check measures, as one dict (see the module docstring)."""
    device = torch.device("cpu" if args.cpu_smoke else "cuda")
    shape = TINY if args.cpu_smoke else BERT_BASE
    args.precision = precisions.resolve("bf16", device)
    lengths = synthetic_lengths(args.rows, args.seed)
    batches = make_batches(
        lengths,
        max_tokens=args.max_tokens,
        vocab=shape["vocab_size"],
        seed=args.seed,
        device=device,
    )
    dtype = torch.bfloat16 if args.precision == precisions.BF16 else torch.float32
    model = build_model(shape, device, args.seed)
    kernels = profiled_attention_kernels(model, batches[0], args, device)
    packed = train_path(model, batches, packed=True, args=args, device=device)
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()
    model = build_model(shape, device, args.seed)
    args.seconds = args.padded_seconds
    padded = train_path(model, batches, packed=False, args=args, device=device)
    name = _device_name(device) or "cpu"
    peak = peak_flops(_device_name(device), "bf16")
    if packed["mfu"] is None:
        verdict = "not measured (no bf16 peak known for this device)"
    elif packed["mfu"] >= MFU_TARGET:
        verdict = "met"
    else:
        verdict = f"NOT MET ({100 * packed['mfu']:.1f}%)"
    return {
        "device": {
            "name": name,
            "bf16_peak_tflops": None if peak is None else peak / 1e12,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
        },
        "model": {**shape, "params": sum(p.numel() for p in model.parameters())},
        "precision": args.precision,
        "rows": args.rows,
        "max_tokens": args.max_tokens,
        "batches": len(batches),
        "sdpa": sdpa_backend(shape, device, dtype),
        "attention_kernels": kernels,
        "packed": packed,
        "padded": padded,
        "packed_vs_padded": packed["tokens_per_s"] / padded["tokens_per_s"],
        "verdict": verdict,
        "mfu_target": MFU_TARGET,
    }


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny model, CPU")
    parser.add_argument("--probe", action="store_true", help="only check for CUDA")
    parser.add_argument("--seconds", type=float, default=90.0, help="packed, timed")
    parser.add_argument("--padded-seconds", type=float, default=45.0)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--max-tokens", type=int, default=16384)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--min-steps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.cpu_smoke:
        args.seconds = min(args.seconds, 2.0)
        args.padded_seconds = min(args.padded_seconds, 2.0)
        args.rows = min(args.rows, 400)
        args.max_tokens = min(args.max_tokens, 2048)
        args.warmup = min(args.warmup, 1)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.cpu_smoke and not torch.cuda.is_available():
        print(
            f"gpu_check: no CUDA device (torch {torch.__version__}, built for CUDA "
            f"{torch.version.cuda or 'none: a CPU build'}); nothing was measured. "
            "Run it on a GPU machine with a CUDA build of torch (deploy/README.md), "
            "or pass --cpu-smoke to run its pieces on the CPU.",
            file=sys.stderr,
        )
        return NO_CUDA
    if args.probe:
        print(f"gpu_check: CUDA device {torch.cuda.get_device_name(0)}")
        return 0
    figures = run(args)
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return BELOW_TARGET if figures["verdict"].startswith("NOT MET") else 0


if __name__ == "__main__":
    sys.exit(main())
