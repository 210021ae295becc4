"""Packed (padding-free) execution vs the padded Hugging Face forward."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    GPT2Config,
    GPT2ForSequenceClassification,
)

from kernels.packed import (
    PACKED_PATH,
    PADDED_PATH,
    forward_logits,
    pack,
    pad,
    padded_logits,
    sequence_loss,
    supports_packed,
)

VOCAB = 120


def _bert(num_labels: int = 3, dropout: float = 0.0, seed: int = 0):
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=96,
        max_position_embeddings=64,
        num_labels=num_labels,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        initializer_range=0.2,  # large enough that logits are not all ~0
    )
    return BertForSequenceClassification(config)


def _ragged(n: int, seed: int, *, pairs: bool = True, repeat: bool = True):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = rng.choice([3, 7, 7, 12]) if repeat else rng.randint(1, 40)
        split = rng.randint(1, length) if pairs else length
        rows.append(
            {
                "input_ids": [rng.randint(5, VOCAB - 1) for _ in range(length)],
                "token_type_ids": [0] * split + [1] * (length - split),
                "attention_mask": [1] * length,
            }
        )
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("repeat", [True, False])
def test_packed_logits_equal_padded_logits_in_eval(seed, repeat):
    model = _bert(seed=seed).eval()
    rows = _ragged(11, seed, repeat=repeat)
    with torch.inference_mode():
        ours, path = forward_logits(model, rows, pad_id=0)
        reference = padded_logits(model, pad(rows, 0))
    assert path == PACKED_PATH
    assert reference.abs().max() > 1e-2
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)


def test_packed_path_handles_one_row_and_rows_without_token_types():
    model = _bert().eval()
    rows = [{"input_ids": r["input_ids"]} for r in _ragged(5, 3)]
    with torch.inference_mode():
        for batch in (rows[:1], rows):
            ours, _ = forward_logits(model, batch, pad_id=0)
            torch.testing.assert_close(
                ours, padded_logits(model, pad(batch, 0)), atol=1e-5, rtol=1e-5
            )


@pytest.mark.parametrize("num_labels", [1, 3])
def test_packed_gradients_equal_padded_gradients(num_labels):
    model = _bert(num_labels=num_labels).train()  # dropout is 0: deterministic
    rows = _ragged(9, 4, repeat=False)
    labels = (
        torch.randn(len(rows))
        if num_labels == 1
        else torch.randint(0, num_labels, (len(rows),))
    )
    logits, _ = forward_logits(model, rows, pad_id=0)
    sequence_loss(model, logits, labels).backward()
    ours = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    reference = model(**pad(rows, 0), labels=labels).loss
    reference.backward()
    assert sequence_loss(model, logits, labels).item() == pytest.approx(
        reference.item(), abs=1e-5
    )
    for name, param in model.named_parameters():
        torch.testing.assert_close(ours[name], param.grad, atol=1e-5, rtol=1e-4)


def _bf16():
    return torch.autocast("cpu", dtype=torch.bfloat16)


@pytest.mark.parametrize("seed", [0, 1])
def test_packed_logits_equal_padded_logits_under_bf16_autocast(seed):
    """In bf16 both paths round the same products, so they agree to bf16's
    resolution, and both stay close to the fp32 logits."""
    model = _bert(seed=seed).eval()
    rows = _ragged(13, seed, repeat=False)
    with torch.inference_mode():
        exact = padded_logits(model, pad(rows, 0))
        with _bf16():
            ours, path = forward_logits(model, rows, pad_id=0)
            reference = padded_logits(model, pad(rows, 0))
    assert path == PACKED_PATH
    assert ours.dtype == reference.dtype == torch.bfloat16
    torch.testing.assert_close(ours.float(), reference.float(), atol=4e-2, rtol=2e-2)
    torch.testing.assert_close(ours.float(), exact, atol=6e-2, rtol=4e-2)
    assert torch.equal(ours.float().argmax(-1), exact.argmax(-1))


def test_packed_bf16_gradients_point_where_the_fp32_gradients_do():
    model = _bert(num_labels=3).train()
    rows = _ragged(9, 8, repeat=False)
    labels = torch.randint(
        0, 3, (len(rows),), generator=torch.Generator().manual_seed(0)
    )
    with _bf16():
        logits, _ = forward_logits(model, rows, pad_id=0)
    sequence_loss(model, logits.float(), labels).backward()
    ours = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    model(**pad(rows, 0), labels=labels).loss.backward()
    for name, param in model.named_parameters():
        assert ours[name].dtype == torch.float32  # master weights stay fp32
        if name.endswith("key.bias"):
            # Softmax ignores a shift shared by all keys: this gradient is 0 up
            # to rounding in both precisions, so its direction is noise.
            assert ours[name].abs().max() < 1e-2
            continue
        cosine = F.cosine_similarity(
            ours[name].flatten(), param.grad.flatten(), dim=0, eps=1e-12
        )
        assert cosine > 0.99, name


def test_packed_training_with_dropout_runs_and_backpropagates():
    model = _bert(dropout=0.1).train()
    logits, path = forward_logits(model, _ragged(6, 5), pad_id=0)
    logits.sum().backward()
    assert path == PACKED_PATH
    assert model.bert.encoder.layer[0].attention.self.query.weight.grad is not None


def test_pack_lays_rows_end_to_end_with_positions_restarting():
    rows = [{"input_ids": [1, 2]}, {"input_ids": [3, 4, 5]}, {"input_ids": [6, 7]}]
    batch = pack(rows)
    assert batch.rows == [1, 0, 2]
    assert batch.input_ids.tolist() == [3, 4, 5, 1, 2, 6, 7]
    assert batch.position_ids.tolist() == [0, 1, 2, 0, 1, 0, 1]
    assert batch.cu_seqlens.tolist() == [0, 3, 5, 7]
    assert batch.runs == [(0, 1, 3), (1, 2, 2)]
    assert batch.total_tokens == 7


def _distilbert():
    torch.manual_seed(0)
    config = DistilBertConfig(
        vocab_size=VOCAB, dim=32, n_layers=2, n_heads=2, hidden_dim=64, num_labels=2
    )
    return DistilBertForSequenceClassification(config).eval()


def _gpt2():
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=2, num_labels=2, pad_token_id=0
    )
    return GPT2ForSequenceClassification(config).eval()


@pytest.mark.parametrize("build", [_distilbert, _gpt2])
def test_other_architectures_fall_back_to_the_padded_path(build):
    model = build()
    assert not supports_packed(model)
    rows = [{"input_ids": r["input_ids"]} for r in _ragged(4, 6)]
    with torch.inference_mode():
        logits, path = forward_logits(model, rows, pad_id=0)
        reference = padded_logits(model, pad(rows, 0))
    assert path == PADDED_PATH
    torch.testing.assert_close(logits, reference)


def test_bert_lookalikes_without_the_layout_fall_back():
    model = _bert()
    model.config.is_decoder = True
    assert not supports_packed(model)
    model = _bert()
    model.bert.pooler = None
    assert not supports_packed(model)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_packed_logits_equal_padded_logits_on_gpu():
    model = _bert().eval().cuda()
    rows = _ragged(16, 7, repeat=False)
    with torch.inference_mode():
        ours, _ = forward_logits(model, rows, pad_id=0, device="cuda")
        reference = padded_logits(model, {k: v.cuda() for k, v in pad(rows, 0).items()})
    torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-4)
