"""Mapping HF `nyu-mll/glue` records to our rows (no network here: in-memory data)."""

import datasets
import pytest

from tasks.dataset import Dataset
from tasks.errors import UserError
from tasks.importers.hf_hub import rows_from_hf
from tasks.registry import get_task


def test_hf_columns_map_to_rows_and_hidden_test_labels_are_dropped():
    mnli = get_task("glue/mnli")
    validation = datasets.Dataset.from_dict(
        {"premise": ["A."], "hypothesis": ["B."], "label": [2], "idx": [0]}
    )
    test = datasets.Dataset.from_dict(
        {"premise": ["C."], "hypothesis": ["D."], "label": [-1], "idx": [4]}
    )
    rows = rows_from_hf(mnli, "validation_matched", validation)
    assert rows == [{"idx": 0, "premise": "A.", "hypothesis": "B.", "label": 2}]
    assert rows_from_hf(mnli, "test_matched", test) == [
        {"idx": 4, "premise": "C.", "hypothesis": "D."}
    ]
    Dataset(mnli, {"validation_matched": rows})  # valid canonical rows


def test_stsb_labels_become_floats():
    stsb = get_task("glue/stsb")
    records = datasets.Dataset.from_dict(
        {"sentence1": ["a"], "sentence2": ["b"], "label": [3.8], "idx": [0]}
    )
    [row] = rows_from_hf(stsb, "validation", records)
    assert row["label"] == pytest.approx(3.8) and isinstance(row["label"], float)


def test_hidden_label_in_a_labelled_split_is_an_error():
    records = datasets.Dataset.from_dict({"sentence": ["x"], "label": [-1], "idx": [0]})
    with pytest.raises(UserError, match="row 0 has no label"):
        rows_from_hf(get_task("glue/sst2"), "validation", records)


def test_unreachable_hub_is_a_platform_error(monkeypatch):
    from tasks.errors import PlatformError
    from tasks.importers import hf_hub

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    monkeypatch.setattr(hf_hub, "_hub_reachable", lambda timeout: True)
    with pytest.raises(PlatformError) as caught:
        hf_hub.load_glue_from_hub("glue/rte")
    assert caught.value.code == "import.hub_unreachable"


def test_hub_check_fails_fast_without_network(monkeypatch):
    from tasks.errors import PlatformError
    from tasks.importers import hf_hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_hub, "_hub_reachable", lambda timeout: False)
    with pytest.raises(PlatformError, match="unreachable"):
        hf_hub.load_glue_from_hub("glue/rte")
