"""Small display filters for scores and sizes."""

from django import template

register = template.Library()


@register.filter
def pct(value) -> str:
    """A 0-1 score as a percentage with one decimal, as GLUE tables print it."""
    try:
        return f"{100 * float(value):.1f}"
    except (TypeError, ValueError):
        return "—"


@register.filter
def get(mapping, key):
    if mapping is None:
        return None
    return mapping.get(key)


@register.filter
def human(value) -> str:
    """Large counts (parameters, bytes) in k/M/G; "—" for a figure not measured."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "—"
    for unit in ("", "k", "M", "G", "T"):
        if abs(value) < 1000:
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}P"
