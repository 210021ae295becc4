"""One LEPISZCZE token task (AspectEmo, unit tags) end to end through the runner.

The rows come from files in the Hub's JSON Lines layout (``tokens``, ``labels``)
imported by ``hf_files``; a tiny BERT is fine-tuned and predicts one tag per word,
scored with LEPISZCZE's unit-mode F1-macro.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runners import execute
from runners.contract import TaskInputs
from runners.recipes import get_recipe
from tasks.importers.loading import load_task
from tasks.metrics.tokens import token_macro_f1
from tasks.registry import get_task
from tasks.scoring import score_predictions
from tasks.tagging import tag_names
from tests.fixtures import jobs
from tests.fixtures.jobs import read_predictions
from tests.fixtures.tiny_model import build_tiny_model

TASK = "lepiszcze/aspectemo"
WORDS = ["Polecam", "lekarza", ",", "ale", "gabinet", "jest", "brudny", "."]
TAGS = ["O", "a_plus_m", "O", "O", "a_minus_m", "O", "O", "O"]


def test_aspectemo_trains_and_predicts_one_tag_per_word(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "aspectemo"
    folder.mkdir(parents=True)
    records = [
        {"tokens": WORDS[i:] + WORDS[:i], "labels": TAGS[i:] + TAGS[:i]}
        for i in range(len(WORDS))
    ]
    for split in ("train", "test"):
        lines = [json.dumps(r, ensure_ascii=False) for r in records]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    dataset = load_task(TASK, tmp_path / "data")
    task = get_task(TASK)
    tiny = build_tiny_model(
        tmp_path / "model", [" ".join(r["tokens"]) for r in records], num_labels=7
    )
    recipe = get_recipe("smoke", task_name=TASK, task_type=task.type).to_dict()
    recipe |= {"learning_rate": 3e-3, "max_steps": 10, "eval_batch_size": 4}
    test = dataset.splits["test"]
    spec = jobs.write_job(
        tmp_path / "job",
        tiny,
        task=TaskInputs.from_task(task),
        recipe=recipe,
        train=dataset.splits["train"],
        predict={"test": test},
    )

    assert execute.main([str(spec)]) == 0
    predictions = [p["prediction"] for p in read_predictions(tmp_path / "job", "test")]
    assert [len(p) for p in predictions] == [len(r["tokens"]) for r in test]
    references = [row["label"] for row in test]
    scores = score_predictions(task, {"test": predictions}, {"test": references})
    expected = token_macro_f1(tag_names(task, predictions), tag_names(task, references))
    assert scores["unit_macro_f1"] == pytest.approx(expected)
