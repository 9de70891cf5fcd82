#!/usr/bin/env python3
"""Compare two finished runs' records, results/<a>/ and results/<b>/, leaving out what differs by design.

Every CSV and JSON under the first run (job logs and Snakemake benchmark files aside) is compared with the same
file under the second. Columns and keys that name a time, a host or a path (``seconds``, ``elapsed``, ``host``,
``init_from`` ...) are left out: they differ between any two runs. What is left are the numbers: each target's
attack row, each model's accuracy and training history, each summary. Prints one line per file that differs
(with the keys that do) and a count; exits 1 if any differs.

    python scripts/compare_runs.py results/cpu-2026-12-06 results/<your cpu run>
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

# Keys and columns that differ between any two runs: times and hosts (by part of the name), and paths that name
# the run or where its files are (by the whole name; ``fast_path``, a setting, is compared).
TIME_OR_HOST = ("seconds", "elapsed", "host", "generated")
PATH_KEYS = {"init_from", "data_dir", "work_dir", "run_name", "model_path"}
SKIPPED_DIRS = {"logs", "benchmarks"}


def volatile(key: str) -> bool:
    k = key.lower()
    return k in PATH_KEYS or any(t in k for t in TIME_OR_HOST)


def clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items() if not volatile(k)}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x


def compare_json(a: Path, b: Path) -> list[str]:
    x, y = clean(json.loads(a.read_text())), clean(json.loads(b.read_text()))
    if x == y:
        return []
    if isinstance(x, dict) and isinstance(y, dict):
        return sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
    return ["(whole file)"]


def compare_csv(a: Path, b: Path) -> list[str]:
    ra, rb = list(csv.reader(a.open())), list(csv.reader(b.open()))
    if ra == rb:
        return []
    if not ra or not rb or ra[0] != rb[0]:
        return ["(header)"]
    keep = [i for i, h in enumerate(ra[0]) if not volatile(h)]
    rows_a, rows_b = ([[r[i] for i in keep] for r in rows] for rows in (ra, rb))
    if rows_a == rows_b:
        return []
    if len(rows_a) != len(rows_b):
        return [f"({len(rows_a) - 1} rows against {len(rows_b) - 1})"]
    header = ra[0]
    changed: set[str] = set()
    for row_a, row_b in zip(rows_a, rows_b, strict=True):
        changed.update(header[i] for i, u, v in zip(keep, row_a, row_b, strict=True) if u != v)
    return sorted(changed)


def compare_runs(first: Path, second: Path) -> tuple[int, list[str]]:
    """(files compared, one line per file that differs or is missing from ``second``)."""
    n, out = 0, []
    for f in sorted(first.rglob("*")):
        rel = f.relative_to(first)
        if f.is_dir() or f.suffix not in (".csv", ".json") or SKIPPED_DIRS & set(rel.parts):
            continue
        n += 1
        g = second / rel
        if not g.exists():
            out.append(f"{rel}: missing from {second}")
            continue
        keys = compare_json(f, g) if f.suffix == ".json" else compare_csv(f, g)
        if keys:
            out.append(f"{rel}: {', '.join(keys)}")
    return n, out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    first, second = (Path(p) for p in argv)
    n, diffs = compare_runs(first, second)
    summary = f"{n} CSV and JSON files compared (times, hosts and paths left out): {len(diffs)} differ"
    print("\n".join([*diffs, summary]))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
