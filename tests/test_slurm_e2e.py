"""SLURM submission, tested against a real single-node SLURM controller.

The cluster tests bring SLURM up with tests/slurm/up.sh (Debian's slurm-wlm + munge, as root, 2 fake
GPUs as GRES) and tear it down with tests/slurm/down.sh. They are skipped, with the reason, where the
machine is not root or can neither find nor install SLURM (apt-get). On a tiny MNIST/CIFAR-10
(tests/datasets_on_disk.py) they run the smoke profile twice at the same time, locally (`--cores 2`) and
through `--workflow-profile workflow/profiles/slurm`, killing one SLURM job mid-run, and check:
  * every non-local job ran as a SLURM job of this run (job id and device in its log);
  * never more than 2 GPU jobs at once (2 GPUs), concurrent GPU jobs on distinct CUDA_VISIBLE_DEVICES;
  * the killed job was reported (SLURM log path) and retried; the summary equals the local run's;
  * a rerun does nothing; a job killed with no retries left stops the run with its log paths, and the
    next run redoes only that job (on the partition and GPU model chosen by environment variables).
The profile tests at the top need no cluster.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from datasets_on_disk import write_cifar10, write_mnist  # tests/ is on sys.path (conftest.py)

ROOT = Path(__file__).resolve().parents[1]
SLURM_SCRIPTS = ROOT / "tests" / "slurm"

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PROFILE = "workflow/profiles/slurm"
GPU_RULES = ("warm_start", "train_teacher", "soft_labels", "train_student", "attack")
CPU_RULES = ("gradients",)  # SLURM jobs that ask for no GPU
LOCAL_RULES = ("prepare_data", "report")
CONF_MARKER = "# written by distillbench tests/slurm/up.sh"
PROFILE_ENV = ("DISTILLBENCH_SLURM_PARTITION", "DISTILLBENCH_SLURM_ACCOUNT", "DISTILLBENCH_SLURM_GPU_MODEL")

# The smoke profile on the tiny data, smaller still (one distillation temperature, fewer samples and
# features, the exact attack numerics only, one seed, no adaptive attacks, robustness, length study, recipe study
# or other papers) so that its 12 SLURM jobs fit
# in a few minutes on 2 cores.
OVERLAY = """\
temperatures: [20]
seeds: [1234]
length_study: null
recipe_study: {enabled: false}
reproductions: [papernot2016]
datasets:
  mnist: {max_features: 20, train_subset: 200, test_subset: 100,
          attack: {samples: 2, numerics: exact, compare_numerics: []}, adaptive: null, robustness: null}
  cifar10: {max_features: 20, train_subset: 200, test_subset: 100,
            attack: {samples: 1, numerics: exact, compare_numerics: []}, adaptive: null, robustness: null}
execution:
  resources:
    train: {mem_mb: 500, runtime: 10, threads: 1}
    attack: {mem_mb: 800, runtime: 10, threads: 1}
"""
# Test-only executor settings: the test cluster has no accounting database (sacct fails), and a short
# first status check keeps the test fast (the default, 40 s, suits real clusters).
SLURM_TEST_ARGS = ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2"]
# Seconds a whole workflow run may take (raise it on a loaded machine).
RUN_TIMEOUT = float(os.environ.get("DISTILLBENCH_SLURM_TEST_TIMEOUT", "480"))


def copy_workflow(dest: Path) -> Path:
    """What a user checks out: the workflow without results, work dirs or .snakemake."""
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("Snakefile", "config", "workflow", "profiles", "src", "benchmark"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore, symlinks=True)
        else:
            shutil.copy2(src, dest / name)
    return dest


def run_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_ENV and not k.startswith("SLURM_")}
    env.update(extra)
    return env


def dry_run(workdir: Path, *args: str, env: dict | None = None) -> str:
    res = subprocess.run(
        [str(SNAKEMAKE), "-n", *args], cwd=workdir, env=env or run_env(), capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout + res.stderr


JOB_RE = re.compile(r"^(local)?rule (\w+):\n((?:    .*\n)+)", re.M)


def planned_jobs(out: str) -> list[tuple[str, str]]:
    """(rule, outputs) of every job a dry run plans."""
    jobs = []
    for m in JOB_RE.finditer(out):
        outputs = re.search(r"^    output: (.*)$", m.group(3), re.M)
        jobs.append((m.group(2), outputs.group(1) if outputs else ""))
    return sorted(jobs)


def job_stats(out: str) -> dict[str, int]:
    block = out.split("Job stats:", 1)[1]
    rows = re.findall(r"^(\w+)\s+(\d+)$", block, re.M)
    stats = {}
    for name, count in rows:
        if name in stats:  # a second table (e.g. the final summary) follows
            break
        stats[name] = int(count)
    return stats


# --- the profile (no cluster needed) ------------------------------------------------------------------
@pytest.mark.parametrize("configfile", [None, "config/smoke.yaml"])
def test_slurm_profile_plans_the_same_jobs_as_the_local_default(tmp_path, configfile):
    wd = copy_workflow(tmp_path / "wf")
    args = ["--configfile", configfile] if configfile else []
    local = dry_run(wd, *args)
    slurm = dry_run(wd, *args, "--workflow-profile", PROFILE)
    assert "Using workflow specific profile workflow/profiles/slurm" in slurm
    assert planned_jobs(slurm) == planned_jobs(local)
    assert job_stats(slurm) == job_stats(local)
    assert job_stats(local)["total"] == len(planned_jobs(local)) > 0
    if (wd / "workflow/profiles/default/config.yaml").exists():  # the local profile plans them too
        default = dry_run(wd, *args, "--workflow-profile", "workflow/profiles/default")
        assert planned_jobs(default) == planned_jobs(local)


def test_partition_account_and_gpu_model_come_from_the_environment(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    chosen = dry_run(
        wd,
        "--configfile",
        "config/smoke.yaml",
        "--workflow-profile",
        PROFILE,
        env=run_env(
            DISTILLBENCH_SLURM_PARTITION="gpu",
            DISTILLBENCH_SLURM_ACCOUNT="proj123",
            DISTILLBENCH_SLURM_GPU_MODEL="a100",
        ),
    )
    grouped = dry_run(
        wd,
        "--configfile",
        "config/smoke.yaml",
        "--workflow-profile",
        PROFILE,
        "--config",
        "execution={train_in_groups: true}",
        env=run_env(DISTILLBENCH_SLURM_GPU_MODEL="a100"),
    )
    plain = dry_run(wd, "--configfile", "config/smoke.yaml", "--workflow-profile", PROFILE)
    gpu_rules = set()
    for out in (chosen, grouped):
        for m in JOB_RE.finditer(out):
            rule, res = m.group(2), re.search(r"^    resources: (.*)$", m.group(3), re.M).group(1)
            if out is chosen:
                assert "slurm_partition=gpu" in res and "slurm_account=proj123" in res, res
            # Every GPU rule, and only those, asks for the GPU model.
            assert ("gpu_model=a100" in res) == ("gpu=1" in res), (rule, res)
            gpu_rules |= {rule} if "gpu=1" in res else set()
    assert {"train_teacher", "soft_labels", "train_student", "attack", "adaptive_attack"} <= gpu_rules
    assert {"train_teachers_group", "train_students_group", "paper_train", "length_train"} <= gpu_rules
    assert not {"prepare_data", "report", "gradients"} & gpu_rules
    assert not re.search(r"slurm_partition|slurm_account|gpu_model", plain)


# --- the real cluster ---------------------------------------------------------------------------------
def _cluster_skip_reason() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"the SLURM end-to-end test needs Linux, not {sys.platform}"
    if os.environ.get("DISTILLBENCH_SKIP_SLURM"):
        return "DISTILLBENCH_SKIP_SLURM is set"
    if os.geteuid() != 0:
        return "not root: tests/slurm/up.sh must install SLURM (apt) and start munged, slurmctld and slurmd as root"
    have = all(shutil.which(t) for t in ("slurmctld", "slurmd", "sbatch", "munged"))
    if not have and not shutil.which("apt-get"):
        return "SLURM (slurmctld, slurmd, slurm-client, munge) is not installed and there is no apt-get to install it"
    conf = Path("/etc/slurm/slurm.conf")
    if conf.exists() and CONF_MARKER not in conf.read_text(errors="replace"):
        return "this machine has its own /etc/slurm/slurm.conf; the test cluster would replace it"
    return None


@pytest.fixture(scope="module")
def slurm_cluster():
    reason = _cluster_skip_reason()
    if reason:
        print(f"\nSKIP SLURM end-to-end: {reason}")
        pytest.skip(reason)
    # One test cluster per machine (/etc/slurm/slurm.conf): a second test session waits for the first.
    with open("/var/tmp/distillbench-slurm-test.lock", "a") as lock:
        deadline = time.time() + 3 * RUN_TIMEOUT
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.time() > deadline:
                    pytest.fail("another SLURM end-to-end test held /var/tmp/distillbench-slurm-test.lock too long")
                time.sleep(2)
        subprocess.run([str(SLURM_SCRIPTS / "down.sh")], capture_output=True)  # leftovers of an aborted run
        up = subprocess.run([str(SLURM_SCRIPTS / "up.sh")], capture_output=True, text=True, timeout=600)
        assert up.returncode == 0, f"tests/slurm/up.sh failed:\n{up.stdout}\n{up.stderr}"
        print(up.stdout.strip())
        try:
            yield
        finally:
            down = subprocess.run([str(SLURM_SCRIPTS / "down.sh")], capture_output=True, text=True, timeout=120)
            print(down.stdout.strip(), down.stderr.strip())


@dataclasses.dataclass
class SlurmJob:
    id: str
    state: str
    start: datetime
    end: datetime
    partition: str
    tres: str
    comment: str
    workdir: str


def slurm_jobs(workdir: Path) -> dict[str, SlurmJob]:
    """Every job the controller remembers (finished ones for MinJobAge, see up.sh) that ran in ``workdir``."""
    out = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True, timeout=60).stdout
    jobs = {}
    for line in out.splitlines():
        f = dict(re.findall(r"(\S+?)=(\S*)", line))
        if f.get("WorkDir") != str(workdir):
            continue
        jobs[f["JobId"]] = SlurmJob(
            f["JobId"],
            f["JobState"],
            _time(f["StartTime"]),
            _time(f["EndTime"]),
            f["Partition"],
            f.get("TresPerJob", ""),
            f.get("Comment", ""),
            f["WorkDir"],
        )
    return jobs


def _time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # "Unknown": not started / not ended
        return datetime.max


LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ", re.M)


@dataclasses.dataclass
class JobLog:
    path: str
    slurm_job: str
    device_line: str
    cvd: str | None
    start: datetime
    end: datetime


def read_job_log(path: Path, root: Path) -> JobLog:
    text = path.read_text()
    job = re.search(r"host=\S+ pid=\d+ slurm_job=(\S+)", text)
    assert job, f"{path} lacks the host=... slurm_job=... line:\n{text[-2000:]}"
    dev = re.search(r"device: .*", text)  # every job that computes logs its device (not prepare_data)
    device_line = dev.group(0) if dev else ""
    cvd = re.search(r"CUDA_VISIBLE_DEVICES=(\S*?)[);]", device_line)
    stamps = [datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f") for t in LOG_TS.findall(text)]
    return JobLog(
        str(path.relative_to(root)), job.group(1), device_line, cvd.group(1) if cvd else None, min(stamps), max(stamps)
    )


def job_logs(workdir: Path, rules) -> dict[str, JobLog]:
    logs = workdir / "results" / "smoke" / "logs"
    return {
        str(p.relative_to(workdir)): read_job_log(p, workdir)
        for rule in rules
        for p in sorted((logs / rule).glob("*.log"))
    }


def peak_concurrency(intervals) -> int:
    """Most intervals open at once; one ending when another starts does not overlap it."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


class Run:
    """A snakemake process with its output in a file; optionally kills one SLURM job once it runs."""

    def __init__(self, workdir: Path, cmd: list[str], env: dict, name: str):
        self.workdir, self.cmd, self.name = workdir, cmd, name
        self.log = workdir / f"{name}.out"
        self.started = time.time()
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen(
                cmd, cwd=workdir, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.killed: str | None = None
        self._killer: threading.Thread | None = None

    def kill_job_when_running(self, comment: str, rule_log: str) -> None:
        """scancel the SLURM job with this comment (rule_<rule>_wildcards_<values>) once it is RUNNING
        and has started its command (its rule log was (re)written during this run)."""

        def watch():
            log = self.workdir / rule_log
            while self.proc.poll() is None:
                if log.exists() and log.stat().st_mtime >= self.started:
                    out = subprocess.run(["squeue", "-h", "-o", "%i|%T|%k"], capture_output=True, text=True).stdout
                    for line in out.splitlines():
                        jobid, state, comm = line.split("|", 2)
                        if comm == comment and state == "RUNNING":
                            subprocess.run(["scancel", jobid], check=True)
                            self.killed = jobid
                            return
                time.sleep(0.2)

        self._killer = threading.Thread(target=watch, daemon=True)
        self._killer.start()

    def stop(self) -> None:
        """Stop snakemake and everything it started locally (it cancels its SLURM jobs on SIGTERM)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def wait(self, timeout: float = RUN_TIMEOUT) -> tuple[int, str]:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(
                f"{self.name} did not finish in {timeout:.0f} s (DISTILLBENCH_SLURM_TEST_TIMEOUT); "
                f"output:\n{self.log.read_text()[-6000:]}"
            )
        if self._killer:
            self._killer.join(timeout=5)
        return rc, self.log.read_text()


@dataclasses.dataclass
class E2E:
    data: Path
    overlay: Path
    local: Path
    slurm: Path
    local_out: str
    slurm_out: str
    killed: str
    seconds: float

    def base_cmd(self) -> list[str]:
        return [
            str(SNAKEMAKE),
            "--configfile",
            "config/smoke.yaml",
            str(self.overlay),
            "--config",
            f"data_dir={self.data}",
            "verify_checksums=false",
            "download=false",
        ]

    def slurm_cmd(self, *extra: str) -> list[str]:
        return self.base_cmd() + ["--workflow-profile", PROFILE, *SLURM_TEST_ARGS, *extra]


KILL_RULE_LOG = "results/smoke/logs/train_student/mnist_T20_seed1234.log"
KILL_COMMENT = "rule_train_student_wildcards_mnist_1234_20"  # dataset, seed, T: the order of the output path


@pytest.fixture(scope="module")
def e2e(slurm_cluster, tmp_path_factory):
    t0 = time.time()
    base = tmp_path_factory.mktemp("slurm_e2e")
    data = base / "data"  # the other tests' synthetic datasets, at the sizes this test was tuned for
    write_mnist(data, n_train=300, n_test=120)
    write_cifar10(data, n_train=300, n_test=120)
    overlay = base / "overlay.yaml"
    overlay.write_text(OVERLAY)
    e = E2E(data, overlay, copy_workflow(base / "local"), copy_workflow(base / "slurm"), "", "", "", 0.0)
    # Both at once: the local run fills the CPU while the SLURM run waits for status checks.
    local = Run(e.local, e.base_cmd() + ["--cores", "2"], run_env(), "local")
    slurm = Run(e.slurm, e.slurm_cmd(), run_env(), "slurm")
    try:
        slurm.kill_job_when_running(KILL_COMMENT, KILL_RULE_LOG)
        rc_s, e.slurm_out = slurm.wait()
        rc_l, e.local_out = local.wait()
    finally:
        local.stop()
        slurm.stop()
    assert rc_l == 0, f"local run failed:\n{e.local_out[-6000:]}"
    assert rc_s == 0, f"SLURM run failed:\n{e.slurm_out[-6000:]}"
    assert slurm.killed, f"the test never saw {KILL_COMMENT} running, so killed nothing:\n{e.slurm_out[-3000:]}"
    e.killed = slurm.killed
    e.seconds = time.time() - t0
    print(f"\nlocal + SLURM runs took {e.seconds:.0f} s; killed SLURM job {e.killed}")
    return e


@pytest.mark.e2e
def test_every_job_ran_as_a_slurm_job_of_this_run(e2e):
    logs = job_logs(e2e.slurm, GPU_RULES)
    local_logs = job_logs(e2e.local, GPU_RULES)
    assert set(logs) == set(local_logs) and len(logs) == 12, sorted(logs)  # 2 datasets x 6 jobs
    jobs = slurm_jobs(e2e.slurm)
    for path, log in logs.items():
        assert log.slurm_job.isdigit(), f"{path} did not run under SLURM: slurm_job={log.slurm_job}"
        assert f"SLURM job {log.slurm_job}" in log.device_line, (path, log.device_line)
        job = jobs.get(log.slurm_job)
        assert job is not None, f"{path}: SLURM job {log.slurm_job} is not a job of this run"
        assert job.state == "COMPLETED", (path, job)
        rule = Path(path).parent.name
        assert job.comment.startswith(f"rule_{rule}_wildcards_"), (path, job.comment)
        assert job.tres == "gres:gpu:1", f"{path}: SLURM job {job.id} did not ask for one GPU: {job.tres}"
        assert job.partition == "debug", job  # the cluster's default partition (nothing chosen)
    for path, log in local_logs.items():
        assert log.slurm_job == "-", f"the local run's {path} claims SLURM job {log.slurm_job}"
    # The CPU-only rule (input gradients: one job per deployed model, 2 datasets x 2 models) ran under SLURM
    # without a GPU.
    cpu_logs = job_logs(e2e.slurm, CPU_RULES)
    assert len(cpu_logs) == 4, sorted(cpu_logs)
    for path, log in cpu_logs.items():
        job = jobs.get(log.slurm_job)
        assert job is not None and job.state == "COMPLETED", (path, log.slurm_job, job)
        assert "gpu" not in job.tres, (path, job.tres)
    # The local rules (data staging, report) ran on the submitting host, not as SLURM jobs.
    for path, log in job_logs(e2e.slurm, ("prepare_data",)).items():
        assert log.slurm_job == "-", (path, log.slurm_job)
    assert len(jobs) == len(logs) + len(cpu_logs) + 1, "one extra SLURM job: the killed attempt"


@pytest.mark.e2e
def test_at_most_two_gpu_jobs_at_once_on_distinct_gpus(e2e):
    jobs = [j for j in slurm_jobs(e2e.slurm).values() if "gpu" in j.tres]
    # As SLURM saw it (allocation start/end, 1 s resolution): the 2 GPUs, not the 4 CPUs, limit.
    assert peak_concurrency([(j.start, j.end) for j in jobs]) == 2, jobs
    logs = list(job_logs(e2e.slurm, GPU_RULES).values())
    assert {log.cvd for log in logs} == {"0", "1"}, [(log.path, log.device_line) for log in logs]
    # As the jobs saw it (their own log timestamps, ms): overlapping jobs never share a GPU.
    assert peak_concurrency([(log.start, log.end) for log in logs]) <= 2
    overlapping = [(a, b) for i, a in enumerate(logs) for b in logs[i + 1 :] if a.start < b.end and b.start < a.end]
    assert overlapping, "no two GPU jobs ever ran at the same time; the GPU limit was not exercised"
    for a, b in overlapping:
        assert a.cvd != b.cvd, f"{a.path} and {b.path} ran at the same time on GPU {a.cvd}"


@pytest.mark.e2e
def test_killed_job_was_reported_with_its_log_and_retried(e2e):
    killed = slurm_jobs(e2e.slurm)[e2e.killed]
    assert killed.state == "CANCELLED" and killed.comment == KILL_COMMENT, killed
    slurm_log = f".snakemake/slurm_logs/rule_train_student/mnist_1234_20/{e2e.killed}.log"
    assert (e2e.slurm / slurm_log).exists()
    assert f"SLURM-job '{e2e.killed}' failed" in e2e.slurm_out
    assert slurm_log in e2e.slurm_out, "the failure report should name the killed job's SLURM log"
    assert KILL_RULE_LOG in e2e.slurm_out
    assert "Trying to restart job" in e2e.slurm_out
    retried = read_job_log(e2e.slurm / KILL_RULE_LOG, e2e.slurm)
    assert retried.slurm_job.isdigit() and retried.slurm_job != e2e.killed
    assert slurm_jobs(e2e.slurm)[retried.slurm_job].state == "COMPLETED"


@pytest.mark.e2e
def test_summary_equals_the_local_run(e2e):
    ours = (e2e.slurm / "results/smoke/fig7.csv").read_text()
    local = (e2e.local / "results/smoke/fig7.csv").read_text()
    assert ours == local
    assert len(ours.strip().splitlines()) == 1 + 4  # header + (baseline, T=20) x 2 datasets


@pytest.mark.e2e
def test_rerun_does_nothing(e2e):
    out = dry_run(e2e.slurm, *e2e.slurm_cmd()[1:])
    assert "Nothing to be done" in out, out[-3000:]


@pytest.mark.e2e
def test_job_killed_without_retries_stops_the_run_and_the_rerun_redoes_only_it(e2e):
    wd = e2e.slurm
    mnist = [
        "results/smoke/attacks/mnist/exact/seed1234/distilled_T20.csv",
        "results/smoke/attacks/mnist/exact/seed1234/distilled_T20.json",
    ]
    cifar = [
        "results/smoke/attacks/cifar10/exact/seed1234/distilled_T20.csv",
        "results/smoke/attacks/cifar10/exact/seed1234/distilled_T20.json",
    ]
    report = ["results/smoke/fig7.csv", "results/smoke/fig7.png", "results/smoke/REPORT.md"]
    # Two attacks and the report still to do (as after an interrupted run); everything else finished.
    for rel in mnist + cifar + report:
        (wd / rel).unlink()
    finished = {
        p: p.stat().st_mtime_ns
        for d in ("results/smoke/models", "work/smoke", "results/smoke/attacks")
        for p in (wd / d).rglob("*")
        if p.is_file()
    }

    # 1. No retries left: the killed job stops the run with a clear message naming its logs.
    run = Run(wd, e2e.slurm_cmd("--retries", "0"), run_env(), "slurm_fail")
    try:
        run.kill_job_when_running(
            "rule_attack_wildcards_mnist_exact_1234_distilled_T20",  # dataset, numerics, seed, model
            "results/smoke/logs/attack/mnist_exact_distilled_T20_seed1234.log",
        )
        rc, out = run.wait()
    finally:
        run.stop()
    assert run.killed, f"never saw the attack job running:\n{out[-3000:]}"
    assert rc != 0, "a killed job with no retries left must fail the run"
    assert f"SLURM-job '{run.killed}' failed" in out
    assert f".snakemake/slurm_logs/rule_attack/mnist_exact_1234_distilled_T20/{run.killed}.log" in out
    assert "results/smoke/logs/attack/mnist_exact_distilled_T20_seed1234.log" in out
    assert "Trying to restart job" not in out
    assert not (wd / mnist[1]).exists() and not (wd / report[0]).exists()
    assert all((wd / rel).exists() for rel in cifar), "keep-going: the independent cifar10 attack still finished"
    finished.update({wd / rel: (wd / rel).stat().st_mtime_ns for rel in cifar})
    before = set(slurm_jobs(wd))

    # 2. Resume, on the partition and GPU model chosen by environment variables: only the killed job
    #    (and the report) run again.
    resume = Run(
        wd,
        e2e.slurm_cmd(),
        run_env(DISTILLBENCH_SLURM_PARTITION="batch", DISTILLBENCH_SLURM_GPU_MODEL="fakegpu"),
        "slurm_resume",
    )
    try:
        rc, out = resume.wait()
    finally:
        resume.stop()
    assert rc == 0, out[-6000:]
    assert job_stats(out) == {"attack": 1, "report": 1, "all": 1, "total": 3}, out[:3000]
    changed = [str(p.relative_to(wd)) for p, m in finished.items() if p.stat().st_mtime_ns != m]
    assert not changed, f"finished outputs were redone: {changed}"
    new = {k: v for k, v in slurm_jobs(wd).items() if k not in before}
    resumed = [j for j in new.values() if j.state == "COMPLETED" and j.comment.startswith("rule_attack_")]
    assert [j.comment for j in resumed] == ["rule_attack_wildcards_mnist_exact_1234_distilled_T20"], new
    assert resumed[0].partition == "batch" and resumed[0].tres == "gres:gpu:fakegpu:1", resumed[0]
    assert (wd / "results/smoke/fig7.csv").read_text() == (e2e.local / "results/smoke/fig7.csv").read_text()
