"""LRA's optimizer and learning-rate schedules, pinned to the official code
(google-research/long-range-arena; each test names its file)."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from runners.contract import OPTIMIZERS, SCHEDULERS
from runners.training.loop import (
    GRAD_CLIP_NORM,
    clip_gradients,
    cosine_schedule,
    make_optimizer,
    schedule,
)


def _bert() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=2,
    )
    return BertForSequenceClassification(config)


def test_lra_adam_decays_every_parameter_with_lras_betas_and_eps():
    # lra_benchmarks/{listops,text_classification,matching,image}/train.py,
    # create_optimizer: optim.Adam(learning_rate, beta1=0.9, beta2=0.98,
    # eps=1e-9, weight_decay=weight_decay), decay on the whole model.
    model = _bert()
    optimizer = make_optimizer(model, 0.05, 0.1, optimizer="lra_adam")
    assert {g["weight_decay"] for g in optimizer.param_groups} == {0.1}
    assert {g["betas"] for g in optimizer.param_groups} == {(0.9, 0.98)}
    assert {g["eps"] for g in optimizer.param_groups} == {1e-9}
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(
        list(model.parameters())
    )
    assert "lra_adam" in OPTIMIZERS and "cosine_decay" in SCHEDULERS


def test_adamw_keeps_berts_recipe():
    optimizer = make_optimizer(_bert(), 1e-3, 0.01)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.01, 0.0]
    assert {g["betas"] for g in optimizer.param_groups} == {(0.9, 0.999)}
    assert {g["eps"] for g in optimizer.param_groups} == {1e-8}


@pytest.mark.parametrize(("name", "clipped"), [("adamw", True), ("lra_adam", False)])
def test_only_adamw_clips_gradients(name, clipped):
    # LRA: config.grad_clip_norm = None in image/configs/*/base_*_config.py; the
    # listops, text and matching train_step apply gradients unclipped.
    model = torch.nn.Linear(4, 1)
    model.weight.grad = torch.full_like(model.weight, 10.0)
    model.bias.grad = torch.full_like(model.bias, 10.0)
    clip_gradients(model, {"optimizer": name})
    norm = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).norm()
    expected = GRAD_CLIP_NORM if clipped else math.sqrt(5 * 100.0)
    assert norm.item() == pytest.approx(expected, rel=1e-5)


def lra_factor(step: int, warmup: int, cycle: int) -> float:
    """create_learning_rate_scheduler's "constant * linear_warmup * cosine_decay"
    over the constant (lra_benchmarks/utils/train_utils.py), at flax's step."""
    ret = min(1.0, step / warmup)
    progress = max(0.0, (step - warmup) / float(cycle))
    return ret * max(0.0, 0.5 * (1.0 + math.cos(math.pi * (progress % 1.0))))


def test_cosine_schedule_is_lras_one_step_later():
    # Image: base_cifar10_config.py, warmup 45000 // 256 = 175, steps_per_cycle
    # (45000 // 256) * 200 = 35000, the whole run.
    factor = cosine_schedule(175, 35000)
    for step in (0, 1, 100, 173, 174, 175, 1000, 17674, 30000, 34999):
        assert factor(step) == pytest.approx(lra_factor(step + 1, 175, 35000))
    assert factor(174) == pytest.approx(1.0)  # the peak: the config's 0.0005
    assert factor(174 + 17500) == pytest.approx(0.5)
    assert factor(34999) < 1e-4
    via_recipe = schedule({"scheduler": "cosine_decay", "warmup_steps": 175}, 35000)
    assert via_recipe(1000) == factor(1000)


@pytest.mark.parametrize(
    ("task", "steps", "warmup", "rate", "source"),
    [
        # (45000 // 256) * 200 steps, warmup one epoch, learning_rate .0005.
        ("lra/image", 35000, 175, 0.0005, "cifar10/base_cifar10_config.py"),
        # (160000 // 512) * 200 steps, warmup one epoch, learning_rate .001.
        (
            "lra/pathfinder",
            62400,
            312,
            0.001,
            "pathfinder32/base_pathfinder32_config.py",
        ),
    ],
)
def test_image_and_pathfinder_recipes_are_lras_cosine_runs(
    task, steps, warmup, rate, source
):
    # lra_benchmarks/image/configs/<source>: factors 'constant * linear_warmup *
    # cosine_decay', steps_per_cycle = num_train_steps, weight_decay 0.
    from runners.recipes import get_recipe
    from tasks.registry import get_task

    assert get_task(task).fixed_recipe["source"].endswith(source)
    recipe = get_recipe("standard", task_name=task, task_type="classification")
    assert (recipe.max_steps, recipe.warmup_steps) == (steps, warmup)
    assert recipe.learning_rate == rate and recipe.weight_decay == 0.0
    assert recipe.scheduler == "cosine_decay" and recipe.optimizer == "lra_adam"
    assert recipe.version == "lra-fixed@4"


def test_listops_text_and_retrieval_keep_rsqrt_decay_with_lras_adam():
    # lra_benchmarks/{listops,text_classification,matching}/configs/base_*_config.py:
    # factors 'constant * linear_warmup * rsqrt_decay', learning_rate 0.05,
    # weight_decay 1e-1; warmup 1000 / 8000 / 8000, steps 5000 / 20000 / 5000.
    from runners.recipes import get_recipe

    for task, warmup, steps in (
        ("lra/listops", 1000, 5000),
        ("lra/text", 8000, 20000),
        ("lra/retrieval", 8000, 5000),
    ):
        recipe = get_recipe("standard", task_name=task, task_type="classification")
        assert (recipe.warmup_steps, recipe.max_steps) == (warmup, steps)
        assert (recipe.learning_rate, recipe.weight_decay) == (0.05, 0.1)
        assert recipe.scheduler == "rsqrt_decay" and recipe.optimizer == "lra_adam"
