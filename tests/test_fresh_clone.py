"""What a newcomer's `snakemake -n` plans in a fresh clone of the repository as committed.

Unlike tests/test_workflow.py (which plans in an empty working directory), this clones the
repository, committed results and REPORT.md included, and runs Snakemake inside the clone exactly as
README says: nothing committed may make any profile's run look done (a committed REPORT.md once
satisfied `rule all`, and the paper profile planned nothing).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from test_workflow import CPU_PLAN, PAPER_PLAN, SMOKE_PLAN, grouped, parse_rule_counts


@pytest.fixture(scope="module")
def clone(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None or not (repo_root / ".git").exists():
        pytest.skip(f"{repo_root} is not a git checkout (or git is missing): cannot clone it as committed")
    dest = tmp_path_factory.mktemp("fresh") / "distillbench"
    proc = subprocess.run(["git", "clone", "--quiet", str(repo_root), str(dest)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return dest


def plan_in(clone: Path, *args: str) -> Counter:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", *args],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Nothing to be done" not in proc.stdout + proc.stderr
    return parse_rule_counts(proc.stdout + proc.stderr)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), grouped(PAPER_PLAN)),  # the main command's plan: no option at all (the paper profile trains in groups)
        (("--cores", "8", "--resources", "gpu=2"), grouped(PAPER_PLAN)),  # README's main command
        (("--configfile", "config/cpu.yaml"), CPU_PLAN),
        (("--configfile", "config/smoke.yaml"), SMOKE_PLAN),
    ],
    ids=["default", "readme-main-command", "cpu", "smoke"],
)
def test_fresh_clone_plans_every_job(clone: Path, args: tuple[str, ...], expected: Counter) -> None:
    assert plan_in(clone, *args) == expected


def test_committed_report_is_not_a_target(clone: Path) -> None:
    """The top-level REPORT.md a reader opens first is a published copy, not any run's output."""
    report = (clone / "REPORT.md").read_text()
    assert "This is the report of run" in report
    snakefile = (clone / "Snakefile").read_text()
    assert "PLAN.report" in snakefile and 'config["report"]' not in snakefile
