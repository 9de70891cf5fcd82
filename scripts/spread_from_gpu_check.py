"""Record a GPU check's float32 rates as a run's measured numerical spread.

benchmark/gpu/check.py attacks two of a run's checkpoints (the baseline and distilled T=100) with the float32
attack on the device (CUDA) and on the CPU. Where those checkpoints are the run's own, the two rates are the same
cell under two arithmetic orders: this script writes them to ``<run>/numerical_spread.csv``, which the report
reads as the cell's numerical spread (report_cells.recorded_rates), after checking that each model is the run's
(same test accuracy, and the device rate equal to the run's own float32 summary to within half a target).

    python scripts/spread_from_gpu_check.py benchmark/gpu/runs/2026-11-26-h200/check.json \
        results/paper-h200-2026-11-26 --dataset mnist
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

COLUMNS = ["dataset", "model", "seed", "arithmetic", "success_rate_pct", "source"]


def rows_from_check(check: dict, run: Path, dataset: str, seed: int, source: str) -> list[dict]:
    out = []
    for model, m in check["models"].items():
        summary_path = run / "attacks" / dataset / "float32" / f"seed{seed}" / f"{model}.json"
        if not summary_path.exists():
            sys.exit(f"{summary_path}: no float32 summary of {model} in the run; is --dataset/--seed right?")
        s = json.loads(summary_path.read_text())
        if abs(float(s["test_accuracy"]) - float(m["test_accuracy"])) > 1e-6:
            sys.exit(
                f"{model}: the check's network ({m['test_accuracy']:.4f}) is not the run's ({s['test_accuracy']:.4f}); "
                "run the check with --models on the run's checkpoints"
            )
        f32 = m["float32"]
        half_target = 50.0 / int(s["targets"])
        if abs(float(f32["success_device_pct"]) - float(s["success_rate_pct"])) > half_target:
            sys.exit(
                f"{model}: the check's device rate {f32['success_device_pct']:.4f}% is not the run's "
                f"{s['success_rate_pct']:.4f}%: another arithmetic order or other targets; not recorded"
            )
        device = str(check.get("device", "device"))
        for arithmetic, pct in (
            (f"{device} (the run's)", s["success_rate_pct"]),
            ("CPU of the same machine", f32["success_cpu_pct"]),
        ):
            out.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "seed": seed,
                    "arithmetic": arithmetic,
                    "success_rate_pct": float(pct),
                    "source": source,
                }
            )
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("check", type=Path, help="a check.json written by benchmark/gpu/check.py")
    ap.add_argument("run", type=Path, help="the run whose checkpoints the check attacked, e.g. results/<run>")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--seed", type=int, default=None, help="the run's seed (default: its config's first)")
    a = ap.parse_args(argv)
    config = json.loads((a.run / "config.json").read_text())
    seed = a.seed if a.seed is not None else int((config.get("seeds") or [config["seed"]])[0])
    check = json.loads(a.check.read_text())
    source = f"{a.check.as_posix()} ({check.get('device')}, torch {check.get('torch')}: device and CPU)"
    new = pd.DataFrame(rows_from_check(check, a.run, a.dataset, seed, source), columns=COLUMNS)
    path = a.run / "numerical_spread.csv"
    if path.exists():
        old = pd.read_csv(path)
        keep = ~(old.dataset.eq(a.dataset) & old.model.isin(new.model) & old.seed.eq(seed))
        new = pd.concat([old[keep], new], ignore_index=True)
    new.to_csv(path, index=False)
    print(f"{path}: {len(new)} rows")


if __name__ == "__main__":
    main()
