"""The in-sandbox program's failures: each bad input or broken run ends with one
error line whose code the worker relies on, and the exit code that goes with it
(2 for the submission's fault, 3 for out of memory, 1 for a crash).

Split from test_execute.py (the successful runs), with the same job folders
(tests.fixtures.jobs) and tiny model.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from runners import execute, training
from runners.contract import JobSpec
from runners.recipes import get_recipe
from runners.training import loop
from tests.fixtures.jobs import glew_error, write_sentiment_job
from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("clf"), FIXTURE_TEXTS)


def test_folder_without_config_fails_as_bad_model(
    tmp_path: Path, classifier_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model"
    shutil.copytree(classifier_dir, model)
    (model / "config.json").unlink()

    assert execute.main([str(write_sentiment_job(tmp_path / "job", model))]) == 2
    error = glew_error(capsys.readouterr().err)
    assert error["code"] == "execute.bad_model"
    assert "config.json" in error["message"]


def test_pickle_weights_are_refused(
    tmp_path: Path, classifier_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model"
    shutil.copytree(classifier_dir, model)
    (model / "model.safetensors").rename(model / "pytorch_model.bin")

    assert execute.main([str(write_sentiment_job(tmp_path / "job", model))]) == 2
    assert glew_error(capsys.readouterr().err)["code"] == "execute.bad_model"


def test_folder_without_tokenizer_files_fails_as_bad_model(
    tmp_path: Path, classifier_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    shutil.copy(classifier_dir / "config.json", model / "config.json")
    shutil.copy(classifier_dir / "model.safetensors", model / "model.safetensors")

    assert execute.main([str(write_sentiment_job(tmp_path / "job", model))]) == 2
    error = glew_error(capsys.readouterr().err)
    assert error["code"] == "execute.bad_model"
    assert "tokenizer" in error["message"]


def test_wrong_spec_version_fails_as_bad_spec(
    tmp_path: Path, classifier_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path = write_sentiment_job(tmp_path, classifier_dir)
    dataclasses.replace(JobSpec.read(spec_path), spec_version=2).write(spec_path)

    assert execute.main([str(spec_path)]) == 2
    error = glew_error(capsys.readouterr().err)
    assert error["code"] == "execute.bad_spec"
    assert "spec_version" in error["message"]


def test_out_of_memory_is_reported_with_its_own_code_and_exit(
    tmp_path: Path,
    classifier_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_memory(*args: Any, **kwargs: Any) -> None:
        # The exact error torch's CPU allocator raises under an rlimit.
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: "
            "can't allocate memory: you tried to allocate 40000000000 bytes."
        )

    monkeypatch.setattr(training, "predict_logits", no_memory)
    assert execute.main([str(write_sentiment_job(tmp_path, classifier_dir))]) == 3
    error = glew_error(capsys.readouterr().err)
    assert error["code"] == "execute.out_of_memory"
    assert "out of memory at batch" in error["message"]


def test_out_of_memory_in_training_names_the_step_batch_size_and_peak(
    tmp_path: Path,
    classifier_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_memory(*args: Any, **kwargs: Any) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")

    # Replaced where the training loop calls it.
    monkeypatch.setattr(loop, "forward", no_memory)
    assert execute.main([str(write_sentiment_job(tmp_path, classifier_dir))]) == 3
    error = glew_error(capsys.readouterr().err)
    assert error["code"] == "execute.out_of_memory"
    assert re.fullmatch(
        r"out of memory at batch 1 of train, batch size 8 \(peak \d+\.\d\d GiB\)",
        error["message"],
    ), error["message"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("precision", "fp16"),
        ("gradient_accumulation_steps", 0),
        ("gradient_accumulation_steps", 1.5),
        ("batch_size", 0),
    ],
)
def test_unsupported_recipe_values_fail_as_bad_spec(
    tmp_path: Path,
    classifier_dir: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    value: Any,
) -> None:
    smoke = get_recipe("smoke", task_name="glue/sst2", task_type="classification")
    recipe = smoke.to_dict() | {key: value}
    assert (
        execute.main(
            [str(write_sentiment_job(tmp_path, classifier_dir, recipe=recipe))]
        )
        == 2
    )
    error = glew_error(capsys.readouterr().err)
    assert error["code"] == "execute.bad_spec"
    assert key in error["message"]


def test_unexpected_failure_is_reported_as_crashed(
    tmp_path: Path,
    classifier_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError("something broke")

    monkeypatch.setattr(training, "predict_logits", broken)
    assert execute.main([str(write_sentiment_job(tmp_path, classifier_dir))]) == 1
    captured = capsys.readouterr().err
    assert "Traceback" in captured
    error = glew_error(captured)
    assert error == {
        "code": "execute.crashed",
        "message": "ValueError: something broke",
    }


def test_module_exits_non_zero_on_a_bad_model(tmp_path: Path) -> None:
    model = tmp_path / "empty-model"
    model.mkdir()
    spec = write_sentiment_job(tmp_path / "job", model)
    done = subprocess.run(
        [sys.executable, "-m", "runners.execute", str(spec)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert glew_error(done.stderr)["code"] == "execute.bad_model"
