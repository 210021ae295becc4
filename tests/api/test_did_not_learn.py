"""A run that did not learn is flagged where results are published, and the flag is
visible: on the Result, in the API, on the submission page and in the board's cell.

Predictions go through the real publisher (``tests.factories.publish_run``). The
tiny SST-2 (``tests/conftest.write_sst2_folder``) trains on 22 rows of each class,
so the majority-class baseline predicts class 0 (the lower index of a tie); its
validation split is 8 rows of class 1 then 8 of class 0: majority 0.5, chance 0.5.
"""

import csv
import importlib
import io

import pytest
from django.apps import apps
from django.core.management import call_command

from leaderboard.catalogue.models import DatasetVersion
from leaderboard.submissions.models import Result
from tests.api.conftest import client_as
from tests.api.test_evaluation_only_results import (
    write_ax_folder,
    write_mnli_folder,
)
from tests.factories import (
    finish_evaluation,
    make_submission,
    model_variant,
    publish_run,
)

pytestmark = pytest.mark.django_db

CONSTANT = [1] * 16  # "1" everywhere: 8 of 16 right
AT_MAJORITY = [1] * 4 + [0] * 4 + [1] * 4 + [0] * 4  # varied, 8 of 16 right
LEARNED = [1] * 8 + [0] * 6 + [1] * 2  # 14 of 16 right


@pytest.fixture
def one_seed(users, sst2_imported, tiny_model_zip, no_enqueue):
    submission = make_submission(
        users["owner"], model_variant(tiny_model_zip, "dnl"), name="dnl-model"
    )
    return submission, submission.evaluations.get()


def test_the_imported_tiny_sst2_has_the_baselines_this_module_assumes(one_seed):
    version = DatasetVersion.objects.get(task__name="glue/sst2")
    assert version.baselines["majority"]["task_score"] == 0.5
    assert version.baselines["majority"]["prediction"] == 0
    assert version.baselines["chance"]["task_score"] == 0.5


def test_a_constant_predictor_is_flagged_in_the_result_api_page_and_cell(
    users, one_seed, tmp_path
):
    submission, evaluation = one_seed
    result = publish_run(evaluation, {"validation": CONSTANT}, tmp_path / "job")
    assert result.task_score == 0.5
    assert result.did_not_learn is True
    assert result.did_not_learn_reason.startswith(
        "predicted one class for every row (1)"
    )

    body = client_as(None).get(f"/api/v1/submissions/{submission.pk}").json()
    (api,) = body["evaluations"]
    assert api["did_not_learn"] is True
    assert api["did_not_learn_reason"] == result.did_not_learn_reason

    page = client_as(None).get(f"/submissions/{submission.pk}/").content.decode()
    assert "did not learn: predicted one class for every row (1)" in page
    assert "1/1 did not learn" in page  # the scores table, next to the score

    board = client_as(None).get("/api/v1/leaderboards/glue").json()
    (row,) = board["rows"]
    assert row["task_details"]["glue/sst2"]["did_not_learn"] == 1
    assert row["did_not_learn"] == 1
    suite_page = client_as(None).get("/suites/glue/").content.decode()
    assert "1/1 did not learn" in suite_page and "did-not-learn" in suite_page
    exported = client_as(None).get("/api/v1/leaderboards/glue?format=csv")
    (line,) = csv.DictReader(io.StringIO(exported.content.decode()))
    assert line["glue/sst2 did_not_learn"] == "1"


def test_a_score_equal_to_the_majority_baseline_is_flagged(one_seed, tmp_path):
    _, evaluation = one_seed
    result = publish_run(evaluation, {"validation": AT_MAJORITY}, tmp_path / "job")
    assert result.task_score == 0.5
    assert result.did_not_learn is True
    assert result.did_not_learn_reason == (
        "score 0.500 is not above the majority-class baseline 0.500 "
        "or the chance baseline 0.500"
    )


def test_a_model_that_learned_is_not_flagged_anywhere(users, one_seed, tmp_path):
    submission, evaluation = one_seed
    result = publish_run(evaluation, {"validation": LEARNED}, tmp_path / "job")
    assert result.task_score == 0.875
    assert (result.did_not_learn, result.did_not_learn_reason) == (False, "")
    body = client_as(None).get(f"/api/v1/submissions/{submission.pk}").json()
    assert body["evaluations"][0]["did_not_learn"] is False
    page = client_as(None).get(f"/submissions/{submission.pk}/").content.decode()
    assert "did not learn:" not in page
    suite_page = client_as(None).get("/suites/glue/").content.decode()
    assert "did not learn" not in suite_page.split('<table id="leaderboard"')[1]


def test_a_cell_shows_the_seed_spread_and_the_share_that_did_not_learn(
    users, sst2_imported, tiny_model_zip, no_enqueue, tmp_path
):
    submission = make_submission(
        users["owner"], model_variant(tiny_model_zip, "seeds"), recipe="standard"
    )
    evaluations = list(submission.evaluations.order_by("seed"))
    assert len(evaluations) == 3
    for evaluation, values in zip(
        evaluations, (CONSTANT, LEARNED, LEARNED), strict=True
    ):
        publish_run(
            evaluation, {"validation": values}, tmp_path / f"job{evaluation.pk}"
        )
    row = client_as(None).get("/api/v1/leaderboards/glue").json()["rows"][0]
    cell = row["task_details"]["glue/sst2"]
    assert cell["seeds"] == 3 and cell["did_not_learn"] == 1
    assert cell["mean"] == pytest.approx((0.5 + 0.875 * 2) / 3)
    assert cell["std"] > 0
    page = client_as(None).get("/suites/glue/").content.decode()
    assert "1/3 did not learn" in page
    assert "± " in page and "n=3" in page
    task_page = client_as(None).get("/tasks/glue/sst2/").content.decode()
    assert "1/3 did not learn" in task_page
    task_api = client_as(None).get("/api/v1/tasks/glue/sst2").json()
    assert task_api["leaderboard"][0]["did_not_learn"] == 1


def test_ax_is_never_flagged(
    users, sst2_imported, tiny_model_zip, no_enqueue, tmp_path
):
    call_command("import_task", "glue/mnli", str(write_mnli_folder(tmp_path / "MNLI")))
    call_command("import_task", "glue/ax", str(write_ax_folder(tmp_path / "ax")))
    submission = make_submission(
        users["owner"], model_variant(tiny_model_zip, "ax"), tasks=("glue/mnli",)
    )
    mnli = submission.evaluations.get(task__name="glue/mnli")
    # One class everywhere, AX included: MNLI is flagged, AX has nothing to compare.
    publish_run(mnli, {"glue-ax__test": [0] * 5}, tmp_path / "job")
    ax = Result.objects.get(evaluation__task__name="glue/ax")
    assert ax.task_score is None
    assert (ax.did_not_learn, ax.did_not_learn_reason) == (None, "")
    assert Result.objects.get(evaluation=mnli).did_not_learn is True
    body = client_as(None).get(f"/api/v1/submissions/{submission.pk}").json()
    api = next(e for e in body["evaluations"] if e["task"] == "glue/ax")
    assert api["did_not_learn"] is None
    page = client_as(None).get(f"/submissions/{submission.pk}/").content.decode()
    assert page.count("did not learn: predicted one class") == 1  # MNLI's only


_results_migration = importlib.import_module(
    "leaderboard.submissions.migrations.0008_did_not_learn"
)


def test_the_migration_judges_old_results_where_the_data_allow_it(
    users, sst2_imported, tiny_model_zip, no_enqueue, tmp_path
):
    def submitted(tag):
        sub = make_submission(users["owner"], model_variant(tiny_model_zip, tag))
        return sub.evaluations.get()

    with_predictions = publish_run(
        submitted("p"), {"validation": CONSTANT}, tmp_path / "job"
    )
    at_majority = finish_evaluation(submitted("m"), 0.5)  # no validation predictions
    above = finish_evaluation(submitted("a"), 0.9)  # no validation predictions
    Result.objects.update(did_not_learn=None, did_not_learn_reason="")

    _results_migration.backfill(apps, None)

    for result in (with_predictions, at_majority, above):
        result.refresh_from_db()
    assert with_predictions.did_not_learn is True  # predictions re-read: constant
    assert "predicted one class" in with_predictions.did_not_learn_reason
    assert at_majority.did_not_learn is True  # the score alone proves it
    assert "not above the majority-class baseline" in at_majority.did_not_learn_reason
    assert above.did_not_learn is None  # a constant predictor cannot be ruled out
