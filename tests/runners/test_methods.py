"""Fine-tuning methods (tracks): the recipes, the spec check and what each trains."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kernels import packed
from runners import execute
from runners.contract import JobSpec
from runners.recipes import get_recipe, with_method
from runners.training.methods import apply_method
from tasks.errors import UserError
from tests.fixtures.jobs import read_measurements, write_sentiment_job
from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("methods"), FIXTURE_TEXTS)


def _smoke():
    return get_recipe("smoke", task_name="glue/sst2", task_type="classification")


def _load(model_dir: Path) -> torch.nn.Module:
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(model_dir)


def test_full_method_leaves_a_recipe_and_its_spec_object_unchanged() -> None:
    smoke = _smoke()
    assert with_method(smoke, "full") is smoke
    assert "method" not in smoke.to_dict() and "lora_r" not in smoke.to_dict()


def test_lora_and_bitfit_are_their_own_versions_with_their_numbers() -> None:
    lora, bitfit = with_method(_smoke(), "lora"), with_method(_smoke(), "bitfit")
    assert lora.version == "smoke@4+lora@1"
    assert bitfit.version == "smoke@4+bitfit@1"
    data = lora.to_dict()
    assert (data["method"], data["lora_r"], data["lora_alpha"]) == ("lora", 8, 16.0)
    assert data["lora_dropout"] == 0.1
    assert bitfit.to_dict()["method"] == "bitfit"
    assert "lora_r" not in bitfit.to_dict()
    with pytest.raises(UserError) as error:
        with_method(_smoke(), "prefix")
    assert error.value.code == "recipe.unknown_method"


def test_spec_with_an_unknown_method_or_bad_lora_numbers_is_refused(
    tmp_path: Path, model_dir: Path
) -> None:
    recipe = with_method(_smoke(), "lora").to_dict()
    path = write_sentiment_job(tmp_path / "good", model_dir, recipe=recipe)
    JobSpec.read(path)  # as written: fine
    for change, message in (
        ({"method": "adapters"}, "recipe.method"),
        ({"lora_r": 0}, "recipe.lora_r"),
        ({"lora_alpha": -1}, "recipe.lora_alpha"),
        ({"lora_dropout": 1.0}, "recipe.lora_dropout"),
    ):
        job = tmp_path / message
        bad = write_sentiment_job(job, model_dir, recipe=recipe | change)
        with pytest.raises(UserError) as error:
            JobSpec.read(bad)
        assert message in str(error.value)


def test_bitfit_trains_only_biases_and_the_head(model_dir: Path) -> None:
    model = _load(model_dir)
    record = apply_method(model, with_method(_smoke(), "bitfit").to_dict())
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trained and all(
        n.endswith("bias") or n.startswith("classifier.") for n in trained
    )
    assert "classifier.weight" in trained
    assert record["name"] == "bitfit"
    assert record["trainable_params"] == sum(
        p.numel() for p in model.parameters() if p.requires_grad
    )


def test_lora_adapts_query_and_value_and_trains_adapters_and_head(
    model_dir: Path,
) -> None:
    model = _load(model_dir)
    full = sum(p.numel() for p in model.parameters())
    record = apply_method(model, with_method(_smoke(), "lora").to_dict())
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any(".query.lora_A" in n for n in trained)
    assert any(".value.lora_A" in n for n in trained)
    assert not any(".key.lora_A" in n for n in trained)
    assert all("lora_" in n or n.startswith("classifier.") for n in trained)
    assert record["target_modules"] == ["query", "value"]
    assert 0 < record["trainable_params"] < full / 5
    # BERT's packed attention reads the weights directly: LoRA takes the padded path.
    assert packed.has_adapters(model) and not packed.supports_packed(model)
    assert record["execution"] == packed.PADDED_PATH


def test_lora_run_records_its_method_and_learns_only_adapters(
    tmp_path: Path, model_dir: Path
) -> None:
    recipe = with_method(_smoke(), "lora").to_dict() | {"eval_batch_size": 4}
    assert (
        execute.main([str(write_sentiment_job(tmp_path, model_dir, recipe=recipe))])
        == 0
    )
    m = read_measurements(tmp_path)
    assert m["method"]["name"] == "lora"
    assert m["method"]["trainable_params"] == m["trainable_params"] < m["params"] / 5
    assert m["execution_path"] == packed.PADDED_PATH


def test_bitfit_run_keeps_the_packed_path(tmp_path: Path, model_dir: Path) -> None:
    recipe = with_method(_smoke(), "bitfit").to_dict() | {"eval_batch_size": 4}
    assert (
        execute.main([str(write_sentiment_job(tmp_path, model_dir, recipe=recipe))])
        == 0
    )
    m = read_measurements(tmp_path)
    assert m["method"] == {"name": "bitfit", "trainable_params": m["trainable_params"]}
    assert m["execution_path"] == packed.PACKED_PATH
