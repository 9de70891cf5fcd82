"""Papernot 2016's report, the Fig. 7 cells against the paper: per cell its per-target tables over every seed that
ran, compared by :func:`distillbench.cell_comparison.compare_cells` (image-clustered intervals, the difference
with the paper's own sampling error, the detectable difference, accuracy beside the cell), and which attack
numerics head the table.

Numerics, by what they compute (their names are the attack block's ``numerics`` values; one line each to rename):

* :data:`HEADLINE_NUMERICS`: JSMA-F on the T=1 softmax with the float32 Jacobian (autograd's beta), the
  arithmetic of the networks as trained and deployed; its decisions depend on the arithmetic order.
* :data:`EXACT_NUMERICS`: pairs ranked by the gradient of log F_t in float64, equal to exact-arithmetic JSMA-F, the
  saturation diagnostic: how much of the defense is the float32 softmax's saturation.
* :data:`RETIRED_NUMERICS`: the float64 closed-form rule of runs made before the exact mode (committed runs keep
  their tables under that name); read, never run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ...cell_comparison import CellInput, compare_cells, load_comparison_rule, read_targets
from ...seeds import all_seeds
from ...stats import NOT_MEASURED
from .plan import Plan
from .recipe_study import EXACT as EXACT_NUMERICS
from .recipe_study import FLOAT32 as HEADLINE_NUMERICS
from .reference import PAPER_DIR, PaperReference

RETIRED_NUMERICS = "defined"

__all__ = [
    "EXACT_NUMERICS",
    "HEADLINE_NUMERICS",
    "RETIRED_NUMERICS",
    "NUMERICS_TEXT",
    "clustered_table",
    "measured",
    "numerical_rates",
    "recorded_sources",
    "seeds_run",
]

NUMERICS_TEXT = {
    HEADLINE_NUMERICS: "float32 softmax Jacobian: JSMA-F on the T=1 softmax of the float32 network, beta "
    "differentiated by autograd; on a confident network that beta is -alpha plus rounding noise as large as alpha, "
    "so the last bits (and the arithmetic order) choose some pairs, and F_t underflows to exactly 0 at logit gaps "
    "of about 100",
    EXACT_NUMERICS: "exact-arithmetic diagnostic: pairs ranked by the gradient of log F_t in float64, which is "
    "exact-arithmetic JSMA-F (beta = -alpha, and F_t > 0 is a common factor of every pair's alpha, so the best pair is "
    "the two largest components of grad log F_t in the search domain): it cannot underflow at any logit gap, so it "
    "shows how much of the defense is the float32 softmax's saturation",
    RETIRED_NUMERICS: "an earlier float64 diagnostic, from runs made before the exact mode: beta = -alpha from its "
    "closed form and the pair score alpha*alpha in float64, which loses precision at logit gaps of about 375 and is 0 "
    "for every pair beyond about 745 (the first pair then wins the tie), so at high T it is not exact",
}
# Test images per dataset and classes, for the near-chance check (both Fig. 7 datasets have 10 classes).
N_CLASSES = 10
COMPARED_COLUMNS = (
    "pooled_pct",
    "pooled_targets",
    "images",
    "design_effect",
    "clustered_low_pct",
    "clustered_high_pct",
    "naive_low_pct",
    "naive_high_pct",
    "training_spread",
    "numerical_orders",
    "numerical_sd_pp",
    "diff_pp",
    "diff_low_pp",
    "diff_high_pp",
    "paper_low_pct",
    "paper_high_pct",
    "mdd_higher_pp",
    "mdd_lower_pp",
    "accuracy_shortfall_pp",
    "correct_targets",
    "correct_pct",
    "correct_low_pct",
    "correct_high_pct",
    "untrained",
    "verdict",
)


def measured(config: Mapping[str, Any], results_dir: Path, dataset: str, numerics: str, models: list[str]) -> bool:
    """True when the first seed's summary of every model exists under ``numerics``."""
    plan = Plan(config, results_dir)
    return all(Path(plan.attack_file(dataset, numerics, m)).exists() for m in models)


def seeds_run(config: Mapping[str, Any], results_dir: Path, dataset: str, numerics: str, model: str) -> list[int]:
    """The seeds whose per-target table of this cell exists (a config may list seeds a committed run never ran)."""
    plan = Plan(config, results_dir)
    return [s for s in all_seeds(config) if Path(plan.attack_file(dataset, numerics, model, s, ext="csv")).exists()]


# A run's float32 rates under arithmetic orders measured by a check outside its jobs on the run's own
# checkpoints (e.g. CUDA and CPU): one row per cell and order (scripts/spread_from_gpu_check.py writes it).
RECORDED_SPREAD = "numerical_spread.csv"
RECORDED_SPREAD_COLUMNS = ("dataset", "model", "seed", "arithmetic", "success_rate_pct", "source")


def recorded_rates(results_dir: Path) -> dict[tuple[str, str], list[float]]:
    """Per (dataset, model): the rates of :data:`RECORDED_SPREAD` (none when the run has no such file)."""
    path = Path(results_dir) / RECORDED_SPREAD
    if not path.exists():
        return {}
    t = pd.read_csv(path)
    missing = [c for c in RECORDED_SPREAD_COLUMNS if c not in t.columns]
    if missing:
        raise ValueError(f"{path}: lacks the column(s) {', '.join(missing)}; write it with "
                         "scripts/spread_from_gpu_check.py")  # fmt: skip
    return {(str(d), str(m)): [float(v) for v in g.success_rate_pct] for (d, m), g in t.groupby(["dataset", "model"])}


def recorded_sources(results_dir: Path) -> list[str]:
    """The sources named in :data:`RECORDED_SPREAD`, each once."""
    path = Path(results_dir) / RECORDED_SPREAD
    return list(dict.fromkeys(pd.read_csv(path).source.astype(str))) if path.exists() else []


def numerical_rates(config: Mapping[str, Any], results_dir: Path) -> dict[tuple[str, str], list[float]]:
    """Per (dataset, model): the first seed's float32 success rate under the default arithmetic order and under
    each further order the run measured (``attack.spread_orders``: the ``float32_<order>`` summaries), where at
    least two orders ran, else the rates a check recorded for the cell (:data:`RECORDED_SPREAD`); the spread of
    these rates is float32's numerical spread for the cell."""
    rates = {k: v for k, v in recorded_rates(results_dir).items() if len(v) >= 2}
    plan = Plan(config, results_dir)
    for dataset in config["datasets"]:
        orders = [HEADLINE_NUMERICS, *plan.spread_numerics(dataset)]
        for model in plan.deployed_models():
            paths = [Path(plan.attack_file(dataset, n, model)) for n in orders]
            found = [float(json.loads(p.read_text())["success_rate_pct"]) for p in paths if p.exists()]
            if len(found) >= 2:
                rates[(dataset, model)] = found
    return rates


def clustered_table(
    config: Mapping[str, Any],
    results_dir: Path,
    table: pd.DataFrame,
    paper: PaperReference,
    numerical_rates_pct: Mapping[tuple[str, str], list[float]] | None = None,
) -> pd.DataFrame:
    """``table`` (one row per cell, ``numerics`` per row; rows with no summary carry a nan ``ours_pct``) with the
    clustered comparison's columns (COMPARED_COLUMNS) and a ``seed_list`` of the seeds that ran; ``verdict`` is the
    comparison's. ``numerical_rates_pct``: per (dataset, model), the cell's rates under several arithmetic orders,
    where measured."""
    rule = load_comparison_rule(PAPER_DIR / "tolerances.yaml", paper_targets=paper.targets)
    plan = Plan(config, results_dir)
    cells, index, seed_lists = [], [], {}
    for i, r in table.iterrows():
        if pd.isna(r.ours_pct):
            continue
        seeds = seeds_run(config, results_dir, r.dataset, r.numerics, r.model)
        seed_lists[i] = " ".join(str(s) for s in seeds)
        paths = [(s, Path(plan.attack_file(r.dataset, r.numerics, r.model, s, ext="csv"))) for s in seeds]
        acc = r.get("test_accuracy_mean_pct", r.test_accuracy_pct)
        cells.append(
            CellInput(
                dataset=f"{r.dataset}/{r.numerics}",  # the fallback correlation: per dataset and numerics
                model=r.model,
                temperature=None if pd.isna(r.temperature) else float(r.temperature),
                targets=read_targets(paths),
                paper_pct=None if r.paper_pct is None or pd.isna(r.paper_pct) else float(r.paper_pct),
                accuracy_pct=float(acc),
                paper_accuracy_pct=None if pd.isna(r.paper_accuracy_pct) else float(r.paper_accuracy_pct),
                n_classes=N_CLASSES,
                n_test=int(r.get("test_samples") or 0) or None,
                numerical_rates_pct=tuple((numerical_rates_pct or {}).get((r.dataset, r.model), ())),
            )
        )
        index.append(i)
    out = table.copy()
    compared = compare_cells(cells, rule) if cells else pd.DataFrame(columns=list(COMPARED_COLUMNS))
    compared.index = index
    for c in COMPARED_COLUMNS:
        out[c] = compared[c]
    out["verdict"] = out.verdict.fillna(NOT_MEASURED)
    out["seed_list"] = pd.Series(seed_lists, dtype=object)
    return out
