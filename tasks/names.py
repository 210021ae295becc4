"""A small generic name registry whose unknown-name errors help a person.

One ``Registry`` class serves metrics, importers, generators and the catalogue, so
every unknown name anywhere fails the same way: a ``UserError`` with a stable code
and a "did you mean" hint computed with :mod:`difflib`. Entries may be registered
lazily as ``"module:object"`` (as lm-evaluation-harness does): the module is imported
on first use, so a registry imports no task code and the catalogue has no import
cycle. This module imports nothing of Glew's but the error types.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from tasks.errors import UserError

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
        # name -> "module:object", imported into _items on first use.
        self._lazy: dict[str, str] = {}
        # Other spellings that should suggest (not resolve to) a canonical name,
        # e.g. a task's short key "sst2" for "glue/sst2".
        # One alias may suggest several names ("sst2": glue/ and advglue/sst2).
        self._aliases: dict[str, list[str]] = {}

    def add(self, name: str, obj: T, *, aliases: tuple[str, ...] = ()) -> T:
        """Register ``obj`` under ``name``; registering a name twice is a bug."""
        if name in self._items or name in self._lazy:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj
        for alias in aliases:
            self._aliases.setdefault(alias, []).append(name)
        return obj

    def add_lazy(self, name: str, target: str) -> None:
        """Register ``"package.module:object"`` under ``name``, imported on first use.

        >>> lazy = Registry("thing", error_code="demo.unknown_thing")
        >>> lazy.add_lazy("dedent", "textwrap:dedent")
        >>> "dedent" in lazy, lazy["dedent"]("  x")
        (True, 'x')
        """
        if name in self._items or name in self._lazy:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        if ":" not in target:
            raise ValueError(f"{target!r} is not 'module:object'")
        self._lazy[name] = target

    def _resolve(self, name: str) -> T:
        module, _, attribute = self._lazy.pop(name).partition(":")
        obj = getattr(importlib.import_module(module), attribute)
        self._items[name] = obj
        return obj

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def decorator(obj: T) -> T:
            return self.add(name, obj)

        return decorator

    def get(self, name: str) -> T:
        """Return the object named ``name`` or raise ``UserError`` with a hint."""
        if name in self._items:
            return self._items[name]
        if name in self._lazy:
            return self._resolve(name)
        if name in self._aliases:
            names = " or ".join(repr(n) for n in self._aliases[name])
            hint = f" Did you mean {names}?"
        else:
            hint = did_you_mean(name, self.names())
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
        return name in self._items or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items) + len(self._lazy)

    def names(self) -> list[str]:
        """All registered names (eager ones first), without importing anything."""
        return [*self._items, *self._lazy]

    def values(self) -> list[T]:
        """All registered objects (lazy ones are imported now)."""
        return [self.get(name) for name in self.names()]
