"""Exports of a submission's predictions in other benchmarks' official formats."""

import io
import json
import zipfile

from django.core.files.storage import default_storage

from leaderboard.submissions.models import Result, Submission
from tasks import registry
from tasks.errors import UserError

# Official GLUE server file names per (task, test split).
GLUE_FILES = {
    ("glue/cola", "test"): "CoLA.tsv",
    ("glue/sst2", "test"): "SST-2.tsv",
    ("glue/mrpc", "test"): "MRPC.tsv",
    ("glue/stsb", "test"): "STS-B.tsv",
    ("glue/qqp", "test"): "QQP.tsv",
    ("glue/mnli", "test_matched"): "MNLI-m.tsv",
    ("glue/mnli", "test_mismatched"): "MNLI-mm.tsv",
    ("glue/qnli", "test"): "QNLI.tsv",
    ("glue/rte", "test"): "RTE.tsv",
    ("glue/wnli", "test"): "WNLI.tsv",
    ("glue/ax", "test"): "AX.tsv",
}


def _label_text(spec, value) -> str:
    if spec.labels is None:
        return f"{float(value):.3f}"
    return spec.labels[int(value)]


def glue_submission_zip(*, submission: Submission) -> bytes:
    """The zip the GLUE server accepts: ``CoLA.tsv`` ... ``AX.tsv``, each
    ``index<TAB>prediction`` with a header, from the test-set predictions.

    Uses the lowest seed's result of each task (not a re-run). Tasks the submission
    has no test predictions for are listed in ``MISSING.txt``; the GLUE server needs
    all of them before it scores a zip.
    """
    results = (
        Result.objects.filter(
            evaluation__submission=submission, evaluation__rerun_of__isnull=True
        )
        .select_related("evaluation__task")
        .order_by("evaluation__seed")
    )
    chosen: dict[str, Result] = {}
    for result in results:
        chosen.setdefault(result.evaluation.task.name, result)
    buffer = io.BytesIO()
    missing = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for (task_name, split), filename in GLUE_FILES.items():
            result = chosen.get(task_name)
            if result is None or split not in result.predictions:
                missing.append(filename)
                continue
            spec = registry.get_task(task_name)
            lines = ["index\tprediction"]
            with default_storage.open(result.predictions[split], "rb") as handle:
                for line in handle:
                    if line.strip():
                        item = json.loads(line)
                        label = _label_text(spec, item["prediction"])
                        lines.append(f"{item['idx']}\t{label}")
            archive.writestr(filename, "\n".join(lines) + "\n")
        if len(missing) == len(GLUE_FILES):
            raise UserError(
                "export.nothing_to_export",
                "This submission has no finished GLUE test-set predictions yet.",
            )
        if missing:
            archive.writestr(
                "MISSING.txt",
                "No test predictions yet for:\n" + "\n".join(missing) + "\n",
            )
    return buffer.getvalue()
