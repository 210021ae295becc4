"""Curation in the admin: upload a bundle, watch it, confirm or discard it; publish,
withdraw or deprecate dataset versions after a page showing their impact; read the
audit trail. Every action calls a curation service; no rule lives here."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from leaderboard.catalogue.models import AuditEvent, DatasetVersion
from leaderboard.catalogue.publishing import ACTIONS
from leaderboard.curation import services
from leaderboard.curation.actions import dataset_version_curate
from leaderboard.curation.models import Bundle
from leaderboard.curation.permissions import is_curator
from tasks import registry
from tasks.errors import UserError


class UploadForm(forms.Form):
    archive = forms.FileField(help_text="A zip: a .toml spec and the data files.")
    task = forms.ChoiceField(required=False, help_text="Or new data for this task.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = [("", "— a suite bundle —")] + [
            (t.name, t.name) for t in registry.all_tasks()
        ]


class CuratorAdmin(admin.ModelAdmin):
    """Curation is for staff (``permissions.is_curator``), as on the pages and the
    API: a staff account sees these without being given model permissions one by
    one. Changes still go only through the actions, which call the services."""

    def has_module_permission(self, request) -> bool:
        return is_curator(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_curator(request.user)


@admin.register(Bundle)
class BundleAdmin(CuratorAdmin):
    list_display = (
        "id",
        "kind",
        "suite_slug",
        "task_name",
        "status",
        "uploaded_by",
        "created_at",
    )
    list_filter = ("status", "kind")
    actions = ["confirm", "discard"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Bundle._meta.fields]

    def has_add_permission(self, request) -> bool:
        return is_curator(request.user)  # the upload page

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name="curation_bundle_upload",
        )
        return [upload, *super().get_urls()]

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:curation_bundle_upload")

    def upload_view(self, request):
        """The admin's upload form: ``bundle_create``, then the bundle's page."""
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            archive = form.cleaned_data["archive"]
            try:
                bundle = services.bundle_create(
                    actor=request.user,
                    archive_stream=archive,
                    filename=archive.name,
                    task_name=form.cleaned_data["task"],
                )
            except UserError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, f"Received {bundle} ({bundle.status}).")
                return redirect("admin:curation_bundle_change", bundle.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Upload a task bundle",
        }
        return TemplateResponse(request, "admin/curation/bundle/upload.html", context)

    @admin.action(description="Confirm (import a bundle awaiting confirmation)")
    def confirm(self, request, queryset):
        self._decide(request, queryset, services.bundle_confirm)

    @admin.action(description="Discard (a bundle awaiting confirmation)")
    def discard(self, request, queryset):
        self._decide(request, queryset, services.bundle_discard)

    def _decide(self, request, queryset, service) -> None:
        for bundle in queryset:
            try:
                service(bundle=bundle, actor=request.user)
            except UserError as error:
                self.message_user(request, error.message, messages.ERROR)


@admin.register(DatasetVersion)
class DatasetVersionAdmin(CuratorAdmin):
    list_display = ("task", "sha256", "state", "task_version", "created_at")
    list_filter = ("published", "deprecated", "task__suite")
    actions = ["publish", "withdraw", "deprecate"]
    readonly_fields = (
        "task",
        "sha256",
        "published",
        "deprecated",
        "published_at",
        "task_version",
        "counts",
        "label_distribution",
        "datasheet",
        "files",
        "source",
        "created_by",
        "created_at",
    )
    exclude = ("preview", "baselines")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="State")
    def state(self, version: DatasetVersion) -> str:
        return version.state

    @admin.action(description="Publish… (shows the impact first)")
    def publish(self, request, queryset):
        return self._curate(request, queryset, "publish")

    @admin.action(description="Withdraw… (shows the impact first)")
    def withdraw(self, request, queryset):
        return self._curate(request, queryset, "withdraw")

    @admin.action(description="Deprecate… (shows the impact first)")
    def deprecate(self, request, queryset):
        return self._curate(request, queryset, "deprecate")

    def _curate(self, request, queryset, action: str):
        """First a page with each version's impact; its Confirm does the action."""
        assert action in ACTIONS
        confirm = request.POST.get("confirm") == "yes"
        shown = []
        for version in queryset.select_related("task__suite"):
            try:
                outcome = dataset_version_curate(
                    version=version, action=action, actor=request.user, confirm=confirm
                )
            except UserError as error:
                self.message_user(
                    request, f"{version}: {error.message}", messages.ERROR
                )
                continue
            shown.append((version, outcome.impact))
            if confirm:
                self.message_user(request, f"{version}: {outcome.impact.summary}.")
        if confirm or not shown:
            return None
        return TemplateResponse(
            request,
            "admin/curation/confirm_action.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"{action.capitalize()} dataset versions?",
                "action": action,
                "shown": shown,
                "queryset": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "changelist": reverse("admin:catalogue_datasetversion_changelist"),
            },
        )


@admin.register(AuditEvent)
class AuditEventAdmin(CuratorAdmin):
    list_display = ("at", "actor_name", "action", "suite_slug", "task_name", "summary")
    list_filter = ("action", "suite_slug")
    search_fields = ("summary", "task_name", "suite_slug", "actor_name")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
