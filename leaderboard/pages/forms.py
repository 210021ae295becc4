"""Forms of the pages. They check shape; services check the rules."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from runners.recipes import RECIPE_NAMES


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
    visibility = forms.ChoiceField(
        choices=[("public", "public"), ("private", "private")]
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class SignupForm(UserCreationForm):
    pass
