"""How far the float32 attack's decisions move with the arithmetic order alone.

Compares two per-target attack tables of the same model and targets (``distillbench attack --out``), run
under two arithmetic orders (the attack setting ``arithmetic_order``: ``batched`` and ``per_target``):
how many targets differ in success, and in any decision (success, elements changed, iterations, final
prediction), and the two success rates.

    python benchmark/numerics/float32_spread.py A.csv B.csv [--out spread.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pandas as pd

KEYS = ["sample_index", "target"]
DECISIONS = ["success", "features_changed", "iterations", "final_prediction"]


def spread(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, float | int]:
    m = a.merge(b, on=KEYS, suffixes=("_a", "_b"), validate="one_to_one")
    if len(m) != len(a) or len(m) != len(b):
        raise SystemExit(f"the tables hold different targets ({len(a)} and {len(b)} rows, {len(m)} shared)")
    differ = pd.Series(False, index=m.index)
    for c in DECISIONS:
        differ |= m[f"{c}_a"] != m[f"{c}_b"]
    return {
        "targets": len(m),
        "success_differs": int((m.success_a != m.success_b).sum()),
        "any_decision_differs": int(differ.sum()),
        "success_pct_a": 100 * float(m.success_a.mean()),
        "success_pct_b": 100 * float(m.success_b.mean()),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--note", default="", help="what ran (model, commands), kept in the JSON")
    args = p.parse_args(argv)
    repo = Path(__file__).resolve().parents[2]
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    out = {
        "a": str(args.a),
        "b": str(args.b),
        "note": args.note,
        "commit": commit.strip(),
        **spread(pd.read_csv(args.a), pd.read_csv(args.b)),
    }
    print(
        f"{out['targets']} targets: success differs on {out['success_differs']}, some decision on "
        f"{out['any_decision_differs']}; success {out['success_pct_a']:.2f}% vs {out['success_pct_b']:.2f}%"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
