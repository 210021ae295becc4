"""The standard fine-tuning recipes, as versioned data.

Every submission is fine-tuned by the platform with one of these recipes, so
scores compare models rather than training tricks. A recipe's ``version`` is
stored with every Result; change any number below and the version must be
bumped, because scores from the old and new recipe cannot share a leaderboard.

This module is plain Python (no Django) because the worker builds job specs
from it and the catalogue tests read it without a database.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# The task types a job spec may name: the contract owns the list.
from runners.contract import METHODS, TASK_TYPES
from tasks.errors import UserError

if TYPE_CHECKING:
    from tasks.specs import TaskSpec

RECIPE_NAMES: tuple[str, ...] = ("smoke", "quick", "standard")

SMALL_TASKS: frozenset[str] = frozenset(
    {"glue/rte", "glue/mrpc", "glue/stsb", "glue/cola", "glue/wnli"}
)
"""Tasks whose dev scores swing with the seed, so ``standard`` runs five seeds."""

LRA_SCHEDULES: dict[str, str] = {
    "constant * linear_warmup * rsqrt_decay": "rsqrt_decay",
    "constant * linear_warmup * cosine_decay": "cosine_decay",
}
"""A fixed recipe's ``lr_schedule`` (LRA's configs' ``factors`` string) -> the runner's
``scheduler`` (runners.training.loop; a cosine cycle spans the run, as LRA's image
configs set ``steps_per_cycle`` to ``num_train_steps``)."""

LRA_OPTIMIZER = "lra_adam"
"""Every fixed recipe trains with LRA's optimizer (``create_optimizer`` in each
lra_benchmarks/*/train.py): Adam(0.9, 0.98, 1e-9), weight decay on every parameter,
no gradient clipping (runners.contract.OPTIMIZERS)."""

FIXED_RECIPE_VERSION = 4
"""Version of how a task's ``fixed_recipe`` becomes a Recipe (``<suite>-fixed@N``);
the numbers themselves are the task's, covered by the task's own version. @2: bf16
also on CPUs that multiply bf16 natively (kernels.precision). @3: bf16 only, never
an fp32 fallback (kernels.numerics), and its smoke variant computes in fp32. @4: LRA's
optimizer (:data:`LRA_OPTIMIZER`) instead of AdamW with clipping, and LRA's cosine
schedule where a task's ``lr_schedule`` names it."""

LONG_CONTEXT_VERSION = 1
"""Version of the long-context rule below (``<recipe version>+long@N``)."""

LONG_CONTEXT_TOKENS_PER_WORD = 2
"""A long-context task's ``max_length`` is this many model tokens per whitespace
token of its longest length bucket: room for subword splitting, so the model's own
maximum, not the recipe, decides where a long row is cut."""


@dataclass(frozen=True)
class Recipe:
    """One fine-tuning recipe: every knob that can change a score.

    ``max_steps`` (when set) overrides ``epochs``; ``max_train_examples`` (when
    set) keeps a seeded random subsample of the training split. ``seeds`` are
    the seeds the worker runs; each seed is a separate job.

    ``precision`` is ``"fp32"`` or ``"bf16"`` and is part of the recipe's
    identity: a recipe never runs in the other. ``"fp32"`` runs in the pinned CPU
    profile (``fp32-x86-64-v3`` on x86: the same bits on every x86-64 CPU;
    kernels.numerics), on the ``cpu`` queue. ``"bf16"`` means bf16 autocast on a
    device that multiplies bf16 natively (a bf16 GPU, or a CPU with AVX512_BF16,
    AMX or Arm BF16), on the ``gpu`` queue; a worker without native bf16 refuses
    the job rather than computing it in fp32. ``gradient_accumulation_steps``
    splits each optimizer step into that many micro-batches of ``batch_size`` rows;
    the effective batch is ``batch_size * gradient_accumulation_steps``. The
    recipes all use 1; the worker raises it only to retry an out-of-memory run
    (``with_half_batch``), which keeps the effective batch and so the version.
    """

    name: str
    version: str
    learning_rate: float
    batch_size: int
    eval_batch_size: int
    epochs: int
    max_steps: int | None
    warmup_ratio: float
    weight_decay: float
    max_length: int
    max_train_examples: int | None
    optimizer: str = "adamw"
    scheduler: str = "linear"
    precision: str = "fp32"
    gradient_accumulation_steps: int = 1
    seeds: tuple[int, ...] = (0,)
    # Warmup in optimizer steps instead of ``warmup_ratio`` (fixed recipes).
    warmup_steps: int | None = None
    # Training stops after about this many tokens (rows' lengths after truncation)
    # even if ``epochs`` are not done (runners.training.loop.total_steps): one
    # budget in minutes for tasks of short sentences and of long pairs alike.
    max_train_tokens: int | None = None
    # Stability knobs for small data (runners.training.stability); the defaults
    # change nothing, and a spec leaves them out at their defaults.
    layerwise_lr_decay: float = 1.0
    reinit_top_layers: int = 0
    freeze_lower_layers: int = 0
    # The fine-tuning method, i.e. the leaderboard track (runners.contract.METHODS;
    # :func:`with_method`); the LoRA numbers are None unless the method is "lora".
    method: str = "full"
    lora_r: int | None = None
    lora_alpha: float | None = None
    lora_dropout: float | None = None

    @property
    def effective_batch_size(self) -> int:
        """Rows per optimizer step: what the recipe's numbers were tuned for."""
        return self.batch_size * self.gradient_accumulation_steps

    def with_half_batch(self) -> Recipe | None:
        """The same recipe at half the micro-batch and twice the accumulation.

        Used to retry a run that ran out of memory: the effective batch (and the
        learning-rate schedule, which counts optimizer steps) is unchanged, so
        the version is too. The evaluation batch is halved as well. None when
        the batch cannot be halved evenly.
        """
        if self.batch_size < 2 or self.batch_size % 2:
            return None
        return dataclasses.replace(
            self,
            batch_size=self.batch_size // 2,
            eval_batch_size=max(1, self.eval_batch_size // 2),
            gradient_accumulation_steps=self.gradient_accumulation_steps * 2,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the spec's ``recipe`` object (seeds travel as the job's ``seed``)."""
        data = dataclasses.asdict(self)
        del data["seeds"]
        # Optional in the spec at their defaults, so a recipe that does not use
        # them writes the same object as before they existed.
        for key, default in _OPTIONAL_DEFAULTS.items():
            if data[key] == default:
                del data[key]
        return data


_OPTIONAL_DEFAULTS: dict[str, Any] = {
    "warmup_steps": None,
    "max_train_tokens": None,
    "layerwise_lr_decay": 1.0,
    "reinit_top_layers": 0,
    "freeze_lower_layers": 0,
    "method": "full",
    "lora_r": None,
    "lora_alpha": None,
    "lora_dropout": None,
}

METHOD_VERSIONS: dict[str, int] = {"lora": 1, "bitfit": 1, "mlm": 1}
"""Version of each method's rule (``<recipe version>+lora@N``): bumped whenever the
method's numbers below, which parameters it trains (runners.training.methods), or
how ``mlm`` encodes a prompt and reads its label words (runners.training.prompting)
change. A task's prompt is task data: changing one bumps the task's version."""

LORA_R = 8
LORA_ALPHA = 16.0
LORA_DROPOUT = 0.1
"""LoRA's adapter (Hu et al. 2021): rank 8, scaling alpha 16 (alpha / r = 2), dropout
0.1 on the adapter's input; the learning rate is the named recipe's times
:data:`PEFT_LR_FACTOR`."""

PEFT_LR_FACTOR = 10.0
"""LoRA and BitFit train few parameters from small starting values and learn at ten
times the full recipe's rate (LoRA's GLUE runs: 4e-4 to 5e-4 against full
fine-tuning's 1e-5 to 5e-5; BitFit's: 1e-4 to 1e-3)."""

# Version history: @2 of smoke/quick (@3 of standard, whose @2 added bf16) trains on
# length-bucketed batches from kernels.batching and runs BERT-family encoders
# padding-free, which changes which rows share a step and so the scores. quick@3
# and standard@4 ran bf16 autocast on every device that multiplies bf16 natively and
# fp32 elsewhere, so one version gave different numbers on different CPUs. Now each
# recipe pins its precision: smoke@3 and quick@4 compute in fp32 in the pinned CPU
# profile (kernels.numerics: AVX2 kernels, 2 threads, the same bits on any x86-64
# CPU), and standard@5 in bf16 only, on a GPU or a native-bf16 CPU. smoke@4,
# quick@5 and standard@6: the runner honours the pooling a checkpoint declares
# (runners.training.pooling; all-MiniLM-L6-v2 averages its tokens), which changes
# the scores of sentence-transformers checkpoints under every recipe. quick@5 also
# became a recipe the MiniLM baseline learns with on every small GLUE task: two
# epochs at 4e-5 over the whole training split, cut at 200,000 training tokens, so
# a task of short sentences (CoLA: 2 epochs) and one of long pairs (RTE: ~1.2) take
# about the same minutes (quick@4, 2,000 rows for one epoch, left CoLA, RTE, MRPC
# and WNLI at constant predictions). The rate is the one at which both CoLA and RTE
# learned with seed 0 (5e-5: CoLA MCC 0.22 but RTE 0.516, below its majority class;
# 3e-5: RTE 0.560, CoLA 0.141; 4e-5: RTE 0.567, CoLA 0.163).
_SMOKE = Recipe(
    name="smoke",
    version="smoke@4",
    learning_rate=5e-5,
    batch_size=8,
    eval_batch_size=64,
    epochs=1,
    max_steps=4,
    warmup_ratio=0.0,
    weight_decay=0.01,
    max_length=64,
    max_train_examples=64,
    seeds=(0,),
)

_QUICK = Recipe(
    name="quick",
    version="quick@5",
    learning_rate=4e-5,
    batch_size=32,
    eval_batch_size=64,
    epochs=2,
    max_steps=None,
    warmup_ratio=0.1,
    weight_decay=0.01,
    max_length=128,
    max_train_examples=None,
    max_train_tokens=200_000,
    precision="fp32",
    seeds=(0,),
)

_STANDARD = Recipe(
    name="standard",
    version="standard@6",
    learning_rate=2e-5,
    batch_size=32,
    eval_batch_size=64,
    epochs=3,
    max_steps=None,
    warmup_ratio=0.1,
    weight_decay=0.01,
    max_length=128,
    max_train_examples=None,
    precision="bf16",
    seeds=(0, 1, 2),
)

_RECIPES: dict[str, Recipe] = {r.name: r for r in (_SMOKE, _QUICK, _STANDARD)}


def get_recipe(name: str, *, task_name: str, task_type: str) -> Recipe:
    """Return the recipe ``name`` as it applies to one task.

    The task matters because small tasks get more seeds under ``standard``
    (their scores are noisy); ``task_type`` is checked so a typo fails here,
    not inside a sandbox an hour later.

    A catalogue task with a ``fixed_recipe`` (LRA) is trained with the task's
    own hyperparameters instead (:func:`fixed_recipe`); a long-context task
    keeps the named recipe with a ``max_length`` long enough for its longest
    bucket (:func:`long_context_recipe`). Task names outside the catalogue get
    the named recipe unchanged.
    """
    recipe = _RECIPES.get(name)
    if recipe is None:
        known = ", ".join(RECIPE_NAMES)
        raise UserError("recipe.unknown", f"Unknown recipe {name!r}; known: {known}.")
    if task_type not in TASK_TYPES:
        raise UserError(
            "recipe.bad_task_type",
            f"Unknown task type {task_type!r}; expected one of "
            f"{', '.join(TASK_TYPES)}.",
        )
    task = _catalogue_task(task_name)
    if task is not None and task.fixed_recipe:
        recipe = fixed_recipe(recipe, task)
    elif task is not None and task.long_context:
        recipe = long_context_recipe(recipe, task)
    if name == "standard" and task_name in SMALL_TASKS:
        recipe = dataclasses.replace(recipe, seeds=(0, 1, 2, 3, 4))
    return recipe


def with_method(recipe: Recipe, method: str) -> Recipe:
    """``recipe`` fine-tuning with ``method`` (a track: runners.contract.METHODS).

    ``full`` is the recipe unchanged. ``lora`` and ``bitfit`` keep every number
    but the learning rate (:data:`PEFT_LR_FACTOR`) and add the method's, with the
    method in the version (``smoke@4+lora@1``), so the tracks never share a board.
    ``mlm`` trains every parameter, as full fine-tuning does, so it keeps every
    number (the head it trains is pretrained, not new) and only the version moves.
    """
    if method not in METHODS:
        raise UserError(
            "recipe.unknown_method",
            f"Unknown fine-tuning method {method!r}; known: {', '.join(METHODS)}.",
        )
    if method == "full":
        return recipe
    lora = method == "lora"
    return dataclasses.replace(
        recipe,
        version=f"{recipe.version}+{method}@{METHOD_VERSIONS[method]}",
        learning_rate=recipe.learning_rate
        * (1.0 if method == "mlm" else PEFT_LR_FACTOR),
        method=method,
        lora_r=LORA_R if lora else None,
        lora_alpha=LORA_ALPHA if lora else None,
        lora_dropout=LORA_DROPOUT if lora else None,
    )


def fixed_recipe(named: Recipe, task: TaskSpec) -> Recipe:
    """The recipe of a task whose hyperparameters the benchmark fixes (LRA).

    Learning rate, batch size, max_length, warmup and train steps, weight decay
    and schedule are the task's, the optimizer LRA's (:data:`LRA_OPTIMIZER`); the
    named recipe keeps its name (what the user chose)
    and its seeds. ``smoke`` stays a smoke test: a few steps of a few small
    batches on a few rows, in smoke's own precision (fp32: it runs on any CPU),
    with its own version so it never shares a board.
    """
    fixed = task.fixed_recipe
    schedule = fixed.get("lr_schedule")
    if schedule is not None and schedule not in LRA_SCHEDULES:
        raise UserError(
            "recipe.bad_fixed_recipe",
            f"{task.name}: unsupported lr_schedule {schedule!r}; supported: "
            f"{', '.join(map(repr, LRA_SCHEDULES))} or none (linear).",
        )
    recipe = Recipe(
        name=named.name,
        version=f"{task.suite}-fixed@{FIXED_RECIPE_VERSION}",
        learning_rate=float(fixed["learning_rate"]),
        batch_size=int(fixed["batch_size"]),
        eval_batch_size=int(fixed["batch_size"]),
        epochs=1,
        max_steps=int(fixed["train_steps"]),
        warmup_ratio=0.0,
        warmup_steps=int(fixed["warmup_steps"]),
        weight_decay=float(fixed["weight_decay"]),
        max_length=int(fixed["max_length"]),
        max_train_examples=None,
        optimizer=LRA_OPTIMIZER,
        scheduler=LRA_SCHEDULES.get(schedule, "linear"),
        precision="bf16",
        seeds=named.seeds,
    )
    if named.name == "smoke":
        recipe = dataclasses.replace(
            recipe,
            version=f"{named.version}+{recipe.version}",
            batch_size=min(recipe.batch_size, named.batch_size),
            eval_batch_size=min(recipe.eval_batch_size, named.eval_batch_size),
            max_steps=min(recipe.max_steps or named.max_steps, named.max_steps),
            max_train_examples=named.max_train_examples,
            precision=named.precision,
        )
    return recipe


def long_context_recipe(named: Recipe, task: TaskSpec) -> Recipe:
    """The named recipe with room for the task's longest rows.

    The runner still cuts each row at the model's own maximum (and records how
    many rows it cut), so a short-context model is scored, not refused.
    """
    longest = max(int(n) for n in task.long_context["lengths"].values())
    return dataclasses.replace(
        named,
        version=f"{named.version}+long@{LONG_CONTEXT_VERSION}",
        max_length=longest * LONG_CONTEXT_TOKENS_PER_WORD,
    )


def _catalogue_task(task_name: str) -> TaskSpec | None:
    """The catalogue's spec of ``task_name``, or None for a name it does not have."""
    from tasks.registry import get_task

    try:
        return get_task(task_name)
    except UserError as error:
        if error.code == "catalogue.unknown_task":
            return None
        raise
