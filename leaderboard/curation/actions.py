"""Curation actions that change scores, each shown before it is done.

Publishing, withdrawing and deprecating a dataset version, and editing a curated
suite, are two-step: without ``confirm`` the service only answers what the change
would do (``impact``); with it, the catalogue's service makes the change, and the
impact that was computed goes into the audit event beside it. Pages, the API and
the admin all call these.
"""

from __future__ import annotations

from dataclasses import dataclass

from leaderboard.catalogue.curated import SuiteEdit, curated_suite_edit, suite_edit_plan
from leaderboard.catalogue.models import DatasetVersion, Suite
from leaderboard.catalogue.publishing import dataset_version_act
from leaderboard.curation.impact import (
    Impact,
    dataset_action_impact,
    suite_plan_impact,
)
from leaderboard.curation.permissions import require_staff


@dataclass(frozen=True)
class Outcome:
    """What a curation action would do (``applied`` False) or did (True)."""

    applied: bool
    impact: Impact
    details: dict

    def as_data(self) -> dict:
        return {
            "applied": self.applied,
            "impact": self.impact.as_data(),
            **self.details,
        }


def dataset_version_curate(
    *, version: DatasetVersion, action: str, actor, confirm: bool
) -> Outcome:
    """Publish, withdraw or deprecate ``version``: its impact, then (with
    ``confirm``) the change. Staff only."""
    require_staff(actor, action=f"{action} dataset versions")
    impact = dataset_action_impact(version=version, action=action)
    if not confirm:
        return Outcome(applied=False, impact=impact, details={})
    plan = dataset_version_act(
        version=version,
        action=action,
        actor=actor,
        details={"impact": impact.as_data()},
    )
    return Outcome(applied=True, impact=impact, details={"plan": plan.as_data()})


def suite_curate_edit(
    *, suite: Suite, edit: SuiteEdit, actor, confirm: bool
) -> Outcome:
    """Edit a curated suite: its impact, then (with ``confirm``) the change."""
    require_staff(actor, action="edit suites")
    plan, _ = suite_edit_plan(suite=suite, edit=edit)
    impact = suite_plan_impact(plan)
    if not confirm:
        return Outcome(applied=False, impact=impact, details={"plan": plan.as_data()})
    plan = curated_suite_edit(
        suite=suite, edit=edit, actor=actor, details={"impact": impact.as_data()}
    )
    return Outcome(applied=True, impact=impact, details={"plan": plan.as_data()})
