"""Publishing a draft shows its impact first; new data after results moves a
curated task to a new version, so old and new data are never averaged together."""

import pytest
from django.core.management import call_command

from leaderboard.catalogue.models import AuditEvent, DatasetVersion, Suite, Task
from leaderboard.curation.actions import dataset_version_curate
from leaderboard.submissions.models import LeaderboardEntry, Result
from tasks import registry
from tasks.errors import UserError
from tests.bundles import data_bundle, suite_bundle
from tests.factories import (
    finish_all,
    finish_evaluation,
    make_submission,
    model_variant,
)

pytestmark = pytest.mark.django_db

TASK = "moviebench/sentiment"


@pytest.fixture
def moviebench(staff, upload, tmp_path):
    """The MovieBench suite with its first data, still a draft."""
    upload(staff, suite_bundle(tmp_path / "v1"))
    return Task.objects.get(name=TASK).dataset_versions.get()


def act(version, action, user, *, confirm=True):
    version.refresh_from_db()
    return dataset_version_curate(
        version=version, action=action, actor=user, confirm=confirm
    )


def second_version(staff, upload, tmp_path, flip=3) -> DatasetVersion:
    bundle = upload(
        staff, data_bundle(tmp_path / f"v{flip}", flip=flip), task_name=TASK
    )
    return DatasetVersion.objects.get(sha256=bundle.result["versions"][0]["sha256"])


def ranked(tiny_model_zip, owner, tag="a", score=0.8):
    submission = make_submission(
        owner, model_variant(tiny_model_zip, tag), name=f"model-{tag}", tasks=(TASK,)
    )
    finish_all(submission, score)
    return submission


def test_the_first_publish_keeps_version_1_and_joins_the_board(staff, moviebench):
    preview = act(moviebench, "publish", staff, confirm=False)
    assert not preview.applied
    impact = preview.impact
    assert (impact.task_version_before, impact.task_version_after) == (1, 1)
    assert impact.new_evaluations_use == moviebench.sha256
    assert any("joins the MovieBench leaderboard" in s for s in impact.sentences)
    moviebench.refresh_from_db()
    assert moviebench.state == "draft"  # nothing changed without confirm
    done = act(moviebench, "publish", staff)
    assert done.applied
    moviebench.refresh_from_db()
    assert moviebench.state == "published" and moviebench.task_version == 1
    event = AuditEvent.objects.get(action="dataset.publish")
    assert event.actor_name == "curator" and event.task_name == TASK
    assert event.details["impact"]["task_version_after"] == 1


def test_new_data_after_results_moves_the_task_version(
    staff, researcher, moviebench, upload, tmp_path, tiny_model_zip, no_enqueue
):
    act(moviebench, "publish", staff)
    first = ranked(tiny_model_zip, researcher)
    entry = LeaderboardEntry.objects.get(submission=first)
    assert entry.score == pytest.approx(0.8) and TASK in entry.cells
    draft = second_version(staff, upload, tmp_path)

    impact = act(draft, "publish", staff, confirm=False).impact
    assert (impact.task_version_before, impact.task_version_after) == (1, 2)
    assert impact.results_stop_counting == 1
    assert impact.submissions_needing_reruns == 1
    board = impact.boards[0]
    assert (board.suite, board.rows, board.rows_needing_reruns) == ("moviebench", 1, 1)
    assert board.rows_losing_score == 1
    assert impact.changes_scores

    act(draft, "publish", staff)
    assert registry.get_task(TASK).version == 2
    assert Task.objects.get(name=TASK).version == 2
    assert (
        Suite.objects.get(slug="moviebench").document["tasks"]["sentiment"]["version"]
        == 2
    )
    entry = LeaderboardEntry.objects.filter(submission=first).first()
    assert entry is None or TASK not in entry.cells  # needs a re-run
    assert Result.objects.get(evaluation__submission=first).task_version == 1

    second = ranked(tiny_model_zip, researcher, tag="b", score=0.7)
    evaluation = second.evaluations.get()
    assert evaluation.dataset_version == draft
    assert Result.objects.get(evaluation=evaluation).task_version == 2
    assert LeaderboardEntry.objects.get(submission=second).cells[TASK]["mean"] == 0.7


def test_a_job_on_the_old_data_finishing_later_is_kept_apart(
    staff, researcher, moviebench, upload, tmp_path, tiny_model_zip, no_enqueue
):
    act(moviebench, "publish", staff)
    queued = make_submission(
        researcher, model_variant(tiny_model_zip, "q"), name="slow", tasks=(TASK,)
    )
    draft = second_version(staff, upload, tmp_path)
    impact = act(draft, "publish", staff).impact
    assert impact.evaluations_in_flight == 1
    assert impact.task_version_after == 2
    finish_evaluation(queued.evaluations.get(), 0.9)
    assert Result.objects.get(evaluation__submission=queued).task_version == 1
    entry = LeaderboardEntry.objects.filter(submission=queued).first()
    assert entry is None or TASK not in entry.cells


def test_without_any_evaluation_new_data_keeps_the_version(
    staff, moviebench, upload, tmp_path
):
    act(moviebench, "publish", staff)
    draft = second_version(staff, upload, tmp_path)
    impact = act(draft, "publish", staff).impact
    assert impact.task_version_after == 1
    assert any("nothing was evaluated" in s for s in impact.sentences)
    draft.refresh_from_db()
    moviebench.refresh_from_db()
    assert draft.task_version == 1 and moviebench.task_version is None


def test_withdrawing_back_to_older_data_is_a_new_version_too(
    staff, researcher, moviebench, upload, tmp_path, tiny_model_zip, no_enqueue
):
    act(moviebench, "publish", staff)
    ranked(tiny_model_zip, researcher)
    draft = second_version(staff, upload, tmp_path)
    act(draft, "publish", staff)  # version 2
    ranked(tiny_model_zip, researcher, tag="b")
    impact = act(draft, "withdraw", staff).impact
    assert impact.new_evaluations_use == moviebench.sha256
    assert (impact.task_version_before, impact.task_version_after) == (2, 3)
    moviebench.refresh_from_db()
    assert moviebench.task_version == 3 and registry.get_task(TASK).version == 3


def test_withdrawing_the_only_data_takes_the_task_off_the_board(
    staff, researcher, moviebench, tiny_model_zip, no_enqueue
):
    act(moviebench, "publish", staff)
    ranked(tiny_model_zip, researcher)
    impact = act(moviebench, "withdraw", staff, confirm=False).impact
    assert impact.new_evaluations_use is None
    assert impact.boards[0].rows_rescored == 1
    assert any("leaves the MovieBench leaderboard" in s for s in impact.sentences)
    assert any("takes no new submissions" in s for s in impact.sentences)


def test_a_deprecated_version_is_not_published_again(staff, moviebench):
    act(moviebench, "publish", staff)
    act(moviebench, "deprecate", staff)
    moviebench.refresh_from_db()
    assert moviebench.state == "deprecated"
    with pytest.raises(UserError) as caught:
        act(moviebench, "publish", staff, confirm=False)
    assert caught.value.code == "dataset.deprecated"


def test_a_catalogue_file_task_keeps_its_file_s_version(
    staff, researcher, upload, tmp_path, sst2_folder, tiny_model_zip, no_enqueue
):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    submission = make_submission(researcher, model_variant(tiny_model_zip, "g"))
    finish_all(submission, 0.8)
    bundle = upload(
        staff, data_bundle(tmp_path, name="SST-2", flip=2), task_name="glue/sst2"
    )
    draft = DatasetVersion.objects.get(sha256=bundle.result["versions"][0]["sha256"])
    impact = act(draft, "publish", staff).impact
    assert impact.task_version_after == impact.task_version_before == 1
    assert any("tasks/catalogue/glue.toml" in s for s in impact.sentences)
    assert Task.objects.get(name="glue/sst2").version == 1


def test_only_staff_may_publish(researcher, moviebench):
    with pytest.raises(UserError) as caught:
        act(moviebench, "publish", researcher, confirm=False)
    assert caught.value.code == "auth.forbidden"
    with pytest.raises(UserError) as caught:
        act(moviebench, "publish", None)
    assert caught.value.code == "auth.required"


def test_the_audit_trail_outlives_the_changes_it_records(staff, moviebench):
    act(moviebench, "publish", staff)
    act(moviebench, "withdraw", staff)
    staff.username = "renamed"
    staff.save()
    actions = list(
        AuditEvent.objects.filter(task_name=TASK).values_list("action", "actor_name")
    )
    assert ("dataset.withdraw", "curator") in actions
    assert ("dataset.publish", "curator") in actions
    assert ("dataset.upload", "curator") in actions
