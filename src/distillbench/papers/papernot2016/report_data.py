"""Papernot 2016's report, loading and statistics: the run's summaries read into the Fig. 7 table (verdicts per
cell, over every seed), the numerics comparison, the input gradients and the training jobs' metrics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from ...data import DATASETS
from ...report import (
    read_json,
    wall_times,
)
from ...seeds import add_seed_columns, seed_cells
from ...stats import verdict
from ...verdicts import SeedCell, VerdictRule, cell_verdict, load_rule
from . import models as papernot_models
from .plan import Plan
from .reference import PaperReference


def ordered_datasets(config: Mapping[str, Any]) -> list[str]:
    """The config's datasets in the paper's order (MNIST, then CIFAR10)."""
    return [d for d in DATASETS if d in config["datasets"]]


def main_numerics(config: Mapping[str, Any], dataset: str) -> str:
    return str(config["datasets"][dataset]["attack"].get("numerics", "exact"))


def compared_numerics(config: Mapping[str, Any], dataset: str) -> list[str]:
    at = config["datasets"][dataset]["attack"]
    return [n for n in at.get("compare_numerics", []) if n != main_numerics(config, dataset)]


def collect(
    config: Mapping[str, Any], results_dir: Path, paper: PaperReference, numerics: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per deployed model: measured success rate and accuracy beside the paper's.

    ``numerics`` maps a dataset to the attack numerics to read (default: the config's ``attack.numerics``).
    """
    rows = []
    rule = load_rule()
    for dataset in ordered_datasets(config):
        num = (numerics or {}).get(dataset) or main_numerics(config, dataset)
        for m in papernot_models.deployed(config, dataset):
            s = read_json(Path(Plan(config, results_dir).attack_file(dataset, num, m.name)))
            rows.append(_cell_row(dataset, m.name, m.temperature, num, s, paper, rule))
    return pd.DataFrame(rows)


def _cell_row(
    dataset: str,
    model: str,
    trained_temperature: float,
    num: str,
    s: Mapping[str, Any],
    paper: PaperReference,
    rule: VerdictRule,
) -> dict[str, Any]:
    """One Fig. 7 cell from its attack summary ``s``, beside the paper's values, with its verdicts."""
    baseline = papernot_models.is_baseline(model)
    temperature = None if baseline else trained_temperature
    kind = "baseline" if baseline else "distilled"
    paper_sr = paper.success_rate(dataset, kind, temperature)
    ref_acc, ref_src = paper.reference_accuracy(dataset, kind, temperature)
    acc_pct = 100 * float(s["test_accuracy"])
    ours = float(s["success_rate_pct"])
    ci = (float(s["ci95_low_pct"]), float(s["ci95_high_pct"]))
    return {
        "dataset": dataset,
        "model": model,
        "temperature": temperature,
        "paper_pct": paper_sr,
        "ours_pct": ours,
        "ci95_low_pct": ci[0],
        "ci95_high_pct": ci[1],
        "delta_pp": None if paper_sr is None else ours - paper_sr,
        "targets": int(s["targets"]),
        "samples": int(s["samples"]),
        "successes": int(s["successes"]),
        "test_accuracy_pct": acc_pct,
        "paper_accuracy_pct": ref_acc,
        "paper_accuracy_source": ref_src,
        "mean_features_changed_success": s.get("mean_features_changed_success"),
        "stopped_no_pair": int(s.get("stopped_no_pair", 0)),
        "originally_misclassified_samples": int(s.get("originally_misclassified_samples", 0)),
        "zero_change_successes": int(s.get("zero_change_successes", 0)),
        "variant": s.get("variant"),
        "numerics": num,
        "max_features": int(s.get("max_features", 0)),
        "n_features": int(s.get("n_features", 0)),
        # This seed alone, by the rule of verdicts.py (the report redoes it over all seeds).
        "verdict": cell_verdict(
            paper_sr,
            SeedCell([int(s["successes"])], [int(s["targets"])]),
            rule,
            tolerance_pp=rule.tolerance_pp(dataset, model),
            accuracy_pct=acc_pct,
            reference_accuracy_pct=ref_acc,
        ),
        # The former rule (|ours - paper| <= 10 pp, or the paper's value in the interval), for comparison.
        "verdict_10pp": verdict(
            paper_sr, ours, ci, paper.success_tolerance_pp, acc_pct, ref_acc, paper.accuracy_shortfall_pp
        ),
    }


def collect_compared(config: Mapping[str, Any], results_dir: Path, paper: PaperReference) -> dict[str, pd.DataFrame]:
    """The Fig. 7 rows under each compared numerics (``attack.compare_numerics``): numerics -> table."""
    others: dict[str, pd.DataFrame] = {}
    for d in ordered_datasets(config):
        for n in compared_numerics(config, d):
            one = collect({**config, "datasets": {d: config["datasets"][d]}}, results_dir, paper, numerics={d: n})
            others[n] = pd.concat([others[n], one], ignore_index=True) if n in others else one
    return others


def numerics_comparison(
    config: Mapping[str, Any], results_dir: Path, table: pd.DataFrame, others: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Per cell and compared numerics (``others``, from :func:`collect_compared`): success rate under each,
    the shift, and per-target agreement."""
    rows = []
    for dataset in ordered_datasets(config):
        main = main_numerics(config, dataset)
        for other in compared_numerics(config, dataset):
            alt = others[other][others[other].dataset == dataset]
            for _, r in table[table.dataset == dataset].iterrows():
                a = alt[alt.model == r.model].iloc[0]
                ours = pd.read_csv(Plan(config, results_dir).attack_file(dataset, main, r.model, ext="csv"))
                theirs = pd.read_csv(Plan(config, results_dir).attack_file(dataset, other, r.model, ext="csv"))
                key = ["sample_index", "target"]
                m = ours.merge(theirs, on=key, suffixes=("", "_o"))
                same_decision = (m.success == m.success_o).mean() * 100 if len(m) else float("nan")
                same_path = (
                    (
                        (m.success == m.success_o)
                        & (m.features_changed == m.features_changed_o)
                        & (m.iterations == m.iterations_o)
                    ).mean()
                    * 100
                    if len(m)
                    else float("nan")
                )
                rows.append(
                    {
                        "dataset": dataset,
                        "model": r.model,
                        "main": main,
                        "other": other,
                        "paper_pct": r.paper_pct,
                        "main_pct": r.ours_pct,
                        "other_pct": float(a.ours_pct),
                        "shift_pp": float(a.ours_pct) - r.ours_pct,
                        "same_decision_pct": same_decision,
                        "same_l0_and_iterations_pct": same_path,
                        "targets_compared": len(m),
                        "main_no_pair": int(r.stopped_no_pair),
                        "other_no_pair": int(a.stopped_no_pair),
                        "other_verdict": a.verdict,
                    }
                )
    return pd.DataFrame(rows)


def gradient_table(config: Mapping[str, Any], results_dir: Path) -> pd.DataFrame:
    """One row per deployed model from results/<run>/gradients/ (empty when the run has none)."""
    rows = []
    for d in ordered_datasets(config):
        base: dict[str, float] = {}
        for model in (m.name for m in papernot_models.deployed(config, d)):
            path = Path(Plan(config, results_dir).gradient_file(d, model))
            if not path.exists():
                return pd.DataFrame()
            g = read_json(path)
            row: dict[str, Any] = {
                "dataset": d,
                "model": model,
                "median_logit_gap": g["median_logit_gap"],
                "mean_logit_l1": g["mean_logit_l1"],
                "targets": g["targets"],
            }
            for num in ("float32", "float64"):
                row[f"median_abs_grad_{num}"] = float(g[num].get("median_abs_grad", float("nan")))
                mean = float(g[num]["mean_abs_grad"])
                if papernot_models.is_baseline(model):
                    base[num] = mean
                row[f"mean_abs_grad_{num}"] = mean
                row[f"ratio_to_baseline_{num}"] = mean / base[num] if base.get(num) else float("nan")
                row[f"zero_gradient_share_{num}"] = float(g[num]["zero_gradient_share"])
            rows.append(row)
    return pd.DataFrame(rows)


def load_models(config: Mapping[str, Any], results_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every training job's metrics by (dataset, model name), deployed names included (the baseline: its T=1
    teacher's)."""
    out = {}
    for dataset in config["datasets"]:
        for path in sorted(Path(Plan(config, results_dir).metrics_dir(dataset)).glob("*.json")):
            out[(dataset, path.stem)] = read_json(path)
        for m in papernot_models.deployed(config, dataset):
            if (dataset, m.stem) in out:
                out[(dataset, m.name)] = out[(dataset, m.stem)]
    return out


def seed_rows(config: Mapping[str, Any], results_dir: Path) -> pd.DataFrame:
    """Every dataset's per-seed rows (seeds.seed_cells) under its main numerics."""
    plan = Plan(config, results_dir)
    parts = [
        seed_cells(config, partial(_attack_file, plan, d, main_numerics(config, d)), d, main_numerics(config, d))
        for d in ordered_datasets(config)
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def with_seeds(config: Mapping[str, Any], results_dir: Path, table: pd.DataFrame, rule: VerdictRule) -> pd.DataFrame:
    """The Fig. 7 table with the seed columns and the verdicts over all seeds (seeds.add_seed_columns)."""
    return add_seed_columns(table, seed_rows(config, results_dir), rule)


@dataclass
class ReportData:
    """Everything the report's sections read, loaded once."""

    paper: PaperReference
    rule: VerdictRule
    table: pd.DataFrame  # Fig. 7: one row per deployed model, verdicts over every seed
    others: dict[str, pd.DataFrame]  # the same rows under each compared numerics
    comp: pd.DataFrame  # per cell and compared numerics: the shift and the agreement
    grads: pd.DataFrame  # input gradients per deployed model (empty without them)
    models: dict[tuple[str, str], dict[str, Any]]
    manifests: dict[str, dict[str, Any]]
    walls: pd.DataFrame
    labels: dict[str, str]


def load(config: Mapping[str, Any], results_dir: Path, paper: PaperReference) -> ReportData:
    """Read the run's summaries and compute the tables every section uses."""
    rule = load_rule()
    table = with_seeds(config, results_dir, collect(config, results_dir, paper), rule)
    others = collect_compared(config, results_dir, paper)
    return ReportData(
        paper=paper,
        rule=rule,
        table=table,
        others=others,
        comp=numerics_comparison(config, results_dir, table, others),
        grads=gradient_table(config, results_dir),
        models=load_models(config, results_dir),
        manifests={d: read_json(results_dir / "data" / f"{d}.json") for d in ordered_datasets(config)},
        walls=wall_times(results_dir),
        labels=papernot_models.labels(config["temperatures"]),
    )


def _attack_file(plan: Plan, dataset: str, numerics: str, model: str, seed: int) -> str:
    return str(plan.attack_file(dataset, numerics, model, seed))
