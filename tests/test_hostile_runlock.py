"""A second live run on one run name is refused, also after Snakemake's --unlock; a dead run's lock is stale."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from distillbench import runlock


def _holder(run_dir, repo_root):
    """Another live process holding the run's lock."""
    code = (
        "import sys, time; from distillbench import runlock; runlock.acquire(sys.argv[1]); print('held', flush=True);"
        " time.sleep(120)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(run_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(repo_root / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_run_keeps_its_lock_and_a_dead_ones_is_taken_over(tmp_path, repo_root):
    run_dir = tmp_path / "results" / "r1"
    other = _holder(run_dir, repo_root)
    try:
        with pytest.raises(runlock.RunLockedError) as exc:
            runlock.acquire(run_dir)
        msg = str(exc.value)
        assert f"Snakemake process {other.pid}" in msg and f"ps -p {other.pid}" in msg and "fix:" in msg
    finally:
        other.kill()
        other.wait()
    assert runlock.acquire(run_dir) == runlock.lock_path(run_dir), "the killed run's lock is stale"
    assert json.loads(runlock.lock_path(run_dir).read_text())["pid"] != other.pid
    runlock.release(run_dir)
    assert not runlock.lock_path(run_dir).exists()


def test_a_lock_from_another_host_is_refused_with_what_to_check(tmp_path):
    path = runlock.lock_path(tmp_path)
    path.write_text(json.dumps({"host": "elsewhere", "pid": 1, "start": None, "started": time.time()}))
    with pytest.raises(runlock.RunLockedError, match="check on host elsewhere"):
        runlock.acquire(tmp_path)
    runlock.release(tmp_path)
    assert path.exists(), "release never drops another process's lock"


def test_a_half_written_lock_is_stale(tmp_path):
    runlock.lock_path(tmp_path).write_text('{"host": "x", "pi')
    assert runlock.acquire(tmp_path).exists()


@pytest.mark.faults
def test_snakemake_refuses_a_second_live_run_after_unlock(tmp_path, repo_root, tiny_data_dir):
    """The real workflow, after --unlock, with the first run (here: a process holding its lock) still going."""
    run = "locked"
    other = _holder(tmp_path / "results" / run, repo_root)
    args = [sys.executable, "-m", "snakemake", "--cores", "1", "-s", str(repo_root / "Snakefile")]
    args += ["--directory", str(tmp_path), f"results/{run}/data/mnist.json", "--config", f"run_name={run}"]
    args += [f"data_dir={tiny_data_dir}", "download=false", "verify_checksums=false", "run_datasets=[mnist]"]
    try:
        subprocess.run([*args, "--unlock"], capture_output=True, text=True, timeout=300, check=True)
        proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    finally:
        other.kill()
        other.wait()
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "this run is already being run by" in out, out[-2000:]
    assert not (tmp_path / "results" / run / "data" / "mnist.json").exists(), "a job ran"
