"""Publishing, withdrawing and deprecating dataset versions, and what that does to
a task's version.

A task's *current data* is its newest published dataset version: what new
evaluations use. A result's identity includes the task version (``Result.
task_version``), and a leaderboard cell counts results of the task's current
version only, so a version must never stand for two sets of data once anything
was evaluated on one of them. For a curated task (its spec kept on the site) the
rule is applied here, whenever the current data changes:

- the version's data is remembered (``DatasetVersion.task_version``), and a result
  is stored under the version of the data it ran on
  (``selectors.scored_task_version``): a job still running on data the task has
  moved on from is kept apart;
- when the current data becomes a different version than the one evaluated under
  the task's version, the task moves to a new version: results on the old data stop
  counting (the rows need re-runs), nothing is mixed. If nothing was evaluated yet,
  the version is kept.

A file catalogue task's version is its file's (``tasks/catalogue/*.toml``), which
the platform never edits: its data changes follow the file, and
:class:`PublishPlan` says so (``version_fixed_by_file``).

:func:`dataset_version_plan` says what an action would do without doing it, so the
impact shown before confirming and the change made after are the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from leaderboard.catalogue.audit import audit_record
from leaderboard.catalogue.documents import task_version_set
from leaderboard.catalogue.models import DatasetVersion, Task
from leaderboard.catalogue.signals import announce_suite_change
from tasks.errors import UserError

ACTIONS = ("publish", "withdraw", "deprecate")


@dataclass(frozen=True)
class PublishPlan:
    """What one action on one dataset version would change."""

    action: str
    version: DatasetVersion
    current_before: DatasetVersion | None
    current_after: DatasetVersion | None
    task_version_before: int
    task_version_after: int
    version_fixed_by_file: bool

    @property
    def moves_task_version(self) -> bool:
        return self.task_version_after != self.task_version_before

    @property
    def changes_current_data(self) -> bool:
        before = self.current_before.pk if self.current_before else None
        after = self.current_after.pk if self.current_after else None
        return before != after

    def as_data(self) -> dict:
        def sha(version: DatasetVersion | None) -> str | None:
            return version.sha256 if version else None

        return {
            "action": self.action,
            "dataset": self.version.sha256,
            "current_data_before": sha(self.current_before),
            "current_data_after": sha(self.current_after),
            "task_version_before": self.task_version_before,
            "task_version_after": self.task_version_after,
            "version_fixed_by_file": self.version_fixed_by_file,
        }


def _check_action(version: DatasetVersion, action: str) -> None:
    if action not in ACTIONS:
        raise UserError(
            "dataset.unknown_action",
            f"Unknown action {action!r}; one of {', '.join(ACTIONS)}.",
        )
    if action == "publish" and version.deprecated:
        raise UserError(
            "dataset.deprecated",
            f"Version {version.sha256[:12]} is deprecated and cannot be published "
            "again; upload the data again to make a new draft.",
        )


def _published_after(version: DatasetVersion, action: str) -> DatasetVersion | None:
    """The task's current data once ``action`` is done to ``version``."""
    published = {v.pk: v for v in version.task.dataset_versions.filter(published=True)}
    if action == "publish":
        published[version.pk] = version
    else:
        published.pop(version.pk, None)
    return max(published.values(), key=lambda v: (v.created_at, v.pk), default=None)


def _anchor_used(task: Task, current: DatasetVersion) -> bool:
    """Whether other data than ``current`` was evaluated under the task's version
    (the reverse relation to evaluations is read, not imported)."""
    return (
        DatasetVersion.objects.filter(task=task, task_version=task.version)
        .exclude(pk=current.pk)
        .filter(evaluations__isnull=False)
        .exists()
    )


def dataset_version_plan(*, version: DatasetVersion, action: str) -> PublishPlan:
    """What ``action`` ("publish", "withdraw", "deprecate") on ``version`` would
    change, following the rule of the module docstring; writes nothing."""
    _check_action(version, action)
    task = version.task
    after = _published_after(version, action)
    curated = task.suite.is_curated
    moves = (
        curated
        and after is not None
        and after.task_version != task.version
        and _anchor_used(task, after)
    )
    return PublishPlan(
        action=action,
        version=version,
        current_before=task.published_version(),
        current_after=after,
        task_version_before=task.version,
        task_version_after=task.version + 1 if moves else task.version,
        version_fixed_by_file=not curated,
    )


def _settle(plan: PublishPlan) -> None:
    """Make the plan's task version the current data's (curated tasks only)."""
    task, current = plan.version.task, plan.current_after
    if plan.version_fixed_by_file or current is None:
        return
    if plan.moves_task_version:
        task_version_set(task=task, version=plan.task_version_after)
    # Other data under this version that nothing was evaluated on is released.
    DatasetVersion.objects.filter(
        task=task, task_version=plan.task_version_after
    ).exclude(pk=current.pk).filter(evaluations__isnull=True).update(task_version=None)
    current.task_version = plan.task_version_after
    if current.baselines:
        current.baselines = {**current.baselines, "task_version": current.task_version}
    current.save(update_fields=["task_version", "baselines"])


_DONE = {"publish": "Published", "withdraw": "Withdrew", "deprecate": "Deprecated"}


def dataset_version_act(
    *, version: DatasetVersion, action: str, actor=None, details: dict | None = None
) -> PublishPlan:
    """Publish, withdraw or deprecate ``version`` and settle its task's version;
    one transaction, recorded in the audit trail (``details``: the impact the
    caller showed). Returns the plan that was carried out."""
    with transaction.atomic():
        Task.objects.select_for_update().filter(pk=version.task_id).first()
        version = DatasetVersion.objects.select_related("task__suite").get(
            pk=version.pk
        )
        plan = dataset_version_plan(version=version, action=action)
        version.published = action == "publish"
        version.deprecated = version.deprecated or action == "deprecate"
        if version.published and version.published_at is None:
            version.published_at = timezone.now()
        version.save(update_fields=["published", "deprecated", "published_at"])
        _settle(plan)
        summary = f"{_DONE[action]} data {version.sha256[:12]} of {version.task.name}"
        if plan.moves_task_version:
            summary += (
                f"; the task moves from version {plan.task_version_before} to "
                f"{plan.task_version_after}"
            )
        audit_record(
            actor=actor,
            action=f"dataset.{action}",
            summary=summary,
            version=version,
            details={"plan": plan.as_data(), **(details or {})},
        )
        announce_suite_change(version.task.suite)
    return plan
