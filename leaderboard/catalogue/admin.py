"""The catalogue in the admin, read-only: suites and tasks follow their specs (a file
in tasks/catalogue/, or a curated suite's document), so they are changed through
the services (sync_catalogue, bundles, the suite edit page), never typed in here.
Dataset versions, bundles and the audit trail are curation's
(``leaderboard.curation.admin``)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from leaderboard.catalogue.models import Suite, Task


def is_staff(request) -> bool:
    """Curation is staff's (as ``curation.permissions.is_curator``, which the
    catalogue, below curation, does not import): no model permissions needed."""
    return bool(request.user.is_active and request.user.is_staff)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown to every curator (staff), changed by no one here."""

    def has_module_permission(self, request) -> bool:
        return is_staff(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_staff(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class TaskInline(admin.TabularInline):
    model = Task
    fields = (
        "name",
        "title",
        "task_type",
        "version",
        "primary_metric",
        "in_suite_score",
        "position",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None) -> bool:
        return is_staff(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Suite)
class SuiteAdmin(ReadOnlyAdmin):
    list_display = ("slug", "title", "origin", "version", "edit_link")
    list_filter = ("origin",)
    inlines = [TaskInline]

    @admin.display(description="Edit")
    def edit_link(self, suite: Suite) -> str:
        if not suite.is_curated:
            return f"tasks/catalogue/{suite.slug}.toml"
        return format_html(
            '<a href="{}">edit on the site</a>',
            reverse("suite-edit", args=[suite.slug]),
        )


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "title",
        "task_type",
        "version",
        "primary_metric",
        "in_suite_score",
    )
    list_filter = ("suite", "task_type")
