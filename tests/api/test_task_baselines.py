"""A dataset version stores its majority-class and chance baselines when it is
imported, and the task's page and API show them (``tasks.baselines``)."""

import importlib

import pytest
from django.apps import apps

from leaderboard.catalogue import services
from leaderboard.catalogue.models import DatasetVersion, Task
from tests.api.conftest import client_as

pytestmark = pytest.mark.django_db


def test_an_imported_version_stores_baselines_computed_from_its_data(sst2_imported):
    version = DatasetVersion.objects.get(task__name="glue/sst2")
    majority, chance = version.baselines["majority"], version.baselines["chance"]
    # 22 training rows per class: the tie goes to class 0; validation is 8 and 8.
    assert majority["prediction"] == 0
    assert majority["scores"] == {"accuracy": 0.5}
    assert "22 of 44 training rows" in majority["method"]
    assert chance == {
        "task_score": 0.5,
        "scores": {"accuracy": 0.5},
        "method": "uniformly random predictions: exact expectation",
    }
    assert version.baselines["task_version"] == version.task.version


def test_the_task_api_and_the_suite_api_show_the_baselines(sst2_imported):
    body = client_as(None).get("/api/v1/tasks/glue/sst2").json()
    assert body["baselines"]["majority"]["task_score"] == 0.5
    assert body["baselines"]["chance"]["method"].startswith("uniformly random")
    assert body["versions"][0]["baselines"] == body["baselines"]
    suite = client_as(None).get("/api/v1/suites/glue").json()
    sst2 = next(t for t in suite["tasks"] if t["task"] == "glue/sst2")
    assert sst2["baselines"]["majority"]["task_score"] == 0.5
    rte = next(t for t in suite["tasks"] if t["task"] == "glue/rte")
    assert rte["baselines"] is None  # no data, no baselines


def test_the_task_page_shows_both_baselines_and_how_they_were_computed(
    sst2_imported,
):
    page = client_as(None).get("/tasks/glue/sst2/").content.decode()
    table = page.split('<table id="baselines">')[1].split("</table>")[0]
    assert 'data-baseline="majority"' in table and 'data-baseline="chance"' in table
    assert "predict the most frequent training label, 0" in table
    assert "exact expectation" in table
    assert "majority-class baseline (50.0)" in page


_catalogue_migration = importlib.import_module(
    "leaderboard.catalogue.migrations.0002_baselines"
)


def test_the_migration_backfills_versions_stored_before_baselines(sst2_imported):
    version = DatasetVersion.objects.get(task__name="glue/sst2")
    expected = version.baselines
    DatasetVersion.objects.update(baselines=None)
    _catalogue_migration.backfill(apps, None)
    version.refresh_from_db()
    assert version.baselines == expected


def test_a_task_version_bump_recomputes_its_versions_baselines(sst2_imported):
    DatasetVersion.objects.update(baselines={"stale": True})
    Task.objects.filter(name="glue/sst2").update(version=99)  # the catalogue says 1
    services.catalogue_sync()
    version = DatasetVersion.objects.get(task__name="glue/sst2")
    assert version.baselines["majority"]["task_score"] == 0.5
