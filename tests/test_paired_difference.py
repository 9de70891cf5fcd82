"""Paired and unpaired differences of image-clustered success rates (paired_difference.py) on simulated cells
with a known true difference: the paired interval covers it at its nominal rate where the interval that treats
targets as independent does not, and pairing narrows the interval when images carry most of the variance.

Tolerances are Monte Carlo ones: a coverage estimated from R simulated cells has standard error
sqrt(c (1 - c) / R); "near 95%" means within 3 of them.
"""

import math

import numpy as np
import pytest

from distillbench.paired_difference import paired_difference, t_quantile, unpaired_difference

IMAGES, PER_IMAGE, REPS, NOMINAL = 100, 9, 2000, 0.95
# logit scale: base rate, the first arm's mean shift, the images' spread, the spread of the shift over images
MU, SHIFT, IMAGE_SD, SHIFT_SD = -0.5, 0.6, 2.0, 2.0


def expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def true_difference() -> float:
    """Population difference of the two arms' rates, by a large Monte Carlo over images (error ~1e-4)."""
    rng = np.random.default_rng(0)
    u, v = rng.normal(0, IMAGE_SD, 2_000_000), rng.normal(0, SHIFT_SD, 2_000_000)
    return float(np.mean(expit(MU + SHIFT + u + v) - expit(MU + u)))


def simulate_targets(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-target outcomes (images x targets) of two arms on the same images: a shared image effect and an
    image-specific shift (some images react to the recipe more than others), targets Bernoulli given them."""
    u, v = rng.normal(0, IMAGE_SD, (IMAGES, 1)), rng.normal(0, SHIFT_SD, (IMAGES, 1))
    a = rng.random((IMAGES, PER_IMAGE)) < expit(MU + SHIFT + u + v)
    b = rng.random((IMAGES, PER_IMAGE)) < expit(MU + u)
    return a.astype(float), b.astype(float)


def simulate(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-image successes of the two arms (:func:`simulate_targets` summed over each image's targets)."""
    a, b = simulate_targets(rng)
    return a.sum(1), b.sum(1)


def mc_se(p: float) -> float:
    return math.sqrt(p * (1 - p) / REPS)


def test_paired_interval_covers_the_true_difference_where_the_independent_one_does_not():
    truth = 100 * true_difference()
    rng = np.random.default_rng(1)
    n = np.full(IMAGES, PER_IMAGE)
    hit = naive_hit = 0
    for _ in range(REPS):
        xa, xb = simulate_targets(rng)
        d = paired_difference(xa.sum(1), xb.sum(1), n)
        hit += d.low_pp <= truth <= d.high_pp
        # the same paired difference with every target taken as its own independent pair (no image clusters)
        naive = paired_difference(xa.ravel(), xb.ravel(), np.ones(xa.size))
        assert naive.diff_pp == pytest.approx(d.diff_pp)
        naive_hit += naive.low_pp <= truth <= naive.high_pp
    coverage, naive = hit / REPS, naive_hit / REPS
    assert abs(coverage - NOMINAL) <= 3 * mc_se(NOMINAL), coverage
    assert naive < NOMINAL - 3 * mc_se(NOMINAL), naive  # independent-target intervals miss the image clustering


def test_unpaired_interval_covers_the_true_difference_on_different_images():
    truth = 100 * true_difference()
    rng = np.random.default_rng(2)
    n = np.full(IMAGES, PER_IMAGE)
    hit = 0
    for _ in range(REPS):
        a, _ = simulate(rng)
        _, b = simulate(rng)  # other images
        d = unpaired_difference(a, n, b, n)
        hit += d.low_pp <= truth <= d.high_pp
    assert abs(hit / REPS - NOMINAL) <= 3 * mc_se(NOMINAL)


def test_pairing_narrows_the_interval_when_images_carry_the_variance():
    a, b = simulate(np.random.default_rng(3))
    n = np.full(IMAGES, PER_IMAGE)
    paired, unpaired = paired_difference(a, b, n), unpaired_difference(a, n, b, n)
    assert paired.diff_pp == pytest.approx(unpaired.diff_pp)
    assert paired.high_pp - paired.low_pp < unpaired.high_pp - unpaired.low_pp


def test_identical_arms_give_a_zero_point_with_no_discordant_image():
    a = np.arange(IMAGES) % (PER_IMAGE + 1)
    d = paired_difference(a, a, np.full(IMAGES, PER_IMAGE))
    assert (d.diff_pp, d.low_pp, d.high_pp, d.discordant_images) == (0.0, 0.0, 0.0, 0)


def test_one_discordant_image_widens_the_point_and_is_counted():
    a = np.zeros(IMAGES)
    b = a.copy()
    b[7] = 3
    d = paired_difference(a, b, np.full(IMAGES, PER_IMAGE))
    assert d.diff_pp == pytest.approx(-100 * 3 / (IMAGES * PER_IMAGE))
    assert d.low_pp < d.diff_pp < 0 < d.high_pp
    assert d.discordant_images == IMAGES  # every image now differs from d * n_i, not only the one that changed


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="between 0 and"):
        paired_difference([10], [0], [9])
    with pytest.raises(ValueError, match="same length"):
        paired_difference([1, 2], [1], [9, 9])


def test_t_quantile_matches_scipy():
    stats = pytest.importorskip("scipy.stats", reason="scipy (a test dependency) gives the reference quantiles")
    for df in (1, 2, 3, 5, 19, 99):
        for p in (0.9, 0.975, 0.995):
            # the expansion's truncation error falls as df^-5: the bounds its docstring states
            rel = 1e-12 if df <= 2 else (1e-2 if df < 5 else 1e-3 if df < 10 else 1e-5)
            assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=rel)
