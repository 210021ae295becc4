"""Prompts of the masked-LM track: checked in the catalogue, declared for GLUE."""

from pathlib import Path

import pytest

from tasks.errors import CatalogueError
from tasks.prompts import Prompt, from_dict, parse_prompt
from tasks.registry import get_suite, get_task
from tasks.spec_files import load_spec_file
from tests.tasks.test_catalogue import MINIMAL, write_spec

GOOD = '\n[tasks.one.prompt]\ntemplate = "{sentence} It was {mask}."\n'


def _with_prompt(tmp_path: Path, body: str) -> Path:
    return write_spec(tmp_path, MINIMAL + body)


def test_a_prompt_loads_with_its_pieces(tmp_path):
    path = _with_prompt(tmp_path, GOOD + 'verbalizer = ["bad", "good"]\n')
    prompt = load_spec_file(path).tasks[0].prompt
    assert prompt == Prompt("{sentence} It was {mask}.", ("bad", "good"))
    assert prompt.pieces() == [
        ("field", "sentence"),
        ("text", " It was "),
        ("mask", ""),
        ("text", "."),
    ]
    assert from_dict(prompt.to_dict()) == prompt


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            '\n[tasks.one.prompt]\ntemplate = "{sentence} {mask} {mask}"\n'
            'verbalizer = ["a", "b"]\n',
            "once, not 2 times",
        ),
        (
            '\n[tasks.one.prompt]\ntemplate = "It was {mask}."\n'
            'verbalizer = ["a", "b"]\n',
            "each text field once",
        ),
        (
            '\n[tasks.one.prompt]\ntemplate = "{sentence} {question} {mask}"\n'
            'verbalizer = ["a", "b"]\n',
            "each text field once",
        ),
        (GOOD + 'verbalizer = ["only"]\n', "one word per label (2)"),
        (GOOD + 'verbalizer = ["same", "same"]\n', "must differ"),
        (GOOD + 'verbalizer = ["two words", "b"]\n', "single non-empty words"),
        (GOOD + 'verbalizer = ["a", "b"]\nwords = 1\n', "unknown keys: words"),
        (
            '\n[tasks.one.prompt]\ntemplate = "{sentence!r} {mask}"\n'
            'verbalizer = ["a", "b"]\n',
            "format spec or a conversion",
        ),
    ],
)
def test_a_bad_prompt_names_the_task_and_what_is_wrong(tmp_path, body, words):
    with pytest.raises(CatalogueError) as caught:
        load_spec_file(_with_prompt(tmp_path, body))
    assert caught.value.code == "catalogue.invalid_prompt"
    assert words in str(caught.value) and "'one'" in str(caught.value)


def test_a_prompt_is_only_for_single_label_classification():
    with pytest.raises(ValueError, match="single-label classification"):
        parse_prompt(
            {"template": "{s} {mask}", "verbalizer": []},
            task_type="regression",
            text_fields=("s",),
            labels=None,
        )


def test_glue_classification_tasks_have_lm_bff_prompts_and_stsb_none():
    prompted = {t.key for t in get_suite("glue").tasks if t.prompt is not None}
    assert prompted == {
        "cola",
        "sst2",
        "mrpc",
        "qqp",
        "mnli",
        "qnli",
        "rte",
        "wnli",
        "ax",
    }
    assert get_task("glue/stsb").prompt is None
    # Label words follow each task's label order.
    assert get_task("glue/sst2").prompt.verbalizer == ("terrible", "great")
    assert get_task("glue/rte").labels == ("entailment", "not_entailment")
    assert get_task("glue/rte").prompt.verbalizer == ("Yes", "No")
    assert get_task("glue/wnli").prompt.verbalizer == ("No", "Yes")  # 0: not entailed
    assert get_task("glue/mnli").prompt.verbalizer == ("Yes", "Maybe", "No")
