"""LEPISZCZE: the catalogue entry, its metrics, and each Hub table layout.

Files are written here in the layouts the Hub publishes (Parquet written by
``datasets`` with its ClassLabel features, or JSON Lines with the same columns),
with the column names of LEPISZCZE's experiment configs
(CLARIN-PL/LEPISZCZE, experiments/configs/datasets/*.yaml) and its dataset cards
(CLARIN-PL/lepiszcze-datatasets-descriptions).
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from tasks.errors import ImportFormatError, PlatformError
from tasks.importers import hf_files, hf_hub
from tasks.importers.loading import load_suite, load_task
from tasks.metrics import compute
from tasks.registry import get_suite, get_task

KPWR_TAGS = ["B-nam_liv_person", "I-nam_liv_person", "B-nam_loc_gpe_city", "O"]


def write_parquet(path: Path, columns: dict, features: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = datasets.Dataset.from_dict(columns, features=datasets.Features(features))
    table.to_parquet(str(path))


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def kpwr_split(path: Path) -> None:
    """clarin-pl/kpwr-ner: tokens, lemmas, orth and ner as ClassLabel indices."""
    words = datasets.Sequence(datasets.Value("string"))
    write_parquet(
        path,
        {
            "tokens": [["Jan", "Kowalski", "mieszka", "w", "Opolu"], ["Tak", "."]],
            "lemmas": [["Jan", "Kowalski", "mieszkać", "w", "Opole"], ["tak", "."]],
            "orth": [["subst"] * 5, ["qub", "interp"]],
            "ner": [[0, 1, 3, 3, 2], [3, 3]],
        },
        {
            "tokens": words,
            "lemmas": words,
            "orth": words,
            "ner": datasets.Sequence(datasets.ClassLabel(names=KPWR_TAGS)),
        },
    )


def test_lepiszcze_lists_its_twelve_public_tasks_with_its_metrics():
    suite = get_suite("lepiszcze")
    keys = [t.key for t in suite.tasks]
    assert keys == [
        "kpwr-ner",
        "political-advertising",
        "nkjp-pos",
        "aspectemo",
        "punctuation-restoration",
        "polemo2",
        "polemo2-in",
        "polemo2-out",
        "cdsc-e",
        "dyk",
        "psc",
        "abusive-clauses",
    ]
    primary = {t.key: t.primary_metric for t in suite.tasks}
    # LEPISZCZE's dvc.yaml: conll mode for these two, unit mode for three.
    assert primary["kpwr-ner"] == primary["political-advertising"] == "entity_macro_f1"
    for key in ("nkjp-pos", "aspectemo", "punctuation-restoration"):
        assert primary[key] == "unit_macro_f1"
        assert get_task(f"lepiszcze/{key}").importer_options["scheme"] == "UNIT"
    for task in suite.tasks[5:]:
        assert task.type == "classification" and task.primary_metric == "macro_f1"
    assert all(t.importer == "hf_files" and t.in_suite_score for t in suite.tasks)
    assert all(t.eval_splits == ("test",) for t in suite.tasks)
    assert suite.score_rule == "mean_of_task_means"
    assert any("no single score" in d for d in suite.deviations)
    assert len(get_task("lepiszcze/kpwr-ner").labels) == 1 + 2 * 82  # n82
    assert len(get_task("lepiszcze/nkjp-pos").labels) == 35


def test_entity_macro_f1_is_seqeval_macro_average_in_its_default_mode():
    from seqeval.metrics import classification_report

    refs = [["B-A", "I-A", "O", "B-B"], ["I-A", "O", "B-C"]]
    preds = [["B-A", "I-A", "O", "O"], ["B-A", "O", "B-C"]]
    report = classification_report(refs, preds, output_dict=True, zero_division=0)
    expected = report["macro avg"]["f1-score"]
    assert compute("entity_macro_f1", preds, refs) == pytest.approx(expected)


def test_unit_macro_f1_scores_each_tag_as_a_one_word_mention():
    refs = [["subst", "adj", "interp"], ["subst", "fin"]]
    preds = [["subst", "subst", "interp"], ["adj", "fin"]]
    # Per tag: subst P 1/2 R 1/2, adj 0, interp 1, fin 1 -> mean F1.
    expected = (0.5 + 0.0 + 1.0 + 1.0) / 4
    assert compute("unit_macro_f1", preds, refs) == pytest.approx(expected)
    assert compute("token_macro_f1", preds, refs) == pytest.approx(expected)


def test_kpwr_ner_parquet_tags_are_named_by_the_file_s_class_labels(tmp_path):
    folder = tmp_path / "kpwr-ner"
    kpwr_split(folder / "train.parquet")
    kpwr_split(folder / "test.parquet")
    dataset = load_task("lepiszcze/kpwr-ner", tmp_path)
    task = dataset.task
    row = dataset.splits["test"][0]
    assert row["tokens"] == ["Jan", "Kowalski", "mieszka", "w", "Opolu"]
    assert [task.labels[i] for i in row["label"]] == [
        "B-nam_liv_person",
        "I-nam_liv_person",
        "O",
        "O",
        "B-nam_loc_gpe_city",
    ]


def test_political_advertising_jsonl_with_tag_names_and_a_stray_inside(tmp_path):
    folder = tmp_path / "political-advertising-pl"
    train = [
        {"id": "1", "tokens": ["ZUS", "i", "VAT"], "tags": ["I-WELFARE", "O", "O"]},
        {"id": "2", "tokens": ["szkoły"], "tags": ["B-EDUCATION"]},
    ]
    for split in ("train", "validation", "test"):
        write_jsonl(folder / f"{split}.jsonl", train)
    dataset = load_task("lepiszcze/political-advertising", tmp_path)
    labels = dataset.task.labels
    # seqeval's conll mode reads a stray I as a beginning; so does the import.
    assert labels[dataset.splits["test"][0]["label"][0]] == "B-WELFARE"
    assert set(dataset.splits) == {"train", "validation", "test"}


def test_a_tag_outside_the_tag_set_names_the_file_and_line(tmp_path):
    folder = tmp_path / "political-advertising-pl"
    write_jsonl(folder / "train.jsonl", [{"tokens": ["a"], "tags": ["O"]}])
    write_jsonl(
        folder / "test.jsonl",
        [{"tokens": ["a"], "tags": ["O"]}, {"tokens": ["b"], "tags": ["B-SPORT"]}],
    )
    with pytest.raises(ImportFormatError) as error:
        load_task("lepiszcze/political-advertising", tmp_path)
    assert "test.jsonl" in str(error.value) and "line 2" in str(error.value)
    assert "B-SPORT" in str(error.value)


def test_words_and_tags_of_different_lengths_are_refused(tmp_path):
    folder = tmp_path / "aspectemo"
    write_jsonl(folder / "train.jsonl", [{"tokens": ["a"], "labels": ["O"]}])
    write_jsonl(folder / "test.jsonl", [{"tokens": ["a", "b"], "labels": ["O"]}])
    with pytest.raises(ImportFormatError, match="2 words but 1 tags"):
        load_task("lepiszcze/aspectemo", tmp_path)


def test_class_indices_the_file_does_not_name_are_refused(tmp_path):
    folder = tmp_path / "nkjp-pos"
    write_jsonl(folder / "train.jsonl", [{"tokens": ["a"], "pos_tags": [3]}])
    write_jsonl(folder / "test.jsonl", [{"tokens": ["a"], "pos_tags": ["subst"]}])
    with pytest.raises(ImportFormatError, match="tag '3' is not in the task's tag"):
        load_task("lepiszcze/nkjp-pos", tmp_path)


def test_nkjp_pos_parquet_with_unit_tags_and_no_o(tmp_path):
    folder = tmp_path / "nkjp-pos"
    names = list(get_task("lepiszcze/nkjp-pos").labels)
    for split in ("train", "test"):
        write_parquet(
            folder / f"{split}.parquet",
            {
                "id": ["130-2-900005_morph_49.49-s"],
                "tokens": [["Zarejestruj", "się", "."]],
                "pos_tags": [[names.index("impt"), names.index("qub"), 18]],
            },
            {
                "id": datasets.Value("string"),
                "tokens": datasets.Sequence(datasets.Value("string")),
                "pos_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
            },
        )
    dataset = load_task("lepiszcze/nkjp-pos", tmp_path)
    tags = [names[i] for i in dataset.splits["test"][0]["label"]]
    assert tags == ["impt", "qub", "interp"]


def test_an_empty_split_is_refused(tmp_path):
    folder = tmp_path / "aspectemo"
    write_jsonl(folder / "train.jsonl", [{"tokens": ["a"], "labels": ["O"]}])
    (folder / "test.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(ImportFormatError):
        load_task("lepiszcze/aspectemo", tmp_path)


def test_sentence_tasks_in_their_hub_layouts(tmp_path):
    # allegro/klej-dyk: q_id, question, answer, target as a plain integer.
    for split in ("train", "test"):
        write_parquet(
            tmp_path / "klej-dyk" / f"{split}.parquet",
            {
                "q_id": ["czywiesz1", "czywiesz2"],
                "question": ["Czym zajmowali się świątnicy?", "Kto?"],
                "answer": ["Świątnik – osoba, która obsługiwała kościół.", "Nikt."],
                "target": [1, 0],
            },
            {
                "q_id": datasets.Value("string"),
                "question": datasets.Value("string"),
                "answer": datasets.Value("string"),
                "target": datasets.Value("int32"),
            },
        )
    # allegro/klej-cdsc-e: judgments as names, JSON Lines.
    for split in ("train", "validation", "test"):
        write_jsonl(
            tmp_path / "klej-cdsc-e" / f"{split}.jsonl",
            [
                {
                    "pair_ID": 1,
                    "sentence_A": "Chłopiec skacze.",
                    "sentence_B": "Dziecko skacze.",
                    "entailment_judgment": "ENTAILMENT",
                }
            ],
        )
    # clarin-pl/polemo2-official: target as a ClassLabel index.
    names = ["zero", "minus", "plus", "amb"]
    for split in ("train", "validation", "test"):
        write_parquet(
            tmp_path / "polemo2-official" / f"{split}.parquet",
            {"text": ["Na samym wejściu hotel śmierdzi ."], "target": [1]},
            {
                "text": datasets.Value("string"),
                "target": datasets.ClassLabel(names=names),
            },
        )
    found = {d.task.key: d for d in load_suite("lepiszcze", tmp_path)}
    assert set(found) == {"dyk", "cdsc-e", "polemo2"}
    assert [r["label"] for r in found["dyk"].splits["test"]] == [1, 0]
    assert found["dyk"].splits["test"][0]["question"].startswith("Czym")
    cdsc = found["cdsc-e"]
    assert cdsc.task.labels[cdsc.splits["test"][0]["label"]] == "ENTAILMENT"
    polemo = found["polemo2"]
    assert polemo.task.labels[polemo.splits["test"][0]["label"]] == "minus"


def test_a_missing_label_column_names_the_file(tmp_path):
    folder = tmp_path / "abusive-clauses-pl"
    for split in ("train", "test"):
        write_jsonl(folder / f"{split}.jsonl", [{"text": "x", "label": "y"}])
    with pytest.raises(ImportFormatError, match=r"no column\(s\) \['class'\]"):
        load_task("lepiszcze/abusive-clauses", tmp_path)


def test_loading_from_an_unreachable_hub_says_so(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_hub, "_hub_reachable", lambda timeout: False)
    with pytest.raises(PlatformError) as error:
        hf_files.load_from_hub(get_task("lepiszcze/kpwr-ner"))
    assert error.value.code == "import.hub_unreachable"
    assert "clarin-pl/kpwr-ner" in error.value.message


def test_loading_from_the_hub_maps_the_repo_s_splits(monkeypatch):
    monkeypatch.setattr(hf_hub, "_hub_reachable", lambda timeout: True)
    tags = datasets.Sequence(datasets.ClassLabel(names=["O", "a_plus_m"]))
    features = datasets.Features(
        {"tokens": datasets.Sequence(datasets.Value("string")), "labels": tags}
    )
    table = datasets.Dataset.from_dict(
        {"tokens": [["Polecam", "."]], "labels": [[1, 0]]}, features=features
    )
    asked = []

    def fake_load(repo, config=None):
        asked.append((repo, config))
        return datasets.DatasetDict({"train": table, "test": table})

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    dataset = hf_files.load_from_hub(get_task("lepiszcze/aspectemo"))
    assert asked == [("clarin-pl/aspectemo", None)]
    labels = dataset.task.labels
    assert [labels[i] for i in dataset.splits["test"][0]["label"]] == ["a_plus_m", "O"]
