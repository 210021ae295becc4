"""Forms of the pages. They check shape; services check the rules."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from runners.contract import METHODS
from runners.recipes import RECIPE_NAMES

TRACK_LABELS = {
    "full": "full fine-tuning",
    "lora": "LoRA (adapters on query/value)",
    "bitfit": "BitFit (biases and head only)",
    "mlm": "MLM head (label word at a [MASK]; no new head)",
}


class SubmitForm(forms.Form):
    name = forms.CharField(max_length=200)
    archive = forms.FileField(
        help_text="A zip of a Hugging Face model folder: config.json, "
        "model.safetensors and the tokenizer files."
    )
    suites = forms.CharField(
        required=False, help_text="Suites to evaluate on, comma-separated (e.g. glue)."
    )
    tasks = forms.CharField(
        required=False, help_text="Or single tasks, comma-separated (e.g. glue/rte)."
    )
    recipe = forms.ChoiceField(choices=[(name, name) for name in RECIPE_NAMES])
    tracks = forms.MultipleChoiceField(
        required=False,
        initial=["full"],
        choices=[(m, TRACK_LABELS.get(m, m)) for m in METHODS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Fine-tuning methods, each ranked on its own board (full when "
        "none is ticked).",
    )
    visibility = forms.ChoiceField(
        choices=[("public", "public"), ("private", "private")]
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class SignupForm(UserCreationForm):
    pass


class BundleForm(forms.Form):
    """A task bundle, or (with ``task``) new data for an existing task."""

    archive = forms.FileField(
        help_text="A zip: one .toml spec in the catalogue's format at its top, and "
        "the data files in a layout its importers read (e.g. SENT/train.tsv)."
    )
    task = forms.ChoiceField(
        required=False,
        help_text="Leave empty for a suite bundle; choose a task to upload new data "
        "for it (the zip then needs no spec).",
    )

    def __init__(self, *args, tasks: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = [("", "— a suite bundle (spec and data) —")] + [
            (name, name) for name in tasks
        ]


class SuiteEditForm(forms.Form):
    """A curated suite's words, score rule, and per task: counts, place, weight."""

    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    score_rule = forms.ChoiceField(choices=[])
    score_rule_text = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, tasks: list[dict], rules: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["score_rule"].choices = [(rule, rule) for rule in rules]
        self.task_keys = [task["key"] for task in tasks]
        for position, task in enumerate(tasks, start=1):
            key = task["key"]
            self.fields[f"counts_{key}"] = forms.BooleanField(
                required=False, initial=task["counts"], label="Counts"
            )
            self.fields[f"position_{key}"] = forms.IntegerField(
                min_value=1, initial=position, label="Position"
            )
            self.fields[f"weight_{key}"] = forms.FloatField(
                min_value=0.0, initial=task["weight"], label="Weight"
            )

    def task_rows(self) -> list[dict]:
        """Per task, its bound fields, for the template's table."""
        return [
            {
                "key": key,
                "counts": self[f"counts_{key}"],
                "position": self[f"position_{key}"],
                "weight": self[f"weight_{key}"],
            }
            for key in self.task_keys
        ]
