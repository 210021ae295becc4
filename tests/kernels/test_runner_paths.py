"""The runner's training and prediction give the same results on either path."""

from __future__ import annotations

import pytest
import torch

from kernels import packed
from runners import training
from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model

RECIPE = {
    "learning_rate": 1e-3,
    "batch_size": 8,
    "epochs": 1,
    "max_steps": None,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny"), FIXTURE_TEXTS)


def _setup(model_dir):
    torch.manual_seed(0)
    tokenizer, model, _, _ = training.load_model(
        model_dir, task_type="classification", num_labels=2
    )
    model.config.hidden_dropout_prob = 0.0
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    rows = [{"idx": i, "sentence": t} for i, t in enumerate(FIXTURE_TEXTS)]
    encodings = training.encode(tokenizer, rows, ["sentence"], 128, "test")
    pad = {"pad_id": tokenizer.pad_token_id, "padding_side": tokenizer.padding_side}
    return model, encodings, pad


def _run(model_dir, monkeypatch, *, use_packed: bool):
    with monkeypatch.context() as patch:
        if not use_packed:
            patch.setattr(packed, "supports_packed", lambda model: False)
        model, encodings, pad = _setup(model_dir)
        tracker = training.Tracker(device=torch.device("cpu"))
        labels = [int(i < 30) for i in range(len(encodings))]
        training.train(model, encodings, labels, RECIPE, seed=0, tracker=tracker, **pad)
        logits, tokens = training.predict_logits(
            model, encodings, batch_size=4, tracker=tracker, **pad
        )
        return logits, tokens, tracker


def test_packed_and_padded_runner_paths_agree(model_dir, monkeypatch):
    ours, tokens, tracker = _run(model_dir, monkeypatch, use_packed=True)
    reference, ref_tokens, ref_tracker = _run(model_dir, monkeypatch, use_packed=False)
    assert training.kernel_measurements(tracker) == {
        "execution_path": "packed_sdpa",
        "padding_waste": 1.0,
    }
    assert ref_tracker.execution_path == "padded"
    assert ref_tracker.padding.waste >= 1.0
    assert (
        tokens == ref_tokens == sum(len(e["input_ids"]) for e in _setup(model_dir)[1])
    )
    torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-4)
    assert training.to_predictions(ours) == training.to_predictions(reference)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_predictions_do_not_depend_on_the_eval_batch_size(model_dir, precision):
    """Holds in bf16 too (forced here even where bf16 is not native): a row's
    tokens go through the same products whichever rows share its batch."""
    model, encodings, pad = _setup(model_dir)
    tracker = training.Tracker(device=torch.device("cpu"), precision=precision)
    first, _ = training.predict(model, encodings, batch_size=1, tracker=tracker, **pad)
    second, _ = training.predict(
        model, encodings, batch_size=64, tracker=tracker, **pad
    )
    assert first == second


def _train_and_predict(model_dir, precision: str, recipe: dict):
    """Train the tiny model on positive/negative fixture labels in ``precision``;
    returns the model, its logits on every row and the labels."""
    model, encodings, pad = _setup(model_dir)
    tracker = training.Tracker(device=torch.device("cpu"), precision=precision)
    labels = [int(i < 30) for i in range(len(encodings))]
    training.train(model, encodings, labels, recipe, seed=0, tracker=tracker, **pad)
    logits, _ = training.predict_logits(
        model, encodings, batch_size=4, tracker=tracker, **pad
    )
    return model, logits, labels


def test_bf16_training_on_the_packed_path_learns_like_fp32(model_dir):
    """bf16 autocast keeps fp32 master weights: the tiny model trained in bf16
    fits the fixture's positive/negative labels as the fp32 run does."""
    results = {}
    for name in ("fp32", "bf16"):
        model, logits, labels = _train_and_predict(
            model_dir, name, RECIPE | {"epochs": 10}
        )
        assert all(p.dtype == torch.float32 for p in model.parameters())
        predictions = training.to_predictions(logits)
        results[name] = sum(p == y for p, y in zip(predictions, labels, strict=True))
        results[name] /= len(labels)
    # Both fit the (separable) fixture labels; 4 epochs would leave both at 0.5.
    assert results["fp32"] >= 0.9, results
    assert results["bf16"] >= 0.9, results


def test_bf16_training_and_prediction_repeat_bit_for_bit(model_dir):
    """A bf16 CPU run is as reproducible as an fp32 one: same seed, same logits."""
    runs = [_train_and_predict(model_dir, "bf16", RECIPE)[1] for _ in range(2)]
    assert torch.equal(runs[0], runs[1])
