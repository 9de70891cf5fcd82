"""Print the Fig. 7 comparison (clustered intervals, difference from the paper, verdict) of committed runs from
their per-target tables, one table per run, dataset and attack numerics.

    python scripts/fig7_verdicts.py results/paper-h200-2026-11-26 results/cpu-2026-12-06
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from distillbench.cell_comparison import CellInput, compare_cells, load_comparison_rule, read_targets  # noqa: E402
from distillbench.papers.papernot2016.reference import load_paper  # noqa: E402
from distillbench.saturation import (  # noqa: E402
    CW2016_DEFINITION_NOTE,
    CW2016_LOGIT_L1_DISTILLED,
    CW2016_LOGIT_L1_UNDISTILLED,
    recorded_saturation,
)


def _order(path: Path) -> tuple[bool, float]:
    """The baseline first, then by temperature."""
    return (path.stem != "baseline", float(path.stem.split("_T")[-1]) if "_T" in path.stem else 0.0)


def cells_of(run: Path, dataset: str, numerics: str, paper) -> list[CellInput]:  # type: ignore[no-untyped-def]
    """One CellInput per model with a per-target table under run/attacks/<dataset>/<numerics>/seed<s>/ (the run's
    first seed, then every further seed that has it); the accuracy is the seeds' mean. MNIST and CIFAR-10: 10
    classes, 10,000 test images."""
    out = []
    root = run / "attacks" / dataset / numerics
    first = root / f"seed{json.loads((run / 'config.json').read_text())['seed']}"
    for csv in sorted(first.glob("*.csv"), key=_order):
        seeds = [(first.name, csv)]
        seeds += [(p.parent.name, p) for p in sorted(root.glob(f"seed*/{csv.name}")) if p.parent != first]
        accuracies = [100 * float(json.loads(p.with_suffix(".json").read_text())["test_accuracy"]) for _, p in seeds]
        baseline = csv.stem == "baseline"
        temperature = None if baseline else float(csv.stem.split("_T")[-1])
        kind = "baseline" if baseline else "distilled"
        ref_acc, _ = paper.reference_accuracy(dataset, kind, temperature)
        out.append(
            CellInput(
                dataset=dataset,
                model=csv.stem,
                temperature=temperature,
                targets=read_targets(seeds),
                paper_pct=paper.success_rate(dataset, kind, temperature),
                accuracy_pct=sum(accuracies) / len(accuracies),  # the seeds' mean
                paper_accuracy_pct=ref_acc,
                n_classes=10,
                n_test=10_000,
            )
        )
    return out


def fmt_table(t: pd.DataFrame) -> str:
    def iv(lo: float, hi: float) -> str:
        return f"[{lo:.2f}, {hi:.2f}]"

    def mdd(v: float) -> str:
        return "–" if pd.isna(v) else f"{v:.1f}"

    return pd.DataFrame(
        {
            "T": t.temperature.map(lambda v: "baseline" if pd.isna(v) else f"{v:g}"),
            "ours %": t.pooled_pct.map(lambda v: f"{v:.2f}"),
            "clustered 95% CI": [iv(a, b) for a, b in zip(t.clustered_low_pct, t.clustered_high_pct, strict=True)],
            "naive Wilson": [iv(a, b) for a, b in zip(t.naive_low_pct, t.naive_high_pct, strict=True)],
            "bootstrap": [iv(a, b) for a, b in zip(t.boot_low_pct, t.boot_high_pct, strict=True)],
            "deff": t.design_effect.map(lambda v: f"{v:.2f}"),
            "paper %": t.paper_pct.map(lambda v: f"{v:g}"),
            "ours − paper, pp [95% CI]": [
                f"{d:+.2f} {iv(a, b)}" for d, a, b in zip(t.diff_pp, t.diff_low_pp, t.diff_high_pp, strict=True)
            ],
            "detectable ↑/↓ pp": [f"{mdd(a)}/{mdd(b)}" for a, b in zip(t.mdd_higher_pp, t.mdd_lower_pp, strict=True)],
            "acc %, short": [
                f"{a:.2f}, {s:+.2f}" for a, s in zip(t.test_accuracy_mean_pct, t.accuracy_shortfall_pp, strict=True)
            ],
            "correct only %": t.correct_pct.map(lambda v: f"{v:.2f}"),
            "verdict": t.verdict,
        }
    ).to_markdown(index=False, disable_numparse=True)


def saturation_text(run: Path, dataset: str, models: list[str]) -> str:
    """The recorded logit scale of the run's models beside Carlini & Wagner's values."""

    def path_of(d: str, m: str) -> Path:
        return run / "gradients" / d / f"seed{json.loads((run / 'config.json').read_text())['seed']}" / f"{m}.json"

    t = recorded_saturation(run, [(dataset, m) for m in models], {dataset: 10}, path_of)
    if t.logit_l1_sum.isna().all():
        return (
            f"Saturation diagnostics: not recorded for {dataset} in {run.name} (no gradient tables; the checkpoints "
            "are not committed, so they cannot be computed now)."
        )
    table = pd.DataFrame(
        {
            "model": t.model,
            "logit L1, sum": t.logit_l1_sum.map(lambda v: f"{v:.1f}"),
            "logit L1, per logit": t.logit_l1_per_logit.map(lambda v: f"{v:.2f}"),
            "median top-2 gap": t.median_top2_gap.map(lambda v: f"{v:.1f}"),
        }
    ).to_markdown(index=False, disable_numparse=True)
    return (
        f"Saturation diagnostics ({dataset}, from the run's gradient tables); Carlini & Wagner: "
        f"{CW2016_LOGIT_L1_UNDISTILLED:g} undistilled, {CW2016_LOGIT_L1_DISTILLED:g} distilled "
        f"({CW2016_DEFINITION_NOTE}).\n\n{table}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="results/<run> folders with attacks/<dataset>/<numerics>/*.csv")
    a = ap.parse_args(argv)
    paper = load_paper()
    rule = load_comparison_rule(ROOT / "benchmark" / "papernot2016" / "tolerances.yaml", paper_targets=paper.targets)
    for run in a.runs:
        for ds_dir in sorted((run / "attacks").glob("*")):
            for num_dir in sorted(ds_dir.glob("*")):
                cells = cells_of(run, ds_dir.name, num_dir.name, paper)
                if not cells:
                    continue
                t = compare_cells(cells, rule)
                counts = ", ".join(f"{v}: {n}" for v, n in t.verdict.value_counts().items())
                print(f"\n### {run.name}: {ds_dir.name}, numerics {num_dir.name} ({counts})\n")
                print(fmt_table(t))
            print()
            print(saturation_text(run, ds_dir.name, list(t.model)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
