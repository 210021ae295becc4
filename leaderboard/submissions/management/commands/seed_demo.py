"""First-start setup of ``make run``: catalogue, whatever data is at hand, baseline."""

import io
import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from leaderboard.catalogue.models import DatasetVersion
from leaderboard.catalogue.services import catalogue_sync, dataset_version_store
from leaderboard.submissions.baseline import (
    BASELINE_NAME,
    BASELINE_USER,
    minilm_dir,
    zip_model_folder,
)
from leaderboard.submissions.intake import submission_create
from leaderboard.submissions.models import Submission
from tasks.errors import GlewError
from tasks.importers.loading import load_suite

DEMO_SUITE = "glue"
HUB_TASKS = ("glue/sst2", "glue/rte", "glue/mrpc", "glue/stsb", "glue/cola")

HOW_TO_IMPORT = """\
No task data is available, so the baseline was not queued.
Import GLUE in its original layout (train.tsv, dev.tsv, test.tsv per task folder):
    .venv/bin/python manage.py import_task glue /path/to/glue_data
or start with GLEW_DATA_DIR=/path/to/glue_data make run
then queue the baseline with: .venv/bin/python manage.py seed_demo"""


class Command(BaseCommand):
    help = "Sync the catalogue, import local or hub data, queue the baseline."

    def add_arguments(self, parser):
        parser.add_argument(
            "--recipe", default=os.environ.get("GLEW_DEMO_RECIPE", "quick")
        )
        parser.add_argument("--data-dir", default=os.environ.get("GLEW_DATA_DIR", ""))
        parser.add_argument(
            "--no-hub", action="store_true", help="do not try the Hugging Face hub"
        )

    def handle(self, *args, recipe: str, data_dir: str, no_hub: bool, **options):
        catalogue_sync()
        self._import_data(data_dir, try_hub=not no_hub)
        if not DatasetVersion.objects.filter(task__suite__slug=DEMO_SUITE).exists():
            self.stdout.write(self.style.WARNING(HOW_TO_IMPORT))
            return
        self._queue_baseline(recipe)

    def _import_data(self, data_dir: str, *, try_hub: bool) -> None:
        if data_dir:
            try:
                for dataset in load_suite(DEMO_SUITE, Path(data_dir)):
                    version, created = dataset_version_store(
                        dataset=dataset, source=data_dir
                    )
                    state = "imported" if created else "already imported"
                    self.stdout.write(
                        f"{dataset.task.name}: {state} ({version.sha256[:12]})"
                    )
            except GlewError as error:
                self.stdout.write(self.style.WARNING(f"GLEW_DATA_DIR: {error.message}"))
            return
        if (
            DatasetVersion.objects.filter(task__suite__slug=DEMO_SUITE).exists()
            or not try_hub
        ):
            return
        from tasks.importers.hf_hub import load_glue_from_hub

        for task_name in HUB_TASKS:
            try:
                dataset = load_glue_from_hub(task_name)
            except GlewError as error:
                self.stdout.write(
                    self.style.WARNING(f"Hugging Face hub: {error.message}")
                )
                return
            dataset_version_store(dataset=dataset, source="hf:nyu-mll/glue")
            self.stdout.write(f"{task_name}: imported from the Hugging Face hub")

    def _queue_baseline(self, recipe: str) -> None:
        owner, _ = get_user_model().objects.get_or_create(
            username=BASELINE_USER, defaults={"is_active": False}
        )
        if Submission.objects.filter(
            is_baseline=True, name=BASELINE_NAME, recipe=recipe
        ).exists():
            self.stdout.write("Baseline already registered.")
            return
        archive = zip_model_folder(minilm_dir())
        try:
            submission = submission_create(
                owner=owner,
                name=BASELINE_NAME,
                archive_stream=io.BytesIO(archive),
                recipe=recipe,
                suites=[DEMO_SUITE],
                is_baseline=True,
                description="sentence-transformers/all-MiniLM-L6-v2 (22.7M params), "
                "fine-tuned by the platform.",
            )
        except GlewError as error:
            self.stdout.write(
                self.style.WARNING(f"Baseline not queued: {error.message}")
            )
            return
        tasks = sorted({e.task.name for e in submission.evaluations.all()})
        self.stdout.write(
            f"Baseline queued as submission #{submission.pk} ({recipe}) on "
            f"{', '.join(tasks)}."
        )
