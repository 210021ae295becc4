"""The display filters never break a page over a figure that was not measured."""

import pytest

from leaderboard.pages.templatetags.glew import human, pct


@pytest.mark.parametrize("missing", [None, "", "n/a", [], {}])
def test_a_missing_or_unreadable_figure_shows_a_dash(missing):
    assert human(missing) == "—"
    assert pct(missing) == "—"


def test_figures_are_shown_in_short_units():
    assert human(22_700_000) == "22.7M"
    assert human(512) == "512"
    assert pct(0.7649) == "76.5"
