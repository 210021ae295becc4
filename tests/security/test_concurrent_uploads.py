"""Twenty uploads at once, each thread with its own database connection."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from leaderboard.submissions import intake
from leaderboard.submissions.models import ModelArchive, Submission

N = 20

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


@pytest.fixture
def setup(django_user_model, sst2_folder, settings, tmp_path, no_enqueue):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command("import_task", "glue/sst2", str(sst2_folder))
    return django_user_model.objects.create_user("crowd", is_staff=True)


def _upload_all(owner, archives: list[Path]) -> list[BaseException]:
    barrier = threading.Barrier(len(archives))
    errors: list[BaseException] = []

    def upload(path: Path, i: int) -> None:
        try:
            with path.open("rb") as stream:
                barrier.wait(timeout=60)
                intake.submission_create(
                    owner=owner,
                    name=f"upload {i}",
                    archive_stream=stream,
                    recipe="smoke",
                    tasks=["glue/sst2"],
                )
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=upload, args=(path, i))
        for i, path in enumerate(archives)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    return errors


def _stored(settings) -> list[Path]:
    return sorted((Path(settings.MEDIA_ROOT) / "models").iterdir())


def test_same_archive_twenty_times_is_stored_once(setup, tiny_model_zip, settings):
    errors = _upload_all(setup, [tiny_model_zip] * N)
    assert not errors, errors
    assert Submission.objects.count() == N
    assert ModelArchive.objects.count() == 1
    archive = ModelArchive.objects.get()
    assert {s.archive_id for s in Submission.objects.all()} == {archive.pk}
    assert [p.name for p in _stored(settings)] == [Path(archive.storage_name).name]


def test_twenty_different_archives_are_stored_apart(
    setup, tiny_model_zip, settings, tmp_path
):
    archives = []
    for i in range(N):
        path = tmp_path / f"model-{i}.zip"
        path.write_bytes(tiny_model_zip.read_bytes())
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr(f"{zf.namelist()[0].split('/')[0]}/README.md", f"copy {i}")
        archives.append(path)
    errors = _upload_all(setup, archives)
    assert not errors, errors
    assert Submission.objects.count() == N
    assert ModelArchive.objects.count() == N
    names = {a.storage_name for a in ModelArchive.objects.all()}
    assert len(names) == N
    assert {f"models/{p.name}" for p in _stored(settings)} == names
    for archive in ModelArchive.objects.all():
        assert archive.storage_name == f"models/{archive.sha256}.zip"


def test_loser_holding_the_canonical_name_deletes_it(setup, settings, tmp_path):
    """The interleaving CI once hit: this upload saves the canonical file while a
    racer, which saw it half-written, saved a suffixed copy and got its row in
    first. The loser's canonical copy is then garbage and must not be left."""
    from django.core.files.storage import default_storage

    from runners.archives.rules import ArchiveInfo

    payload = tmp_path / "bytes.zip"
    payload.write_bytes(b"the same bytes")
    upload = intake.StoredUpload(
        path=payload,
        sha256="ab" * 32,
        size=payload.stat().st_size,
    )
    info = ArchiveInfo(root="", members=[], total_uncompressed=0, has_weights=True)
    racer_name = f"models/{upload.sha256}_racer.zip"
    real_save = default_storage.save

    def save_then_lose(name, content, **kwargs):
        saved = real_save(name, content, **kwargs)
        real_save(racer_name, content)
        ModelArchive.objects.create(
            sha256=upload.sha256,
            storage_name=racer_name,
            size_bytes=upload.size,
            has_weights=True,
        )
        return saved

    default_storage.save = save_then_lose
    try:
        winner = intake.archive_store(upload=upload, info=info)
    finally:
        del default_storage.save
    assert winner.storage_name == racer_name
    assert [p.name for p in _stored(settings)] == [Path(racer_name).name]
