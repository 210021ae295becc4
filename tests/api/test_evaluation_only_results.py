"""An unscored evaluation-only result (GLUE's AX) beside scored ones breaks nothing.

AX is GLUE's diagnostic set: unlabelled in the release, so the MNLI model's job
predicts it as a companion evaluation and its Result stores predictions with
``task_score=None`` and ``scores={}``. Pages and the API that average scores used
to answer 500 for such a submission (``statistics.fmean`` over None); the one
averaging rule (``leaderboard.standings.cells``) leaves unscored results out.
"""

import pytest
from django.core.management import call_command

from leaderboard.standings.cells import submission_cells
from leaderboard.submissions import lifecycle
from leaderboard.submissions.status import Status
from tests.api.conftest import client_as
from tests.factories import finish_evaluation, make_submission, model_variant
from tests.tasks.conftest import MNLI_DEV, MNLI_TRAIN, write_tsv

pytestmark = pytest.mark.django_db

LABELS = ("entailment", "neutral", "contradiction")


def _mnli_row(index: int, labels: list[str]) -> list[str]:
    return [
        str(index),
        "31193",
        f"{index}n",
        "government",
        "( ( A B ) )",
        "( C )",
        "(ROOT (S A B))",
        "(ROOT C)",
        f"Premise number {index}.",
        f"Hypothesis number {index}.",
        *labels,
    ]


def write_mnli_folder(folder):
    """A tiny MNLI in the GLUE release layout (columns read by header name)."""
    train = [_mnli_row(i, [LABELS[i % 3]] * 2) for i in range(12)]
    write_tsv(folder / "train.tsv", train, header=MNLI_TRAIN)
    for name in ("dev_matched.tsv", "dev_mismatched.tsv"):
        dev = [_mnli_row(i, [LABELS[i % 3]] * 6) for i in range(6)]
        write_tsv(folder / name, dev, header=MNLI_DEV)
    for name in ("test_matched.tsv", "test_mismatched.tsv"):
        test = [_mnli_row(i, [])[:10] for i in range(4)]
        write_tsv(folder / name, test, header=MNLI_TRAIN[:10])
    return folder


def write_ax_folder(folder):
    """GLUE's diagnostic.tsv layout: index, sentence1, sentence2; no labels."""
    rows = [
        [str(i), f"The cat sat {i}.", f"The cat did not sit {i}."] for i in range(5)
    ]
    write_tsv(
        folder / "diagnostic.tsv", rows, header=["index", "sentence1", "sentence2"]
    )
    return folder


def finish_unscored(evaluation) -> None:
    """Finish a companion as the worker does when its split has no labels (AX)."""
    lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
    lifecycle.evaluation_move(evaluation_id=evaluation.pk, to=Status.SCORING)
    lifecycle.evaluation_finish(
        evaluation_id=evaluation.pk,
        scores={},
        task_score=None,
        # A companion carries its job's measurements (one run predicted both).
        efficiency={
            "params": 4_000_000,
            "infer_examples_per_s": 100.0,
            "latency_p50_ms": 10.0,
            "peak_memory_bytes": 200_000_000,
            "train_seconds": 10.0,
            "device": "cpu",
        },
        manifest={"model_sha256": evaluation.submission.archive.sha256, "seed": 0},
        predictions={},
        numerics="fp32-x86-64-v3",
    )


@pytest.fixture
def with_ax(users, sst2_imported, tiny_model_zip, no_enqueue, tmp_path):
    """A submission on SST-2 and MNLI whose MNLI job also predicted AX (unscored),
    and a second submission to compare it with."""
    call_command("import_task", "glue/mnli", str(write_mnli_folder(tmp_path / "MNLI")))
    call_command("import_task", "glue/ax", str(write_ax_folder(tmp_path / "ax")))
    submission = make_submission(
        users["owner"],
        model_variant(tiny_model_zip, "ax"),
        name="with-ax",
        tasks=("glue/sst2", "glue/mnli"),
    )
    by_task = {e.task.name: e for e in submission.evaluations.all()}
    assert by_task["glue/ax"].predicted_by_id == by_task["glue/mnli"].pk
    finish_evaluation(by_task["glue/sst2"], 0.8)
    finish_evaluation(by_task["glue/mnli"], 0.6)
    finish_unscored(by_task["glue/ax"])
    other = make_submission(
        users["owner"], model_variant(tiny_model_zip, "plain"), name="plain"
    )
    finish_evaluation(other.evaluations.get(), 0.7)
    return submission, other


def test_an_unscored_ax_result_is_left_out_of_the_cells(with_ax):
    submission, _ = with_ax
    ax = submission.evaluations.get(task__name="glue/ax")
    assert ax.result.task_score is None and ax.result.scores == {}
    assert "not scored" in str(ax.result)
    cells = submission_cells(submission)
    assert set(cells) == {
        ("glue/sst2", "fp32-x86-64-v3"),
        ("glue/mnli", "fp32-x86-64-v3"),
    }


def test_the_submission_page_renders_with_an_ax_result(users, with_ax):
    submission, _ = with_ax
    for who in (None, users["owner"]):
        response = client_as(who).get(f"/submissions/{submission.pk}/")
        assert response.status_code == 200
        page = response.content.decode()
        assert "glue/mnli" in page and "glue/ax" in page


def test_the_submission_api_answers_with_an_ax_result(with_ax):
    submission, _ = with_ax
    response = client_as(None).get(f"/api/v1/submissions/{submission.pk}")
    assert response.status_code == 200
    body = response.json()
    ax = next(e for e in body["evaluations"] if e["task"] == "glue/ax")
    assert ax["task_score"] is None and ax["scores"] == {}
    assert body["robustness"] == {}, "an unscored task has no robustness gap"


def test_the_compare_page_and_api_answer_with_an_ax_result(with_ax):
    submission, other = with_ax
    ids = f"{submission.pk},{other.pk}"
    page = client_as(None).get(f"/compare/?ids={ids}")
    assert page.status_code == 200
    assert b"-10.0" in page.content  # SST-2: 0.7 against 0.8
    response = client_as(None).get(f"/api/v1/compare?ids={ids}")
    assert response.status_code == 200
    rows = {row["task"]: row for row in response.json()["tasks"]}
    assert set(rows) == {"glue/mnli", "glue/sst2"}
    assert rows["glue/sst2"]["entries"][1]["diff"] == pytest.approx(-0.1)
    assert rows["glue/mnli"]["entries"][1]["mean"] is None


def test_the_board_shows_the_scored_tasks_only(with_ax):
    submission, _ = with_ax
    body = client_as(None).get("/api/v1/leaderboards/glue").json()
    assert "glue/ax" not in body["tasks"]
    row = next(r for r in body["rows"] if r["submission"] == submission.pk)
    assert set(row["tasks"]) == {"glue/sst2", "glue/mnli"}
    assert client_as(None).get("/suites/glue/").status_code == 200
    assert client_as(None).get("/tasks/glue/ax/").status_code == 200
