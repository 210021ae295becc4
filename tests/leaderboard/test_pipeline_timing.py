"""Each Result says where its evaluation's wall time went, overhead included."""

import pytest

from leaderboard.submissions.pipeline.timing import time_breakdown


def test_the_breakdown_adds_worker_and_program_stages_and_the_overhead_share():
    measurements = {
        "process_seconds": 100.0,
        "stage_seconds": {
            "start": 1.0,
            "imports": 5.0,
            "numerics": 0.1,
            "load": 0.4,
            "encode": 0.5,
            "train": 80.0,
            "predict": 10.0,
            "measure": 2.0,
        },
    }
    found = time_breakdown(measurements, {"prepare": 3.0, "sandbox": 101.5})
    assert found["seconds"]["prepare"] == 3.0
    assert found["seconds"]["sandbox_start"] == 1.5
    assert found["seconds"]["other"] == 1.0  # 100 s less the 99 s of named stages
    assert found["total_seconds"] == pytest.approx(104.5)
    assert found["overhead_share"] == pytest.approx(1 - 90.0 / 104.5, abs=1e-4)


def test_a_run_that_reported_no_stages_has_no_breakdown():
    assert time_breakdown({}, {"prepare": 1.0}) is None
    assert time_breakdown({"stage_seconds": {}}, None) is None
