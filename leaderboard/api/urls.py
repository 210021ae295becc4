from django.urls import path

from leaderboard.api import views

urlpatterns = [
    path("auth/token", views.TokenView.as_view(), name="api-token"),
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
        "leaderboards/<slug:suite>",
        views.LeaderboardView.as_view(),
        name="api-leaderboard",
    ),
    path("suites", views.SuiteListView.as_view(), name="api-suites"),
    path(
        "suites/<slug:suite>", views.SuiteDetailView.as_view(), name="api-suite-detail"
    ),
]
