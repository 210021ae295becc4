"""A staff upload of a task bundle: checked in the request, imported by a job,
stored as a curated suite with draft data; anything refused stores nothing."""

import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from leaderboard.catalogue.models import AuditEvent, DatasetVersion, Suite, Task
from leaderboard.curation.models import Bundle
from runners.archives import ArchiveError
from tasks import registry
from tasks.errors import UserError
from tests.bundles import (
    SECOND_TASK,
    SPEC,
    data_bundle,
    suite_bundle,
    zip_bundle,
)

pytestmark = pytest.mark.django_db

EMPTY_ZIP = b"PK\x05\x06" + b"\0" * 18
ZEROS = b"\0" * (3 * 1024 * 1024)  # expands far more than 200 times: a bomb


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def assert_nothing_stored() -> None:
    assert Bundle.objects.count() == 0
    assert not Suite.objects.filter(slug="moviebench").exists()
    assert DatasetVersion.objects.count() == 0
    assert stored_files() == []


def test_a_bundle_makes_a_curated_suite_with_draft_data(staff, upload, tmp_path):
    bundle = upload(staff, suite_bundle(tmp_path))
    assert bundle.status == "finished", bundle.error_message
    suite = Suite.objects.get(slug="moviebench")
    assert suite.is_curated and suite.version == 1 and suite.title == "MovieBench"
    assert registry.get_suite("moviebench").tasks[0].name == "moviebench/sentiment"
    task = Task.objects.get(name="moviebench/sentiment")
    version = task.dataset_versions.get()
    assert version.state == "draft" and not version.published
    assert version.counts == {"train": 44, "validation": 16, "test": 6}
    assert version.label_distribution["validation"] == {"0": 8, "1": 8}
    assert set(version.preview["samples"]) == {"train", "validation", "test"}
    assert "label" in version.preview["samples"]["train"][0]
    assert "label" not in version.preview["samples"]["validation"][0]
    assert version.preview["lengths"]["train"]["bins"]
    assert version.baselines["majority"]["task_score"] == pytest.approx(0.5)
    assert version.datasheet["task"] == "moviebench/sentiment"
    assert version.created_by == staff
    assert task.published_version() is None
    assert bundle.result["versions"][0]["state"] == "draft"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert actions == {"suite.create", "task.create", "dataset.upload"}
    assert set(AuditEvent.objects.values_list("actor_name", flat=True)) == {"curator"}


def test_a_bundle_zipped_inside_a_folder_is_read_the_same(staff, upload, tmp_path):
    bundle = upload(staff, suite_bundle(tmp_path, top="moviebench-1.0"))
    assert bundle.status == "finished", bundle.error_message
    assert Task.objects.get(name="moviebench/sentiment").dataset_versions.count() == 1


@pytest.mark.parametrize(
    ("old", "new", "needle", "code", "words"),
    [
        (
            "version = 1\n",
            "verison = 1\n",
            "verison",
            "catalogue.unknown_key",
            "did you mean 'version'",
        ),
        (
            'metrics = ["accuracy"]',
            'metrics = ["acuracy"]',
            "acuracy",
            "catalogue.unknown_metric",
            "Did you mean 'accuracy'",
        ),
        (
            'name = "moviebench"',
            'name = "glue"',
            'name = "glue"',
            "curation.suite_name_taken",
            "choose another name",
        ),
        (
            'folder = "SENT"',
            'folder = "../SENT"',
            'folder = "../SENT"',
            "bundle.unsafe_path",
            "inside the bundle",
        ),
    ],
)
def test_a_malformed_spec_is_refused_naming_the_line_and_nothing_is_stored(
    staff, upload, tmp_path, old, new, needle, code, words
):
    spec = SPEC.replace(old, new, 1)
    with pytest.raises(UserError) as caught:
        upload(staff, suite_bundle(tmp_path, spec))
    assert caught.value.code == code
    assert words in caught.value.message
    if needle:
        line = next(n for n, t in enumerate(spec.splitlines(), 1) if needle in t)
        assert caught.value.line == line
        assert f"line {line}" in caught.value.message
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (lambda z: z.writestr("../escape.tsv", "x"), "upload.path_traversal"),
        (lambda z: z.writestr("/abs.tsv", "x"), "upload.path_traversal"),
        (lambda z: z.writestr("SENT/inner.zip", EMPTY_ZIP), "upload.nested_archive"),
        (lambda z: z.writestr(_link("SENT/link.tsv"), "/etc/passwd"), "upload.link"),
        (lambda z: z.writestr("SENT/huge.tsv", ZEROS), "upload.zip_bomb"),
        (lambda z: z.writestr("second.toml", SPEC), "bundle.several_specs"),
    ],
)
def test_unsafe_zip_entries_are_refused_as_for_models(
    staff, upload, tmp_path, extra, code
):
    with pytest.raises(ArchiveError) as caught:
        upload(staff, suite_bundle(tmp_path, extra=extra))
    assert caught.value.code == code
    assert_nothing_stored()


def _link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777) << 16
    return info


def test_a_bundle_without_spec_or_data_says_so(staff, upload, tmp_path):
    with pytest.raises(ArchiveError) as caught:
        upload(staff, zip_bundle({"README.md": "hello"}))
    assert caught.value.code == "bundle.spec_not_found"
    with pytest.raises(UserError) as caught:
        upload(staff, zip_bundle({"moviebench.toml": SPEC, "notes.txt": "x"}))
    assert caught.value.code == "bundle.no_data"
    with pytest.raises(ArchiveError) as caught:
        upload(staff, b"not a zip at all")
    assert caught.value.code == "upload.not_zip"
    assert_nothing_stored()


def test_a_data_file_error_fails_the_job_naming_file_and_line(staff, upload, tmp_path):
    data = suite_bundle(tmp_path)
    broken = zip_bundle(
        {
            name: (b"sentence\tlabel\nfine film\t7\n" if name == "SENT/dev.tsv" else c)
            for name, c in _members(data).items()
        }
    )
    bundle = upload(staff, broken)
    assert bundle.status == "failed"
    assert bundle.error_code == "import.bad_label" or bundle.error_code.startswith(
        "import."
    )
    assert "SENT/dev.tsv, line 2" in bundle.error_message
    assert str(settings.GLEW_JOBS_DIR) not in bundle.error_message
    assert not Suite.objects.filter(slug="moviebench").exists()
    assert DatasetVersion.objects.count() == 0
    assert stored_files() == []  # the zip is removed with the failure
    assert bundle.storage_name == ""


def _members(data: bytes) -> dict[str, bytes]:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_only_staff_may_upload(researcher, upload, tmp_path):
    with pytest.raises(UserError) as caught:
        upload(researcher, suite_bundle(tmp_path))
    assert caught.value.code == "auth.forbidden"
    assert_nothing_stored()


def test_data_for_an_existing_task_becomes_a_draft(staff, upload, tmp_path):
    upload(staff, suite_bundle(tmp_path))
    bundle = upload(
        staff, data_bundle(tmp_path / "v2", flip=3), task_name="moviebench/sentiment"
    )
    assert bundle.status == "finished" and bundle.kind == "data"
    task = Task.objects.get(name="moviebench/sentiment")
    assert task.dataset_versions.count() == 2
    assert {v.state for v in task.dataset_versions.all()} == {"draft"}


def test_data_for_a_catalogue_file_task_is_a_draft_too(staff, upload, tmp_path):
    bundle = upload(staff, data_bundle(tmp_path, name="SST-2"), task_name="glue/sst2")
    assert bundle.status == "finished", bundle.error_message
    version = Task.objects.get(name="glue/sst2").dataset_versions.get()
    assert version.state == "draft"


def test_the_same_data_again_is_the_same_version(staff, upload, tmp_path):
    upload(staff, suite_bundle(tmp_path))
    again = upload(
        staff, data_bundle(tmp_path / "again"), task_name="moviebench/sentiment"
    )
    assert again.result["versions"][0]["created"] is False
    assert DatasetVersion.objects.count() == 1


def test_an_update_that_changes_scores_without_a_new_version_is_refused(
    staff, upload, tmp_path
):
    upload(staff, suite_bundle(tmp_path))
    spec = SPEC.replace('metrics = ["accuracy"]', 'metrics = ["accuracy", "f1"]')
    with pytest.raises(UserError) as caught:
        upload(staff, suite_bundle(tmp_path / "v2", spec))
    line = next(n for n, t in enumerate(spec.splitlines(), 1) if t == "version = 1")
    assert caught.value.code == "curation.version_not_bumped"
    assert caught.value.line == line and "set version = 2" in caught.value.message
    bumped = upload(
        staff, suite_bundle(tmp_path / "v3", spec.replace("version = 1", "version = 2"))
    )
    assert bumped.status == "finished"
    assert registry.get_task("moviebench/sentiment").metrics == ("accuracy", "f1")


def test_an_update_may_not_remove_a_task_or_lower_a_version(staff, upload, tmp_path):
    upload(staff, suite_bundle(tmp_path, SPEC + SECOND_TASK))
    with pytest.raises(UserError) as caught:
        upload(staff, suite_bundle(tmp_path / "b", SPEC))
    assert caught.value.code == "curation.task_removed"
    assert "in_suite_score = false" in caught.value.message
    newer = (SPEC + SECOND_TASK).replace("version = 1", "version = 3", 1)
    upload(staff, suite_bundle(tmp_path / "c", newer))
    with pytest.raises(UserError) as caught:
        upload(staff, suite_bundle(tmp_path / "d", SPEC + SECOND_TASK))
    assert caught.value.code == "curation.version_backwards"


def test_titles_change_without_a_new_version_and_a_new_task_joins(
    staff, upload, tmp_path
):
    upload(staff, suite_bundle(tmp_path))
    spec = SPEC.replace('title = "Sentiment"', 'title = "Review sentiment"')
    bundle = upload(staff, suite_bundle(tmp_path / "b", spec + SECOND_TASK))
    assert bundle.status == "finished"
    suite = Suite.objects.get(slug="moviebench")
    assert suite.version == 2  # a second task counts now: suite scores could move
    assert registry.get_task("moviebench/sentiment").title == "Review sentiment"
    assert registry.get_task("moviebench/sentiment").version == 1
    assert [t.key for t in suite.tasks.order_by("position")] == [
        "sentiment",
        "polarity",
    ]


def test_a_redelivered_job_of_an_ended_bundle_does_nothing(staff, upload, tmp_path):
    from leaderboard.curation.services import bundle_process

    bundle = upload(staff, suite_bundle(tmp_path))
    assert bundle_process(bundle_id=bundle.pk) is None
    assert Bundle.objects.get(pk=bundle.pk).attempts == 1
