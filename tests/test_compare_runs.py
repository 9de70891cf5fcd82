"""scripts/compare_runs.py: two runs' records compared without their times, hosts and paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_runs.py"


def write_run(root: Path, *, seconds: float, host: str, success: int = 1, accuracy: float = 0.98) -> Path:
    (root / "attacks").mkdir(parents=True)
    (root / "logs").mkdir()
    (root / "attacks" / "baseline.csv").write_text(f"sample_index,target,success,seconds\n0,1,{success},{seconds}\n")
    summary = {"test_accuracy": accuracy, "seconds": seconds, "host": host, "init_from": f"work/{host}/ws.pt"}
    (root / "attacks" / "baseline.json").write_text(json.dumps(summary))
    (root / "logs" / "job.log").write_text(f"took {seconds} s on {host}\n")
    return root


def compare(a: Path, b: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(a), str(b)], capture_output=True, text=True, timeout=60)


def test_runs_that_differ_only_in_times_hosts_and_paths_are_equal(tmp_path):
    a = write_run(tmp_path / "a", seconds=1.5, host="vm1")
    b = write_run(tmp_path / "b", seconds=9.0, host="gpu7")
    proc = compare(a, b)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip() == "2 CSV and JSON files compared (times, hosts and paths left out): 0 differ"


def test_a_changed_number_or_a_missing_file_is_named(tmp_path):
    a = write_run(tmp_path / "a", seconds=1.5, host="vm1")
    b = write_run(tmp_path / "b", seconds=1.5, host="vm1", success=0, accuracy=0.97)
    proc = compare(a, b)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "attacks/baseline.csv: success",
        "attacks/baseline.json: test_accuracy",
        "2 CSV and JSON files compared (times, hosts and paths left out): 2 differ",
    ]
    (b / "attacks" / "baseline.json").unlink()
    assert f"attacks/baseline.json: missing from {b}" in compare(a, b).stdout
