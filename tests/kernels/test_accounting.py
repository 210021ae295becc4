"""Padding waste, encoder FLOPs and MFU."""

from __future__ import annotations

import pytest
from transformers import BertConfig

from kernels.accounting import (
    PaddingCounter,
    encoder_flops,
    encoder_flops_per_token,
    mfu,
    padding_waste,
    peak_flops,
)


def test_padding_waste_of_each_plan():
    lengths = [2, 4, 6, 8]
    batches = [[0, 1], [2, 3]]
    assert padding_waste(lengths, batches, packed=True) == 1.0
    assert padding_waste(lengths, batches) == pytest.approx((8 + 16) / 20)
    assert padding_waste(lengths, batches, pad_to=10) == pytest.approx(40 / 20)
    assert padding_waste([], []) == 1.0


def test_padding_counter_accumulates_batches():
    counter = PaddingCounter()
    assert counter.waste is None
    counter.add([2, 4], packed=False)
    counter.add([3], packed=True)
    assert counter.real == 9 and counter.computed == 11


def test_encoder_flops_per_token_counts_matmuls():
    config = BertConfig(hidden_size=384, num_hidden_layers=6, intermediate_size=1536)
    expected = 6 * (8 * 384**2 + 4 * 384 * 1536 + 4 * 128 * 384)
    assert encoder_flops_per_token(config, 128) == expected
    assert encoder_flops_per_token(config, 128, training=True) == 3 * expected
    assert encoder_flops(config, [128, 128]) == 256 * expected


def test_peak_flops_and_mfu_know_gpus_but_not_cpus():
    assert peak_flops("NVIDIA H100 80GB HBM3", "bf16") == pytest.approx(989.4e12)
    assert peak_flops("NVIDIA H100 PCIe") == pytest.approx(51e12)
    assert peak_flops("NVIDIA A100-SXM4-80GB", "bf16") == pytest.approx(312e12)
    assert peak_flops(None) is None
    assert mfu(1e12, 1.0, "AMD EPYC") is None
    assert mfu(312e12, 2.0, "NVIDIA A100-SXM4-40GB", "bf16") == pytest.approx(0.5)
