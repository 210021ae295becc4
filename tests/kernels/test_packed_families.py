"""Every packed family against its own padded Hugging Face forward.

Each family of :mod:`kernels.packed` (BERT's layout: RoBERTa, XLM-R, CamemBERT,
ELECTRA; ModernBERT with rotary positions and local attention) must give the
logits and the gradients the model's own forward gives on a padded batch, within
float tolerance: the same tolerances as BERT's tests (logits 1e-5, gradients
1e-5 absolute / 1e-4 relative). Rows are ragged, some longer than ModernBERT's
local window, so the band mask is exercised.
"""

from __future__ import annotations

import random

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from kernels.packed import (
    PACKED_MODEL_TYPES,
    PACKED_PATH,
    PADDED_PATH,
    forward_logits,
    pad,
    padded_logits,
    sequence_loss,
    supports_packed,
)
from runners.training.pooling import PooledClassifier

VOCAB = 120
PAD = 1
TINY = {
    "vocab_size": VOCAB,
    "hidden_size": 48,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "intermediate_size": 96,
    "max_position_embeddings": 80,
    "initializer_range": 0.2,  # large enough that logits are not all ~0
    "pad_token_id": PAD,
}
FAMILIES = {
    "roberta": {"type_vocab_size": 1},
    "xlm-roberta": {"type_vocab_size": 1},
    "camembert": {"type_vocab_size": 1},
    "electra": {"embedding_size": 24},
    # local_attention 6: layers 1 and 2 attend within 3 tokens either side.
    "modernbert": {"local_attention": 6, "global_attn_every_n_layers": 3},
    "modernbert-mean": {
        "local_attention": 6,
        "global_attn_every_n_layers": 2,
        "classifier_pooling": "mean",
    },
}
ZERO_DROPOUT = {
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "attention_dropout": 0.0,
    "mlp_dropout": 0.0,
    "embedding_dropout": 0.0,
    "classifier_dropout": 0.0,
}


def build(family: str, *, num_labels: int = 3, dropout: bool = False, seed: int = 0):
    model_type = family.split("-mean")[0]
    settings = TINY | FAMILIES[family] | ({} if dropout else ZERO_DROPOUT)
    config = AutoConfig.for_model(model_type, num_labels=num_labels, **settings)
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(
        config, attn_implementation="sdpa"
    )


def ragged(n: int, seed: int, *, token_types: bool) -> list[dict[str, list[int]]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = rng.choice([2, 5, 5, 9, 14, 30])
        split = rng.randint(1, length)
        row = {"input_ids": [rng.randint(5, VOCAB - 1) for _ in range(length)]}
        if token_types:
            row["token_type_ids"] = [0] * split + [1] * (length - split)
        rows.append(row)
    return rows


def _rows(model, n: int, seed: int):
    return ragged(n, seed, token_types=model.config.model_type == "electra")


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("seed", [0, 1])
def test_packed_logits_equal_padded_logits(family, seed):
    model = build(family, seed=seed).eval()
    rows = _rows(model, 13, seed)
    assert supports_packed(model)
    with torch.inference_mode():
        ours, path = forward_logits(model, rows, pad_id=PAD)
        reference = padded_logits(model, pad(rows, PAD))
    assert path == PACKED_PATH
    assert reference.abs().max() > 1e-2
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("num_labels", [1, 3])
def test_packed_gradients_equal_padded_gradients(family, num_labels):
    model = build(family, num_labels=num_labels).train()  # dropout 0
    rows = _rows(model, 9, 4)
    labels = (
        torch.randn(len(rows))
        if num_labels == 1
        else torch.randint(0, num_labels, (len(rows),))
    )
    logits, _ = forward_logits(model, rows, pad_id=PAD)
    sequence_loss(model, logits, labels).backward()
    ours = {
        n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None
    }
    model.zero_grad(set_to_none=True)
    reference = model(**pad(rows, PAD), labels=labels).loss
    reference.backward()
    assert sequence_loss(model, logits, labels).item() == pytest.approx(
        reference.item(), abs=1e-5
    )
    for name, param in model.named_parameters():
        if param.grad is None:
            assert name not in ours, name
            continue
        torch.testing.assert_close(ours[name], param.grad, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("family", ["roberta", "electra", "modernbert"])
def test_multi_label_classifiers_are_packed_too(family):
    model = build(family, num_labels=4)
    model.config.problem_type = "multi_label_classification"
    model.train()
    rows = _rows(model, 7, 5)
    labels = torch.randint(0, 2, (len(rows), 4)).float()
    logits, path = forward_logits(model, rows, pad_id=PAD)
    assert path == PACKED_PATH
    torch.testing.assert_close(
        sequence_loss(model, logits, labels),
        model(**pad(rows, PAD), labels=labels).loss,
        atol=1e-5,
        rtol=1e-5,
    )


@pytest.mark.parametrize("family", ["roberta", "electra", "modernbert"])
@pytest.mark.parametrize("mode", ["mean", "cls", "max"])
def test_pooled_classifiers_over_each_family_are_packed(family, mode):
    """A sentence-transformers folder of any packed family (a PooledClassifier
    over its AutoModel encoder) takes the packed path with the same logits."""
    config = build(family).config
    torch.manual_seed(0)
    encoder = AutoModel.from_config(config, attn_implementation="sdpa")
    model = PooledClassifier(encoder, mode, 3).eval()
    rows = _rows(model.encoder, 11, 6)
    with torch.inference_mode():
        ours, path = forward_logits(model, rows, pad_id=PAD)
        reference = padded_logits(model, pad(rows, PAD))
    assert path == PACKED_PATH
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", ["roberta", "modernbert"])
def test_training_with_dropout_runs_and_backpropagates(family):
    model = build(family, dropout=True).train()
    logits, path = forward_logits(model, _rows(model, 6, 7), pad_id=PAD)
    logits.sum().backward()
    assert path == PACKED_PATH
    assert all(
        p.grad is not None for n, p in model.named_parameters() if "embeddings" not in n
    )


def test_the_packed_model_types_are_the_families():
    assert PACKED_MODEL_TYPES == {
        "bert",
        "roberta",
        "xlm-roberta",
        "camembert",
        "electra",
        "modernbert",
    }


@pytest.mark.parametrize(
    "model_type, settings",
    [
        ("deberta-v2", {"relative_attention": True, "position_biased_input": False}),
        ("distilbert", {"dim": 48, "n_layers": 2, "n_heads": 4, "hidden_dim": 96}),
        ("albert", {"embedding_size": 24}),
        ("mpnet", {}),
    ],
)
def test_other_encoders_take_the_padded_path(model_type, settings):
    config = AutoConfig.for_model(model_type, **(TINY | settings), num_labels=2)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(config).eval()
    assert not supports_packed(model)
    rows = ragged(5, 8, token_types=False)
    with torch.inference_mode():
        logits, path = forward_logits(model, rows, pad_id=PAD)
    assert path == PADDED_PATH
    torch.testing.assert_close(logits, padded_logits(model, pad(rows, PAD)))


def test_a_roberta_lookalike_without_its_head_falls_back():
    model = build("roberta")
    del model.classifier.out_proj
    assert not supports_packed(model)
