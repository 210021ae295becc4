"""The parameter cap: counted from config.json, before any weight is allocated."""

from __future__ import annotations

import resource

import pytest

from runners.archives import (
    ArchiveError,
    check_parameter_cap,
    count_parameters,
    estimate_parameters,
)

BERT_LARGE = {
    "model_type": "bert",
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "vocab_size": 30522,
    "max_position_embeddings": 512,
}
T5_SMALL = {
    "model_type": "t5",
    "d_model": 512,
    "d_ff": 2048,
    "num_layers": 6,
    "num_decoder_layers": 6,
    "num_heads": 8,
    "d_kv": 64,
    "vocab_size": 32128,
}
GPT2 = {"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "vocab_size": 50257}
HUGE_LLAMA = {
    "model_type": "llama",
    "hidden_size": 8192,
    "intermediate_size": 28672,
    "num_hidden_layers": 80,
    "num_attention_heads": 64,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [(BERT_LARGE, 335_141_888), (T5_SMALL, 60_506_624), (GPT2, 124_439_808)],
)
def test_estimate_is_close_for_bert_gpt_and_t5_like_configs(config, expected):
    assert abs(estimate_parameters(config) - expected) / expected < 0.15


@pytest.mark.timeout(300)
def test_meta_device_counts_exactly_and_allocates_nothing():
    assert count_parameters(BERT_LARGE) == 335_141_888
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = count_parameters(HUGE_LLAMA)  # ~70 billion parameters, 280 GB in fp32
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert count is not None and count > 60_000_000_000
    assert grown_kib < 512 * 1024


def test_unknown_model_type_falls_back_to_the_estimate():
    assert count_parameters({"model_type": "no-such-model", "hidden_size": 4}) is None
    assert check_parameter_cap({"model_type": "no-such-model"}, 1000) == 0


def test_absurd_config_is_refused_by_arithmetic_before_building():
    with pytest.raises(ArchiveError) as excinfo:
        check_parameter_cap(HUGE_LLAMA, 2_000_000_000)
    assert excinfo.value.code == "upload.model_too_large"
    assert "2,000,000,000" in excinfo.value.message


@pytest.mark.parametrize(
    "config",
    [
        {"model_type": "bert", "hidden_size": 1 << 30},
        {"model_type": "bert", "num_hidden_layers": 5000, "hidden_size": 2},
        {"model_type": "distilbert", "max_position_embeddings": 10**9, "dim": 1},
    ],
)
def test_single_absurd_number_is_refused(config):
    with pytest.raises(ArchiveError) as excinfo:
        check_parameter_cap(config, 10**12)
    assert excinfo.value.code == "upload.model_too_large"
