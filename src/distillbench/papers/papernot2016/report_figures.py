"""Papernot 2016's report, figures: the Fig. 7 replica (success rate against temperature, the paper's curve
beside ours, the seeds' spread)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ...io import save_figure
from ...report import (
    DATASET_TITLES,
)
from ...stats import UNTRAINED
from . import models as papernot_models
from .reference import PaperReference


def plot_fig7(
    table: pd.DataFrame, path: Path, paper: PaperReference, others: Mapping[str, pd.DataFrame] | None = None
) -> None:
    """Success rate against temperature (log axis): the paper's curve from all its points whatever the
    run's temperatures, ours pooled over seeds with the image-clustered 95% intervals (cells not measured left
    out); models near chance drawn hollow and named in
    the legend; other attack numerics (``others``: numerics -> table) dashed; undistilled baselines as
    horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(8.5, 5.0))
    datasets = list(dict.fromkeys(table.dataset))
    palette = sns.color_palette(n_colors=max(3, len(datasets)))  # at least 3 colours: more than datasets
    colors = dict(zip(datasets, palette[: len(datasets)], strict=True))
    handles: list[Any] = []
    for d in datasets:
        c, title = colors[d], DATASET_TITLES.get(d, d)
        handles += _plot_paper_curve(ax, paper, d, c, title)
        table_d = table[(table.dataset == d) & table.pooled_pct.notna()]
        ours = table_d[table_d.model != papernot_models.BASELINE].sort_values("temperature")
        if len(ours):
            handles += _plot_ours(ax, ours, c, title)
        for name, other in (others or {}).items():
            o = other[(other.dataset == d) & (other.model != papernot_models.BASELINE) & other.pooled_pct.notna()]
            o = o.sort_values("temperature")
            if len(o):
                ax.plot(o.temperature, o.pooled_pct, color=c, linestyle="--", marker="x", linewidth=1, alpha=0.8)
                handles.append(_line(color=c, linestyle="--", marker="x", label=f"{title}: ours ({name})"))
        _plot_baselines(ax, table_d[table_d.model == papernot_models.BASELINE], c)
    _finish_axes(ax, table, paper, handles)
    fig.tight_layout()
    save_figure(path, fig, dpi=120)
    plt.close(fig)


def _line(**style: Any) -> Any:
    """A legend handle: a line with ``style`` and no data."""
    from matplotlib.lines import Line2D

    return Line2D([], [], **style)


def _plot_paper_curve(ax: Any, paper: PaperReference, d: str, c: Any, title: str) -> list[Any]:
    """The paper's distilled networks, dotted, from all its points; returns the legend handle (if any)."""
    ref = paper.fig7[(paper.fig7.dataset == d) & (paper.fig7.model == "distilled")].sort_values("temperature")
    if not len(ref):
        return []
    ax.plot(ref.temperature, ref.paper_success_rate_pct, linestyle=(0, (1, 1)), marker=".", color=c, linewidth=1.2)
    return [_line(color=c, linestyle=(0, (1, 1)), marker=".", label=f"{title}: paper ({len(ref)} points)")]


def _plot_ours(ax: Any, ours: pd.DataFrame, c: Any, title: str) -> list[Any]:
    """Our distilled networks pooled over seeds with their image-clustered 95% intervals, those near chance
    hollow, the seeds' spread."""
    num = str(ours.numerics.iloc[0]) if "numerics" in ours else ""
    y = ours.pooled_pct
    ax.plot(ours.temperature, y, color=c, linewidth=1.6)
    err = [(y - ours.clustered_low_pct).clip(lower=0), (ours.clustered_high_pct - y).clip(lower=0)]
    ax.errorbar(ours.temperature, y, yerr=err, fmt="none", ecolor=c, elinewidth=1, capsize=3)
    bad = ours.verdict == UNTRAINED
    ax.scatter(ours.temperature[~bad], y[~bad], color=c, s=30, zorder=3)
    ax.scatter(ours.temperature[bad], y[bad], facecolors="white", edgecolors=c, s=40, linewidths=1.5, zorder=3)
    handles = [_line(color=c, marker="o", label=f"{title}: ours ({num}), clustered 95% CI")]
    handles += _plot_seed_spread(ax, ours, c, title)
    if bad.any():
        label = f"{title}: ours, accuracy near chance ({int(bad.sum())})"
        handles.append(_line(color=c, marker="o", markerfacecolor="white", linestyle="none", label=label))
    return handles


def _plot_baselines(ax: Any, baselines: pd.DataFrame, c: Any) -> None:
    """The undistilled baselines as horizontal lines: ours dashed (with the seeds' band), the paper's dotted."""
    for _, r in baselines.iterrows():
        ax.axhline(r.pooled_pct, color=c, linestyle="--", linewidth=1.0, alpha=0.6)
        if int(r.get("seeds", 1) or 1) > 1:  # the baseline's seed range as a band
            ax.axhspan(r.min_pct, r.max_pct, color=c, alpha=0.08, linewidth=0)
        if r.paper_pct is not None and not pd.isna(r.paper_pct):
            ax.axhline(r.paper_pct, color=c, linestyle=(0, (1, 2)), linewidth=0.8, alpha=0.5)


def _finish_axes(ax: Any, table: pd.DataFrame, paper: PaperReference, handles: list[Any]) -> None:
    """Log temperature axis with every temperature of the paper and the run as a tick, labels, title, legend."""
    ax.set_xscale("log")
    temps = sorted(set(paper.fig7.temperature.dropna()) | set(table.temperature.dropna()))
    if temps:
        ax.set_xticks(temps)
        ax.set_xticklabels([f"{t:g}" for t in temps])
        ax.minorticks_off()
    ax.set_xlabel("distillation temperature T (log scale)")
    ax.set_ylabel("JSMA success rate (%)")
    ax.set_ylim(-2, 102)
    ax.set_title("Fig. 7: JSMA success vs. temperature (horizontal lines: undistilled baselines)", fontsize=10)
    ax.legend(handles=handles, fontsize=7, loc="upper right")


def _plot_seed_spread(ax: Any, ours: pd.DataFrame, color: Any, title: str) -> list[Any]:
    """Cells with several seeds: the seeds' min-max range as a thick translucent bar and their mean as a
    diamond; returns the legend handles (none when no cell has more than one seed)."""
    from matplotlib.lines import Line2D

    if "seeds" not in ours:
        return []
    multi = ours[ours.seeds > 1]
    if not len(multi):
        return []
    ax.vlines(multi.temperature, multi.min_pct, multi.max_pct, color=color, linewidth=7, alpha=0.25, zorder=2)
    ax.scatter(multi.temperature, multi.mean_pct, marker="D", color=color, s=22, zorder=4)
    n = int(multi.seeds.max())
    return [
        Line2D([], [], color=color, marker="D", linewidth=7, alpha=0.5, label=f"{title}: mean and range over {n} seeds")
    ]
