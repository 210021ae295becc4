from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "leaderboard.catalogue"
    label = "catalogue"
    verbose_name = "Task catalogue"

    def ready(self) -> None:
        # Suites curated on the site join every process's registry (tasks/ knows
        # no Django: the catalogue registers itself as a source).
        from leaderboard.catalogue.documents import connect_registry

        connect_registry()
