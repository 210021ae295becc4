"""The checks behind every catalogue spec: the suite's table, and the helpers every
table's checks share (the task tables' own are ``tasks.spec_tasks``).

A spec is a suite table and one table per task, as ``tomllib`` parses them. The
checks turn the tables into ``SuiteSpec`` and ``TaskSpec`` or raise a
:class:`~tasks.errors.CatalogueError` that names the task, the table and the key at
fault (so a spec read from text can also name the line: ``spec_files``). They
refuse whatever a typo could break: unknown keys (with "did you mean"), missing
keys, wrong types, unknown metrics, importers or importer options, a primary metric
that is not computed, splits without files, score rule options that name no task.
"""

from __future__ import annotations

import difflib
import re
from types import MappingProxyType
from typing import Any

from tasks.errors import CatalogueError
from tasks.names import did_you_mean
from tasks.specs import (
    SCORE_RULES,
    SuiteSpec,
    TaskSpec,
)

Table = tuple[str, ...]

_SUITE_KEYS = {
    "name": str,
    "title": str,
    "description": str,
    "score_rule": str,
    "score_rule_text": str,
}
_SUITE_OPTIONAL = {"score_rule_options": dict, "deviations": list}
# Per score rule: its options and their types (tasks.scoring.suite_score).
SCORE_RULE_OPTIONS: dict[str, dict[str, type]] = {
    "mean_of_task_means": {"weights": dict},
    "advglue_mean": {},
    "mean_of_group_means": {"groups": dict},
}
# Suite names and task keys are parts of URLs and storage paths.
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def check_keys(
    table: dict[str, Any],
    required: dict[str, type],
    optional: dict[str, type],
    *,
    source: str,
    task: str | None,
    at: Table,
) -> None:
    """Refuse unknown keys, missing keys and values of the wrong type."""
    where = f"[{'.'.join(at)}]" if at else "file"
    allowed = dict(required) | dict(optional)
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CatalogueError(
                "catalogue.unknown_key",
                f"unknown key {key!r} in {where}{hint}",
                file=source,
                task=task,
                table=at,
                key=key,
            )
    for key in required:
        if key not in table:
            raise CatalogueError(
                "catalogue.missing_key",
                f"missing key {key!r} in {where}",
                file=source,
                task=task,
                table=at,
            )
    for key, value in table.items():
        expected = allowed[key]
        # bool is an int subclass; a version of `true` is a typo, not a number.
        wrong = not isinstance(value, expected) or (
            expected is int and isinstance(value, bool)
        )
        if wrong:
            raise CatalogueError(
                "catalogue.wrong_type",
                f"{key!r} in {where} must be a {expected.__name__}, "
                f"got {type(value).__name__}",
                file=source,
                task=task,
                table=at,
                key=key,
            )


def parse_suite(
    data: Any, *, source: str
) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, Any]]]:
    """The top of a spec: ``(suite table, score rule options, task tables)``."""
    if not isinstance(data, dict):
        raise CatalogueError("catalogue.wrong_type", "not a table", file=source)
    check_keys(
        data, {"suite": dict, "tasks": dict}, {}, source=source, task=None, at=()
    )
    suite = data["suite"]
    check_keys(
        suite, _SUITE_KEYS, _SUITE_OPTIONAL, source=source, task=None, at=("suite",)
    )

    def fail(code: str, message: str, key: str) -> CatalogueError:
        return CatalogueError(code, message, file=source, table=("suite",), key=key)

    if not NAME_RE.fullmatch(suite["name"]):
        raise fail(
            "catalogue.bad_name",
            f"suite name {suite['name']!r} must be lower-case letters, digits, "
            "'-' or '_' (at most 64), starting with a letter or digit",
            "name",
        )
    if suite["score_rule"] not in SCORE_RULES:
        raise fail(
            "catalogue.unknown_score_rule",
            f"unknown score_rule {suite['score_rule']!r}; "
            f"known: {', '.join(SCORE_RULES)}",
            "score_rule",
        )
    notes = suite.get("deviations", [])
    if not all(isinstance(n, str) and n.strip() for n in notes):
        raise fail(
            "catalogue.wrong_type",
            "'deviations' must be a list of non-empty strings",
            "deviations",
        )
    options = suite.get("score_rule_options", {})
    at = ("suite", "score_rule_options")
    check_keys(
        options,
        {},
        SCORE_RULE_OPTIONS[suite["score_rule"]],
        source=source,
        task=None,
        at=at,
    )
    if suite["score_rule"] == "mean_of_group_means" and "groups" not in options:
        raise fail(
            "catalogue.missing_key",
            "mean_of_group_means needs score_rule_options.groups",
            "score_rule_options",
        )
    if not data["tasks"]:
        raise CatalogueError(
            "catalogue.no_tasks",
            "the suite has no tasks",
            file=source,
            table=("tasks",),
        )
    return suite, options, list(data["tasks"].items())


def check_score_rule_options(
    options: dict[str, Any], tasks: tuple[TaskSpec, ...], *, source: str
) -> None:
    """``weights``: a positive number per task key; keys must be the suite's.
    ``groups`` (``mean_of_group_means``): group name -> task keys, every task
    that counts in the score in exactly one group."""
    _check_groups(options, tasks, source=source)
    weights = options.get("weights", {})
    at = ("suite", "score_rule_options", "weights")
    keys = [task.key for task in tasks]
    for key, weight in weights.items():
        if key not in keys:
            raise CatalogueError(
                "catalogue.unknown_task",
                f"weights names unknown task {key!r}.{did_you_mean(key, keys)}",
                file=source,
                table=at,
                key=key,
            )
        number = isinstance(weight, int | float) and not isinstance(weight, bool)
        if not number or not weight > 0:
            raise CatalogueError(
                "catalogue.invalid_weight",
                f"the weight of {key!r} must be a number above 0, got {weight!r}",
                file=source,
                table=at,
                key=key,
            )


def _check_groups(
    options: dict[str, Any], tasks: tuple[TaskSpec, ...], *, source: str
) -> None:
    """The groups of ``mean_of_group_means``: each scored task in one group."""
    if "groups" not in options:
        return
    at = ("suite", "score_rule_options", "groups")

    def fail(message: str, key: str | None = None) -> CatalogueError:
        return CatalogueError(
            "catalogue.invalid_groups", message, file=source, table=at, key=key
        )

    keys = [task.key for task in tasks]
    scored = {task.key for task in tasks if task.in_suite_score}
    seen: dict[str, str] = {}
    for group, members in options["groups"].items():
        if not isinstance(members, list) or not members:
            raise fail(f"group {group!r} must list task keys", group)
        for key in members:
            if key not in keys:
                raise fail(f"group {group!r} names unknown task {key!r}", group)
            if key in seen:
                raise fail(f"task {key!r} is in groups {seen[key]!r} and {group!r}")
            seen[key] = group
    left = sorted(scored - set(seen))
    if left:
        raise fail(f"scored tasks in no group: {', '.join(left)}")


def build_suite(
    suite: dict[str, Any], options: dict[str, Any], tasks: tuple[TaskSpec, ...]
) -> SuiteSpec:
    return SuiteSpec(
        name=suite["name"],
        title=suite["title"],
        description=suite["description"],
        score_rule=suite["score_rule"],
        score_rule_text=suite["score_rule_text"],
        tasks=tasks,
        score_rule_options=MappingProxyType(
            {
                k: MappingProxyType(dict(v)) if isinstance(v, dict) else v
                for k, v in options.items()
            }
        ),
        deviations=tuple(suite.get("deviations", ())),
    )


def string_tuple(
    table: dict[str, Any], key: str, *, source: str, task: str
) -> tuple[str, ...]:
    values = table[key]
    at = ("tasks", task)
    if not all(isinstance(v, str) and v for v in values):
        raise CatalogueError(
            "catalogue.wrong_type",
            f"{key!r} must be a list of non-empty strings",
            file=source,
            task=task,
            table=at,
            key=key,
        )
    if len(set(values)) != len(values):
        raise CatalogueError(
            "catalogue.duplicate_value",
            f"{key!r} lists a value twice: {values}",
            file=source,
            task=task,
            table=at,
            key=key,
        )
    return tuple(values)
