"""The runner on the catalogue's task types beyond one-text classification.

LRA (task vocabularies, a config-only model trained from scratch, two towers for
Retrieval, the task's fixed recipe), BLURB HoC (multi-label) and the long-context
tasks (rows longer than the model takes), each run end to end through
``execute.main`` on tiny generated or hand-written rows.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch

from runners import execute, training
from runners.contract import TaskInputs
from runners.recipes import get_recipe
from tasks.generators import generate_task
from tasks.generators.listops import ListOpsConfig
from tasks.registry import get_task
from tasks.vocab import get_vocabulary
from tests.fixtures import jobs
from tests.fixtures.jobs import glew_error, read_measurements, read_predictions
from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model

TINY_LISTOPS = ListOpsConfig(max_depth=3, max_args=4, min_length=5, max_length=40)


def write_config_model(dest: Path, **overrides: Any) -> Path:
    """An architecture submission: a tiny BERT config.json and nothing else."""
    from transformers import BertConfig

    settings = {
        "vocab_size": 258,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": 4001,
    } | overrides
    dest.mkdir(parents=True)
    BertConfig(**settings).save_pretrained(dest)
    return dest


def write_job(
    job: Path,
    model_dir: Path,
    task: TaskInputs,
    recipe: dict[str, Any],
    train: list[dict[str, Any]],
    predict: dict[str, list[dict[str, Any]]],
) -> Path:
    """A job folder as the worker lays it out (labels stripped from predicted rows)."""
    return jobs.write_job(
        job, model_dir, task=task, recipe=recipe, train=train, predict=predict
    )


def job_task(name: str, **changes: Any) -> TaskInputs:
    """The spec's task object for a catalogue task, as the worker writes it."""
    return dataclasses.replace(TaskInputs.from_task(get_task(name)), **changes)


def smoke(name: str, **changes: Any) -> dict[str, Any]:
    task = get_task(name)
    recipe = get_recipe("smoke", task_name=name, task_type=task.type)
    return recipe.to_dict() | changes


# --- recipes -------------------------------------------------------------------------


def test_lra_tasks_run_their_fixed_recipe_under_any_named_recipe() -> None:
    fixed = get_task("lra/listops").fixed_recipe
    for name in ("quick", "standard"):
        recipe = get_recipe(name, task_name="lra/listops", task_type="classification")
        assert recipe.name == name
        assert recipe.version == "lra-fixed@4"
        assert recipe.optimizer == "lra_adam"
        assert recipe.precision == "bf16"
        assert recipe.learning_rate == fixed["learning_rate"]
        assert recipe.batch_size == fixed["batch_size"]
        assert recipe.max_length == fixed["max_length"]
        assert recipe.max_steps == fixed["train_steps"]
        assert recipe.warmup_steps == fixed["warmup_steps"]
        assert recipe.weight_decay == fixed["weight_decay"]
        assert recipe.scheduler == "rsqrt_decay"
        assert recipe.max_train_examples is None
        assert recipe.to_dict()["warmup_steps"] == fixed["warmup_steps"]


def test_smoke_recipe_stays_a_few_small_steps_on_lra() -> None:
    recipe = get_recipe("smoke", task_name="lra/pathfinder", task_type="classification")
    assert recipe.max_steps == 4
    assert recipe.batch_size == 8
    assert recipe.max_train_examples == 64
    assert recipe.max_length == 1024
    assert recipe.version == "smoke@4+lra-fixed@4"
    assert recipe.scheduler == "cosine_decay" and recipe.optimizer == "lra_adam"


def test_long_context_recipes_allow_the_longest_bucket() -> None:
    recipe = get_recipe(
        "quick",
        task_name="longcontext/sst2-global",
        task_type="classification",
    )
    assert recipe.max_length == 2 * 16000
    assert recipe.version == "quick@5+long@1"
    # Only the length changes: every other number is quick's own.
    quick = get_recipe("quick", task_name="glue/sst2", task_type="classification")
    assert recipe.learning_rate == quick.learning_rate


def test_rsqrt_schedule_warms_up_then_decays_like_lra() -> None:
    factor = training.rsqrt_schedule(100)
    assert factor(0) == pytest.approx(1 / 100 / 10)
    assert factor(99) == pytest.approx(1 / 10)
    assert factor(399) == pytest.approx(1 / 20)


# --- LRA: task vocabularies, config-only models --------------------------------------


def test_listops_trains_a_config_only_model_on_the_task_vocabulary(
    tmp_path: Path,
) -> None:
    data = generate_task(
        "lra/listops", seed=0, n_train=16, n_val=0, n_test=6, config=TINY_LISTOPS
    ).splits
    vocab = get_vocabulary("listops")
    model = write_config_model(
        tmp_path / "model", vocab_size=vocab.vocab_size, max_position_embeddings=2001
    )
    spec = write_job(
        tmp_path / "job",
        model,
        job_task("lra/listops"),
        smoke("lra/listops"),
        data["train"],
        {"test": data["test"]},
    )

    assert execute.main([str(spec)]) == 0
    test = read_predictions(tmp_path / "job", "test")
    assert [p["idx"] for p in test] == [r["idx"] for r in data["test"]]
    assert all(type(p["prediction"]) is int and 0 <= p["prediction"] < 10 for p in test)
    m = read_measurements(tmp_path / "job")
    assert m["from_scratch"] is True
    assert m["train_steps"] == 4
    assert m["truncated_rows"] == {"train": 0, "test": 0}
    assert m["model_max_length"] == 2001
    # A [CLS] and each symbol: the model read the task's ids, not a tokenizer's.
    assert m["infer_tokens_per_s"] > 0


def test_pathfinder_reads_pixels(tmp_path: Path) -> None:
    # Glew's generator: rows shaped like LRA's released images (1024 gray levels).
    data = generate_task("lra/pathfinder-glew", seed=0, n_train=8, n_val=0, n_test=4)
    model = write_config_model(tmp_path / "model", max_position_embeddings=1025)
    spec = write_job(
        tmp_path / "job",
        model,
        job_task("lra/pathfinder"),
        smoke("lra/pathfinder", max_steps=2),
        data.splits["train"],
        {"test": data.splits["test"]},
    )

    assert execute.main([str(spec)]) == 0
    assert [
        p["prediction"] in (0, 1) for p in read_predictions(tmp_path / "job", "test")
    ]
    m = read_measurements(tmp_path / "job")
    assert m["train_steps"] == 2
    assert m["truncated_rows"] == {"train": 0, "test": 0}


@pytest.mark.parametrize(
    ("overrides", "numbers"),
    [
        ({"vocab_size": 10}, ("vocab_size 10", "19")),
        ({"vocab_size": 19, "max_position_embeddings": 512}, ("512", "2001")),
    ],
)
def test_config_too_small_for_the_task_fails_as_bad_model_naming_the_numbers(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    overrides: dict[str, int],
    numbers: tuple[str, str],
) -> None:
    data = generate_task(
        "lra/listops", seed=0, n_train=2, n_val=0, n_test=2, config=TINY_LISTOPS
    ).splits
    model = write_config_model(tmp_path / "model", **overrides)
    spec = write_job(
        tmp_path / "job",
        model,
        job_task("lra/listops"),
        smoke("lra/listops"),
        data["train"],
        {"test": data["test"]},
    )

    assert execute.main([str(spec)]) == 2
    error = glew_error(capsys.readouterr().err)
    assert error["code"] == "execute.bad_model"
    assert all(number in error["message"] for number in numbers), error["message"]


def test_a_bad_pixel_fails_as_bad_data_naming_the_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = write_config_model(tmp_path / "model", max_position_embeddings=1025)
    rows = [{"idx": 0, "pixels": [0, 300], "label": 1}]
    spec = write_job(
        tmp_path / "job",
        model,
        job_task("lra/pathfinder"),
        smoke("lra/pathfinder"),
        rows,
        {"test": rows},
    )

    assert execute.main([str(spec)]) == 2
    error = glew_error(capsys.readouterr().err)
    assert error["code"] == "execute.bad_data"
    assert "idx 0" in error["message"] and "300" in error["message"]


# --- LRA Retrieval: two towers --------------------------------------------------------

RETRIEVAL_ROWS = [
    {
        "idx": i,
        "text1": f"paper {i} on {topic} methods",
        "text2": f"we cite prior work on {topic if i % 2 else 'other'} results",
        "label": i % 2,
    }
    for i, topic in enumerate(["parsing", "tagging", "translation", "speech"] * 3)
]


def test_retrieval_encodes_each_document_with_one_shared_encoder(
    tmp_path: Path,
) -> None:
    model = write_config_model(tmp_path / "model")
    spec = write_job(
        tmp_path / "job",
        model,
        job_task("lra/retrieval"),
        smoke("lra/retrieval", max_length=32),
        RETRIEVAL_ROWS,
        {"test": RETRIEVAL_ROWS[:5]},
    )

    assert execute.main([str(spec)]) == 0
    test = read_predictions(tmp_path / "job", "test")
    assert [p["idx"] for p in test] == [0, 1, 2, 3, 4]
    assert all(type(p["prediction"]) is int and p["prediction"] in (0, 1) for p in test)
    m = read_measurements(tmp_path / "job")
    assert m["execution_path"] == "padded"
    # Documents longer than 32 bytes are cut, each tower on its own.
    assert m["truncated_rows"]["train"] == len(RETRIEVAL_ROWS)
    assert m["batch_invariant"] is True


def test_two_tower_model_has_a_seeded_head_over_the_base_encoder(
    tmp_path: Path,
) -> None:
    model_dir = write_config_model(tmp_path / "model")
    built = []
    for _ in range(2):
        training.seed_everything(0)
        _, model, scratch, _ = training.load_model(
            model_dir,
            task_type="classification",
            num_labels=2,
            vocabulary=get_vocabulary("bytes"),
            positions=33,
            two_tower=True,
        )
        built.append(model)
    assert scratch is True
    assert isinstance(built[0], training.TwoTowerClassifier)
    # LRA's classifier_head_dual (lra_benchmarks/models/layers/common_layers.py,
    # no interaction in matching/train.py): [u, v] -> mlp -> mlp // 2 -> classes,
    # mlp the encoder's MLP width.
    head = built[0].head
    linears = [layer for layer in head if isinstance(layer, torch.nn.Linear)]
    mlp = built[0].config.intermediate_size
    assert [(x.in_features, x.out_features) for x in linears] == [
        (2 * 32, mlp),
        (mlp, mlp // 2),
        (mlp // 2, 2),
    ]
    assert sum(isinstance(layer, torch.nn.ReLU) for layer in head) == 2
    for a, b in zip(built[0].parameters(), built[1].parameters(), strict=True):
        assert a.equal(b)
    encodings, cut = training.encode_rows(
        RETRIEVAL_ROWS[:3],
        ["text1", "text2"],
        16,
        "rows",
        vocabulary=get_vocabulary("bytes"),
        two_tower=True,
    )
    assert cut == 3
    assert {len(e["input_ids"]) for e in encodings} == {17}
    assert encodings[0]["pair_input_ids"][0] == get_vocabulary("bytes").cls_id
    batch = training.collate(encodings, pad_id=0, padding_side="right")
    assert built[0](**batch).logits.shape == (3, 2)


# --- BLURB HoC: multi-label -----------------------------------------------------------

HOC = TaskInputs(
    name="blurb/hoc",
    type="multilabel_classification",
    text_fields=("text",),
    num_labels=3,
    labels=("a", "b", "c"),
    multi_label=True,
)


def _multi_label_rows() -> list[dict[str, Any]]:
    """Positive sentences carry classes {0, 2}, negative ones {1}: learnable."""
    texts = FIXTURE_TEXTS[:12] + FIXTURE_TEXTS[30:42]
    return [
        {"idx": i, "text": text, "label": [0, 2] if i < 12 else [1]}
        for i, text in enumerate(texts)
    ]


def test_multi_label_predictions_are_sorted_lists_of_class_indices(
    tmp_path: Path,
) -> None:
    model = build_tiny_model(tmp_path / "model", FIXTURE_TEXTS, num_labels=3)
    rows = _multi_label_rows()
    task = HOC
    recipe = smoke("glue/sst2", learning_rate=3e-3, max_steps=30, eval_batch_size=4)
    test_rows = rows[6:18]
    spec = write_job(tmp_path / "job", model, task, recipe, rows, {"test": test_rows})

    assert execute.main([str(spec)]) == 0
    test = read_predictions(tmp_path / "job", "test")
    assert [p["idx"] for p in test] == [r["idx"] for r in test_rows]
    for p in test:
        value = p["prediction"]
        assert isinstance(value, list) and value == sorted(set(value))
        assert all(type(i) is int and 0 <= i < 3 for i in value)
    # Thirty steps on these rows: the model has learnt label sets far above chance
    # (an exact match of 3 independent labels by chance: 1 in 8, 1.5 of 12 rows).
    # Not higher: thread counts set by other tests change float reduction order.
    right = sum(p["prediction"] == rows[p["idx"]]["label"] for p in test)
    assert right >= 5
    m = read_measurements(tmp_path / "job")
    assert m["batch_invariant"] is True
    assert m["final_train_loss"] > 0


def test_multi_label_rows_with_a_repeated_class_fail_as_bad_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = build_tiny_model(tmp_path / "model", FIXTURE_TEXTS, num_labels=3)
    rows = [{"idx": 0, "text": "a film", "label": [1, 1]}]
    task = HOC
    spec = write_job(
        tmp_path / "job", model, task, smoke("glue/sst2"), rows, {"test": rows}
    )

    assert execute.main([str(spec)]) == 2
    assert glew_error(capsys.readouterr().err)["code"] == "execute.bad_data"


# --- long context ---------------------------------------------------------------------


def _long_row(idx: int, label: int) -> dict[str, Any]:
    context = " ".join(f"[{n}] {FIXTURE_TEXTS[n]}" for n in range(40))
    return {
        "idx": idx,
        "context": context,
        "question": f"what is the sentiment of passage {idx}",
        "label": label,
    }


def test_long_context_rows_are_cut_at_the_model_maximum_and_counted(
    tmp_path: Path,
) -> None:
    model = build_tiny_model(tmp_path / "model", FIXTURE_TEXTS)
    rows = [_long_row(i, int(i < 3)) for i in range(6)]
    name = "longcontext/sst2-explicit-single"
    spec = write_job(
        tmp_path / "job",
        model,
        job_task(name),
        smoke(name, eval_batch_size=4),
        rows,
        {"validation_1k": rows[:4], "validation_2k": rows[4:]},
    )

    assert execute.main([str(spec)]) == 0
    assert [p["idx"] for p in read_predictions(tmp_path / "job", "validation_1k")] == [
        0,
        1,
        2,
        3,
    ]
    m = read_measurements(tmp_path / "job")
    assert m["model_max_length"] == 128
    assert m["max_length_used"] == 128
    assert m["truncated_rows"] == {"train": 6, "validation_1k": 4, "validation_2k": 2}


def test_a_cut_long_context_keeps_its_question(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        build_tiny_model(tmp_path / "model", FIXTURE_TEXTS)
    )
    row = _long_row(7, 1)
    encodings, cut = training.encode_rows(
        [row],
        ["context", "question"],
        64,
        "rows",
        tokenizer=tokenizer,
        keep_second=True,
    )
    ids = encodings[0]["input_ids"]
    question = tokenizer(row["question"], add_special_tokens=False)["input_ids"]
    assert cut == 1 and len(ids) == 64
    assert ids[-len(question) - 1 : -1] == question
