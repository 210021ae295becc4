"""The catalogue's tasks and suites by name: ``get_task("glue/sst2")``.

Loading and validating the spec files is ``tasks.specs``' job; this module wraps the
loaded catalogue in registries (``tasks.names``) so an unknown name gets a hint.
"""

from __future__ import annotations

import functools

from tasks.names import Registry
from tasks.spec_files import default_catalogue
from tasks.specs import Catalogue, SuiteSpec, TaskSpec


def get_task(name: str) -> TaskSpec:
    """Return the task named like ``"glue/sst2"``.

    Raises ``UserError("catalogue.unknown_task")`` with a hint otherwise.
    """
    return _lookups()[1].get(name)


def get_suite(name: str) -> SuiteSpec:
    """Return the suite named like ``"glue"``.

    Raises ``UserError("catalogue.unknown_suite")`` with a hint otherwise.
    """
    return _lookups()[0].get(name)


def all_suites() -> list[SuiteSpec]:
    """Every suite in the catalogue, in name order."""
    return sorted(_lookups()[0].values(), key=lambda s: s.name)


def all_tasks() -> list[TaskSpec]:
    """Every task in the catalogue, by suite name then catalogue order."""
    return [task for suite in all_suites() for task in suite.tasks]


def catalogue_registries(
    catalogue: Catalogue,
) -> tuple[Registry[SuiteSpec], Registry[TaskSpec]]:
    """Wrap a loaded catalogue in registries (suites, tasks) for name lookups."""
    suites: Registry[SuiteSpec] = Registry(
        "suite", error_code="catalogue.unknown_suite"
    )
    tasks: Registry[TaskSpec] = Registry("task", error_code="catalogue.unknown_task")
    for suite in catalogue.suites:
        suites.add(suite.name, suite)
        for task in suite.tasks:
            # The short key only suggests: "sst2" may one day exist in two suites.
            tasks.add(task.name, task, aliases=(task.key,))
    return suites, tasks


@functools.cache
def _lookups() -> tuple[Registry[SuiteSpec], Registry[TaskSpec]]:
    return catalogue_registries(default_catalogue())
