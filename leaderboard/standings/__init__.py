"""The leaderboard, in one place: its rows, how they are computed, read and shown.

A leaderboard row is computed from Results, never typed in (DESIGN.md). This
package owns every step of that, one module per job:

- ``cells``: the one averaging rule (seeds -> mean, std, n per task and numerics
  profile, current task version, no re-runs, unscored results left out).
- ``scope``: which tasks a suite's leaderboard shows.
- ``efficiency``: the efficiency columns and a row's figures.
- ``refresh``: writing the precomputed rows (``LeaderboardEntry``) when a result is
  stored or a suite's data or task versions change.
- ``rows``: reading those rows, with visibility applied.
- ``stats``: standard errors, tied ranks, the Pareto frontier (pure functions).
- ``bootstrap``: a row's suite score under seeded, paired resamples of examples
  and seeds, computed at refresh; ``confidence``: the rank interval and P(rank)
  each row gets from them.
- ``snapshots`` (and ``models``): frozen, citable boards and what changed since.
- ``board``: a suite's board as pages and the API show it (filters, sort, ranks).
- ``cache``: built boards kept in memory, keyed by the suite's stamp.
- ``exports``: the board as JSON and CSV.
- ``compare``: submissions side by side.
- ``robustness``: clean vs evaluation-only scores, paired by the catalogue.
- ``charts``: the data behind a suite page's charts.

The package imports ``leaderboard.catalogue``, ``leaderboard.submissions`` (models,
visibility) and ``tasks``; none of them imports it, except the one call in
``submissions.lifecycle.evaluation_finish`` that refreshes rows after a result is
stored, and the one in ``submissions.intake.submission_set_visibility`` that
re-ranks rank confidence among the public rows. Catalogue changes reach it
through ``catalogue.signals.suite_changed``, which ``apps.StandingsConfig.ready``
subscribes to.
"""
