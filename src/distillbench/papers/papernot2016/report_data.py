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
from . import models as papernot_models
from .plan import Plan
from .reference import PaperReference
from .report_cells import HEADLINE_NUMERICS, clustered_table, measured, numerical_rates


def ordered_datasets(config: Mapping[str, Any]) -> list[str]:
    """The config's datasets in the paper's order (MNIST, then CIFAR10)."""
    return [d for d in DATASETS if d in config["datasets"]]


def main_numerics(config: Mapping[str, Any], dataset: str) -> str:
    """The Fig. 7 table's numerics: the float32 attack, whatever the run's attack block made its main numerics (a
    run that never attacked under it reports its cells as not measured)."""
    return HEADLINE_NUMERICS


def run_numerics(config: Mapping[str, Any], dataset: str) -> list[str]:
    """Every numerics the run attacked this dataset's models with: ``attack.numerics`` (under every seed), then
    ``attack.compare_numerics`` (first seed)."""
    at = config["datasets"][dataset]["attack"]
    return list(dict.fromkeys([str(at.get("numerics", HEADLINE_NUMERICS)), *map(str, at.get("compare_numerics", []))]))


def compared_numerics(config: Mapping[str, Any], dataset: str) -> list[str]:
    """The numerics run beside the table's (the exact-arithmetic diagnostic among them)."""
    return [n for n in run_numerics(config, dataset) if n != main_numerics(config, dataset)]


def collect(
    config: Mapping[str, Any], results_dir: Path, paper: PaperReference, numerics: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per deployed model: measured success rate and accuracy beside the paper's.

    ``numerics`` maps a dataset to the attack numerics to read (default: the config's ``attack.numerics``).
    """
    rows = []
    for dataset in ordered_datasets(config):
        num = (numerics or {}).get(dataset) or main_numerics(config, dataset)
        deployed = papernot_models.deployed(config, dataset)
        if not measured(config, results_dir, dataset, num, [m.name for m in deployed]):
            rows += [_unmeasured_row(config, results_dir, dataset, m, num, paper) for m in deployed]
            continue
        for m in deployed:
            s = read_json(Path(Plan(config, results_dir).attack_file(dataset, num, m.name)))
            rows.append(_cell_row(dataset, m.name, m.temperature, num, s, paper))
    return pd.DataFrame(rows)


def _unmeasured_row(
    config: Mapping[str, Any], results_dir: Path, dataset: str, m: Any, num: str, paper: PaperReference
) -> dict[str, Any]:
    """A cell this run never attacked under ``num``: the paper's values and the model's accuracy (from its
    training metrics, where recorded), no success rate."""
    baseline = papernot_models.is_baseline(m.name)
    temperature = None if baseline else m.temperature
    kind = "baseline" if baseline else "distilled"
    ref_acc, ref_src = paper.reference_accuracy(dataset, kind, temperature)
    metrics = Path(Plan(config, results_dir).metrics_file(dataset, m.stem))
    acc = 100 * float(read_json(metrics)["test_accuracy"]) if metrics.exists() else float("nan")
    nan = float("nan")
    return {
        "dataset": dataset,
        "model": m.name,
        "temperature": temperature,
        "paper_pct": paper.success_rate(dataset, kind, temperature),
        "ours_pct": nan,
        "ci95_low_pct": nan,
        "ci95_high_pct": nan,
        "delta_pp": None,
        "targets": 0,
        "samples": 0,
        "successes": 0,
        "test_accuracy_pct": acc,
        "paper_accuracy_pct": ref_acc,
        "paper_accuracy_source": ref_src,
        "mean_features_changed_success": None,
        "stopped_no_pair": 0,
        "originally_misclassified_samples": 0,
        "zero_change_successes": 0,
        "variant": None,
        "numerics": num,
        "max_features": 0,
        "n_features": 0,
        "verdict": None,
    }


def _cell_row(
    dataset: str,
    model: str,
    trained_temperature: float,
    num: str,
    s: Mapping[str, Any],
    paper: PaperReference,
) -> dict[str, Any]:
    """One Fig. 7 cell from its attack summary ``s``, beside the paper's values; its ``verdict`` is left to the
    clustered comparison (:func:`.report_cells.clustered_table`)."""
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
        "verdict": None,  # the clustered comparison's (report_cells.clustered_table)
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
                if pd.isna(r.ours_pct) or pd.isna(a.ours_pct):  # one side not measured
                    continue
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


def seed_rows(config: Mapping[str, Any], results_dir: Path, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every dataset's per-seed rows (seeds.seed_cells) under its main numerics (only the datasets whose cells
    ``table`` measured, when given)."""
    plan = Plan(config, results_dir)
    done = None if table is None else set(table[table.ours_pct.notna()].dataset)
    parts = [
        seed_cells(config, partial(_attack_file, plan, d, main_numerics(config, d)), d, main_numerics(config, d))
        for d in ordered_datasets(config)
        if done is None or d in done
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def with_seeds(config: Mapping[str, Any], results_dir: Path, table: pd.DataFrame) -> pd.DataFrame:
    """The Fig. 7 table with the seed columns (seeds.add_seed_columns) on its measured rows; its ``verdict`` is
    then the clustered comparison's (:func:`.report_cells.clustered_table`)."""
    done = table.ours_pct.notna()
    if not done.any():
        return table
    seeded = add_seed_columns(table[done], seed_rows(config, results_dir, table))
    return pd.concat([seeded, table[~done]]).loc[table.index]


def with_test_samples(table: pd.DataFrame, models: Mapping[tuple[str, str], Mapping[str, Any]]) -> pd.DataFrame:
    """``table`` with each model's number of test images (its training metrics' ``test_samples``; 0 unknown)."""
    n = [int(models.get((r.dataset, r.model), {}).get("test_samples") or 0) for _, r in table.iterrows()]
    return table.assign(test_samples=n)


@dataclass
class ReportData:
    """Everything the report's sections read, loaded once."""

    paper: PaperReference
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
    models = load_models(config, results_dir)
    table = with_test_samples(collect(config, results_dir, paper), models)
    table = clustered_table(
        config, results_dir, with_seeds(config, results_dir, table), paper, numerical_rates(config, results_dir)
    )
    others = {
        n: clustered_table(config, results_dir, with_test_samples(t, models), paper)
        for n, t in collect_compared(config, results_dir, paper).items()
    }
    return ReportData(
        paper=paper,
        table=table,
        others=others,
        comp=numerics_comparison(config, results_dir, table, others),
        grads=gradient_table(config, results_dir),
        models=models,
        manifests={d: read_json(results_dir / "data" / f"{d}.json") for d in ordered_datasets(config)},
        walls=wall_times(results_dir),
        labels=papernot_models.labels(config["temperatures"]),
    )


def _attack_file(plan: Plan, dataset: str, numerics: str, model: str, seed: int) -> str:
    return str(plan.attack_file(dataset, numerics, model, seed))
