"""Name lookups: a small generic registry, and the catalogue's tasks and suites.

One ``Registry`` class serves metrics, importers and the catalogue, so every unknown
name anywhere fails the same way: a ``UserError`` with a stable code and a
"did you mean" hint computed with :mod:`difflib`.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from tasks.errors import UserError
from tasks.specs import Catalogue, SuiteSpec, TaskSpec, default_catalogue

T = TypeVar("T")


def did_you_mean(name: str, candidates: list[str]) -> str:
    """Return a hint sentence naming the candidates closest to ``name``, or ""."""
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


class Registry(Generic[T]):
    """A name -> object map whose unknown-name errors are useful to a person.

    >>> colours = Registry("colour", error_code="demo.unknown_colour")
    >>> @colours.register("red")
    ... def red():
    ...     return "#f00"
    >>> colours["red"]()
    '#f00'
    >>> colours["rad"]
    Traceback (most recent call last):
    ...
    tasks.errors.UserError: Unknown colour 'rad'. Did you mean 'red'?
    """

    def __init__(self, kind: str, *, error_code: str) -> None:
        self.kind = kind
        self.error_code = error_code
        self._items: dict[str, T] = {}
        # Other spellings that should suggest (not resolve to) a canonical name,
        # e.g. a task's short key "sst2" for "glue/sst2".
        # One alias may suggest several names ("sst2": glue/ and advglue/sst2).
        self._aliases: dict[str, list[str]] = {}

    def add(self, name: str, obj: T, *, aliases: tuple[str, ...] = ()) -> T:
        """Register ``obj`` under ``name``; registering a name twice is a bug."""
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj
        for alias in aliases:
            self._aliases.setdefault(alias, []).append(name)
        return obj

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def decorator(obj: T) -> T:
            return self.add(name, obj)

        return decorator

    def get(self, name: str) -> T:
        """Return the object named ``name`` or raise ``UserError`` with a hint."""
        try:
            return self._items[name]
        except KeyError:
            pass
        if name in self._aliases:
            names = " or ".join(repr(n) for n in self._aliases[name])
            hint = f" Did you mean {names}?"
        else:
            hint = did_you_mean(name, list(self._items))
            if not hint:
                close = difflib.get_close_matches(name, list(self._aliases), n=3)
                if close:
                    names = " or ".join(
                        repr(n) for c in close for n in self._aliases[c]
                    )
                    hint = f" Did you mean {names}?"
        raise UserError(self.error_code, f"Unknown {self.kind} {name!r}.{hint}")

    __getitem__ = get

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        """All registered names, in registration order."""
        return list(self._items)

    def values(self) -> list[T]:
        """All registered objects, in registration order."""
        return list(self._items.values())


# The catalogue lookups live here (not in specs.py) so callers have one import
# for names; loading and validating the spec files is specs.py's job.


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
