"""Fine-tuning over two processes (torchrun, gloo on the CPU) gives what one gives.

The same job runs as one process and as two, data-parallel (launched as the worker
launches it: torchrun inside the real bubblewrap sandbox) and fully sharded: the
loss curve (every progress line) and the predictions agree within float tolerance,
and the run records its layout. The job is a regression (STS-B-like), so the
predictions are numbers to compare, not labels that a small drift would not move.
The tiny model has dropout off, since each process draws its own masks; with
dropout the layouts agree as two seeds do.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runners.contract import (
    MODEL_DIR,
    OUT_DIR,
    SPEC_FILE,
    JobData,
    JobSpec,
    data_file,
    inside_job,
)
from runners.distributed import Parallel, choose_strategy, rows_of_rank
from runners.recipes import get_recipe
from runners.sandbox import SandboxLimits, execute_argv, run_in_sandbox
from runners.sandbox.bwrap import gpu_device_nodes
from tests.conftest import require_tool
from tests.fixtures.jobs import (
    progress_lines,
    read_measurements,
    read_predictions,
    write_sentiment_job,
)
from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model

REPO = Path(__file__).resolve().parents[2]


def test_a_model_that_fits_one_device_is_data_parallel():
    strategy, reason = choose_strategy(
        params=110_000_000, world_size=8, device_memory_bytes=80 * 10**9
    )
    assert strategy == "ddp" and "fits one device" in reason


def test_a_model_whose_training_state_does_not_fit_is_sharded():
    strategy, reason = choose_strategy(
        params=7_000_000_000, world_size=8, device_memory_bytes=80 * 10**9
    )
    assert strategy == "fsdp" and "sharded over 8" in reason


def test_one_process_is_single_and_unknown_memory_is_assumed_to_fit():
    assert choose_strategy(params=10**12, world_size=1, device_memory_bytes=1)[0] == (
        "single"
    )
    assert choose_strategy(params=10**9, world_size=2, device_memory_bytes=None)[0] == (
        "ddp"
    )


def test_rows_are_dealt_out_and_a_process_without_rows_runs_one_at_weight_zero():
    first = Parallel(strategy="ddp", world_size=2, rank=0)
    second = Parallel(strategy="ddp", world_size=2, rank=1)
    assert rows_of_rank([4, 5, 6], first) == ([4, 6], True)
    assert rows_of_rank([4, 5, 6], second) == ([5], True)
    assert rows_of_rank([4], second) == ([4], False)


def test_past_one_process_the_program_is_started_by_torchrun_keeping_its_flags():
    one = execute_argv("/job/spec.json")
    assert one[1:] == ["-s", "-P", "-m", "runners.execute", "/job/spec.json"]
    many = execute_argv("/job/spec.json", processes=8)
    assert many[1:10] == [
        "-s",
        "-P",
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        "--master-addr=127.0.0.1",
        "--master-port=29500",
        "--nproc-per-node=8",
        "--no-python",
    ]
    assert many[10:] == one


def test_gpu_device_nodes_are_found_where_the_worker_has_them(tmp_path):
    for name in ("nvidia0", "nvidia1", "nvidiactl", "null"):
        (tmp_path / name).touch()
    found = gpu_device_nodes(str(tmp_path / "nvidia*"))
    assert [Path(node).name for node in found] == ["nvidia0", "nvidia1", "nvidiactl"]


@pytest.fixture(scope="module")
def model_without_dropout(tmp_path_factory) -> Path:
    folder = build_tiny_model(
        tmp_path_factory.mktemp("nodrop"), FIXTURE_TEXTS, num_labels=1
    )
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def write_job(job: Path, model: Path) -> Path:
    smoke = get_recipe("smoke", task_name="glue/stsb", task_type="regression")
    recipe = smoke.to_dict() | {
        "max_steps": 20,
        "batch_size": 8,
        "learning_rate": 1e-3,
        "eval_batch_size": 4,
    }
    return write_sentiment_job(job, model, task_type="regression", recipe=recipe)


def run_sandboxed(job: Path, model: Path, processes: int) -> str:
    """The job as a worker runs it: paths as the sandbox shows them, the program
    started by the worker's command line, in bubblewrap."""
    require_tool(
        "sandbox",
        shutil.which("bwrap") is not None,
        "bubblewrap (bwrap) is not installed",
        "scripts/system-packages test",
    )
    spec_path = write_job(job, model)
    dataclasses.replace(
        JobSpec.read(spec_path),
        model_dir=inside_job(MODEL_DIR),
        output_dir=inside_job(OUT_DIR),
        data=JobData(
            train=data_file("train"),
            predict={"validation": data_file("validation")},
        ),
    ).write(spec_path)
    shutil.copytree(model, job / MODEL_DIR, dirs_exist_ok=True)
    lines: list[str] = []
    result = run_in_sandbox(
        job_dir=job,
        argv=execute_argv(inside_job(SPEC_FILE), processes),
        limits=SandboxLimits(
            wall_seconds=300,
            cpu_seconds=1200,
            memory_bytes=16 * 1024**3,
            max_file_bytes=1024**3,
        ),
        log_path=job.parent / f"{job.name}.log",
        on_line=lines.append,
    )
    assert result.ok, result.log_tail
    return "\n".join(lines)


def run_job(job: Path, model: Path, processes: int, strategy: str = "") -> str:
    spec = write_job(job, model)
    launcher = (
        ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
        if processes > 1
        else []
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "GLEW_PARALLEL_STRATEGY": strategy}
    done = subprocess.run(
        [sys.executable, *launcher, "-m", "runners.execute", str(spec)],
        capture_output=True,
        text=True,
        env=env,
        cwd=job,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def train_losses(stdout: str) -> list[tuple[int, float]]:
    return [
        (line["step"], line["loss"])
        for line in progress_lines(stdout)
        if line["stage"] == "train"
    ]


def test_two_processes_give_the_loss_curve_and_predictions_of_one(
    tmp_path, model_without_dropout
):
    alone = run_job(tmp_path / "one", model_without_dropout, 1)
    reference = train_losses(alone)
    assert [step for step, _ in reference] == [10, 20]
    assert reference[-1][1] < reference[0][1]  # it learns
    expected = read_predictions(tmp_path / "one", "validation")
    assert read_measurements(tmp_path / "one")["parallel"]["strategy"] == "single"
    for strategy in ("ddp", "fsdp"):
        job = tmp_path / strategy
        if strategy == "ddp":
            # Chosen, not forced: the tiny model fits one CPU many times over.
            out = run_sandboxed(job, model_without_dropout, 2)
        else:
            out = run_job(job, model_without_dropout, 2, strategy)
        losses = train_losses(out)
        # Rank 0 alone prints, so the curve has the single run's lines, once.
        assert [step for step, _ in losses] == [10, 20], strategy
        for (_, got), (_, want) in zip(losses, reference, strict=True):
            assert got == pytest.approx(want, rel=1e-4, abs=1e-5), strategy
        got = read_predictions(job, "validation")
        assert [row["idx"] for row in got] == [row["idx"] for row in expected]
        assert [row["prediction"] for row in got] == pytest.approx(
            [row["prediction"] for row in expected], rel=1e-4, abs=1e-5
        ), strategy
        parallel = read_measurements(job)["parallel"]
        assert parallel["strategy"] == strategy
        assert parallel["world_size"] == 2 and parallel["backend"] == "gloo"
        assert ("forced" in parallel["reason"]) == (strategy == "fsdp")


def _write_token_job(job: Path, model: Path) -> Path:
    """A tagging job on the fixture texts: a word is tagged B (1) when it is one
    of a few sentiment words, else O (0); predictions are tags per word."""
    from runners.contract import TaskInputs
    from tests.fixtures.jobs import write_job

    marked = {"wonderful", "bad", "great", "funny", "moving"}
    rows = [
        {
            "idx": i,
            "tokens": text.split(),
            "label": [int(word in marked) for word in text.split()],
        }
        for i, text in enumerate(FIXTURE_TEXTS)
    ]
    smoke = get_recipe(
        "smoke", task_name="blurb/ncbi-disease", task_type="token_classification"
    )
    recipe = smoke.to_dict() | {
        "max_steps": 20,
        "batch_size": 8,
        "learning_rate": 3e-3,
        "eval_batch_size": 4,
    }
    task = TaskInputs(
        name="blurb/ncbi-disease",
        type="token_classification",
        text_fields=("tokens",),
        num_labels=3,
    )
    predict = [{k: v for k, v in r.items() if k != "label"} for r in rows[:12]]
    return write_job(
        job, model, task=task, recipe=recipe, train=rows, predict={"test": predict}
    )


def test_a_token_task_trains_data_parallel_as_one_process(
    tmp_path, model_without_dropout
):
    """Token tasks share the sequence tasks' loop (runners.training.loop), so the
    multi-process layout applies to them too: two processes, one curve. Not to
    1e-4 as for sequence tasks: a tagger's micro-batch loss is a mean over its
    tagged words, and each process weighs its mean by its share of the rows, not
    of the words, so the two layouts optimise very slightly different means."""
    runs = {}
    for processes in (1, 2):
        job = tmp_path / f"p{processes}"
        spec = _write_token_job(job, model_without_dropout)
        launcher = (
            ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
            if processes > 1
            else []
        )
        done = subprocess.run(
            [sys.executable, *launcher, "-m", "runners.execute", str(spec)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=job,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        runs[processes] = (train_losses(done.stdout), read_predictions(job, "test"))
    (one, one_tags), (two, two_tags) = runs[1], runs[2]
    assert [step for step, _ in two] == [step for step, _ in one] == [10, 20]
    for (_, got), (_, want) in zip(two, one, strict=True):
        assert got == pytest.approx(want, rel=2e-3)
    assert two_tags == one_tags
    assert read_measurements(tmp_path / "p2")["parallel"]["strategy"] == "ddp"
