from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "leaderboard.pages"
    label = "pages"
