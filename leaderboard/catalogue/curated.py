"""Suites curated on the site: created and updated from a bundle's spec, edited by
staff, with the catalogue's versioning rules.

The rules are the file catalogue's (STYLE rule 8), enforced instead of trusted:

- a task's ``version`` must rise whenever its spec changes in a way that could
  move its scores (anything but title, description and whether it counts in the
  suite score), and never goes back; an update that forgets is refused, naming the
  line of ``version``;
- a task is never removed (results point at it): it may stop counting
  (``in_suite_score = false``);
- the suite's own ``version`` rises by itself whenever suite scores could change:
  which tasks count, the score rule or its parameters.

A suite name the file catalogue uses is refused: the files win every clash.
:func:`curated_suite_plan` and :func:`suite_edit_plan` say what a change would do
without doing it; the services below do exactly that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from django.db import transaction

from leaderboard.catalogue.audit import audit_record
from leaderboard.catalogue.documents import document_save, source_label
from leaderboard.catalogue.models import DatasetVersion, Origin, Suite, Task
from leaderboard.catalogue.services import dataset_version_refresh_baselines
from leaderboard.catalogue.signals import announce_suite_change
from tasks import registry
from tasks.errors import CatalogueError, UserError
from tasks.names import did_you_mean
from tasks.spec_files import default_catalogue, suite_from_document
from tasks.spec_text import key_line
from tasks.specs import SuiteSpec, TaskSpec

# What a task may change without a new version: nothing a score depends on.
_UNSCORED_FIELDS = {"title", "description", "in_suite_score", "version"}


class SpecError(UserError):
    """A curated spec is refused; the message starts with where: the spec's name
    and ``line`` in its text, as the validator's own errors do."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
    ) -> None:
        where = source if line is None else f"{source or 'spec'}, line {line}"
        super().__init__(code, f"{where}: {message}" if where else message)
        self.line = line

    @classmethod
    def from_catalogue(cls, error: CatalogueError) -> SpecError:
        """The validator's error (its message already says where) as a user's."""
        spec_error = cls(error.code, error.message)
        spec_error.line = error.line
        return spec_error


@dataclass(frozen=True)
class SuitePlan:
    """What saving a curated suite's spec would change."""

    suite: str
    creates: bool
    suite_version_before: int | None
    suite_version_after: int
    tasks_created: tuple[str, ...] = ()
    tasks_changed: tuple[str, ...] = ()
    # task name -> (version before, after), for tasks whose version moves.
    task_versions: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def moves_suite_version(self) -> bool:
        return self.suite_version_before not in (None, self.suite_version_after)

    def as_data(self) -> dict:
        return {
            "suite": self.suite,
            "creates": self.creates,
            "suite_version_before": self.suite_version_before,
            "suite_version_after": self.suite_version_after,
            "tasks_created": list(self.tasks_created),
            "tasks_changed": list(self.tasks_changed),
            "task_versions": {k: list(v) for k, v in self.task_versions.items()},
        }


def _scored_fields(task: TaskSpec) -> dict[str, Any]:
    return {
        f.name: getattr(task, f.name)
        for f in fields(task)
        if f.name not in _UNSCORED_FIELDS
    }


def rule_fingerprint(spec: SuiteSpec) -> str:
    """What the suite score depends on besides task scores: rule, parameters and
    the tasks that count."""
    return json.dumps(
        [
            spec.score_rule,
            json.loads(json.dumps(spec.score_rule_options, default=dict)),
            [task.key for task in spec.scored_tasks],
        ],
        sort_keys=True,
    )


def _line(text: str | None, table: tuple[str, ...], key: str | None) -> int | None:
    return key_line(text, table, key) if text else None


def _check_tasks(
    old: SuiteSpec, new: SuiteSpec, text: str | None, source: str | None
) -> dict[str, tuple[int, int]]:
    """The versioning rules for tasks kept from ``old``; returns version moves."""
    kept = {task.key: task for task in new.tasks}
    for task in old.tasks:
        if task.key not in kept:
            raise SpecError(
                "curation.task_removed",
                f"Task {task.name} is missing from the new spec; tasks are never "
                "removed (results refer to them). Keep it, with in_suite_score = "
                "false if it should no longer count.",
                source=source,
            )
    moves = {}
    for task in old.tasks:
        new_task = kept[task.key]
        line = _line(text, ("tasks", task.key), "version")
        if new_task.version < task.version:
            raise SpecError(
                "curation.version_backwards",
                f"task {task.key!r} is at version {task.version}; "
                f"its version cannot go back to {new_task.version}.",
                source=source,
                line=line,
            )
        changed = [
            name
            for name, value in _scored_fields(new_task).items()
            if value != _scored_fields(task)[name]
        ]
        if changed and new_task.version == task.version:
            raise SpecError(
                "curation.version_not_bumped",
                f"task {task.key!r} changes {', '.join(changed)}, which "
                f"could move its scores, but keeps version {task.version}; set "
                f"version = {task.version + 1}.",
                source=source,
                line=line,
            )
        if new_task.version != task.version:
            moves[new_task.name] = (task.version, new_task.version)
    return moves


def _check_predict_with(spec: SuiteSpec, text: str | None, source: str | None) -> None:
    own = {task.name for task in spec.tasks}
    others = {t.name for t in registry.all_tasks() if t.suite != spec.name}
    for task in spec.tasks:
        if task.predict_with and task.predict_with not in own | others:
            hint = did_you_mean(task.predict_with, sorted(own | others))
            raise SpecError(
                "catalogue.unknown_task",
                f"task {task.key!r}: predict_with names unknown task "
                f"{task.predict_with!r}.{hint}",
                source=source,
                line=_line(text, ("tasks", task.key), "predict_with"),
            )


def curated_suite_plan(
    *, spec: SuiteSpec, text: str | None = None, source: str | None = None
) -> SuitePlan:
    """Check ``spec`` against the catalogue and the versioning rules (module
    docstring) and say what saving it would change; raises :class:`SpecError`
    naming ``source`` (the spec's file name) and the line in ``text``."""
    file_suites = {suite.name for suite in default_catalogue().suites}
    existing = Suite.objects.filter(slug=spec.name).first()
    if spec.name in file_suites or (existing is not None and not existing.is_curated):
        raise SpecError(
            "curation.suite_name_taken",
            f"Suite {spec.name!r} is declared by the catalogue files "
            "(tasks/catalogue/); choose another name.",
            source=source,
            line=_line(text, ("suite",), "name"),
        )
    _check_predict_with(spec, text, source)
    if existing is None:
        return SuitePlan(
            suite=spec.name,
            creates=True,
            suite_version_before=None,
            suite_version_after=1,
            tasks_created=tuple(t.name for t in spec.tasks),
        )
    old = suite_from_document(existing.document, source=source_label(existing.slug))
    moves = _check_tasks(old, spec, text, source)
    before = {task.key: task for task in old.tasks}
    moved = rule_fingerprint(old) != rule_fingerprint(spec)
    return SuitePlan(
        suite=spec.name,
        creates=False,
        suite_version_before=existing.version,
        suite_version_after=existing.version + (1 if moved else 0),
        tasks_created=tuple(t.name for t in spec.tasks if t.key not in before),
        tasks_changed=tuple(
            t.name for t in spec.tasks if t.key in before and t != before[t.key]
        ),
        task_versions=moves,
    )


def _apply_task_versions(suite: Suite, plan: SuitePlan) -> None:
    """A task whose spec moved to a new version keeps its current data, now under
    the new version (``publishing``), with baselines under the new spec."""
    for name, (_, after) in plan.task_versions.items():
        task = Task.objects.get(name=name)
        current = task.published_version()
        if current is not None:
            current.task_version = after
            current.save(update_fields=["task_version"])
        for version in DatasetVersion.objects.filter(task=task):
            dataset_version_refresh_baselines(version=version)


@transaction.atomic
def curated_suite_save(
    *, spec: SuiteSpec, document: dict, actor, source: str, text: str | None = None
) -> tuple[Suite, SuitePlan]:
    """Create or update a curated suite from a validated spec (a bundle's), with
    its rows, registry entry and audit events; returns the suite and the plan."""
    Suite.objects.select_for_update().filter(slug=spec.name).first()
    plan = curated_suite_plan(spec=spec, text=text, source=source)
    suite = Suite.objects.filter(slug=spec.name).first() or Suite(
        slug=spec.name, origin=Origin.CURATED
    )
    suite.version = plan.suite_version_after
    document_save(suite=suite, document=document)
    _apply_task_versions(suite, plan)
    verb = "Created" if plan.creates else "Updated"
    summary = (
        f"{verb} suite {spec.name} (version {plan.suite_version_after}) from {source}"
    )
    if plan.task_versions:
        summary += "; " + ", ".join(
            f"{name} version {a} -> {b}" for name, (a, b) in plan.task_versions.items()
        )
    audit_record(
        actor=actor,
        action="suite.create" if plan.creates else "suite.update",
        summary=summary,
        suite=suite,
        details={"plan": plan.as_data(), "source": source},
    )
    for name in plan.tasks_created + plan.tasks_changed:
        created = name in plan.tasks_created
        audit_record(
            actor=actor,
            action="task.create" if created else "task.update",
            summary=f"{'Created' if created else 'Changed'} task {name} "
            f"(version {registry.get_task(name).version}) from {source}",
            task=Task.objects.get(name=name),
            details={"source": source},
        )
    announce_suite_change(suite)
    return suite, plan


@dataclass(frozen=True)
class SuiteEdit:
    """What staff may change of a curated suite on its edit page."""

    title: str
    description: str
    score_rule: str
    score_rule_text: str
    counted: dict[str, bool]  # task key -> counts in the suite score
    order: list[str]  # task keys, in the order the suite shows them
    weights: dict[str, float]  # task key -> weight in the mean (1: plain)


def _edited_document(suite: Suite, edit: SuiteEdit) -> dict:
    """The suite's document with ``edit`` applied (names checked, not rules)."""
    document = json.loads(json.dumps(suite.document))
    tasks = document["tasks"]
    for name, keys in (("order", edit.order), ("counted", edit.counted)):
        unknown = sorted(set(keys) - set(tasks))
        if unknown or (name == "order" and sorted(keys) != sorted(tasks)):
            raise UserError(
                "suite.bad_edit",
                f"{name} must name the suite's tasks ({', '.join(tasks)}); "
                f"got {', '.join(keys) or 'none'}.",
            )
    document["suite"].update(
        title=edit.title.strip(),
        description=edit.description.strip(),
        score_rule=edit.score_rule,
        score_rule_text=edit.score_rule_text.strip(),
    )
    for key, counts in edit.counted.items():
        tasks[key]["in_suite_score"] = bool(counts)
    weights = {k: w for k, w in edit.weights.items() if w != 1}
    options = dict(document["suite"].get("score_rule_options", {}))
    options.pop("weights", None)
    if weights:
        options["weights"] = weights
    document["suite"].pop("score_rule_options", None)
    if options:
        document["suite"]["score_rule_options"] = options
    document["tasks"] = {key: tasks[key] for key in edit.order}
    return document


def suite_edit_plan(*, suite: Suite, edit: SuiteEdit) -> tuple[SuitePlan, dict]:
    """What ``edit`` would change (``(plan, new document)``); writes nothing."""
    if not suite.is_curated:
        raise UserError(
            "suite.not_curated",
            f"Suite {suite.slug} is declared by a file in tasks/catalogue/; change "
            "it there (and run sync_catalogue).",
        )
    document = _edited_document(suite, edit)
    try:
        spec = suite_from_document(document, source=source_label(suite.slug))
    except CatalogueError as error:
        raise SpecError.from_catalogue(error) from None
    old = suite_from_document(suite.document, source=source_label(suite.slug))
    moved = rule_fingerprint(old) != rule_fingerprint(spec)
    plan = SuitePlan(
        suite=suite.slug,
        creates=False,
        suite_version_before=suite.version,
        suite_version_after=suite.version + (1 if moved else 0),
        tasks_changed=tuple(
            t.name for t, o in zip(spec.tasks, old.tasks, strict=True) if t != o
        )
        if [t.key for t in spec.tasks] == [t.key for t in old.tasks]
        else tuple(t.name for t in spec.tasks),
    )
    return plan, document


@transaction.atomic
def curated_suite_edit(
    *, suite: Suite, edit: SuiteEdit, actor, details: dict | None = None
) -> SuitePlan:
    """Apply a staff edit to a curated suite: its version rises when suite scores
    could change; rows are recomputed; the audit trail keeps before and after
    (``details``: the impact the editor was shown)."""
    suite = Suite.objects.select_for_update().get(pk=suite.pk)
    plan, document = suite_edit_plan(suite=suite, edit=edit)
    before = suite.document
    suite.version = plan.suite_version_after
    document_save(suite=suite, document=document)
    summary = f"Edited suite {suite.slug}"
    if plan.moves_suite_version:
        summary += (
            f"; its score moves from version {plan.suite_version_before} to "
            f"{plan.suite_version_after}"
        )
    audit_record(
        actor=actor,
        action="suite.edit",
        summary=summary,
        suite=suite,
        details={
            "plan": plan.as_data(),
            "before": before["suite"] | {"order": list(before["tasks"])},
            "after": document["suite"] | {"order": list(document["tasks"])},
            **(details or {}),
        },
    )
    announce_suite_change(suite)
    return plan
