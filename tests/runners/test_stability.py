"""Recipe knobs for small data: layer-wise decay, re-initialised top, frozen bottom."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from runners.contract import JobSpec
from runners.recipes import get_recipe
from runners.training.loop import make_optimizer
from runners.training.stability import apply_stability, encoder_parts, layer_depths
from tasks.errors import UserError
from tests.runners.test_contract import WORKER_SPEC


def _bert(layers: int = 3) -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=2,
    )
    return BertForSequenceClassification(config)


def test_the_encoder_layers_and_embeddings_are_found():
    model = _bert(3)
    embeddings, layers = encoder_parts(model)
    assert embeddings is model.bert.embeddings
    assert layers == list(model.bert.encoder.layer)


def test_layerwise_decay_gives_each_layer_its_learning_rate():
    model = _bert(3)
    depths = layer_depths(model)
    assert depths["classifier.weight"] == 0
    assert depths["bert.pooler.dense.weight"] == 0
    assert depths["bert.encoder.layer.2.output.dense.weight"] == 1
    assert depths["bert.encoder.layer.0.output.dense.weight"] == 3
    assert depths["bert.embeddings.word_embeddings.weight"] == 4
    optimizer = make_optimizer(model, 1e-3, 0.01, layerwise_lr_decay=0.5)
    lr_of = {
        id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]
    }
    named = dict(model.named_parameters())
    assert lr_of[id(named["classifier.weight"])] == pytest.approx(1e-3)
    assert lr_of[id(named["bert.encoder.layer.2.output.dense.weight"])] == (
        pytest.approx(5e-4)
    )
    assert lr_of[id(named["bert.embeddings.word_embeddings.weight"])] == (
        pytest.approx(1e-3 / 16)
    )


def test_without_the_knobs_the_optimizer_is_the_plain_two_group_adamw():
    model = _bert(2)
    optimizer = make_optimizer(model, 1e-3, 0.01)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.01, 0.0]
    assert {g["lr"] for g in optimizer.param_groups} == {1e-3}
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(
        list(model.parameters())
    )


def test_reinit_changes_only_the_top_layers():
    model = _bert(3)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.manual_seed(1)
    apply_stability(model, {"reinit_top_layers": 1})
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith("bert.encoder.layer.2.") for n in changed)


def test_freezing_stops_the_embeddings_and_bottom_layers_from_learning():
    model = _bert(3)
    apply_stability(model, {"freeze_lower_layers": 2})
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert any(n.startswith("bert.embeddings.") for n in frozen)
    assert any(n.startswith("bert.encoder.layer.0.") for n in frozen)
    assert not any(n.startswith("bert.encoder.layer.1.") for n in frozen)
    optimizer = make_optimizer(model, 1e-2, 0.0)
    trained = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert all(id(p) not in trained for n, p in model.named_parameters() if n in frozen)


def test_a_model_without_known_layers_asked_to_freeze_is_refused():
    with pytest.raises(UserError) as caught:
        apply_stability(torch.nn.Linear(3, 2), {"freeze_lower_layers": 1})
    assert caught.value.code == "execute.bad_model"


def test_the_knobs_travel_in_the_spec_only_when_used():
    quick = get_recipe("quick", task_name="glue/rte", task_type="classification")
    assert "layerwise_lr_decay" not in quick.to_dict()
    tuned = dataclasses.replace(quick, layerwise_lr_decay=0.9, reinit_top_layers=1)
    data = tuned.to_dict()
    assert (data["layerwise_lr_decay"], data["reinit_top_layers"]) == (0.9, 1)
    assert "freeze_lower_layers" not in data


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("layerwise_lr_decay", 0),
        ("layerwise_lr_decay", 1.5),
        ("reinit_top_layers", -1),
        ("freeze_lower_layers", True),
    ],
)
def test_bad_knob_values_are_refused_by_the_contract(key, value):
    spec = json.loads(json.dumps(WORKER_SPEC))
    spec["recipe"][key] = value
    with pytest.raises(UserError) as caught:
        JobSpec.from_dict(spec)
    assert caught.value.code == "execute.bad_spec"
    assert key in caught.value.message
