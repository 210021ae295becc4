"""What the catalogue tells whoever depends on it, without knowing who that is.

``suite_changed`` is sent with ``suite=`` whenever what a suite's results are
compared on changes: a task version moved, one of its dataset versions was
imported, published, withdrawn or deprecated, or a curated suite's score rule or
counted tasks were edited. The catalogue imports nothing that depends on it; the
leaderboard standings subscribe in their AppConfig.ready
(``leaderboard.standings.apps``) and recompute the suite's rows, in the sender's
transaction.
"""

from django.dispatch import Signal

suite_changed = Signal()


def announce_suite_change(suite) -> None:
    """Tell the subscribers (the standings) that ``suite``'s board may differ."""
    suite_changed.send(sender=type(suite), suite=suite)
