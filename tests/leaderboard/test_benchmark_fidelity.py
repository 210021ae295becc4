"""What the platform does with a task's fidelity keys: HoC stored and scored per
abstract (baselines, downloads, the worker's scoring), split sizes and deviations
in the datasheet, deviations in the descriptions the pages and the API show."""

import io
import json
import zipfile
from dataclasses import replace
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from leaderboard.catalogue.models import DatasetVersion, Suite, Task
from leaderboard.catalogue.services import catalogue_sync, dataset_version_archive
from leaderboard.submissions.pipeline import publish
from tasks.registry import get_suite, get_task
from tests.tasks.test_blurb import write_hoc_tsv

pytestmark = pytest.mark.django_db


@pytest.fixture
def hoc_version(tmp_path) -> DatasetVersion:
    write_hoc_tsv(tmp_path / "hoc")
    call_command("import_task", "blurb/hoc", str(tmp_path), verbosity=0)
    return DatasetVersion.objects.get(task__name="blurb/hoc")


def test_hoc_baselines_are_scored_per_abstract(hoc_version):
    # Majority: the empty set (most frequent training label set): micro F1 0.
    majority = hoc_version.baselines["majority"]
    assert majority["prediction"] == [] and majority["task_score"] == 0.0
    assert hoc_version.baselines["chance"]["task_score"] is not None


def test_hoc_datasheet_says_it_is_scored_per_abstract_and_not_blurb_sized(
    hoc_version,
):
    sheet = hoc_version.datasheet
    assert sheet["scored_per"] == "document" and sheet["task_version"] == 2
    assert sheet["published_split_sizes"] == {
        "train": 1295,
        "validation": 186,
        "test": 371,
    }
    assert sheet["split_sizes"]["matches"] is False
    assert "not comparable" in sheet["split_sizes"]["note"]


def test_hoc_download_keeps_each_sentence_s_abstract(hoc_version):
    data = dataset_version_archive(version=hoc_version)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        test = [json.loads(x) for x in archive.read("test.jsonl").decode().splitlines()]
        readme = archive.read("README.md").decode()
        sheet = json.loads(archive.read("datasheet.json"))
    assert [row["document"] for row in test] == ["22355784"] * 3 + ["9581817"]
    assert all("label" not in row for row in test)
    assert "Scored per document" in readme
    assert sheet["scored_per"] == "document"


def test_the_worker_scores_a_grouped_task_with_each_row_s_group():
    hoc = get_task("blurb/hoc")
    rows = [{"idx": 0, "document": "7"}, {"idx": 1, "document": "7"}]
    assert publish._groups(hoc, rows) == ["7", "7"]
    # A version imported before HoC was scored per abstract: no groups, and the
    # scoring then refuses with scoring.missing_groups rather than score per row.
    assert publish._groups(hoc, [{"idx": 0}]) is None
    assert publish._groups(get_task("glue/sst2"), rows) is None


def test_deviations_reach_the_suite_and_task_descriptions(monkeypatch):
    suite = get_suite("blurb")
    first = replace(suite.tasks[0], deviations=("Task note.",))
    noted = replace(suite, deviations=("Suite note.",), tasks=(first, *suite.tasks[1:]))
    monkeypatch.setattr(
        "leaderboard.catalogue.services.default_catalogue",
        lambda: SimpleNamespace(suites=[noted]),
    )
    catalogue_sync()
    row = Suite.objects.get(slug="blurb")
    assert row.description.startswith(suite.description)
    assert row.description.endswith(
        "Differs from the published benchmark: Suite note. BC5-chem: Task note."
    )
    assert Task.objects.get(name=first.name).description.endswith(
        "Differs from the published benchmark: Task note."
    )
