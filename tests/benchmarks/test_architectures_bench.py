"""benchmarks/architectures.py covers every supported architecture, and its two
paths agree (shrunk models, a few rows: the script's pieces, not its timings)."""

import importlib.util
import sys
from pathlib import Path

import pytest

from runners.architectures import ARCHITECTURES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(REPO / "benchmarks"))
    path = REPO / "benchmarks" / "architectures.py"
    spec = importlib.util.spec_from_file_location("bench_architectures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(REPO / "benchmarks"))


def test_every_supported_architecture_has_a_layout(bench):
    assert set(bench.LAYOUTS) == set(ARCHITECTURES)


@pytest.mark.parametrize("model_type", sorted(ARCHITECTURES))
def test_both_paths_agree_on_a_shrunk_model(bench, model_type, monkeypatch):
    monkeypatch.setattr(
        bench,
        "MINILM",
        {
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
        },
    )
    from benchlib import minilm_dir  # on the path while ``bench`` is
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    model = bench.build_model(model_type, tokenizer)
    texts = ["a fine film", "it was not good at all, sadly", "yes", "the end"] * 2
    encodings = [dict(tokenizer(t)) for t in texts]
    data = {"train": (encodings, [0, 1] * 4), "dev": (encodings, [0, 1] * 4)}
    result = bench.bench_task(model, data, tokenizer.pad_token_id, repeats=1)
    expected = ARCHITECTURES[model_type].execution
    assert result["path"] == ("packed_sdpa" if expected == "packed" else "padded")
    assert result["logit_gap"] < 1e-5
    assert result["agree"] == result["rows"] == len(texts)
    assert result["grad_gap"] < 1e-4
