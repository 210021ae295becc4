"""``import_task blurb PATH`` on BLURB's data root: every task folder found is
imported; one that cannot be read (this copy's ChemProt has no test.tsv) is named
and left out, and the command says so by failing at the end."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from leaderboard.catalogue.models import DatasetVersion

BLURB = Path(__file__).resolve().parents[3] / "shared" / "data" / "blurb"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not BLURB.is_dir(), reason="needs ../shared/data/blurb"),
]


def test_import_task_blurb_imports_every_task_folder_it_can_read() -> None:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="not imported: blurb/chemprot"):
        call_command("import_task", "blurb", str(BLURB), stdout=out, stderr=err)
    imported = set(
        DatasetVersion.objects.values_list("task__name", flat=True).distinct()
    )
    assert imported == {"blurb/ncbi-disease", "blurb/biosses", "blurb/gad", "blurb/ddi"}
    assert "blurb/chemprot: not imported" in err.getvalue()
    assert "test" in err.getvalue()
    ncbi = DatasetVersion.objects.get(task__name="blurb/ncbi-disease")
    assert ncbi.datasheet["mentions"] == {"train": 5134, "validation": 787, "test": 960}
    assert ncbi.baselines["majority"]["task_score"] == 0.0
