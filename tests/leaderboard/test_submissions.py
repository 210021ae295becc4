"""Submitting: what is accepted, what is refused, and that a refusal leaves nothing."""

import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from leaderboard.submissions import intake, lifecycle
from leaderboard.submissions.models import Evaluation, ModelArchive, Submission
from leaderboard.submissions.status import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("grace", password="pw-grace-123")


@pytest.fixture
def other(django_user_model):
    return django_user_model.objects.create_user("linus", password="pw-linus-123")


@pytest.fixture
def sst2_imported(sst2_folder):
    call_command("import_task", "glue/sst2", str(sst2_folder))


def stored_models() -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "models"
    return sorted(folder.glob("*")) if folder.exists() else []


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def post_archive(client, data: bytes, **fields):
    archive = io.BytesIO(data)
    archive.name = "model.zip"
    payload = {"archive": archive, "name": "m", "tasks": "glue/sst2", "recipe": "smoke"}
    payload.update(fields)
    return client.post("/api/v1/submissions", payload, format="multipart")


def test_a_submission_queues_one_evaluation_per_task_and_seed(
    user, sst2_imported, tiny_model_zip, no_enqueue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submission = intake.submission_create(
            owner=user,
            name="tiny",
            archive_stream=tiny_model_zip.open("rb"),
            recipe="smoke",
            suites=["glue"],
        )
    (evaluation,) = submission.evaluations.all()
    assert evaluation.task.name == "glue/sst2"
    assert evaluation.status == Status.QUEUED
    assert evaluation.recipe_version.startswith("smoke")
    assert no_enqueue == [evaluation]


def test_the_same_archive_twice_is_stored_once(
    user, sst2_imported, tiny_model_zip, no_enqueue
):
    for name in ("first", "second"):
        intake.submission_create(
            owner=user,
            name=name,
            archive_stream=tiny_model_zip.open("rb"),
            recipe="smoke",
            tasks=["glue/sst2"],
        )
    assert ModelArchive.objects.count() == 1
    assert Submission.objects.count() == 2
    assert len(stored_models()) == 1


def test_a_non_zip_upload_is_refused_with_a_plain_400_and_nothing_kept(
    user, sst2_imported, no_enqueue
):
    before = stored_models()
    response = post_archive(client_for(user), b"this is not a zip file at all")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "upload.not_zip"
    assert "zip" in body["error"].lower()
    assert Submission.objects.count() == 0 and ModelArchive.objects.count() == 0
    assert stored_models() == before


def test_pickle_weights_are_refused(user, sst2_imported, no_enqueue):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", '{"model_type": "bert"}')
        archive.writestr("pytorch_model.bin", b"\x80\x04pickle")
    response = post_archive(client_for(user), buffer.getvalue())
    assert response.status_code == 400
    assert response.json()["code"] == "upload.pickle_weights"
    assert Submission.objects.count() == 0


def test_unknown_task_gets_a_did_you_mean(
    user, sst2_imported, tiny_model_zip, no_enqueue
):
    response = post_archive(
        client_for(user), tiny_model_zip.read_bytes(), tasks="glue/sst"
    )
    assert response.status_code == 400
    assert "glue/sst2" in response.json()["error"]


def test_a_task_without_data_is_refused_in_plain_words(
    user, tiny_model_zip, no_enqueue
):
    call_command("sync_catalogue")
    response = post_archive(
        client_for(user), tiny_model_zip.read_bytes(), tasks="glue/rte"
    )
    assert response.status_code == 400
    assert "import_task" in response.json()["error"]


def test_unknown_recipe_is_refused(user, sst2_imported, tiny_model_zip, no_enqueue):
    response = post_archive(
        client_for(user), tiny_model_zip.read_bytes(), recipe="turbo"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "recipe.unknown"


def test_anonymous_upload_is_refused():
    response = APIClient().post("/api/v1/submissions", {}, format="multipart")
    assert response.status_code == 401
    assert "error" in response.json()


def test_private_submissions_are_hidden_from_others(
    user, other, sst2_imported, tiny_model_zip, no_enqueue
):
    submission = intake.submission_create(
        owner=user,
        name="secret",
        archive_stream=tiny_model_zip.open("rb"),
        recipe="smoke",
        tasks=["glue/sst2"],
        visibility="private",
    )
    url = f"/api/v1/submissions/{submission.pk}"
    assert APIClient().get(url).status_code == 404
    assert client_for(other).get(url).status_code == 404
    assert client_for(user).get(url).status_code == 200
    assert APIClient().get(f"/submissions/{submission.pk}/").status_code == 404


def test_a_finished_evaluation_ignores_a_redelivered_job(
    user, sst2_imported, tiny_model_zip, no_enqueue
):
    submission = intake.submission_create(
        owner=user,
        name="x",
        archive_stream=tiny_model_zip.open("rb"),
        recipe="smoke",
        tasks=["glue/sst2"],
    )
    evaluation = submission.evaluations.get()
    lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
    lifecycle.evaluation_move(evaluation_id=evaluation.pk, to=Status.SCORING)
    result = lifecycle.evaluation_finish(
        evaluation_id=evaluation.pk,
        scores={"accuracy": 0.5},
        task_score=0.5,
        efficiency={},
        manifest={},
        predictions={},
        numerics="fp32-x86-64-v3",
    )
    assert result is not None
    assert lifecycle.evaluation_claim(evaluation_id=evaluation.pk) is None
    again = lifecycle.evaluation_finish(
        evaluation_id=evaluation.pk,
        scores={"accuracy": 0.9},
        task_score=0.9,
        efficiency={},
        manifest={},
        predictions={},
        numerics="fp32-x86-64-v3",
    )
    assert again is None
    evaluation.refresh_from_db()
    assert evaluation.status == Status.FINISHED
    assert evaluation.result.task_score == 0.5
    submission.refresh_from_db()
    assert submission.status == Status.FINISHED


def test_cancel_is_for_the_owner_only(
    user, other, sst2_imported, tiny_model_zip, no_enqueue
):
    submission = intake.submission_create(
        owner=user,
        name="x",
        archive_stream=tiny_model_zip.open("rb"),
        recipe="smoke",
        tasks=["glue/sst2"],
    )
    url = f"/api/v1/submissions/{submission.pk}/cancel"
    assert client_for(other).post(url).status_code == 403
    assert client_for(user).post(url).json()["cancelled"] == 1
    assert Evaluation.objects.get().status == Status.CANCELLED


def test_an_unsupported_architecture_gets_a_400_listing_the_supported_ones(
    user, sst2_imported, no_enqueue
):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", '{"model_type": "gpt2", "n_embd": 8}')
        archive.writestr("tokenizer.json", "{}")
    before = stored_models()
    response = post_archive(client_for(user), buffer.getvalue())
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "upload.unsupported_model_type"
    assert "'gpt2'" in body["error"]
    assert "bert, camembert, deberta-v2, distilbert, electra" in body["error"]
    assert Submission.objects.count() == 0
    assert stored_models() == before


def test_a_model_without_its_tokenizer_gets_a_400(user, sst2_imported, no_enqueue):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", '{"model_type": "albert"}')
        archive.writestr("tokenizer_config.json", "{}")
    response = post_archive(client_for(user), buffer.getvalue())
    assert response.status_code == 400
    assert response.json()["code"] == "upload.no_tokenizer"
    assert "spiece.model" in response.json()["error"]
    assert Submission.objects.count() == 0
