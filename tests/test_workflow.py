"""What `snakemake -n` plans for each profile."""

import re
import subprocess
import sys
from collections import Counter

import pytest


def plan(repo_root, tmp_path, *args):
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--cores", "8", "-s", str(repo_root / "Snakefile"),
         "--directory", str(tmp_path), *args],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    counts = Counter()
    for line in (proc.stdout + proc.stderr).splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) not in ("total", "job", "count"):
            counts[m.group(1)] = int(m.group(2))
    return counts


def test_default_config_plans_the_papers_jobs(repo_root, tmp_path):
    counts = plan(repo_root, tmp_path)
    # Per dataset: a teacher and a distilled network for each of the 9 temperatures (the T=1 teacher is the
    # undistilled baseline), soft labels per temperature, one attack per deployed model (10), one data check.
    assert counts == Counter(prepare_data=2, train_teacher=18, soft_labels=18, train_student=18, attack=20, report=1, all=1)


def test_cpu_profile_adds_the_warm_start(repo_root, tmp_path):
    counts = plan(repo_root, tmp_path, "--configfile", str(repo_root / "config" / "cpu.yaml"))
    assert counts["warm_start"] == 2 and counts["attack"] == 20 and counts["train_student"] == 18


def test_smoke_profile_is_small(repo_root, tmp_path):
    counts = plan(repo_root, tmp_path, "--configfile", str(repo_root / "config" / "smoke.yaml"))
    assert counts["attack"] == 6 and counts["train_teacher"] == 4 and "warm_start" not in counts
