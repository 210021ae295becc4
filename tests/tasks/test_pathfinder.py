"""The Pathfinder generator; labels are re-derived from the pixels here."""

from collections import deque

import numpy as np

from tasks.generators import generate_task
from tasks.generators.pathfinder import (
    PathfinderConfig,
    generate_examples,
    generate_pathfinder,
)

CONFIG = PathfinderConfig()


def components(image: np.ndarray, reach: int) -> np.ndarray:
    """Label ink pixels, joining any two within Chebyshev distance ``reach``."""
    labels = np.zeros(image.shape, dtype=int)
    current = 0
    size = image.shape[0]
    for start in zip(*np.nonzero(image), strict=True):
        if labels[start]:
            continue
        current += 1
        labels[start] = current
        queue = deque([start])
        while queue:
            r, c = queue.popleft()
            for rr in range(max(r - reach, 0), min(r + reach + 1, size)):
                for cc in range(max(c - reach, 0), min(c + reach + 1, size)):
                    if image[rr, cc] and not labels[rr, cc]:
                        labels[rr, cc] = current
                        queue.append((rr, cc))
    return labels


def test_label_is_whether_the_dots_are_joined_by_ink():
    examples = generate_examples(40, np.random.default_rng(5), CONFIG)
    for example in examples:
        image = np.array(example.pixels).reshape(32, 32)
        labels = components(image > 0, reach=CONFIG.gap + 1)
        (r1, c1), (r2, c2) = example.dots
        # The dots are 3x3 squares of ink.
        assert image[r1 - 1 : r1 + 2, c1 - 1 : c1 + 2].min() == 255
        assert image[r2 - 1 : r2 + 2, c2 - 1 : c2 + 2].min() == 255
        joined = labels[r1, c1] == labels[r2, c2]
        assert joined == (example.label == 1)
        # Two long paths and the distractors are separate strokes.
        assert labels.max() == 2 + CONFIG.distractors


def test_dots_sit_on_the_ends_of_the_generated_paths():
    for example in generate_examples(20, np.random.default_rng(1), CONFIG):
        first, second = example.dot_paths
        assert example.dots[0] == example.paths[first][0]
        assert example.dots[1] == example.paths[second][-1]
        assert (first == second) == (example.label == 1)


def test_classes_are_balanced_and_pixels_in_range():
    splits = generate_pathfinder(seed=0, n_train=30, n_val=4, n_test=11)
    assert sum(r["label"] for r in splits["train"]) == 15
    assert sum(r["label"] for r in splits["test"]) in (5, 6)
    for row in splits["train"]:
        assert len(row["pixels"]) == 1024
        assert set(row["pixels"]) <= {0, 255} and min(row["pixels"]) == 0


def test_generator_is_deterministic_under_a_seed():
    a = generate_task("lra/pathfinder-glew", seed=4, n_train=6, n_val=0, n_test=4)
    b = generate_task("lra/pathfinder-glew", seed=4, n_train=6, n_val=0, n_test=4)
    c = generate_task("lra/pathfinder-glew", seed=5, n_train=6, n_val=0, n_test=4)
    assert a.counts() == {"train": 6, "test": 4}
    assert a.sha256() == b.sha256() != c.sha256()
