"""URLs of the server-rendered pages (included at the site root)."""

from django.urls import path

from leaderboard.pages import curation, snapshots, views

urlpatterns = [
    path("", views.home, name="home"),
    path("suites/<slug:suite>/", views.suite_leaderboard, name="suite-leaderboard"),
    path(
        "suites/<slug:suite>/snapshots/",
        snapshots.snapshot_freeze,
        name="snapshot-freeze",
    ),
    path(
        "suites/<slug:suite>/snapshots/<str:sha>/",
        snapshots.snapshot_detail,
        name="snapshot-detail",
    ),
    path(
        "suites/<slug:suite>/snapshots/<str:sha>/archive.zip",
        snapshots.snapshot_archive,
        name="snapshot-archive",
    ),
    path("tasks/<slug:suite>/<slug:task>/", views.task_detail, name="task-detail"),
    path(
        "tasks/<slug:suite>/<slug:task>/download",
        views.task_download,
        name="task-download",
    ),
    path(
        "tasks/<slug:suite>/<slug:task>/versions/<str:sha>/",
        curation.version_detail,
        name="version-detail",
    ),
    path(
        "tasks/<slug:suite>/<slug:task>/versions/<str:sha>/<slug:action>/",
        curation.version_action,
        name="version-action",
    ),
    path("suites/<slug:suite>/edit/", curation.suite_edit, name="suite-edit"),
    path("curate/", curation.curate_home, name="curate"),
    path("curate/bundles/", curation.bundle_upload, name="bundle-upload"),
    path("curate/bundles/<int:pk>/", curation.bundle_detail, name="bundle-detail"),
    path(
        "curate/bundles/<int:pk>/status", curation.bundle_status, name="bundle-status"
    ),
    path(
        "curate/bundles/<int:pk>/<slug:decision>",
        curation.bundle_decide,
        name="bundle-decide",
    ),
    path("submissions/<int:pk>/", views.submission_detail, name="submission-detail"),
    path(
        "submissions/<int:pk>/status", views.submission_status, name="submission-status"
    ),
    path(
        "submissions/<int:pk>/cancel", views.submission_cancel, name="submission-cancel"
    ),
    path(
        "submissions/<int:pk>/visibility",
        views.submission_visibility,
        name="submission-visibility",
    ),
    path(
        "submissions/<int:pk>/manifest.json",
        views.submission_manifest,
        name="submission-manifest",
    ),
    path(
        "submissions/<int:pk>/glue.zip",
        views.submission_glue_zip,
        name="submission-glue-zip",
    ),
    path("evaluations/<int:pk>/rerun", views.evaluation_rerun, name="evaluation-rerun"),
    path("compare/", views.compare, name="compare"),
    path("submit/", views.submit, name="submit"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/token/", views.api_token, name="api-token-page"),
    path("vendor/plotly.min.js", views.plotly_js, name="plotly-js"),
]
