"""Admin views of submissions. Status changes go through services, not edits."""

from django.contrib import admin

from leaderboard.submissions import lifecycle
from leaderboard.submissions.models import Evaluation, ModelArchive, Result, Submission


class EvaluationInline(admin.TabularInline):
    model = Evaluation
    fields = ("task", "seed", "recipe_version", "status", "attempts", "error_code")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "owner",
        "recipe",
        "status",
        "visibility",
        "is_baseline",
    )
    list_filter = ("status", "visibility", "is_baseline", "recipe")
    readonly_fields = ("archive", "status", "created_at", "updated_at")
    inlines = [EvaluationInline]
    actions = ["cancel_unfinished"]

    @admin.action(description="Cancel unfinished evaluations")
    def cancel_unfinished(self, request, queryset):
        total = sum(
            lifecycle.submission_cancel(submission=sub, user=request.user)
            for sub in queryset
        )
        self.message_user(request, f"Cancelled {total} evaluation(s).")


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "submission",
        "task",
        "seed",
        "status",
        "attempts",
        "error_code",
    )
    list_filter = ("status", "task")
    readonly_fields = [f.name for f in Evaluation._meta.fields]


@admin.register(Result)
class ResultAdmin(admin.ModelAdmin):
    list_display = (
        "evaluation",
        "task_score",
        "did_not_learn",
        "task_version",
        "created_at",
    )
    list_filter = ("did_not_learn",)
    readonly_fields = [f.name for f in Result._meta.fields]


@admin.register(ModelArchive)
class ModelArchiveAdmin(admin.ModelAdmin):
    list_display = ("sha256", "size_bytes", "has_weights", "created_at")
    readonly_fields = [f.name for f in ModelArchive._meta.fields]
