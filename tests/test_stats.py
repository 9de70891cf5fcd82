"""Wilson interval and the verdict logic."""

import math

import pytest

from distillbench.stats import HIGHER, LOWER, NO_REFERENCE, REPRODUCED, verdict, wilson_interval


@pytest.mark.parametrize(
    "k,n,lo,hi",
    [
        (5, 10, 0.2366, 0.7634),  # textbook values
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_interval_known_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got[0] == pytest.approx(lo, abs=1e-4)
    assert got[1] == pytest.approx(hi, abs=1e-4)


def test_wilson_interval_contains_estimate_and_narrows():
    for n in (10, 100, 900):
        lo, hi = wilson_interval(n // 3, n)
        assert lo <= (n // 3) / n <= hi
    assert (lambda a, b: a[1] - a[0] > b[1] - b[0])(wilson_interval(30, 100), wilson_interval(270, 900))
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_verdicts():
    ci = (80.0, 90.0)
    assert verdict(91.0, 85.0, ci, tolerance_pp=10) == REPRODUCED
    assert verdict(50.0, 85.0, ci, tolerance_pp=10) == HIGHER
    assert verdict(95.0, 85.0, (84.0, 86.0), tolerance_pp=10) == REPRODUCED  # within tolerance
    assert verdict(95.5, 85.0, (84.0, 86.0), tolerance_pp=10) == LOWER
    # Outside the tolerance but inside our interval: reproduced.
    assert verdict(60.0, 75.0, (55.0, 90.0), tolerance_pp=10) == REPRODUCED
    assert verdict(None, 85.0, ci, tolerance_pp=10) == NO_REFERENCE


def test_report_plurals():
    from distillbench.report import plural as _plural

    assert _plural(1, "zero-change success") == "1 zero-change success"
    assert _plural(25, "zero-change success") == "25 zero-change successes"
    assert _plural(0, "model") == "0 models"
