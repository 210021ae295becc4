"""The catalogue's tasks and suites by name: ``get_task("glue/sst2")``.

Loading and validating the spec files is ``tasks.spec_files``' job; this module wraps
the loaded catalogue in registries (``tasks.names``) so an unknown name gets a hint.

Suites may also come from elsewhere than the files: the platform keeps suites that
staff created through the web in its database. This package knows nothing of
databases, so such a place registers itself as a *catalogue source*
(:func:`add_catalogue_source`): a ``load`` function returning its suites, and a
cheap ``stamp`` that changes whenever ``load`` would return something else (one
generation stamp per source, STYLE rule 16). Lookups are cached and the stamps are
read again at most every :data:`RECHECK_SECONDS` (and at once when a name is not
found, so a suite made a moment ago in another process is found); a process that
changes a source calls :func:`catalogue_changed`. The files win a name clash: a
source's suite named like a file suite is left out.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from tasks.errors import UserError
from tasks.names import Registry
from tasks.spec_files import default_catalogue
from tasks.specs import Catalogue, SuiteSpec, TaskSpec

log = logging.getLogger("glew.catalogue")

RECHECK_SECONDS = 1.0
"""How long cached lookups are trusted before the sources' stamps are read again."""

Lookups = tuple[Registry[SuiteSpec], Registry[TaskSpec]]


@dataclass(frozen=True)
class _Source:
    load: Callable[[], Sequence[SuiteSpec]]
    stamp: Callable[[], Hashable]


_sources: dict[str, _Source] = {}
_lock = threading.RLock()
_cache: dict[str, object] = {"stamps": None, "lookups": None, "checked": -math.inf}


def add_catalogue_source(
    name: str,
    *,
    load: Callable[[], Sequence[SuiteSpec]],
    stamp: Callable[[], Hashable],
) -> None:
    """Make the suites ``load()`` returns visible to every lookup; registering a
    name again replaces it (an app's start-up may run twice)."""
    with _lock:
        _sources[name] = _Source(load=load, stamp=stamp)
        catalogue_changed()


def remove_catalogue_source(name: str) -> None:
    """Forget a source (tests)."""
    with _lock:
        _sources.pop(name, None)
        catalogue_changed()


def catalogue_changed() -> None:
    """A source changed: the next lookup reads the stamps (and reloads) at once."""
    with _lock:
        # -inf, not 0: time.monotonic() counts from boot and is below
        # RECHECK_SECONDS on a machine that started a moment ago.
        _cache["checked"] = -math.inf


def get_task(name: str) -> TaskSpec:
    """Return the task named like ``"glue/sst2"``.

    Raises ``UserError("catalogue.unknown_task")`` with a hint otherwise.
    """
    return _lookup(1, name)


def get_suite(name: str) -> SuiteSpec:
    """Return the suite named like ``"glue"``.

    Raises ``UserError("catalogue.unknown_suite")`` with a hint otherwise.
    """
    return _lookup(0, name)


def all_suites() -> list[SuiteSpec]:
    """Every suite in the catalogue, in name order."""
    return sorted(_lookups()[0].values(), key=lambda s: s.name)


def all_tasks() -> list[TaskSpec]:
    """Every task in the catalogue, by suite name then catalogue order."""
    return [task for suite in all_suites() for task in suite.tasks]


def catalogue_registries(catalogue: Catalogue) -> Lookups:
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


def _lookup(which: int, name: str):
    try:
        return _lookups()[which].get(name)
    except UserError:
        if not _sources:
            raise
        catalogue_changed()  # made a moment ago elsewhere? read the stamps now
        return _lookups()[which].get(name)


def _lookups() -> Lookups:
    if not _sources:
        return _file_lookups()
    with _lock:
        now = time.monotonic()
        if (
            _cache["lookups"] is not None
            and now - float(_cache["checked"]) < RECHECK_SECONDS
        ):
            return _cache["lookups"]  # type: ignore[return-value]
        stamps = tuple((name, source.stamp()) for name, source in _sources.items())
        if stamps != _cache["stamps"] or _cache["lookups"] is None:
            _cache["lookups"] = _combined_lookups()
            _cache["stamps"] = stamps
        _cache["checked"] = now
        return _cache["lookups"]  # type: ignore[return-value]


def _combined_lookups() -> Lookups:
    """The files' suites, then each source's (a clash with a name taken is left
    out and logged: the files, and earlier sources, win)."""
    suites = list(default_catalogue().suites)
    taken = {suite.name for suite in suites}
    for source_name, source in _sources.items():
        for suite in source.load():
            if suite.name in taken:
                log.error(
                    "catalogue source %s: suite %r is already declared; left out",
                    source_name,
                    suite.name,
                )
                continue
            taken.add(suite.name)
            suites.append(suite)
    return catalogue_registries(Catalogue(suites=tuple(suites)))


@functools.cache
def _file_lookups() -> Lookups:
    return catalogue_registries(default_catalogue())
