from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from leaderboard.pages import views

urlpatterns = [
    path("", views.home, name="home"),
    path("suites/<slug:suite>/", views.suite_leaderboard, name="suite-leaderboard"),
    path("tasks/<slug:suite>/<slug:task>/", views.task_detail, name="task-detail"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission-detail"),
    path(
        "submissions/<int:pk>/status", views.submission_status, name="submission-status"
    ),
    path(
        "submissions/<int:pk>/cancel", views.submission_cancel, name="submission-cancel"
    ),
    path("submit/", views.submit, name="submit"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("api/v1/", include("leaderboard.api.urls")),
    path("admin/", admin.site.urls),
]
