"""A Fig. 7 cell against the paper's value, from its per-target tables: clustered intervals, the difference with
the paper's own sampling error, what the design could detect, and the verdict.

The rule, in the words the report uses:

* **Clusters.** A cell's targets are 9 per image (each image towards its other classes). Every seed attacks the
  same images, so one image is one cluster across all seeds: its targets in every seed share the image's
  difficulty, and counting them as separate clusters would overstate the information. Intervals are Wilson
  intervals on the effective number of targets N / deff (see :mod:`distillbench.clustered`). Where a cell
  cannot show its intra-cluster correlation (0%, 100%, or fewer than 10 images with the rarer outcome), it
  borrows the largest one estimated among the cells of its dataset and attack numerics.
* **Training spread.** Resampling images cannot see the training-to-training spread (a seed's effect is shared
  by all its images). With two or more seeds its variance is estimated by the sample variance of the seeds'
  rates (slightly cautious: that also holds some decision noise) and added: divided by the number of seeds on
  our side, whole on the paper's (one training run). With one seed it is unknown and left out (``training_spread``
  says which). A float32 cell's *numerical spread* (its rates under two or more arithmetic orders, when
  measured) is added the same way: the paper's float32 run had one unknown arithmetic order too.
* **The paper's sampling error.** The paper reports a rate only; its cell is modelled as the same design (900
  targets on 100 images, 9 per image) with our intra-cluster correlation: deff_paper = 1 + (9 - 1) rho.
  The two cells are taken as independent (conservative if the paper attacked the same images).
* **Difference.** d = ours - paper with Newcombe's hybrid score interval (95%). *reproduced*: the interval
  contains 0; *not reproduced (higher/lower)*: it lies above/below 0.
* **Detectable difference.** The smallest true difference that a 5%-level test detects with 80% power
  (normal approximation), upwards and downwards from the paper's value; "–" when no rate reaches it.
* **Accuracy.** The shortfall against the paper's accuracy is shown beside the cell, which is judged anyway;
  *untrained (accuracy near chance)* only when the test accuracy's 95% Wilson lower bound (on the test images)
  is at most chance (100 / classes %) plus ``near_chance_margin_pp``.
* **Correctly classified only.** Beside all targets: the success rate on targets whose image the model
  classifies correctly (``true_label == original_prediction``), with its clustered interval; no verdict (the
  paper does not say which images it counted).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .clustered import (
    ClusterCounts,
    ReportedDesign,
    SharedSpread,
    cluster_bootstrap_interval,
    compare_with_reported,
    design_effect,
    our_side,
    wilson_interval_effective,
)
from .stats import HIGHER, LOWER, NO_REFERENCE, REPRODUCED, UNTRAINED, wilson_interval

CELL_VERDICTS = (REPRODUCED, HIGHER, LOWER, UNTRAINED, NO_REFERENCE)
TARGET_COLUMNS = ("sample_index", "success")
CORRECT_COLUMNS = ("true_label", "original_prediction")
NAN = float("nan")


@dataclass(frozen=True)
class ComparisonRule:
    """The numbers of the rule above."""

    near_chance_margin_pp: float = 5.0
    paper_targets: int = 900
    paper_images: int = 100
    min_informative_clusters: int = 10
    bootstrap_resamples: int = 4000
    bootstrap_seed: int = 20160522
    # False where the reported value's design (targets, images) is not stated: its sampling error is then left
    # out and the reported rate taken as exact (the difference's interval is ours alone, so narrower than the
    # truth); the report says so.
    paper_design_known: bool = True

    @property
    def paper_cluster_size(self) -> float:
        return self.paper_targets / self.paper_images


def load_comparison_rule(path: Path, paper_targets: int = 900, paper_images: int = 100) -> ComparisonRule:
    """The rule with ``accuracy.near_chance_margin_pp`` from a paper's tolerances file (5 pp when absent), e.g.
    benchmark/papernot2016/tolerances.yaml; ``paper_targets`` and ``paper_images``: the paper's cell design."""
    tol = yaml.safe_load(Path(path).read_text()) or {}
    margin = (tol.get("accuracy") or {}).get("near_chance_margin_pp", 5.0)
    return ComparisonRule(near_chance_margin_pp=float(margin), paper_targets=paper_targets, paper_images=paper_images)


def read_targets(paths: Iterable[tuple[Any, Path]]) -> pd.DataFrame:
    """Per-target tables of one cell, one per seed ((seed, csv path) pairs), stacked with a ``seed`` column."""
    parts = []
    for seed, path in paths:
        try:
            t = pd.read_csv(path)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise ValueError(
                f"{path}: cannot read the per-target table ({e}); rerun the attack that writes it"
            ) from None
        missing = [c for c in TARGET_COLUMNS if c not in t.columns]
        if missing:
            raise ValueError(
                f"{path}: the per-target table lacks {', '.join(missing)}; it must be an attack's per-target CSV "
                "(columns sample_index, success, ...)"
            )
        parts.append(t.assign(seed=seed))
    if not parts:
        raise ValueError("a cell needs at least one per-target table")
    return pd.concat(parts, ignore_index=True)


def cluster_counts(targets: pd.DataFrame) -> ClusterCounts:
    """Successes and targets per image (``sample_index``), pooled over every seed in the table."""
    g = targets.assign(success=targets.success.astype(bool).astype(int)).groupby("sample_index").success
    return ClusterCounts.from_lists(g.sum().to_numpy(), g.size().to_numpy())


def correctly_classified(targets: pd.DataFrame) -> pd.DataFrame:
    """The targets whose image the attacked model classifies correctly (empty when the columns are absent)."""
    if not all(c in targets.columns for c in CORRECT_COLUMNS):
        return targets.iloc[0:0]
    return targets[targets.true_label == targets.original_prediction]


def seed_rates(targets: pd.DataFrame) -> list[float]:
    """Each seed's success rate (fractions), in the table's seed order."""
    if "seed" not in targets.columns:
        return [float(targets.success.astype(bool).mean())]
    g = targets.assign(success=targets.success.astype(bool)).groupby("seed", sort=False, dropna=False).success
    return [float(v) for v in g.mean()]


def near_chance(accuracy_pct: float, n_classes: int, n_test: int | None, margin_pp: float) -> bool:
    """True when the accuracy's 95% Wilson lower bound on ``n_test`` images (the accuracy itself when
    ``n_test`` is unknown) is at most chance plus ``margin_pp``."""
    if accuracy_pct is None or math.isnan(accuracy_pct):
        return False
    lower = accuracy_pct
    if n_test:
        lower = 100 * wilson_interval(round(accuracy_pct / 100 * n_test), int(n_test))[0]
    return lower <= 100 / n_classes + margin_pp


def estimated_icc(targets: pd.DataFrame, min_informative: int = 10) -> float | None:
    """The cell's intra-cluster correlation, or None where it cannot be estimated (0%, 100%, or fewer than
    ``min_informative`` images with the rarer outcome)."""
    de = design_effect(cluster_counts(targets), min_informative=min_informative)
    return de.icc if de.estimated else None


@dataclass(frozen=True)
class CellInput:
    """What one cell needs. ``targets``: the per-target rows of every seed (:func:`read_targets`)."""

    dataset: str
    model: str
    temperature: float | None
    targets: pd.DataFrame
    paper_pct: float | None
    accuracy_pct: float | None = None
    paper_accuracy_pct: float | None = None
    n_classes: int = 10
    n_test: int | None = None
    # The cell's success rates (%) under different arithmetic orders of the same attack on the same models
    # (e.g. CUDA and CPU, or two batch compositions), when measured: their spread is added like the seeds'.
    numerical_rates_pct: Sequence[float] = ()


def _pct(v: tuple[float, float]) -> tuple[float, float]:
    return (100 * v[0], 100 * v[1])


def compare_cell(cell: CellInput, rule: ComparisonRule, fallback_icc: float = 1.0) -> dict[str, Any]:
    """One row of the comparison table: the cell, its clustered intervals, accuracy, the difference from the
    paper and the verdict (the rule of the module docstring)."""
    t = cell.targets
    counts = cluster_counts(t)
    de = design_effect(counts, fallback_icc, rule.min_informative_clusters)
    p, n, k = counts.rate, counts.total, int(counts.successes.sum())
    rates = seed_rates(t)
    seeds = len(rates)
    training = SharedSpread.from_rates(rates)
    numerical = SharedSpread.from_rates([r / 100 for r in cell.numerical_rates_pct])
    shared = [s for s in (training, numerical) if s is not None]
    ours = our_side(counts, de.deff, shared)
    row: dict[str, Any] = {
        "dataset": cell.dataset,
        "model": cell.model,
        "temperature": cell.temperature,
        "seeds": seeds,
        "images": counts.clusters,
        "pooled_targets": int(n),
        "pooled_successes": k,
        "pooled_pct": 100 * p,
        "naive_low_pct": 100 * wilson_interval(k, int(n))[0],
        "naive_high_pct": 100 * wilson_interval(k, int(n))[1],
        "design_effect": de.deff,
        "icc": de.icc,
        "icc_estimated": de.estimated,
        "training_spread": "estimated from seeds" if training else "unknown (one seed)",
        "training_sd_pp": 100 * math.sqrt(training.variance) if training else NAN,
        "numerical_orders": len(cell.numerical_rates_pct),
        "numerical_sd_pp": 100 * math.sqrt(numerical.variance) if numerical else NAN,
    }
    row["clustered_low_pct"], row["clustered_high_pct"] = _pct(ours.interval())
    row["boot_low_pct"], row["boot_high_pct"] = _pct(
        cluster_bootstrap_interval(counts, rule.bootstrap_resamples, rule.bootstrap_seed)
    )
    row.update(_correct_only(t, fallback_icc, rule.min_informative_clusters))
    row.update(_accuracy(cell, rule))
    row.update(_against_paper(cell.paper_pct, counts, rule, shared, fallback_icc))
    if row["untrained"]:
        row["verdict"] = UNTRAINED
    elif row["paper_pct"] is None:
        row["verdict"] = NO_REFERENCE
    elif row["diff_low_pp"] <= 0 <= row["diff_high_pp"]:
        row["verdict"] = REPRODUCED
    else:
        row["verdict"] = HIGHER if row["diff_pp"] > 0 else LOWER
    return row


def _against_paper(
    paper_pct: float | None,
    counts: ClusterCounts,
    rule: ComparisonRule,
    shared: Sequence[SharedSpread],
    fallback_icc: float,
) -> dict[str, Any]:
    keys = ("paper_low_pct", "paper_high_pct", "paper_design_effect", "diff_pp", "diff_low_pp", "diff_high_pp")
    out: dict[str, Any] = dict.fromkeys((*keys, "mdd_higher_pp", "mdd_lower_pp"), NAN)
    out["paper_pct"] = None
    if paper_pct is None or math.isnan(paper_pct):
        return out
    design = (
        ReportedDesign(rule.paper_targets, rule.paper_cluster_size)
        if rule.paper_design_known
        else ReportedDesign(math.inf, 1.0)  # no sampling error on the reported side
    )
    c = compare_with_reported(
        counts,
        paper_pct / 100,
        design,
        shared=shared,
        fallback_icc=fallback_icc,
        min_informative=rule.min_informative_clusters,
    )
    lo, hi = c.reported.interval()
    out.update(
        paper_pct=paper_pct,
        paper_low_pct=100 * lo,
        paper_high_pct=100 * hi,
        paper_design_effect=c.deff_reported,
        diff_pp=100 * c.diff,
        diff_low_pp=100 * c.diff_low,
        diff_high_pp=100 * c.diff_high,
        mdd_higher_pp=100 * c.detectable_higher,
        mdd_lower_pp=100 * c.detectable_lower,
    )
    return out


def _correct_only(t: pd.DataFrame, fallback_icc: float, min_informative: int) -> dict[str, Any]:
    c = correctly_classified(t)
    if not len(c):
        return {"correct_targets": 0, "correct_pct": NAN, "correct_low_pct": NAN, "correct_high_pct": NAN}
    counts = cluster_counts(c)
    de = design_effect(counts, fallback_icc, min_informative)
    lo, hi = wilson_interval_effective(counts.rate, counts.total / de.deff)
    return {
        "correct_targets": int(counts.total),
        "correct_pct": 100 * counts.rate,
        "correct_low_pct": 100 * lo,
        "correct_high_pct": 100 * hi,
    }


def _accuracy(cell: CellInput, rule: ComparisonRule) -> dict[str, Any]:
    acc, ref = cell.accuracy_pct, cell.paper_accuracy_pct
    short = ref - acc if acc is not None and ref is not None else float("nan")
    untrained = acc is not None and near_chance(acc, cell.n_classes, cell.n_test, rule.near_chance_margin_pp)
    return {
        "test_accuracy_mean_pct": float("nan") if acc is None else acc,
        "paper_accuracy_pct": float("nan") if ref is None else ref,
        "accuracy_shortfall_pp": short,
        "untrained": bool(untrained),
    }


def compare_cells(cells: Sequence[CellInput], rule: ComparisonRule | None = None) -> pd.DataFrame:
    """Every cell's row (:func:`compare_cell`). A cell whose correlation cannot be estimated (0%, 100%, fewer
    than ``rule.min_informative_clusters`` images with the rarer outcome) borrows the largest intra-cluster
    correlation estimated among the cells of its dataset given here (1 when none has one)."""
    rule = rule or ComparisonRule()
    fallback: dict[str, float] = {}
    for c in cells:
        icc = estimated_icc(c.targets, rule.min_informative_clusters)
        if icc is not None:
            fallback[c.dataset] = max(fallback.get(c.dataset, 0.0), icc)
    rows = [compare_cell(c, rule, fallback.get(c.dataset, 1.0)) for c in cells]
    return pd.DataFrame(rows)


def compare_where_given(
    cells: Sequence[CellInput | None], rule: ComparisonRule | None = None
) -> list[dict[str, Any] | None]:
    """:func:`compare_cells` over the cells given (a run that kept no per-target table of a cell passes None):
    each given cell's row, None in place of the others, in ``cells``' order."""
    given = [c for c in cells if c is not None]
    rows = iter(
        [{str(k): v for k, v in r.items()} for r in compare_cells(given, rule).to_dict("records")] if given else []
    )
    return [next(rows) if c is not None else None for c in cells]


def comparison_rule_text(rule: ComparisonRule) -> str:
    """The plain-language paragraph "How verdicts are made" for the clustered rule."""
    per_image = f"{rule.paper_cluster_size:g}"
    return (
        f"Each cell's targets come {per_image} per image, and an image hard to perturb is hard towards most "
        "targets, so intervals count images, not targets: a Wilson interval on the effective number of targets "
        "(targets divided by the design effect measured from the spread between images), with every seed's "
        "targets of one image counted as one cluster. A cell at 0% or 100%, or with fewer than "
        f"{rule.min_informative_clusters} images showing the rarer outcome, borrows the largest intra-cluster "
        "correlation of its dataset's other cells. With two or more seeds, the spread between seeds (training "
        "runs) is added; with one seed it is unknown and not included. The paper reports a rate only: its "
        f"sampling error is modelled as the same design ({rule.paper_targets} targets, {per_image} per image) with "
        "our intra-cluster correlation, plus one training run's spread. *reproduced*: the 95% interval of the "
        "difference (ours − paper, Newcombe's hybrid score interval) contains 0; *not reproduced (higher/lower)*: "
        "it lies above/below 0. *Detectable* is the smallest true difference that this comparison detects with "
        '80% power at the 5% level (normal approximation), upwards and downwards; "–" where no rate could be '
        "detected. Each model's accuracy shortfall against the paper is shown beside its cell, which is judged "
        f"anyway; *{UNTRAINED}* only when the test accuracy's 95% lower bound is at most chance plus "
        f"{rule.near_chance_margin_pp:g} points. *Correctly classified only*: the success rate on targets whose "
        "image the model classifies correctly, beside all targets (no verdict)."
    )
