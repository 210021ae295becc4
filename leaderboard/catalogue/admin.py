"""Admin curation of the catalogue. Actions call services; no rule lives here."""

from django.contrib import admin

from leaderboard.catalogue import services
from leaderboard.catalogue.models import DatasetVersion, Suite, Task


class TaskInline(admin.TabularInline):
    model = Task
    fields = (
        "name",
        "title",
        "task_type",
        "version",
        "primary_metric",
        "in_suite_score",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Suite)
class SuiteAdmin(admin.ModelAdmin):
    list_display = ("slug", "title")
    inlines = [TaskInline]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "title",
        "task_type",
        "version",
        "primary_metric",
        "in_suite_score",
    )
    list_filter = ("suite", "task_type")
    readonly_fields = ("spec",)


@admin.register(DatasetVersion)
class DatasetVersionAdmin(admin.ModelAdmin):
    list_display = ("task", "sha256", "published", "deprecated", "created_at")
    actions = ["publish", "withdraw", "deprecate"]

    @admin.action(description="Publish (new evaluations use the newest published)")
    def publish(self, request, queryset):
        for version in queryset:
            services.dataset_version_set_published(version=version, published=True)
        self.message_user(request, f"Published {queryset.count()} version(s).")

    @admin.action(description="Withdraw (unpublish)")
    def withdraw(self, request, queryset):
        for version in queryset:
            services.dataset_version_set_published(version=version, published=False)
        self.message_user(request, f"Withdrew {queryset.count()} version(s).")

    @admin.action(description="Deprecate (results stay linked, shown as such)")
    def deprecate(self, request, queryset):
        for version in queryset:
            services.dataset_version_deprecate(version=version)
        self.message_user(request, f"Deprecated {queryset.count()} version(s).")

    list_filter = ("published", "deprecated", "task__suite")
    readonly_fields = (
        "task",
        "sha256",
        "counts",
        "label_distribution",
        "datasheet",
        "files",
        "source",
        "created_at",
    )
