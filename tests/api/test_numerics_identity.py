"""A result's numerics profile is part of its identity (kernels.numerics).

Two results of one submission and task computed in different profiles (here: the
seeds of a bf16 recipe, some run on a GPU and some on a native-bf16 CPU, as a mixed
fleet would) are never averaged into one cell: the board, its API and its CSV show
one row per profile, and a re-run's drift compares like with like only.
"""

import csv
import io

import pytest

from leaderboard.submissions import lifecycle
from tests.api.conftest import client_as
from tests.factories import finish_evaluation, make_submission, model_variant

pytestmark = pytest.mark.django_db

GPU, CPU = "bf16-cuda", "bf16-cpu"


@pytest.fixture
def mixed(users, sst2_imported, tiny_model_zip, no_enqueue):
    """A standard-recipe submission: seeds 0 and 1 on a GPU, seed 2 on a CPU."""
    submission = make_submission(
        users["owner"],
        model_variant(tiny_model_zip, "mixed"),
        name="mixed-fleet",
        recipe="standard",
    )
    by_seed = {e.seed: e for e in submission.evaluations.all()}
    assert sorted(by_seed) == [0, 1, 2]
    finish_evaluation(by_seed[0], 0.80, numerics=GPU, device="cuda")
    finish_evaluation(by_seed[1], 0.90, numerics=GPU, device="cuda")
    finish_evaluation(by_seed[2], 0.50, numerics=CPU, device="cpu")
    return submission


def test_bf16_recipes_go_to_the_gpu_queue_and_fp32_ones_to_the_cpu_queue(
    users, sst2_imported, tiny_model_zip, no_enqueue, settings
):
    standard = make_submission(
        users["owner"], model_variant(tiny_model_zip, "q1"), recipe="standard"
    )
    quick = make_submission(
        users["owner"], model_variant(tiny_model_zip, "q2"), recipe="quick"
    )
    queues = settings.GLEW_QUEUES
    assert {e.queue for e in standard.evaluations.all()} == {queues["gpu"]}
    assert {e.queue for e in quick.evaluations.all()} == {queues["cpu"]}


def test_results_of_two_profiles_are_two_rows_on_the_board_and_in_the_api(users, mixed):
    data = client_as(None).get("/api/v1/leaderboards/glue").json()
    rows = [r for r in data["rows"] if r["submission"] == mixed.pk]
    by_profile = {r["numerics"]: r for r in rows}
    assert set(by_profile) == {GPU, CPU}
    gpu, cpu = by_profile[GPU]["task_details"], by_profile[CPU]["task_details"]
    assert gpu["glue/sst2"]["mean"] == pytest.approx(0.85)
    assert gpu["glue/sst2"]["seeds"] == 2
    assert cpu["glue/sst2"]["mean"] == pytest.approx(0.50)
    assert cpu["glue/sst2"]["seeds"] == 1
    # Nowhere is 0.7333 (all three seeds averaged) shown.
    assert all(r["score"] != pytest.approx(2.2 / 3) for r in rows)

    only_cpu = client_as(None).get(f"/api/v1/leaderboards/glue?numerics={CPU}").json()
    assert [(r["submission"], r["numerics"]) for r in only_cpu["rows"]] == [
        (mixed.pk, CPU)
    ]


def test_the_csv_export_and_the_page_keep_profiles_apart(users, mixed):
    client = client_as(None)
    exported = client.get("/suites/glue/?format=csv").content.decode()
    table = list(csv.DictReader(io.StringIO(exported)))
    cells = {r["numerics"]: float(r["glue/sst2 mean"]) for r in table}
    assert cells == {GPU: pytest.approx(0.85), CPU: pytest.approx(0.50)}

    page = client.get("/suites/glue/").content.decode()
    assert f'data-row="{mixed.pk}:{GPU}"' in page
    assert f'data-row="{mixed.pk}:{CPU}"' in page
    assert f'<option value="{CPU}"' in page  # the numerics filter
    detail = client_as(users["owner"]).get(f"/submissions/{mixed.pk}/")
    assert detail.status_code == 200
    text = detail.content.decode()
    assert text.count('<code class="numerics">bf16-cuda</code>') >= 1
    assert text.count('<code class="numerics">bf16-cpu</code>') >= 1


def test_compare_keeps_profiles_apart(users, mixed):
    data = client_as(users["owner"]).get(f"/api/v1/compare?ids={mixed.pk},{mixed.pk}")
    assert data.status_code == 200
    rows = {(r["task"], r["numerics"]): r for r in data.json()["tasks"]}
    assert set(rows) == {("glue/sst2", GPU), ("glue/sst2", CPU)}
    assert rows[("glue/sst2", GPU)]["entries"][0]["mean"] == pytest.approx(0.85)
    assert rows[("glue/sst2", CPU)]["entries"][0]["mean"] == pytest.approx(0.50)


def test_a_reruns_drift_compares_like_with_like_only(users, mixed):
    owner = users["owner"]
    original = mixed.evaluations.get(seed=0)  # bf16-cuda, 0.80
    same = lifecycle.evaluation_rerun(evaluation_id=original.pk, user=owner)
    finish_evaluation(same, 0.79, numerics=GPU, device="cuda")
    other = lifecycle.evaluation_rerun(evaluation_id=original.pk, user=owner)
    finish_evaluation(other, 0.60, numerics=CPU)

    data = client_as(owner).get(f"/api/v1/submissions/{mixed.pk}").json()
    by_id = {e["id"]: e for e in data["evaluations"]}
    assert by_id[same.pk]["drift"] == {"accuracy": pytest.approx(-0.01)}
    assert by_id[same.pk]["drift_note"] is None
    assert by_id[other.pk]["drift"] is None
    assert "bf16-cpu" in by_id[other.pk]["drift_note"]
    assert "bf16-cuda" in by_id[other.pk]["drift_note"]
    assert by_id[other.pk]["numerics"] == CPU

    page = client_as(owner).get(f"/submissions/{mixed.pk}/").content.decode()
    assert "drift vs eval" in page and "Not compared" in page
    # Re-runs never join the board's cells, whatever their profile.
    board = client_as(None).get("/api/v1/leaderboards/glue").json()
    cpu_row = next(r for r in board["rows"] if r["numerics"] == CPU)
    assert cpu_row["task_details"]["glue/sst2"]["seeds"] == 1
