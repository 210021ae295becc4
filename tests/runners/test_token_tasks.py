"""The runner on token classification: words in, one tag per word out.

Rows are real NCBI-disease sentences (BLURB's release in ../shared/data/blurb),
run end to end through ``execute.main`` with a tiny BERT whose tokenizer was
trained on them; the alignment rules (first sub-token tagged, the rest ignored,
words cut off predicted as O) are checked on the encodings themselves.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from runners import execute
from runners.contract import TaskInputs
from runners.recipes import get_recipe
from runners.training import tokens
from tasks.importers.loading import load_task
from tasks.registry import get_task
from tasks.scoring import score_predictions
from tasks.tagging import tag_names
from tests.fixtures import jobs
from tests.fixtures.jobs import read_measurements, read_predictions
from tests.fixtures.tiny_model import build_tiny_model

NCBI = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "blurb" / "NCBI-disease"
)
TASK = "blurb/ncbi-disease"

pytestmark = pytest.mark.skipif(not NCBI.is_dir(), reason="needs ../shared/data")


@pytest.fixture(scope="module")
def ncbi():
    return load_task(TASK, NCBI)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, ncbi) -> Path:
    texts = [" ".join(row["tokens"]) for row in ncbi.splits["train"][:300]]
    texts += [" ".join(row["tokens"]) for row in ncbi.splits["test"][:40]]
    return build_tiny_model(tmp_path_factory.mktemp("model"), texts, num_labels=3)


def test_each_words_first_sub_token_carries_its_tag(tiny: Path) -> None:
    tokenizer, model, _, pooling = tokens.load_token_model(tiny, num_labels=3)
    rows = [{"idx": 0, "tokens": ["BRCA1", "is", "unrecognisablewords", "."]}]
    [encoding], cut = tokens.encode_words(tokenizer, rows, "tokens", 64, "x")
    starts = encoding[tokens.STARTS]
    assert cut == 0 and len(starts) == 4
    assert starts[0] == 1  # after [CLS]
    assert starts == sorted(starts) and len(set(starts)) == 4
    pieces = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert max(pieces) > 1  # a word split into several sub-tokens
    target = tokens.targets([encoding], [[1, 0, 2, 0]], "right")
    tagged = (target != tokens.IGNORE).nonzero()[:, 1].tolist()
    assert tagged == starts
    assert target[0, starts].tolist() == [1, 0, 2, 0]
    assert pooling.mode == "first_subtoken"
    assert type(model).__name__ == "BertForTokenClassification"


def test_words_past_the_row_limit_are_predicted_as_the_first_tag(tiny: Path) -> None:
    tokenizer, _, _, _ = tokens.load_token_model(tiny, num_labels=3)
    words = ["disease"] * 30
    [encoding], cut = tokens.encode_words(
        tokenizer, [{"idx": 0, "tokens": words}], "tokens", 10, "x"
    )
    assert cut == 1 and len(encoding["input_ids"]) == 10
    assert encoding[tokens.STARTS][8:] == [-1] * 22
    logits = torch.randn(1, 10, 3) + torch.tensor([0.0, 5.0, 0.0])
    picked = tokens.word_logits(logits, [encoding], "right")
    tags = tokens.to_tags(picked, [encoding])[0]
    assert len(tags) == 30 and tags[:8] == [1] * 8 and tags[8:] == [0] * 22


def test_ncbi_disease_trains_and_predicts_one_tag_per_word(
    tmp_path: Path, tiny: Path, ncbi
) -> None:
    task = get_task(TASK)
    inputs = TaskInputs.from_task(task)
    assert inputs.type == "token_classification" and inputs.num_labels == 3
    recipe = get_recipe("smoke", task_name=TASK, task_type=task.type).to_dict()
    recipe |= {"learning_rate": 3e-3, "max_steps": 40, "eval_batch_size": 8}
    train = ncbi.splits["train"][:300]
    test = ncbi.splits["test"][:40]
    spec = jobs.write_job(
        tmp_path / "job",
        tiny,
        task=dataclasses.replace(inputs),
        recipe=recipe,
        train=train,
        predict={"test": test},
    )

    assert execute.main([str(spec)]) == 0
    found = read_predictions(tmp_path / "job", "test")
    assert [p["idx"] for p in found] == [r["idx"] for r in test]
    predictions = [p["prediction"] for p in found]
    for value, row in zip(predictions, test, strict=True):
        assert len(value) == len(row["tokens"])
        assert all(type(i) is int and 0 <= i < 3 for i in value)
    references = [row["label"] for row in test]
    scores = score_predictions(task, {"test": predictions}, {"test": references})
    from seqeval.metrics import f1_score

    expected = f1_score(tag_names(task, references), tag_names(task, predictions))
    assert scores["entity_f1"] == pytest.approx(expected)
    # Forty steps on 300 sentences: most words are O and the model knows it.
    words = sum(len(r) for r in references)
    pairs = zip(predictions, references, strict=True)
    right = sum(a == b for p, r in pairs for a, b in zip(p, r, strict=True))
    assert right / words > 0.85
    m = read_measurements(tmp_path / "job")
    assert m["execution_path"] == "padded"
    assert m["batch_invariant"] is True
    assert m["flops_per_example"] > 0
    assert m["pooling"]["mode"] == "first_subtoken"
