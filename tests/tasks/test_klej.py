"""KLEJ: each task's TSV layout, read from folders and from the release zip."""

import zipfile
from pathlib import Path

import pytest

from tasks.errors import ImportFormatError
from tasks.importers.klej import carve_dev
from tasks.importers.loading import load_suite, load_task
from tasks.registry import get_suite, get_task
from tasks.scoring import score_predictions, suite_score
from tests.tasks.conftest import write_tsv

# Per task: release folder, header, two labelled rows, one test_features row,
# whether dev.tsv is released, and the labels the two rows should get.
LAYOUTS = {
    "nkjp-ner": (
        "klej_nkjp-ner",
        ["sentence", "target"],
        [["Jan Kowalski przyszedł .", "persName"], ['Było "ciepło" .', "noEntity"]],
        [3, 1],
        True,
    ),
    "cdsc-e": (
        "klej_cdsc-e",
        ["pair_ID", "sentence_A", "sentence_B", "entailment_judgment"],
        [
            ["1", "Kot śpi .", "Zwierzę śpi .", "ENTAILMENT"],
            ["2", "Kot śpi .", "Pies biega .", "NEUTRAL"],
        ],
        [2, 0],
        True,
    ),
    "cdsc-r": (
        "klej_cdsc-r",
        ["pair_ID", "sentence_A", "sentence_B", "relatedness_score"],
        [["1", "Kot śpi .", "Zwierzę śpi .", "4.5"], ["2", "A .", "B .", "0"]],
        [4.5, 0.0],
        True,
    ),
    "cbd": (
        "klej_cbd",
        ["sentence", "target"],
        [["@anonymized_account jesteś super", "0"], ["ty idioto", "1"]],
        [0, 1],
        False,
    ),
    "polemo-in": (
        "klej_polemo2.0-in",
        ["sentence", "target"],
        [
            ["Hotel świetny .", "__label__meta_plus_m"],
            ["Lekarz ok .", "__label__meta_zero"],
        ],
        [2, 3],
        True,
    ),
    "polemo-out": (
        "klej_polemo2.0-out",
        ["sentence", "target"],
        [
            ["Szkoła taka sobie .", "__label__meta_amb"],
            ["Zły .", "__label__meta_minus_m"],
        ],
        [0, 1],
        True,
    ),
    "dyk": (
        "klej_dyk",
        ["q_id", "question", "answer", "target"],
        [
            ["q1", "Czy wiesz, kto ?", "Kopernik", "1"],
            ["q2", "Czy wiesz ?", "Nie", "0"],
        ],
        [1, 0],
        False,
    ),
    "psc": (
        "klej_psc",
        ["extract_text", "summary_text", "label"],
        [["Długi tekst .", "Streszczenie .", "1"], ["Inny tekst .", "Obce .", "0"]],
        [1, 0],
        False,
    ),
    "ar": (
        "klej_ar",
        ["text", "rating"],
        [["Polecam !", "5.0"], ["Słabe .", "1.0"]],
        [5.0, 1.0],
        True,
    ),
}
LABEL_COLUMN = {
    "cdsc-e": "entailment_judgment",
    "cdsc-r": "relatedness_score",
    "psc": "label",
    "ar": "rating",
}


def write_task(root: Path, key: str, *, train_rows: int = 2) -> Path:
    """Write ``key``'s train/dev/test_features files in the KLEJ layout."""
    folder_name, header, rows, _, has_dev = LAYOUTS[key]
    folder = root / folder_name
    label = header.index(LABEL_COLUMN.get(key, "target"))
    train = (rows * train_rows)[:train_rows] if train_rows > 2 else rows
    write_tsv(folder / "train.tsv", train, header=header)
    if has_dev:
        write_tsv(folder / "dev.tsv", rows, header=header)
    features = [c for i, c in enumerate(header) if i != label]
    write_tsv(
        folder / "test_features.tsv",
        [[c for i, c in enumerate(rows[0]) if i != label]],
        header=features,
    )
    return folder


@pytest.mark.parametrize("key", sorted(LAYOUTS))
def test_each_task_reads_its_release_layout(tmp_path, key):
    write_task(tmp_path, key)
    dataset = load_task(f"klej/{key}", tmp_path)
    task = dataset.task
    _, header, rows, labels, has_dev = LAYOUTS[key]
    if has_dev:
        assert dataset.counts() == {"train": 2, "validation": 2, "test": 1}
        assert [r["label"] for r in dataset.splits["validation"]] == labels
    else:
        # No dev.tsv: one of the two train rows is carved out as validation.
        assert dataset.counts() == {"train": 1, "validation": 1, "test": 1}
    first = dataset.splits["train"][0] if has_dev else None
    if first is not None:
        assert first["idx"] == 0
        for field in task.text_fields:
            assert first[field] == rows[0][header.index(field)]
    assert "label" not in dataset.splits["test"][0]


def test_text_is_kept_byte_for_byte_with_bare_quotes(tmp_path):
    write_task(tmp_path, "nkjp-ner")
    dataset = load_task("klej/nkjp-ner", tmp_path / "klej_nkjp-ner")
    assert dataset.splits["validation"][1]["sentence"] == 'Było "ciepło" .'


def test_task_reads_the_release_zip_without_extracting(tmp_path):
    folder = write_task(tmp_path / "unpacked", "cdsc-e")
    archive = tmp_path / "klej" / "klej_cdsc-e.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, arcname=path.name)
    from_zip = load_task("klej/cdsc-e", archive)
    from_root = load_task("klej/cdsc-e", archive.parent)
    from_folder = load_task("klej/cdsc-e", folder)
    assert from_zip.sha256() == from_folder.sha256() == from_root.sha256()
    assert sorted(p.name for p in archive.parent.iterdir()) == ["klej_cdsc-e.zip"]
    assert load_suite("klej", archive.parent)[0].task.name == "klej/cdsc-e"


def test_errors_inside_a_zip_name_archive_member_and_line(tmp_path):
    archive = tmp_path / "klej_cbd.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("klej_cbd/train.tsv", "sentence\ttarget\nok\t0\nbad\t2\n")
    with pytest.raises(ImportFormatError) as caught:
        load_task("klej/cbd", archive)
    assert caught.value.file == f"{archive}:klej_cbd/train.tsv"
    assert caught.value.line == 3 and "'2'" in str(caught.value)


def test_unknown_label_names_file_and_line(tmp_path):
    folder = write_task(tmp_path, "polemo-in")
    write_tsv(
        folder / "dev.tsv",
        [["Dobre .", "__label__meta_plus_m"], ["Złe .", "__label__meta_minus"]],
        header=["sentence", "target"],
    )
    with pytest.raises(ImportFormatError) as caught:
        load_task("klej/polemo-in", folder)
    assert caught.value.file == str(folder / "dev.tsv") and caught.value.line == 3
    assert "__label__meta_minus" in str(caught.value)


@pytest.mark.parametrize(
    ("header", "rows", "line", "words"),
    [
        (["sentence", "label"], [["x", "1"]], 1, "lacks the column(s) ['target']"),
        (["sentence", "target"], [["x", "1", "extra"]], 2, "found 3"),
        (["sentence", "target"], [["x"]], 2, "found 1"),
    ],
)
def test_malformed_tsv_names_file_and_line(tmp_path, header, rows, line, words):
    folder = write_task(tmp_path, "cbd")
    write_tsv(folder / "train.tsv", rows, header=header)
    with pytest.raises(ImportFormatError) as caught:
        load_task("klej/cbd", folder)
    assert caught.value.file == str(folder / "train.tsv")
    assert caught.value.line == line and words in str(caught.value)


def test_regression_scores_are_range_checked(tmp_path):
    folder = write_task(tmp_path, "ar")
    write_tsv(folder / "dev.tsv", [["x", "6"]], header=["text", "rating"])
    with pytest.raises(ImportFormatError, match="outside"):
        load_task("klej/ar", folder)


def test_missing_dev_without_carving_is_an_error(tmp_path):
    folder = write_task(tmp_path, "nkjp-ner")
    (folder / "dev.tsv").unlink()
    with pytest.raises(ImportFormatError) as caught:
        load_task("klej/nkjp-ner", folder)
    assert caught.value.code == "import.missing_file"
    assert str(folder / "dev.tsv") in str(caught.value)


def test_dev_carved_from_train_is_a_fixed_tenth(tmp_path):
    folder = write_task(tmp_path, "dyk", train_rows=50)
    first = load_task("klej/dyk", folder)
    again = load_task("klej/dyk", folder)
    assert first.counts() == {"train": 45, "validation": 5, "test": 1}
    assert first.sha256() == again.sha256()
    train_idx = {r["idx"] for r in first.splits["train"]}
    dev_idx = {r["idx"] for r in first.splits["validation"]}
    assert not train_idx & dev_idx and train_idx | dev_idx == set(range(50))
    # The choice depends only on the salt and row numbers.
    _, dev = carve_dev([{"idx": i} for i in range(50)], fraction=0.1, seed=0)
    assert {r["idx"] for r in dev} == dev_idx
    _, other = carve_dev([{"idx": i} for i in range(50)], fraction=0.1, seed=1)
    assert {r["idx"] for r in other} != dev_idx


def test_released_dev_wins_over_carving(tmp_path):
    folder = write_task(tmp_path, "psc")
    write_tsv(
        folder / "dev.tsv",
        [["a", "b", "1"]],
        header=["extract_text", "summary_text", "label"],
    )
    assert load_task("klej/psc", folder).counts() == {
        "train": 2,
        "validation": 1,
        "test": 1,
    }


def test_specs_follow_klej():
    metrics = {t.key: t.metrics for t in get_suite("klej").tasks}
    assert metrics == {
        "nkjp-ner": ("accuracy",),
        "cdsc-e": ("accuracy",),
        "cdsc-r": ("spearman",),
        "cbd": ("f1",),
        "polemo-in": ("accuracy",),
        "polemo-out": ("accuracy",),
        "dyk": ("f1",),
        "psc": ("f1",),
        "ar": ("one_minus_wmae",),
    }
    assert get_task("klej/ar").type == "regression"
    assert get_task("klej/cdsc-e").labels == ("NEUTRAL", "CONTRADICTION", "ENTAILMENT")


def test_ar_is_scored_as_one_minus_wmae_over_four():
    ar = get_task("klej/ar")
    # Rating 1: errors 1 and 0 -> 0.5; rating 5: error 2 -> 2. wMAE 1.25.
    scores = score_predictions(
        ar, {"validation": [2.0, 1.0, 3.0]}, {"validation": [1.0, 1.0, 5.0]}
    )
    assert scores == {"one_minus_wmae": pytest.approx(1 - 1.25 / 4)}


def test_klej_score_is_the_mean_of_nine_tasks():
    klej = get_suite("klej")
    scores = {t.name: i / 10 for i, t in enumerate(klej.tasks)}
    assert suite_score(klej, scores) == pytest.approx(sum(range(9)) / 90)


def test_klej_input_lengths_are_the_baselines():
    # KLEJ's baseline fine-tuning (Rybak et al., 2020; the klejbenchmark-baselines
    # configs) cuts inputs at 256 tokens, PSC's long extract-summary pairs at 510.
    lengths = {t.key: t.max_length for t in get_suite("klej").tasks}
    assert lengths.pop("psc") == 510
    assert set(lengths.values()) == {256}
    assert {t.version for t in get_suite("klej").tasks} == {2}


def test_carved_dev_splits_are_labelled_as_deviations():
    # CBD, DYK and PSC release no dev.tsv: their validation is carved from train.
    carved = {t.key for t in get_suite("klej").tasks if t.deviations}
    assert carved == {"cbd", "dyk", "psc"}
    for key in carved:
        assert "carved" in get_task(f"klej/{key}").deviations[0]
        assert get_task(f"klej/{key}").importer_options["dev_from_train"] is True
    assert "test labels are private" in get_suite("klej").deviations[0]
