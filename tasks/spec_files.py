"""Read the catalogue from ``catalogue/*.toml`` and validate every task in it.

The catalogue is data, not code: each TOML file declares one suite and its tasks.
Loading validates everything a typo could break (unknown keys, unknown metrics or
importer options, a primary metric that is not computed, splits without files) and
fails with a :class:`~tasks.errors.CatalogueError` naming the file and the task,
because a catalogue mistake found at the first request is far cheaper than one found
in a published leaderboard. ``tomllib`` itself rejects duplicate keys and tables.

Files are read lazily on first use (:func:`default_catalogue`) and then cached;
nothing is executed while parsing.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tasks.errors import CatalogueError
from tasks.importers.formats import IMPORTERS
from tasks.metrics import METRICS
from tasks.names import did_you_mean
from tasks.specs import (
    CATALOGUE_DIR,
    LONG_CONTEXT_KINDS,
    SCORE_RULES,
    TASK_TYPES,
    VOCABULARIES,
    Catalogue,
    SuiteSpec,
    TaskSpec,
)

_SUITE_KEYS = {
    "name": str,
    "title": str,
    "description": str,
    "score_rule": str,
    "score_rule_text": str,
}
_TASK_REQUIRED = {
    "title": str,
    "description": str,
    "version": int,
    "type": str,
    "text_fields": list,
    "metrics": list,
    "primary_metric": str,
    "eval_splits": list,
    "test_splits": list,
    "in_suite_score": bool,
    "importer": str,
    "folder": str,
    "files": dict,
}
_TASK_OPTIONAL = {
    "labels": list,
    "train_split": str,
    "dev_split": str,
    "importer_options": dict,
    "predict_with": str,
    "vocabulary": str,
    "two_tower": bool,
    "fixed_recipe": dict,
    "long_context": dict,
}
_FIXED_RECIPE_REQUIRED = {
    "source": str,
    "max_length": int,
    "batch_size": int,
    "learning_rate": float,
    "weight_decay": float,
    "warmup_steps": int,
    "train_steps": int,
}
_FIXED_RECIPE_OPTIONAL = {"lr_schedule": str, "note": str}
_LONG_CONTEXT_REQUIRED = {
    "base": str,
    "kind": str,
    "base_train_split": str,
    "base_eval_split": str,
    "train_tokens": int,
    "lengths": dict,
}
_LONG_CONTEXT_OPTIONAL = {"spans": int, "positive_label": int}


def load_spec_file(path: str | Path) -> SuiteSpec:
    """Read and validate one catalogue file declaring a suite and its tasks."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        # tomllib reports duplicate keys and tables here, with line and column.
        raise CatalogueError("catalogue.invalid_toml", str(exc), file=path) from exc
    except OSError as exc:
        raise CatalogueError("catalogue.unreadable", str(exc), file=path) from exc

    _check_keys(data, {"suite": dict, "tasks": dict}, set(), path, None, "file")
    suite_table = data["suite"]
    _check_keys(suite_table, _SUITE_KEYS, set(), path, None, "[suite]")
    suite_name = suite_table["name"]
    if suite_table["score_rule"] not in SCORE_RULES:
        raise CatalogueError(
            "catalogue.unknown_score_rule",
            f"unknown score_rule {suite_table['score_rule']!r}; "
            f"known: {', '.join(SCORE_RULES)}",
            file=path,
        )
    tasks = tuple(
        _parse_task(suite_name, key, table, path)
        for key, table in data["tasks"].items()
    )
    if not tasks:
        raise CatalogueError("catalogue.no_tasks", "the suite has no tasks", file=path)
    return SuiteSpec(
        name=suite_name,
        title=suite_table["title"],
        description=suite_table["description"],
        score_rule=suite_table["score_rule"],
        score_rule_text=suite_table["score_rule_text"],
        tasks=tasks,
    )


def load_catalogue(directory: str | Path = CATALOGUE_DIR) -> Catalogue:
    """Load every ``*.toml`` file in ``directory`` and check names across files."""
    directory = Path(directory)
    suites: list[SuiteSpec] = []
    seen: dict[str, Path] = {}
    task_names: set[str] = set()
    for path in sorted(directory.glob("*.toml")):
        suite = load_spec_file(path)
        if suite.name in seen:
            raise CatalogueError(
                "catalogue.duplicate_suite",
                f"suite {suite.name!r} is also declared in {seen[suite.name]}",
                file=path,
            )
        seen[suite.name] = path
        suites.append(suite)
        task_names.update(t.name for t in suite.tasks)
    for suite in suites:
        for task in suite.tasks:
            if task.predict_with is not None and task.predict_with not in task_names:
                raise CatalogueError(
                    "catalogue.unknown_task",
                    f"predict_with names unknown task {task.predict_with!r}",
                    file=seen[suite.name],
                    task=task.key,
                )
    return Catalogue(suites=tuple(suites))


@functools.cache
def default_catalogue() -> Catalogue:
    """The catalogue shipped in ``tasks/catalogue``, loaded once on first use."""
    return load_catalogue(CATALOGUE_DIR)


def _check_keys(
    table: dict[str, Any],
    required: dict[str, type],
    optional: dict[str, type] | set[str],
    path: Path,
    task: str | None,
    where: str,
) -> None:
    """Refuse unknown keys, missing keys and values of the wrong type."""
    import difflib

    allowed = dict(required) | (dict(optional) if isinstance(optional, dict) else {})
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CatalogueError(
                "catalogue.unknown_key",
                f"unknown key {key!r} in {where}{hint}",
                file=path,
                task=task,
            )
    for key in required:
        if key not in table:
            raise CatalogueError(
                "catalogue.missing_key",
                f"missing key {key!r} in {where}",
                file=path,
                task=task,
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
                file=path,
                task=task,
            )


def _string_tuple(
    table: dict[str, Any], key: str, path: Path, task: str
) -> tuple[str, ...]:
    values = table[key]
    if not all(isinstance(v, str) and v for v in values):
        raise CatalogueError(
            "catalogue.wrong_type",
            f"{key!r} must be a list of non-empty strings",
            file=path,
            task=task,
        )
    if len(set(values)) != len(values):
        raise CatalogueError(
            "catalogue.duplicate_value",
            f"{key!r} lists a value twice: {values}",
            file=path,
            task=task,
        )
    return tuple(values)


def _parse_task(suite: str, key: str, table: Any, path: Path) -> TaskSpec:
    """One ``[tasks.<key>]`` table as a TaskSpec, every key checked (in steps)."""

    def fail(code: str, message: str) -> CatalogueError:
        return CatalogueError(code, message, file=path, task=key)

    if not isinstance(table, dict):
        raise fail("catalogue.wrong_type", "a task must be a table")
    _check_keys(table, _TASK_REQUIRED, _TASK_OPTIONAL, path, key, f"[tasks.{key}]")
    if table["version"] < 1:
        raise fail("catalogue.invalid_version", "version must be an integer >= 1")
    if table["type"] not in TASK_TYPES:
        raise fail(
            "catalogue.unknown_task_type",
            f"unknown task type {table['type']!r}; known: {', '.join(TASK_TYPES)}",
        )
    text_fields = _string_tuple(table, "text_fields", path, key)
    if not text_fields:
        raise fail("catalogue.missing_key", "'text_fields' is empty")
    if {"idx", "label"} & set(text_fields):
        raise fail("catalogue.reserved_name", "'idx' and 'label' are reserved names")
    train_split, eval_splits, test_splits, dev_split = _splits(table, path, key)
    if table["importer"] not in IMPORTERS:
        raise fail(
            "catalogue.unknown_importer",
            f"unknown importer {table['importer']!r}."
            f"{did_you_mean(table['importer'], IMPORTERS.names())}",
        )
    spec = TaskSpec(
        name=f"{suite}/{key}",
        suite=suite,
        key=key,
        title=table["title"],
        description=table["description"],
        version=table["version"],
        type=table["type"],
        text_fields=text_fields,
        labels=_labels(table, path, key),
        metrics=_metrics(table, path, key),
        primary_metric=table["primary_metric"],
        train_split=train_split,
        eval_splits=eval_splits,
        test_splits=test_splits,
        in_suite_score=table["in_suite_score"],
        importer=table["importer"],
        folder=table["folder"],
        files=MappingProxyType(dict(table["files"])),
        importer_options=MappingProxyType(dict(table.get("importer_options", {}))),
        predict_with=table.get("predict_with"),
        vocabulary=table.get("vocabulary"),
        two_tower=table.get("two_tower", False),
        fixed_recipe=MappingProxyType(dict(table.get("fixed_recipe", {}))),
        long_context=MappingProxyType(dict(table.get("long_context", {}))),
        dev_split=dev_split,
    )
    _check_extensions(spec, table, path)
    try:
        IMPORTERS[spec.importer].check_options(spec)
    except ValueError as exc:
        raise fail("catalogue.invalid_importer_options", str(exc)) from exc
    return spec


def _labels(table: dict[str, Any], path: Path, key: str) -> tuple[str, ...] | None:
    """A classifier's label names (two or more); a regression task has none."""
    if table["type"] in ("classification", "multilabel_classification"):
        if "labels" not in table:
            raise CatalogueError(
                "catalogue.missing_key",
                "a classification task needs 'labels'",
                file=path,
                task=key,
            )
        labels = _string_tuple(table, "labels", path, key)
        if len(labels) < 2:
            raise CatalogueError(
                "catalogue.invalid_labels",
                "a classifier needs two labels",
                file=path,
                task=key,
            )
        return labels
    if "labels" in table:
        raise CatalogueError(
            "catalogue.unexpected_key",
            "a regression task has no 'labels'",
            file=path,
            task=key,
        )
    return None


def _metrics(table: dict[str, Any], path: Path, key: str) -> tuple[str, ...]:
    """Known metrics only, the primary one among them."""
    metrics = _string_tuple(table, "metrics", path, key)
    if not metrics:
        raise CatalogueError(
            "catalogue.missing_key", "'metrics' is empty", file=path, task=key
        )
    for metric in metrics:
        if metric not in METRICS:
            raise CatalogueError(
                "catalogue.unknown_metric",
                f"unknown metric {metric!r}.{did_you_mean(metric, METRICS.names())}",
                file=path,
                task=key,
            )
    if table["primary_metric"] not in metrics:
        raise CatalogueError(
            "catalogue.primary_metric_not_computed",
            f"primary_metric {table['primary_metric']!r} is not in metrics {metrics}",
            file=path,
            task=key,
        )
    return metrics


def _splits(
    table: dict[str, Any], path: Path, key: str
) -> tuple[str | None, tuple[str, ...], tuple[str, ...], str | None]:
    """(train, eval, test, dev) splits: each declared once, each with its file."""

    def fail(code: str, message: str) -> CatalogueError:
        return CatalogueError(code, message, file=path, task=key)

    train_split = table.get("train_split")
    eval_splits = _string_tuple(table, "eval_splits", path, key)
    test_splits = _string_tuple(table, "test_splits", path, key)
    dev_split = table.get("dev_split")
    all_splits = ((train_split,) if train_split else ()) + eval_splits + test_splits
    all_splits += (dev_split,) if dev_split else ()
    if len(set(all_splits)) != len(all_splits):
        raise fail(
            "catalogue.duplicate_split", f"a split is declared twice: {all_splits}"
        )
    if not eval_splits and not test_splits:
        raise fail("catalogue.no_splits", "a task needs eval_splits or test_splits")
    files = table["files"]
    for split, filename in files.items():
        if split not in all_splits:
            raise fail(
                "catalogue.unknown_split", f"files names undeclared split {split!r}"
            )
        if not isinstance(filename, str) or not filename:
            raise fail("catalogue.wrong_type", f"files.{split} must be a file name")
    for split in all_splits:
        if split not in files:
            raise fail(
                "catalogue.missing_file", f"split {split!r} has no entry in files"
            )
    return train_split, eval_splits, test_splits, dev_split


def _check_extensions(spec: TaskSpec, table: dict[str, Any], path: Path) -> None:
    """Validate the optional LRA and long-context keys of one task."""

    def fail(code: str, message: str) -> CatalogueError:
        return CatalogueError(code, message, file=path, task=spec.key)

    if spec.vocabulary is not None and spec.vocabulary not in VOCABULARIES:
        raise fail(
            "catalogue.unknown_vocabulary",
            f"unknown vocabulary {spec.vocabulary!r}; known: {', '.join(VOCABULARIES)}",
        )
    if spec.two_tower and len(spec.text_fields) != 2:
        raise fail("catalogue.invalid_two_tower", "two_tower needs two text_fields")
    if "fixed_recipe" in table:
        where = f"[tasks.{spec.key}.fixed_recipe]"
        _check_keys(
            table["fixed_recipe"],
            _FIXED_RECIPE_REQUIRED,
            _FIXED_RECIPE_OPTIONAL,
            path,
            spec.key,
            where,
        )
        for key in ("max_length", "batch_size", "train_steps"):
            if table["fixed_recipe"][key] < 1:
                raise fail("catalogue.invalid_recipe", f"{key} must be >= 1")
    if "long_context" in table:
        options = table["long_context"]
        _check_keys(
            options,
            _LONG_CONTEXT_REQUIRED,
            _LONG_CONTEXT_OPTIONAL,
            path,
            spec.key,
            f"[tasks.{spec.key}.long_context]",
        )
        if options["kind"] not in LONG_CONTEXT_KINDS:
            raise fail(
                "catalogue.unknown_long_context_kind",
                f"unknown kind {options['kind']!r}; "
                f"known: {', '.join(LONG_CONTEXT_KINDS)}",
            )
        lengths = options["lengths"]
        if set(lengths) != set(spec.eval_splits) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0
            for v in lengths.values()
        ):
            raise fail(
                "catalogue.invalid_lengths",
                "long_context.lengths must give a positive token count for "
                f"exactly the eval splits {list(spec.eval_splits)}",
            )
