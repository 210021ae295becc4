"""The masked-LM track in the runner: prompts encoded so the mask survives, label
words read from each architecture's own MLM head, and a whole run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kernels import packed
from kernels.packed.batch import pad
from runners import execute
from runners.contract import JobSpec
from runners.recipes import get_recipe, with_method
from runners.training.prompting import (
    encode_prompted,
    label_token_ids,
    load_mlm_classifier,
)
from tasks.errors import UserError
from tasks.prompts import Prompt
from tests.fixtures.architectures import ARCHITECTURES, build_checkpoint
from tests.fixtures.jobs import (
    read_measurements,
    read_predictions,
    write_sentiment_job,
)
from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model

SST2 = Prompt("{sentence} It was {mask}.", ("terrible", "great"))
RTE = Prompt("{sentence1} ? {mask}, {sentence2}", ("Yes", "No"))
# Label words every fixture tokenizer (trained on FIXTURE_TEXTS) knows.
PAIR = Prompt("{sentence1} ? {mask}, {sentence2}", ("story", "film"))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("prompting"), FIXTURE_TEXTS)


def _smoke():
    return get_recipe("smoke", task_name="glue/sst2", task_type="classification")


def test_mlm_is_its_own_version_and_keeps_full_fine_tuning_numbers() -> None:
    smoke = _smoke()
    mlm = with_method(smoke, "mlm")
    assert mlm.version == "smoke@4+mlm@1"
    assert mlm.learning_rate == smoke.learning_rate
    assert mlm.to_dict()["method"] == "mlm" and "lora_r" not in mlm.to_dict()


@pytest.mark.parametrize("model_type", sorted(ARCHITECTURES))
def test_class_logits_are_the_mlm_head_scores_of_the_label_words_at_the_mask(
    tmp_path: Path, model_type: str
) -> None:
    folder = build_checkpoint(tmp_path / model_type, model_type, "saved")
    tokenizer, model, _, pooling, record = load_mlm_classifier(
        folder, prompt=PAIR, num_labels=2
    )
    model.eval()
    assert pooling.mode == "mask" and record["head"] == "new"
    rows = [
        {"idx": 0, "sentence1": FIXTURE_TEXTS[0], "sentence2": FIXTURE_TEXTS[1]},
        {"idx": 1, "sentence1": FIXTURE_TEXTS[2], "sentence2": "a film"},
    ]
    encodings, cut = encode_prompted(tokenizer, rows, PAIR, 64, "rows")
    assert cut == 0
    side = tokenizer.padding_side
    batch = pad(encodings, tokenizer.pad_token_id, side)
    with torch.no_grad():
        logits = model(**batch).logits
        model.hook.remove()  # the reference: the whole MLM output, every position
        full = model.mlm(**batch).logits
    label_ids = model.label_ids
    for row, encoding in enumerate(encodings):
        at = (batch["input_ids"][row] == tokenizer.mask_token_id).nonzero().item()
        expected = full[row, at].index_select(-1, label_ids)
        torch.testing.assert_close(logits[row], expected, atol=1e-5, rtol=1e-4)
        assert encoding["input_ids"].count(tokenizer.mask_token_id) == 1


def test_a_long_row_loses_tokens_from_its_fields_never_the_template(
    model_dir: Path,
) -> None:
    tokenizer, *_ = load_mlm_classifier(model_dir, prompt=SST2, num_labels=2)
    long = " ".join(FIXTURE_TEXTS[:20])
    (encoding,), cut = encode_prompted(
        tokenizer, [{"idx": 0, "sentence": long}], SST2, 16, "rows"
    )
    assert cut == 1 and len(encoding["input_ids"]) <= 16
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    # The template's words, the mask and its full stop ([UNK] in this fixture
    # vocabulary, which has no punctuation) survive; the sentence was cut.
    assert tokens[-5:-2] == ["it", "was", "[MASK]"] and tokens[-1] == "[SEP]"
    pair = [{"idx": 0, "sentence1": long, "sentence2": "a film"}]
    (encoding,), _ = encode_prompted(tokenizer, pair, RTE, 20, "rows")
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    assert len(tokens) <= 20 and tokens.count("[MASK]") == 1
    assert tokens[-3:] == ["a", "film", "[SEP]"] and "[MASK]" in tokens[-6:]


def test_a_mask_planted_in_a_row_is_removed(model_dir: Path) -> None:
    tokenizer, *_ = load_mlm_classifier(model_dir, prompt=SST2, num_labels=2)
    planted = [{"idx": 3, "sentence": "a [MASK] film [MASK]"}]
    (encoding,), _ = encode_prompted(tokenizer, planted, SST2, 64, "rows")
    assert encoding["input_ids"].count(tokenizer.mask_token_id) == 1


def test_label_words_that_start_alike_are_refused(model_dir: Path) -> None:
    tokenizer, *_ = load_mlm_classifier(model_dir, prompt=SST2, num_labels=2)
    ids, record = label_token_ids(tokenizer, ["great", "terrible"])
    assert record["label_tokens"] == ["great", "terrible"] and len(set(ids)) == 2
    with pytest.raises(UserError) as caught:
        label_token_ids(tokenizer, ["great", "great"])
    assert caught.value.code == "method.verbalizer_collision"


def test_an_mlm_spec_without_a_prompt_is_refused(
    tmp_path: Path, model_dir: Path
) -> None:
    recipe = with_method(_smoke(), "mlm").to_dict()
    path = write_sentiment_job(tmp_path, model_dir, recipe=recipe)
    spec = JobSpec.read(path)  # the SST-2 inputs carry the catalogue's prompt
    assert spec.task.prompt["verbalizer"] == ["terrible", "great"]
    import json

    data = json.loads(path.read_text())
    del data["task"]["prompt"]
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match="needs the task's prompt"):
        JobSpec.read(path)


def test_mlm_run_reads_labels_at_the_mask_and_records_how(
    tmp_path: Path, model_dir: Path
) -> None:
    recipe = with_method(_smoke(), "mlm").to_dict() | {"eval_batch_size": 4}
    job = write_sentiment_job(tmp_path, model_dir, recipe=recipe)
    assert execute.main([str(job)]) == 0
    m = read_measurements(tmp_path)
    assert m["method"]["name"] == "mlm"
    assert m["method"]["label_tokens"] == ["terrible", "great"]
    assert m["method"]["template"] == "{sentence} It was {mask}."
    # No new head: every parameter of the masked LM trains.
    assert m["method"]["trainable_params"] == m["params"]
    assert m["execution_path"] == packed.PADDED_PATH
    predictions = read_predictions(tmp_path, "validation")
    assert len(predictions) == 10
    assert {p["prediction"] for p in predictions} <= {0, 1}
