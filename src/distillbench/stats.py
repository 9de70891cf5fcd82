"""Wilson intervals, the verdict labels the reports share, and a verdict by tolerance or interval of one measured
value against the paper's."""

from __future__ import annotations

import math


def wilson_interval(successes: int, trials: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion, as fractions in [0, 1]."""
    if trials <= 0:
        return (float("nan"), float("nan"))
    if not 0 <= successes <= trials:
        raise ValueError(f"successes={successes} must lie in [0, trials={trials}]")
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


REPRODUCED = "reproduced"
HIGHER = "not reproduced (higher)"
LOWER = "not reproduced (lower)"
# The clustered rule (cell_comparison.py): only a model near chance is left unjudged.
UNTRAINED = "untrained (accuracy near chance)"
NO_REFERENCE = "no paper value"
NOT_MEASURED = "not measured"  # the run has no attack of this cell under the table's numerics
# A run from before per-target tables were kept beside every summary: no image-clustered comparison possible.
NO_TARGET_TABLE = "not judged (no per-target table)"


def verdict(paper_pct: float | None, ours_pct: float, ci_pct: tuple[float, float], tolerance_pp: float) -> str:
    """A measured value beside the paper's: reproduced when |ours - paper| <= ``tolerance_pp`` or the paper's
    value lies in our 95% interval ``ci_pct``; otherwise higher or lower."""
    if paper_pct is None or math.isnan(paper_pct):
        return NO_REFERENCE
    if abs(ours_pct - paper_pct) <= tolerance_pp or ci_pct[0] <= paper_pct <= ci_pct[1]:
        return REPRODUCED
    return HIGHER if ours_pct > paper_pct else LOWER
