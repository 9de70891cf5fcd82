"""REPORT.md sections on adaptive attacks: robustness rho_adv, accuracy vs temperature.

Each section has a table (CSV beside REPORT.md) and a figure; they are written whatever the run holds (a
run without ``adaptive:`` / ``robustness:`` blocks gets empty tables, a figure saying so, and no section),
since the ``report`` rule declares them as outputs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ...attacks.registry import REGISTRY
from ...cell_comparison import (
    CellInput,
    ComparisonRule,
    compare_where_given,
    load_comparison_rule,
    read_targets,
)
from ...io import save_figure, write_csv
from ...report import DATASET_TITLES as TITLES
from ...report import fmt as _fmt
from ...report import md_table as _md
from ...settings import REPO_ROOT
from ...stats import NO_REFERENCE, NO_TARGET_TABLE, REPRODUCED, UNTRAINED
from ..base import ModelId
from . import models as papernot_models
from .plan import Plan
from .reference import PAPER_DIR, PaperReference
from .report_cells import HEADLINE_NUMERICS

CARLINI_DIR = REPO_ROOT / "benchmark" / "carlini2017"
DATASET_ORDER = ("mnist", "cifar10")


def load_references(directory: Path = CARLINI_DIR) -> dict[str, Any]:
    return yaml.safe_load((Path(directory) / "reference.yaml").read_text())


def _datasets(config: Mapping[str, Any]) -> list[str]:
    return [d for d in DATASET_ORDER if d in config["datasets"]]


def _models(config: Mapping[str, Any], dataset: str) -> list[ModelId]:
    return papernot_models.deployed(config, dataset)


def _temperature(model: ModelId) -> float | None:
    return None if papernot_models.is_baseline(model.name) else model.temperature


_label = papernot_models.label_for_temperature  # a table row's label from its temperature column


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def _reference(refs: Mapping[str, Any], attack: str, dataset: str, temperature: float | None) -> dict[str, Any] | None:
    for r in refs.get("references", []):
        if r["attack"] == attack and r["dataset"] == dataset and temperature is not None:
            if float(r["temperature"]) == float(temperature):
                return dict(r)
    return None


# --- adaptive attacks -----------------------------------------------------------------------------
def _ordered(ad: Mapping[str, Any]) -> list[str]:
    """The block's attacks in the registry's order (the report rule's config JSON has its keys sorted)."""
    order = list(REGISTRY)
    return sorted(ad["attacks"], key=lambda a: order.index(a) if a in order else len(order))


def adaptive_rule() -> ComparisonRule:
    """Fig. 7's comparison rule for the adaptive attacks: image-clustered intervals, but Carlini & Wagner state no
    design (targets, images) for their values, so their sampling error is left out (each value taken as exact)."""
    return replace(load_comparison_rule(PAPER_DIR / "tolerances.yaml"), paper_design_known=False)


def _adaptive_sources(plan: Plan, dataset: str, model: str, ad: Mapping[str, Any]) -> list[tuple[str, str, Path]]:
    """(attack, origin, summary path) per attack of ``model``: the Fig. 7 attack first (JSMA-F under the table's
    numerics), then the adaptive block's attacks; each per-target table lies beside its summary (``.csv``)."""
    sources = [("jsma_f", "Fig. 7 run", Path(plan.attack_file(dataset, HEADLINE_NUMERICS, model)))]
    return sources + [(a, "adaptive", Path(plan.adaptive_file(dataset, a, model))) for a in _ordered(ad)]


def _adaptive_row(d: str, m: ModelId, attack: str, origin: str, s: Mapping[str, Any], refs: Any) -> dict[str, Any]:
    t = _temperature(m)
    ref = _reference(refs, attack, d, t)
    return {
        "dataset": d,
        "model": m.name,
        "temperature": t,
        "attack": attack,
        "origin": origin,
        "targets": int(s["targets"]),
        "successes": int(s["successes"]),
        "success_rate_pct": float(s["success_rate_pct"]),
        "budget": s.get("budget", s.get("max_features")),
        "mean_l0_success": s.get("mean_l0_success", s.get("mean_features_changed_success")),
        "mean_l2_success": s.get("mean_l2_success"),
        "test_accuracy_pct": 100 * float(s["test_accuracy"]),
        "reference_pct": None if ref is None else float(ref["success_rate_pct"]),
        "reference": None if ref is None else f"{ref['their_attack']} ({ref['source']})",
        "seconds": s.get("seconds"),
    }


def adaptive_table(
    config: Mapping[str, Any], results_dir: Path, paper: PaperReference, refs: Mapping[str, Any]
) -> pd.DataFrame:
    """One row per dataset, deployed model and attack: the adaptive attacks, with the Fig. 7 attack (JSMA-F,
    the table's numerics) first for comparison; each rate with its image-clustered 95% interval
    (``ci95_low_pct``/``ci95_high_pct``) and, where Carlini & Wagner report a value, the difference and a verdict
    by :func:`adaptive_rule`."""
    rows, cells = [], []
    plan = Plan(config, results_dir)
    for d in _datasets(config):
        ad = config["datasets"][d].get("adaptive")
        if not ad:
            continue
        for m in _models(config, d):
            t = _temperature(m)
            ref_acc, _ = paper.reference_accuracy(d, "baseline" if t is None else "distilled", t)
            for attack, origin, path in _adaptive_sources(plan, d, m.name, ad):
                s = _read(path)
                if s is None:
                    continue  # this attack does not run on this model (its `models` setting)
                rows.append({**_adaptive_row(d, m, attack, origin, s, refs), "_summary": s})
                per_target = path.with_suffix(".csv")
                cells.append(
                    None
                    if not per_target.exists()  # a run from before per-target tables were kept
                    else CellInput(
                        # A cell that cannot show its correlation (few images, 0% or 100%) borrows the largest
                        # one of its dataset, the Fig. 7 attack's 100-image cell included.
                        dataset=d,
                        model=m.name,
                        temperature=t,
                        targets=read_targets([(plan.first_seed(), per_target)]),
                        paper_pct=rows[-1]["reference_pct"],
                        accuracy_pct=rows[-1]["test_accuracy_pct"],
                        paper_accuracy_pct=ref_acc,
                    )
                )
    return _with_comparison(rows, cells)


def _with_comparison(rows: list[dict[str, Any]], cells: list[CellInput | None]) -> pd.DataFrame:
    """The rows with their clustered interval, difference and verdict (:func:`adaptive_rule`); a row without a
    per-target table keeps its summary's Wilson interval and is not judged."""
    if not rows:
        return pd.DataFrame()
    for row, c in zip(rows, compare_where_given(cells, adaptive_rule()), strict=True):
        s = row.pop("_summary")
        row["ci95_low_pct"] = float(s["ci95_low_pct"]) if c is None else c["clustered_low_pct"]
        row["ci95_high_pct"] = float(s["ci95_high_pct"]) if c is None else c["clustered_high_pct"]
        row["design_effect"] = float("nan") if c is None else c["design_effect"]
        for k in ("diff_pp", "diff_low_pp", "diff_high_pp"):
            row[k] = float("nan") if c is None else c[k]
        row["verdict"] = NO_TARGET_TABLE if c is None else c["verdict"]
    return pd.DataFrame(rows)


def adaptive_pivot_markdown(table: pd.DataFrame) -> str:
    """Temperature x attack: success % [95% CI] per cell (– where the attack did not run on that model)."""
    order = list(REGISTRY)
    attacks = sorted(dict.fromkeys(table.attack), key=lambda a: order.index(a) if a in order else len(order))
    out = []
    for (d, _model), g in table.groupby(["dataset", "model"], sort=False):
        row = {"dataset": TITLES.get(str(d), str(d)), "model": _label(g.temperature.iloc[0])}
        for a in attacks:
            r = g[g.attack == a]
            row[a] = (
                "–"
                if not len(r)
                else f"{r.success_rate_pct.iloc[0]:.1f} [{r.ci95_low_pct.iloc[0]:.1f}–{r.ci95_high_pct.iloc[0]:.1f}]"
            )
        row["test acc %"] = _fmt(g.test_accuracy_pct.iloc[0])
        out.append(row)
    return _md(pd.DataFrame(out))


def adaptive_reference_markdown(table: pd.DataFrame) -> str:
    t = table[table.reference_pct.notna() | (table.attack == "cw_l2")]
    return _md(
        pd.DataFrame(
            {
                "dataset": t.dataset.map(lambda d: TITLES.get(d, d)),
                "model": t.temperature.map(_label),
                "attack": t.attack,
                "targets": t.targets.astype(str),
                "ours %": t.success_rate_pct.map(_fmt),
                "95% CI": [f"{_fmt(a)}–{_fmt(b)}" for a, b in zip(t.ci95_low_pct, t.ci95_high_pct, strict=True)],
                "mean L0 (successes)": t.mean_l0_success.map(lambda v: _fmt(v, 1)),
                "mean L2 (successes)": t.mean_l2_success.map(lambda v: "–" if v is None or pd.isna(v) else f"{v:.4g}"),
                "reported %": t.reference_pct.map(_fmt),
                "reported by": t.reference.map(lambda v: v if isinstance(v, str) else "–"),
                "ours − reported pp [95%]": [
                    "–" if pd.isna(v) else f"{v:+.2f} [{lo:+.2f}, {hi:+.2f}]"
                    for v, lo, hi in zip(t.diff_pp, t.diff_low_pp, t.diff_high_pp, strict=True)
                ],
                "test acc %": t.test_accuracy_pct.map(_fmt),
                "verdict": t.verdict,
            }
        )
    )


def _empty_figure(path: Path, text: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=10)
    save_figure(path, fig, dpi=80)
    plt.close(fig)


def _axes(n: int) -> tuple[Any, list[Any]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, n, figsize=(6.2 * n, 4.6), squeeze=False)
    return fig, list(axes[0])


def _log_temperature_axis(ax: Any, temps: list[float]) -> None:
    ax.set_xscale("log")
    if temps:
        ax.set_xticks(temps)
        ax.set_xticklabels([f"{t:g}" for t in temps])
        ax.minorticks_off()
    ax.set_xlabel("distillation temperature T (log scale)")


def plot_adaptive(table: pd.DataFrame, path: Path) -> None:
    """Success vs T, one line per attack (95% intervals), baselines as horizontal dashed lines, the
    reported values as stars."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if not len(table):
        _empty_figure(path, "no adaptive attacks in this run")
        return
    datasets = list(dict.fromkeys(table.dataset))
    fig, axes = _axes(len(datasets))
    attacks = list(dict.fromkeys(table.attack))
    colors = dict(zip(attacks, sns.color_palette(n_colors=max(3, len(attacks))), strict=False))
    for ax, d in zip(axes, datasets, strict=True):
        t = table[table.dataset == d]
        for a in attacks:
            ta = t[(t.attack == a) & t.temperature.notna()].sort_values("temperature")
            c = colors[a]
            title = REGISTRY[a].title if a in REGISTRY else a
            if len(ta):
                err = [
                    (ta.success_rate_pct - ta.ci95_low_pct).clip(lower=0),
                    (ta.ci95_high_pct - ta.success_rate_pct).clip(lower=0),
                ]
                ax.errorbar(ta.temperature, ta.success_rate_pct, yerr=err, color=c, marker="o", ms=4, capsize=2,
                            linewidth=1.4, label=f"{a}: {title}")  # fmt: skip
                bad = ta[ta.verdict == UNTRAINED]
                ax.scatter(bad.temperature, bad.success_rate_pct, facecolors="white", edgecolors=c, s=40, zorder=3)
                ref = ta[ta.reference_pct.notna()]
                ax.scatter(ref.temperature, ref.reference_pct, marker="*", s=140, color=c, edgecolors="black",
                           zorder=4)  # fmt: skip
            base = t[(t.attack == a) & t.temperature.isna()]
            for _, r in base.iterrows():
                ax.axhline(r.success_rate_pct, color=c, linestyle="--", linewidth=0.9, alpha=0.6)
        temps = sorted(set(t.temperature.dropna()))
        _log_temperature_axis(ax, temps)
        ax.set_ylabel("targets reached (%)")
        ax.set_ylim(-2, 102)
        ax.set_title(f"{TITLES.get(d, d)}: adaptive attacks (dashed: undistilled; ★ reported; hollow: near chance)",
                     fontsize=9)  # fmt: skip
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    save_figure(path, fig, dpi=110)
    plt.close(fig)


# --- robustness -------------------------------------------------------------------------------
def robustness_table(config: Mapping[str, Any], results_dir: Path, refs: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    increase = (refs.get("robustness") or {}).get("increase_pct") or {}
    for d in _datasets(config):
        if config["datasets"][d].get("robustness") is None:
            continue
        base = None
        models = _models(config, d)
        highest = models[-1].name if len(models) > 1 else None
        for m in models:
            model = m.name
            s = _read(Path(Plan(config, results_dir).robustness_file(d, model)))
            if s is None:
                continue
            rho = s["rho_adv_pct"]
            if papernot_models.is_baseline(model):
                base = rho
            ratio = rho / base if rho is not None and base else None
            paper_inc = increase.get(d) if model == highest else None
            rows.append(
                {
                    "dataset": d,
                    "model": model,
                    "temperature": _temperature(m),
                    "targets": int(s["targets"]),
                    "successes": int(s["successes"]),
                    "failure_share_pct": float(s["failure_share_pct"]),
                    "stopped_no_pair": int(s.get("stopped_no_pair", 0)),
                    "rho_adv_pct": rho,
                    "ratio_to_baseline": ratio,
                    "increase_pct": None if ratio is None else 100 * (ratio - 1),
                    "paper_increase_pct": paper_inc,
                    "test_accuracy_pct": 100 * float(s["test_accuracy"]),
                    "max_features": s.get("max_features"),
                    "capped": bool(s.get("capped", False)),
                }
            )
    return pd.DataFrame(rows)


def robustness_markdown(t: pd.DataFrame) -> str:
    return _md(
        pd.DataFrame(
            {
                "dataset": t.dataset.map(lambda d: TITLES.get(d, d)),
                "model": t.temperature.map(_label),
                "targets": t.targets.astype(str),
                "successes": t.successes.astype(str),
                "failures %": t.failure_share_pct.map(lambda v: _fmt(v, 1)),
                "rho_adv % (successes)": t.rho_adv_pct.map(_fmt),
                "increase vs baseline %": t.increase_pct.map(lambda v: "–" if v is None or pd.isna(v) else f"{v:+.0f}"),
                "paper's increase %": t.paper_increase_pct.map(lambda v: "–" if v is None or pd.isna(v) else f"+{v:g}"),
                "test acc %": t.test_accuracy_pct.map(_fmt),
            }
        )
    )


def plot_robustness(t: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt

    if not len(t):
        _empty_figure(path, "no robustness (rho_adv) jobs in this run")
        return
    datasets = list(dict.fromkeys(t.dataset))
    fig, axes = _axes(len(datasets))
    for ax, d in zip(axes, datasets, strict=True):
        g = t[(t.dataset == d) & t.temperature.notna()].sort_values("temperature")
        ax.plot(g.temperature, g.rho_adv_pct, marker="o", color="C0", label="rho_adv % (successful targets)")
        ax.plot(
            g.temperature, g.failure_share_pct, marker="x", linestyle=":", color="C3", label="targets not reached %"
        )
        b = t[(t.dataset == d) & t.temperature.isna()]
        for _, r in b.iterrows():
            if r.rho_adv_pct is not None and not pd.isna(r.rho_adv_pct):
                ax.axhline(r.rho_adv_pct, color="C0", linestyle="--", linewidth=0.9, alpha=0.6)
            ax.axhline(r.failure_share_pct, color="C3", linestyle="--", linewidth=0.9, alpha=0.4)
        _log_temperature_axis(ax, sorted(set(g.temperature)))
        ax.set_ylabel("%")
        all_d = t[t.dataset == d]
        cap = f"capped at {int(all_d.max_features.max())} elements" if all_d.capped.any() else "no budget cap"
        ax.set_title(f"{TITLES.get(d, d)}: JSMA-F, {cap} (dashed: undistilled)", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(path, fig, dpi=110)
    plt.close(fig)


# --- accuracy vs temperature ------------------------------------------------------------------
def accuracy_table(config: Mapping[str, Any], results_dir: Path, paper: PaperReference) -> pd.DataFrame:
    rows = []
    for d in _datasets(config):
        for mid in _models(config, d):
            model = mid.name
            m = _read(Path(Plan(config, results_dir).metrics_file(d, mid.stem)))
            if m is None:
                continue
            t = _temperature(mid)
            kind = "baseline" if t is None else "distilled"
            ref, src = paper.reference_accuracy(d, kind, t)
            rows.append(
                {
                    "dataset": d,
                    "model": model,
                    "temperature": t,
                    "test_accuracy_pct": 100 * float(m["test_accuracy"]),
                    "paper_accuracy_pct": ref if src == "reported" else None,
                    "epochs": m.get("epochs"),
                    "test_samples": m.get("test_samples"),
                }
            )
    return pd.DataFrame(rows)


def accuracy_markdown(t: pd.DataFrame) -> str:
    return _md(
        pd.DataFrame(
            {
                "dataset": t.dataset.map(lambda d: TITLES.get(d, d)),
                "model": t.temperature.map(_label),
                "ours %": t.test_accuracy_pct.map(_fmt),
                "paper %": t.paper_accuracy_pct.map(_fmt),
                "epochs": t.epochs.map(lambda v: "–" if v is None or pd.isna(v) else str(int(v))),
                "test images": t.test_samples.map(lambda v: "–" if v is None or pd.isna(v) else str(int(v))),
            }
        )
    )


def plot_accuracy(t: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt

    if not len(t):
        _empty_figure(path, "no trained models in this run")
        return
    datasets = list(dict.fromkeys(t.dataset))
    fig, axes = _axes(len(datasets))
    for ax, d in zip(axes, datasets, strict=True):
        g = t[(t.dataset == d) & t.temperature.notna()].sort_values("temperature")
        ax.plot(g.temperature, g.test_accuracy_pct, marker="o", color="C0", label="ours (distilled, deployed at T=1)")
        ref = g[g.paper_accuracy_pct.notna()]
        ax.scatter(ref.temperature, ref.paper_accuracy_pct, marker="*", s=140, color="C1", zorder=4, label="paper")
        for _, r in t[(t.dataset == d) & t.temperature.isna()].iterrows():
            ax.axhline(r.test_accuracy_pct, color="C0", linestyle="--", linewidth=0.9, label="ours, undistilled")
            if r.paper_accuracy_pct is not None and not pd.isna(r.paper_accuracy_pct):
                ax.axhline(r.paper_accuracy_pct, color="C1", linestyle=":", linewidth=0.9, label="paper, undistilled")
        _log_temperature_axis(ax, sorted(set(g.temperature)))
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{TITLES.get(d, d)}: test accuracy vs temperature", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(path, fig, dpi=110)
    plt.close(fig)


# --- the sections -----------------------------------------------------------------------------
def _cw_cpu_note(config: Mapping[str, Any]) -> list[str]:
    """Datasets whose adaptive block leaves out an attack the registry would run by default, with the config's
    stated reason (``adaptive.note``) when it gives one."""
    out = []
    for d in _datasets(config):
        ad = config["datasets"][d].get("adaptive")
        if ad and ad.get("note"):
            out.append(f"- {TITLES.get(d, d)}: {ad['note']}")
    return out


def sections(
    config: Mapping[str, Any], results_dir: Path, table_path: Path, paper: PaperReference, report_dir: Path
) -> list[str]:
    """The three sections' markdown lines; writes adaptive/robustness/accuracy .csv and .png beside
    ``table_path`` (the run's fig7.csv)."""
    import os

    refs = load_references()

    def rel(p: Path) -> str:
        return os.path.relpath(p, report_dir)

    lines = _adaptive_section(config, results_dir, table_path, paper, refs, rel)
    lines += _robustness_section(config, results_dir, table_path, paper, refs, rel)
    lines += _accuracy_section(config, results_dir, table_path, paper, refs, rel)
    return lines


def _adaptive_section(
    config: Mapping[str, Any], results_dir: Path, table_path: Path, paper: PaperReference, refs: Any, rel: Any
) -> list[str]:
    """``## Adaptive attacks`` (nothing without them); writes adaptive.csv and .png."""
    lines: list[str] = []
    add = lines.append
    adaptive = adaptive_table(config, results_dir, paper, refs)
    write_csv(table_path.with_name("adaptive.csv"), adaptive)
    plot_adaptive(adaptive, table_path.with_name("adaptive.png"))
    if len(adaptive):
        add("## Adaptive attacks")
        add("")
        parts = _adaptive_settings(config)
        add(
            "Does distillation stop attacks that do not differentiate the saturated T=1 softmax? The same targets as "
            "Fig. 7, attacked with: "
            + "; ".join(f"`{n}`: {e.description}" for n, e in REGISTRY.items() if n != "jsma_f")
            + ". `jsma_f` is the Fig. 7 run's own attack, repeated here for comparison. A target counts when the "
            "returned point is classified as the target and, for the L0 attacks, at most the L0 budget of input "
            "elements changed (checked on the result, not taken from the attack); the Carlini & Wagner L2 attack has "
            "no budget and reports its mean L2 distance over the successful targets. Settings: " + " | ".join(parts)
        )
        for line in _cw_cpu_note(config):
            add(line)
        add("")
        add(
            "Success % [95% image-clustered interval: a Wilson interval on targets / design effect, as Fig. 7's], "
            "per deployed model and attack (– : not run on that model; a run that kept no per-target table of an "
            "attack: its summary's Wilson interval, and no verdict):"
        )
        add("")
        add(adaptive_pivot_markdown(adaptive))
        add("")
        add(
            "Beside Carlini & Wagner's reported values (`benchmark/carlini2017/reference.yaml`, **unconfirmed** "
            "transcriptions; their L0 and L2 attacks are other implementations than Foolbox's `L0FMNAttack` and "
            "`L2CarliniWagnerAttack`, and their L0 attack had no 112-element budget). Verdict: Fig. 7's comparison, "
            f"except that they state no design (targets, images) for these values, so each is taken as exact and "
            f"the difference's interval is ours alone (narrower than the truth): *{REPRODUCED}* when the 95% "
            f"interval of ours − reported contains 0; *{UNTRAINED}* when the model's accuracy is near chance; "
            f"*{NO_REFERENCE}* where they report none:"
        )
        add("")
        if len(adaptive[adaptive.reference_pct.notna() | (adaptive.attack == "cw_l2")]):
            add(adaptive_reference_markdown(adaptive))
        else:
            add("(No row to show: no `cw_l2` run, and they report values for T=100 networks only.)")
        add("")
        add(f"![Adaptive attacks]({rel(table_path.with_name('adaptive.png'))})")
        add("")

    return lines


def _adaptive_settings(config: Mapping[str, Any]) -> list[str]:
    """Per dataset with an adaptive block: its targets, L0 budget and each attack's settings and models."""
    parts: list[str] = []
    for d in _datasets(config):
        ad = config["datasets"][d].get("adaptive")
        if not ad:
            continue
        per = []
        for a, s in ((a, ad["attacks"][a]) for a in _ordered(ad)):
            knobs = ", ".join(f"{k} {v}" for k, v in s.items() if k not in ("models", "batch_size"))
            models = s.get("models", "all")
            on = "all deployed models" if models == "all" else ", ".join(models)
            per.append(f"`{a}` ({knobs}; on {on})")
        parts.append(
            f"{TITLES.get(d, d)}: first {ad['samples']} test samples x {ad['targets_per_sample']} targets = "
            f"{ad['samples'] * ad['targets_per_sample']} targets per model, L0 budget {ad['max_features']}; "
            + "; ".join(per)
        )
    return parts


def _robustness_section(
    config: Mapping[str, Any], results_dir: Path, table_path: Path, paper: PaperReference, refs: Any, rel: Any
) -> list[str]:
    """``## Robustness rho_adv`` (nothing without it); writes robustness.csv and .png."""
    lines: list[str] = []
    add = lines.append
    rob = robustness_table(config, results_dir, refs)
    write_csv(table_path.with_name("robustness.csv"), rob)
    plot_robustness(rob, table_path.with_name("robustness.png"))
    if len(rob):
        src = (refs.get("robustness") or {}).get("source", "")
        off = [TITLES.get(d, d) for d in _datasets(config) if config["datasets"][d].get("robustness") is None]
        skipped = f" Not run for {', '.join(off)} (its `robustness` block is null in this profile)." if off else ""
        add("## Robustness rho_adv")
        add("")
        settings = "; ".join(
            f"{TITLES.get(d, d)}: `{rb['variant']}`, numerics `{rb['numerics']}`, first {rb['samples']} test samples "
            f"x {rb['targets_per_sample']} targets"
            + (
                f", **capped at {rb['max_features']} elements** (`robustness.max_features`: not the paper's rho_adv)"
                if rb.get("max_features")
                else ", no cap"
            )
            for d in _datasets(config)
            if (rb := config["datasets"][d].get("robustness")) is not None
        )
        add(
            "The paper's robustness metric (the slides' \"hardness metric\"): the mean fraction of input elements "
            "JSMA must change to reach each target, here with no budget cap (every element may change), over the "
            "targets it reaches, with the share it cannot reach at all beside it (JSMA stops when no admissible pair "
            "is left, e.g. at an all-zero Jacobian: a failure, not robustness to other attacks). "
            f"Settings: {settings}."
            + skipped
            + f" The paper reports only the increase with distillation ({src}; **unconfirmed**, "
            "and the temperature is not given there): it is shown beside the highest temperature, without a verdict."
        )
        add("")
        add(robustness_markdown(rob))
        add("")
        add(f"![Robustness rho_adv]({rel(table_path.with_name('robustness.png'))})")
        add("")

    return lines


def _accuracy_section(
    config: Mapping[str, Any], results_dir: Path, table_path: Path, paper: PaperReference, refs: Any, rel: Any
) -> list[str]:
    """``## Accuracy vs temperature``; writes accuracy.csv and .png."""
    lines: list[str] = []
    add = lines.append
    acc = accuracy_table(config, results_dir, paper)
    write_csv(table_path.with_name("accuracy.csv"), acc)
    plot_accuracy(acc, table_path.with_name("accuracy.png"))
    if len(acc):
        add("## Accuracy vs temperature")
        add("")
        conf = "" if paper.accuracy_confirmed else " (**unconfirmed** transcriptions)"
        add(
            "Test accuracy of each deployed model against T, beside the paper's values where it reports one "
            f"(the baseline and T=100{conf}; its Fig. 8 says accuracy varies by less than about 1.4% across T)."
        )
        add("")
        add(accuracy_markdown(acc))
        add("")
        add(f"![Accuracy vs temperature]({rel(table_path.with_name('accuracy.png'))})")
        add("")
    return lines


def adaptive_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The adaptive attacks' rows of ``adaptive_table`` in the shape the conclusion reads
    (conclusion.ADAPTIVE_COLUMNS): the Fig. 7 attack itself left out, accuracy as a fraction."""
    if not len(table):
        return pd.DataFrame(columns=["dataset", "model", "attack", "trained_temperature", "targets", "successes"])
    a = table[table.origin == "adaptive"].copy()
    a["trained_temperature"] = a.temperature.fillna(1.0)
    a["test_accuracy"] = a.test_accuracy_pct / 100
    return a.reset_index(drop=True)
