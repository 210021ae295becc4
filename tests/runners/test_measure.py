"""Efficiency figures are measured on every run: present, sane and self-consistent.

One smoke job on the tiny BERT is run per module (a second for regression)
and its measurements.json is checked; the GPU tests run the same job on CUDA.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
import torch

from runners import execute, measure
from runners.contract import MEASUREMENT_KEYS
from runners.recipes import get_recipe
from tests.fixtures.jobs import (
    PREDICT_IDX,
    progress_lines,
    read_measurements,
    write_sentiment_job,
)
from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _run(job: Path, model_dir: Path, **kwargs: Any) -> tuple[dict[str, Any], list]:
    """Run one job; return its measurements and progress lines."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert execute.main([str(write_sentiment_job(job, model_dir, **kwargs))]) == 0
    return read_measurements(job), progress_lines(out.getvalue())


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list]:
    model = build_tiny_model(tmp_path_factory.mktemp("clf"), FIXTURE_TEXTS)
    return _run(tmp_path_factory.mktemp("job"), model)


def test_every_measured_key_is_written(classifier_run: tuple[dict, list]) -> None:
    m, _ = classifier_run
    assert set(m) == MEASUREMENT_KEYS
    for key in ("params", "flops_per_example", "latency_ms", "energy_j"):
        assert m["measurement_method"][key]


def test_flops_per_example_is_of_the_order_of_two_flops_per_parameter_token(
    classifier_run: tuple[dict, list],
) -> None:
    m, _ = classifier_run
    tokens_per_example = m["infer_tokens_per_s"] / m["infer_examples_per_s"]
    estimate = 2 * m["params"] * tokens_per_example
    assert m["flops_per_example"] > 0
    # Embedding lookups cost no FLOPs and attention adds some: same order only.
    assert 0.1 < m["flops_per_example"] / estimate < 10


def test_inference_rates_count_real_tokens(classifier_run: tuple[dict, list]) -> None:
    m, _ = classifier_run
    assert m["infer_examples"] == len(PREDICT_IDX) + 3
    assert m["infer_examples_per_s"] > 0
    # Every fixture sentence has several tokens, so tokens/s exceeds rows/s.
    assert m["infer_tokens_per_s"] > 3 * m["infer_examples_per_s"]
    assert m["eval_batch_size"] == 4


def test_latency_is_timed_on_the_first_split_at_batch_size_one(
    classifier_run: tuple[dict, list],
) -> None:
    m, _ = classifier_run
    assert m["latency_examples"] == len(PREDICT_IDX)  # fewer than LATENCY_ROWS
    assert 0 < m["latency_p50_ms"] <= m["latency_p95_ms"]


def test_tiny_bert_predictions_do_not_depend_on_the_batch_size(
    classifier_run: tuple[dict, list],
) -> None:
    m, _ = classifier_run
    assert m["batch_invariant"] is True
    check = m["batch_invariance"]
    assert check["rows_checked"] == len(PREDICT_IDX) + 3
    assert check["argmax_agree"] is True
    assert 0 <= check["max_abs_diff"] < 1e-4


def test_cpu_run_records_fp32_sdpa_determinism_and_no_energy(
    classifier_run: tuple[dict, list],
) -> None:
    m, _ = classifier_run
    assert (m["device"], m["precision_used"]) == ("cpu", "fp32")
    assert m["attention_implementation"] == "sdpa"
    assert m["energy_j"] is None
    assert m["determinism"]["deterministic_algorithms"] is True
    assert m["determinism"]["cudnn_deterministic"] is None
    assert m["peak_memory_bytes"] > 0
    assert m["hardware"]["cpu_count"] >= 1
    assert m["hardware"]["driver"] is None and m["hardware"]["cuda"] is None


def test_measurement_phase_reports_progress(classifier_run: tuple[dict, list]) -> None:
    _, progress = classifier_run
    lines = [p for p in progress if p["stage"] == "measure"]
    assert [(p["step"], p["total_steps"]) for p in lines] == [(1, 2), (2, 2)]
    assert all({"loss", "examples_per_s", "part"} <= set(p) for p in lines)


def test_regression_batch_invariance_is_checked_against_a_tolerance(
    tmp_path: Path,
) -> None:
    model = build_tiny_model(tmp_path / "model", FIXTURE_TEXTS, num_labels=1)
    m, _ = _run(tmp_path / "job", model, task_type="regression")
    assert m["batch_invariant"] is True
    assert m["batch_invariance"]["argmax_agree"] is None
    assert m["batch_invariance"]["max_abs_diff"] <= measure.REGRESSION_TOLERANCE


def test_energy_is_not_measured_on_cpu() -> None:
    assert measure.EnergyMeter(torch.device("cpu")).stop() is None


@pytest.mark.gpu
@needs_cuda
def test_bf16_recipe_runs_with_bf16_autocast_on_cuda(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "model", FIXTURE_TEXTS)
    smoke = get_recipe("smoke", task_name="glue/sst2", task_type="classification")
    recipe = smoke.to_dict() | {"precision": "bf16", "eval_batch_size": 4}
    m, _ = _run(tmp_path / "job", model, recipe=recipe)
    assert m["device"] == "cuda"
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    assert m["precision_used"] == expected
    assert m["determinism"]["cudnn_deterministic"] is True
    assert m["determinism"]["cublas_workspace_config"] == ":4096:8"
    assert m["hardware"]["gpu"] and m["hardware"]["cuda"]
    assert m["batch_invariance"]["rows_checked"] == len(PREDICT_IDX) + 3
    assert m["peak_memory_bytes"] > 0


@pytest.mark.gpu
@needs_cuda
def test_energy_is_measured_through_nvml_on_an_nvidia_gpu(tmp_path: Path) -> None:
    pytest.importorskip("pynvml")
    model = build_tiny_model(tmp_path / "model", FIXTURE_TEXTS)
    m, _ = _run(tmp_path / "job", model)
    assert m["energy_j"] is not None and m["energy_j"] >= 0
    assert m["hardware"]["driver"]
