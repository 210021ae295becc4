"""Read the catalogue from ``catalogue/*.toml`` and validate every task in it.

The catalogue is data, not code: each TOML file declares one suite and its tasks.
Loading validates everything a typo could break (unknown keys, unknown metrics or
importer options, a primary metric that is not computed, splits without files;
``tasks.spec_checks``,
``tasks.spec_tasks``) and fails with a :class:`~tasks.errors.CatalogueError`
naming the file, the line and the task, because a catalogue mistake found at the
first request is far cheaper than one found in a published leaderboard.
``tomllib`` itself rejects duplicate keys and tables.

The same validation reads a spec from text (:func:`parse_spec_text`: a task bundle
uploaded through the web) and from its parsed tables (:func:`suite_from_document`:
a suite kept in the database), so every suite, wherever it lives, obeys one set of
rules. Files are read lazily on first use (:func:`default_catalogue`) and then
cached; nothing is executed while parsing.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tasks.errors import CatalogueError
from tasks.spec_checks import build_suite, check_score_rule_options, parse_suite
from tasks.spec_tasks import parse_task
from tasks.spec_text import key_line
from tasks.specs import CATALOGUE_DIR, Catalogue, SuiteSpec

_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def suite_from_document(document: Any, *, source: str) -> SuiteSpec:
    """Validate a parsed spec (``{"suite": {...}, "tasks": {key: {...}}}``) and
    return its suite; errors name ``source``, the task, the table and the key."""
    suite, options, task_tables = parse_suite(document, source=source)
    tasks = tuple(
        parse_task(suite["name"], key, table, source=source)
        for key, table in task_tables
    )
    check_score_rule_options(options, tasks, source=source)
    return build_suite(suite, options, tasks)


def parse_spec_text(text: str, *, source: str) -> tuple[SuiteSpec, dict[str, Any]]:
    """Parse and validate a spec's TOML text: ``(suite, parsed document)``.

    Every error names ``source`` and the line: tomllib's own (duplicate keys, bad
    syntax) from its message, the validator's by finding the key it names.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib reports duplicate keys and tables here, with line and column.
        found = _TOML_LINE.search(str(exc))
        raise CatalogueError(
            "catalogue.invalid_toml",
            _TOML_LINE.sub("", str(exc)).strip(),
            file=source,
            line=int(found.group(1)) if found else None,
        ) from exc
    try:
        return suite_from_document(document, source=source), document
    except CatalogueError as error:
        if error.line is not None:
            raise
        raise error.at_line(key_line(text, error.table, error.key)) from None


def load_spec_file(path: str | Path) -> SuiteSpec:
    """Read and validate one catalogue file declaring a suite and its tasks."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError("catalogue.unreadable", str(exc), file=path) from exc
    return parse_spec_text(text, source=str(path))[0]


def check_predict_with(
    suites: Iterable[SuiteSpec], known: set[str], *, sources: dict[str, str]
) -> None:
    """Every ``predict_with`` names a task in ``known`` (all catalogues' tasks)."""
    for suite in suites:
        for task in suite.tasks:
            if task.predict_with is not None and task.predict_with not in known:
                raise CatalogueError(
                    "catalogue.unknown_task",
                    f"predict_with names unknown task {task.predict_with!r}",
                    file=sources.get(suite.name, suite.name),
                    task=task.key,
                    table=("tasks", task.key),
                    key="predict_with",
                )


def load_catalogue(directory: str | Path = CATALOGUE_DIR) -> Catalogue:
    """Load every ``*.toml`` file in ``directory`` and check names across files."""
    directory = Path(directory)
    suites: list[SuiteSpec] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        suite = load_spec_file(path)
        if suite.name in seen:
            raise CatalogueError(
                "catalogue.duplicate_suite",
                f"suite {suite.name!r} is also declared in {seen[suite.name]}",
                file=path,
            )
        seen[suite.name] = str(path)
        suites.append(suite)
    known = {t.name for suite in suites for t in suite.tasks}
    check_predict_with(suites, known, sources=seen)
    return Catalogue(suites=tuple(suites))


@functools.cache
def default_catalogue() -> Catalogue:
    """The catalogue shipped in ``tasks/catalogue``, loaded once on first use."""
    return load_catalogue(CATALOGUE_DIR)
