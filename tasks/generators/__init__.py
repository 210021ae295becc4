"""Generated tasks: a registry of generators and :func:`generate_task`.

Some tasks have no release files to import: LRA ListOps can be generated, Glew's
own Pathfinder variant (``lra/pathfinder-glew``, outside the LRA score; LRA's
Pathfinder imports the released images) must be, and the long-context tasks are
built from an imported base task. :func:`generate_task` is the one entry point
(a management command calls it): the result is a normal
:class:`~tasks.dataset.Dataset` for the task's declared splits, deterministic
under ``seed``, hashed like any other.

Generated splits that the task does not declare (ListOps' and Pathfinder-glew's
validation split: LRA scores the test split after a fixed number of steps) are
drawn, so the declared splits equal what the full generator produces, but not
returned; the generators' own functions return them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tasks.dataset import Dataset
from tasks.names import Registry
from tasks.registry import get_task
from tasks.specs import TaskSpec

Generator = Callable[..., Dataset]

GENERATORS: Registry[Generator] = Registry(
    "generator", error_code="generators.unknown_generator"
)


def _declared(task: TaskSpec, splits: dict[str, list[dict[str, Any]]]) -> Dataset:
    return Dataset(task, {s: rows for s, rows in splits.items() if s in task.splits})


@GENERATORS.register("lra/listops")
def _listops(task: TaskSpec, *, seed: int, **params: Any) -> Dataset:
    """Params: ``n_train``, ``n_val``, ``n_test``, ``config`` (ListOpsConfig)."""
    from tasks.generators.listops import generate_listops

    return _declared(task, generate_listops(seed=seed, **params))


@GENERATORS.register("lra/pathfinder-glew")
def _pathfinder(task: TaskSpec, *, seed: int, **params: Any) -> Dataset:
    """Params: ``n_train``, ``n_val``, ``n_test``, ``config`` (PathfinderConfig)."""
    from tasks.generators.pathfinder import generate_pathfinder

    return _declared(task, generate_pathfinder(seed=seed, **params))


def generate_task(task_name: str, *, seed: int, **params: Any) -> Dataset:
    """Generate or build ``task_name``'s dataset.

    Long-context tasks (specs with a ``long_context`` table) need ``base=``, the
    imported base dataset, and take ``n_train``, ``n_eval`` and ``count_tokens``
    (see :func:`tasks.longcontext.build_task`). Other tasks need a registered
    generator; unknown names raise ``UserError`` with a hint.
    """
    task = get_task(task_name)
    if task.long_context:
        from tasks.longcontext import build_task

        return build_task(task, seed=seed, **params)
    return GENERATORS[task_name](task, seed=seed, **params)


__all__ = ["GENERATORS", "generate_task"]
