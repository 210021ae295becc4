"""Rank confidence (``standings.bootstrap``, ``standings.confidence``) against cases
with a known answer: identical predictions tie (P(rank) one half, interval over
both places, not separable); a model right where another is wrong on every example
holds its rank in every resample (interval [1, 1]).

The tiny SST-2 validation split (``tests/conftest.write_sst2_folder``) is 8 rows of
class 1 then 8 of class 0.
"""

import csv
import io

import numpy as np
import pytest

from leaderboard.catalogue.models import Suite
from leaderboard.standings.bootstrap import (
    RESAMPLES,
    counted_resamples,
    example_draws,
)
from leaderboard.standings.confidence import (
    rank_confidence,
    suite_rank_confidence_refresh,
)
from leaderboard.submissions import intake
from leaderboard.submissions.models import LeaderboardEntry
from tasks import registry, scoring
from tests.api.conftest import client_as
from tests.factories import make_submission, model_variant, publish_run

pytestmark = pytest.mark.django_db

RIGHT = [1] * 8 + [0] * 8
WRONG = [0] * 8 + [1] * 8


def test_identical_resampled_scores_tie_at_one_half():
    samples = np.tile(np.linspace(0.5, 0.9, 200), (2, 1))
    first, second = rank_confidence(samples)
    assert (first.low, first.high, second.low, second.high) == (1, 2, 1, 2)
    assert first.p_rank == pytest.approx(0.5, abs=0.08)
    assert second.p_rank == pytest.approx(0.5, abs=0.08)
    assert first.separable_from_next is False
    assert second.separable_from_next is None


def test_a_row_better_in_every_resample_holds_its_rank():
    rng = np.random.default_rng(0)
    worse = rng.random(300) * 0.4
    first, second = rank_confidence(np.stack([worse + 0.5, worse]))
    assert (first.low, first.high, first.p_rank) == (1, 1, 1.0)
    assert (second.low, second.high, second.p_rank) == (2, 2, 1.0)
    assert first.separable_from_next is True


def test_the_same_rows_give_the_same_confidence():
    samples = np.random.default_rng(1).random((4, 100))
    assert rank_confidence(samples, salt=("x",)) == rank_confidence(
        samples, salt=("x",)
    )


@pytest.mark.parametrize("task", ["glue/cola", "glue/mrpc", "glue/mnli"])
def test_counted_metrics_equal_the_metrics_on_the_drawn_rows(task):
    """Confusion-matrix resamples (MCC, F1 + accuracy, two splits) give what
    ``tasks.scoring`` gives on the drawn rows themselves."""
    spec = registry.get_task(task)
    rng = np.random.default_rng(3)
    classes = len(spec.labels)
    data = {
        split: (
            rng.integers(0, classes, 60).tolist(),
            rng.integers(0, classes, 60).tolist(),
        )
        for split in scoring.scored_splits(spec)
    }
    fast = counted_resamples(spec, data, ("s", task), "v", 20)
    for b in range(20):
        drawn = {
            split: [example_draws(("s", task, "v", split), 60, b)] for split in data
        }
        preds = {s: [data[s][0][i] for i in drawn[s][0]] for s in data}
        refs = {s: [data[s][1][i] for i in drawn[s][0]] for s in data}
        slow = scoring.task_score(spec, scoring.score_predictions(spec, preds, refs))
        assert fast[b] == pytest.approx(slow, abs=1e-9)


@pytest.fixture
def three_models(users, sst2_imported, tiny_model_zip, no_enqueue, tmp_path):
    """``best`` right on every example; ``twin-a`` and ``twin-b`` both wrong on
    every example, with identical predictions."""
    made = {}
    for name, predictions in (("best", RIGHT), ("twin-a", WRONG), ("twin-b", WRONG)):
        submission = make_submission(
            users["owner"], model_variant(tiny_model_zip, name), name=name
        )
        publish_run(
            submission.evaluations.get(), {"validation": predictions}, tmp_path / name
        )
        made[name] = submission
    return made


def _confidence(submission) -> dict:
    return LeaderboardEntry.objects.get(submission=submission).rank_confidence


def test_bootstrap_over_examples_ties_identical_models_and_separates_the_best(
    three_models,
):
    best = _confidence(three_models["best"])
    assert (best["low"], best["high"], best["p_rank"]) == (1, 1, 1.0)
    assert best["separable_from_next"] is True
    assert best["resamples"] == RESAMPLES
    twins = [_confidence(three_models[n]) for n in ("twin-a", "twin-b")]
    assert [(t["low"], t["high"]) for t in twins] == [(2, 3), (2, 3)]
    for twin in twins:
        assert twin["p_rank"] == pytest.approx(0.5, abs=0.07)
    assert twins[0]["separable_from_next"] is False
    # The row's resampled scores vary with the examples drawn (not only seeds).
    entry = LeaderboardEntry.objects.get(submission=three_models["best"])
    assert len(entry.bootstrap) == RESAMPLES and set(entry.bootstrap) == {1.0}
    twin = LeaderboardEntry.objects.get(submission=three_models["twin-a"])
    assert set(twin.bootstrap) == {0.0}


def test_rank_confidence_is_deterministic_across_refreshes(three_models):
    before = {
        e.pk: (e.rank_confidence, e.bootstrap) for e in LeaderboardEntry.objects.all()
    }
    suite_rank_confidence_refresh(suite=Suite.objects.get(slug="glue"))
    after = {
        e.pk: (e.rank_confidence, e.bootstrap) for e in LeaderboardEntry.objects.all()
    }
    assert before == after


def test_api_exports_and_page_show_rank_confidence(three_models):
    body = client_as(None).get("/api/v1/leaderboards/glue").json()
    assert "bootstrap" in body["rank_confidence_method"]
    by_name = {r["name"]: r for r in body["rows"]}
    assert by_name["best"]["rank_confidence"]["high"] == 1
    twins = [by_name["twin-a"], by_name["twin-b"]]
    assert [t["inseparable_from_next"] for t in twins] == [True, False]
    text = client_as(None).get("/suites/glue/?format=csv").content.decode()
    lines = {r["name"]: r for r in csv.DictReader(io.StringIO(text))}
    assert (lines["best"]["rank_low"], lines["best"]["rank_high"]) == ("1", "1")
    assert lines["twin-a"]["inseparable_from_next"] == "1"
    page = client_as(None).get("/suites/glue/").content.decode()
    assert 'id="rank-confidence-method"' in page
    assert f"{RESAMPLES} bootstrap resamples" in page
    assert "≈ next" in page


def test_a_row_made_private_leaves_the_public_ranking(users, three_models):
    intake.submission_set_visibility(
        submission=three_models["twin-b"], user=users["owner"], visibility="private"
    )
    assert _confidence(three_models["twin-b"]) == {}
    twin = _confidence(three_models["twin-a"])
    assert (twin["low"], twin["high"], twin["among"]) == (2, 2, 2)
