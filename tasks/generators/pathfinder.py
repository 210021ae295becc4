"""A seeded Pathfinder generator (Linsley et al., 2018; LRA's 32x32 variant).

Each image is ``size`` x ``size`` grayscale (0 background, 255 ink) and holds two
long dashed paths, A and B, plus a few short dashed distractor paths. Two
endpoint dots (3x3 squares) are drawn: at both ends of A (label 1, "connected"),
or at one end of A and one end of B (label 0). Every image thus has the same
kinds of strokes; only whether the dots share a path differs.

Dashes are ``dash`` pixels of ink followed by ``gap`` pixels of background.
Different strokes (paths, distractors, dots) are kept at least
``gap + 2`` pixels apart (Chebyshev distance), so joining ink pixels that lie
within ``gap + 1`` of each other recovers exactly the drawn paths: the label is
visible in the image, and tests check it that way.

Classes are balanced exactly (half of each split positive, the odd one drawn).
Only ``numpy.random.default_rng(seed)`` supplies randomness. This is not the
original generator (which draws anti-aliased "paddles" with OpenCV); it follows
its description with numpy only, so scores are comparable across Glew
submissions but not with published LRA Pathfinder numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

INK = 255


@dataclass(frozen=True)
class PathfinderConfig:
    """Image and stroke settings (32x32 as in LRA's Pathfinder-32)."""

    size: int = 32
    path_steps: tuple[int, int] = (14, 22)
    distractors: int = 2
    distractor_steps: tuple[int, int] = (4, 7)
    curvature: float = 0.35
    dash: int = 2
    gap: int = 1
    max_attempts: int = 10_000


@dataclass
class PathfinderExample:
    """One image with what the generator knows about it (for tests and audits)."""

    pixels: list[int]
    label: int
    # Pixel (row, col) lists of A, B, then the distractors, in drawing order.
    paths: list[list[tuple[int, int]]] = field(default_factory=list)
    # Centres of the two dots and the index (into ``paths``) of each dot's path.
    dots: list[tuple[int, int]] = field(default_factory=list)
    dot_paths: tuple[int, int] = (0, 0)


def _pixel(pos: np.ndarray) -> tuple[int, int]:
    # Round half up (not to even), so one unit step moves at most one pixel.
    return int(np.floor(pos[0] + 0.5)), int(np.floor(pos[1] + 0.5))


def _walk(
    rng: np.random.Generator, config: PathfinderConfig, steps: int
) -> list[tuple[int, int]] | None:
    """A smooth random walk of unit steps; None if it leaves the image."""
    low, high = 1, config.size - 2
    pos = rng.uniform(low + 1, high - 1, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    pixels = [_pixel(pos)]
    for _ in range(steps):
        angle += rng.normal(0.0, config.curvature)
        pos = pos + np.array([np.sin(angle), np.cos(angle)])
        pixel = _pixel(pos)
        if not (low <= pixel[0] <= high and low <= pixel[1] <= high):
            return None
        if pixel in pixels:
            if pixel != pixels[-1]:
                return None  # a path touching itself is ambiguous
            continue
        pixels.append(pixel)
    return pixels if len(pixels) >= 3 else None


def _dot(centre: tuple[int, int]) -> list[tuple[int, int]]:
    r, c = centre
    return [(r + dr, c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)]


def _dashed(path: list[tuple[int, int]], dash: int, gap: int):
    period = dash + gap
    return [p for i, p in enumerate(path) if i % period < dash]


def _fits(blocked: np.ndarray, pixels: list[tuple[int, int]]) -> bool:
    return not any(blocked[r, c] for r, c in pixels)


def _block(blocked: np.ndarray, pixels, radius: int) -> None:
    size = blocked.shape[0]
    for r, c in pixels:
        blocked[
            max(r - radius, 0) : min(r + radius + 1, size),
            max(c - radius, 0) : min(c + radius + 1, size),
        ] = True


def draw_example(
    rng: np.random.Generator, label: int, config: PathfinderConfig
) -> PathfinderExample:
    """Draw one image with the given label."""
    radius = config.gap + 1  # strokes stay more than this far apart
    for _attempt in range(config.max_attempts):
        blocked = np.zeros((config.size, config.size), dtype=bool)
        paths: list[list[tuple[int, int]]] = []
        ok = True
        for i in range(2 + config.distractors):
            low, high = config.path_steps if i < 2 else config.distractor_steps
            path = _walk(rng, config, int(rng.integers(low, high + 1)))
            # The long paths' ends may carry a dot, so reserve the dots' room.
            footprint = (
                path + _dot(path[0]) + _dot(path[-1])
                if path is not None and i < 2
                else path
            )
            if path is None or not _fits(blocked, footprint):
                ok = False
                break
            _block(blocked, footprint, radius)
            paths.append(path)
        if not ok:
            continue
        dots = [paths[0][0], paths[0][-1] if label == 1 else paths[1][-1]]
        image = np.zeros((config.size, config.size), dtype=np.uint8)
        for path in paths:
            for r, c in _dashed(path, config.dash, config.gap):
                image[r, c] = INK
        for centre in dots:
            for r, c in _dot(centre):
                image[r, c] = INK
        return PathfinderExample(
            pixels=[int(v) for v in image.reshape(-1)],
            label=label,
            paths=paths,
            dots=dots,
            dot_paths=(0, 0 if label == 1 else 1),
        )
    raise ValueError(
        f"could not place the strokes in {config.max_attempts} attempts; "
        "check the Pathfinder settings"
    )


def generate_examples(
    n: int, rng: np.random.Generator, config: PathfinderConfig = PathfinderConfig()
) -> list[PathfinderExample]:
    """``n`` examples, exactly balanced (the odd one's label is drawn)."""
    labels = [1] * (n // 2) + [0] * (n // 2)
    if n % 2:
        labels.append(int(rng.integers(2)))
    order = rng.permutation(n)
    return [draw_example(rng, labels[i], config) for i in order]


def generate_pathfinder(
    *,
    seed: int,
    n_train: int = 160_000,
    n_val: int = 20_000,
    n_test: int = 20_000,
    config: PathfinderConfig = PathfinderConfig(),
) -> dict[str, list[dict[str, Any]]]:
    """Rows per split (``train``, ``validation``, ``test``): ``{"idx", "pixels",
    "label"}`` with ``pixels`` the row-major gray levels (LRA's 160k/20k/20k)."""
    rng = np.random.default_rng(seed)
    splits = {}
    for split, n in (("train", n_train), ("validation", n_val), ("test", n_test)):
        splits[split] = [
            {"idx": i, "pixels": ex.pixels, "label": ex.label}
            for i, ex in enumerate(generate_examples(n, rng, config))
        ]
    return splits
