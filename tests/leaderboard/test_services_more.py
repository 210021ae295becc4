"""Re-runs and drift, the reaper, daily limits, visibility, downloads and exports."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from leaderboard.catalogue.models import DatasetVersion
from leaderboard.catalogue.services import dataset_version_archive
from leaderboard.standings.rows import leaderboard_rows
from leaderboard.submissions import exports, intake, lifecycle, selectors
from leaderboard.submissions.models import Evaluation, Submission
from leaderboard.submissions.status import Status
from tasks.errors import UserError

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("ola", password="pw-ola-12345")


@pytest.fixture
def other(django_user_model):
    return django_user_model.objects.create_user("eve", password="pw-eve-12345")


@pytest.fixture(autouse=True)
def _jobs_are_captured(no_enqueue):
    """Every test here checks rows, never runs a job."""


def _submit(owner, tiny_model_zip, *, name: str = "tiny", tracks=("full",)):
    """The tiny model on SST-2 with the smoke recipe, on ``tracks``."""
    return intake.submission_create(
        owner=owner,
        name=name,
        archive_stream=tiny_model_zip.open("rb"),
        recipe="smoke",
        tasks=["glue/sst2"],
        tracks=tracks,
    )


@pytest.fixture
def submission(owner, sst2_folder, tiny_model_zip):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    return _submit(owner, tiny_model_zip)


def finish(
    evaluation: Evaluation,
    accuracy: float,
    predictions: dict | None = None,
    numerics: str = "fp32-x86-64-v3",
):
    lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
    lifecycle.evaluation_move(evaluation_id=evaluation.pk, to=Status.SCORING)
    return lifecycle.evaluation_finish(
        evaluation_id=evaluation.pk,
        scores={"accuracy": accuracy},
        task_score=accuracy,
        efficiency={},
        manifest={},
        predictions=predictions or {},
        numerics=numerics,
    )


def test_a_rerun_reproduces_the_manifest_and_shows_drift(submission, owner):
    original = submission.evaluations.get()
    finish(original, 0.75)
    rerun = lifecycle.evaluation_rerun(evaluation_id=original.pk, user=owner)
    assert rerun.rerun_of_id == original.pk
    assert (rerun.dataset_version_id, rerun.seed, rerun.recipe_version) == (
        original.dataset_version_id,
        original.seed,
        original.recipe_version,
    )
    finish(rerun, 0.5)
    rerun.refresh_from_db()
    assert selectors.evaluation_drift(rerun) == {"accuracy": -0.25}
    # The re-run is not an extra seed on the leaderboard.
    (row,) = leaderboard_rows(suite=original.task.suite, user=owner)
    assert row.tasks["glue/sst2"].n == 1
    assert row.tasks["glue/sst2"].mean == 0.75


def test_only_owner_or_admin_may_rerun_and_only_when_done(submission, owner, other):
    evaluation = submission.evaluations.get()
    with pytest.raises(UserError) as caught:
        lifecycle.evaluation_rerun(evaluation_id=evaluation.pk, user=owner)
    assert caught.value.code == "evaluation.not_done"
    finish(evaluation, 0.7)
    with pytest.raises(UserError) as caught:
        lifecycle.evaluation_rerun(evaluation_id=evaluation.pk, user=other)
    assert caught.value.code == "auth.forbidden"


def test_the_reaper_fails_evaluations_stuck_past_their_limit(submission, settings):
    evaluation = submission.evaluations.get()
    lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
    assert lifecycle.evaluation_reap_stuck() == 0
    limit = settings.GLEW_TIME_LIMITS["smoke"]
    Evaluation.objects.filter(pk=evaluation.pk).update(
        started_at=timezone.now() - timedelta(seconds=limit + 700)
    )
    assert lifecycle.evaluation_reap_stuck() == 1
    evaluation.refresh_from_db()
    assert evaluation.status == Status.FAILED
    assert evaluation.error_code == "platform.stuck"


def test_daily_limit_counts_only_runs_that_did_not_fail(
    submission, owner, tiny_model_zip, settings
):
    settings.GLEW_DAILY_LIMITS = {"glue": 2}

    def submit():
        return _submit(owner, tiny_model_zip)

    second = submit()
    with pytest.raises(UserError) as caught:
        submit()
    assert caught.value.code == "limits.daily_quota"
    lifecycle.evaluation_fail(
        evaluation_id=second.evaluations.get().pk, code="x.y", message="broken"
    )
    submit()  # the failed one gave its slot back
    assert Submission.objects.count() == 3


def test_each_track_of_a_submission_uses_a_slot_of_the_daily_limit(
    submission, owner, tiny_model_zip, settings
):
    """Every track is a fine-tuning of its own: asking for full, LoRA and BitFit
    costs three runs, so it takes three slots, not one."""
    settings.GLEW_DAILY_LIMITS = {"glue": 3}  # the fixture's submission holds one

    def submit(tracks):
        return _submit(owner, tiny_model_zip, tracks=tracks)

    with pytest.raises(UserError) as caught:
        submit(["full", "lora", "bitfit"])
    assert caught.value.code == "limits.daily_quota"
    assert "1 of your 3" in caught.value.message and "needs 3" in caught.value.message
    submit(["full", "lora"])  # exactly fills the limit
    with pytest.raises(UserError):
        submit(["full"])


def test_visibility_is_changed_by_the_owner_only(submission, owner, other):
    with pytest.raises(UserError):
        intake.submission_set_visibility(
            submission=submission, user=other, visibility="private"
        )
    intake.submission_set_visibility(
        submission=submission, user=owner, visibility="private"
    )
    assert not selectors.visible_submissions(other).filter(pk=submission.pk).exists()


def test_download_never_contains_evaluation_or_test_labels(submission):
    version = DatasetVersion.objects.get()
    data = dataset_version_archive(version=version)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        assert {"datasheet.json", "README.md", "train.jsonl", "train.parquet"} <= names
        for split in ("validation", "test"):
            rows = [
                json.loads(line)
                for line in archive.read(f"{split}.jsonl").decode().splitlines()
            ]
            assert rows and all("label" not in row for row in rows)
        train = archive.read("train.jsonl").decode().splitlines()
        assert all("label" in json.loads(line) for line in train)
        sheet = json.loads(archive.read("datasheet.json"))
        assert sheet["labels_withheld"] == ["test", "validation"]


def test_glue_zip_has_official_names_and_label_texts(submission):
    evaluation = submission.evaluations.get()
    name = default_storage.save(
        f"predictions/eval-{evaluation.pk}/test.jsonl",
        ContentFile(b'{"idx": 0, "prediction": 1}\n{"idx": 1, "prediction": 0}\n'),
    )
    finish(evaluation, 0.8, predictions={"test": name})
    data = exports.glue_submission_zip(submission=submission)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "SST-2.tsv" in archive.namelist()
        assert archive.read("SST-2.tsv").decode() == "index\tprediction\n0\t1\n1\t0\n"
        assert "CoLA.tsv" in archive.read("MISSING.txt").decode()


def test_a_job_delivered_twice_waits_while_the_first_worker_is_alive(
    submission, settings
):
    evaluation = submission.evaluations.get()
    lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
    with pytest.raises(lifecycle.EvaluationBusy):
        lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
    # The first worker died: its heartbeat goes stale, the second takes over.
    Evaluation.objects.filter(pk=evaluation.pk).update(
        heartbeat_at=timezone.now()
        - timedelta(seconds=settings.GLEW_HEARTBEAT_STALE_S + 1)
    )
    taken = lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
    assert taken.attempts == 2
    # A worker that lets go (OOM retry) can be taken over at once.
    lifecycle.evaluation_heartbeat(evaluation_id=evaluation.pk, alive=False)
    assert lifecycle.evaluation_claim(evaluation_id=evaluation.pk).attempts == 3


def test_queued_jobs_a_broker_forgot_are_published_again(submission, no_enqueue):
    evaluation = submission.evaluations.get()
    assert lifecycle.evaluation_requeue_stale(older_than_s=60) == 0
    Evaluation.objects.filter(pk=evaluation.pk).update(
        enqueued_at=timezone.now() - timedelta(minutes=30)
    )
    no_enqueue.clear()
    assert lifecycle.evaluation_requeue_stale(older_than_s=60) == 1
    assert [e.pk for e in no_enqueue] == [evaluation.pk]
    lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
    assert lifecycle.evaluation_requeue_stale(older_than_s=0) == 0  # running now


def test_running_jobs_whose_worker_died_are_published_again(
    submission, no_enqueue, settings
):
    evaluation = submission.evaluations.get()
    Evaluation.objects.filter(pk=evaluation.pk).update(
        enqueued_at=timezone.now() - timedelta(minutes=30)
    )
    lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
    no_enqueue.clear()
    assert lifecycle.evaluation_requeue_stale(older_than_s=60) == 0  # beating
    Evaluation.objects.filter(pk=evaluation.pk).update(
        heartbeat_at=timezone.now()
        - timedelta(seconds=settings.GLEW_HEARTBEAT_STALE_S + 1)
    )
    assert lifecycle.evaluation_requeue_stale(older_than_s=60) == 1
    assert [e.pk for e in no_enqueue] == [evaluation.pk]
    # Published just now: the next sweep leaves it to the worker that takes it.
    assert lifecycle.evaluation_requeue_stale(older_than_s=60) == 0
    assert lifecycle.evaluation_claim(evaluation_id=evaluation.pk).attempts == 2
