"""Why the baseline cell moves: JSMA success of the undistilled baseline against training length.

One training job per seed trains the baseline (ordinary training: T=1, hard labels) from a **cold start**
(no warm start, whatever the profile uses for Fig. 7: the paper names none, and at T=1 none is needed), and
saves a snapshot at each epoch of ``length_study.epochs``; each snapshot is attacked (the dataset's attack,
main numerics, the first ``length_study.samples`` test samples) and its median top-2 logit gap measured.
With seed s the network starts from the same initialisation and shuffling as the Fig. 7 baseline of a run
whose ``seed`` is s and which uses no warm start.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .cell_comparison import CellInput, ComparisonRule, compare_where_given, read_targets
from .dataspec import SPECS
from .stats import NO_TARGET_TABLE, REPRODUCED

BASELINE_TEMPERATURE = 1.0


def study(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The config's ``length_study`` block with its seeds filled in, or None when the run has no study
    (none configured, or its dataset left out with ``run_datasets``)."""
    block = config.get("length_study")
    if not block or block["dataset"] not in config["datasets"]:
        return None
    seeds = block.get("seeds") or config.get("seeds") or [config["seed"]]
    return {**block, "seeds": [int(s) for s in seeds], "epochs": [int(e) for e in block["epochs"]]}


def length_study_problems(config: Mapping[str, Any]) -> list[str]:
    block = config.get("length_study")
    if not block:
        return []
    out = []
    dataset = block["dataset"]
    if dataset not in config["datasets"]:
        if config.get("run_datasets"):
            return []  # a partial run without that dataset: no study
        out.append(
            f"config field 'length_study.dataset': {dataset} is not in 'datasets' ({sorted(config['datasets'])}); "
            "fix: name a dataset the config defines, e.g. mnist"
        )
    epochs = [int(e) for e in block["epochs"]]
    if epochs != sorted(epochs):
        out.append(
            f"config field 'length_study.epochs': {epochs} is not increasing; fix: list the epochs in order, "
            f"e.g. {sorted(epochs)}"
        )
    spec = SPECS.get(dataset)
    if spec is not None and int(block["samples"]) > spec.n_test:
        out.append(
            f"config field 'length_study.samples': {block['samples']} is more than the {spec.n_test} test images "
            f"of {spec.title}; fix: use at most {spec.n_test}, e.g. 30"
        )
    return out


def attack_json(config: Mapping[str, Any]) -> str:
    """The study's attack: the dataset's, main numerics only, ``length_study.samples`` samples."""
    st = study(config)
    assert st is not None
    at = dict(config["datasets"][st["dataset"]]["attack"])
    at.pop("compare_numerics", None)
    at.pop("spread_orders", None)
    at["samples"] = int(st["samples"])
    at["batch_size"] = min(int(at.get("batch_size", 256)), int(st["samples"]) * int(at.get("targets_per_sample", 9)))
    return json.dumps(at, sort_keys=True)


def train_snapshots(
    *,
    dataset: str,
    training: Mapping[str, Any],
    seed: int,
    epochs: Sequence[int],
    snapshots: Mapping[int, Path],
    train_data: Any,
    test_data: Any,
    device: Any,
    resume_path: Path | None = None,
) -> list[dict[str, Any]]:
    """Train the baseline for max(epochs) epochs and save ``snapshots[e]`` after epoch e; returns the history."""
    from .seeds import model_seed
    from .training import TrainSpec, save_checkpoint, train

    spec = TrainSpec.from_config(
        dataset,
        training,
        temperature=BASELINE_TEMPERATURE,
        epochs=max(epochs),
        seed=model_seed(seed, "teacher", BASELINE_TEMPERATURE),
        role="teacher",
    )
    wanted = set(int(e) for e in epochs)

    def save(model: Any, history: list[dict[str, Any]]) -> None:
        e = len(history)
        if e in wanted:
            at_e = dataclasses.replace(spec, epochs=e)
            save_checkpoint(Path(snapshots[e]), model, at_e, list(history), float(history[-1]["test_acc"]))

    _, history = train(spec, train_data, test_data, device, resume_path=resume_path, on_epoch_model=save)
    return history


# --- aggregation -------------------------------------------------------------------------------------------
def collect(config: Mapping[str, Any], results_dir: Path) -> pd.DataFrame:
    """One row per seed and snapshot: success, targets, test accuracy, median logit gap."""
    st = study(config)
    if st is None:
        return pd.DataFrame()
    rows = []
    base = Path(results_dir) / "length" / st["dataset"]
    for seed in st["seeds"]:
        for e in st["epochs"]:
            if not (base / f"seed{seed}" / f"attack_epoch{e}.json").exists():
                continue  # a run from before the study (reported again): the section says what it has
            a = json.loads((base / f"seed{seed}" / f"attack_epoch{e}.json").read_text())
            g = json.loads((base / f"seed{seed}" / f"gradients_epoch{e}.json").read_text())
            rows.append(
                {
                    "dataset": st["dataset"],
                    "seed": seed,
                    "epochs": e,
                    "successes": int(a["successes"]),
                    "targets": int(a["targets"]),
                    "success_rate_pct": float(a["success_rate_pct"]),
                    "ci95_low_pct": float(a["ci95_low_pct"]),
                    "ci95_high_pct": float(a["ci95_high_pct"]),
                    "test_accuracy_pct": 100 * float(a["test_accuracy"]),
                    "median_logit_gap": float(g["median_logit_gap"]),
                    "numerics": a.get("numerics"),
                    "targets_csv": str(base / f"seed{seed}" / f"attack_epoch{e}.csv"),
                }
            )
    return pd.DataFrame(rows)


def summarize(
    per_seed: pd.DataFrame, paper_pct: float | None = None, rule: ComparisonRule | None = None
) -> pd.DataFrame:
    """Per training length over the seeds: mean, sd, min and max of the seeds' rates; the pooled rate with its
    image-clustered 95% interval and, against ``paper_pct``, the difference and the verdict of Fig. 7's comparison
    (:mod:`distillbench.cell_comparison`: every seed's targets of one image are one cluster, the seeds' spread
    is added); accuracy and logit gap means. ``per_seed``: :func:`collect`'s rows (``targets_csv`` per row)."""
    rows, cells = [], []
    for e in sorted(set(int(v) for v in per_seed.epochs)):
        g = per_seed[per_seed.epochs == e]
        rates = g.success_rate_pct
        rows.append(
            {
                "epochs": e,
                "seeds": len(g),
                "mean_pct": float(rates.mean()),
                "sd_pp": float(rates.std(ddof=1)) if len(g) > 1 else float("nan"),
                "min_pct": float(rates.min()),
                "max_pct": float(rates.max()),
                "pooled_targets": int(g.targets.sum()),
                "pooled_pct": 100 * float(g.successes.sum()) / float(g.targets.sum()),
                "test_accuracy_mean_pct": float(g.test_accuracy_pct.mean()),
                "test_accuracy_min_pct": float(g.test_accuracy_pct.min()),
                "median_logit_gap_mean": float(g.median_logit_gap.mean()),
            }
        )
        paths = [Path(p) for p in g.targets_csv] if "targets_csv" in g else []
        cells.append(
            None
            if not paths or not all(p.exists() for p in paths)  # a run from before per-target tables were kept
            else CellInput(
                dataset="length",
                model=f"epoch{e}",
                temperature=None,
                targets=read_targets(zip(g.seed, paths, strict=True)),
                paper_pct=paper_pct,
            )
        )
    out = pd.DataFrame(rows)
    filled = compare_where_given(cells, rule)
    for k in ("clustered_low_pct", "clustered_high_pct", "diff_pp", "diff_low_pp", "diff_high_pp"):
        out[k] = [float("nan") if c is None else c[k] for c in filled]
    out["verdict"] = [NO_TARGET_TABLE if c is None else c["verdict"] for c in filled]
    return out


def paper_sentence(summary: pd.DataFrame, paper_pct: float | None, dataset_title: str) -> str:
    """Plainly: which training length, if any, brings the paper's baseline success rate back (Fig. 7's
    comparison: the difference's 95% interval contains 0)."""
    if paper_pct is None or not len(summary):
        return "No paper value to compare with."

    def cell(r: Any) -> str:
        return (
            f"{int(r.epochs)} epoch(s) ({r.pooled_pct:.1f}% [{r.clustered_low_pct:.1f}, {r.clustered_high_pct:.1f}], "
            f"ours − paper {r.diff_pp:+.1f} pp [{r.diff_low_pp:+.1f}, {r.diff_high_pp:+.1f}], test accuracy "
            f"{r.test_accuracy_mean_pct:.2f}%)"
        )

    if (summary.verdict == NO_TARGET_TABLE).all():
        return (
            f"Not compared with the paper's {paper_pct:.2f}%: this run kept no per-target tables of the study, "
            "which the image-clustered comparison needs."
        )
    hit = summary[summary.verdict == REPRODUCED]
    lengths = ", ".join(str(int(e)) for e in summary.epochs)
    if len(hit):
        others = ", ".join(str(int(e)) for e in summary.epochs if e not in set(hit.epochs))
        rest = (
            f"; at the other lengths tried ({others} epochs) the difference is not compatible with zero"
            if others
            else ""
        )
        return (
            f"The paper's {paper_pct:.2f}% for the {dataset_title} baseline comes back at: "
            + ", ".join(cell(r) for _, r in hit.iterrows())
            + rest
            + "."
        )
    best = summary.iloc[int((summary.pooled_pct - paper_pct).abs().to_numpy().argmin())]
    side = "above" if paper_pct > best.pooled_pct else "below"
    return (
        f"No training length tried ({lengths} epochs) brings the paper's {paper_pct:.2f}% back for the "
        f"{dataset_title} baseline: the closest is {cell(best)}, and the paper's value lies {side} it."
    )


def markdown(summary: pd.DataFrame) -> str:
    def f(v: float, nd: int = 2) -> str:
        return "–" if pd.isna(v) else f"{v:.{nd}f}"

    view = pd.DataFrame(
        {
            "epochs": summary.epochs.astype(str),
            "seeds": summary.seeds.astype(str),
            "success mean %": summary.mean_pct.map(f),
            "sd pp": summary.sd_pp.map(f),
            "min–max %": [f"{f(a)}–{f(b)}" for a, b in zip(summary.min_pct, summary.max_pct, strict=True)],
            "pooled %": summary.pooled_pct.map(f),
            "95% CI (image-clustered)": [
                f"{f(a)}–{f(b)}" for a, b in zip(summary.clustered_low_pct, summary.clustered_high_pct, strict=True)
            ],
            "targets (pooled)": summary.pooled_targets.astype(str),
            "ours − paper pp [95%]": [
                "–" if pd.isna(d) else f"{d:+.2f} [{a:+.2f}, {b:+.2f}]"
                for d, a, b in zip(summary.diff_pp, summary.diff_low_pp, summary.diff_high_pp, strict=True)
            ],
            "verdict": summary.verdict,
            "test acc mean %": summary.test_accuracy_mean_pct.map(f),
            "median logit gap (mean over seeds)": summary.median_logit_gap_mean.map(lambda v: f(v, 1)),
        }
    )
    return view.to_markdown(index=False, disable_numparse=True)


def plot(per_seed: pd.DataFrame, summary: pd.DataFrame, path: Path, paper_pct: float | None, title: str) -> None:
    """Success rate (per seed thin; pooled, with its image-clustered 95% CI, thick), test accuracy and logit gap
    against epochs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .io import save_figure

    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    ax = axes[0]
    for _seed, g in per_seed.groupby("seed"):
        g = g.sort_values("epochs")
        ax.plot(g.epochs, g.success_rate_pct, color="grey", linewidth=0.8, alpha=0.7, marker=".")
    err = [summary.pooled_pct - summary.clustered_low_pct, summary.clustered_high_pct - summary.pooled_pct]
    ax.errorbar(
        summary.epochs,
        summary.pooled_pct,
        yerr=err,
        color="C0",
        linewidth=2,
        marker="o",
        capsize=3,
        label="pooled over seeds, image-clustered 95% CI",
    )
    if paper_pct is not None:
        ax.axhline(paper_pct, color="C3", linestyle=":", label=f"paper {paper_pct:.2f}%")
    ax.plot([], [], color="grey", linewidth=0.8, label="one seed")
    ax.set_ylabel("JSMA success rate (%)")
    ax.legend(fontsize=7)
    axes[1].plot(summary.epochs, summary.test_accuracy_mean_pct, marker="o")
    axes[1].set_ylabel("test accuracy, mean over seeds (%)")
    axes[2].plot(summary.epochs, summary.median_logit_gap_mean, marker="o")
    axes[2].set_ylabel("median top-2 logit gap")
    for a in axes:
        a.set_xscale("log")
        a.set_xticks(list(summary.epochs))
        a.set_xticklabels([str(int(e)) for e in summary.epochs])
        a.minorticks_off()
        a.set_xlabel("training epochs (log scale)")
    fig.suptitle(f"{title} baseline: JSMA success vs training length", fontsize=10)
    fig.tight_layout()
    save_figure(path, fig, dpi=110)
    plt.close(fig)


def report_section(
    config: Mapping[str, Any], results_dir: Path, report_path: Path, paper: Any, titles: Mapping[str, str]
) -> tuple[list[str], str | None]:
    """REPORT.md's "Training length" section (table, plot, sentence) and the sentence alone; writes
    length_study.csv (per seed and snapshot) and length_study.png beside the report. Empty without a study."""
    from .io import write_csv

    st = study(config)
    if st is None:
        return [], None
    per_seed = collect(config, results_dir)
    if not len(per_seed):
        return ["## Training length and the baseline cell", "", "Configured, but not run in this run.", ""], None
    d = st["dataset"]
    title = titles.get(d, d)
    paper_pct = paper.success_rate(d, "baseline", None)
    summary = summarize(per_seed, paper_pct)
    write_csv(Path(results_dir) / "length_study.csv", per_seed.drop(columns="targets_csv"))
    fig = Path(results_dir) / "length_study.png"
    plot(per_seed, summary, fig, paper_pct, title)
    sentence = paper_sentence(summary, paper_pct, title)
    tr = config["datasets"][d]["training"]
    at = config["datasets"][d]["attack"]
    lines = ["## Training length and the baseline cell", ""]
    lines.append(
        f"Why the undistilled {title} baseline's cell moves: the baseline (T=1, hard labels) trained once per seed "
        f"({', '.join(str(s) for s in st['seeds'])}) from a **cold start** (no warm start, whatever Fig. 7's "
        f"profile uses: the paper names none), SGD lr {tr['lr']}, momentum {tr['momentum']}, batch "
        f"{tr['batch_size']}, dropout {tr['dropout']}, with a snapshot after {', '.join(map(str, st['epochs']))} "
        f"epoch(s); each snapshot attacked with `{at['variant']}` (numerics `{at.get('numerics', 'exact')}`) on "
        f"the first {st['samples']} test samples x {at.get('targets_per_sample', 9)} targets, and its median top-2 "
        "logit gap measured on the same targets. Mean and spread over the seeds; the pooled rate with Fig. 7's "
        "image-clustered 95% interval and its difference from the paper's baseline cell (the same comparison as "
        "Fig. 7's verdicts)."
    )
    lines += ["", markdown(summary), "", f"**{sentence}**", ""]
    rel = os.path.relpath(fig, report_path.parent if str(report_path.parent) else ".")
    lines += [f"![JSMA success vs training length]({rel})", ""]
    return lines, sentence
