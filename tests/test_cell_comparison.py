"""A Fig. 7 cell against the paper from its per-target tables (cell_comparison.py): seeds pooled by image, the
training spread, the accuracy gate, correctly classified images, the fallback correlation, and clear errors."""

import math

import numpy as np
import pandas as pd
import pytest

from distillbench.cell_comparison import (
    UNTRAINED,
    CellInput,
    ComparisonRule,
    cluster_counts,
    compare_cell,
    compare_cells,
    correctly_classified,
    load_comparison_rule,
    near_chance,
    read_targets,
)
from distillbench.clustered import ClusterCounts, ReportedDesign, compare_with_reported
from distillbench.config import REPO_ROOT
from distillbench.stats import HIGHER, LOWER, NO_REFERENCE, REPRODUCED, wilson_interval

RULE = ComparisonRule(bootstrap_resamples=500)
CLASSES = 10


def table(per_image: list[int] | np.ndarray, seed: object = 1, misclassified: int = 0) -> pd.DataFrame:
    """A per-target table: image i has per_image[i] successes among its 9 targets; the first ``misclassified``
    images are predicted as class 9 though labelled 0."""
    rows = []
    for i, k in enumerate(per_image):
        pred = 9 if i < misclassified else 0
        for j, t in enumerate(range(1, CLASSES)):
            rows.append((i, 0, pred, t, j < k, seed))
    return pd.DataFrame(
        rows, columns=["sample_index", "true_label", "original_prediction", "target", "success", "seed"]
    )


def cell(targets: pd.DataFrame, paper: float | None, **kw: object) -> CellInput:
    return CellInput("mnist", "distilled_T5", 5.0, targets, paper, **kw)  # type: ignore[arg-type]


def clustered_images(seed: int, rate: float = 0.3, icc: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = 1 / icc - 1
    return rng.binomial(9, rng.beta(rate * s, (1 - rate) * s, size=100))


def test_a_cell_is_the_clustered_comparison_of_its_table():
    per_image = clustered_images(0)
    row = compare_cell(cell(table(per_image), 30.0), RULE)
    c = ClusterCounts.from_lists(per_image, np.full(100, 9))
    ref = compare_with_reported(c, 0.30, ReportedDesign(900, 9))
    assert row["pooled_targets"] == 900 and row["images"] == 100 and row["seeds"] == 1
    assert row["pooled_pct"] == pytest.approx(100 * c.rate)
    assert row["diff_pp"] == pytest.approx(100 * ref.diff)
    assert (row["diff_low_pp"], row["diff_high_pp"]) == pytest.approx((100 * ref.diff_low, 100 * ref.diff_high))
    assert (row["clustered_low_pct"], row["clustered_high_pct"]) == pytest.approx(
        tuple(100 * v for v in ref.ours.interval())
    )
    assert (
        row["naive_high_pct"] - row["naive_low_pct"] < row["clustered_high_pct"] - row["clustered_low_pct"]
    )  # deff > 1
    expected = REPRODUCED if ref.compatible else (HIGHER if ref.diff > 0 else LOWER)
    assert row["verdict"] == expected
    assert row["training_spread"] == "unknown (one seed)" and math.isnan(row["training_sd_pp"])
    far = compare_cell(cell(table(per_image), 100 * c.rate + 30), RULE)
    assert far["verdict"] == LOWER and far["diff_high_pp"] < 0
    assert compare_cell(cell(table(per_image), 100 * c.rate - 25), RULE)["verdict"] == HIGHER
    assert compare_cell(cell(table(per_image), None), RULE)["verdict"] == NO_REFERENCE


def test_exact_copy_of_the_paper_is_reproduced_with_an_interval_around_zero():
    per_image = np.array([3] * 50 + [1] * 50)  # 200 / 900 = 22.2%
    row = compare_cell(cell(table(per_image), 100 * 200 / 900), RULE)
    assert row["diff_pp"] == pytest.approx(0, abs=1e-12)
    assert row["diff_low_pp"] == pytest.approx(-row["diff_high_pp"])
    assert row["verdict"] == REPRODUCED


def test_seeds_pool_by_image_and_their_spread_widens_the_interval():
    a, b = clustered_images(1), clustered_images(2)
    two = pd.concat([table(a, seed=1), table(b, seed=2)], ignore_index=True)
    row = compare_cell(cell(two, 30.0), RULE)
    assert row["seeds"] == 2 and row["images"] == 100 and row["pooled_targets"] == 1800
    counts = cluster_counts(two)
    assert counts.trials.tolist() == [18] * 100  # one cluster per image across both seeds
    rates = [a.sum() / 900, b.sum() / 900]
    assert row["training_sd_pp"] == pytest.approx(100 * np.std(rates, ddof=1))
    # The same targets without the seed column: one "seed", no training spread, a narrower interval.
    alone = compare_cell(cell(two.drop(columns="seed"), 30.0), RULE)
    assert alone["seeds"] == 1
    assert (
        alone["clustered_high_pct"] - alone["clustered_low_pct"] <= row["clustered_high_pct"] - row["clustered_low_pct"]
    )


def test_accuracy_shortfall_is_shown_and_only_near_chance_is_untrained():
    per_image = clustered_images(3)
    margin = RULE.near_chance_margin_pp
    chance = 100 / CLASSES
    judged = compare_cell(cell(table(per_image), 30.0, accuracy_pct=77.6, paper_accuracy_pct=80.95), RULE)
    assert judged["accuracy_shortfall_pp"] == pytest.approx(80.95 - 77.6)
    assert judged["verdict"] != UNTRAINED and not judged["untrained"]
    low = compare_cell(cell(table(per_image), 30.0, accuracy_pct=chance + margin / 2, n_test=10_000), RULE)
    assert low["verdict"] == UNTRAINED
    # The gate reads the accuracy's Wilson lower bound on the test set: a small test set is judged cautiously.
    acc = chance + margin + 1
    assert not near_chance(acc, CLASSES, 10_000, margin)
    assert near_chance(acc, CLASSES, 100, margin) == (100 * wilson_interval(round(acc), 100)[0] <= chance + margin)
    assert near_chance(acc, CLASSES, 100, margin)
    assert not near_chance(float("nan"), CLASSES, None, margin)


def test_correctly_classified_only_drops_misclassified_images():
    per_image = np.array([9] * 10 + [0] * 90)
    t = table(per_image, misclassified=10)  # the 10 images with every target reached are misclassified
    assert len(correctly_classified(t)) == 810
    row = compare_cell(cell(t, 10.0), RULE)
    assert row["pooled_pct"] == pytest.approx(10.0)
    assert row["correct_pct"] == 0.0 and row["correct_targets"] == 810
    assert len(correctly_classified(t.drop(columns="true_label"))) == 0  # columns absent: nothing to count


def test_cells_without_a_correlation_borrow_the_datasets_largest():
    clustered = cell(table(clustered_images(4)), 30.0)
    flat = cell(table(np.zeros(100, dtype=int)), 0.45)
    rows = compare_cells([clustered, flat], RULE)
    icc = rows.icc.iloc[0]
    assert rows.icc_estimated.tolist() == [True, False]
    assert rows.icc.iloc[1] == pytest.approx(icc)
    assert rows.design_effect.iloc[1] == pytest.approx(1 + 8 * icc)
    assert rows.verdict.iloc[1] == REPRODUCED  # 0/900 against 0.45% on 900 targets: compatible
    alone = compare_cells([flat], RULE)
    assert alone.icc.iloc[0] == 1.0  # no other cell: the most cautious correlation
    assert alone.clustered_high_pct.iloc[0] > rows.clustered_high_pct.iloc[1]


def test_read_targets_stacks_seeds_and_names_a_bad_file(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    table([1, 2]).drop(columns="seed").to_csv(a, index=False)
    table([3, 4]).drop(columns="seed").to_csv(b, index=False)
    t = read_targets([(1, a), (2, b)])
    assert t.seed.tolist() == [1] * 18 + [2] * 18
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match=r"bad\.csv.*sample_index, success"):
        read_targets([(1, bad)])
    with pytest.raises(ValueError, match="missing.csv"):
        read_targets([(1, tmp_path / "missing.csv")])
    with pytest.raises(ValueError, match="at least one"):
        read_targets([])


def test_rule_reads_its_margin(tmp_path):
    committed = REPO_ROOT / "benchmark" / "papernot2016" / "tolerances.yaml"
    assert load_comparison_rule(committed).near_chance_margin_pp == ComparisonRule().near_chance_margin_pp
    f = tmp_path / "tol.yaml"
    f.write_text("accuracy: {near_chance_margin_pp: 3}\n")
    rule = load_comparison_rule(f, paper_targets=450, paper_images=50)
    assert rule.near_chance_margin_pp == 3.0 and rule.paper_cluster_size == 9.0


def test_a_measured_numerical_spread_widens_both_sides():
    per_image = clustered_images(5)
    plain = compare_cell(cell(table(per_image), 30.0), RULE)
    rates = [plain["pooled_pct"], plain["pooled_pct"] + 4.0]  # two arithmetic orders, 4 pp apart
    spread = compare_cell(cell(table(per_image), 30.0, numerical_rates_pct=rates), RULE)
    assert spread["numerical_orders"] == 2
    assert spread["numerical_sd_pp"] == pytest.approx(np.std(rates, ddof=1))
    assert (
        spread["clustered_high_pct"] - spread["clustered_low_pct"]
        > plain["clustered_high_pct"] - plain["clustered_low_pct"]
    )
    assert spread["paper_high_pct"] - spread["paper_low_pct"] > plain["paper_high_pct"] - plain["paper_low_pct"]
    assert spread["diff_pp"] == pytest.approx(plain["diff_pp"])
    assert spread["mdd_higher_pp"] > plain["mdd_higher_pp"]
    assert math.isnan(plain["numerical_sd_pp"]) and plain["numerical_orders"] == 0


def test_rule_text_states_the_numbers_it_uses():
    from distillbench.cell_comparison import comparison_rule_text

    rule = ComparisonRule(near_chance_margin_pp=3.5, min_informative_clusters=12)
    text = comparison_rule_text(rule)
    assert "3.5 points" in text and "fewer than 12 images" in text and f"{rule.paper_targets} targets" in text
    assert UNTRAINED in text
