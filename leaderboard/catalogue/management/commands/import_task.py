from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leaderboard.catalogue.services import catalogue_sync, dataset_version_store
from tasks.errors import GlewError
from tasks.importers.hf_files import load_from_hub
from tasks.importers.loading import load_task, scan_suite
from tasks.registry import get_suite, get_task


class Command(BaseCommand):
    help = (
        "Import a task's data from its original release files: "
        "import_task glue/sst2 PATH (a task folder or a suite root), or "
        "import_task glue PATH to import every task of the suite found under PATH "
        "(a task folder that cannot be read is reported and left out; the others "
        "are imported, and the command then fails naming it). With --hub, a task "
        "that names its Hugging Face dataset (LEPISZCZE's) is loaded from the Hub "
        "instead of PATH."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "target", help="SUITE/TASK (e.g. glue/sst2) or SUITE (glue)"
        )
        parser.add_argument("path", type=Path, nargs="?")
        parser.add_argument(
            "--format", default=None, help="importer, if not the task's"
        )
        parser.add_argument(
            "--hub",
            action="store_true",
            help="load from the task's Hugging Face dataset (needs the network)",
        )

    def handle(
        self,
        *args,
        target: str,
        path: Path | None,
        format: str | None,
        hub: bool = False,
        **options,
    ):
        catalogue_sync()
        if path is None and not hub:
            raise CommandError("give PATH, or --hub to load from the Hub")
        try:
            if "/" in target:
                names = [target]
            elif hub:
                names = [t.name for t in get_suite(target).tasks]
            else:
                names = self._found(target, path)
        except GlewError as error:
            raise CommandError(error.message) from None
        failed = []
        for name in names:
            try:
                if hub:
                    dataset = load_from_hub(get_task(name))
                else:
                    dataset = load_task(name, path, format=format)
                version, created = dataset_version_store(
                    dataset=dataset,
                    source=f"hub:{name}" if hub else str(path),
                )
            except GlewError as error:
                if len(names) == 1:
                    raise CommandError(error.message) from None
                failed.append(name)
                self.stderr.write(f"{name}: not imported: {error.message}")
                continue
            counts = ", ".join(f"{k} {v}" for k, v in sorted(version.counts.items()))
            state = "imported" if created else "unchanged (already imported)"
            self.stdout.write(f"{name}: {state} {version.sha256[:12]} ({counts})")
        if failed:
            raise CommandError(f"not imported: {', '.join(failed)} (see above)")

    def _found(self, suite: str, path: Path) -> list[str]:
        """The suite's tasks whose folders are under ``path`` (none is an error)."""
        scan = scan_suite(suite, path)
        if not scan.found:
            raise CommandError(f"no task folder of suite {suite!r} in {path}")
        if scan.missing:
            self.stdout.write(f"{suite}: no folder for {', '.join(scan.missing)}")
        return list(scan.found)
