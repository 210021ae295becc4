"""Task and suite specs: what the catalogue says about each task, as frozen data.

The specs are read and validated from ``catalogue/*.toml`` (and from task bundles
and suites kept by the platform's database) by :mod:`tasks.spec_files`; this module
holds only their shape and the vocabularies they may use, so any layer can import a
``TaskSpec`` without loading a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.prompts import Prompt

CATALOGUE_DIR = Path(__file__).parent / "catalogue"

# "multilabel_classification": each row's label is a sorted list of distinct
# class indices (BLURB's HoC); predictions are lists of class indices too.
# "token_classification": one text field holding a list of words; each row's label
# is one tag index per word (``labels`` is the tag set), predictions likewise
# (tasks/tagging.py; BLURB's NER and PICO sets).
TASK_TYPES = (
    "classification",
    "regression",
    "multilabel_classification",
    "token_classification",
)
# "mean_of_group_means": the mean within each group of tasks, then the mean of the
# groups (BLURB: one group per task type), groups in score_rule_options.groups.
SCORE_RULES = ("mean_of_task_means", "advglue_mean", "mean_of_group_means")
# Task-supplied input vocabularies (tasks/vocab.py): the runner encodes the rows with
# these instead of the submitted model's tokenizer (LRA architecture submissions).
VOCABULARIES = ("listops", "bytes", "pixels")
# The long-context builder's kinds (tasks/longcontext.py).
LONG_CONTEXT_KINDS = (
    "explicit-single",
    "semantic-single",
    "explicit-multiple",
    "semantic-multiple",
    "global",
)


@dataclass(frozen=True)
class TaskSpec:
    """One task: what the inputs and labels are, how it is scored, where its files are.

    ``version`` is bumped whenever a change could move scores (data, labels, metric);
    results store it so a leaderboard never mixes versions.
    """

    name: str
    suite: str
    key: str
    title: str
    description: str
    version: int
    type: str
    text_fields: tuple[str, ...]
    labels: tuple[str, ...] | None
    metrics: tuple[str, ...]
    primary_metric: str
    train_split: str | None
    eval_splits: tuple[str, ...]
    test_splits: tuple[str, ...]
    in_suite_score: bool
    importer: str
    folder: str
    files: Mapping[str, str]
    importer_options: Mapping[str, Any] = field(default_factory=dict)
    # A task with no training data of its own (GLUE's AX) is predicted with the
    # model fine-tuned on this task.
    predict_with: str | None = None
    # "listops" | "bytes" | "pixels": encode inputs with tasks.vocab, not the
    # model's tokenizer. With "pixels" the input fields hold lists of ints 0-255.
    vocabulary: str | None = None
    # Two text fields encoded separately by one shared encoder (LRA Retrieval).
    two_tower: bool = False
    # Hyperparameters fixed by the benchmark (LRA): models are trained from
    # scratch from a submitted config with exactly these; see _FIXED_RECIPE_KEYS.
    fixed_recipe: Mapping[str, Any] = field(default_factory=dict)
    # How tasks.longcontext builds this task from a base task; see _LONG_CONTEXT_KEYS.
    long_context: Mapping[str, Any] = field(default_factory=dict)
    # A labelled split the model may see (with labels) to choose a checkpoint, as
    # BLURB's dev sets are used; never scored. None for most tasks.
    dev_split: str | None = None
    # Rows carry this field (a non-empty string) and are scored per group of equal
    # values: a group's labels, and its predictions, are OR-ed into one label set
    # before the metric (multi-label tasks only). BLURB's HoC is released one
    # sentence per row and scored per abstract ("document").
    group_field: str | None = None
    # Rows (groups, with group_field) each split must have, as the benchmark
    # publishes them; an import that differs is refused (tasks.importers.loading).
    split_sizes: Mapping[str, int] = field(default_factory=dict)
    # The input length, in model tokens, the benchmark's reference fine-tuning cuts
    # at (KLEJ: 256, PSC 510); recipes are to cut there instead of at their own.
    max_length: int | None = None
    # Where this task's numbers differ from the published benchmark's, in plain
    # words; shown on its pages, in the API, the exports and the datasheet.
    deviations: tuple[str, ...] = ()
    # The masked-LM prompt of the ``mlm`` track (tasks.prompts): a template with one
    # {mask} and a label word per label. None: the task has no ``mlm`` track.
    prompt: Prompt | None = None

    @property
    def num_labels(self) -> int:
        """Number of classes; 1 for regression (one output, as HF models count it)."""
        return len(self.labels) if self.labels is not None else 1

    @property
    def splits(self) -> tuple[str, ...]:
        """Every split the task declares: train and dev (if any), eval, test."""
        train = (self.train_split,) if self.train_split else ()
        dev = (self.dev_split,) if self.dev_split else ()
        return train + dev + self.eval_splits + self.test_splits

    def is_labelled(self, split: str) -> bool:
        """Whether rows of ``split`` carry labels in the original release."""
        return split not in self.test_splits


@dataclass(frozen=True)
class SuiteSpec:
    """A suite: its tasks and the rule that combines their scores into one number."""

    name: str
    title: str
    description: str
    score_rule: str
    score_rule_text: str
    tasks: tuple[TaskSpec, ...]
    # The rule's parameters ([suite.score_rule_options]); ``mean_of_task_means``
    # takes ``weights``: task key -> a positive weight (a task not named weighs 1).
    score_rule_options: Mapping[str, Any] = field(default_factory=dict)
    # Where the whole suite's numbers differ from the published benchmark's (or
    # why it is not that benchmark), in plain words; see TaskSpec.deviations.
    deviations: tuple[str, ...] = ()

    @property
    def scored_tasks(self) -> tuple[TaskSpec, ...]:
        """The tasks that count towards the suite score."""
        return tuple(t for t in self.tasks if t.in_suite_score)


@dataclass(frozen=True)
class Catalogue:
    """Every suite loaded from one catalogue folder."""

    suites: tuple[SuiteSpec, ...]
