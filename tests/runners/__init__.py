"""Tests of runners/: recipes and the in-sandbox program."""
