"""Prompts for generative classification with a masked-LM head (the ``mlm`` track).

A task that can be answered by filling one ``[MASK]`` declares a prompt in its
catalogue table::

    [tasks.sst2.prompt]
    template = "{sentence} It was {mask}."
    verbalizer = ["terrible", "great"]

The template names each of the task's text fields once and ``{mask}`` exactly once;
the verbaliser gives one word per label, in the labels' order. The model predicts a
label as the verbaliser word its masked-LM head scores highest at the mask, with
no new head ("It's All in The [MASK]", Clavié et al. 2025, as PET and LM-BFF before
it: Schick & Schütze 2021, Gao et al. 2021). GLUE's prompts are LM-BFF's manual
templates and label words.

Plain Python: the catalogue checks a prompt with :func:`parse_prompt`, and the
in-sandbox runner renders rows with :meth:`Prompt.pieces`. A change to a prompt
moves the task's ``mlm`` scores, so it bumps the task's version like any other
change that could move scores.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MASK = "mask"
"""The placeholder the label word fills."""


@dataclass(frozen=True)
class Prompt:
    """A checked template and its verbaliser (one word per label)."""

    template: str
    verbalizer: tuple[str, ...]

    def pieces(self) -> list[tuple[str, str]]:
        """The template as ``("text", literal)``, ``("field", name)`` and
        ``("mask", "")`` pieces in order (literals keep their spaces)."""
        return _pieces(self.template)

    def fields(self) -> tuple[str, ...]:
        """The text fields the template names, in order."""
        return tuple(value for kind, value in self.pieces() if kind == "field")

    def to_dict(self) -> dict[str, Any]:
        """The prompt as a job spec and the API carry it."""
        return {"template": self.template, "verbalizer": list(self.verbalizer)}


def _pieces(template: str) -> list[tuple[str, str]]:
    pieces: list[tuple[str, str]] = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if literal:
            pieces.append(("text", literal))
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(
                f"placeholder {{{name}}} may not have a format spec or a conversion"
            )
        pieces.append(("mask", "") if name == MASK else ("field", name))
    return pieces


def parse_prompt(
    table: Any,
    *,
    task_type: str,
    text_fields: Sequence[str],
    labels: Sequence[str] | None,
) -> Prompt:
    """Check a ``prompt`` table against its task; raises ValueError saying what
    is wrong (the catalogue adds the file, task and key)."""
    if task_type != "classification" or not labels:
        raise ValueError(
            "a prompt is for single-label classification tasks (one label word fills "
            "the mask)"
        )
    if not isinstance(table, Mapping):
        raise ValueError("prompt must be a table with 'template' and 'verbalizer'")
    unknown = sorted(set(table) - {"template", "verbalizer"})
    if unknown:
        raise ValueError(f"prompt has unknown keys: {', '.join(unknown)}")
    template, words = table.get("template"), table.get("verbalizer")
    if not isinstance(template, str) or not template.strip():
        raise ValueError("prompt.template must be a non-empty string")
    try:
        pieces = _pieces(template)
    except ValueError as exc:
        raise ValueError(f"prompt.template: {exc}") from exc
    masks = sum(kind == "mask" for kind, _ in pieces)
    if masks != 1:
        raise ValueError(
            f"prompt.template must hold {{{MASK}}} once, not {masks} times"
        )
    named = [value for kind, value in pieces if kind == "field"]
    if sorted(named) != sorted(text_fields):
        raise ValueError(
            f"prompt.template must name each text field once ({', '.join(text_fields)}"
            f"); it names {', '.join(named) or 'none'}"
        )
    if not isinstance(words, list) or len(words) != len(labels):
        raise ValueError(
            f"prompt.verbalizer must list one word per label ({len(labels)})"
        )
    if not all(
        isinstance(w, str) and w.strip() == w and w and " " not in w for w in words
    ):
        raise ValueError("prompt.verbalizer words must be single non-empty words")
    if len(set(words)) != len(words):
        raise ValueError("prompt.verbalizer words must differ")
    return Prompt(template=template, verbalizer=tuple(words))


def from_dict(data: Any) -> Prompt | None:
    """A job spec's prompt (None when the task has none); raises ValueError when
    it is malformed."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise ValueError("task.prompt must be an object or null")
    template, words = data.get("template"), data.get("verbalizer")
    if not isinstance(template, str) or not isinstance(words, list):
        raise ValueError("task.prompt needs a template string and a verbalizer list")
    prompt = Prompt(template=template, verbalizer=tuple(str(w) for w in words))
    if sum(kind == "mask" for kind, _ in prompt.pieces()) != 1:
        raise ValueError("task.prompt.template must hold {mask} once")
    return prompt
