"""Frozen leaderboards through the API: list, freeze (staff), read, download.

A snapshot freezes one track's board (``track``: full fine-tuning unless named) and
is addressed by the sha256 of its archive; what it holds never changes
(``standings.snapshots``). Freezing is for staff: others get 401 (no login) or 403
as ``{"error", "code"}``.
"""

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from leaderboard.catalogue.selectors import suite_get
from leaderboard.standings import snapshots
from leaderboard.standings.models import LeaderboardSnapshot


class FreezeInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    # Checked by the service (``snapshot.unknown_track``), not here.
    track = serializers.CharField(required=False, max_length=100, default="full")


def snapshot_summary(snapshot: LeaderboardSnapshot, request) -> dict:
    suite, sha = snapshot.suite.slug, snapshot.sha256
    return {
        "sha256": sha,
        "suite": suite,
        "track": snapshot.track,
        "frozen_at": snapshot.created_at.isoformat(),
        "note": snapshot.note,
        "rows": len(snapshot.document["board"]["rows"]),
        "url": request.build_absolute_uri(
            reverse("api-snapshot-detail", args=[suite, sha])
        ),
        "page": request.build_absolute_uri(
            reverse("snapshot-detail", args=[suite, sha])
        ),
        "archive": request.build_absolute_uri(
            reverse("api-snapshot-archive", args=[suite, sha])
        ),
        "size_bytes": snapshot.size_bytes,
    }


class SnapshotListView(APIView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A suite's frozen boards")
    def get(self, request, suite: str):
        suite_obj = suite_get(suite)
        return Response(
            {
                "suite": suite_obj.slug,
                "snapshots": [
                    snapshot_summary(snap, request)
                    for snap in snapshots.suite_snapshots(suite_obj)
                ],
            }
        )

    @extend_schema(
        request=FreezeInput,
        responses=OpenApiTypes.OBJECT,
        summary="Freeze the suite's public board of a track into a snapshot (staff)",
    )
    def post(self, request, suite: str):
        data = FreezeInput(data=request.data)
        data.is_valid(raise_exception=True)
        snapshot = snapshots.leaderboard_snapshot_freeze(
            suite=suite_get(suite),
            actor=request.user,
            note=data.validated_data.get("note", ""),
            track=data.validated_data["track"],
        )
        return Response(
            snapshot_summary(snapshot, request), status=status.HTTP_201_CREATED
        )


class SnapshotDetailView(APIView):
    @extend_schema(
        operation_id="leaderboards_snapshots_detail",
        responses=OpenApiTypes.OBJECT,
        summary="A frozen board: its content, and what has changed since",
    )
    def get(self, request, suite: str, sha: str):
        snapshot = snapshots.snapshot_get(suite=suite_get(suite), sha=sha)
        return Response(
            {
                **snapshot_summary(snapshot, request),
                "snapshot": snapshot.document,
                "changes_since": snapshots.snapshot_changes(snapshot),
            }
        )


class SnapshotArchiveView(APIView):
    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
        summary="A frozen board's archive (its sha256 is the snapshot's hash)",
    )
    def get(self, request, suite: str, sha: str):
        snapshot = snapshots.snapshot_get(suite=suite_get(suite), sha=sha)
        response = HttpResponse(
            snapshots.snapshot_archive_bytes(snapshot), content_type="application/zip"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="glew-{snapshot.suite.slug}-{snapshot.sha256}.zip"'
        )
        return response
