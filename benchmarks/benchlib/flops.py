"""How close a forward runs to what the hardware gives, measured in the same run.

A forward's FLOPs come from its real token counts
(``kernels.accounting.encoder_flops``: projections, feed-forward and attention;
embeddings, norms and the head are left out). What the hardware gives is the
rate of plain fp32 matrix multiplies of the model's own shapes at the run's
tokens per batch (the fused Q/K/V projection, the attention output, the
feed-forward in and out), timed here with the same threads: a number of this
machine at this moment, so a busy machine lowers both together.
"""

from __future__ import annotations

import time


def layer_shapes(config, tokens: int) -> list[tuple[int, int, int]]:
    """``(m, k, n)`` of one encoder layer's matrix multiplies over ``tokens``."""
    hidden = getattr(config, "hidden_size", None) or config.dim
    inner = getattr(config, "intermediate_size", None) or config.hidden_dim
    return [
        (tokens, hidden, 3 * hidden),  # fused Q, K, V
        (tokens, hidden, hidden),  # attention output
        (tokens, hidden, inner),  # feed-forward in
        (tokens, inner, hidden),  # feed-forward out
    ]


def matmul_rate(config, tokens: int, *, seconds: float = 1.0) -> float:
    """FLOP/s of fp32 ``torch.mm`` on one layer's shapes at ``tokens`` rows,
    best of repeated passes over about ``seconds``."""
    import torch

    pairs = [
        (torch.randn(m, k), torch.randn(k, n))
        for m, k, n in layer_shapes(config, tokens)
    ]
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in pairs)
    for a, b in pairs:  # warm-up: allocation and kernel choice
        torch.mm(a, b)
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or best == float("inf"):
        start = time.perf_counter()
        for a, b in pairs:
            torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return flops / best


def rate_line(config, lengths: list[int], forward_s: float, batches: int) -> str:
    """The achieved FLOP rate of a forward over rows of ``lengths`` that took
    ``forward_s`` in ``batches`` batches, against :func:`matmul_rate` at the
    run's mean tokens per batch."""
    from kernels.accounting import encoder_flops

    achieved = encoder_flops(config, lengths) / forward_s
    tokens = max(1, round(sum(lengths) / max(1, batches)))
    ceiling = matmul_rate(config, tokens)
    return (
        f"  forward {achieved / 1e9:.1f} GFLOP/s (from token counts) vs fp32 "
        f"matmul of the model's shapes at {tokens} tokens/batch "
        f"{ceiling / 1e9:.1f} GFLOP/s: {achieved / ceiling:.0%} of it"
    )
