#!/usr/bin/env python
"""Compare two ``snakemake -n -p`` outputs job by job, paths and rule names aside: an older plan's paths are
first moved to today's layout (scripts/migrate_run_paths.py, so this also checks that mapping), the seeds'
former rule names (``seed_<rule>``) and the numbered training groups (``<group>_<n>``) count as their rule, and
the interpreter's and the checkout's paths in each command are left out. Every other field of every job
(outputs, inputs, log, benchmark, threads, resources, priority and the shell command) must match.

    python scripts/compare_plans.py OLD_PLAN.txt NEW_PLAN.txt [--first-seed 1234]

Exit status 0 when both plans hold the same jobs; otherwise each job found in one plan only is printed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from migrate_run_paths import new_result_path, new_work_path  # noqa: E402

RULE = re.compile(r"^(?:local)?(?:rule|checkpoint) (?P<rule>\w+):$")
FIELD = re.compile(r"^    (?P<key>\w+): (?P<value>.*)$")
PATH = re.compile(r"(?<![\w/.-])(?P<root>results|work)/(?P<run>[^/\s'\",]+)/(?P<rel>[^\s'\",]+)")
KEPT = ("input", "output", "log", "benchmark", "threads", "resources", "priority")


def rule_name(rule: str) -> str:
    rule = rule.removeprefix("seed_")
    return re.sub(r"(_group)_[0-9]+$", r"\1", rule)


def migrate_paths(text: str, first_seed: int) -> str:
    def one(m: re.Match[str]) -> str:
        mapping = new_result_path if m["root"] == "results" else new_work_path
        return f"{m['root']}/{m['run']}/{mapping(m['rel'], first_seed)}"

    return PATH.sub(one, text)


def parse_jobs(text: str, first_seed: int | None) -> Counter[tuple[str, ...]]:
    """Each job of a dry run as a tuple of its normalised fields (paths migrated when ``first_seed`` is set)."""
    jobs: Counter[tuple[str, ...]] = Counter()
    current: dict[str, str] | None = None

    def close() -> None:
        if current is not None:
            jobs[tuple(f"{k}: {current.get(k, '')}" for k in ("rule", *KEPT, "shell"))] += 1

    for line in text.splitlines():
        m = RULE.match(line)
        if m:
            close()
            current = {"rule": rule_name(m["rule"])}
            continue
        if current is None:
            continue
        f = FIELD.match(line)
        value = f["value"] if f else line.removeprefix("Shell command: ") if line.startswith("Shell command:") else None
        if value is None:
            continue
        key = f["key"] if f else "shell"
        if key not in (*KEPT, "shell"):
            continue
        value = re.sub(r"PYTHONPATH=\S+ \S+", "PYTHONPATH=<src> <python>", value)
        value = re.sub(r"/\S+/(config/[\w.-]+\.yaml)", r"<checkout>/\1", value)
        if first_seed is not None:
            value = migrate_paths(value, first_seed)
        if key in ("input", "output"):
            value = ", ".join(sorted(value.split(", ")))
        current[key] = value
    close()
    return jobs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old", type=Path, help="the older plan (snakemake -n -p output)")
    ap.add_argument("new", type=Path, help="today's plan")
    ap.add_argument("--first-seed", type=int, default=1234, help="the profile's first seed (config 'seed')")
    a = ap.parse_args(argv)
    old = parse_jobs(a.old.read_text(), a.first_seed)
    new = parse_jobs(a.new.read_text(), None)
    only_old, only_new = old - new, new - old
    for title, jobs in (("only in the old plan", only_old), ("only in the new plan", only_new)):
        for job, n in sorted(jobs.items()):
            print(f"{title} (x{n}):\n  " + "\n  ".join(job))
    rules = Counter(j[0] for j in new.elements())
    print(
        f"{sum(old.values())} jobs in the old plan, {sum(new.values())} in the new; "
        f"{sum(only_old.values())} only in the old, {sum(only_new.values())} only in the new; "
        "rules: " + ", ".join(f"{r.removeprefix('rule: ')} {n}" for r, n in sorted(rules.items()))
    )
    return 1 if only_old or only_new else 0


if __name__ == "__main__":
    sys.exit(main())
