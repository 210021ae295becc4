"""The worker <-> sandbox contract: the spec, the lines, the measurement keys.

A spec written today must be read by the program as it was before the contract
had a module of its own (the same keys, the same defaults, the same error codes
and messages), and the lines the program prints must parse back to what it
meant. The end-to-end runs that use it are in test_execute.py.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runners.contract import (
    EFFICIENCY_KEYS,
    ERROR_PREFIX,
    MEASUREMENT_KEYS,
    PROGRESS_PREFIX,
    SPEC_VERSION,
    JobData,
    JobSpec,
    LaunchSettings,
    TaskInputs,
    data_file,
    format_error,
    format_progress,
    inside_job,
    parse_error,
    parse_progress,
    predictions_file,
)
from runners.recipes import RECIPE_NAMES, get_recipe
from tasks.errors import UserError
from tasks.registry import all_tasks, get_task

# What the worker wrote before JobSpec existed (its dict literal), for the record:
# a spec of this shape must keep loading, and JobSpec must write exactly it.
WORKER_SPEC: dict[str, Any] = {
    "spec_version": 1,
    "evaluation_id": 12,
    "task": {
        "name": "glue/sst2",
        "type": "classification",
        "text_fields": ["sentence"],
        "labels": ["0", "1"],
        "num_labels": 2,
        "multi_label": False,
        "vocabulary": None,
        "two_tower": False,
        "long_context": False,
        "fixed_recipe": None,
        # The mlm track's prompt (tasks/catalogue/glue.toml); only when a task has one.
        "prompt": {
            "template": "{sentence} It was {mask}.",
            "verbalizer": ["terrible", "great"],
        },
    },
    "recipe": get_recipe(
        "quick", task_name="glue/sst2", task_type="classification"
    ).to_dict(),
    "seed": 0,
    "model_dir": "/job/model",
    "data": {
        "train": "/job/data/train.jsonl",
        "predict": {
            "validation": "/job/data/validation.jsonl",
            "test": "/job/data/test.jsonl",
        },
    },
    "output_dir": "/job/out",
    "numerics": "fp32-x86-64-v3",
    "threads": 2,
}


def _spec(**changes: Any) -> dict[str, Any]:
    return json.loads(json.dumps(WORKER_SPEC)) | changes


def _refused(data: Any) -> str:
    with pytest.raises(UserError) as caught:
        JobSpec.from_dict(data)
    assert caught.value.code == "execute.bad_spec"
    return caught.value.message


# --- the spec -------------------------------------------------------------------------


def test_the_worker_spec_reads_and_writes_back_unchanged() -> None:
    spec = JobSpec.from_dict(_spec())
    assert spec.task.text_fields == ("sentence",)
    assert spec.data.predict["test"] == "/job/data/test.jsonl"
    assert spec.to_dict() == WORKER_SPEC
    assert JobSpec.from_json(spec.to_json()) == spec


def test_a_spec_built_in_code_has_the_documented_paths() -> None:
    spec = JobSpec(
        task=TaskInputs.from_task(get_task("glue/sst2")),
        recipe=WORKER_SPEC["recipe"],
        seed=0,
        model_dir=inside_job("model"),
        data=JobData(
            train=data_file("train"),
            predict={"validation": data_file("validation"), "test": data_file("test")},
        ),
        output_dir=inside_job("out"),
        evaluation_id=12,
        numerics="fp32-x86-64-v3",
        threads=2,
    )
    assert spec.to_dict() == WORKER_SPEC


@pytest.mark.parametrize("name", [task.name for task in all_tasks()])
def test_every_catalogue_task_gives_the_task_object_the_worker_wrote(
    name: str,
) -> None:
    task = get_task(name)
    written = {
        "name": task.name,
        "type": task.type,
        "text_fields": list(task.text_fields),
        "labels": list(task.labels) if task.labels else None,
        "num_labels": task.num_labels,
        "multi_label": task.type == "multilabel_classification",
        "vocabulary": task.vocabulary,
        "two_tower": task.two_tower,
        "long_context": bool(task.long_context),
        "fixed_recipe": dict(task.fixed_recipe) or None,
    }
    if task.prompt is not None:
        written["prompt"] = {
            "template": task.prompt.template,
            "verbalizer": list(task.prompt.verbalizer),
        }
    inputs = TaskInputs.from_task(task)
    assert inputs.to_dict() == written
    assert TaskInputs.from_dict(written) == inputs


@pytest.mark.parametrize("recipe_name", RECIPE_NAMES)
@pytest.mark.parametrize(
    "task_name", ["glue/sst2", "glue/stsb", "lra/listops", "longcontext/sst2-global"]
)
def test_every_recipe_is_a_valid_spec_recipe(recipe_name: str, task_name: str) -> None:
    task = get_task(task_name)
    recipe = get_recipe(recipe_name, task_name=task_name, task_type=task.type)
    spec = JobSpec.from_dict(_spec(recipe=recipe.to_dict()))
    assert spec.recipe == recipe.to_dict()
    assert recipe.with_half_batch() is None or JobSpec.from_dict(
        _spec(recipe=recipe.with_half_batch().to_dict())
    )


def test_an_older_spec_without_the_optional_keys_gets_their_defaults() -> None:
    data = _spec()
    for key in ("evaluation_id", "numerics", "threads"):
        del data[key]
    data["task"] = {
        key: data["task"][key] for key in ("name", "type", "text_fields", "num_labels")
    }
    del data["data"]["train"]
    spec = JobSpec.from_dict(data)
    assert (spec.evaluation_id, spec.numerics, spec.threads) == (None, None, None)
    assert spec.task == TaskInputs(
        name="glue/sst2",
        type="classification",
        text_fields=("sentence",),
        num_labels=2,
    )
    assert spec.data.train is None
    assert "train" not in spec.to_dict()["data"]


def test_unknown_extra_keys_are_allowed_so_a_newer_worker_breaks_nothing() -> None:
    data = _spec(future_key={"a": 1})
    data["task"]["future_task_key"] = True
    data["recipe"]["future_knob"] = 3
    data["data"]["future_data"] = "x"
    spec = JobSpec.from_dict(data)
    assert spec.recipe["future_knob"] == 3
    assert "future_key" not in spec.to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(spec_version=2), "spec_version 2 is not 1"),
        (lambda d: d.pop("spec_version"), "spec_version None is not 1"),
        (lambda d: d.pop("seed"), "missing seed in spec"),
        (lambda d: d.update(task=[1]), "'task' must be an object"),
        (
            lambda d: [d["task"].pop("type"), d["task"].pop("num_labels")],
            "missing type, num_labels in task",
        ),
        (
            lambda d: [d["recipe"].pop("epochs"), d["recipe"].pop("precision")],
            "missing epochs, precision in recipe",
        ),
        (lambda d: d["data"].pop("predict"), "missing predict in data"),
        (lambda d: d["task"].update(type="ranking"), "unknown task type 'ranking'"),
        (
            lambda d: d["task"].update(text_fields=["a", "b", "c"]),
            "task.text_fields must list one or two field names",
        ),
        (
            lambda d: d["task"].update(text_fields="sentence"),
            "task.text_fields must list one or two field names",
        ),
        (
            lambda d: d["task"].update(vocabulary="klingon"),
            "task.vocabulary 'klingon' is not one of listops, bytes, pixels (or null)",
        ),
        (
            lambda d: d["task"].update(two_tower="yes"),
            "task.two_tower must be true or false",
        ),
        (
            lambda d: d["task"].update(long_context=1),
            "task.long_context must be true or false",
        ),
        (
            lambda d: d["task"].update(two_tower=True),
            "task.two_tower needs two text_fields",
        ),
        (
            lambda d: d["task"].update(vocabulary="bytes", text_fields=["a", "b"]),
            "a task vocabulary with two text_fields needs two_tower",
        ),
        (
            lambda d: d["recipe"].update(scheduler="cosine"),
            "recipe.scheduler 'cosine' is not one of linear, rsqrt_decay, cosine_decay",
        ),
        (
            lambda d: d["recipe"].update(optimizer="sgd"),
            "recipe.optimizer 'sgd' is not one of adamw, lra_adam",
        ),
        (
            lambda d: d["recipe"].update(warmup_steps=True),
            "recipe.warmup_steps must be null or an integer >= 0",
        ),
        (
            lambda d: d["recipe"].update(max_train_tokens=0),
            "recipe.max_train_tokens must be null or an integer >= 1",
        ),
        (
            lambda d: d["recipe"].update(max_train_tokens="200k"),
            "recipe.max_train_tokens must be null or an integer >= 1",
        ),
        (
            lambda d: d["recipe"].update(precision="fp16"),
            "precision 'fp16' is not one of fp32, bf16",
        ),
        (
            lambda d: d["recipe"].update(gradient_accumulation_steps=1.5),
            "recipe.gradient_accumulation_steps must be an integer >= 1",
        ),
        (
            lambda d: d["recipe"].update(eval_batch_size=0),
            "recipe.eval_batch_size must be an integer >= 1",
        ),
        (
            lambda d: d["data"].update(predict={"../x": "/tmp/x"}),
            "data.predict must map plain split names to files",
        ),
    ],
)
def test_a_wrong_spec_is_refused_in_one_line_naming_the_fault(
    change: Any, message: str
) -> None:
    data = _spec()
    change(data)
    assert _refused(data) == f"job spec: {message}"


def test_a_spec_that_is_not_an_object_or_not_json_is_refused(tmp_path: Path) -> None:
    assert _refused([WORKER_SPEC]) == "job spec: the top level must be an object"
    with pytest.raises(UserError, match="^job spec: not JSON"):
        JobSpec.from_json("{")
    path = tmp_path / "spec.json"
    with pytest.raises(UserError, match=f"^job spec: cannot read {path}: "):
        JobSpec.read(path)


def test_a_spec_file_round_trips(tmp_path: Path) -> None:
    spec = JobSpec.from_dict(_spec())
    written = spec.write(tmp_path / "spec.json")
    assert json.loads(written.read_text()) == WORKER_SPEC
    assert JobSpec.read(written) == spec
    assert dataclasses.replace(spec, seed=3).to_dict()["seed"] == 3


def test_the_launcher_reads_its_two_settings_leniently(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    assert LaunchSettings.read(path) == LaunchSettings()
    JobSpec.from_dict(_spec()).write(path)
    assert LaunchSettings.read(path) == LaunchSettings("fp32-x86-64-v3", 2)
    for threads in (0, True, "2", None):
        path.write_text(json.dumps(_spec(threads=threads, numerics=7)))
        assert LaunchSettings.read(path) == LaunchSettings()
    path.write_text("[1, 2]")
    assert LaunchSettings.read(path) == LaunchSettings()
    LaunchSettings(threads=1).write(path)
    assert json.loads(path.read_text()) == {
        "spec_version": SPEC_VERSION,
        "numerics": None,
        "threads": 1,
    }


def test_predictions_are_found_under_the_output_folder() -> None:
    assert predictions_file("/job/out", "validation") == Path(
        "/job/out/predictions/validation.jsonl"
    )


# --- the lines ------------------------------------------------------------------------


def test_a_progress_line_parses_back_to_its_fields() -> None:
    line = format_progress(stage="train", step=10, total_steps=25, loss=0.5)
    assert line.startswith(PROGRESS_PREFIX)
    assert parse_progress(line) == {
        "stage": "train",
        "step": 10,
        "total_steps": 25,
        "loss": 0.5,
    }


@pytest.mark.parametrize(
    "line", ["plain log line", PROGRESS_PREFIX + "{oops", PROGRESS_PREFIX + "[1, 2]"]
)
def test_other_and_malformed_lines_are_not_progress(line: str) -> None:
    assert parse_progress(line) is None


def test_an_error_line_parses_back_to_its_code_and_message() -> None:
    line = format_error("execute.bad_model", "the model folder has no config.json")
    assert line.startswith(ERROR_PREFIX)
    assert parse_error(line) == (
        "execute.bad_model",
        "the model folder has no config.json",
    )


@pytest.mark.parametrize(
    "line",
    [
        None,
        "Traceback (most recent call last):",
        ERROR_PREFIX + "{oops",
        ERROR_PREFIX + '["execute.crashed"]',
        format_error("NotACode", "message"),
        format_error("nodots", "message"),
        format_error("a." + "b" * 100, "message"),
    ],
)
def test_a_malformed_or_foreign_error_line_is_ignored(line: str | None) -> None:
    assert parse_error(line) is None


def test_an_untrusted_error_message_is_cut_and_must_be_text() -> None:
    assert parse_error(format_error("execute.crashed", "x" * 5000)) == (
        "execute.crashed",
        "x" * 2000,
    )
    line = ERROR_PREFIX + json.dumps({"code": "execute.crashed", "message": 7})
    assert parse_error(line) == ("execute.crashed", "execute.crashed")


# --- the measurements -----------------------------------------------------------------


def test_the_published_efficiency_figures_are_measured_keys() -> None:
    assert set(EFFICIENCY_KEYS) <= MEASUREMENT_KEYS
    assert len(set(EFFICIENCY_KEYS)) == len(EFFICIENCY_KEYS)


def test_the_contract_loads_without_torch_or_django() -> None:
    code = (
        "import sys, runners.contract;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'transformers', 'django', 'leaderboard')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
