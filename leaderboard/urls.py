from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from leaderboard import ratelimit

urlpatterns = [
    path("", include("leaderboard.pages.urls")),
    path("accounts/login/", ratelimit.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("leaderboard.api.urls")),
    path("admin/", admin.site.urls),
]

# The upload cap (leaderboard/uploads.py) answers 413 in plain words, also when the
# body is first read by a middleware; every other bad request gets Django's page.
handler400 = "leaderboard.uploads.bad_request"
