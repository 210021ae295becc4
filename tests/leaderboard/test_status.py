"""The evaluation status machine and the submission status derived from it."""

import pytest

from leaderboard.submissions.status import (
    TRANSITIONS,
    Status,
    can_move,
    submission_status_from,
)


@pytest.mark.parametrize("terminal", [Status.FINISHED, Status.FAILED, Status.CANCELLED])
def test_a_terminal_status_never_moves(terminal):
    assert all(not can_move(terminal, target) for target in Status.values)


def test_status_never_goes_backwards_to_queued():
    assert all(not can_move(current, Status.QUEUED) for current in TRANSITIONS)


def test_a_redelivered_running_job_may_claim_again():
    assert can_move(Status.RUNNING, Status.RUNNING)


def test_scoring_only_after_running():
    assert not can_move(Status.QUEUED, Status.SCORING)
    assert can_move(Status.RUNNING, Status.SCORING)
    assert not can_move(Status.QUEUED, Status.FINISHED)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "queued"),
        (["queued", "queued"], "queued"),
        (["queued", "running"], "running"),
        (["finished", "scoring"], "running"),
        (["finished", "failed"], "finished"),
        (["failed", "failed"], "failed"),
        (["cancelled", "cancelled"], "cancelled"),
        (["cancelled", "failed"], "failed"),
    ],
)
def test_submission_status_is_derived_from_evaluations(statuses, expected):
    assert submission_status_from(statuses) == expected
