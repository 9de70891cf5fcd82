"""Fault injection on a tiny run of the real workflow (config/smoke.yaml cut down by tiny.yaml): a full disk,
Ctrl-C (SIGINT to the whole process group) during training, kill -9 during the attacks, then --unlock and a
rerun, whose results must equal an uninterrupted run's (scripts/compare_runs.py: times, hosts and paths aside).

The full disk is a 3 MB tmpfs under the run's work/ where the tests run as root; elsewhere it is left out with
a printed reason (tests/test_hostile_disk.py covers the same code with a write raising ENOSPC)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.faults

TINY = Path(__file__).with_name("tiny.yaml")
RUN = "faults"


def _snakemake(repo_root: Path, wd: Path, data_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "snakemake", "--cores", "2", "-s", str(repo_root / "Snakefile"), "--directory", str(wd),
        "--configfile", str(repo_root / "config" / "smoke.yaml"), str(TINY),
        "--config", f"data_dir={data_dir}", "download=false", "verify_checksums=false", *extra,
    ]  # fmt: skip


def _run(cmd: list[str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _interrupt_when(cmd: list[str], ready, sig: int, timeout: float = 300) -> bool:
    """Start ``cmd`` in its own process group; when ``ready()`` holds, send ``sig`` to the whole group (as a
    terminal's Ctrl-C does) and wait. False if the run ended first."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if ready():
                os.killpg(proc.pid, sig)
                proc.wait(timeout=180)
                return True
            time.sleep(0.2)
        return False
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, repo_root, tiny_data_dir) -> Path:
    wd = tmp_path_factory.mktemp("uninterrupted")
    proc = _run(_snakemake(repo_root, wd, tiny_data_dir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return wd / "results" / RUN


def _small_tmpfs(where: Path) -> bool:
    if os.geteuid() != 0:
        print("not root: the full-disk step is left out (tests/test_hostile_disk.py covers it with ENOSPC)")
        return False
    where.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True).returncode:
        print("mount refused: the full-disk step is left out (tests/test_hostile_disk.py covers it with ENOSPC)")
        return False
    return True


def test_full_disk_ctrl_c_and_kill_9_then_a_rerun_equal_an_uninterrupted_run(
    reference, repo_root, tiny_data_dir, tmp_path
):
    wd = tmp_path / "interrupted"
    cmd = _snakemake(repo_root, wd, tiny_data_dir)
    work = wd / "work"
    mounted = _small_tmpfs(work)
    try:
        if mounted:  # 1. the disk fills while the first checkpoints and resume files are written
            proc = _run(cmd)
            assert proc.returncode != 0
            logs = "".join(p.read_text() for p in (wd / "results" / RUN / "logs").rglob("*.log"))
            assert "no space left to write it" in logs and "free on that file system" in logs, logs[-3000:]
            assert "Traceback" not in logs and "iostream error" not in logs
            subprocess.run(["mount", "-o", "remount,size=256m", str(work)], check=True)
        # 2. Ctrl-C once a network's checkpoint is written
        models = work / RUN / "mnist"  # checkpoints: work/<run>/<dataset>/seed<s>/
        assert _interrupt_when(cmd, lambda: any(models.glob("seed*/teacher_T*.pt")), signal.SIGINT), "ended first"
        # 3. kill -9 (Snakemake and its jobs) once the attacks have begun
        attacks = wd / "results" / RUN / "attacks"
        assert _interrupt_when(cmd, lambda: attacks.exists() and any(attacks.rglob("*")), signal.SIGKILL)
        # 4. --unlock (the run lock is stale: its process is gone) and the rerun
        assert _run([*cmd, "--unlock"]).returncode == 0
        proc = _run(cmd)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(work)], check=False)
    compare = _run(
        [sys.executable, str(repo_root / "scripts" / "compare_runs.py"), str(reference), str(wd / "results" / RUN)]
    )
    assert compare.returncode == 0, compare.stdout[-3000:] + compare.stderr[-2000:]
