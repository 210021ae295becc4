"""The ``glew`` command line client against a live server (real HTTP, test DB)."""

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from glew_cli.main import main
from leaderboard.submissions.models import Submission
from tests.factories import (
    finish_all,
    finish_evaluation,
    make_submission,
    publish_run,
)

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(monkeypatch, tmp_path, live_server, settings, no_enqueue):
    """A clean CLI environment pointed at the live server; no broker needed."""
    settings.GLEW_DAILY_SUBMISSION_LIMIT = 1000
    settings.MEDIA_ROOT = tmp_path / "storage"  # not the session's shared storage
    monkeypatch.setenv("GLEW_CONFIG", str(tmp_path / "config" / "glew.json"))
    monkeypatch.setenv("GLEW_URL", live_server.url)
    monkeypatch.delenv("GLEW_TOKEN", raising=False)
    return tmp_path


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", password="pw-ada-123456")


@pytest.fixture
def logged_in(env, ada, capsys):
    assert main(["login", "--username", "ada", "--password", "pw-ada-123456"]) == 0
    capsys.readouterr()
    return ada


@pytest.fixture
def model_dir(tiny_model_zip, tmp_path) -> Path:
    folder = tmp_path / "tiny-model"
    with zipfile.ZipFile(tiny_model_zip) as archive:
        archive.extractall(folder)
    return folder


def test_login_writes_the_config_file(env, ada, capsys, live_server):
    assert main(["login", "--username", "ada", "--password", "pw-ada-123456"]) == 0
    assert "as ada" in capsys.readouterr().out
    saved = json.loads((env / "config" / "glew.json").read_text())
    assert saved["url"] == live_server.url and len(saved["token"]) == 40
    assert oct((env / "config" / "glew.json").stat().st_mode)[-3:] == "600"


def test_login_with_a_wrong_password_says_so(env, ada, capsys):
    assert main(["login", "--username", "ada", "--password", "nope"]) == 1
    assert "auth.bad_credentials" in capsys.readouterr().err


def test_submit_a_folder_then_status(logged_in, model_dir, sst2_folder, capsys):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    code = main(
        ["submit", str(model_dir), "--suite", "glue", "--recipe", "smoke", "--quiet"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    submission = Submission.objects.get()
    assert submission.owner == logged_in and submission.name == "tiny-model"
    assert f"/submissions/{submission.pk}/" in out
    main(["status", str(submission.pk)])
    assert "queued" in capsys.readouterr().out
    finish_all(submission, 0.75)
    assert main(["status", str(submission.pk), "--watch", "--interval", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "finished" in out and "score 75.0" in out


def test_submit_with_tracks_queues_each_track(
    logged_in, model_dir, sst2_folder, capsys
):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    code = main(
        [
            "submit",
            str(model_dir),
            "--task",
            "glue/sst2",
            "--recipe",
            "smoke",
            "--tracks",
            "full,lora",
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr()
    submission = Submission.objects.get()
    assert submission.tracks == ["full", "lora"]
    assert sorted(e.recipe_version for e in submission.evaluations.all()) == [
        "smoke@4",
        "smoke@4+lora@1",
    ]
    for evaluation in submission.evaluations.all():
        finish_evaluation(evaluation, 0.7 if evaluation.method == "lora" else 0.8)
    capsys.readouterr()
    assert main(["leaderboard", "glue", "--track", "lora", "--csv"]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert float(row["score"]) == pytest.approx(0.7)


def test_submit_without_login_is_refused_plainly(env, model_dir, capsys):
    assert main(["submit", str(model_dir), "--suite", "glue"]) == 1
    assert "glew login" in capsys.readouterr().err


def test_a_refused_upload_shows_the_server_message(
    logged_in, tmp_path, sst2_folder, capsys
):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    bogus = tmp_path / "bogus"
    bogus.mkdir()
    (bogus / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    (bogus / "config.json").write_text('{"model_type": "bert"}')
    assert main(["submit", str(bogus), "--task", "glue/sst2", "--quiet"]) == 1
    assert "upload.pickle_weights" in capsys.readouterr().err
    assert Submission.objects.count() == 0


def test_leaderboard_csv_and_table(
    logged_in, model_dir, sst2_folder, capsys, live_server, tiny_model_zip
):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    main(
        [
            "submit",
            str(model_dir),
            "--task",
            "glue/sst2",
            "--recipe",
            "smoke",
            "--quiet",
        ]
    )
    finish_all(Submission.objects.get(), 0.8)
    capsys.readouterr()
    assert main(["leaderboard", "glue", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["name"] for r in rows] == ["tiny-model"]
    assert main(["leaderboard", "glue"]) == 0
    table = capsys.readouterr().out
    assert "tiny-model" in table and "80.0" in table
    # The installed entry point, as a user runs it.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "glew_cli.main",
            "--url",
            live_server.url,
            "leaderboard",
            "glue",
            "--csv",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env={**os.environ, "GLEW_CONFIG": "/nonexistent/glew.json"},
    )
    assert result.returncode == 0, result.stderr
    assert "tiny-model" in result.stdout


def test_download_a_dataset(env, sst2_folder, capsys, tmp_path):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    out = tmp_path / "sst2.zip"
    assert main(["download", "glue/sst2", "-o", str(out)]) == 0
    assert "Saved glue/sst2" in capsys.readouterr().out
    names = zipfile.ZipFile(out).namelist()
    assert "datasheet.json" in names and "train.parquet" in names
    assert main(["download", "glue/nope", "-o", str(out)]) == 1
    assert "task.not_found" in capsys.readouterr().err


def test_the_leaderboard_table_labels_a_partial_score_and_seeds_that_did_not_learn(
    logged_in, sst2_folder, capsys, tiny_model_zip, tmp_path
):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    submission = make_submission(
        logged_in, tiny_model_zip.read_bytes(), name="constant"
    )
    publish_run(submission.evaluations.get(), {"validation": [1] * 16}, tmp_path / "j")
    capsys.readouterr()
    assert main(["leaderboard", "glue"]) == 0
    table = capsys.readouterr().out
    assert "P1" in table and "50.0 (partial 1/9)" in table
    assert "50.0 (1/1 dnl)" in table
    assert "GLUE score over 1 of 9 tasks; CoLA, MNLI" in table
    assert "ranked among themselves" in table and "dnl: seeds that did not" in table
