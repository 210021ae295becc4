"""Which tasks a suite's leaderboard shows, and how much of the suite that covers.

A deployment ranks on the scored tasks it can evaluate (:func:`leaderboard_tasks`);
when those are fewer than the suite's scored tasks (``SuiteSpec.scored_tasks``),
every suite score on it is *partial*, and :func:`suite_coverage` says so in words
("GLUE score over 6 of 9 tasks; MNLI, QNLI, QQP have no training data here").
"""

from dataclasses import dataclass

from leaderboard.catalogue.models import Suite, Task
from leaderboard.submissions.tracks import method_runs, track_runs
from tasks import registry


def leaderboard_tasks(suite: Suite, track: str = "full") -> list[Task]:
    """The tasks a suite's leaderboard shows, in the suite's order (a curated
    suite's; file suites by key): scored tasks a submission can be evaluated on
    here, i.e. whose published data holds what an evaluation needs (the training
    split, or for an evaluation-only task its model's task's), and that the
    ``track`` (fine-tuning method) runs (``mlm``: tasks with a prompt)."""
    candidates = list(
        suite.tasks.filter(in_suite_score=True, dataset_versions__published=True)
        .distinct()
        .order_by("position", "key")
    )
    return [task for task in candidates if _evaluable(task) and track_runs(track, task)]


def _evaluable(task: Task) -> bool:
    spec = registry.get_task(task.name)
    if spec.train_split is None:
        if not spec.predict_with:
            return True
        trainer = Task.objects.filter(name=spec.predict_with).first()
        return trainer is not None and _evaluable(trainer)
    version = task.published_version()
    return version is not None and spec.train_split in version.files


@dataclass(frozen=True)
class Coverage:
    """The suite's scored tasks a score here is over, and those it leaves out."""

    suite_title: str
    counted: tuple[str, ...]  # task names, in the board's order
    missing: tuple[str, ...]  # titles of the scored tasks not evaluable here
    # Titles of the scored tasks the track cannot run (mlm: no prompt), and its name.
    off_track: tuple[str, ...] = ()
    track: str = "full"

    @property
    def tasks_counted(self) -> int:
        return len(self.counted)

    @property
    def tasks_in_suite(self) -> int:
        return len(self.counted) + len(self.missing) + len(self.off_track)

    @property
    def partial(self) -> bool:
        """Whether a suite score here is over fewer tasks than the suite has."""
        return bool(self.counted) and bool(self.missing or self.off_track)

    @property
    def text(self) -> str:
        """One plain sentence, shown wherever the suite score is."""
        name = f"{self.suite_title} score"
        if not self.counted:
            return f"No {self.suite_title} task can be evaluated here yet"
        if not self.partial:
            return f"{name} over all {self.tasks_in_suite} tasks"
        reasons = []
        if self.missing:
            verb = "has" if len(self.missing) == 1 else "have"
            reasons.append(f"{', '.join(self.missing)} {verb} no training data here")
        if self.off_track:
            verb = "has" if len(self.off_track) == 1 else "have"
            reasons.append(
                f"{', '.join(self.off_track)} {verb} no prompt for the "
                f"{self.track} track"
            )
        return (
            f"{name} over {self.tasks_counted} of {self.tasks_in_suite} tasks; "
            + "; ".join(reasons)
        )

    def as_data(self) -> dict:
        return {
            "tasks_counted": self.tasks_counted,
            "tasks_in_suite": self.tasks_in_suite,
            "partial": self.partial,
            "missing": list(self.missing),
            "off_track": list(self.off_track),
            "text": self.text,
        }


def suite_coverage(
    suite: Suite, tasks: list[Task] | None = None, track: str = "full"
) -> Coverage:
    """How much of ``suite`` its board's scores on ``track`` cover (``tasks``: the
    suite's :func:`leaderboard_tasks` for that track, when the caller has them)."""
    tasks = leaderboard_tasks(suite, track) if tasks is None else tasks
    counted = {task.name for task in tasks}
    spec = registry.get_suite(suite.slug)
    left = [t for t in spec.scored_tasks if t.name not in counted]
    return Coverage(
        suite_title=spec.title,
        counted=tuple(task.name for task in tasks),
        missing=tuple(sorted(t.title for t in left if method_runs(track, t))),
        off_track=tuple(sorted(t.title for t in left if not method_runs(track, t))),
        track=track,
    )
