from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "leaderboard.catalogue"
    label = "catalogue"
    verbose_name = "Task catalogue"
