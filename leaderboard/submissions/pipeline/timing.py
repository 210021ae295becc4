"""Where an evaluation's wall time went, stage by stage, for its Result.

An evaluation's wall time is the worker's (preparing the job folder, the sandbox
run, publishing) and, inside the sandbox, the program's stages
(``stage_seconds`` in the measurements: start-up, imports, numerics, load, encode,
train, predict, measure). Everything that is neither training nor prediction is
overhead the platform adds; its share is shown per evaluation so it can be kept
small (the goal is under a tenth of the wall time).
"""

from __future__ import annotations

from typing import Any

PROGRAM_STAGES = (
    "start",
    "imports",
    "numerics",
    "load",
    "encode",
    "train",
    "predict",
    "measure",
)
USEFUL_STAGES = ("train", "predict")


def time_breakdown(
    measurements: dict[str, Any], worker_seconds: dict[str, float] | None
) -> dict[str, Any] | None:
    """Seconds per stage (worker and program) and the overhead's share, or None
    when the run did not report its stages."""
    stages = measurements.get("stage_seconds")
    process = measurements.get("process_seconds")
    if not isinstance(stages, dict) or not isinstance(process, int | float):
        return None
    worker = dict(worker_seconds or {})
    seconds: dict[str, float] = {}
    if "prepare" in worker:
        seconds["prepare"] = worker["prepare"]
    if "sandbox" in worker:
        # bubblewrap's start and the interpreter's, before the program's clock.
        seconds["sandbox_start"] = max(0.0, worker["sandbox"] - float(process))
    for stage in PROGRAM_STAGES:
        value = stages.get(stage)
        if isinstance(value, int | float):
            seconds[stage] = float(value)
    counted = sum(float(v) for k, v in stages.items() if isinstance(v, int | float))
    seconds["other"] = max(0.0, float(process) - counted)
    total = sum(seconds.values())
    useful = sum(seconds.get(stage, 0.0) for stage in USEFUL_STAGES)
    return {
        "seconds": {key: round(value, 2) for key, value in seconds.items()},
        "total_seconds": round(total, 2),
        "overhead_share": round(1 - useful / total, 4) if total > 0 else None,
    }
