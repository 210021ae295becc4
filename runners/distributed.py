"""Fine-tuning over several processes with torch.distributed (launched by torchrun).

``python -m torch.distributed.run --standalone --nproc-per-node N -m runners.execute
SPEC`` runs the same job in N processes, one per device (or N CPU processes on gloo).
Every process loads the model, seeds identically and walks the same batch plan; each
optimizer step's rows are dealt out between the processes (``rows_of_rank``), each
process weights its loss by its share of the step's rows, and the gradients are
summed across processes, so a step's gradient is the one a single process computes
on all of the step's rows: the same loss curve and predictions within float
tolerance (dropout masks are drawn per process, so with dropout on the runs agree
as two seeds do, not to the digit).

How the model is laid out is chosen from its size and the devices
(:func:`choose_strategy`), and recorded in the run's measurements (``parallel``) and
so in the Result's manifest:

* ``ddp``, data-parallel: each process holds the whole model, and after a step's
  micro-batches one all-reduce sums the gradients (DDP's arithmetic; the model is
  not wrapped, so the packed padding-free path still runs);
* ``fsdp``, fully sharded (``torch.distributed.fsdp.fully_shard``, one unit per
  encoder layer and one for the rest): each process keeps 1/N of the parameters,
  gradients and optimizer state, when the training state does not fit one device.
  Sharded layers gather their weights in their own ``forward``, so these runs take
  the padded path (the model's own forward).

Every process runs every forward pass (training steps, prediction, measurement) in
the same order, which a sharded model needs for its collectives; only rank 0
writes outputs and prints progress. One process (no ``WORLD_SIZE``) runs as before,
recorded as ``single``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

BYTES_PER_PARAM = 16
"""Training state per parameter in fp32: weights, gradients and AdamW's two moments."""
FIT_SHARE = 0.6
"""Share of a device's memory the training state may take before the model is
sharded (the rest is activations, workspaces and the allocator's slack)."""
STRATEGY_ENV = "GLEW_PARALLEL_STRATEGY"
"""Forces ``ddp`` or ``fsdp`` (operators and tests); the reason says it was forced."""


@dataclass(frozen=True)
class Parallel:
    """How this run is laid out over processes (one per device)."""

    strategy: str  # "single", "ddp" or "fsdp"
    world_size: int = 1
    rank: int = 0
    backend: str | None = None
    reason: str = "one process"
    state_bytes: int | None = None
    device_memory_bytes: int | None = None

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def record(self) -> dict[str, Any]:
        """The ``parallel`` measurement (the manifest's record of the layout)."""
        return {
            "strategy": self.strategy,
            "world_size": self.world_size,
            "backend": self.backend,
            "reason": self.reason,
            "training_state_bytes": self.state_bytes,
            "device_memory_bytes": self.device_memory_bytes,
        }


SINGLE = Parallel(strategy="single")


def choose_strategy(
    *, params: int, world_size: int, device_memory_bytes: int | None
) -> tuple[str, str]:
    """``(strategy, reason)`` for a model of ``params`` parameters on ``world_size``
    devices of ``device_memory_bytes`` each (None: unknown, assumed to fit).

    >>> choose_strategy(params=110_000_000, world_size=8, device_memory_bytes=80e9)[0]
    'ddp'
    >>> choose_strategy(params=7_000_000_000, world_size=8, device_memory_bytes=80e9)[0]
    'fsdp'
    """
    if world_size <= 1:
        return "single", "one process"
    need = params * BYTES_PER_PARAM
    forced = os.environ.get(STRATEGY_ENV, "").strip().lower()
    if forced in {"ddp", "fsdp"}:
        return forced, f"forced by {STRATEGY_ENV}={forced}"
    if device_memory_bytes is None or need <= FIT_SHARE * device_memory_bytes:
        return "ddp", (
            f"the training state ({need / 1e9:.2f} GB) fits one device: "
            f"data-parallel over {world_size}"
        )
    return "fsdp", (
        f"the training state ({need / 1e9:.2f} GB) is over {FIT_SHARE:.0%} of one "
        f"device ({device_memory_bytes / 1e9:.2f} GB): sharded over {world_size}"
    )


def device_memory(device: torch.device, world_size: int) -> int | None:
    """Memory of one device; on a CPU, the machine's memory shared by the
    processes (each data-parallel process holds a whole copy)."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    try:
        import psutil

        return int(psutil.virtual_memory().total // max(1, world_size))
    except Exception:  # the figure is advisory: unknown means "assume it fits"
        return None


def start(device_type: str) -> tuple[int, int] | None:
    """Join the process group torchrun describes; ``(rank, world_size)``, or None
    for a plain single-process run. CUDA processes take the device of their local
    rank (nccl); CPU processes talk over gloo."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return None
    import torch.distributed as dist

    if device_type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    # The processes share one machine, and the sandbox resolves no host names
    # (gloo and nccl otherwise look up this host's to pick an interface).
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    os.environ.setdefault("NCCL_SOCKET_IFNAME", "lo")
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()


def device_for(device: torch.device) -> torch.device:
    """This process's device: its local rank's GPU under torchrun, else ``device``."""
    if device.type == "cuda" and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return device


def plan(model: torch.nn.Module, device: torch.device) -> Parallel:
    """The layout of this run for ``model`` (call after :func:`start`)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    world_size = dist.get_world_size()
    params = sum(p.numel() for p in model.parameters())
    memory = device_memory(device, world_size)
    strategy, reason = choose_strategy(
        params=params, world_size=world_size, device_memory_bytes=memory
    )
    return Parallel(
        strategy=strategy,
        world_size=world_size,
        rank=dist.get_rank(),
        backend=dist.get_backend(),
        reason=reason,
        state_bytes=params * BYTES_PER_PARAM,
        device_memory_bytes=memory,
    )


def shard(model: torch.nn.Module, parallel: Parallel) -> None:
    """Fully shard ``model`` in place when the plan says ``fsdp``: one unit per
    encoder layer (so only one layer's weights are whole at a time), then the rest."""
    if parallel.strategy != "fsdp":
        return
    from torch.distributed.fsdp import fully_shard

    base = getattr(model, "base_model", model)
    layers = getattr(getattr(base, "encoder", None), "layer", None) or []
    for layer in layers:
        fully_shard(layer)
    fully_shard(model)


def is_sharded(model: torch.nn.Module) -> bool:
    """Whether ``model`` is fully sharded (it must then run its own forward)."""
    try:
        from torch.distributed.fsdp import FSDPModule
    except ImportError:  # pragma: no cover - every supported torch has it
        return False
    return isinstance(model, FSDPModule)


def rows_of_rank(ids: Sequence[int], parallel: Parallel) -> tuple[list[int], bool]:
    """This process's rows of a micro-batch (dealt out in turn, so lengths stay
    balanced), and whether they count. A process left without rows runs the first
    row with weight 0, so every process makes the same collective calls."""
    if not parallel.active:
        return list(ids), True
    mine = list(ids[parallel.rank :: parallel.world_size])
    return (mine, True) if mine else (list(ids[:1]), False)


def loss_scale(parallel: Parallel) -> float:
    """Factor on each process's loss before backward: a sharded model averages its
    gradients over the processes, and a step's gradient must be their sum."""
    return float(parallel.world_size) if parallel.strategy == "fsdp" else 1.0


def sum_gradients(model: torch.nn.Module, parallel: Parallel) -> None:
    """Data-parallel: add up every process's gradients in one all-reduce."""
    if parallel.strategy != "ddp":
        return
    import torch.distributed as dist
    from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    for grad, summed in zip(grads, _unflatten_dense_tensors(flat, grads), strict=True):
        grad.copy_(summed)


def sum_loss(value: float, parallel: Parallel, device: torch.device) -> float:
    """A step's loss over every process's rows (each already weighted by share)."""
    if not parallel.active:
        return value
    import torch.distributed as dist

    total = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return float(total.item())


def finish() -> None:
    """Leave the process group (after every process has written what it writes)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
