"""Who may do what with a private submission, on every endpoint that touches one.

Anonymous users and other users must not even learn it exists (404, as for an id
that was never used); its owner, staff and admins (superusers) see and manage it.
"""

import pytest

from leaderboard.catalogue.models import DatasetVersion
from leaderboard.submissions.models import Evaluation
from tests.api.conftest import client_as
from tests.factories import finish_all, make_submission, model_variant

pytestmark = pytest.mark.django_db

SEES = {
    "owner": True,
    "staff": True,
    "admin": True,
    "other": False,
    "anonymous": False,
}


@pytest.fixture
def private(users, sst2_imported, tiny_model_zip, no_enqueue):
    submission = make_submission(
        users["owner"],
        model_variant(tiny_model_zip, "private"),
        name="secret",
        visibility="private",
    )
    finish_all(submission, 0.8)
    return submission


@pytest.mark.parametrize("who", list(SEES))
def test_private_submission_detail_manifest_and_zip(who, users, private):
    client = client_as(users[who])
    for url in (
        f"/api/v1/submissions/{private.pk}",
        f"/api/v1/submissions/{private.pk}/manifest",
        f"/api/v1/submissions/{private.pk}/glue-zip",
        f"/submissions/{private.pk}/",
        f"/submissions/{private.pk}/manifest.json",
        f"/submissions/{private.pk}/glue.zip",
    ):
        response = client.get(url)
        if SEES[who]:
            assert response.status_code == 200, (url, response.content[:300])
        else:
            assert response.status_code == 404, url
            if url.startswith("/api/"):
                assert response.json()["code"] == "submission.not_found"


@pytest.mark.parametrize("who", list(SEES))
def test_private_submission_in_lists_boards_and_compare(who, users, private):
    client = client_as(users[who])
    listed = [s["id"] for s in client.get("/api/v1/submissions").json()["results"]]
    assert (private.pk in listed) is SEES[who]
    rows = client.get("/api/v1/leaderboards/glue").json()["rows"]
    assert (private.pk in [r["submission"] for r in rows]) is SEES[who]
    csv_text = client.get("/api/v1/leaderboards/glue?format=csv").content.decode()
    assert ("secret" in csv_text) is SEES[who]
    page = client.get("/suites/glue/").content.decode()
    assert ("secret" in page) is SEES[who]
    response = client.get(f"/api/v1/compare?ids={private.pk},{private.pk}")
    assert response.status_code == (200 if SEES[who] else 404)


@pytest.mark.parametrize(
    "who,expected",
    [
        ("owner", 200),
        ("staff", 200),
        ("admin", 200),
        ("other", 404),
        ("anonymous", 401),
    ],
)
def test_private_submission_visibility_patch(who, expected, users, private):
    response = client_as(users[who]).patch(
        f"/api/v1/submissions/{private.pk}", {"visibility": "public"}, format="json"
    )
    assert response.status_code == expected, response.content
    private.refresh_from_db()
    assert private.visibility == ("public" if expected == 200 else "private")


@pytest.mark.parametrize(
    "who,expected",
    [
        ("owner", 201),
        ("staff", 201),
        ("admin", 201),
        ("other", 404),
        ("anonymous", 401),
    ],
)
def test_private_evaluation_rerun(who, expected, users, private):
    evaluation = private.evaluations.get()
    response = client_as(users[who]).post(f"/api/v1/evaluations/{evaluation.pk}/rerun")
    assert response.status_code == expected, response.content
    if expected == 201:
        body = response.json()
        assert body["rerun_of"] == evaluation.pk
        rerun = Evaluation.objects.get(pk=body["id"])
        assert rerun.seed == evaluation.seed
        assert rerun.dataset_version_id == evaluation.dataset_version_id
    else:
        assert set(response.json()) == {"error", "code"}


@pytest.mark.parametrize(
    "who,expected",
    [
        ("owner", 200),
        ("staff", 200),
        ("admin", 200),
        ("other", 404),
        ("anonymous", 401),
    ],
)
def test_private_submission_cancel(
    who, expected, users, sst2_imported, tiny_model_zip, no_enqueue
):
    queued = make_submission(
        users["owner"], tiny_model_zip.read_bytes(), visibility="private"
    )
    response = client_as(users[who]).post(f"/api/v1/submissions/{queued.pk}/cancel")
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["cancelled"] == 1


def test_another_user_may_see_but_not_change_a_public_submission(
    users, sst2_imported, tiny_model_zip, no_enqueue
):
    public = make_submission(users["owner"], tiny_model_zip.read_bytes())
    finish_all(public, 0.7)
    other = client_as(users["other"])
    assert other.get(f"/api/v1/submissions/{public.pk}").status_code == 200
    response = other.patch(
        f"/api/v1/submissions/{public.pk}", {"visibility": "private"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "auth.forbidden"
    evaluation = public.evaluations.get()
    response = other.post(f"/api/v1/evaluations/{evaluation.pk}/rerun")
    assert response.status_code == 403
    assert other.post(f"/evaluations/{evaluation.pk}/rerun").status_code == 302
    assert Evaluation.objects.filter(rerun_of=evaluation).count() == 0


# Curation: staff only. Every step of curating, through the API, the pages and the
# admin, is refused to everyone else (401/403 on the API, the login page or 403 on
# pages), and a refused step changes nothing.

CURATES = {"staff": True, "admin": True, "owner": False, "other": False}
CURATES["anonymous"] = False


@pytest.fixture
def curation(users, tmp_path, no_enqueue, django_capture_on_commit_callbacks):
    """A curated suite with a draft, and two bundles awaiting confirmation."""
    from leaderboard.curation.models import Bundle
    from leaderboard.curation.services import bundle_create
    from tests.bundles import run_jobs, stream, suite_bundle

    with django_capture_on_commit_callbacks(execute=True):
        bundle = bundle_create(
            actor=users["staff"], archive_stream=stream(suite_bundle(tmp_path))
        )
    run_jobs(no_enqueue)
    awaiting = [
        Bundle.objects.create(
            kind="suite", sha256="0" * 64, size_bytes=1, status="awaiting"
        )
        for _ in range(2)
    ]
    version = DatasetVersion.objects.get(task__name="moviebench/sentiment")
    return {"bundle": bundle, "awaiting": awaiting, "version": version}


def curation_calls(curation, tmp_path) -> list[tuple[str, str, dict]]:
    """Every curation step: (method, url, data)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.bundles import suite_bundle

    def upload():
        data = suite_bundle(tmp_path / "again")
        return {"archive": SimpleUploadedFile("b.zip", data)}

    sha = curation["version"].sha256
    bundle = curation["bundle"].pk
    confirm, discard = (b.pk for b in curation["awaiting"])
    version = f"tasks/moviebench/sentiment/versions/{sha}"
    edit = {"title": "Taken over", "confirm": True}
    return [
        ("get", "/api/v1/curation/bundles", {}),
        ("post", "/api/v1/curation/bundles", upload),
        ("get", f"/api/v1/curation/bundles/{bundle}", {}),
        ("post", f"/api/v1/curation/bundles/{confirm}/confirm", {}),
        ("post", f"/api/v1/curation/bundles/{discard}/discard", {}),
        ("get", f"/api/v1/{version}", {}),
        ("post", f"/api/v1/{version}/publish", {"confirm": False}),
        ("post", f"/api/v1/{version}/publish", {"confirm": True}),
        ("post", f"/api/v1/{version}/deprecate", {"confirm": True}),
        ("post", "/api/v1/suites/moviebench/edit", edit),
        ("get", "/api/v1/curation/audit", {}),
        ("get", "/curate/", {}),
        ("post", "/curate/bundles/", upload),
        ("get", f"/curate/bundles/{bundle}/", {}),
        ("get", f"/curate/bundles/{bundle}/status", {}),
        ("post", f"/curate/bundles/{confirm}/confirm", {}),
        ("post", f"/curate/bundles/{discard}/discard", {}),
        ("get", f"/{version}/", {}),
        ("get", f"/{version}/publish/", {}),
        ("post", f"/{version}/publish/", {}),
        ("post", f"/{version}/deprecate/", {}),
        ("get", "/suites/moviebench/edit/", {}),
        ("post", "/suites/moviebench/edit/", {"title": "x", "confirm": "1"}),
        ("get", "/admin/curation/bundle/upload/", {}),
        ("post", "/admin/curation/bundle/upload/", upload),
    ]


@pytest.mark.parametrize("who", [w for w, may in CURATES.items() if not may])
def test_every_curation_step_is_refused_to_others(who, users, curation, tmp_path):
    from leaderboard.catalogue.models import AuditEvent, Suite
    from leaderboard.curation.models import Bundle

    client = client_as(users[who])
    events = AuditEvent.objects.count()
    for method, url, data in curation_calls(curation, tmp_path):
        data = data() if callable(data) else data
        kwargs = (
            {"format": "json"}
            if url.startswith("/api/") and "archive" not in data
            else {}
        )
        response = getattr(client, method)(url, data, **kwargs)
        if url.startswith("/api/"):
            assert response.status_code == (401 if who == "anonymous" else 403), url
            assert set(response.json()) == {"error", "code"}, url
        elif url.startswith("/admin/") or who == "anonymous":
            assert response.status_code == 302, url
            assert "login" in response["Location"], url
        else:
            assert response.status_code == 403, url
    assert Bundle.objects.count() == 3
    assert [b.status for b in Bundle.objects.order_by("pk")][1:] == [
        "awaiting",
        "awaiting",
    ]
    curation["version"].refresh_from_db()
    assert curation["version"].state == "draft"
    assert Suite.objects.get(slug="moviebench").title == "MovieBench"
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("who", [w for w, may in CURATES.items() if may])
def test_staff_may_take_every_curation_step(who, users, curation, tmp_path):
    client = client_as(users[who])
    for method, url, data in curation_calls(curation, tmp_path):
        data = data() if callable(data) else data
        kwargs = (
            {"format": "json"}
            if url.startswith("/api/") and "archive" not in data
            else {}
        )
        response = getattr(client, method)(url, data, **kwargs)
        refused = response.status_code in (401, 403) or (
            response.status_code == 302 and "login" in response["Location"]
        )
        assert not refused, (url, response.status_code)
