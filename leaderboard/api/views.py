"""API views: parse, call one service or selector, shape the answer."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers, status
from rest_framework.authtoken.models import Token
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from leaderboard import ratelimit
from leaderboard.api import serializers as s
from leaderboard.catalogue import services as catalogue_services
from leaderboard.catalogue.selectors import suite_get, suite_list, task_get
from leaderboard.response_cache import cached_anonymous
from leaderboard.standings.board import Filters, task_rows
from leaderboard.standings.cache import suite_board, suite_stamp
from leaderboard.standings.compare import compare_data
from leaderboard.standings.exports import board_csv, board_data
from leaderboard.submissions import exports, intake, lifecycle, selectors
from leaderboard.submissions.models import Evaluation
from tasks.errors import UserError


class CSVRenderer(renderers.BaseRenderer):
    """Lets ``?format=csv`` through DRF's content negotiation; views give the text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data.encode() if isinstance(data, str) else data


def _attachment(data: bytes, *, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class TokenView(APIView):
    """POST {username, password} -> {token}."""

    authentication_classes: list = []
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
        summary="Exchange a username and password for an API token",
    )
    def post(self, request):
        from django.contrib.auth import authenticate

        username = request.data.get("username", "")
        password = request.data.get("password", "")
        ratelimit.login_check(request, str(username))
        user = authenticate(request, username=username, password=password)
        if user is None or not user.is_active:
            ratelimit.login_failed(request, str(username))
            raise UserError("auth.bad_credentials", "Wrong username or password.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    """Who the token belongs to (the CLI checks a token with it)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The authenticated user")
    def get(self, request):
        return Response(
            {"username": request.user.username, "is_staff": request.user.is_staff}
        )


class SubmissionListView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(
        operation_id="submissions_list",
        responses=OpenApiTypes.OBJECT,
        summary="Recent submissions you may see",
    )
    def get(self, request):
        submissions = selectors.recent_submissions(request.user, limit=100)
        return Response(
            {
                "results": [
                    {
                        "id": sub.pk,
                        "name": sub.name,
                        "owner": sub.owner.username,
                        "status": sub.status,
                        "recipe": sub.recipe,
                        "visibility": sub.visibility,
                        "created_at": sub.created_at,
                    }
                    for sub in submissions
                ]
            }
        )

    @extend_schema(
        request={"multipart/form-data": s.SubmissionCreateInput},
        responses={201: OpenApiTypes.OBJECT},
        summary="Upload a model zip and queue its evaluations",
    )
    def post(self, request):
        data = s.SubmissionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        submission = intake.submission_create(
            owner=request.user,
            name=values["name"],
            archive_stream=values["archive"],
            recipe=values["recipe"],
            tasks=s.split_list(values["tasks"]),
            suites=s.split_list(values["suites"]),
            visibility=values["visibility"],
            description=values["description"],
            tracks=s.split_list(values["tracks"]) or ["full"],
        )
        body = s.submission_data(
            submission, selectors.submission_evaluations(submission), request
        )
        return Response(
            {
                "id": body["id"],
                "status": body["status"],
                "url": body["url"],
                "evaluations": body["evaluations"],
            },
            status=status.HTTP_201_CREATED,
        )


class SubmissionDetailView(APIView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(
        responses=OpenApiTypes.OBJECT, summary="A submission with its evaluations"
    )
    def get(self, request, pk: int):
        submission = selectors.submission_get(submission_id=pk, user=request.user)
        return Response(
            s.submission_data(
                submission, selectors.submission_evaluations(submission), request
            )
        )

    @extend_schema(
        request=s.VisibilityInput,
        responses=OpenApiTypes.OBJECT,
        summary="Change visibility (owner or admin)",
    )
    def patch(self, request, pk: int):
        """PATCH {visibility: public|private} (owner or admin)."""
        data = s.VisibilityInput(data=request.data)
        data.is_valid(raise_exception=True)
        submission = selectors.submission_get(submission_id=pk, user=request.user)
        with transaction.atomic():
            submission = intake.submission_set_visibility(
                submission=submission,
                user=request.user,
                visibility=data.validated_data["visibility"],
            )
        return Response(
            s.submission_data(
                submission, selectors.submission_evaluations(submission), request
            )
        )


class SubmissionManifestView(APIView):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="The reproducibility manifest of a submission",
    )
    def get(self, request, pk: int):
        submission = selectors.submission_get(submission_id=pk, user=request.user)
        return Response(
            s.submission_manifest_data(
                submission, selectors.submission_evaluations(submission)
            )
        )


class SubmissionGlueZipView(APIView):
    """The GLUE server zip of a submission's test-set predictions."""

    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
        summary="GLUE server zip of the test-set predictions",
    )
    def get(self, request, pk: int):
        submission = selectors.submission_get(submission_id=pk, user=request.user)
        return _attachment(
            exports.glue_submission_zip(submission=submission),
            filename=f"glew-{pk}-glue.zip",
            content_type="application/zip",
        )


class EvaluationRerunView(APIView):
    """POST: queue a re-run of a finished or failed evaluation with its manifest."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={201: OpenApiTypes.OBJECT},
        summary="Re-run an evaluation with the same manifest",
    )
    def post(self, request, pk: int):
        submission_id = (
            Evaluation.objects.filter(pk=pk)
            .values_list("submission_id", flat=True)
            .first()
        )
        if submission_id is None:
            raise UserError("evaluation.not_found", f"There is no evaluation #{pk}.")
        try:
            selectors.submission_get(submission_id=submission_id, user=request.user)
        except UserError:
            raise UserError(
                "evaluation.not_found", f"There is no evaluation #{pk}."
            ) from None
        rerun = lifecycle.evaluation_rerun(evaluation_id=pk, user=request.user)
        return Response(
            {"id": rerun.pk, "rerun_of": rerun.rerun_of_id, "status": rerun.status},
            status=status.HTTP_201_CREATED,
        )


class CompareView(APIView):
    """GET ?ids=1,2: submissions side by side per task, differences to the first."""

    @extend_schema(
        parameters=[OpenApiParameter("ids", str, description="1,2,3")],
        responses=OpenApiTypes.OBJECT,
        summary="Compare submissions per task",
    )
    def get(self, request):
        ids = s.split_list(request.query_params.get("ids", ""))
        if len(ids) < 2 or not all(i.isdigit() for i in ids):
            raise UserError(
                "compare.bad_ids", "Give two or more submission ids: ?ids=1,2."
            )
        submissions = [
            selectors.submission_get(submission_id=int(i), user=request.user)
            for i in ids
        ]
        return Response(compare_data(submissions))


class SubmissionCancelView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses=OpenApiTypes.OBJECT,
        summary="Cancel unfinished evaluations",
    )
    def post(self, request, pk: int):
        submission = selectors.submission_get(submission_id=pk, user=request.user)
        with transaction.atomic():
            cancelled = lifecycle.submission_cancel(
                submission=submission, user=request.user
            )
        return Response({"id": submission.pk, "cancelled": cancelled})


class LeaderboardView(APIView):
    """The suite leaderboard; the page's filters and sort as query parameters,
    ``?format=csv`` for CSV."""

    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter(n, str)
            for n in (
                "format",
                "sort",
                "dir",
                "min_params",
                "max_params",
                "recipe",
                "device",
                "numerics",
                "baselines",
                "all",
                "track",
            )
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
        },
        summary="A suite leaderboard (JSON or CSV)",
    )
    def get(self, request, suite: str):
        suite_obj = suite_get(suite)
        return cached_anonymous(
            request,
            stamps=[suite_stamp(suite_obj), request.accepted_renderer.format],
            build=lambda: self._answer(request, suite_obj),
        )

    def _answer(self, request, suite_obj):
        board = suite_board(
            suite=suite_obj,
            user=request.user,
            filters=Filters.from_query(request.query_params),
            sort=request.query_params.get("sort", "rank"),
            direction=request.query_params.get("dir", ""),
        )
        if request.accepted_renderer.format == "csv":
            return _attachment(
                board_csv(board).encode(),
                filename=f"glew-{suite_obj.slug}-leaderboard.csv",
                content_type="text/csv; charset=utf-8",
            )
        limit, offset = _paging(request.query_params)
        return HttpResponse(
            json.dumps(
                board_data(board, limit=limit, offset=offset),
                cls=DjangoJSONEncoder,
            ),
            content_type="application/json",
        )


def _paging(params, default: int = 50, cap: int = 1000) -> tuple[int, int]:
    """``limit`` (default 50, at most 1000) and ``offset`` from the query."""
    try:
        limit = min(max(int(params.get("limit", default)), 1), cap)
        offset = max(int(params.get("offset", 0)), 0)
    except ValueError:
        raise UserError(
            "api.bad_paging", "limit and offset must be whole numbers."
        ) from None
    return limit, offset


class SuiteListView(APIView):
    @extend_schema(
        operation_id="suites_list", responses=OpenApiTypes.OBJECT, summary="Suites"
    )
    def get(self, request):
        return Response(
            {"suites": [s.suite_data(x, detail=False) for x in suite_list()]}
        )


class SuiteDetailView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A suite with its tasks")
    def get(self, request, suite: str):
        return Response(s.suite_data(suite_get(suite), detail=True))


class TaskDetailView(APIView):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="A task: spec, dataset versions, leaderboard",
    )
    def get(self, request, suite: str, task: str):
        task_obj = task_get(f"{suite}/{task}")
        board = suite_board(suite=task_obj.suite, user=request.user)
        return Response(s.task_data(task_obj, task_rows(board, task_obj)))


class TaskDownloadView(APIView):
    """The published dataset version as a zip (no evaluation labels)."""

    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
        summary="Download the published dataset version",
    )
    def get(self, request, suite: str, task: str):
        task_obj = task_get(f"{suite}/{task}")
        version = task_obj.published_version()
        if version is None:
            raise UserError(
                "dataset.not_found", f"Task {task_obj.name} has no published data."
            )
        return _attachment(
            catalogue_services.dataset_version_archive(version=version),
            filename=f"{task_obj.suite.slug}-{task_obj.key}-{version.sha256[:12]}.zip",
            content_type="application/zip",
        )
