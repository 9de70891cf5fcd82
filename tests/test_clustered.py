"""Clustered success rates (clustered.py) on known cases: a clustered simulation where the plain Wilson interval
under-covers and the design-effect interval does not, the verdict's error rate when ours and the paper's come
from the same design, and the edge cases (0%, 100%, identical clusters).

Tolerances are Monte Carlo ones: a coverage estimated from R simulated cells has standard error
sqrt(c (1 - c) / R), and "near 95%" means within 3 of them.
"""

import math

import numpy as np
import pytest

from distillbench.clustered import (
    Z80_POWER,
    Z95,
    ClusterCounts,
    ReportedDesign,
    Side,
    VarianceAt,
    cluster_bootstrap_interval,
    clustered_interval,
    compare_with_reported,
    design_effect,
    difference_interval,
    minimum_detectable_difference,
    wilson_interval_effective,
)
from distillbench.stats import wilson_interval

IMAGES, PER_IMAGE = 100, 9  # Fig. 7's design
NOMINAL = 0.95


def mc_se(p: float, reps: int) -> float:
    return math.sqrt(p * (1 - p) / reps)


def clustered_cells(rate: float, icc: float, reps: int, seed: int) -> np.ndarray:
    """``reps`` simulated cells: per-image success probabilities from a Beta with mean ``rate`` and intra-cluster
    correlation ``icc`` (a + b = 1 / icc - 1), then PER_IMAGE Bernoulli targets per image."""
    rng = np.random.default_rng(seed)
    s = 1 / icc - 1
    return rng.binomial(PER_IMAGE, rng.beta(rate * s, (1 - rate) * s, size=(reps, IMAGES)))


def counts(row: np.ndarray) -> ClusterCounts:
    return ClusterCounts.from_lists(row, np.full(len(row), PER_IMAGE))


@pytest.mark.parametrize("rate,icc", [(0.3, 0.3), (0.05, 0.3), (0.9, 0.3), (0.3, 0.8)])
def test_naive_wilson_under_covers_and_the_clustered_interval_does_not(rate, icc):
    reps = 2000
    cells = clustered_cells(rate, icc, reps, seed=1)
    naive = clustered = 0
    for row in cells:
        lo, hi = wilson_interval(int(row.sum()), IMAGES * PER_IMAGE)
        naive += lo <= rate <= hi
        lo, hi = clustered_interval(counts(row))
        clustered += lo <= rate <= hi
    se = mc_se(NOMINAL, reps)
    # The naive interval's coverage is about P(|Z| < 1.96 / sqrt(deff)), deff = 1 + 8 icc (3.4: ~71%); the
    # normal approximation is checked where it holds (rate 0.3, 900 targets).
    expected_naive = math.erf(Z95 / math.sqrt(1 + (PER_IMAGE - 1) * icc) / math.sqrt(2))
    if rate == 0.3:
        assert abs(naive / reps - expected_naive) < 3 * mc_se(expected_naive, reps)
    assert naive / reps < NOMINAL - 10 * se
    assert abs(clustered / reps - NOMINAL) < 3 * se


def test_cluster_bootstrap_covers_too_and_is_reproducible():
    rate, icc, reps = 0.3, 0.3, 300
    cells = clustered_cells(rate, icc, reps, seed=2)
    hits = 0
    for i, row in enumerate(cells):
        lo, hi = cluster_bootstrap_interval(counts(row), resamples=1000, seed=i)
        hits += lo <= rate <= hi
    assert abs(hits / reps - NOMINAL) < 3 * mc_se(NOMINAL, reps)
    c = counts(cells[0])
    assert cluster_bootstrap_interval(c, 500, seed=7) == cluster_bootstrap_interval(c, 500, seed=7)


def test_the_design_effect_recovers_the_simulated_correlation():
    icc, reps = 0.3, 400
    est = np.array([design_effect(counts(row)).icc for row in clustered_cells(0.4, icc, reps, seed=3)])
    assert abs(est.mean() - icc) < 3 * est.std(ddof=1) / math.sqrt(reps) + 0.02  # ratio estimator's O(1/m) bias
    # Independent targets (no clustering): deff near 1, never below it.
    rng = np.random.default_rng(4)
    flat = [design_effect(counts(rng.binomial(PER_IMAGE, 0.4, IMAGES))).deff for _ in range(200)]
    assert min(flat) >= 1.0
    assert np.mean(flat) < 1 + 3 * math.sqrt(2 / IMAGES)  # the variance ratio's sampling sd is about sqrt(2/m)


def test_the_verdict_rejects_a_true_copy_about_5_percent_of_the_time():
    """Ours and the paper's drawn from the same clustered design with the same rate: the difference interval
    excludes 0 in about 5% of cells; the naive comparison (plain Wilson, the paper's value exact) far more."""
    rate, icc, reps = 0.3, 0.3, 2000
    ours = clustered_cells(rate, icc, reps, seed=5)
    theirs = clustered_cells(rate, icc, reps, seed=6).sum(axis=1) / (IMAGES * PER_IMAGE)
    design = ReportedDesign(IMAGES * PER_IMAGE, PER_IMAGE)
    rejected = naive = 0
    for row, q in zip(ours, theirs, strict=True):
        rejected += not compare_with_reported(counts(row), float(q), design).compatible
        lo, hi = wilson_interval(int(row.sum()), IMAGES * PER_IMAGE)
        naive += not lo <= q <= hi
    alpha = 1 - NOMINAL
    assert abs(rejected / reps - alpha) < 3 * mc_se(alpha, reps)
    # The naive rule: |q - p| < 1.96 sd_binomial, where q - p has variance 2 deff sd_binomial^2 (deff = 3.4).
    expected_naive = 1 - math.erf(Z95 / math.sqrt(2 * (1 + (PER_IMAGE - 1) * icc)) / math.sqrt(2))
    assert abs(naive / reps - expected_naive) < 3 * mc_se(expected_naive, reps)
    assert naive / reps > alpha + 20 * mc_se(alpha, reps)


def test_exact_copies_give_a_symmetric_interval_around_zero():
    row = np.full(IMAGES, 3)
    row[:50] = 1  # rate 2/9 with real clustering
    c = counts(row)
    cmp = compare_with_reported(c, c.rate, ReportedDesign(IMAGES * PER_IMAGE, PER_IMAGE))
    assert cmp.diff == 0
    assert cmp.diff_low == pytest.approx(-cmp.diff_high, rel=1e-12)
    assert cmp.compatible and cmp.diff_high > 0
    # Same design, same rate, same correlation: both sides have the same interval, so the half-width is
    # sqrt(2) times one side's half-widths combined as in Newcombe's rule.
    lo, hi = cmp.ours.interval()
    assert cmp.diff_high == pytest.approx(math.hypot(hi - c.rate, c.rate - lo), rel=1e-12)
    assert cmp.deff_reported == pytest.approx(cmp.deff_ours, rel=1e-12)


@pytest.mark.parametrize("per_cluster", [0, PER_IMAGE])
def test_zero_and_full_cells_use_the_fallback_correlation(per_cluster):
    c = counts(np.full(IMAGES, per_cluster))
    de = design_effect(c)
    assert not de.estimated and de.icc == 1.0 and de.deff == PER_IMAGE
    # deff = 9 turns 900 targets into 100 effective ones: the Wilson interval of 0/100 (or 100/100).
    assert clustered_interval(c) == pytest.approx(wilson_interval(per_cluster * IMAGES // PER_IMAGE, IMAGES))
    assert cluster_bootstrap_interval(c, 200) == (c.rate, c.rate)  # the bootstrap collapses: not usable alone
    partial = design_effect(c, fallback_icc=0.25)
    assert partial.deff == pytest.approx(1 + (PER_IMAGE - 1) * 0.25)
    cmp = compare_with_reported(c, c.rate, ReportedDesign(IMAGES * PER_IMAGE, PER_IMAGE))
    assert cmp.diff == 0 and cmp.compatible and cmp.diff_high - cmp.diff_low > 0


def test_identical_clusters_are_never_narrower_than_binomial():
    c = counts(np.full(IMAGES, 3))  # every image 3 of 9: less spread than independent targets would give
    assert c.cluster_variance() == 0
    de = design_effect(c)
    assert de.estimated and de.deff == 1.0 and de.icc == 0.0
    assert clustered_interval(c) == pytest.approx(wilson_interval(3 * IMAGES, IMAGES * PER_IMAGE))


def test_too_few_informative_clusters_fall_back():
    row = np.zeros(IMAGES, dtype=int)
    row[:3] = 2  # 6 successes in 3 images: nothing to read a correlation from
    assert not design_effect(counts(row)).estimated
    assert design_effect(counts(row), min_informative=3).estimated


def test_minimum_detectable_difference_solves_its_equation():
    var = VarianceAt(0.3, 3.4, 900, 3.4, 900)
    for direction in (+1, -1):
        d = minimum_detectable_difference(0.3, var, direction)
        lhs = Z95 * math.sqrt(var(0.3)) + Z80_POWER * math.sqrt(var(0.3 + direction * d))
        assert d == pytest.approx(lhs, rel=1e-9)
    # Nothing below 0 can be detected from a reported 0.45% with this variance.
    assert math.isnan(minimum_detectable_difference(0.0045, VarianceAt(0.0045, 4.0, 900, 4.0, 900), -1))
    # More targets, smaller detectable difference.
    more = minimum_detectable_difference(0.3, VarianceAt(0.3, 3.4, 2700, 3.4, 900), +1)
    assert more < minimum_detectable_difference(0.3, var, +1)


def test_difference_interval_matches_newcombe_on_independent_counts():
    # Newcombe (1998), method 10, example 56/70 vs 48/80: difference 0.2000, interval 0.0524 to 0.3339.
    d, lo, hi = difference_interval(Side(56 / 70, 70), Side(48 / 80, 80))
    assert (d, lo, hi) == pytest.approx((0.2, 0.0524, 0.3339), abs=5e-5)
    assert wilson_interval_effective(0.5, 10) == pytest.approx(wilson_interval(5, 10))


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="successes <= trials"):
        ClusterCounts.from_lists([10], [9])
    with pytest.raises(ValueError, match="same length"):
        ClusterCounts.from_lists([1, 2], [9])
