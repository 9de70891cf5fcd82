#!/usr/bin/env python
"""Move a run's files from the layout where only further seeds had a seed in their paths to the layout where
every training and attack path has one (``seed<s>/``), so that today's report code reads an older run.

    python scripts/migrate_run_paths.py results/<run> [--work-dir work/<run>] [--seed 1234] [--dry-run]

Before: the first seed's files at ``models/<d>/<job>.json``, ``attacks/<d>/<numerics>/<model>.json``, ...;
a further seed's under ``seeds/seed<s>/``; logs and benchmarks of further seeds under ``logs/seeds/<rule>/`` and
``benchmarks/seed_<rule>/``. After: ``models/<d>/seed<s>/<job>.json``, ``attacks/<d>/<numerics>/seed<s>/...``,
``gradients/<d>/seed<s>/``, ``adaptive/<d>/<attack>/seed<s>/``, ``robustness/<d>/seed<s>/``, checkpoints at
``work/<run>/<d>/seed<s>/``, and every seeded rule's log and benchmark named ``<job>_seed<s>``. The first seed is
the run's ``config.json`` ``seed`` (or REPORT.md's "seed N"), unless ``--seed`` gives it. Files already in the
new layout, and files of no seeded rule (data, length study, other papers, tables), stay where they are: running
the script twice moves nothing the second time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

# Per result kind: how many directories lie between the kind and a file in the old layout (seed<s> goes last).
KIND_DEPTH = {"models": 1, "attacks": 2, "gradients": 1, "adaptive": 2, "robustness": 1}
# The rules whose jobs run once per seed: their logs and benchmarks are named <job>_seed<s>.
SEEDED_RULES = {
    "warm_start",
    "train_teacher",
    "soft_labels",
    "train_student",
    "train_teachers_group",
    "train_students_group",
    "attack",
    "gradients",
    "adaptive_attack",
    "robustness",
}
SEED_SUFFIX = re.compile(r"_seed[0-9]+$")
FURTHER_SEED = re.compile(r"^seed([0-9]+)$")


def _seeded_job(rule: str, job: str, seed: int) -> tuple[str, str] | None:
    """A log's or benchmark's (rule, job stem) in the new layout; None when it is not a seeded rule's."""
    if rule not in SEEDED_RULES:
        return None
    return rule, job if SEED_SUFFIX.search(job) else f"{job}_seed{seed}"


def _result_path(parts: list[str], seed: int) -> list[str] | None:
    """A result file's new path parts (old layout, one seed); None when it does not move."""
    kind = parts[0]
    if kind in KIND_DEPTH and len(parts) == KIND_DEPTH[kind] + 2:
        return [*parts[:-1], f"seed{seed}", parts[-1]]
    if kind in ("logs", "benchmarks") and len(parts) == 3:
        rule, (stem, dot, ext) = parts[1], parts[2].rpartition(".")
        if kind == "benchmarks" and rule.startswith("seed_"):
            rule = rule.removeprefix("seed_")
        moved = _seeded_job(rule, stem, seed)
        return [kind, moved[0], f"{moved[1]}{dot}{ext}"] if moved else None
    return None


def new_result_path(rel: str, first_seed: int) -> str:
    """Where a file of a run's results directory (``rel``: relative to it, '/'-separated) lives now."""
    parts = rel.split("/")
    seed = first_seed
    if len(parts) > 2 and parts[0] == "seeds" and FURTHER_SEED.match(parts[1]):
        seed, parts = int(parts[1].removeprefix("seed")), parts[2:]
    elif len(parts) > 2 and parts[0] == "logs" and parts[1] == "seeds":
        parts = ["logs", *parts[2:]]
        if len(parts) == 3 and not SEED_SUFFIX.search(parts[2].rpartition(".")[0]):
            return rel  # not a further seed's log
    new = _result_path(parts, seed)
    return "/".join(new) if new else rel


def new_work_path(rel: str, first_seed: int) -> str:
    """Where a file of a run's work directory (relative to it) lives now: a dataset's own checkpoints and soft
    labels (directly under ``<d>/``) go to ``<d>/seed<first>/``; further seeds, the length study's snapshots and
    other papers' files (deeper) stay."""
    parts = rel.split("/")
    return "/".join([parts[0], f"seed{first_seed}", parts[1]]) if len(parts) == 2 else rel


def first_seed_of(run: Path) -> int | None:
    """The run's first seed: its config.json's ``seed``, else the "seed N" of its REPORT.md's settings."""
    config = run / "config.json"
    if config.is_file():
        return int(json.loads(config.read_text())["seed"])
    report = run / "REPORT.md"
    if report.is_file():
        m = re.search(r"\bseed ([0-9]+)\b", report.read_text())
        if m:
            return int(m.group(1))
    return None


def plan_moves(root: Path, first_seed: int, mapping) -> list[tuple[Path, Path]]:
    """(old, new) for every file under ``root`` that ``mapping`` moves."""
    moves = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        new = mapping(rel, first_seed)
        if new != rel:
            moves.append((path, root / new))
    return moves


def apply_moves(moves: list[tuple[Path, Path]], root: Path) -> None:
    clashes = [str(new) for _, new in moves if new.exists()]
    if clashes:
        raise SystemExit(
            f"error: {len(clashes)} target file(s) exist already, e.g. {clashes[0]}; nothing was moved. Fix: the "
            "run holds both layouts; remove the copies you do not want, then run this script again."
        )
    for old, new in moves:
        new.parent.mkdir(parents=True, exist_ok=True)
        old.rename(new)
    for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a run's results directory, e.g. results/cpu-2026-12-06")
    ap.add_argument("--work-dir", type=Path, help="the run's work directory (checkpoints), e.g. work/<run>")
    ap.add_argument("--seed", type=int, help="the run's first seed (default: from its config.json or REPORT.md)")
    ap.add_argument("--dry-run", action="store_true", help="list the moves, move nothing")
    a = ap.parse_args(argv)
    if not a.run.is_dir():
        print(f"error: {a.run} is not a directory; fix: give a run's results directory", file=sys.stderr)
        return 2
    seed = a.seed if a.seed is not None else first_seed_of(a.run)
    if seed is None:
        print(
            f"error: {a.run} has no config.json and its REPORT.md names no seed; fix: pass --seed (the run's "
            "config 'seed')",
            file=sys.stderr,
        )
        return 2
    roots = [(a.run, new_result_path)] + ([(a.work_dir, new_work_path)] if a.work_dir else [])
    for root, mapping in roots:
        moves = plan_moves(root, seed, mapping)
        for old, new in moves:
            if a.dry_run:
                print(f"{old.relative_to(root)} -> {new.relative_to(root)}")
        if not a.dry_run:
            apply_moves(moves, root)
        print(f"{root}: {len(moves)} file(s) {'to move' if a.dry_run else 'moved'} (first seed {seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
