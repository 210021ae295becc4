"""Curation tests: staff and other users, storage of the test's own, and uploads
whose import jobs run in this process (the seam ``submissions.queueing``)."""

import pytest

from leaderboard.curation.services import bundle_create
from leaderboard.submissions import queueing
from tests.bundles import run_jobs, stream


@pytest.fixture(autouse=True)
def _own_storage(settings, tmp_path):
    settings.GLEW_DAILY_SUBMISSION_LIMIT = 1000
    settings.MEDIA_ROOT = tmp_path / "storage"
    settings.GLEW_JOBS_DIR = tmp_path / "jobs"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "curator", password="pw-curator-1", is_staff=True
    )


@pytest.fixture
def researcher(django_user_model):
    return django_user_model.objects.create_user("researcher", password="pw-r-1")


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """``upload(user, zip_bytes, task_name="", run=True)``: the service the page
    and API call, with its import job run here when ``run``."""

    def send(user, data: bytes, *, task_name: str = "", run: bool = True):
        with queueing.captured() as sent:
            with django_capture_on_commit_callbacks(execute=True):
                bundle = bundle_create(
                    actor=user,
                    archive_stream=stream(data),
                    filename="bundle.zip",
                    task_name=task_name,
                )
            if run:
                run_jobs(sent)
            bundle.refresh_from_db()
            return bundle

    return send
