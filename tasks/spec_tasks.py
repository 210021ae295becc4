"""The checks of one ``[tasks.<key>]`` table of a catalogue spec (``spec_checks``
has the suite's and the helpers both use): required and optional keys, labels,
metrics, splits and their files, importer options, and the LRA and long-context
extensions. Each error names the task, the table and the key at fault.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from tasks.errors import CatalogueError
from tasks.importers.formats import IMPORTERS
from tasks.metrics import METRICS
from tasks.names import did_you_mean
from tasks.prompts import Prompt, parse_prompt
from tasks.spec_checks import NAME_RE, Table, check_keys, string_tuple
from tasks.specs import LONG_CONTEXT_KINDS, TASK_TYPES, VOCABULARIES, TaskSpec

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
    "group_field": str,
    "split_sizes": dict,
    "max_length": int,
    "deviations": list,
    "prompt": dict,
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


def _check_basics(key: str, table: Any, *, source: str) -> tuple[str, ...]:
    """The task's name, keys, version, type and text fields (returned)."""
    at = ("tasks", key)

    def fail(code: str, message: str, at_key: str | None = None) -> CatalogueError:
        return CatalogueError(
            code, message, file=source, task=key, table=at, key=at_key
        )

    if not isinstance(table, dict):
        raise fail("catalogue.wrong_type", "a task must be a table")
    if not NAME_RE.fullmatch(key):
        raise fail(
            "catalogue.bad_name",
            f"task key {key!r} must be lower-case letters, digits, '-' or '_'",
        )
    check_keys(table, _TASK_REQUIRED, _TASK_OPTIONAL, source=source, task=key, at=at)
    if table["version"] < 1:
        raise fail(
            "catalogue.invalid_version", "version must be an integer >= 1", "version"
        )
    if table["type"] not in TASK_TYPES:
        raise fail(
            "catalogue.unknown_task_type",
            f"unknown task type {table['type']!r}; known: {', '.join(TASK_TYPES)}",
            "type",
        )
    text_fields = string_tuple(table, "text_fields", source=source, task=key)
    if not text_fields:
        raise fail("catalogue.missing_key", "'text_fields' is empty", "text_fields")
    if {"idx", "label"} & set(text_fields):
        raise fail(
            "catalogue.reserved_name",
            "'idx' and 'label' are reserved names",
            "text_fields",
        )
    if table["type"] == "token_classification" and len(text_fields) != 1:
        raise fail(
            "catalogue.invalid_text_fields",
            "a token_classification task has one text field: the list of words",
            "text_fields",
        )
    return text_fields


def parse_task(suite: str, key: str, table: Any, *, source: str) -> TaskSpec:
    """One ``[tasks.<key>]`` table as a TaskSpec, every key checked (in steps)."""
    at = ("tasks", key)
    text_fields = _check_basics(key, table, source=source)

    def fail(code: str, message: str, at_key: str | None = None) -> CatalogueError:
        return CatalogueError(
            code, message, file=source, task=key, table=at, key=at_key
        )

    train_split, eval_splits, test_splits, dev_split = _splits(
        table, source=source, key=key
    )
    if table["importer"] not in IMPORTERS:
        raise fail(
            "catalogue.unknown_importer",
            f"unknown importer {table['importer']!r}."
            f"{did_you_mean(table['importer'], IMPORTERS.names())}",
            "importer",
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
        labels=_labels(table, source=source, key=key),
        metrics=_metrics(table, source=source, key=key),
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
        group_field=table.get("group_field"),
        split_sizes=MappingProxyType(dict(table.get("split_sizes", {}))),
        max_length=table.get("max_length"),
        deviations=(
            string_tuple(table, "deviations", source=source, task=key)
            if "deviations" in table
            else ()
        ),
        prompt=_prompt(table, text_fields, source=source, key=key),
    )
    _check_extensions(spec, table, source=source)
    _check_fidelity(spec, source=source)
    try:
        IMPORTERS[spec.importer].check_options(spec)
    except ValueError as exc:
        raise fail(
            "catalogue.invalid_importer_options", str(exc), "importer_options"
        ) from exc
    return spec


def _prompt(
    table: dict[str, Any], text_fields: tuple[str, ...], *, source: str, key: str
) -> Prompt | None:
    """The task's ``mlm`` prompt (tasks.prompts), checked against its fields and
    labels; None when it declares none."""
    if "prompt" not in table:
        return None
    labels = table.get("labels")
    try:
        return parse_prompt(
            table["prompt"],
            task_type=table["type"],
            text_fields=text_fields,
            labels=labels if isinstance(labels, list) else None,
        )
    except ValueError as exc:
        raise CatalogueError(
            "catalogue.invalid_prompt",
            str(exc),
            file=source,
            task=key,
            table=("tasks", key),
            key="prompt",
        ) from exc


def _labels(table: dict[str, Any], *, source: str, key: str) -> tuple[str, ...] | None:
    """A classifier's label names (two or more); a regression task has none."""
    at = ("tasks", key)
    if table["type"] in (
        "classification",
        "multilabel_classification",
        "token_classification",
    ):
        if "labels" not in table:
            raise CatalogueError(
                "catalogue.missing_key",
                "a classification task needs 'labels'",
                file=source,
                task=key,
                table=at,
            )
        labels = string_tuple(table, "labels", source=source, task=key)
        if len(labels) < 2:
            raise CatalogueError(
                "catalogue.invalid_labels",
                "a classifier needs two labels",
                file=source,
                task=key,
                table=at,
                key="labels",
            )
        return labels
    if "labels" in table:
        raise CatalogueError(
            "catalogue.unexpected_key",
            "a regression task has no 'labels'",
            file=source,
            task=key,
            table=at,
            key="labels",
        )
    return None


def _metrics(table: dict[str, Any], *, source: str, key: str) -> tuple[str, ...]:
    """Known metrics only, the primary one among them."""
    at = ("tasks", key)
    metrics = string_tuple(table, "metrics", source=source, task=key)
    if not metrics:
        raise CatalogueError(
            "catalogue.missing_key",
            "'metrics' is empty",
            file=source,
            task=key,
            table=at,
            key="metrics",
        )
    for metric in metrics:
        if metric not in METRICS:
            raise CatalogueError(
                "catalogue.unknown_metric",
                f"unknown metric {metric!r}.{did_you_mean(metric, METRICS.names())}",
                file=source,
                task=key,
                table=at,
                key="metrics",
            )
    if table["primary_metric"] not in metrics:
        raise CatalogueError(
            "catalogue.primary_metric_not_computed",
            f"primary_metric {table['primary_metric']!r} is not in metrics {metrics}",
            file=source,
            task=key,
            table=at,
            key="primary_metric",
        )
    return metrics


def _splits(
    table: dict[str, Any], *, source: str, key: str
) -> tuple[str | None, tuple[str, ...], tuple[str, ...], str | None]:
    """(train, eval, test, dev) splits: each declared once, each with its file."""

    def fail(
        code: str, message: str, at_key: str, at: Table = ("tasks", key)
    ) -> CatalogueError:
        return CatalogueError(
            code, message, file=source, task=key, table=at, key=at_key
        )

    train_split = table.get("train_split")
    eval_splits = string_tuple(table, "eval_splits", source=source, task=key)
    test_splits = string_tuple(table, "test_splits", source=source, task=key)
    dev_split = table.get("dev_split")
    all_splits = ((train_split,) if train_split else ()) + eval_splits + test_splits
    all_splits += (dev_split,) if dev_split else ()
    if len(set(all_splits)) != len(all_splits):
        raise fail(
            "catalogue.duplicate_split",
            f"a split is declared twice: {all_splits}",
            "eval_splits",
        )
    if not eval_splits and not test_splits:
        raise fail(
            "catalogue.no_splits",
            "a task needs eval_splits or test_splits",
            "eval_splits",
        )
    files = table["files"]
    for split, filename in files.items():
        if split not in all_splits:
            raise fail(
                "catalogue.unknown_split",
                f"files names undeclared split {split!r}",
                split,
                ("tasks", key, "files"),
            )
        if not isinstance(filename, str) or not filename:
            raise fail(
                "catalogue.wrong_type",
                f"files.{split} must be a file name",
                split,
                ("tasks", key, "files"),
            )
    for split in all_splits:
        if split not in files:
            raise fail(
                "catalogue.missing_file",
                f"split {split!r} has no entry in files",
                "files",
            )
    return train_split, eval_splits, test_splits, dev_split


def _check_extensions(spec: TaskSpec, table: dict[str, Any], *, source: str) -> None:
    """Validate the optional LRA and long-context keys of one task."""
    at = ("tasks", spec.key)

    def fail(code: str, message: str, key: str, where: Table = at) -> CatalogueError:
        return CatalogueError(
            code, message, file=source, task=spec.key, table=where, key=key
        )

    if spec.vocabulary is not None and spec.vocabulary not in VOCABULARIES:
        raise fail(
            "catalogue.unknown_vocabulary",
            f"unknown vocabulary {spec.vocabulary!r}; known: {', '.join(VOCABULARIES)}",
            "vocabulary",
        )
    if spec.two_tower and len(spec.text_fields) != 2:
        raise fail(
            "catalogue.invalid_two_tower",
            "two_tower needs two text_fields",
            "two_tower",
        )
    if "fixed_recipe" in table:
        where = (*at, "fixed_recipe")
        check_keys(
            table["fixed_recipe"],
            _FIXED_RECIPE_REQUIRED,
            _FIXED_RECIPE_OPTIONAL,
            source=source,
            task=spec.key,
            at=where,
        )
        for key in ("max_length", "batch_size", "train_steps"):
            if table["fixed_recipe"][key] < 1:
                raise fail(
                    "catalogue.invalid_recipe", f"{key} must be >= 1", key, where
                )
    if "long_context" in table:
        where = (*at, "long_context")
        options = table["long_context"]
        check_keys(
            options,
            _LONG_CONTEXT_REQUIRED,
            _LONG_CONTEXT_OPTIONAL,
            source=source,
            task=spec.key,
            at=where,
        )
        if options["kind"] not in LONG_CONTEXT_KINDS:
            raise fail(
                "catalogue.unknown_long_context_kind",
                f"unknown kind {options['kind']!r}; "
                f"known: {', '.join(LONG_CONTEXT_KINDS)}",
                "kind",
                where,
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
                "lengths",
                where,
            )


def _check_fidelity(spec: TaskSpec, *, source: str) -> None:
    """Validate the keys that keep a task true to its benchmark: ``group_field``,
    ``split_sizes`` and ``max_length``."""
    at = ("tasks", spec.key)

    def fail(code: str, message: str, key: str) -> CatalogueError:
        return CatalogueError(
            code, message, file=source, task=spec.key, table=at, key=key
        )

    group = spec.group_field
    if group is not None:
        if spec.type != "multilabel_classification":
            raise fail(
                "catalogue.invalid_group_field",
                "group_field is for multi-label tasks (a group's label sets are OR-ed)",
                "group_field",
            )
        if not NAME_RE.fullmatch(group) or group in ("idx", "label", *spec.text_fields):
            raise fail(
                "catalogue.invalid_group_field",
                f"group_field {group!r} must be a field name other than idx, label "
                "and the text fields",
                "group_field",
            )
    for split, size in spec.split_sizes.items():
        if split not in spec.splits:
            raise fail(
                "catalogue.unknown_split",
                f"split_sizes names undeclared split {split!r}",
                "split_sizes",
            )
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise fail(
                "catalogue.invalid_split_sizes",
                f"split_sizes.{split} must be a whole number above 0",
                "split_sizes",
            )
    if spec.max_length is not None:
        if spec.max_length < 1:
            raise fail(
                "catalogue.invalid_recipe", "max_length must be >= 1", "max_length"
            )
        if spec.fixed_recipe or spec.long_context:
            raise fail(
                "catalogue.invalid_recipe",
                "max_length is for tasks trained with a named recipe; a fixed "
                "recipe or a long-context build sets its own",
                "max_length",
            )
