"""The standings as a Django app: to subscribe to the catalogue's ``suite_changed``
at start-up in every process (web, worker, management commands), so the catalogue
needs no import of the leaderboard to keep its rows true, and to hold the one
model of its own, frozen snapshots (``models.LeaderboardSnapshot``). The rows
themselves are ``submissions.LeaderboardEntry``.
"""

from django.apps import AppConfig


class StandingsConfig(AppConfig):
    name = "leaderboard.standings"
    label = "standings"
    verbose_name = "Leaderboard standings"

    def ready(self) -> None:
        from leaderboard.catalogue.signals import suite_changed
        from leaderboard.standings.refresh import on_suite_changed

        suite_changed.connect(on_suite_changed, dispatch_uid="standings.refresh_suite")
