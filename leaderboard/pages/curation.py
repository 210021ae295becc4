"""Staff pages for curating the catalogue on a live site: upload a bundle and watch
its import, preview a dataset version, see a change's impact and confirm it, edit
a curated suite. Views parse, call one curation service and render; every page
refuses anyone but staff (a login page for visitors, 403 for other users)."""

from __future__ import annotations

import functools
import json

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from leaderboard.catalogue.audit import audit_events
from leaderboard.catalogue.curated import SuiteEdit
from leaderboard.catalogue.models import DatasetVersion, Origin, Suite, Task
from leaderboard.catalogue.publishing import ACTIONS
from leaderboard.catalogue.selectors import (
    dataset_version_drafts,
    dataset_version_get,
    suite_get,
    task_get,
)
from leaderboard.curation import services
from leaderboard.curation.actions import dataset_version_curate, suite_curate_edit
from leaderboard.curation.models import Bundle, BundleStatus
from leaderboard.pages.forms import BundleForm, SuiteEditForm
from tasks import registry
from tasks.errors import UserError
from tasks.spec_checks import SCORE_RULE_OPTIONS

# What each state of a dataset version may become (``DatasetVersion.state``).
NEXT_ACTIONS = {
    "draft": ("publish", "deprecate"),
    "published": ("withdraw", "deprecate"),
    "withdrawn": ("publish", "deprecate"),
    "deprecated": (),
}


def staff_page(view):
    """Visitors are sent to log in; signed-in users who are not staff get 403."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Only staff may curate the catalogue.")
        return view(request, *args, **kwargs)

    return wrapped


def _found(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except UserError as error:
        raise Http404(error.message) from None


def _task_names() -> list[str]:
    return [task.name for task in registry.all_tasks()]


def _home(request: HttpRequest, form: BundleForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "pages/curate.html",
        {
            "form": form,
            "bundles": Bundle.objects.select_related("uploaded_by")[:20],
            "drafts": dataset_version_drafts(),
            "curated": Suite.objects.filter(origin=Origin.CURATED),
            "events": audit_events(limit=20),
        },
        status=status,
    )


@staff_page
def curate_home(request: HttpRequest) -> HttpResponse:
    return _home(request, BundleForm(tasks=_task_names()))


@staff_page
@require_POST
def bundle_upload(request: HttpRequest) -> HttpResponse:
    """The upload form (by XMLHttpRequest with a progress bar, or a plain post)."""
    form = BundleForm(request.POST, request.FILES, tasks=_task_names())
    wants_json = request.headers.get("X-Requested-With") == "XMLHttpRequest"
    if form.is_valid():
        archive = form.cleaned_data["archive"]
        try:
            bundle = services.bundle_create(
                actor=request.user,
                archive_stream=archive,
                filename=archive.name,
                task_name=form.cleaned_data["task"],
            )
        except UserError as error:
            if wants_json:
                body = {"error": error.message, "code": error.code}
                return JsonResponse(body, status=400)
            form.add_error(None, error.message)
        else:
            url = reverse("bundle-detail", args=[bundle.pk])
            if wants_json:
                return JsonResponse(
                    {"id": bundle.pk, "url": url, "status": bundle.status}, status=201
                )
            return redirect(url)
    elif wants_json:
        errors = "; ".join(" ".join(v) for v in form.errors.values())
        return JsonResponse({"error": errors, "code": "form.invalid"}, status=400)
    return _home(request, form, status=400)


def _bundle_context(pk: int) -> dict:
    bundle = get_object_or_404(Bundle.objects.select_related("uploaded_by"), pk=pk)
    versions = []
    for item in bundle.result.get("versions", []):
        version = DatasetVersion.objects.filter(
            task__name=item["task"], sha256=item["sha256"]
        ).first()
        versions.append({**item, "version": version})
    return {
        "bundle": bundle,
        "versions": versions,
        "impact": bundle.plan.get("impact"),
        "live": bundle.status in (BundleStatus.QUEUED, BundleStatus.RUNNING),
    }


@staff_page
def bundle_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "pages/bundle.html", _bundle_context(pk))


@staff_page
def bundle_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the bundle page, fetched every few seconds."""
    return render(request, "pages/_bundle_status.html", _bundle_context(pk))


@staff_page
@require_POST
def bundle_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    bundle = get_object_or_404(Bundle, pk=pk)
    service = {"confirm": services.bundle_confirm, "discard": services.bundle_discard}
    if decision not in service:
        raise Http404("No such decision.")
    try:
        service[decision](bundle=bundle, actor=request.user)
    except UserError as error:
        messages.error(request, error.message)
    return redirect("bundle-detail", pk=pk)


def _histograms(preview: dict) -> list[dict]:
    """Length histograms with each bin's bar width (percent of the largest)."""
    out = []
    for split, lengths in preview.get("lengths", {}).items():
        top = max((b["count"] for b in lengths["bins"]), default=0) or 1
        bins = [{**b, "width": round(100 * b["count"] / top)} for b in lengths["bins"]]
        out.append({"split": split, **lengths, "bins": bins})
    return out


def _version(suite: str, task: str, sha: str) -> tuple[Task, DatasetVersion]:
    task_obj = _found(task_get, f"{suite}/{task}")
    return task_obj, _found(dataset_version_get, task_obj, sha)


@staff_page
def version_detail(request: HttpRequest, suite: str, task: str, sha: str):
    """A dataset version's preview: counts, labels, sample rows, lengths,
    datasheet, baselines; and the actions its state allows."""
    task_obj, version = _version(suite, task, sha)
    samples = version.preview.get("samples", {})
    return render(
        request,
        "pages/version.html",
        {
            "task": task_obj,
            "version": version,
            "samples": [
                {"split": split, "rows": rows, "columns": list(rows[0]) if rows else []}
                for split, rows in samples.items()
            ],
            "histograms": _histograms(version.preview),
            "datasheet": json.dumps(version.datasheet, indent=2),
            "actions": NEXT_ACTIONS[version.state],
            "is_current": task_obj.published_version() == version,
            "events": audit_events(task=task_obj, limit=20),
        },
    )


@staff_page
def version_action(request: HttpRequest, suite: str, task: str, sha: str, action):
    """GET: the impact of ``action`` and a confirm button; POST: do it."""
    if action not in ACTIONS:
        raise Http404("No such action.")
    task_obj, version = _version(suite, task, sha)
    back = reverse("version-detail", args=[suite, task, version.sha256])
    try:
        outcome = dataset_version_curate(
            version=version,
            action=action,
            actor=request.user,
            confirm=request.method == "POST",
        )
    except UserError as error:
        messages.error(request, error.message)
        return redirect(back)
    if outcome.applied:
        done = {"publish": "published", "withdraw": "withdrawn"}.get(action, action)
        messages.info(
            request,
            f"Version {version.sha256[:12]} is now {done}. {outcome.impact.summary}.",
        )
        return redirect("task-detail", suite=suite, task=task)
    return render(
        request,
        "pages/confirm.html",
        {
            "title": f"{action.capitalize()} {task_obj.name} "
            f"data {version.sha256[:12]}",
            "impact": outcome.impact,
            "action": action,
            "back": back,
        },
    )


def _edit_form(suite: Suite, data=None) -> SuiteEditForm:
    document = suite.document
    weights = document["suite"].get("score_rule_options", {}).get("weights", {})
    tasks = [
        {"key": key, "counts": table["in_suite_score"], "weight": weights.get(key, 1.0)}
        for key, table in document["tasks"].items()
    ]
    initial = {
        name: document["suite"][name]
        for name in ("title", "description", "score_rule", "score_rule_text")
    }
    return SuiteEditForm(
        data, initial=initial, tasks=tasks, rules=tuple(SCORE_RULE_OPTIONS)
    )


def _edit_from(form: SuiteEditForm) -> SuiteEdit:
    values = form.cleaned_data
    keys = form.task_keys
    return SuiteEdit(
        title=values["title"],
        description=values["description"],
        score_rule=values["score_rule"],
        score_rule_text=values["score_rule_text"],
        counted={key: values[f"counts_{key}"] for key in keys},
        order=sorted(keys, key=lambda k: (values[f"position_{k}"], keys.index(k))),
        weights={key: values[f"weight_{key}"] for key in keys},
    )


@staff_page
def suite_edit(request: HttpRequest, suite: str) -> HttpResponse:
    """A curated suite's edit form; a post first shows the impact, a post with
    ``confirm`` applies it."""
    suite_obj = _found(suite_get, suite)
    if not suite_obj.is_curated:
        messages.error(
            request,
            f"{suite_obj.title} is declared by tasks/catalogue/{suite_obj.slug}.toml; "
            "change it there.",
        )
        return redirect("suite-leaderboard", suite=suite)
    form = _edit_form(suite_obj, request.POST or None)
    impact = None
    if request.method == "POST" and form.is_valid():
        try:
            outcome = suite_curate_edit(
                suite=suite_obj,
                edit=_edit_from(form),
                actor=request.user,
                confirm="confirm" in request.POST,
            )
        except UserError as error:
            form.add_error(None, error.message)
        else:
            if outcome.applied:
                messages.info(request, f"Suite {suite_obj.slug} saved.")
                return redirect("suite-leaderboard", suite=suite)
            impact = outcome.impact
    return render(
        request,
        "pages/suite_edit.html",
        {"suite": suite_obj, "form": form, "impact": impact},
        status=400 if request.method == "POST" and form.errors else 200,
    )
