"""API views: parse, call one service or selector, shape the answer."""

from django.db import transaction
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from leaderboard.api import serializers as s
from leaderboard.catalogue.selectors import suite_get, suite_list
from leaderboard.submissions import selectors, services
from tasks.errors import UserError


class TokenView(APIView):
    """POST {username, password} -> {token}."""

    authentication_classes: list = []
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def post(self, request):
        from django.contrib.auth import authenticate

        username = request.data.get("username", "")
        password = request.data.get("password", "")
        user = authenticate(request, username=username, password=password)
        if user is None or not user.is_active:
            raise UserError("auth.bad_credentials", "Wrong username or password.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class SubmissionListView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated()]
        return super().get_permissions()

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

    def post(self, request):
        data = s.SubmissionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        submission = services.submission_create(
            owner=request.user,
            name=values["name"],
            archive_stream=values["archive"],
            recipe=values["recipe"],
            tasks=s.split_list(values["tasks"]),
            suites=s.split_list(values["suites"]),
            visibility=values["visibility"],
            description=values["description"],
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
    def get(self, request, pk: int):
        submission = selectors.submission_get(submission_id=pk, user=request.user)
        return Response(
            s.submission_data(
                submission, selectors.submission_evaluations(submission), request
            )
        )


class SubmissionCancelView(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request, pk: int):
        submission = selectors.submission_get(submission_id=pk, user=request.user)
        with transaction.atomic():
            cancelled = services.submission_cancel(
                submission=submission, user=request.user
            )
        return Response({"id": submission.pk, "cancelled": cancelled})


class LeaderboardView(APIView):
    def get(self, request, suite: str):
        suite_obj = suite_get(suite)
        rows = selectors.leaderboard_rows(suite=suite_obj, user=request.user)
        return Response(s.leaderboard_data(suite_obj, rows))


class SuiteListView(APIView):
    def get(self, request):
        return Response(
            {"suites": [s.suite_data(x, detail=False) for x in suite_list()]}
        )


class SuiteDetailView(APIView):
    def get(self, request, suite: str):
        return Response(s.suite_data(suite_get(suite), detail=True))
