"""The verdict rule over seeds (verdicts.py): pooled Wilson intervals, bands, and the cases the rule must get right."""

import math

import pytest

from distillbench.stats import HIGHER, LOWER, NO_REFERENCE, REPRODUCED, UNDER_TRAINED, verdict, wilson_interval
from distillbench.verdicts import INCONCLUSIVE, SeedCell, VerdictRule, cell_verdict, load_rule, rule_text

RULE = VerdictRule(max_accuracy_shortfall_pp=2.5, max_band_pp=25.0)


def test_pooled_wilson_interval_pools_every_seeds_targets():
    cell = SeedCell(successes=[801, 780, 820], targets=[900, 900, 900])
    lo, hi = wilson_interval(801 + 780 + 820, 2700)
    assert cell.pooled_ci_pct == pytest.approx((100 * lo, 100 * hi))
    # Known value: 2401/2700 = 88.93%; the Wilson half-width on 2700 targets is about 1.2 pp.
    assert cell.pooled_ci_pct[0] == pytest.approx(87.68, abs=0.05)
    assert cell.pooled_ci_pct[1] == pytest.approx(90.06, abs=0.05)
    assert cell.mean_pct == pytest.approx((801 + 780 + 820) / 27)
    rates = [801 / 9, 780 / 9, 820 / 9]
    sd = math.sqrt(sum((r - sum(rates) / 3) ** 2 for r in rates) / 2)
    assert cell.sd_pp == pytest.approx(sd)
    assert math.isnan(SeedCell([5], [10]).sd_pp)
    # Different target counts per seed: the mean is of the rates, the interval of the pooled counts.
    uneven = SeedCell([9, 50], [10, 100])
    assert uneven.mean_pct == pytest.approx(70.0)
    assert uneven.pooled_ci_pct == pytest.approx(tuple(100 * v for v in wilson_interval(59, 110)))


def test_a_cell_within_10pp_but_outside_its_interval_is_no_longer_reproduced():
    """82.23% (paper, T=2) vs 89.00% measured on 900 targets: the former +-10 pp rule said reproduced."""
    ours = SeedCell(successes=[801], targets=[900])  # 89.00%
    lo, hi = ours.pooled_ci_pct
    assert verdict(82.23, 89.0, (lo, hi), tolerance_pp=10) == REPRODUCED  # the former rule
    assert cell_verdict(82.23, ours, RULE) == HIGHER
    # ... unless the paper's own spread for that cell were known to be 10 pp.
    assert cell_verdict(82.23, ours, RULE, tolerance_pp=10) == REPRODUCED


def test_seed_spread_widens_the_band():
    # Three seeds at 80%, 85% and 89% (900 targets each): 82.23 lies in their range, though not in any one
    # seed's interval nor in the pooled one.
    cell = SeedCell(successes=[720, 765, 801], targets=[900, 900, 900])
    assert not cell.pooled_ci_pct[0] <= 82.23 <= cell.pooled_ci_pct[1]
    assert cell.band_pct() == pytest.approx((80.0, 89.0))
    assert cell_verdict(82.23, cell, RULE) == REPRODUCED
    assert cell_verdict(95.89, cell, RULE) == LOWER
    assert cell_verdict(60.0, cell, RULE) == HIGHER


def test_a_single_seed_falls_back_to_the_wilson_interval():
    cell = SeedCell([45], [100])
    lo, hi = cell.pooled_ci_pct
    assert cell.band_pct() == pytest.approx((lo, hi))
    assert cell_verdict(lo + 0.1, cell, RULE) == REPRODUCED
    assert cell_verdict(hi + 0.1, cell, RULE) == LOWER


def test_seeds_that_disagree_are_inconclusive_and_accuracy_comes_first():
    wide = SeedCell([650, 900], [900, 900])  # 72% and 100%: a 28 pp band
    assert cell_verdict(95.89, wide, RULE) == INCONCLUSIVE
    assert cell_verdict(95.89, wide, RULE, accuracy_pct=90.0, reference_accuracy_pct=99.51) == UNDER_TRAINED
    assert cell_verdict(None, SeedCell([1], [9]), RULE) == NO_REFERENCE
    # A mean accuracy within the shortfall is fine.
    good = SeedCell([862], [900])
    assert cell_verdict(95.89, good, RULE, accuracy_pct=98.0, reference_accuracy_pct=99.51) == REPRODUCED


def test_rule_is_read_from_the_benchmark_data_and_explained(tmp_path):
    rule = load_rule()
    assert rule.paper_spread_pp == {}  # the paper reports no spread: no tolerance anywhere
    assert rule.tolerance_pp("mnist", "baseline") == 0.0
    assert "No tolerance is added" in rule_text(rule)
    custom = tmp_path / "tol.yaml"
    custom.write_text(
        "accuracy: {max_shortfall_pp: 1.0}\nverdict: {max_band_pp: 30, paper_spread_pp: {mnist: {baseline: 2.5}}}\n"
    )
    rule = load_rule(custom)
    assert rule.max_accuracy_shortfall_pp == 1.0 and rule.max_band_pp == 30.0
    assert rule.tolerance_pp("mnist", "baseline") == 2.5 and rule.tolerance_pp("mnist", "distilled_T2") == 0.0
    assert "mnist baseline: ±2.5 pp" in rule_text(rule)
