"""LRA Text, Retrieval and Image importers, each on a fixture in the exact layout."""

import numpy as np
import pytest

from tasks.dataset import Dataset
from tasks.errors import CatalogueError, ImportFormatError, UserError
from tasks.importers.loading import load_task
from tasks.registry import get_suite, get_task
from tasks.scoring import score_keys


def test_lra_suite_declares_five_tasks_with_fixed_recipes():
    suite = get_suite("lra")
    assert [t.key for t in suite.tasks] == [
        "listops",
        "text",
        "retrieval",
        "image",
        "pathfinder",
        "pathfinder-glew",
    ]
    assert [t.key for t in suite.tasks if t.in_suite_score] == [
        "listops",
        "text",
        "retrieval",
        "image",
        "pathfinder",
    ]
    for task in suite.tasks:
        assert task.vocabulary in ("listops", "bytes", "pixels")
        assert task.fixed_recipe["train_steps"] > 0 and task.fixed_recipe["source"]
        assert score_keys(task) == ("accuracy",)
    assert get_task("lra/listops").fixed_recipe["max_length"] == 2000
    assert get_task("lra/listops").num_labels == 10
    assert get_task("lra/retrieval").two_tower
    assert get_task("lra/image").fixed_recipe["max_length"] == 1024


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_aclimdb_folders_become_rows_in_a_stable_order(tmp_path):
    root = tmp_path / "aclImdb"
    for split in ("train", "test"):
        write(root / split / "pos" / "10_9.txt", b"Great <br /><br />film.")
        write(root / split / "pos" / "2_7.txt", "Très bien".encode())
        write(root / split / "neg" / "3_1.txt", b"Dull.")
        write(root / split / "unsup" / "0_0.txt", b"ignored")
    write(root / "train" / "labeledBow.feat", b"0 0:1\n")
    dataset = load_task("lra/text", tmp_path)
    assert dataset.splits["train"] == [
        {"idx": 0, "text": "Dull.", "label": 0},
        {"idx": 1, "text": "Très bien", "label": 1},
        {"idx": 2, "text": "Great <br /><br />film.", "label": 1},
    ]
    assert dataset.counts() == {"train": 3, "test": 3}


def test_aclimdb_review_in_the_wrong_class_is_refused(tmp_path):
    root = tmp_path / "aclImdb"
    write(root / "train" / "pos" / "1_2.txt", b"Bad.")
    write(root / "train" / "neg" / "1_1.txt", b"Bad.")
    write(root / "test" / "pos" / "1_8.txt", b"Good.")
    write(root / "test" / "neg" / "1_1.txt", b"Bad.")
    with pytest.raises(ImportFormatError, match="1_2.txt"):
        load_task("lra/text", tmp_path)


AAN = (
    '1\tW05-0101\tP02-1001\tA parser for "words".\tWe cite parsers.\n'
    "0.0\tX1\tX2\tText one\tText two\n"
)


def test_aan_pairs_are_read_without_header(tmp_path):
    folder = tmp_path / "tsv_data"
    write(folder / "new_aan_pairs.train.tsv", AAN.encode())
    write(folder / "new_aan_pairs.test.tsv", AAN.encode())
    write(folder / "new_aan_pairs.eval.tsv", AAN.encode())
    dataset = load_task("lra/retrieval", tmp_path)
    assert dataset.splits["test"] == [
        {
            "idx": 0,
            "text1": 'A parser for "words".',
            "text2": "We cite parsers.",
            "label": 1,
        },
        {"idx": 1, "text1": "Text one", "text2": "Text two", "label": 0},
    ]


def test_aan_line_with_missing_column_names_its_line(tmp_path):
    folder = tmp_path / "tsv_data"
    write(folder / "new_aan_pairs.train.tsv", (AAN + "1\ta\tb\tc\n").encode())
    write(folder / "new_aan_pairs.test.tsv", AAN.encode())
    with pytest.raises(ImportFormatError) as caught:
        load_task("lra/retrieval", tmp_path)
    assert caught.value.line == 3 and "new_aan_pairs.train.tsv" in caught.value.file


def cifar_records(labels, rng):
    planes = rng.integers(0, 256, size=(len(labels), 3072), dtype=np.uint8)
    records = np.concatenate([np.array(labels, np.uint8)[:, None], planes], axis=1)
    return records.tobytes(), planes


def test_cifar_binary_batches_become_grayscale_rows(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-bin"
    expected_train = []
    for i in range(1, 6):
        data, planes = cifar_records([i, 9], rng)
        write(folder / f"data_batch_{i}.bin", data)
        expected_train.append(planes)
    data, planes = cifar_records([3], rng)
    write(folder / "test_batch.bin", data)
    dataset = load_task("lra/image", tmp_path)
    assert dataset.counts() == {"train": 10, "test": 1}
    assert [r["label"] for r in dataset.splits["train"][:4]] == [1, 9, 2, 9]
    assert [r["idx"] for r in dataset.splits["train"]] == list(range(10))
    # tf.image.rgb_to_grayscale: channels / 255, weighted, * 255.5, truncated.
    red, green, blue = (int(planes[0, k * 1024 + 33]) for k in range(3))
    gray = int((0.2989 * red + 0.5870 * green + 0.1140 * blue) / 255 * 255.5)
    assert dataset.splits["test"][0]["pixels"][33] == gray
    assert len(dataset.splits["test"][0]["pixels"]) == 1024


def test_cifar_file_cut_short_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    data, _ = cifar_records([1], np.random.default_rng(0))
    for i in range(1, 6):
        write(folder / f"data_batch_{i}.bin", data)
    write(folder / "test_batch.bin", data[:-1])
    with pytest.raises(ImportFormatError, match="test_batch.bin"):
        load_task("lra/image", tmp_path)


def test_cifar_label_above_nine_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    data, _ = cifar_records([1, 12], np.random.default_rng(0))
    write(folder / "test_batch.bin", data)
    with pytest.raises(ImportFormatError, match="record 1"):
        from tasks.importers.cifar_bin import read_batch

        read_batch(folder / "test_batch.bin")


def test_pixel_rows_must_hold_gray_levels():
    task = get_task("lra/pathfinder")
    Dataset(task, {"test": [{"idx": 0, "pixels": [0, 255], "label": 1}]})
    for bad in ([256], [], "0 1", [1.0]):
        with pytest.raises(UserError, match="ints 0-255"):
            Dataset(task, {"test": [{"idx": 0, "pixels": bad, "label": 1}]})


def test_generated_jsonl_reads_back_through_glew_jsonl(tmp_path):
    from tasks.generators import generate_task

    dataset = generate_task("lra/pathfinder-glew", seed=0, n_train=2, n_val=0, n_test=2)
    folder = tmp_path / "pathfinder32-glew"
    folder.mkdir()
    for split in dataset.splits:
        (folder / f"{split}.jsonl").write_bytes(dataset.to_jsonl(split))
    assert load_task("lra/pathfinder-glew", tmp_path).sha256() == dataset.sha256()


SPEC = """
[suite]
name = "demo"
title = "Demo"
description = "A demo suite."
score_rule = "mean_of_task_means"
score_rule_text = "Mean of tasks."

[tasks.one]
title = "One"
description = "A task."
version = 1
type = "classification"
text_fields = ["text"]
labels = ["0", "1"]
metrics = ["accuracy"]
primary_metric = "accuracy"
train_split = "train"
eval_splits = ["test"]
test_splits = []
in_suite_score = true
importer = "glew_jsonl"
folder = "ONE"
files = { train = "train.jsonl", test = "test.jsonl" }
"""


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ('vocabulary = "chars"\n', "catalogue.unknown_vocabulary"),
        ("two_tower = true\n", "catalogue.invalid_two_tower"),
        ("[tasks.one.fixed_recipe]\nsource = 'x'\n", "catalogue.missing_key"),
        (
            "[tasks.one.long_context]\nbase = 'glue/sst2'\nkind = 'local'\n"
            "base_train_split = 'train'\nbase_eval_split = 'validation'\n"
            "train_tokens = 10\nlengths = { test = 100 }\n",
            "catalogue.unknown_long_context_kind",
        ),
    ],
)
def test_bad_lra_and_long_context_keys_are_refused(tmp_path, extra, code):
    from tasks.spec_files import load_spec_file

    path = tmp_path / "demo.toml"
    path.write_text(SPEC + extra, encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_spec_file(path)
    assert caught.value.code == code


def test_gray_levels_truncate_after_scaling_by_255_5_as_tensorflow():
    # lra_benchmarks/image/input_pipeline.py converts with tf.image.rgb_to_grayscale,
    # whose convert_image_dtype (tensorflow/python/ops/image_ops_impl.py) scales
    # the float gray by 255.5 and casts, truncating: pure green is 149, not 150.
    from tasks.importers.cifar_bin import to_gray

    rgb = np.array(
        [[[0], [255], [0]], [[0], [0], [200]], [[255], [255], [255]], [[9], [9], [9]]],
        np.uint8,
    )
    assert to_gray(rgb)[:, 0].tolist() == [149, 22, 255, 9]


def test_image_trains_on_the_first_45000_images(tmp_path):
    # lra_benchmarks/image/input_pipeline.py: tfds.load('cifar10', split='train[:90%]')
    # and base_cifar10_config.py: TRAIN_EXAMPLES = 45000.
    from dataclasses import replace

    from tasks.importers.loading import load_task_spec

    task = get_task("lra/image")
    assert task.importer_options["train_examples"] == 45000
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-bin"
    for i in range(1, 6):
        write(folder / f"data_batch_{i}.bin", cifar_records([i, 0], rng)[0])
    write(folder / "test_batch.bin", cifar_records([3, 4], rng)[0])
    small = replace(task, importer_options={"train_examples": 3})
    dataset = load_task_spec(small, tmp_path)
    assert [r["label"] for r in dataset.splits["train"]] == [1, 0, 2]
    assert dataset.counts() == {"train": 3, "test": 2}


def png_bytes(image: np.ndarray, filters=(0, 1, 2, 3, 4)) -> bytes:
    """An 8-bit grayscale PNG of ``image``, row filters cycling through ``filters``
    (written here from the PNG specification, independently of tasks/ code)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    height, width = image.shape
    raw = bytearray()
    prior = [0] * width
    for y in range(height):
        kind = filters[y % len(filters)]
        row = [int(v) for v in image[y]]
        raw.append(kind)
        for x in range(width):
            a = row[x - 1] if x else 0
            b = prior[x]
            c = prior[x - 1] if x else 0
            p = a + b - c
            paeth = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            guess = [0, a, b, (a + b) // 2, paeth][kind]
            raw.append((row[x] - guess) % 256)
        prior = row
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


def write_pathfinder32(root, images, *, per_folder=5):
    """LRA's release layout: curv_contour_length_14/{imgs/<n>/sample_<k>.png,
    metadata/<n>.npy}, metadata lines `imgs/<n> sample_<k>.png <k> <label> ...`
    (lra_benchmarks/data/pathfinder.py reads fields 0, 1 and 3)."""
    folder = root / "pathfinder32" / "curv_contour_length_14"
    lines: dict[int, list[str]] = {}
    for k, (image, label) in enumerate(images):
        n = k // per_folder
        data = b"" if image is None else png_bytes(image)
        write(folder / "imgs" / str(n) / f"sample_{k}.png", data)
        lines.setdefault(n, []).append(f"imgs/{n} sample_{k}.png {k} {label} 14 1.5")
    for n, text in lines.items():
        write(folder / "metadata" / f"{n}.npy", ("\n".join(text) + "\n").encode())
    return folder


def test_pathfinder32_release_layout_is_read_and_split_as_lra(tmp_path):
    # lra_benchmarks/image/input_pipeline.py: pathfinder32_hard is
    # curv_contour_length_14, split [:80%] / [80%:90%] / [90%:], empty images
    # dropped; lra_benchmarks/data/pathfinder.py: label is metadata field 3.
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (32, 32), dtype=np.uint8) for _ in range(21)]
    labels = [k % 2 for k in range(21)]
    entries = list(zip(images, labels, strict=True))
    entries[6] = (None, 1)  # an empty file, as in the release: LRA drops it
    write_pathfinder32(tmp_path, entries)
    dataset = load_task("lra/pathfinder", tmp_path)
    kept = [e for e in entries if e[0] is not None]
    assert dataset.counts() == {"train": 16, "test": 2}
    first = dataset.splits["train"][0]
    assert first["pixels"] == images[0].reshape(-1).tolist()
    assert first["label"] == 0
    assert [r["label"] for r in dataset.splits["test"]] == [e[1] for e in kept[18:]]
    assert dataset.splits["test"][1]["pixels"] == kept[19][0].reshape(-1).tolist()


def test_pathfinder32_metadata_files_are_read_in_numeric_order(tmp_path):
    images = [np.full((32, 32), k, dtype=np.uint8) for k in range(12)]
    write_pathfinder32(tmp_path, [(im, 1) for im in images], per_folder=1)
    from tasks.importers.pathfinder32 import read_difficulty

    rows = read_difficulty(tmp_path / "pathfinder32" / "curv_contour_length_14")
    assert [r["pixels"][0] for r in rows] == list(range(12))


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("imgs/0 sample_0.png 0", "fields"),
        ("imgs/0 sample_0.png 0 2", "label '2'"),
        ("imgs/0 missing.png 0 1", "missing"),
        ("../../x sample_0.png 0 1", "leaves the folder"),
    ],
)
def test_pathfinder32_bad_metadata_line_names_file_and_line(tmp_path, line, words):
    folder = write_pathfinder32(tmp_path, [(np.zeros((32, 32), np.uint8), 1)])
    meta = folder / "metadata" / "0.npy"
    meta.write_bytes(meta.read_bytes() + (line + "\n").encode())
    with pytest.raises(ImportFormatError, match=words) as caught:
        load_task("lra/pathfinder", tmp_path)
    assert caught.value.line == 2 and caught.value.file.endswith("0.npy")


def test_pathfinder32_image_of_the_wrong_size_or_kind_is_refused(tmp_path):
    folder = write_pathfinder32(tmp_path, [(np.zeros((16, 32), np.uint8), 1)])
    with pytest.raises(ImportFormatError, match="32x16; expected 32x32"):
        load_task("lra/pathfinder", tmp_path)
    png = bytearray(png_bytes(np.zeros((32, 32), np.uint8)))
    png[-20] ^= 0xFF  # corrupt the image data: its CRC no longer matches
    (folder / "imgs" / "0" / "sample_0.png").write_bytes(bytes(png))
    with pytest.raises(ImportFormatError, match="CRC"):
        load_task("lra/pathfinder", tmp_path)


def test_a_png_whose_data_inflates_past_its_header_is_refused_not_expanded():
    """A decompression bomb: a 32x32 header over ~50 KB of zlib that inflates to
    200 MB. The reader stops one byte past what the header allows."""
    import struct
    import zlib

    from tasks.importers.png_gray import PngError, read_gray_png

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 32, 32, 8, 0, 0, 0, 0)
    bomb = zlib.compress(bytes(200 * 1024 * 1024), 9)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", bomb)
        + chunk(b"IEND", b"")
    )
    with pytest.raises(PngError, match="more image data than 32 rows of 32"):
        read_gray_png(data)
