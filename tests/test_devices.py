"""GPU placement without a GPU: select_device's rules, flock slots across processes, a crashed job
freeing its GPU, SLURM's CUDA_VISIBLE_DEVICES, and Snakemake's `--resources gpu=2` with real jobs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from distillbench.devices import DeviceError, claim_gpu_slot, select_device  # noqa: E402
from distillbench.gpu_sharing import scale_gpu_limit  # noqa: E402

ENV_SRC = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

# A child process that claims a device like a workflow job and reports it, then holds it until killed
# (or for HOLD seconds).
HOLDER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from distillbench.devices import select_device
    env = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    claim = select_device("auto", cuda_count=int(sys.argv[2]), env=env, lock_dir=Path(sys.argv[1]))
    print(json.dumps({"device": claim.device, "reason": claim.reason}), flush=True)
    time.sleep(float(os.environ.get("HOLD", "60")))
    """
)


def _spawn(lock_dir: Path, cuda_count: int, env: dict | None = None, hold: float = 60) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_dir), str(cuda_count), json.dumps(env or {})],
        stdout=subprocess.PIPE,
        text=True,
        env={**ENV_SRC, "HOLD": str(hold)},
    )
    line = proc.stdout.readline()
    assert line, f"holder exited early with {proc.wait()}"
    return proc, json.loads(line)


def _stop(*procs: subprocess.Popen) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


# --- the decision rules -----------------------------------------------------------------------------
def test_cpu_when_requested_or_no_gpu(tmp_path):
    assert select_device("cpu", cuda_count=4, env={}, lock_dir=tmp_path).device == "cpu"
    claim = select_device("auto", cuda_count=0, env={}, lock_dir=tmp_path)
    assert (claim.device, claim.reason) == ("cpu", "no CUDA device visible")
    with pytest.raises(RuntimeError, match="no CUDA device is visible") as exc:
        select_device("cuda", cuda_count=0, env={}, lock_dir=tmp_path)
    from distillbench.errors import UserError

    assert isinstance(exc.value, UserError)  # a job prints it as one paragraph, without a traceback


def test_slurm_job_uses_its_gpu_and_logs_it(tmp_path):
    env = {"SLURM_JOB_ID": "4711", "CUDA_VISIBLE_DEVICES": "3"}
    claim = select_device("auto", cuda_count=1, env=env, lock_dir=tmp_path)
    assert claim.device == "cuda:0"
    assert "SLURM job 4711" in claim.reason and "CUDA_VISIBLE_DEVICES=3" in claim.reason
    # Two SLURM jobs on one node each see only their own GPU: both use cuda:0, no local locks involved.
    other = select_device(
        "auto", cuda_count=1, env={"SLURM_JOB_ID": "4712", "CUDA_VISIBLE_DEVICES": "5"}, lock_dir=tmp_path
    )
    assert other.device == "cuda:0" and claim.lock_file is None and other.lock_file is None
    # A SLURM job on a node where torch sees no GPU still logs what SLURM gave it.
    cpu = select_device("auto", cuda_count=0, env=env, lock_dir=tmp_path)
    assert cpu.device == "cpu" and "CUDA_VISIBLE_DEVICES=3" in cpu.reason
    with pytest.raises(RuntimeError, match="SLURM job 4711"):
        select_device("cuda", cuda_count=0, env=env, lock_dir=tmp_path)


def test_local_jobs_get_distinct_gpus_then_share(tmp_path):
    a = select_device("auto", cuda_count=2, env={}, lock_dir=tmp_path)
    b = select_device("auto", cuda_count=2, env={}, lock_dir=tmp_path)
    c = select_device("auto", cuda_count=2, env={}, lock_dir=tmp_path)
    try:
        assert {a.device, b.device} == {"cuda:0", "cuda:1"}
        assert c.device in {"cuda:0", "cuda:1"} and "busy" in c.reason and c.lock_file is None
        a.release()
        d = select_device("auto", cuda_count=2, env={}, lock_dir=tmp_path)
        assert d.device == a.device, "a released slot is free again"
        d.release()
    finally:
        b.release()


def test_jobs_per_gpu_fills_gpus_evenly(tmp_path):
    """2 GPUs x 4 slots: 8 concurrent jobs, 4 on each GPU, placed alternately; the 9th shares."""
    claims = [select_device("auto", cuda_count=2, env={}, lock_dir=tmp_path, jobs_per_gpu=4) for _ in range(8)]
    try:
        assert [c.device for c in claims] == ["cuda:0", "cuda:1"] * 4
        assert all(c.lock_file is not None and "4 slots per GPU" in c.reason for c in claims)
        extra = select_device("auto", cuda_count=2, env={}, lock_dir=tmp_path, jobs_per_gpu=4)
        assert "all 8 GPU slots busy" in extra.reason and extra.lock_file is None
        claims[5].release()  # a job on GPU 1 ends: the next job goes to GPU 1, which has a free slot
        again = select_device("auto", cuda_count=2, env={}, lock_dir=tmp_path, jobs_per_gpu=4)
        assert again.device == "cuda:1" and again.lock_file is not None
        again.release()
    finally:
        for c in claims:
            c.release()


def test_jobs_per_gpu_one_keeps_the_old_lock_files(tmp_path):
    a = select_device("auto", cuda_count=2, env={}, lock_dir=tmp_path, jobs_per_gpu=1)
    b = select_device("auto", cuda_count=2, env={}, lock_dir=tmp_path, jobs_per_gpu=2)
    try:
        assert (a.device, b.device) == ("cuda:0", "cuda:1")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["gpu0.lock", "gpu1.lock"]
    finally:
        a.release()
        b.release()
    with pytest.raises(DeviceError, match="jobs_per_gpu"):
        select_device("auto", cuda_count=1, env={}, lock_dir=tmp_path, jobs_per_gpu=0)


def test_scale_gpu_limit_on_snakemakes_resources():
    resources = pytest.importorskip("snakemake.resources", reason="snakemake not installed").Resources
    res = resources.from_mapping({"gpu": 2, "_cores": 8})
    assert scale_gpu_limit(res, 4) == (2, 8) and res["gpu"].value == 8
    assert scale_gpu_limit(resources.from_mapping({"_cores": 8}), 4) is None  # no limit given: none made


def test_physical_gpu_names_follow_cuda_visible_devices(tmp_path):
    claim = select_device("auto", cuda_count=2, env={"CUDA_VISIBLE_DEVICES": "6,7"}, lock_dir=tmp_path)
    assert claim.device == "cuda:0" and "physical GPU 6" in claim.reason
    claim.release()


def test_claim_gpu_slot_returns_none_when_all_held(tmp_path):
    first = claim_gpu_slot(1, tmp_path)
    assert first is not None and first[0] == 0
    assert claim_gpu_slot(1, tmp_path) is None
    first[1].close()
    again = claim_gpu_slot(1, tmp_path)
    assert again is not None
    again[1].close()


# --- across processes -------------------------------------------------------------------------------
def test_concurrent_processes_get_distinct_gpus(tmp_path):
    p1, c1 = _spawn(tmp_path, 2)
    p2, c2 = _spawn(tmp_path, 2)
    try:
        assert {c1["device"], c2["device"]} == {"cuda:0", "cuda:1"}, (c1, c2)
        assert all("local GPU slot" in c["reason"] for c in (c1, c2))
    finally:
        _stop(p1, p2)


def test_crashed_job_frees_its_gpu(tmp_path):
    p1, c1 = _spawn(tmp_path, 2)
    p2, c2 = _spawn(tmp_path, 2)
    assert {c1["device"], c2["device"]} == {"cuda:0", "cuda:1"}
    crashed = c1["device"]
    os.kill(p1.pid, signal.SIGKILL)  # no release(), no cleanup: the kernel must drop the flock
    p1.wait()
    p3, c3 = _spawn(tmp_path, 2)
    try:
        assert c3["device"] == crashed, f"the killed job's {crashed} should be free, got {c3}"
        assert "busy" not in c3["reason"]
    finally:
        _stop(p2, p3)


def test_slurm_allocation_with_several_gpus_places_jobs_apart(tmp_path):
    """`salloc --gpus=2` + the local executor: jobs of one allocation get distinct GPUs; another
    allocation's locks are separate."""
    alloc = {"SLURM_JOB_ID": "900", "CUDA_VISIBLE_DEVICES": "2,3"}
    p1, c1 = _spawn(tmp_path, 2, alloc)
    p2, c2 = _spawn(tmp_path, 2, alloc)
    p3, c3 = _spawn(tmp_path, 2, {"SLURM_JOB_ID": "901", "CUDA_VISIBLE_DEVICES": "0,1"})
    try:
        assert {c1["device"], c2["device"]} == {"cuda:0", "cuda:1"}, (c1, c2)
        assert all("SLURM job 900" in c["reason"] for c in (c1, c2))
        assert {"physical GPU 2", "physical GPU 3"} == {c["reason"].split("(")[-1].rstrip(")") for c in (c1, c2)}
        assert c3["device"] == "cuda:0" and "busy" not in c3["reason"]
    finally:
        _stop(p1, p2, p3)


# --- Snakemake --resources gpu=2 with real concurrent jobs -------------------------------------------
SNAKEFILE = textwrap.dedent(
    """
    import sys
    N = 6
    rule all:
        input: expand("out/{i}.json", i=range(N))
    rule job:
        output: "out/{i}.json"
        resources: gpu=1
        shell:
            "{PY} -c 'import json, sys, time; from pathlib import Path; "
            "from distillbench.devices import select_device; t0 = time.time(); "
            "c = select_device(\\"auto\\", cuda_count=2, env={{}}, lock_dir=Path(sys.argv[1])); "
            "time.sleep(1.5); "
            "json.dump(dict(device=c.device, reason=c.reason, start=t0, end=time.time()), open(sys.argv[2], \\"w\\")); "
            "c.release()' {LOCKS} {output}"
    """
)


def test_snakemake_resources_gpu2_places_concurrent_jobs_on_distinct_gpus(tmp_path):
    snakemake = Path(sys.executable).with_name("snakemake")
    if not snakemake.exists():
        pytest.skip(f"no snakemake next to {sys.executable}")
    (tmp_path / "Snakefile").write_text(f"PY = {sys.executable!r}\nLOCKS = {str(tmp_path / 'locks')!r}\n" + SNAKEFILE)
    cmd = [str(snakemake), "--cores", "4", "--resources", "gpu=2", "--workflow-profile", "none", "-q"]
    res = subprocess.run(cmd, cwd=tmp_path, env=ENV_SRC, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    jobs = [json.loads(p.read_text()) for p in sorted((tmp_path / "out").glob("*.json"))]
    assert len(jobs) == 6
    assert all("busy" not in j["reason"] for j in jobs), jobs  # never more jobs than GPUs
    overlapping = [
        (a, b) for i, a in enumerate(jobs) for b in jobs[i + 1 :] if a["start"] < b["end"] and b["start"] < a["end"]
    ]
    assert overlapping, "with --cores 4 --resources gpu=2 some jobs should have run at the same time"
    for a, b in overlapping:
        assert a["device"] != b["device"], (a, b)
    events = sorted([(j["start"], 1) for j in jobs] + [(j["end"], -1) for j in jobs], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak <= 2, f"{peak} GPU jobs at once with --resources gpu=2"


SHARED_SNAKEFILE = textwrap.dedent(
    """
    import sys
    from distillbench.gpu_sharing import scale_gpu_limit
    if workflow.is_main_process:
        scale_gpu_limit(workflow.global_resources, 2)
    N = 8
    rule all:
        input: expand("out/{i}.json", i=range(N))
    rule job:
        output: "out/{i}.json"
        resources: gpu=1
        shell:
            "{PY} -c 'import json, sys, time; from pathlib import Path; "
            "from distillbench.devices import select_device; t0 = time.time(); "
            "c = select_device(\\"auto\\", cuda_count=2, env={{}}, lock_dir=Path(sys.argv[1]), jobs_per_gpu=2); "
            "time.sleep(2.5); "
            "json.dump(dict(device=c.device, reason=c.reason, start=t0, end=time.time()), open(sys.argv[2], \\"w\\")); "
            "c.release()' {LOCKS} {output}"
    """
)


def test_snakemake_gpu2_with_two_jobs_per_gpu_runs_four_jobs_two_per_gpu(tmp_path):
    """`--resources gpu=2` still means two GPUs: with jobs_per_gpu 2, at most 4 jobs at once, 2 per GPU."""
    snakemake = Path(sys.executable).with_name("snakemake")
    if not snakemake.exists():
        pytest.skip(f"no snakemake next to {sys.executable}")
    (tmp_path / "Snakefile").write_text(
        f"PY = {sys.executable!r}\nLOCKS = {str(tmp_path / 'locks')!r}\n" + SHARED_SNAKEFILE
    )
    cmd = [str(snakemake), "--cores", "8", "--resources", "gpu=2", "--workflow-profile", "none", "-q"]
    res = subprocess.run(cmd, cwd=tmp_path, env=ENV_SRC, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    jobs = [json.loads(p.read_text()) for p in sorted((tmp_path / "out").glob("*.json"))]
    assert len(jobs) == 8 and all("busy" not in j["reason"] for j in jobs), jobs

    def peak(js: list[dict]) -> int:
        events = sorted([(j["start"], 1) for j in js] + [(j["end"], -1) for j in js], key=lambda e: (e[0], e[1]))
        running = top = 0
        for _, step in events:
            running += step
            top = max(top, running)
        return top

    assert 2 < peak(jobs) <= 4, f"{peak(jobs)} GPU jobs at once with --resources gpu=2 and 2 jobs per GPU"
    for dev in ("cuda:0", "cuda:1"):
        assert peak([j for j in jobs if j["device"] == dev]) <= 2, dev
