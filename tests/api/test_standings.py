"""The standings package: one averaging rule, one robustness definition, and rows
kept true when the catalogue changes (``leaderboard.standings``)."""

import json

import pytest
from django.core.management import call_command

from leaderboard.catalogue.models import DatasetVersion, Task
from leaderboard.catalogue.services import dataset_version_set_published
from leaderboard.catalogue.signals import suite_changed
from leaderboard.standings.board import Filters, build_board
from leaderboard.standings.cells import cells_by_submission, submission_cells
from leaderboard.standings.charts import length_curves
from leaderboard.standings.robustness import clean_counterparts
from leaderboard.submissions import lifecycle
from leaderboard.submissions.models import LeaderboardEntry
from leaderboard.submissions.status import Status
from tasks import registry
from tests.api.conftest import client_as
from tests.conftest import write_advglue_folder
from tests.factories import finish_evaluation, make_submission, model_variant

pytestmark = pytest.mark.django_db

GPU, CPU = "bf16-cuda", "bf16-cpu"


@pytest.fixture
def seeded(users, sst2_imported, tiny_model_zip, no_enqueue):
    """Standard recipe: seeds 0 and 1 on a GPU, seed 2 on a CPU, and a re-run of
    seed 0 that must count nowhere."""
    submission = make_submission(
        users["owner"], model_variant(tiny_model_zip, "s"), recipe="standard"
    )
    by_seed = {e.seed: e for e in submission.evaluations.all()}
    finish_evaluation(by_seed[0], 0.80, numerics=GPU)
    finish_evaluation(by_seed[1], 0.90, numerics=GPU)
    finish_evaluation(by_seed[2], 0.50, numerics=CPU)
    rerun = lifecycle.evaluation_rerun(evaluation_id=by_seed[0].pk, user=users["owner"])
    finish_evaluation(rerun, 0.10, numerics=GPU)
    return submission


def test_one_rule_averages_seeds_per_profile_without_reruns(seeded):
    cells = submission_cells(seeded)
    gpu, cpu = cells[("glue/sst2", GPU)], cells[("glue/sst2", CPU)]
    assert (gpu.mean, gpu.n, gpu.per_seed) == (pytest.approx(0.85), 2, {0: 0.8, 1: 0.9})
    assert gpu.std == pytest.approx(0.05)
    assert (cpu.mean, cpu.std, cpu.n) == (0.5, 0.0, 1)
    # The stored rows are made by the same rule.
    entries = {e.numerics: e.cells["glue/sst2"] for e in seeded.entries.all()}
    assert entries[GPU]["mean"] == pytest.approx(gpu.mean)
    assert entries[GPU]["per_seed"] == {"0": 0.8, "1": 0.9}
    assert entries[CPU]["n"] == 1


def test_results_of_an_older_task_version_count_nowhere(seeded):
    Task.objects.filter(name="glue/sst2").update(version=2)
    assert cells_by_submission([seeded.pk]) == {}


def test_the_standings_hear_the_catalogue_publish_and_withdraw(users, seeded):
    assert suite_changed.has_listeners()
    version = DatasetVersion.objects.get(task__name="glue/sst2")
    dataset_version_set_published(version=version, published=False)
    assert not LeaderboardEntry.objects.filter(submission=seeded).exists()
    assert client_as(None).get("/api/v1/leaderboards/glue").json()["rows"] == []
    dataset_version_set_published(version=version, published=True)
    rows = client_as(None).get("/api/v1/leaderboards/glue").json()["rows"]
    assert {r["numerics"] for r in rows} == {GPU, CPU}


def test_length_curves_keep_profiles_apart(
    users, sst2_imported, tiny_model_zip, no_enqueue
):
    submission = make_submission(
        users["owner"], model_variant(tiny_model_zip, "len"), recipe="standard"
    )
    for evaluation, profile, short in zip(
        submission.evaluations.order_by("seed"),
        (GPU, GPU, CPU),
        (0.9, 0.7, 0.2),
        strict=True,
    ):
        lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
        lifecycle.evaluation_move(evaluation_id=evaluation.pk, to=Status.SCORING)
        lifecycle.evaluation_finish(
            evaluation_id=evaluation.pk,
            scores={"accuracy": short, "accuracy_1k": short, "accuracy_4k": 0.5},
            task_score=short,
            efficiency={},
            manifest={},
            predictions={},
            numerics=profile,
        )
    board = build_board(
        suite=Task.objects.get(name="glue/sst2").suite,
        user=None,
        filters=Filters(),
        sort="rank",
        direction="",
    )
    curves = {c["numerics"]: c for c in length_curves(board)}
    assert curves[GPU]["x"] == [1000, 4000]
    assert curves[GPU]["y"] == [pytest.approx(0.8), pytest.approx(0.5)]
    assert curves[CPU]["y"] == [pytest.approx(0.2), pytest.approx(0.5)]


def test_robustness_pairs_follow_the_catalogues_predict_with():
    expected = {
        spec.name: spec.predict_with
        for spec in registry.all_tasks()
        if not spec.train_split and spec.predict_with
    }
    assert clean_counterparts() == expected
    assert clean_counterparts()["advglue/mnli-mm"] == "glue/mnli"
    assert clean_counterparts()["glue/ax"] == "glue/mnli"
    assert "glue/sst2" not in clean_counterparts()


@pytest.fixture
def robust(users, sst2_imported, tiny_model_zip, no_enqueue, tmp_path):
    """An SST-2 model whose job also predicted AdvSST-2 (its companion)."""
    call_command(
        "import_task", "advglue/sst2", str(write_advglue_folder(tmp_path / "adv"))
    )
    submission = make_submission(
        users["owner"], model_variant(tiny_model_zip, "robust"), name="robust"
    )
    by_task = {e.task.name: e for e in submission.evaluations.all()}
    assert by_task["advglue/sst2"].predicted_by_id == by_task["glue/sst2"].pk
    finish_evaluation(by_task["glue/sst2"], 0.9)
    finish_evaluation(by_task["advglue/sst2"], 0.6)
    return submission


def test_the_submission_api_gives_the_gap_per_seed(robust):
    body = client_as(None).get(f"/api/v1/submissions/{robust.pk}").json()
    assert body["robustness"] == {
        "advglue/sst2@seed0": {
            "clean": 0.9,
            "adversarial": 0.6,
            "gap": pytest.approx(0.3),
            "clean_task": "glue/sst2",
            "numerics": "fp32-x86-64-v3",
        }
    }


def test_the_robustness_chart_pairs_each_row_with_its_clean_task(robust):
    page = client_as(None).get("/suites/advglue/").content.decode()
    script = page.split('id="chart-data" type="application/json">')[1]
    data = json.loads(script.split("</script>")[0])
    (point,) = data["adversarial"]
    assert point["task"] == "advglue/sst2" and point["clean_task"] == "glue/sst2"
    assert (point["clean"], point["adversarial"]) == (0.9, 0.6)
    assert point["numerics"] == "fp32-x86-64-v3"
    assert 'id="adversarial"' in page
    glue = client_as(None).get("/suites/glue/").content.decode()
    assert 'id="adversarial"' not in glue
