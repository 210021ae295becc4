from django.apps import AppConfig


class CurationConfig(AppConfig):
    name = "leaderboard.curation"
    label = "curation"
    verbose_name = "Curation"
