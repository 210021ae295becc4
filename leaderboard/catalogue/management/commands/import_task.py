from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leaderboard.catalogue.services import catalogue_sync, dataset_version_store
from tasks.errors import GlewError
from tasks.importers.loading import load_suite, load_task


class Command(BaseCommand):
    help = (
        "Import a task's data from its original release files: "
        "import_task glue/sst2 PATH (a task folder or a suite root), or "
        "import_task glue PATH to import every task of the suite found under PATH."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "target", help="SUITE/TASK (e.g. glue/sst2) or SUITE (glue)"
        )
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--format", default=None, help="importer, if not the task's"
        )

    def handle(self, *args, target: str, path: Path, format: str | None, **options):
        catalogue_sync()
        try:
            if "/" in target:
                datasets = [load_task(target, path, format=format)]
            else:
                datasets = load_suite(target, path)
            for dataset in datasets:
                version, created = dataset_version_store(
                    dataset=dataset, source=str(path)
                )
                counts = ", ".join(
                    f"{k} {v}" for k, v in sorted(version.counts.items())
                )
                state = "imported" if created else "unchanged (already imported)"
                self.stdout.write(
                    f"{dataset.task.name}: {state} {version.sha256[:12]} ({counts})"
                )
        except GlewError as error:
            raise CommandError(error.message) from None
