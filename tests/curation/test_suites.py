"""Staff edit a curated suite: words freely, what counts only with a new suite
version, shown first; the file catalogue's suites are edited in their files."""

import pytest

from leaderboard.catalogue.curated import SuiteEdit
from leaderboard.catalogue.models import AuditEvent, Suite
from leaderboard.curation.actions import dataset_version_curate, suite_curate_edit
from leaderboard.standings.scope import leaderboard_tasks
from leaderboard.submissions.models import LeaderboardEntry
from tasks import registry
from tasks.errors import UserError
from tests.bundles import SECOND_TASK, SPEC, suite_bundle
from tests.factories import finish_evaluation, make_submission, model_variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_tasks(staff, upload, tmp_path):
    """MovieBench with two tasks, both published."""
    upload(staff, suite_bundle(tmp_path, SPEC + SECOND_TASK))
    suite = Suite.objects.get(slug="moviebench")
    for task in suite.tasks.all():
        dataset_version_curate(
            version=task.dataset_versions.get(),
            action="publish",
            actor=staff,
            confirm=True,
        )
    suite.refresh_from_db()
    return suite


def edit_of(suite: Suite, **changes) -> SuiteEdit:
    document = suite.document
    values = {
        "title": document["suite"]["title"],
        "description": document["suite"]["description"],
        "score_rule": document["suite"]["score_rule"],
        "score_rule_text": document["suite"]["score_rule_text"],
        "counted": {k: t["in_suite_score"] for k, t in document["tasks"].items()},
        "order": list(document["tasks"]),
        "weights": {},
    }
    values.update(changes)
    return SuiteEdit(**values)


def test_words_change_without_a_new_suite_version(staff, two_tasks):
    edit = edit_of(two_tasks, title="MovieBench 2", description="Reviews.")
    outcome = suite_curate_edit(suite=two_tasks, edit=edit, actor=staff, confirm=True)
    assert outcome.applied
    two_tasks.refresh_from_db()
    assert two_tasks.title == "MovieBench 2" and two_tasks.version == 1
    assert registry.get_suite("moviebench").title == "MovieBench 2"
    event = AuditEvent.objects.get(action="suite.edit")
    assert event.details["before"]["title"] == "MovieBench"
    assert event.details["after"]["title"] == "MovieBench 2"


def test_what_counts_and_weights_move_the_suite_version_after_a_preview(
    staff, researcher, two_tasks, tiny_model_zip, no_enqueue
):
    submission = make_submission(
        researcher,
        model_variant(tiny_model_zip, "w"),
        tasks=("moviebench/sentiment", "moviebench/polarity"),
    )
    for evaluation in submission.evaluations.all():
        score = 0.9 if evaluation.task.key == "sentiment" else 0.6
        finish_evaluation(evaluation, score)
    entry = LeaderboardEntry.objects.get(submission=submission)
    assert entry.score == pytest.approx(0.75)

    edit = edit_of(two_tasks, weights={"sentiment": 2.0})
    preview = suite_curate_edit(suite=two_tasks, edit=edit, actor=staff, confirm=False)
    assert not preview.applied
    assert (
        preview.impact.suite_version_before,
        preview.impact.suite_version_after,
    ) == (
        1,
        2,
    )
    assert preview.impact.boards[0].rows_rescored == 1
    two_tasks.refresh_from_db()
    assert two_tasks.version == 1  # nothing changed yet

    suite_curate_edit(suite=two_tasks, edit=edit, actor=staff, confirm=True)
    two_tasks.refresh_from_db()
    assert two_tasks.version == 2
    entry.refresh_from_db()
    assert entry.score == pytest.approx((1.8 + 0.6) / 3)

    edit = edit_of(two_tasks, counted={"sentiment": True, "polarity": False})
    suite_curate_edit(suite=two_tasks, edit=edit, actor=staff, confirm=True)
    two_tasks.refresh_from_db()
    assert two_tasks.version == 3
    entry.refresh_from_db()
    assert entry.score == pytest.approx(0.9)
    assert [t.key for t in leaderboard_tasks(two_tasks)] == ["sentiment"]


def test_order_is_the_board_s_order(staff, two_tasks):
    edit = edit_of(two_tasks, order=["polarity", "sentiment"])
    suite_curate_edit(suite=two_tasks, edit=edit, actor=staff, confirm=True)
    two_tasks.refresh_from_db()
    assert two_tasks.version == 1
    assert [t.key for t in leaderboard_tasks(two_tasks)] == ["polarity", "sentiment"]
    assert [t.key for t in registry.get_suite("moviebench").tasks] == [
        "polarity",
        "sentiment",
    ]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"weights": {"sentiment": -1.0}}, "catalogue.invalid_weight"),
        ({"order": ["sentiment"]}, "suite.bad_edit"),
        ({"counted": {"nope": True}}, "suite.bad_edit"),
        ({"score_rule": "median"}, "catalogue.unknown_score_rule"),
        ({"title": ""}, None),
    ],
)
def test_a_bad_edit_is_refused_and_changes_nothing(staff, two_tasks, changes, code):
    edit = edit_of(two_tasks, **changes)
    if code is None:  # an empty title is allowed by the spec rules
        suite_curate_edit(suite=two_tasks, edit=edit, actor=staff, confirm=False)
        return
    with pytest.raises(UserError) as caught:
        suite_curate_edit(suite=two_tasks, edit=edit, actor=staff, confirm=True)
    assert caught.value.code == code
    two_tasks.refresh_from_db()
    assert (
        two_tasks.version == 1
        and not AuditEvent.objects.filter(action="suite.edit").exists()
    )


def test_a_catalogue_file_suite_is_edited_in_its_file(staff, sst2_imported):
    glue = Suite.objects.get(slug="glue")
    edit = SuiteEdit(
        title="x",
        description="",
        score_rule="mean_of_task_means",
        score_rule_text="",
        counted={},
        order=[],
        weights={},
    )
    with pytest.raises(UserError) as caught:
        suite_curate_edit(suite=glue, edit=edit, actor=staff, confirm=False)
    assert caught.value.code == "suite.not_curated"


def test_only_staff_may_edit(researcher, two_tasks):
    with pytest.raises(UserError) as caught:
        suite_curate_edit(
            suite=two_tasks, edit=edit_of(two_tasks), actor=researcher, confirm=False
        )
    assert caught.value.code == "auth.forbidden"


@pytest.fixture
def sst2_imported(sst2_folder):
    from django.core.management import call_command

    call_command("import_task", "glue/sst2", str(sst2_folder))
