"""The load benchmark's CPU meter: CPU seconds per route and cache outcome."""

import json

from leaderboard.microcache import OUTCOME
from leaderboard.request_cpu import RequestCpu, route_of


def test_ids_in_paths_fold_into_one_route_but_versions_do_not():
    assert route_of("/api/v1/submissions/123") == "/api/v1/submissions/N"
    assert route_of("/tasks/glue/sst2/") == "/tasks/glue/sst2/"


def app(environ, start_response):
    environ[OUTCOME] = "hit"
    start_response("200 OK", [])
    return [b"x"]


def call(meter, path, **extra):
    environ = {"PATH_INFO": path, "QUERY_STRING": "", **extra}
    result = meter(environ, lambda *a: None)
    list(result)
    getattr(result, "close", lambda: None)()


def test_requests_are_counted_by_route_and_outcome_and_warmup_is_left_out(tmp_path):
    meter = RequestCpu(app, str(tmp_path))
    call(meter, "/api/v1/submissions/1", HTTP_X_GLEW_WARMUP="1")
    call(meter, "/api/v1/submissions/1")
    call(meter, "/api/v1/submissions/2")
    call(meter, "/suites/glue/", QUERY_STRING="page=2")
    meter.write()
    (written,) = tmp_path.glob("*.json")
    totals = json.loads(written.read_text())["totals"]
    assert {key: row[0] for key, row in totals.items()} == {
        "/api/v1/submissions/N hit": 2,
        "/suites/glue/? hit": 1,
    }
