"""Frozen leaderboards: citable, immutable snapshots of a suite's board.

A snapshot freezes the board of one track (fine-tuning method, ``track``). It is
written once by ``snapshots.leaderboard_snapshot_freeze`` and never changed: its
``document`` (rows, score rule, versions, manifests) and its archive file are what
was frozen, whatever results, re-runs, withdrawals or deprecations
come later. ``sha256`` is the archive's hash, and the snapshot's URL.
"""

from django.conf import settings
from django.db import models


class LeaderboardSnapshot(models.Model):
    suite = models.ForeignKey(
        "catalogue.Suite", on_delete=models.PROTECT, related_name="snapshots"
    )
    # The fine-tuning method whose board was frozen (runners.contract.METHODS).
    track = models.CharField(max_length=16, default="full")
    # sha256 of the archive's bytes: the snapshot's identity and URL.
    sha256 = models.CharField(max_length=64, unique=True)
    storage_name = models.CharField(max_length=300)
    size_bytes = models.BigIntegerField()
    # The archive's snapshot.json, kept beside it for pages and the API.
    document = models.JSONField()
    note = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.suite.slug} {self.track} snapshot {self.sha256[:12]}"
