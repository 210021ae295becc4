"""Curation commands: import (task and suite level), generate, re-import no-op."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leaderboard.catalogue.models import DatasetVersion

pytestmark = pytest.mark.django_db

SHARED_GLUE = str(
    __import__("pathlib").Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "glue"
)


def test_reimporting_identical_files_is_a_noop_and_changed_files_a_new_version(
    sst2_folder, capsys
):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    call_command("import_task", "glue/sst2", str(sst2_folder))
    assert DatasetVersion.objects.count() == 1
    assert "unchanged" in capsys.readouterr().out
    dev = sst2_folder / "dev.tsv"
    dev.write_text(dev.read_text().replace("\t1\n", "\t0\n", 1))
    call_command("import_task", "glue/sst2", str(sst2_folder))
    assert DatasetVersion.objects.count() == 2


def test_a_malformed_file_is_a_clear_command_error(sst2_folder):
    (sst2_folder / "dev.tsv").write_text("sentence\tlabel\nfine film\t7\n")
    with pytest.raises(CommandError) as caught:
        call_command("import_task", "glue/sst2", str(sst2_folder))
    assert "dev.tsv" in str(caught.value) and "line 2" in str(caught.value)
    assert DatasetVersion.objects.count() == 0


@pytest.mark.skipif(
    not __import__("pathlib").Path(SHARED_GLUE).exists(), reason="no shared GLUE"
)
def test_suite_level_import_of_the_real_glue_files(capsys):
    call_command("import_task", "glue", SHARED_GLUE)
    counts = {
        v.task.name: v.counts for v in DatasetVersion.objects.select_related("task")
    }
    assert counts["glue/sst2"]["validation"] == 872
    assert counts["glue/rte"]["validation"] == 277
    assert counts["glue/ax"]["test"] == 1104


def test_generate_listops_stores_a_versioned_dataset(capsys):
    call_command(
        "generate_task",
        "lra/listops",
        "--seed",
        "0",
        "--n-train",
        "8",
        "--n-val",
        "2",
        "--n-test",
        "4",
    )
    version = DatasetVersion.objects.get(task__name="lra/listops")
    assert version.counts["train"] == 8 and version.counts["test"] == 4
    call_command(
        "generate_task",
        "lra/listops",
        "--seed",
        "0",
        "--n-train",
        "8",
        "--n-val",
        "2",
        "--n-test",
        "4",
    )
    assert DatasetVersion.objects.filter(task__name="lra/listops").count() == 1


def test_long_context_needs_its_base_task_imported():
    with pytest.raises(CommandError) as caught:
        call_command("generate_task", "longcontext/sst2-explicit-single")
    assert "import_task glue/sst2" in str(caught.value)


def test_suite_api_lists_versions_with_counts(sst2_folder, client):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    body = client.get("/api/v1/suites/glue").json()
    sst2 = next(t for t in body["tasks"] if t["task"] == "glue/sst2")
    (version,) = sst2["versions"]
    assert version["counts"] == {"train": 44, "validation": 16, "test": 6}
    assert json.dumps(version)  # serialisable
