"""Make a task's data locally: LRA generators, long-context builds from a base task."""

from django.core.management.base import BaseCommand, CommandError

from leaderboard.catalogue.models import Task
from leaderboard.catalogue.selectors import dataset_rows
from leaderboard.catalogue.services import catalogue_sync, dataset_version_store
from tasks import registry
from tasks.dataset import Dataset
from tasks.errors import GlewError
from tasks.generators import generate_task


class Command(BaseCommand):
    help = (
        "Generate a task's dataset and store it as a dataset version: "
        "generate_task lra/listops --seed 0 [--n-train N --n-val N --n-test N], "
        "generate_task lra/pathfinder-glew --seed 0, or a long-context task such as "
        "generate_task longcontext/sst2-explicit-single --seed 0 (built from the "
        "published version of its base task)."
    )

    def add_arguments(self, parser):
        parser.add_argument("task")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--n-train", type=int, default=None)
        parser.add_argument("--n-val", type=int, default=None)
        parser.add_argument("--n-test", type=int, default=None)
        parser.add_argument("--n-eval", type=int, default=None)

    def handle(self, *args, task: str, seed: int, **options):
        catalogue_sync()
        params = {
            key: options[key]
            for key in ("n_train", "n_val", "n_test", "n_eval")
            if options.get(key) is not None
        }
        try:
            spec = registry.get_task(task)
            if spec.long_context:
                params["base"] = self._base_dataset(spec.long_context["base"])
            dataset = generate_task(spec.name, seed=seed, **params)
        except (GlewError, TypeError) as error:
            message = getattr(error, "message", str(error))
            raise CommandError(message) from None
        version, created = dataset_version_store(
            dataset=dataset,
            source=f"generated: {spec.name} seed={seed} {params_text(params)}",
        )
        counts = ", ".join(f"{k} {v}" for k, v in sorted(version.counts.items()))
        state = "generated" if created else "unchanged (same content exists)"
        self.stdout.write(f"{spec.name}: {state} {version.sha256[:12]} ({counts})")

    def _base_dataset(self, base_name: str) -> Dataset:
        base = Task.objects.filter(name=base_name).first()
        version = base.published_version() if base else None
        if version is None:
            raise CommandError(
                f"The base task {base_name} has no published data; import it first "
                f"(python manage.py import_task {base_name} PATH)."
            )
        spec = registry.get_task(base_name)
        return Dataset(
            spec, {split: dataset_rows(version, split) for split in version.files}
        )


def params_text(params: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "base")
