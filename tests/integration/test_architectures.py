"""The architecture matrix, end to end: every supported architecture, in both
tokenizer forms, uploaded through the API and fine-tuned and scored by real
Celery workers in the real sandbox, on every task type the catalogue has.

Each checkpoint (tests/fixtures/architectures.py: a tiny random classifier with a
tokenizer trained on the fixture texts) is zipped as ``save_pretrained`` writes
it, or with the vocabulary files its hub repositories ship, and submitted with
the ``smoke`` recipe. The five task types are split between the two forms so
that each architecture runs every type once and each form reads both single
texts and pairs with its own tokenizer (:data:`PLAN`): twenty submissions,
fifty evaluations, a few minutes on two cores. Every evaluation must finish
with finite scores and a manifest that says which forward ran: packed for the
families ``kernels.packed`` computes, padded (length-bucketed) for the others
and for the two towers.

An unsupported ``model_type`` is refused at upload with the supported list:
tests/leaderboard/test_submissions.py and tests/runners/test_architectures.py.
"""

from __future__ import annotations

import math
import time

import pytest
from django.core.management import call_command

from kernels.packed import PACKED_PATH, PADDED_PATH
from runners.architectures import ARCHITECTURES
from tests.conftest import start_worker, stop_worker
from tests.fixtures.architectures import FORMS, build_checkpoint
from tests.fixtures.task_folders import TASK_TYPES, write_task_folders
from tests.fixtures.tiny_model import zip_model_dir

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(900),
]

TERMINAL = {"finished", "failed", "cancelled"}

PLAN = {
    "saved": ("glue/sst2", "glue/stsb", "lra/retrieval"),
    "hub": ("glue/rte", "blurb/hoc"),
}
"""Which tasks each form runs: together every task type, and in each form a
single-text task and a pair task (LRA Retrieval reads bytes, not the tokenizer,
so one form suffices for it)."""


@pytest.fixture(scope="module")
def second_worker(celery_worker, django_db_setup, django_db_blocker, tmp_path_factory):
    """Another worker on the same queues, as a second node would be: fifty
    single-threaded sandboxes finish in half the time on two cores."""
    with django_db_blocker.unblock():
        proc = start_worker(
            tmp_path_factory.mktemp("worker2") / "worker2.log",
            tmp_path_factory.mktemp("worker2-cwd"),
        )
    yield proc
    stop_worker(proc)


@pytest.fixture
def imported(tmp_path):
    for name, folder in write_task_folders(tmp_path / "tasks").items():
        source = folder if name.startswith("glue/") else folder.parent
        call_command("import_task", name, str(source), verbosity=0)


def _submit(api, model_type: str, form: str, tmp_path) -> int:
    model = build_checkpoint(tmp_path / model_type / form, model_type, form)
    if form == "hub" and model_type != "modernbert":  # it ships tokenizer.json only
        assert not (model / "tokenizer.json").exists(), model_type
    archive = zip_model_dir(model, tmp_path / f"{model_type}-{form}.zip")
    with archive.open("rb") as handle:
        response = api.post(
            "/api/v1/submissions",
            {
                "archive": handle,
                "name": f"tiny-{model_type}-{form}",
                "tasks": ",".join(PLAN[form]),
                "recipe": "smoke",
            },
            format="multipart",
        )
    assert response.status_code == 201, (model_type, form, response.content)
    return response.json()["id"]


def _wait(api, submission_id: int, deadline: float) -> dict:
    while True:
        body = api.get(f"/api/v1/submissions/{submission_id}").json()
        if body["status"] in TERMINAL and all(
            e["status"] in TERMINAL for e in body["evaluations"]
        ):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"submission {submission_id} did not finish: {body}")
        time.sleep(1)


def _expected_path(model_type: str, task: str) -> str:
    if task == "lra/retrieval":  # two towers: each text padded on its own
        return PADDED_PATH
    packed = ARCHITECTURES[model_type].execution == "packed"
    return PACKED_PATH if packed else PADDED_PATH


def _problems(model_type: str, form: str, body: dict) -> list[str]:
    """What is wrong with one submission's evaluations, in words ([] if nothing)."""
    by_task = {e["task"]: e for e in body["evaluations"]}
    if set(by_task) != set(PLAN[form]):
        return [f"{model_type} ({form}): evaluations {sorted(by_task)}"]
    problems = []
    for task, evaluation in sorted(by_task.items()):
        where = f"{model_type} ({form}) on {task}"
        if evaluation["status"] != "finished":
            problems.append(f"{where}: {evaluation['status']} {evaluation['error']}")
            continue
        scores = evaluation["scores"]
        if not scores or not all(math.isfinite(v) for v in scores.values()):
            problems.append(f"{where}: scores {scores}")
        manifest = evaluation["manifest"]
        path, expected = manifest["execution_path"], _expected_path(model_type, task)
        if path != expected:
            problems.append(f"{where}: ran {path}, expected {expected}")
        if manifest["sandbox"] != "bubblewrap":
            problems.append(f"{where}: sandbox {manifest['sandbox']}")
        if not evaluation["efficiency"]["train_examples_per_s"] > 0:
            problems.append(f"{where}: no training measured")
    if not problems and body["status"] != "finished":
        problems.append(f"{model_type} ({form}): submission {body['status']}")
    return problems


def test_every_architecture_in_both_forms_fine_tunes_and_scores_every_task_type(
    second_worker, api, imported, tmp_path, settings
):
    assert set().union(*PLAN.values()) == set(TASK_TYPES)
    settings.GLEW_DAILY_SUBMISSION_LIMIT = 2 * len(ARCHITECTURES)  # one user's
    # Everything is queued first, so both workers stay busy while later
    # checkpoints are built; then each submission is checked.
    submitted = {
        (model_type, form): _submit(api, model_type, form, tmp_path)
        for model_type in sorted(ARCHITECTURES)
        for form in FORMS
    }
    deadline = time.monotonic() + 780
    problems = []
    for (model_type, form), submission_id in submitted.items():
        body = _wait(api, submission_id, deadline)
        problems += _problems(model_type, form, body)
    assert not problems, "\n".join(problems)
