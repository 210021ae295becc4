from django.core.management.base import BaseCommand

from leaderboard.catalogue.services import catalogue_sync


class Command(BaseCommand):
    help = "Create or update suites and tasks from the catalogue in tasks/catalogue/."

    def handle(self, *args, **options):
        tasks = catalogue_sync()
        self.stdout.write(f"Catalogue synced: {len(tasks)} tasks.")
