#!/usr/bin/env python
"""Combine runs that each ran some of Fig. 7's datasets into one committed run, with git mv, keeping each part's
own provenance, and write the combined run's resolved config (for the report command).

    python scripts/combine_runs.py results/<combined> mnist=results/<run a> cifar10=results/<run b> \
        [--config KEY=VALUE ...] [--dry-run]

Per part: its README.md, machine.txt, snakemake.log, config.json and logs/report.log go to
``<combined>/halves/<dataset>/`` (its provenance); the tables and figures its report wrote (REPORT.md, *.csv and
*.png at its top level) are removed, since the combined report writes them again; every other file (attacks,
models, gradients, data manifests, logs, benchmarks) moves to the same path under ``<combined>/``. Two parts
holding the same path stop the script before anything moves. ``<combined>/config.json``: config/config.yaml
with ``run_name`` set to the combined run's name, then the ``--config`` entries, validated (every dataset kept).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from distillbench.config import validate_config  # noqa: E402
from distillbench.config_merge import merged_config  # noqa: E402

PROVENANCE = ("README.md", "machine.txt", "snakemake.log", "config.json", "logs/report.log")


def tracked(part: Path) -> list[str]:
    """The part's files known to git, relative to the part."""
    out = subprocess.run(["git", "ls-files", str(part)], cwd=ROOT, capture_output=True, text=True, check=True)
    return [str(Path(p).relative_to(part)) for p in out.stdout.split()]


def moves(dest: Path, parts: dict[str, Path]) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """(from, to) pairs and the files to remove; refuses two parts writing one path."""
    pairs: list[tuple[Path, Path]] = []
    removed: list[Path] = []
    seen: dict[Path, Path] = {}
    for dataset, part in parts.items():
        for rel in tracked(part):
            src = part / rel
            if rel in PROVENANCE:
                target = dest / "halves" / dataset / rel
            elif "/" not in rel and (rel == "REPORT.md" or rel.endswith((".csv", ".png"))):
                removed.append(src)
                continue
            else:
                target = dest / rel
            if target in seen:
                raise SystemExit(f"{seen[target]} and {src} both go to {target}; nothing moved")
            seen[target] = src
            pairs.append((src, target))
    return pairs, removed


def combined_config(dest: Path, entries: list[str]) -> dict:
    config = merged_config([], [f"run_name={dest.name}", *entries])
    return validate_config(config, check_device=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dest", type=Path, help="results/<combined run>")
    ap.add_argument("parts", nargs="+", help="DATASET=results/<run> for each part")
    ap.add_argument("--config", nargs="*", default=[], help="KEY=VALUE entries for the combined run's config")
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args(argv)
    parts = {}
    for p in a.parts:
        dataset, _, path = p.partition("=")
        if not path:
            raise SystemExit(f"part {p!r}: write DATASET=results/<run>, e.g. mnist=results/paper-mnist")
        parts[dataset] = Path(path)
    pairs, removed = moves(a.dest, parts)
    config = combined_config(a.dest, a.config)
    print(f"{len(pairs)} file(s) to move, {len(removed)} report output(s) to remove, config: {a.dest}/config.json")
    if a.dry_run:
        return 0
    for src, target in pairs:
        (ROOT / target).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "mv", str(src), str(target)], cwd=ROOT, check=True)
    if removed:
        subprocess.run(["git", "rm", "-q", *map(str, removed)], cwd=ROOT, check=True)
    (ROOT / a.dest / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
