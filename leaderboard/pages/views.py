"""Page views: read through selectors, write through services, render templates."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leaderboard.api.serializers import split_list
from leaderboard.catalogue.selectors import suite_get, suite_list, task_get
from leaderboard.pages.forms import SignupForm, SubmitForm
from leaderboard.submissions import selectors, services
from leaderboard.submissions.status import TERMINAL
from tasks.errors import UserError


def home(request: HttpRequest) -> HttpResponse:
    suites = []
    for suite in suite_list():
        rows = selectors.leaderboard_rows(suite=suite, user=request.user)
        suites.append({"suite": suite, "leader": rows[0] if rows else None})
    return render(
        request,
        "pages/home.html",
        {"suites": suites, "recent": selectors.recent_submissions(request.user)},
    )


def suite_leaderboard(request: HttpRequest, suite: str) -> HttpResponse:
    try:
        suite_obj = suite_get(suite)
    except UserError as error:
        raise Http404(error.message) from None
    tasks = selectors.leaderboard_tasks(suite_obj)
    rows = selectors.leaderboard_rows(suite=suite_obj, user=request.user)
    table = [
        {"row": row, "cells": [row.tasks.get(task.name) for task in tasks]}
        for row in rows
    ]
    return render(
        request,
        "pages/suite.html",
        {"suite": suite_obj, "tasks": tasks, "table": table},
    )


def task_detail(request: HttpRequest, suite: str, task: str) -> HttpResponse:
    try:
        task_obj = task_get(f"{suite}/{task}")
    except UserError as error:
        raise Http404(error.message) from None
    return render(
        request,
        "pages/task.html",
        {"task": task_obj, "versions": task_obj.dataset_versions.all()},
    )


def _submission_context(request: HttpRequest, pk: int) -> dict:
    try:
        submission = selectors.submission_get(submission_id=pk, user=request.user)
    except UserError as error:
        raise Http404(error.message) from None
    evaluations = selectors.submission_evaluations(submission)
    return {
        "submission": submission,
        "evaluations": evaluations,
        "live": any(e.status not in TERMINAL for e in evaluations),
        "can_manage": request.user.is_authenticated
        and (request.user.is_staff or request.user.pk == submission.owner_id),
    }


def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "pages/submission.html", _submission_context(request, pk))


def submission_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the submission page, fetched by the page every few seconds."""
    return render(request, "pages/_evaluations.html", _submission_context(request, pk))


@require_POST
@login_required
def submission_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    context = _submission_context(request, pk)
    try:
        count = services.submission_cancel(
            submission=context["submission"], user=request.user
        )
    except UserError as error:
        messages.error(request, error.message)
    else:
        messages.info(request, f"Cancelled {count} evaluation(s).")
    return redirect("submission-detail", pk=pk)


@login_required
def submit(request: HttpRequest) -> HttpResponse:
    form = SubmitForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            submission = services.submission_create(
                owner=request.user,
                name=values["name"],
                archive_stream=values["archive"],
                recipe=values["recipe"],
                tasks=split_list(values["tasks"]),
                suites=split_list(values["suites"]),
                visibility=values["visibility"],
                description=values["description"],
            )
        except UserError as error:
            form.add_error(None, error.message)
        else:
            return redirect("submission-detail", pk=submission.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "pages/submit.html", {"form": form}, status=status)


def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})
