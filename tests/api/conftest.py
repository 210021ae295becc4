import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import finish_evaluation, make_submission, model_variant


@pytest.fixture(autouse=True)
def _roomy_quota_and_own_storage(settings, tmp_path):
    """Many submissions per test; files in a storage of the test's own, so the
    session's shared storage (which other tests count) stays as they expect."""
    settings.GLEW_DAILY_SUBMISSION_LIMIT = 1000
    settings.MEDIA_ROOT = tmp_path / "storage"


@pytest.fixture
def sst2_imported(sst2_folder):
    call_command("import_task", "glue/sst2", str(sst2_folder))


@pytest.fixture
def users(django_user_model):
    return {
        "owner": django_user_model.objects.create_user("owner", password="pw-owner-1"),
        "other": django_user_model.objects.create_user("other", password="pw-other-1"),
        "staff": django_user_model.objects.create_user(
            "staff", password="pw-staff-1", is_staff=True
        ),
        "admin": django_user_model.objects.create_superuser(
            "admin", email="admin@example.org", password="pw-admin-1"
        ),
        "anonymous": None,
    }


def client_as(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)  # the API
        client.force_login(user)  # the pages
    return client


@pytest.fixture
def two_tracks(users, sst2_imported, tiny_model_zip, no_enqueue):
    """One model on the full and LoRA tracks (0.8 and 0.7), another on full only."""
    both = make_submission(
        users["owner"],
        model_variant(tiny_model_zip, "both"),
        name="both",
        tracks=("lora", "full"),
    )
    for evaluation in both.evaluations.all():
        if evaluation.method == "lora":
            finish_evaluation(evaluation, 0.7, trainable=1_000, train_seconds=4.0)
        else:
            finish_evaluation(evaluation, 0.8)
    full_only = make_submission(
        users["owner"], model_variant(tiny_model_zip, "full"), name="full-only"
    )
    for evaluation in full_only.evaluations.all():
        finish_evaluation(evaluation, 0.9)
    return both, full_only
