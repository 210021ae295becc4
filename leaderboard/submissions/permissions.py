"""Who may manage a submission: its owner and staff. Decided here, once.

Seeing a submission is ``selectors.visible_submissions``' rule; changing one
(cancel, re-run, visibility) is this module's, used by the services that change
state and by the pages that decide whether to show the buttons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.errors import UserError

if TYPE_CHECKING:
    from leaderboard.submissions.models import Submission


def can_manage(user, submission: Submission) -> bool:
    """Whether ``user`` (possibly anonymous) may cancel, re-run or publish it."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_staff) or submission.owner_id == user.pk


def require_manager(user, submission: Submission, *, action: str) -> None:
    """Raise ``auth.forbidden`` ("Only the owner or an admin may <action>.") unless
    ``user`` may manage ``submission``."""
    if not can_manage(user, submission):
        raise UserError("auth.forbidden", f"Only the owner or an admin may {action}.")
