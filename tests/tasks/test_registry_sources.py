"""Suites kept elsewhere than the files (the platform's database) join the registry
through a catalogue source: a load function and a stamp, with no Django here."""

import pytest

from tasks import registry
from tasks.errors import UserError
from tasks.spec_files import parse_spec_text
from tests.tasks.test_catalogue import MINIMAL


class FakeSource:
    """A place that holds suites, with a stamp that changes when they do."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.loads = 0

    def load(self):
        self.loads += 1
        return [parse_spec_text(t, source="fake")[0] for t in self.texts]

    def stamp(self):
        return tuple(self.texts)


@pytest.fixture
def source(monkeypatch):
    fake = FakeSource()
    registry.add_catalogue_source("fake", load=fake.load, stamp=fake.stamp)
    yield fake
    registry.remove_catalogue_source("fake")


def test_a_source_s_suites_are_found_beside_the_files(source):
    source.texts.append(MINIMAL)
    registry.catalogue_changed()
    assert registry.get_task("demo/one").key == "one"
    assert registry.get_suite("demo").title == "Demo"
    names = [s.name for s in registry.all_suites()]
    assert "demo" in names and "glue" in names
    assert registry.get_task("glue/sst2").suite == "glue"


def test_a_name_not_found_rereads_the_stamps_at_once(source):
    assert "demo" not in [s.name for s in registry.all_suites()]
    source.texts.append(MINIMAL)  # made in another process: nobody told us
    assert registry.get_task("demo/one").version == 1


def test_a_changed_stamp_reloads_and_an_unchanged_one_does_not(source, monkeypatch):
    monkeypatch.setattr(registry, "RECHECK_SECONDS", 0.0)
    source.texts.append(MINIMAL)
    assert registry.get_task("demo/one").version == 1
    loads = source.loads
    registry.get_task("demo/one")
    assert source.loads == loads  # same stamp: cached
    source.texts[0] = MINIMAL.replace("version = 1", "version = 2")
    assert registry.get_task("demo/one").version == 2


def test_lookups_are_trusted_between_rechecks(source, monkeypatch):
    monkeypatch.setattr(registry, "RECHECK_SECONDS", 3600.0)
    source.texts.append(MINIMAL)
    registry.catalogue_changed()
    assert registry.get_task("demo/one").version == 1
    source.texts[0] = MINIMAL.replace("version = 1", "version = 2")
    assert registry.get_task("demo/one").version == 1  # not re-read yet
    registry.catalogue_changed()
    assert registry.get_task("demo/one").version == 2


def test_the_files_win_a_name_clash(source):
    source.texts.append(MINIMAL.replace('name = "demo"', 'name = "glue"'))
    registry.catalogue_changed()
    assert registry.get_suite("glue").title == "GLUE"
    with pytest.raises(UserError):
        registry.get_task("glue/one")


def test_removing_the_source_forgets_its_suites(source):
    source.texts.append(MINIMAL)
    registry.catalogue_changed()
    assert registry.get_suite("demo")
    registry.remove_catalogue_source("fake")
    with pytest.raises(UserError, match="Unknown suite 'demo'"):
        registry.get_suite("demo")
