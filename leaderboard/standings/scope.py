"""Which tasks a suite's leaderboard shows."""

from leaderboard.catalogue.models import Suite, Task
from tasks import registry


def leaderboard_tasks(suite: Suite) -> list[Task]:
    """The tasks a suite's leaderboard shows: scored tasks a submission can be
    evaluated on here, i.e. whose published data holds what an evaluation needs
    (the training split, or for an evaluation-only task its model's task's)."""
    candidates = list(
        suite.tasks.filter(in_suite_score=True, dataset_versions__published=True)
        .distinct()
        .order_by("key")
    )
    return [task for task in candidates if _evaluable(task)]


def _evaluable(task: Task) -> bool:
    spec = registry.get_task(task.name)
    if spec.train_split is None:
        if not spec.predict_with:
            return True
        trainer = Task.objects.filter(name=spec.predict_with).first()
        return trainer is not None and _evaluable(trainer)
    version = task.published_version()
    return version is not None and spec.train_split in version.files
