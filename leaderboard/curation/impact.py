"""What a curation change does to scores, in figures and plain words, before it is
made: which leaderboards it touches, how many rows and results, what needs re-runs.

Each change has a plan from the catalogue that says what will happen
(``catalogue.publishing.dataset_version_plan``: the task's current data and
version after; ``catalogue.curated.SuitePlan``: task and suite versions after);
this module counts what that means on the boards, with the standings' own rules
(``standings.cells.counted_results``: a result counts at its task's current
version; ``standings.scope.leaderboard_tasks``: the tasks a board shows). The
same figures are shown on the confirm page, returned by the API and kept in the
audit event of the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from leaderboard.catalogue.curated import SuitePlan
from leaderboard.catalogue.models import DatasetVersion, Suite, Task
from leaderboard.catalogue.publishing import PublishPlan, dataset_version_plan
from leaderboard.standings.cells import counted_results
from leaderboard.standings.scope import leaderboard_tasks
from leaderboard.submissions.models import Evaluation, LeaderboardEntry, Result
from leaderboard.submissions.status import TERMINAL
from tasks import registry


@dataclass
class BoardImpact:
    """One leaderboard's share of a change."""

    suite: str
    title: str
    rows: int = 0  # rows on the board now
    rows_needing_reruns: int = 0  # rows whose cell stops counting
    rows_losing_score: int = 0  # rows whose suite score goes until re-run
    rows_rescored: int = 0  # rows whose suite score is recomputed

    def as_data(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Impact:
    """A change's effect on scores: figures and the sentences that explain them."""

    summary: str
    sentences: list[str] = field(default_factory=list)
    boards: list[BoardImpact] = field(default_factory=list)
    task: str | None = None
    task_version_before: int | None = None
    task_version_after: int | None = None
    suite_version_before: int | None = None
    suite_version_after: int | None = None
    results_stop_counting: int = 0
    submissions_needing_reruns: int = 0
    evaluations_in_flight: int = 0
    new_evaluations_use: str | None = None

    @property
    def changes_scores(self) -> bool:
        """Whether anything already on a board would change."""
        return bool(self.results_stop_counting) or any(
            b.rows_needing_reruns or b.rows_losing_score or b.rows_rescored
            for b in self.boards
        )

    def as_data(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "boards"}
        data["boards"] = [board.as_data() for board in self.boards]
        data["changes_scores"] = self.changes_scores
        return data


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _verb(n: int, one: str, many: str) -> str:
    """The verb agreeing with ``n`` ("1 row needs", "2 rows need")."""
    return one if n == 1 else many


def _current_results(task: Task) -> QuerySet[Result]:
    return counted_results(Result.objects.filter(evaluation__task=task), track=None)


def _evaluable_after(task: Task, current: DatasetVersion | None) -> bool:
    """Whether the task is on its board once ``current`` is its current data."""
    if not task.in_suite_score or current is None:
        return False
    spec = registry.get_task(task.name)
    return spec.train_split is None or spec.train_split in current.files


def _board(suite: Suite) -> tuple[BoardImpact, QuerySet[LeaderboardEntry]]:
    entries = LeaderboardEntry.objects.filter(suite=suite)
    return BoardImpact(suite.slug, suite.title, rows=entries.count()), entries


def dataset_action_impact(*, version: DatasetVersion, action: str) -> Impact:
    """The impact of publishing, withdrawing or deprecating ``version``."""
    plan = dataset_version_plan(version=version, action=action)
    task = version.task
    board, entries = _board(task.suite)
    impact = Impact(
        summary=f"{action.capitalize()} {task.name} data {version.sha256[:12]}",
        boards=[board],
        task=task.name,
        task_version_before=plan.task_version_before,
        task_version_after=plan.task_version_after,
        new_evaluations_use=plan.current_after.sha256 if plan.current_after else None,
    )
    _data_sentences(impact, plan)
    _version_move(impact, plan, board, entries)
    _board_membership(impact, plan, board, entries)
    in_flight = Evaluation.objects.filter(task=task).exclude(status__in=TERMINAL)
    impact.evaluations_in_flight = in_flight.count()
    if impact.evaluations_in_flight and plan.changes_current_data:
        impact.sentences.append(
            f"{_plural(impact.evaluations_in_flight, 'evaluation')} of {task.name} "
            "still queued or running finish on the data they started with, under "
            f"version {plan.task_version_before}."
        )
    predicted = [t.name for t in registry.all_tasks() if t.predict_with == task.name]
    if predicted and plan.changes_current_data:
        impact.sentences.append(
            f"Evaluation-only tasks predicted with its model: {', '.join(predicted)}."
        )
    return impact


def _data_sentences(impact: Impact, plan: PublishPlan) -> None:
    task = plan.version.task
    if not plan.changes_current_data:
        impact.sentences.append(
            f"New evaluations of {task.name} keep using the same data "
            f"({plan.current_before.sha256[:12] if plan.current_before else 'none'})."
        )
    elif plan.current_after is None:
        impact.sentences.append(
            f"{task.name} will have no published data: it takes no new submissions."
        )
    else:
        impact.sentences.append(
            f"New evaluations of {task.name} will use data "
            f"{plan.current_after.sha256[:12]}."
        )


def _version_move(
    impact: Impact,
    plan: PublishPlan,
    board: BoardImpact,
    entries: QuerySet[LeaderboardEntry],
) -> None:
    task = plan.version.task
    results = _current_results(task)
    if plan.moves_task_version:
        impact.results_stop_counting = results.count()
        impact.submissions_needing_reruns = (
            results.values("evaluation__submission").distinct().count()
        )
        with_cell = entries.filter(cells__has_key=task.name)
        board.rows_needing_reruns = with_cell.count()
        board.rows_losing_score = with_cell.filter(score__isnull=False).count()
        n = impact.results_stop_counting
        stop = f"{_plural(n, 'result')} on the earlier data {_verb(n, 'stops', 'stop')}"
        impact.sentences.append(
            f"{task.name} moves from version {plan.task_version_before} to "
            f"{plan.task_version_after}: {stop} counting; "
            f"{_plural(board.rows_needing_reruns, 'row')} of the {board.title} board "
            f"{_verb(board.rows_needing_reruns, 'needs', 'need')} re-runs "
            f"({board.rows_losing_score} "
            f"{_verb(board.rows_losing_score, 'loses its', 'lose their')} suite score "
            "until then)."
        )
    elif plan.version_fixed_by_file and plan.changes_current_data:
        count = results.count()
        impact.sentences.append(
            f"{task.name} keeps version {task.version}: a catalogue file's task "
            f"changes version only in its file (tasks/catalogue/{task.suite.slug}"
            f".toml), so {_plural(count, 'result')} on earlier data keep counting "
            "beside new ones."
        )
    elif plan.changes_current_data and plan.current_after is not None:
        impact.sentences.append(
            f"{task.name} stays at version {task.version}: nothing was evaluated on "
            "its earlier data at this version."
        )


def _board_membership(
    impact: Impact,
    plan: PublishPlan,
    board: BoardImpact,
    entries: QuerySet[LeaderboardEntry],
) -> None:
    """A task joining or leaving its board changes every row's suite score."""
    task = plan.version.task
    before = task in leaderboard_tasks(task.suite)
    after = _evaluable_after(task, plan.current_after)
    if after and not before:
        lacking = entries.filter(score__isnull=False).exclude(cells__has_key=task.name)
        board.rows_losing_score += lacking.count()
        impact.sentences.append(
            f"{task.name} joins the {board.title} leaderboard: "
            f"{_plural(lacking.count(), 'row')} with a suite score but no result on "
            f"it {_verb(lacking.count(), 'loses its', 'lose their')} suite score "
            "until evaluated on it."
        )
    elif before and not after:
        board.rows_rescored = entries.filter(score__isnull=False).count()
        impact.sentences.append(
            f"{task.name} leaves the {board.title} leaderboard: suite scores of "
            f"{_plural(board.rows_rescored, 'row')} are recomputed over the remaining "
            "tasks, and labelled partial."
        )
    elif not after:
        impact.sentences.append(
            f"{task.name} is not on the {board.title} leaderboard before or after "
            "(no published data with its training split, or it does not count)."
        )


def suite_plan_impact(plan: SuitePlan) -> Impact:
    """The impact of saving a curated suite's new spec (a bundle, or an edit)."""
    impact = Impact(
        summary=f"{'Create' if plan.creates else 'Update'} suite {plan.suite}",
        suite_version_before=plan.suite_version_before,
        suite_version_after=plan.suite_version_after,
    )
    suite = Suite.objects.filter(slug=plan.suite).first()
    if plan.creates or suite is None:
        impact.sentences.append(
            f"A new suite {plan.suite} with {_plural(len(plan.tasks_created), 'task')}"
            "; its data starts as drafts to preview and publish."
        )
        return impact
    board, entries = _board(suite)
    impact.boards.append(board)
    for name, (before, after) in plan.task_versions.items():
        task = Task.objects.get(name=name)
        results = _current_results(task)
        stop = results.count()
        impact.results_stop_counting += stop
        impact.submissions_needing_reruns += (
            results.values("evaluation__submission").distinct().count()
        )
        rows = entries.filter(cells__has_key=name)
        board.rows_needing_reruns += rows.count()
        board.rows_losing_score += rows.filter(score__isnull=False).count()
        impact.sentences.append(
            f"{name} moves from version {before} to {after}: "
            f"{_plural(stop, 'result')} {_verb(stop, 'stops', 'stop')} counting; "
            f"{_plural(rows.count(), 'row')} "
            f"{_verb(rows.count(), 'needs', 'need')} re-runs."
        )
    if plan.moves_suite_version:
        board.rows_rescored = entries.filter(score__isnull=False).count()
        impact.sentences.append(
            f"The {board.title} score moves from version {plan.suite_version_before} "
            f"to {plan.suite_version_after} (tasks counted or score rule changed): "
            f"suite scores of {_plural(board.rows_rescored, 'row')} are recomputed."
        )
    if plan.tasks_created:
        impact.sentences.append(
            f"New tasks: {', '.join(plan.tasks_created)} (their data starts as drafts)."
        )
    if not impact.changes_scores and not plan.tasks_created:
        impact.sentences.append("No score on the board changes.")
    return impact
