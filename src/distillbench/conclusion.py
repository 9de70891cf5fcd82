"""REPORT.md's conclusion, generated from the numbers: does defensive distillation hold, against which attacks,
at what cost in accuracy.

Rule (stated in the report): against an attack, distillation *holds* on a dataset when the highest-temperature
distilled model (not near chance) has a success rate whose 95% upper bound lies below ``holds_below_pct``
and below the baseline's lower bound; it *weakens* the attack when only the second is true; otherwise it
*does not hold*. The accuracy cost is the seeds' mean test accuracy of the baseline minus the distilled
models'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .stats import NOT_MEASURED, UNTRAINED, wilson_interval

HOLDS = "holds"
WEAKENS = "weakens the attack but does not stop it"
FAILS = "does not hold"
UNKNOWN = "cannot be judged (model near chance)"
UNJUDGED = (UNTRAINED,)  # verdicts that leave a model out of the conclusion

ADAPTIVE_COLUMNS = (
    "dataset",
    "model",
    "attack",
    "trained_temperature",
    "targets",
    "successes",
    "success_rate_pct",
    "ci95_low_pct",
    "ci95_high_pct",
    "test_accuracy",
)


@dataclass(frozen=True)
class Rate:
    pct: float
    low: float
    high: float
    targets: int

    def text(self) -> str:
        return f"{self.pct:.1f}% (95% CI {self.low:.1f}–{self.high:.1f}%, {self.targets} targets)"


def outcome(distilled: Rate, baseline: Rate | None, holds_below_pct: float) -> str:
    separated = baseline is None or distilled.high < baseline.low
    if separated and distilled.high < holds_below_pct:
        return HOLDS
    if separated and baseline is not None:
        return WEAKENS
    return FAILS


def _fig7_rate(r: Any) -> Rate:
    """A Fig. 7 row's rate over its seeds: the image-clustered interval (cell_comparison columns) where present,
    else the pooled Wilson columns, else the first seed's."""
    if "clustered_low_pct" in r and not pd.isna(r.get("clustered_low_pct")):
        return Rate(
            float(r["pooled_pct"]),
            float(r["clustered_low_pct"]),
            float(r["clustered_high_pct"]),
            int(r["pooled_targets"]),
        )
    if "mean_pct" in r and not pd.isna(r.get("mean_pct")):
        return Rate(
            float(r["mean_pct"]),
            float(r["pooled_ci95_low_pct"]),
            float(r["pooled_ci95_high_pct"]),
            int(r["pooled_targets"]),
        )
    return Rate(float(r["ours_pct"]), float(r["ci95_low_pct"]), float(r["ci95_high_pct"]), int(r["targets"]))


def _accuracy(r: Any) -> float:
    v = r.get("test_accuracy_mean_pct")
    return float(r["test_accuracy_pct"] if v is None or pd.isna(v) else v)


def _adaptive_rate(rows: pd.DataFrame) -> Rate:
    """One model's rate under one attack: its own interval (image-clustered, as the adaptive table computes it)
    for one row; several rows pooled with a Wilson interval on their targets."""
    if len(rows) == 1 and "ci95_low_pct" in rows and not pd.isna(rows.ci95_low_pct.iloc[0]):
        r = rows.iloc[0]
        return Rate(float(r.success_rate_pct), float(r.ci95_low_pct), float(r.ci95_high_pct), int(r.targets))
    k, n = int(rows.successes.sum()), int(rows.targets.sum())
    lo, hi = wilson_interval(k, n)
    return Rate(100 * k / n if n else float("nan"), 100 * lo, 100 * hi, n)


def _diagnostic_lines(
    dataset: str, tmax: str, diagnostics: Mapping[str, pd.DataFrame], holds_below_pct: float
) -> list[str]:
    """Per other numerics of the same cells: the same judgement, as a diagnostic (not in "In short")."""
    out = []
    for numerics, other in diagnostics.items():
        o = other[(other.dataset == dataset)]
        if "pooled_pct" in o:
            o = o[o.pooled_pct.notna()]
        base_rows, dist = o[o.model == "baseline"], o[o.model != "baseline"].sort_values("temperature")
        if not len(base_rows) or not len(dist) or f"{float(dist.iloc[-1].temperature):g}" != tmax:
            continue
        b, top = _fig7_rate(base_rows.iloc[0]), _fig7_rate(dist.iloc[-1])
        res = outcome(top, b, holds_below_pct)
        out.append(
            f"  - the same JSMA-F under `{numerics}` numerics (a diagnostic of how much of the defense is the "
            f"softmax's saturation): {b.text()} without distillation, {top.text()} at T={tmax}; by the "
            f"same rule: **{res}**."
        )
    return out


def conclusion_lines(
    table: pd.DataFrame,
    adaptive: pd.DataFrame | None = None,
    *,
    titles: Mapping[str, str] | None = None,
    holds_below_pct: float = 10.0,
    length_sentence: str | None = None,
    diagnostics: Mapping[str, pd.DataFrame] | None = None,
) -> list[str]:
    """The "Conclusion" section. ``table``: the Fig. 7 table (seed columns where present); ``diagnostics``: the
    same cells under other attack numerics (numerics -> table, e.g. the exact-arithmetic attack); ``adaptive``: rows of
    results/<run>/adaptive/<dataset>/<attack>/<model>.json (keys as ADAPTIVE_COLUMNS), or None."""
    titles = titles or {}
    judged = _Judged()
    out = _rule_lines(holds_below_pct)
    for d in list(dict.fromkeys(table.dataset)):
        rows = adaptive[adaptive.dataset == d] if adaptive is not None and len(adaptive) else None
        out += _dataset_lines(
            d, table[table.dataset == d], titles.get(d, d), rows, diagnostics or {}, holds_below_pct, judged
        )
    out += ["", judged.in_short()]
    if length_sentence:
        out += ["", f"Baseline cell and training length: {length_sentence}"]
    out.append("")
    return out


@dataclass
class _Judged:
    """What "In short" sums up: each attack on each dataset (e.g. "JSMA-F on MNIST"), by its outcome."""

    held: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unjudged: list[str] = field(default_factory=list)
    unmeasured: list[str] = field(default_factory=list)

    def add(self, result: str, what: str) -> None:
        (self.held if result == HOLDS else self.failed if result in (FAILS, WEAKENS) else self.unjudged).append(what)

    def in_short(self) -> str:
        """The "In short" sentence: the attacks distillation holds against, fails against, cannot be judged for
        and was not measured for."""
        parts = []
        if self.held:
            parts.append(f"holds against {', '.join(self.held)}")
        if self.failed:
            parts.append(f"does not hold (or only weakens the attack) against {', '.join(self.failed)}")
        if self.unjudged:
            parts.append(f"cannot be judged for {', '.join(self.unjudged)} (models near chance)")
        if self.unmeasured:
            parts.append(f"was not measured for {', '.join(self.unmeasured)}")
        return "**In short**: defensive distillation " + ("; ".join(parts) or "was not measured") + "."


def _rule_lines(holds_below_pct: float) -> list[str]:
    """The section's heading and the rule its outcomes follow."""
    return [
        "## Conclusion",
        "",
        f"Generated from the numbers above. Against an attack, distillation *{HOLDS}* on a dataset when the "
        f"highest-temperature distilled model's success rate has its 95% upper bound below {holds_below_pct:g}% "
        f"and below the undistilled baseline's lower bound; it *{WEAKENS}* when only the second is true; otherwise "
        f"it *{FAILS}*. Rates pool every seed's targets, with Fig. 7's image-clustered 95% intervals; accuracies "
        "are means over seeds.",
        "",
    ]


def _dataset_lines(
    dataset: str,
    t: pd.DataFrame,
    title: str,
    adaptive: pd.DataFrame | None,
    diagnostics: Mapping[str, pd.DataFrame],
    holds_below_pct: float,
    judged: _Judged,
) -> list[str]:
    """One dataset's paragraph (``t``: its Fig. 7 rows): the verdicts, JSMA-F without distillation and at the
    highest temperature, the accuracy distillation costs and the adaptive attacks; each outcome added to
    ``judged``. Nothing without a baseline or a distilled row."""
    base_rows = t[t.model == "baseline"]
    dist = t[t.model != "baseline"].sort_values("temperature")
    if not len(base_rows) or not len(dist):
        return []
    base, top = base_rows.iloc[0], dist.iloc[-1]
    tmax = f"{float(top.temperature):g}"
    counts = t.verdict.value_counts()
    verdicts = ", ".join(f"{v}: {n}" for v, n in counts.items())
    out = [f"- **{title}**, Fig. 7 ({len(t)} cells): {verdicts}."]
    if NOT_MEASURED in (base.verdict, top.verdict):
        judged.unmeasured.append(f"JSMA-F on {title}")
        return out + ["  - JSMA-F under the table's numerics: not measured in this run, so not judged here."]
    b_rate, d_rate = _fig7_rate(base), _fig7_rate(top)
    if top.verdict in UNJUDGED or base.verdict in UNJUDGED:
        res = UNKNOWN
    else:
        res = outcome(d_rate, b_rate, holds_below_pct)
    num = f" (`{top.numerics}` numerics)" if "numerics" in t else ""
    out.append(
        f"  - JSMA-F, the paper's attack{num}: success {b_rate.text()} without distillation, {d_rate.text()} at "
        f"T={tmax}: distillation **{res}**."
    )
    out += _diagnostic_lines(dataset, tmax, diagnostics, holds_below_pct)
    judged.add(res, f"JSMA-F on {title}")
    out.append(_cost_line(base, top, dist, tmax))
    return out + _adaptive_lines(adaptive, t, title, holds_below_pct, judged)


def _cost_line(base: Any, top: Any, dist: pd.DataFrame, tmax: str) -> str:
    """Test accuracy lost to distillation: at the highest temperature, and the largest loss over ``dist`` (the
    distilled rows)."""
    b_acc = _accuracy(base)
    drops = [(float(r.temperature), b_acc - _accuracy(r)) for _, r in dist.iterrows()]
    worst = max(drops, key=lambda x: x[1])
    return (
        f"  - cost in accuracy: baseline {b_acc:.2f}%, distilled at T={tmax} {_accuracy(top):.2f}% "
        f"({b_acc - _accuracy(top):+.2f} pp lost); the largest loss over the temperatures: {worst[1]:+.2f} pp "
        f"at T={worst[0]:g}."
    )


def _adaptive_lines(
    adaptive: pd.DataFrame | None, fig7: pd.DataFrame, title: str, holds_below_pct: float, judged: _Judged
) -> list[str]:
    """One line per adaptive attack on one dataset (``adaptive``: its rows, ``fig7``: its Fig. 7 rows), each
    outcome added to ``judged``; one line saying they were not run when there are none."""
    if adaptive is None or not len(adaptive):
        return [
            "  - adaptive attacks (JSMA on softmax(Z/T) or logits, L0 FMN, C&W): not in this run, so whether "
            "distillation survives an attacker who adapts to it is not measured here."
        ]
    out = []
    for attack, g in adaptive.groupby("attack", sort=True):
        if not len(g[g.model != "baseline"]):
            continue
        res, line = _adaptive_attack_line(str(attack), g, fig7, holds_below_pct)
        out.append(line)
        judged.add(res, f"`{attack}` on {title}")
    return out


def _adaptive_attack_line(attack: str, g: pd.DataFrame, fig7: pd.DataFrame, holds_below_pct: float) -> tuple[str, str]:
    """The outcome of one adaptive attack (``g``: its rows, at least one distilled) and its line: the
    highest-temperature distilled model against the baseline."""
    g_base = g[g.model == "baseline"]
    g_dist = g[g.model != "baseline"]
    t_top = float(g_dist.trained_temperature.max())
    top_rows = g_dist[g_dist.trained_temperature == t_top]
    r_top = _adaptive_rate(top_rows)
    r_base = _adaptive_rate(g_base) if len(g_base) else None
    # The same models as Fig. 7's rows: one near chance says nothing about the defense.
    models = set(top_rows.model) | ({"baseline"} if len(g_base) else set())
    untrained = bool(fig7[fig7.model.isin(models)].verdict.isin(UNJUDGED).any())
    res = UNKNOWN if untrained else outcome(r_top, r_base, holds_below_pct)
    base_txt = f" ({r_base.text()} without distillation)" if r_base else ""
    return res, f"  - adaptive `{attack}`: success {r_top.text()} at T={t_top:g}{base_txt}: distillation **{res}**."
