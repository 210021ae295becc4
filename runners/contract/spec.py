"""The job spec, ``spec.json``: what one job is, checked on the way in.

:class:`JobSpec` is the whole spec (the worker writes it, the program reads
it); :class:`LaunchSettings` is the part the launcher reads before the program
starts. Reading checks only what the program relies on, with one clear
``execute.bad_spec`` line for a worker bug instead of a traceback deep in
training.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.errors import UserError

if TYPE_CHECKING:
    from tasks.specs import TaskSpec

SPEC_VERSION = 1
"""Bumped when a spec written for the old program would be misread by the new."""

TOKEN_CLASSIFICATION = "token_classification"
"""Rows hold a list of words, labels and predictions one tag index per word
(``tasks.tagging``); the program runs them through ``runners.training.tokens``."""
TASK_TYPES: tuple[str, ...] = (
    "classification",
    "regression",
    "multilabel_classification",
    TOKEN_CLASSIFICATION,
)
OPTIMIZERS: tuple[str, ...] = ("adamw", "lra_adam")
"""``adamw``: AdamW(0.9, 0.999, 1e-8), no weight decay on biases and normalisation
weights, gradients clipped at global norm 1.0. ``lra_adam``: LRA's optimizer, Adam(0.9,
0.98, 1e-9) with decoupled weight decay on every parameter and no clipping."""
SCHEDULERS: tuple[str, ...] = ("linear", "rsqrt_decay", "cosine_decay")
"""``linear``: warmup then linear decay to 0. ``rsqrt_decay``: LRA's "constant *
linear_warmup * rsqrt_decay" (linear warmup over ``warmup_steps``, then the learning
rate falls as 1/sqrt(step)); its ``learning_rate`` is the constant, so the peak rate
is ``learning_rate / sqrt(warmup_steps)``. ``cosine_decay``: LRA's "constant *
linear_warmup * cosine_decay", linear warmup to ``learning_rate``, then one half
cosine over the run towards 0."""
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")
METHODS: tuple[str, ...] = ("full", "lora", "bitfit", "mlm")
"""Fine-tuning methods, each its own leaderboard track (runners.training.methods):
``full`` trains every parameter; ``lora`` freezes the encoder and trains low-rank
adapters (``lora_r``, ``lora_alpha``, ``lora_dropout``) on the attention's query and
value projections, plus the new head; ``bitfit`` trains only the biases and the new
head; ``mlm`` trains every parameter with no new head: the model's masked-LM head
scores the task's label words at a ``[MASK]`` in its prompt
(runners.training.prompting; only tasks with a ``task.prompt``)."""

_REQUIRED: dict[str, tuple[str, ...]] = {
    "": ("spec_version", "task", "recipe", "seed", "model_dir", "data", "output_dir"),
    "task": ("name", "type", "text_fields", "num_labels"),
    "recipe": (
        "version",
        "learning_rate",
        "batch_size",
        "eval_batch_size",
        "epochs",
        "max_steps",
        "warmup_ratio",
        "weight_decay",
        "max_length",
        "max_train_examples",
        "optimizer",
        "scheduler",
        "precision",
    ),
    "data": ("predict",),
}

REQUIRED_RECIPE_KEYS: tuple[str, ...] = _REQUIRED["recipe"]
"""Keys a spec's ``recipe`` object must have (``Recipe.to_dict()`` writes them)."""
"""What the program relies on, per section ("" is the top level). Unknown extra
keys are allowed, so a newer worker can add fields without breaking older images."""

_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def bad_spec(message: str) -> UserError:
    """The one error a wrong spec raises (``execute.bad_spec``; exit 2)."""
    return UserError("execute.bad_spec", f"job spec: {message}")


@dataclass(frozen=True)
class TaskInputs:
    """The spec's ``task`` object: what the program needs to know of the task.

    The first four are required; the rest are optional in a spec (an older spec
    without them means null / false) and mirror the catalogue's TaskSpec
    (docs/interfaces.md says what each changes). ``labels`` and ``fixed_recipe``
    are for the record: the program reads neither (the recipe already carries
    the fixed numbers).
    """

    name: str
    type: str
    text_fields: tuple[str, ...]
    num_labels: int
    labels: tuple[str, ...] | None = None
    multi_label: bool = False
    vocabulary: str | None = None
    two_tower: bool = False
    long_context: bool = False
    fixed_recipe: dict | None = None
    # The masked-LM prompt (tasks.prompts: template, verbalizer) the ``mlm`` track
    # encodes rows with and reads labels from; None for a task without one.
    prompt: dict | None = None

    @classmethod
    def from_task(cls, task: TaskSpec) -> TaskInputs:
        """The inputs of a catalogue task, as the worker writes them into a spec."""
        return cls(
            name=task.name,
            type=task.type,
            text_fields=tuple(task.text_fields),
            num_labels=task.num_labels,
            labels=tuple(task.labels) if task.labels else None,
            multi_label=task.type == "multilabel_classification",
            vocabulary=task.vocabulary,
            two_tower=task.two_tower,
            long_context=bool(task.long_context),
            fixed_recipe=dict(task.fixed_recipe) or None,
            prompt=task.prompt.to_dict() if task.prompt is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The spec's ``task`` object (JSON lists where the dataclass has tuples)."""
        return {
            "name": self.name,
            "type": self.type,
            "text_fields": list(self.text_fields),
            "labels": list(self.labels) if self.labels is not None else None,
            "num_labels": self.num_labels,
            "multi_label": self.multi_label,
            "vocabulary": self.vocabulary,
            "two_tower": self.two_tower,
            "long_context": self.long_context,
            "fixed_recipe": (
                dict(self.fixed_recipe) if self.fixed_recipe is not None else None
            ),
        } | ({"prompt": dict(self.prompt)} if self.prompt is not None else {})

    @classmethod
    def from_dict(cls, task: dict[str, Any]) -> TaskInputs:
        """Check a spec's ``task`` object and read it; raises :func:`bad_spec`."""
        missing = [key for key in _REQUIRED["task"] if key not in task]
        if missing:
            raise bad_spec(f"missing {', '.join(missing)} in task")
        if task["type"] not in TASK_TYPES:
            raise bad_spec(f"unknown task type {task['type']!r}")
        fields = task["text_fields"]
        if not isinstance(fields, list) or len(fields) not in (1, 2):
            raise bad_spec("task.text_fields must list one or two field names")
        _check_optional_inputs(task)
        labels, fixed = task.get("labels"), task.get("fixed_recipe")
        return cls(
            name=task["name"],
            type=task["type"],
            text_fields=tuple(fields),
            num_labels=task["num_labels"],
            # Never read by the program: kept when well-formed, else dropped.
            labels=tuple(labels) if isinstance(labels, list | tuple) else None,
            multi_label=bool(task.get("multi_label", False)),
            vocabulary=task.get("vocabulary"),
            two_tower=task.get("two_tower", False),
            long_context=task.get("long_context", False),
            fixed_recipe=dict(fixed) if isinstance(fixed, dict) else None,
            prompt=_read_prompt(task.get("prompt")),
        )


def _read_prompt(data: Any) -> dict | None:
    """A spec's ``task.prompt``, checked (tasks.prompts)."""
    from tasks.prompts import from_dict

    try:
        prompt = from_dict(data)
    except ValueError as exc:
        raise bad_spec(str(exc)) from exc
    return prompt.to_dict() if prompt is not None else None


def _check_optional_inputs(task: dict[str, Any]) -> None:
    """The optional input keys: ``vocabulary``, ``two_tower``, ``long_context``."""
    # Imported here: the vocabularies are task code, not needed to write a spec.
    from tasks.vocab import VOCABULARIES

    vocabulary = task.get("vocabulary")
    if vocabulary is not None and vocabulary not in VOCABULARIES:
        raise bad_spec(
            f"task.vocabulary {vocabulary!r} is not one of "
            f"{', '.join(VOCABULARIES)} (or null)"
        )
    for key in ("two_tower", "long_context"):
        if not isinstance(task.get(key, False), bool):
            raise bad_spec(f"task.{key} must be true or false")
    two = len(task["text_fields"]) == 2
    if task.get("two_tower") and not two:
        raise bad_spec("task.two_tower needs two text_fields")
    if vocabulary is not None and two and not task.get("two_tower"):
        # A task vocabulary has no separator token to join a pair with.
        raise bad_spec("a task vocabulary with two text_fields needs two_tower")


def _check_recipe(recipe: dict[str, Any]) -> None:
    """The recipe values the program supports (``runners.recipes`` writes them)."""
    if recipe["optimizer"] not in OPTIMIZERS:
        raise bad_spec(
            f"recipe.optimizer {recipe['optimizer']!r} is not one of "
            f"{', '.join(OPTIMIZERS)}"
        )
    if recipe["scheduler"] not in SCHEDULERS:
        raise bad_spec(
            f"recipe.scheduler {recipe['scheduler']!r} is not one of "
            f"{', '.join(SCHEDULERS)}"
        )
    warmup_steps = recipe.get("warmup_steps")
    if warmup_steps is not None and (
        isinstance(warmup_steps, bool)
        or not (isinstance(warmup_steps, int) and warmup_steps >= 0)
    ):
        raise bad_spec("recipe.warmup_steps must be null or an integer >= 0")
    budget = recipe.get("max_train_tokens")
    if budget is not None and (
        isinstance(budget, bool) or not (isinstance(budget, int) and budget >= 1)
    ):
        raise bad_spec("recipe.max_train_tokens must be null or an integer >= 1")
    decay = recipe.get("layerwise_lr_decay", 1.0)
    if isinstance(decay, bool) or not (
        isinstance(decay, int | float) and 0 < decay <= 1
    ):
        raise bad_spec("recipe.layerwise_lr_decay must be a number in (0, 1]")
    for key in ("reinit_top_layers", "freeze_lower_layers"):
        value = recipe.get(key, 0)
        if isinstance(value, bool) or not (isinstance(value, int) and value >= 0):
            raise bad_spec(f"recipe.{key} must be an integer >= 0")
    _check_method(recipe)
    if recipe["precision"] not in PRECISIONS:
        raise bad_spec(
            f"precision {recipe['precision']!r} is not one of {', '.join(PRECISIONS)}"
        )
    accumulation = recipe.get("gradient_accumulation_steps", 1)
    if isinstance(accumulation, bool) or not (
        isinstance(accumulation, int) and accumulation >= 1
    ):
        raise bad_spec("recipe.gradient_accumulation_steps must be an integer >= 1")
    for key in ("batch_size", "eval_batch_size"):
        value = recipe[key]
        if isinstance(value, bool) or not (isinstance(value, int) and value >= 1):
            raise bad_spec(f"recipe.{key} must be an integer >= 1")


def _check_method(recipe: dict[str, Any]) -> None:
    """The fine-tuning method and, for LoRA, its adapter's numbers."""
    method = recipe.get("method", "full")
    if method not in METHODS:
        raise bad_spec(f"recipe.method {method!r} is not one of {', '.join(METHODS)}")
    if method != "lora":
        return
    rank, alpha = recipe.get("lora_r"), recipe.get("lora_alpha")
    dropout = recipe.get("lora_dropout")
    if isinstance(rank, bool) or not (isinstance(rank, int) and rank >= 1):
        raise bad_spec("recipe.lora_r must be an integer >= 1")
    if isinstance(alpha, bool) or not (isinstance(alpha, int | float) and alpha > 0):
        raise bad_spec("recipe.lora_alpha must be a number > 0")
    if isinstance(dropout, bool) or not (
        isinstance(dropout, int | float) and 0 <= dropout < 1
    ):
        raise bad_spec("recipe.lora_dropout must be a number in [0, 1)")


@dataclass(frozen=True)
class JobData:
    """The spec's ``data`` object: the rows' files, as the sandbox sees them.

    ``predict`` maps each split to predict (a plain name: it becomes a file name
    under ``predictions/``) to its rows, without labels; ``train`` holds the
    labelled training rows, or is None for a job that only predicts.
    """

    predict: dict[str, str]
    train: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The spec's ``data`` object; ``train`` is left out when there is none."""
        data: dict[str, Any] = {} if self.train is None else {"train": self.train}
        return data | {"predict": dict(self.predict)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobData:
        """Check a spec's ``data`` object and read it; raises :func:`bad_spec`."""
        if "predict" not in data:
            raise bad_spec("missing predict in data")
        predict = data["predict"]
        if not isinstance(predict, dict) or not all(
            isinstance(s, str) and _SPLIT_NAME.match(s) for s in predict
        ):
            raise bad_spec("data.predict must map plain split names to files")
        return cls(predict=dict(predict), train=data.get("train"))


@dataclass(frozen=True)
class JobSpec:
    """One job: which model, which task, which recipe and seed, where the rows are.

    Everything that could change a score is in here, so the same spec on the same
    hardware gives the same predictions. ``recipe`` is exactly
    ``runners.recipes.Recipe.to_dict()``. ``numerics`` is the profile the job must
    compute in (kernels.numerics; None outside the platform) and ``threads`` the
    torch thread count; the launcher reads both before Python starts
    (:class:`LaunchSettings`).

    :meth:`from_dict` checks only what the program relies on; unknown extra keys
    are allowed (and dropped) so a newer worker can add fields without breaking
    older images. :meth:`to_dict` writes every key, optional ones as null.
    """

    task: TaskInputs
    recipe: dict
    seed: int
    model_dir: str
    data: JobData
    output_dir: str
    evaluation_id: int | None = None
    numerics: str | None = None
    threads: int | None = None
    spec_version: int = SPEC_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data, in the layout of docs/interfaces.md."""
        return {
            "spec_version": self.spec_version,
            "evaluation_id": self.evaluation_id,
            "task": self.task.to_dict(),
            "recipe": dict(self.recipe),
            "seed": self.seed,
            "model_dir": self.model_dir,
            "data": self.data.to_dict(),
            "output_dir": self.output_dir,
            "numerics": self.numerics,
            "threads": self.threads,
        }

    def to_json(self) -> str:
        """The text of ``spec.json`` (indented: people read it when a job fails)."""
        return json.dumps(self.to_dict(), indent=2)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the spec to ``path`` (the job folder's ``spec.json``); return it."""
        path = Path(path)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Any) -> JobSpec:
        """Check a spec and read it, so a worker bug fails in one clear line.

        Raises ``UserError("execute.bad_spec", ...)`` naming what is wrong.
        """
        if not isinstance(data, dict):
            raise bad_spec("the top level must be an object")
        if data.get("spec_version") != SPEC_VERSION:
            raise bad_spec(
                f"spec_version {data.get('spec_version')!r} is not {SPEC_VERSION}"
            )
        for section, keys in _REQUIRED.items():
            where = data if not section else data.get(section)
            if not isinstance(where, dict):
                raise bad_spec(f"{section!r} must be an object")
            missing = [k for k in keys if k not in where]
            if missing:
                raise bad_spec(f"missing {', '.join(missing)} in {section or 'spec'}")
        task = TaskInputs.from_dict(data["task"])
        _check_recipe(data["recipe"])
        if data["recipe"].get("method") == "mlm" and task.prompt is None:
            raise bad_spec("recipe.method 'mlm' needs the task's prompt (task.prompt)")
        return cls(
            task=task,
            recipe=dict(data["recipe"]),
            seed=data["seed"],
            model_dir=data["model_dir"],
            data=JobData.from_dict(data["data"]),
            output_dir=data["output_dir"],
            evaluation_id=data.get("evaluation_id"),
            numerics=data.get("numerics"),
            threads=data.get("threads"),
            spec_version=data["spec_version"],
        )

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        """Read a spec from its JSON text; raises :func:`bad_spec`."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise bad_spec(f"not JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> JobSpec:
        """Read and check the spec at ``path``; raises :func:`bad_spec`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise bad_spec(f"cannot read {path}: {exc}") from exc
        return cls.from_dict(data)


@dataclass(frozen=True)
class LaunchSettings:
    """The two spec values the launcher needs before the program's Python starts.

    The numerics profile's variables (``LD_PRELOAD``, the CPU-capability pins) and
    the thread counts only work from the environment, so the launcher reads them
    from ``spec.json`` itself, leniently: a spec it cannot read gives no profile
    and no thread count, and the program then reports the spec's real fault.
    A probe job (``runners.selfcheck``, the sandbox tests) writes only these.
    """

    numerics: str | None = None
    threads: int | None = None

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> LaunchSettings:
        """The settings in the spec at ``path``; absent or malformed ones are None."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        numerics, threads = data.get("numerics"), data.get("threads")
        return cls(
            numerics=numerics if isinstance(numerics, str) else None,
            threads=(
                threads
                if isinstance(threads, int)
                and not isinstance(threads, bool)
                and threads > 0
                else None
            ),
        )

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write a probe spec holding only these settings (not a runnable job)."""
        path = Path(path)
        data = {
            "spec_version": SPEC_VERSION,
            "numerics": self.numerics,
            "threads": self.threads,
        }
        path.write_text(json.dumps(data), encoding="utf-8")
        return path
