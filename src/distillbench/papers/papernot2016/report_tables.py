"""Papernot 2016's report, tables: the markdown tables of Fig. 7, the numerics comparison, the input gradients,
the deployed models' accuracy and the attack detail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ...report import (
    DATASET_TITLES,
    fmt,
    md_table,
    plural,
)


def _iv(lo: Any, hi: Any) -> str:
    return "–" if lo is None or pd.isna(lo) else f"[{lo:.2f}, {hi:.2f}]"


def _num(v: Any, spec: str = ".2f") -> str:
    return "–" if v is None or pd.isna(v) else format(v, spec)


def _numerical(r: Any) -> str:
    if pd.isna(r.pooled_pct):
        return "–"
    n = int(r.numerical_orders) if not pd.isna(r.numerical_orders) else 0
    return f"{r.numerical_sd_pp:.2f} pp sd ({n} orders)" if n >= 2 else "not measured"


def _accuracy(r: Any) -> str:
    """The seeds' mean test accuracy (the first seed's where no seed rows) and its shortfall against the paper."""
    acc = r.get("test_accuracy_mean_pct")
    acc = r.test_accuracy_pct if acc is None or pd.isna(acc) else acc
    ref = r.paper_accuracy_pct
    short = None if ref is None or pd.isna(ref) or pd.isna(acc) else ref - acc
    return f"{_num(acc)} ({_num(short, '+.2f')})"


def fig7_markdown(table: pd.DataFrame, labels: Mapping[str, str], numerical: bool = True) -> str:
    """Fig. 7 compared with the paper (report_cells.clustered_table's columns); a cell not measured shows –.
    ``numerical``: with the float32 attack's numerical spread column."""
    view = pd.DataFrame(
        {
            "dataset": table.dataset.map(lambda d: DATASET_TITLES.get(d, d)),
            "model": table.model.map(labels),
            "paper %": table.paper_pct.map(fmt),
            "ours %": table.pooled_pct.map(_num),
            "clustered 95% CI": [
                _iv(a, b) for a, b in zip(table.clustered_low_pct, table.clustered_high_pct, strict=True)
            ],
            "ours − paper pp [95% CI]": [
                "–" if pd.isna(d) else f"{d:+.2f} {_iv(a, b)}"
                for d, a, b in zip(table.diff_pp, table.diff_low_pp, table.diff_high_pp, strict=True)
            ],
            "detectable ↑/↓ pp": [
                "–" if pd.isna(p) else f"{_num(a, '.1f')}/{_num(b, '.1f')}"
                for p, a, b in zip(table.pooled_pct, table.mdd_higher_pp, table.mdd_lower_pp, strict=True)
            ],
            "seeds": ["–" if pd.isna(p) else str(s) for p, s in zip(table.pooled_pct, table.seed_list, strict=True)],
            "numerical spread": [_numerical(r) for _, r in table.iterrows()],
            "test acc % (short pp)": [_accuracy(r) for _, r in table.iterrows()],
            "correctly classified only %": [
                "–" if pd.isna(v) else f"{v:.2f} {_iv(a, b)}"
                for v, a, b in zip(table.correct_pct, table.correct_low_pct, table.correct_high_pct, strict=True)
            ],
            "verdict": table.verdict,
        }
    )
    if not numerical:
        view = view.drop(columns="numerical spread")
    return md_table(view)


def accuracy_markdown(
    table: pd.DataFrame, models: Mapping[tuple[str, str], Mapping[str, Any]], labels: Mapping[str, str]
) -> str:
    """Each deployed model's test accuracy beside the paper's, its shortfall (shown, not a gate: every cell is
    judged) and whether it is near chance (the one case whose cell is not judged, ``untrained``)."""
    rows = []
    for _, r in table.iterrows():
        m = models.get((r.dataset, r.model), {})
        short = None if r.paper_accuracy_pct is None else r.paper_accuracy_pct - r.test_accuracy_pct
        rows.append(
            {
                "dataset": DATASET_TITLES.get(r.dataset, r.dataset),
                "model": labels[r.model],
                "paper %": fmt(r.paper_accuracy_pct)
                + ("" if r.paper_accuracy_source == "reported" else " (baseline's)"),
                "ours %": fmt(r.test_accuracy_pct),
                "shortfall pp": fmt(short),
                "near chance": "–" if pd.isna(r.get("untrained")) else ("yes" if r.get("untrained") else "no"),
                "epochs": str(m.get("epochs", "–")),
                "train samples": str(m.get("train_samples", "–")),
                "test samples": str(m.get("test_samples", "–")),
            }
        )
    return md_table(pd.DataFrame(rows))


def numerics_markdown(comp: pd.DataFrame, labels: Mapping[str, str]) -> str:
    return md_table(
        pd.DataFrame(
            {
                "dataset": comp.dataset.map(lambda d: DATASET_TITLES.get(d, d)),
                "model": comp.model.map(labels),
                "paper %": comp.paper_pct.map(fmt),
                "ours, " + comp.main.iloc[0] + " %": comp.main_pct.map(fmt),
                "ours, " + comp.other.iloc[0] + " %": comp.other_pct.map(fmt),
                "shift pp": comp.shift_pp.map(lambda v: f"{v:+.2f}"),
                "same decision %": comp.same_decision_pct.map(lambda v: fmt(v, 1)),
                "same L0 and iterations %": comp.same_l0_and_iterations_pct.map(lambda v: fmt(v, 1)),
                "no pair (" + comp.main.iloc[0] + " / " + comp.other.iloc[0] + ")": [
                    f"{a} / {b}" for a, b in zip(comp.main_no_pair, comp.other_no_pair, strict=True)
                ],
                "verdict, " + comp.other.iloc[0]: comp.other_verdict,
            }
        )
    )


def gradient_markdown(g: pd.DataFrame, labels: Mapping[str, str]) -> str:
    def sci(v: float) -> str:
        return "–" if pd.isna(v) else ("0" if v == 0 else f"{v:.2e}")

    return md_table(
        pd.DataFrame(
            {
                "dataset": g.dataset.map(lambda d: DATASET_TITLES.get(d, d)),
                "model": g.model.map(labels),
                "median abs grad, float32": g.median_abs_grad_float32.map(sci),
                "zero gradients, float32 %": (100 * g.zero_gradient_share_float32).map(lambda v: fmt(v, 1)),
                "median abs grad, float64": g.median_abs_grad_float64.map(sci),
                "zero gradients, float64 %": (100 * g.zero_gradient_share_float64).map(lambda v: fmt(v, 1)),
                "mean abs grad, float64": g.mean_abs_grad_float64.map(sci),
                "mean, ratio to baseline, float64": g.ratio_to_baseline_float64.map(sci),
                "median logit gap": g.median_logit_gap.map(lambda v: fmt(v, 1)),
                "mean logit L1": g.mean_logit_l1.map(lambda v: fmt(v, 1)),
            }
        )
    )


def misclassified_text(table: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """'MNIST T=1: 1/100 (1 zero-change success), ...; none for the other models.' with the right tail."""
    hit = table[table.originally_misclassified_samples > 0]
    if not len(hit):
        return "none."
    parts = [
        f"{DATASET_TITLES.get(r.dataset, r.dataset)} {labels[r.model]}: "
        f"{r.originally_misclassified_samples}/{r.samples} "
        f"({plural(int(r.zero_change_successes), 'zero-change success')})"
        for _, r in hit.iterrows()
    ]
    tail = "; none for the other models." if len(hit) < len(table) else "."
    return ", ".join(parts) + tail


def attack_detail_markdown(table: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """Mean elements changed by successful targets and the targets stopped for want of a pair, per model."""
    mean_features = table[["dataset", "model", "mean_features_changed_success", "stopped_no_pair", "n_features"]]
    return md_table(
        pd.DataFrame(
            {
                "dataset": mean_features.dataset.map(lambda d: DATASET_TITLES.get(d, d)),
                "model": mean_features.model.map(labels),
                "mean changed (successes)": mean_features.mean_features_changed_success.map(lambda v: fmt(v, 1)),
                "of": mean_features.n_features.astype(str),
                "stopped: no pair": mean_features.stopped_no_pair.astype(str),
            }
        )
    )
