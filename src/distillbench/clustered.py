"""Success rates measured on clustered targets: intervals, differences and detectable differences.

A Fig. 7 cell attacks every image towards each of its other classes, so its targets come in clusters (one per
image) whose outcomes are correlated: an image that is hard to perturb is hard towards most targets. Treating
the targets as independent (the plain Wilson interval) then understates the variance by the *design effect*

    deff = Var_cluster(p) / Var_binomial(p),   Var_binomial = p (1 - p) / N,
    Var_cluster = m / (m - 1) * sum_i (y_i - p n_i)^2 / N^2     (m clusters, y_i successes of n_i targets),

the second being the usual cluster-robust (linearisation) variance of a ratio of totals. The intra-cluster
correlation it implies is rho = (deff - 1) / (n_w - 1), with n_w = sum n_i^2 / N the size-weighted mean
cluster size (deff = 1 + (n - 1) rho for equal clusters). deff is kept at >= 1: a cell whose clusters
agree better than chance would allow is not given a narrower interval than the binomial one.

Intervals are Wilson intervals on the *effective* number of targets N / deff. Where the data cannot give a
design effect (every target failed or every one succeeded: no variance to compare; or fewer than
``min_informative`` clusters hold the rarer outcome, e.g. 2 successes in one image, from which no correlation
can be read), a fallback intra-cluster correlation is used: by default 1, as if each image were one
observation, the most cautious choice.

A cluster bootstrap (clusters drawn with replacement, fixed seed) is offered beside it as a check that
assumes no formula; at 0% or 100% it collapses to a point and cannot stand alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # two-sided 95%
Z80_POWER = 0.8416212335729143  # one-sided 80% power


@dataclass(frozen=True)
class ClusterCounts:
    """Per-cluster successes and trials (one entry per cluster)."""

    successes: np.ndarray
    trials: np.ndarray

    @classmethod
    def from_lists(cls, successes: Sequence[float], trials: Sequence[float]) -> ClusterCounts:
        y = np.asarray(successes, dtype=float)
        n = np.asarray(trials, dtype=float)
        if y.shape != n.shape or y.ndim != 1 or not len(n):
            raise ValueError("successes and trials must be two non-empty lists of the same length, one per cluster")
        if (n <= 0).any() or (y < 0).any() or (y > n).any():
            raise ValueError("every cluster needs trials > 0 and 0 <= successes <= trials")
        return cls(y, n)

    @property
    def clusters(self) -> int:
        return len(self.trials)

    @property
    def total(self) -> float:
        return float(self.trials.sum())

    @property
    def rate(self) -> float:
        return float(self.successes.sum() / self.total)

    @property
    def weighted_cluster_size(self) -> float:
        """sum n_i^2 / N: the cluster size that enters deff = 1 + (n - 1) rho."""
        return float((self.trials**2).sum() / self.total)

    def cluster_variance(self) -> float:
        """Cluster-robust variance of the rate (see the module docstring); 0 with one cluster."""
        m = self.clusters
        if m < 2:
            return 0.0
        resid = self.successes - self.rate * self.trials
        return float(m / (m - 1) * (resid**2).sum() / self.total**2)

    def binomial_variance(self) -> float:
        p = self.rate
        return p * (1 - p) / self.total


@dataclass(frozen=True)
class DesignEffect:
    """deff and the intra-cluster correlation; ``estimated`` False where the fallback correlation was used."""

    deff: float
    icc: float
    estimated: bool


def informative_clusters(counts: ClusterCounts) -> int:
    """How many clusters hold the rarer outcome (a success where the rate is at most 50%, else a failure): only
    they carry information on how outcomes cluster."""
    if counts.rate <= 0.5:
        return int((counts.successes > 0).sum())
    return int((counts.successes < counts.trials).sum())


def design_effect(counts: ClusterCounts, fallback_icc: float = 1.0, min_informative: int = 10) -> DesignEffect:
    """The cell's design effect (>= 1) and its intra-cluster correlation, estimated where at least
    ``min_informative`` clusters hold the rarer outcome; otherwise (0%, 100%, a handful of successes) those of
    ``fallback_icc``."""
    size = counts.weighted_cluster_size
    vb = counts.binomial_variance()
    if vb <= 0 or informative_clusters(counts) < min_informative:
        icc = min(max(float(fallback_icc), 0.0), 1.0)
        return DesignEffect(1 + (size - 1) * icc, icc, False)
    deff = max(1.0, counts.cluster_variance() / vb)
    icc = (deff - 1) / (size - 1) if size > 1 else 0.0
    return DesignEffect(deff, min(icc, 1.0), True)


def wilson_interval_effective(rate: float, n_eff: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a rate observed on ``n_eff`` (possibly fractional) independent trials."""
    if not n_eff > 0 or math.isnan(rate):
        return (float("nan"), float("nan"))
    if not 0 <= rate <= 1:
        raise ValueError(f"rate={rate} must lie in [0, 1]")
    denom = 1 + z * z / n_eff
    centre = (rate + z * z / (2 * n_eff)) / denom
    half = z * math.sqrt(rate * (1 - rate) / n_eff + z * z / (4 * n_eff * n_eff)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def clustered_interval(
    counts: ClusterCounts, fallback_icc: float = 1.0, min_informative: int = 10, z: float = Z95
) -> tuple[float, float]:
    """The design-effect-corrected Wilson interval of the rate (fractions in [0, 1])."""
    de = design_effect(counts, fallback_icc, min_informative)
    return wilson_interval_effective(counts.rate, counts.total / de.deff, z)


def cluster_bootstrap_interval(
    counts: ClusterCounts, resamples: int = 4000, seed: int = 20160522, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the rate over ``resamples`` cluster bootstrap draws (clusters drawn with
    replacement; the same seed gives the same interval)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, counts.clusters, size=(resamples, counts.clusters))
    rates = counts.successes[idx].sum(axis=1) / counts.trials[idx].sum(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(rates, [a, 1 - a])
    return (float(lo), float(hi))


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a rate and its effective number of independent trials, n_eff = p (1 - p) /
    variance (at 0% or 100%, where that is undefined, given directly: trials / design effect)."""

    rate: float
    n_eff: float

    def interval(self, z: float = Z95) -> tuple[float, float]:
        return wilson_interval_effective(self.rate, self.n_eff, z)


def side_from_variance(rate: float, variance: float, n_eff_if_degenerate: float) -> Side:
    """A Side whose Wilson interval has the given variance at its rate (p (1 - p) / n_eff = variance)."""
    if 0 < rate < 1 and variance > 0:
        return Side(rate, rate * (1 - rate) / variance)
    return Side(rate, n_eff_if_degenerate)


def difference_interval(ours: Side, theirs: Side, z: float = Z95) -> tuple[float, float, float]:
    """(d, low, high) for d = ours - theirs: Newcombe's hybrid score interval (the MOVER of the two Wilson
    intervals), which stays inside [-1, 1] and behaves at 0% and 100%, unlike the Wald interval."""
    p1, p2 = ours.rate, theirs.rate
    l1, u1 = ours.interval(z)
    l2, u2 = theirs.interval(z)
    d = p1 - p2
    return (d, d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2))


def minimum_detectable_difference(
    null_rate: float,
    variance_at: Callable[[float], float],
    direction: int,
    z_alpha: float = Z95,
    z_power: float = Z80_POWER,
) -> float:
    """The smallest difference delta (> 0) that a two-sided test at level 5% detects with 80% power (normal
    approximation), in ``direction`` +1 (ours higher) or -1 (ours lower): the solution of
    z_alpha * sd(null) + z_power * sd(alternative) = delta, where ``variance_at(p)`` is the variance of the
    difference when our true rate is p and the paper's is ``null_rate``. nan when no rate in [0, 1] reaches it.
    """
    room = (1 - null_rate) if direction > 0 else null_rate
    sd0 = math.sqrt(variance_at(null_rate))

    def gap(delta: float) -> float:
        return delta - z_alpha * sd0 - z_power * math.sqrt(variance_at(null_rate + direction * delta))

    if room <= 0 or gap(room) < 0:
        return float("nan")
    lo, hi = 0.0, room
    for _ in range(60):  # bisection: 2^-60 of the range
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if gap(mid) >= 0 else (mid, hi)
    return hi


@dataclass(frozen=True)
class VarianceAt:
    """The variance of ours - theirs as a function of our true rate p: p (1 - p) deff_ours / n_ours +
    q (1 - q) deff_theirs / n_theirs + ``extra`` (q: the paper's rate)."""

    theirs_rate: float
    deff_ours: float
    n_ours: float
    deff_theirs: float
    n_theirs: float
    extra: float = 0.0

    def __call__(self, p: float) -> float:
        q = self.theirs_rate
        return p * (1 - p) * self.deff_ours / self.n_ours + q * (1 - q) * self.deff_theirs / self.n_theirs + self.extra


@dataclass(frozen=True)
class ReportedDesign:
    """The shape of the design behind a reported rate that came without its counts: ``targets`` trials in
    clusters of ``cluster_size`` (Fig. 7: 900 targets, 9 per image)."""

    targets: float
    cluster_size: float


@dataclass(frozen=True)
class Comparison:
    """ours - reported: the difference and its 95% interval, both sides' intervals, the design effects used,
    and the smallest differences the design detects (nan where none can be)."""

    ours: Side
    reported: Side
    deff_ours: float
    deff_reported: float
    icc: float
    icc_estimated: bool
    diff: float
    diff_low: float
    diff_high: float
    detectable_higher: float
    detectable_lower: float

    @property
    def compatible(self) -> bool:
        """The difference's interval contains 0."""
        return self.diff_low <= 0 <= self.diff_high


@dataclass(frozen=True)
class SharedSpread:
    """A source of spread shared by every target of one replicate (a training run, an arithmetic order), which
    resampling images cannot see: ``variance`` of one replicate's rate (fractions squared) and how many
    ``replicates`` our rate averages. A reported single run carries it once."""

    variance: float
    replicates: int

    @classmethod
    def from_rates(cls, rates: Sequence[float]) -> SharedSpread | None:
        """The sample variance of the replicates' rates; None with fewer than two."""
        if len(rates) < 2:
            return None
        return cls(float(np.var(np.asarray(rates, dtype=float), ddof=1)), len(rates))


def our_side(counts: ClusterCounts, deff: float, shared: Sequence[SharedSpread] = ()) -> Side:
    """Our rate with its clustered variance plus each shared spread divided by its replicates."""
    p, n = counts.rate, counts.total
    extra = sum(s.variance / s.replicates for s in shared)
    return side_from_variance(p, p * (1 - p) * deff / n + extra, n / deff)


def compare_with_reported(
    counts: ClusterCounts,
    reported_rate: float,
    design: ReportedDesign,
    *,
    shared: Sequence[SharedSpread] = (),
    fallback_icc: float = 1.0,
    min_informative: int = 10,
) -> Comparison:
    """Our clustered rate against a reported one whose sampling error is modelled as the same kind of design
    (``design``) with our intra-cluster correlation; each shared spread is added to ours divided by its
    replicates and to the reported side whole (one run)."""
    de = design_effect(counts, fallback_icc, min_informative)
    n, q = counts.total, reported_rate
    deff_r = 1 + (design.cluster_size - 1) * de.icc
    once = sum(s.variance for s in shared)
    ours = our_side(counts, de.deff, shared)
    theirs = side_from_variance(q, q * (1 - q) * deff_r / design.targets + once, design.targets / deff_r)
    d, lo, hi = difference_interval(ours, theirs)
    extra = sum(s.variance * (1 / s.replicates + 1) for s in shared)
    var_at = VarianceAt(q, de.deff, n, deff_r, design.targets, extra)
    return Comparison(
        ours=ours,
        reported=theirs,
        deff_ours=de.deff,
        deff_reported=deff_r,
        icc=de.icc,
        icc_estimated=de.estimated,
        diff=d,
        diff_low=lo,
        diff_high=hi,
        detectable_higher=minimum_detectable_difference(q, var_at, +1),
        detectable_lower=minimum_detectable_difference(q, var_at, -1),
    )
