"""Reads of submissions and their evaluations, with visibility rules applied.

Who may see what is decided here once: public submissions are visible to everyone,
private ones to their owner and staff. Pages, the API and the leaderboard
(``leaderboard.standings``, which reads its rows through ``visible_submissions``)
all read through this module.
"""

from django.db.models import Count, Max, Q, QuerySet

from leaderboard.submissions.models import Evaluation, Result, Submission, Visibility
from tasks.errors import UserError


def visible_submissions(user) -> QuerySet[Submission]:
    """Submissions ``user`` may see (anonymous users see public ones only)."""
    qs = Submission.objects.select_related("owner", "archive")
    if user is not None and user.is_authenticated:
        if user.is_staff:
            return qs
        return qs.filter(Q(visibility=Visibility.PUBLIC) | Q(owner=user))
    return qs.filter(visibility=Visibility.PUBLIC)


def submission_get(*, submission_id: int, user) -> Submission:
    """One submission, or a not-found error that does not reveal private ones."""
    submission = visible_submissions(user).filter(pk=submission_id).first()
    if submission is None:
        raise UserError(
            "submission.not_found", f"There is no submission #{submission_id}."
        )
    return submission


def submission_evaluations(submission: Submission) -> list[Evaluation]:
    return list(
        submission.evaluations.select_related(
            "task", "dataset_version", "result"
        ).order_by("task__name", "seed", "pk")
    )


def recent_submissions(user, limit: int = 10) -> list[Submission]:
    return list(visible_submissions(user).order_by("-created_at")[:limit])


def _rerun_pair(evaluation: Evaluation) -> tuple[Result, Result] | None:
    """(the re-run's result, the original's), when both exist."""
    if evaluation.rerun_of_id is None:
        return None
    mine = getattr(evaluation, "result", None)
    theirs = Result.objects.filter(evaluation_id=evaluation.rerun_of_id).first()
    if mine is None or theirs is None:
        return None
    return mine, theirs


def evaluation_drift(evaluation: Evaluation) -> dict[str, float] | None:
    """For a re-run: its scores minus those of the run it reproduces, per metric.

    Only like with like: when the two runs computed in different numerics profiles
    their difference is the profiles', not drift, so there is none
    (:func:`evaluation_drift_note` says why).
    """
    pair = _rerun_pair(evaluation)
    if pair is None:
        return None
    mine, theirs = pair
    if mine.numerics != theirs.numerics:
        return None
    return {
        key: mine.scores[key] - theirs.scores[key]
        for key in mine.scores
        if key in theirs.scores
    }


def evaluation_drift_note(evaluation: Evaluation) -> str | None:
    """Why a finished re-run shows no drift, in plain words; None when it does."""
    pair = _rerun_pair(evaluation)
    if pair is None or pair[0].numerics == pair[1].numerics:
        return None
    mine, theirs = pair
    return (
        f"Not compared: this re-run computed in {mine.numerics or 'an unknown profile'}"
        f" and the original in {theirs.numerics or 'an unknown profile'}; their "
        "difference would measure the numerics, not drift."
    )


def submissions_stamp() -> str:
    """Changes whenever a submission is added or changes (the home page's list)."""
    state = Submission.objects.aggregate(latest=Max("updated_at"), rows=Count("id"))
    latest = state["latest"].timestamp() if state["latest"] else 0
    return f"{latest}:{state['rows']}"
