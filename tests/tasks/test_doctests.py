"""Run the docstring examples of tasks/ so a plain `pytest tests` checks them too."""

import doctest
import importlib
import pkgutil

import pytest

import tasks

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(tasks.__path__, prefix="tasks.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
