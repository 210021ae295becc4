"""The steps every end-to-end test takes: upload a model through the API and wait
until the submission and each of its evaluations have ended."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rest_framework.test import APIClient

TERMINAL = {"finished", "failed", "cancelled"}
"""Statuses after which nothing more happens to a submission or an evaluation."""


def upload(client: APIClient, archive: Path, **fields: Any) -> int:
    """POST ``archive`` (a model zip) with the submission ``fields``; the new id."""
    with Path(archive).open("rb") as handle:
        response = client.post(
            "/api/v1/submissions", {"archive": handle, **fields}, format="multipart"
        )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def wait_for_submission(
    client: APIClient, submission_id: int, timeout: float = 300
) -> dict:
    """The submission's API body once it and all its evaluations have ended."""
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/submissions/{submission_id}").json()
        if body["status"] in TERMINAL and all(
            e["status"] in TERMINAL for e in body["evaluations"]
        ):
            return body
        time.sleep(1)
    raise AssertionError(f"submission {submission_id} did not finish: {body}")
