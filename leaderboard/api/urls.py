from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from leaderboard.api import curation, snapshots, views

urlpatterns = [
    path("auth/token", views.TokenView.as_view(), name="api-token"),
    path("auth/me", views.MeView.as_view(), name="api-me"),
    path("submissions", views.SubmissionListView.as_view(), name="api-submissions"),
    path(
        "submissions/<int:pk>",
        views.SubmissionDetailView.as_view(),
        name="api-submission-detail",
    ),
    path(
        "submissions/<int:pk>/cancel",
        views.SubmissionCancelView.as_view(),
        name="api-submission-cancel",
    ),
    path(
        "submissions/<int:pk>/manifest",
        views.SubmissionManifestView.as_view(),
        name="api-submission-manifest",
    ),
    path(
        "submissions/<int:pk>/glue-zip",
        views.SubmissionGlueZipView.as_view(),
        name="api-submission-glue-zip",
    ),
    path(
        "evaluations/<int:pk>/rerun",
        views.EvaluationRerunView.as_view(),
        name="api-evaluation-rerun",
    ),
    path("compare", views.CompareView.as_view(), name="api-compare"),
    path(
        "leaderboards/<slug:suite>",
        views.LeaderboardView.as_view(),
        name="api-leaderboard",
    ),
    path(
        "leaderboards/<slug:suite>/snapshots",
        snapshots.SnapshotListView.as_view(),
        name="api-snapshots",
    ),
    path(
        "leaderboards/<slug:suite>/snapshots/<str:sha>",
        snapshots.SnapshotDetailView.as_view(),
        name="api-snapshot-detail",
    ),
    path(
        "leaderboards/<slug:suite>/snapshots/<str:sha>/archive",
        snapshots.SnapshotArchiveView.as_view(),
        name="api-snapshot-archive",
    ),
    path("suites", views.SuiteListView.as_view(), name="api-suites"),
    path(
        "suites/<slug:suite>", views.SuiteDetailView.as_view(), name="api-suite-detail"
    ),
    path(
        "tasks/<slug:suite>/<slug:task>",
        views.TaskDetailView.as_view(),
        name="api-task-detail",
    ),
    path(
        "tasks/<slug:suite>/<slug:task>/download",
        views.TaskDownloadView.as_view(),
        name="api-task-download",
    ),
    path(
        "tasks/<slug:suite>/<slug:task>/versions/<str:sha>",
        curation.VersionDetailView.as_view(),
        name="api-version-detail",
    ),
    path(
        "tasks/<slug:suite>/<slug:task>/versions/<str:sha>/<slug:action>",
        curation.VersionActionView.as_view(),
        name="api-version-action",
    ),
    path(
        "suites/<slug:suite>/edit",
        curation.SuiteEditView.as_view(),
        name="api-suite-edit",
    ),
    path(
        "curation/bundles",
        curation.BundleListView.as_view(),
        name="api-bundles",
    ),
    path(
        "curation/bundles/<int:pk>",
        curation.BundleDetailView.as_view(),
        name="api-bundle-detail",
    ),
    path(
        "curation/bundles/<int:pk>/<slug:decision>",
        curation.BundleDecisionView.as_view(),
        name="api-bundle-decision",
    ),
    path("curation/audit", curation.AuditView.as_view(), name="api-audit"),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
]
