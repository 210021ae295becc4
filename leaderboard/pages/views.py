"""Page views: read through selectors and standings, write through services, render."""

import json
from pathlib import Path

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from leaderboard.accounts import services as account_services
from leaderboard.api.serializers import split_list, submission_manifest_data
from leaderboard.catalogue import services as catalogue_services
from leaderboard.catalogue.audit import audit_events
from leaderboard.catalogue.selectors import suite_get, suite_list, task_get
from leaderboard.pages.forms import SignupForm, SubmitForm
from leaderboard.response_cache import cached_anonymous
from leaderboard.standings.board import Board, Filters, task_rows
from leaderboard.standings.cache import suite_board, suite_stamp
from leaderboard.standings.cells import submission_cells
from leaderboard.standings.charts import board_charts
from leaderboard.standings.compare import compare_data
from leaderboard.standings.confidence import METHOD as CONFIDENCE_METHOD
from leaderboard.standings.efficiency import EFFICIENCY_COLUMNS
from leaderboard.standings.exports import RANKING_RULE, board_csv, board_data
from leaderboard.standings.rows import submission_standings
from leaderboard.standings.snapshots import snapshots_stamp, suite_snapshots
from leaderboard.submissions import exports, intake, lifecycle, selectors
from leaderboard.submissions.models import Evaluation
from leaderboard.submissions.permissions import can_manage
from leaderboard.submissions.status import TERMINAL
from tasks.errors import UserError


def _or_404(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except UserError as error:
        raise Http404(error.message) from None


def home(request: HttpRequest) -> HttpResponse:
    suites_now = list(suite_list())
    stamps = [suite_stamp(suite) for suite in suites_now]
    stamps.append(selectors.submissions_stamp())
    return cached_anonymous(
        request, stamps=stamps, build=lambda: _home(request, suites_now)
    )


def _home(request: HttpRequest, suite_rows) -> HttpResponse:
    suites = []
    for suite in suite_rows:
        board = suite_board(suite=suite, user=request.user)
        shown = board.tasks
        suites.append(
            {
                "suite": suite,
                "task_count": len(suite.tasks.all()),
                "with_data": len(shown),
                "entries": len(board.rows),
                "leader": board.rows[0] if board.rows else None,
                "coverage": board.coverage,
            }
        )
    return render(
        request,
        "pages/home.html",
        {"suites": suites, "recent": selectors.recent_submissions(request.user)},
    )


def _board_response(board: Board, fmt: str) -> HttpResponse | None:
    if fmt == "csv":
        response = HttpResponse(
            board_csv(board), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="glew-{board.suite.slug}-leaderboard.csv"'
        )
        return response
    if fmt == "json":
        return JsonResponse(board_data(board))
    return None


PAGE_SIZE = 50


def _page_number(text: str | None, rows: int) -> int:
    """A valid 1-based page number for ``rows`` rows (bad input shows page 1)."""
    try:
        page = int(text or 1)
    except ValueError:
        return 1
    return min(max(page, 1), max(1, -(-rows // PAGE_SIZE)))


def suite_leaderboard(request: HttpRequest, suite: str) -> HttpResponse:
    suite_obj = _or_404(suite_get, suite)
    return cached_anonymous(
        request,
        stamps=[suite_stamp(suite_obj), snapshots_stamp(suite_obj)],
        build=lambda: _suite_leaderboard(request, suite_obj),
    )


def _suite_leaderboard(request: HttpRequest, suite_obj) -> HttpResponse:
    board = suite_board(
        suite=suite_obj,
        user=request.user,
        filters=Filters.from_query(request.GET),
        sort=request.GET.get("sort", "rank"),
        direction=request.GET.get("dir", ""),
    )
    exported = _board_response(board, request.GET.get("format", ""))
    if exported is not None:
        return exported
    page = _page_number(request.GET.get("page"), len(board.rows))
    shown = board.rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    has_complete = any(r.score is not None and not r.partial for r in board.rows)
    table = [
        {
            "row": row,
            "cells": [row.tasks.get(task.name) for task in board.tasks],
            # The first partial row after complete ones opens its own ranking.
            "opens_partial": has_complete
            and row.partial
            and (index == 0 or not shown[index - 1].partial),
        }
        for index, row in enumerate(shown)
    ]
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("page", None)
    chart_data = board_charts(board, shown)
    return render(
        request,
        "pages/suite.html",
        {
            "suite": suite_obj,
            "board": board,
            "tasks": board.tasks,
            "table": table,
            "columns": EFFICIENCY_COLUMNS,
            "query": query.urlencode(),
            "charts": chart_data,
            "has_points": any(c["points"] for c in chart_data["pareto"].values()),
            "page": page,
            "pages": max(1, -(-len(board.rows) // PAGE_SIZE)),
            "first_index": (page - 1) * PAGE_SIZE,
            "ranking_rule": RANKING_RULE,
            "rank_confidence_method": CONFIDENCE_METHOD,
            "snapshots": suite_snapshots(suite_obj),
            "events": audit_events(suite=suite_obj, limit=30)
            if request.user.is_staff
            else None,
        },
    )


def task_detail(request: HttpRequest, suite: str, task: str) -> HttpResponse:
    task_obj = _or_404(task_get, f"{suite}/{task}")
    board = suite_board(suite=task_obj.suite, user=request.user)
    published = task_obj.published_version()
    return render(
        request,
        "pages/task.html",
        {
            "task": task_obj,
            "spec": task_obj.spec,
            "versions": task_obj.dataset_versions.all(),
            "published": published,
            "datasheet": json.dumps(published.datasheet, indent=2) if published else "",
            "baselines": published.baselines if published else None,
            "baseline_kinds": (("majority", "Majority class"), ("chance", "Chance")),
            "rows": task_rows(board, task_obj),
            # The audit trail, for staff only: who changed what on this task.
            "events": audit_events(task=task_obj) if request.user.is_staff else None,
        },
    )


def task_download(request: HttpRequest, suite: str, task: str) -> HttpResponse:
    """The published version's standardized archive (no evaluation labels)."""
    task_obj = _or_404(task_get, f"{suite}/{task}")
    version = task_obj.published_version()
    if version is None:
        raise Http404(f"Task {task_obj.name} has no published data.")
    data = catalogue_services.dataset_version_archive(version=version)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="{task_obj.suite.slug}-{task_obj.key}-'
        f'{version.sha256[:12]}.zip"'
    )
    return response


def _submission_context(request: HttpRequest, pk: int) -> dict:
    submission = _or_404(selectors.submission_get, submission_id=pk, user=request.user)
    evaluations = selectors.submission_evaluations(submission)
    for evaluation in evaluations:
        evaluation.drift = selectors.evaluation_drift(evaluation)
        evaluation.drift_note = selectors.evaluation_drift_note(evaluation)
    return {
        "submission": submission,
        "evaluations": evaluations,
        "live": any(e.status not in TERMINAL for e in evaluations),
        "can_manage": can_manage(request.user, submission),
    }


def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    context = _submission_context(request, pk)
    cells = submission_cells(context["submission"])
    manifest = submission_manifest_data(context["submission"], context["evaluations"])
    context.update(
        {
            "cells": cells,
            "standings": submission_standings(context["submission"]),
            "manifest_json": json.dumps(manifest, indent=2, default=str),
            "has_glue": any(name.startswith("glue/") for name, _ in cells),
        }
    )
    return render(request, "pages/submission.html", context)


def submission_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the submission page, fetched by the page every few seconds."""
    return render(request, "pages/_evaluations.html", _submission_context(request, pk))


def submission_manifest(request: HttpRequest, pk: int) -> HttpResponse:
    context = _submission_context(request, pk)
    data = submission_manifest_data(context["submission"], context["evaluations"])
    response = HttpResponse(
        json.dumps(data, indent=2, default=str), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="glew-{pk}-manifest.json"'
    return response


def submission_glue_zip(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _or_404(selectors.submission_get, submission_id=pk, user=request.user)
    data = _or_404(exports.glue_submission_zip, submission=submission)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="glew-{pk}-glue.zip"'
    return response


@require_POST
@login_required
def submission_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    context = _submission_context(request, pk)
    try:
        count = lifecycle.submission_cancel(
            submission=context["submission"], user=request.user
        )
    except UserError as error:
        messages.error(request, error.message)
    else:
        messages.info(request, f"Cancelled {count} evaluation(s).")
    return redirect("submission-detail", pk=pk)


@require_POST
@login_required
def submission_visibility(request: HttpRequest, pk: int) -> HttpResponse:
    context = _submission_context(request, pk)
    try:
        intake.submission_set_visibility(
            submission=context["submission"],
            user=request.user,
            visibility=request.POST.get("visibility", ""),
        )
    except UserError as error:
        messages.error(request, error.message)
    else:
        messages.info(
            request, f"The submission is now {request.POST.get('visibility')}."
        )
    return redirect("submission-detail", pk=pk)


@require_POST
@login_required
def evaluation_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = Evaluation.objects.filter(pk=pk).only("submission_id").first()
    if evaluation is None:
        raise Http404("No such evaluation.")
    _submission_context(request, evaluation.submission_id)  # visibility check
    try:
        rerun = lifecycle.evaluation_rerun(evaluation_id=pk, user=request.user)
    except UserError as error:
        messages.error(request, error.message)
    else:
        messages.info(request, f"Queued evaluation {rerun.pk}, a re-run of {pk}.")
    return redirect("submission-detail", pk=evaluation.submission_id)


def compare(request: HttpRequest) -> HttpResponse:
    ids = [int(x) for x in split_list(request.GET.get("ids", "")) if x.isdigit()]
    submissions = [
        s
        for s in (
            selectors.visible_submissions(request.user).filter(pk=pk).first()
            for pk in ids
        )
        if s is not None
    ]
    data = compare_data(submissions) if submissions else None
    return render(
        request,
        "pages/compare.html",
        {
            "data": data,
            "ids": ",".join(str(i) for i in ids),
            "columns": EFFICIENCY_COLUMNS,
        },
    )


@login_required
def submit(request: HttpRequest) -> HttpResponse:
    form = SubmitForm(request.POST or None, request.FILES or None)
    wants_json = request.headers.get("X-Requested-With") == "XMLHttpRequest"
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            submission = intake.submission_create(
                owner=request.user,
                name=values["name"],
                archive_stream=values["archive"],
                recipe=values["recipe"],
                tasks=split_list(values["tasks"]),
                suites=split_list(values["suites"]),
                visibility=values["visibility"],
                description=values["description"],
                tracks=values["tracks"] or ["full"],
            )
        except UserError as error:
            if wants_json:
                return JsonResponse(
                    {"error": error.message, "code": error.code}, status=400
                )
            form.add_error(None, error.message)
        else:
            url = reverse("submission-detail", args=[submission.pk])
            if wants_json:
                return JsonResponse({"id": submission.pk, "url": url}, status=201)
            return redirect(url)
    elif request.method == "POST" and wants_json:
        errors = "; ".join(
            f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v)
            for k, v in form.errors.items()
        )
        return JsonResponse({"error": errors, "code": "form.invalid"}, status=400)
    status = 400 if request.method == "POST" else 200
    return render(request, "pages/submit.html", {"form": form}, status=status)


def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def api_token(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        token = account_services.token_regenerate(user=request.user)
        messages.info(request, "A new token was made; the old one no longer works.")
        return redirect("api-token-page")
    token = account_services.token_get_or_create(user=request.user)
    return render(request, "registration/token.html", {"token": token})


@cache_control(max_age=86400, public=True)
def plotly_js(request: HttpRequest) -> FileResponse:
    """plotly.min.js from the installed ``plotly`` package: no CDN needed."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return FileResponse(path.open("rb"), content_type="application/javascript")
