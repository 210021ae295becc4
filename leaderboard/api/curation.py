"""Curation through the API (staff only): bundles, previews, impact and confirm.

Every change that moves scores is two calls, as on the pages: without
``confirm: true`` a POST answers ``{"applied": false, "impact": ...}`` and changes
nothing; with it, the change is made and the same figures are returned and kept in
the audit trail. Others get 401 (no token) or 403 (not staff) as
``{"error", "code"}``.
"""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from leaderboard.catalogue.audit import audit_events
from leaderboard.catalogue.curated import SuiteEdit
from leaderboard.catalogue.models import AuditEvent, DatasetVersion
from leaderboard.catalogue.selectors import dataset_version_get, suite_get, task_get
from leaderboard.curation import services
from leaderboard.curation.actions import dataset_version_curate, suite_curate_edit
from leaderboard.curation.models import Bundle
from leaderboard.curation.permissions import require_staff
from tasks.errors import UserError


class BundleInput(serializers.Serializer):
    archive = serializers.FileField(allow_empty_file=True)
    task = serializers.CharField(required=False, allow_blank=True, default="")


class ConfirmInput(serializers.Serializer):
    confirm = serializers.BooleanField(required=False, default=False)


class SuiteTaskInput(serializers.Serializer):
    key = serializers.CharField()
    in_suite_score = serializers.BooleanField(required=False)
    weight = serializers.FloatField(required=False)


class SuiteEditInput(ConfirmInput):
    title = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    score_rule = serializers.CharField(required=False)
    score_rule_text = serializers.CharField(required=False, allow_blank=True)
    # In the order the suite shows them; all the suite's tasks when given.
    tasks = SuiteTaskInput(many=True, required=False)


def bundle_data(bundle: Bundle, request) -> dict:
    return {
        "id": bundle.pk,
        "kind": bundle.kind,
        "status": bundle.status,
        "suite": bundle.suite_slug or None,
        "task": bundle.task_name or None,
        "filename": bundle.filename,
        "sha256": bundle.sha256,
        "size_bytes": bundle.size_bytes,
        "uploaded_by": bundle.uploaded_by.username if bundle.uploaded_by else None,
        "progress": bundle.progress or None,
        "plan": bundle.plan or None,
        "error": (
            {"code": bundle.error_code, "message": bundle.error_message}
            if bundle.error_code
            else None
        ),
        "result": bundle.result or None,
        "created_at": bundle.created_at,
        "finished_at": bundle.finished_at,
        "url": request.build_absolute_uri(reverse("bundle-detail", args=[bundle.pk])),
    }


def version_preview_data(version: DatasetVersion) -> dict:
    return {
        "task": version.task.name,
        "sha256": version.sha256,
        "state": version.state,
        "task_version": version.task_version,
        "counts": version.counts,
        "label_distribution": version.label_distribution,
        "preview": version.preview,
        "baselines": version.baselines,
        "datasheet": version.datasheet,
        "source": version.source,
        "created_at": version.created_at,
        "published_at": version.published_at,
    }


def audit_data(event: AuditEvent) -> dict:
    return {
        "at": event.at,
        "actor": event.actor_name or None,
        "action": event.action,
        "suite": event.suite_slug or None,
        "task": event.task_name or None,
        "dataset": event.dataset_sha256 or None,
        "summary": event.summary,
        "details": event.details,
    }


class BundleListView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="curation_bundles_list",
        responses=OpenApiTypes.OBJECT,
        summary="Recent task bundles (staff)",
    )
    def get(self, request):
        require_staff(request.user)
        bundles = Bundle.objects.select_related("uploaded_by")[:100]
        return Response({"results": [bundle_data(b, request) for b in bundles]})

    @extend_schema(
        request={"multipart/form-data": BundleInput},
        responses={201: OpenApiTypes.OBJECT},
        summary="Upload a task bundle, or data for an existing task (staff)",
    )
    def post(self, request):
        require_staff(request.user, action="upload task bundles")
        data = BundleInput(data=request.data)
        data.is_valid(raise_exception=True)
        archive = data.validated_data["archive"]
        bundle = services.bundle_create(
            actor=request.user,
            archive_stream=archive,
            filename=archive.name,
            task_name=data.validated_data["task"],
        )
        return Response(bundle_data(bundle, request), status=status.HTTP_201_CREATED)


class BundleDetailView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A task bundle (staff)")
    def get(self, request, pk: int):
        require_staff(request.user)
        return Response(bundle_data(get_object_or_404(Bundle, pk=pk), request))


class BundleDecisionView(APIView):
    """POST .../confirm or .../discard: a bundle awaiting confirmation."""

    @extend_schema(
        operation_id="curation_bundles_decide",
        request=None,
        responses=OpenApiTypes.OBJECT,
        summary="Confirm or discard a bundle whose update changes scores (staff)",
    )
    def post(self, request, pk: int, decision: str):
        require_staff(request.user)
        bundle = get_object_or_404(Bundle, pk=pk)
        service = {
            "confirm": services.bundle_confirm,
            "discard": services.bundle_discard,
        }.get(decision)
        if service is None:
            raise UserError("bundle.unknown_decision", "Use confirm or discard.")
        return Response(
            bundle_data(service(bundle=bundle, actor=request.user), request)
        )


def _version(suite: str, task: str, sha: str) -> DatasetVersion:
    return dataset_version_get(task_get(f"{suite}/{task}"), sha)


class VersionDetailView(APIView):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="A dataset version's preview, drafts included (staff)",
    )
    def get(self, request, suite: str, task: str, sha: str):
        require_staff(request.user)
        return Response(version_preview_data(_version(suite, task, sha)))


class VersionActionView(APIView):
    """POST {confirm}: publish, withdraw or deprecate a dataset version."""

    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        request=ConfirmInput,
        responses=OpenApiTypes.OBJECT,
        summary="Publish, withdraw or deprecate: impact first, then confirm (staff)",
    )
    def post(self, request, suite: str, task: str, sha: str, action: str):
        require_staff(request.user)
        data = ConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = _version(suite, task, sha)
        outcome = dataset_version_curate(
            version=version,
            action=action,
            actor=request.user,
            confirm=data.validated_data["confirm"],
        )
        version.refresh_from_db()
        return Response({**outcome.as_data(), "version": version_preview_data(version)})


class SuiteEditView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=SuiteEditInput,
        responses=OpenApiTypes.OBJECT,
        summary="Edit a curated suite: impact first, then confirm (staff)",
    )
    def post(self, request, suite: str):
        require_staff(request.user)
        data = SuiteEditInput(data=request.data)
        data.is_valid(raise_exception=True)
        suite_obj = suite_get(suite)
        outcome = suite_curate_edit(
            suite=suite_obj,
            edit=_edit(suite_obj.document, data.validated_data),
            actor=request.user,
            confirm=data.validated_data["confirm"],
        )
        suite_obj.refresh_from_db()
        return Response({**outcome.as_data(), "suite_version": suite_obj.version})


def _edit(document: dict, values: dict) -> SuiteEdit:
    """The edit the request asks for: what it does not give stays as it is."""
    head = document.get("suite", {})
    tables = document.get("tasks", {})
    weights = head.get("score_rule_options", {}).get("weights", {})
    given = values.get("tasks")
    rows = given if given is not None else [{"key": key} for key in tables]
    return SuiteEdit(
        title=values.get("title", head.get("title", "")),
        description=values.get("description", head.get("description", "")),
        score_rule=values.get("score_rule", head.get("score_rule", "")),
        score_rule_text=values.get("score_rule_text", head.get("score_rule_text", "")),
        counted={
            row["key"]: row.get(
                "in_suite_score", tables.get(row["key"], {}).get("in_suite_score")
            )
            for row in rows
        },
        order=[row["key"] for row in rows],
        weights={
            row["key"]: row.get("weight", weights.get(row["key"], 1.0)) for row in rows
        },
    )


class AuditView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("suite", str), OpenApiParameter("task", str)],
        responses=OpenApiTypes.OBJECT,
        summary="The curation audit trail (staff)",
    )
    def get(self, request):
        require_staff(request.user)
        task = request.query_params.get("task")
        suite = request.query_params.get("suite")
        events = audit_events(
            task=task_get(task) if task else None,
            suite=suite_get(suite) if suite else None,
            limit=200,
        )
        return Response({"events": [audit_data(e) for e in events]})
