"""What the real `snakemake` refuses before planning or before its first job: config files
with YAML errors (file and line), missing data with download off, `device: cuda` without CUDA, the note on the
paper profile trained on the CPU, and per-dataset checksum waivers reaching the prepare_data jobs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def snakemake(repo: Path, workdir: Path, *args: str, dry: bool = True) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "1",
        "-s",
        str(repo / "Snakefile"),
        "--directory",
        str(workdir),
    ]
    proc = subprocess.run(cmd + (["-n"] if dry else []) + list(args), capture_output=True, text=True, timeout=180)
    proc.out = proc.stdout + proc.stderr  # type: ignore[attr-defined]
    return proc


@pytest.fixture(scope="module")
def repo_copy(repo_root, tmp_path_factory) -> Path:
    """The workflow (Snakefile, rules, schema, configs, package) copied, so that its own config can be broken."""
    dst = tmp_path_factory.mktemp("repo")
    shutil.copy(repo_root / "Snakefile", dst / "Snakefile")
    for sub in ("workflow", "config", "src", "benchmark"):
        shutil.copytree(repo_root / sub, dst / sub, ignore=shutil.ignore_patterns("__pycache__", "results"))
    return dst


def test_yaml_error_in_the_workflows_config_names_file_and_line(repo_copy, tmp_path):
    cfg = repo_copy / "config" / "config.yaml"
    good = cfg.read_text()
    try:
        cfg.write_text(good.replace("seed: ", "seed:: [", 1))
        proc = snakemake(repo_copy, tmp_path)
    finally:
        cfg.write_text(good)
    lines = good.splitlines()
    broken = next(i for i, t in enumerate(lines) if t.startswith("seed: "))
    # YAML notices the unclosed '[' at the next line that is not a comment; the hint says to look above it.
    noticed = 1 + next(i for i in range(broken + 1, len(lines)) if lines[i].strip() and not lines[i].startswith("#"))
    assert proc.returncode != 0
    assert f"config file {cfg}:{noticed}:" in proc.out, proc.out
    assert "lines above it that are not comments" in proc.out
    assert "YAML syntax error" in proc.out and "fix:" in proc.out
    assert "not valid JSON or YAML" not in proc.out and "Building DAG" not in proc.out


def test_duplicate_key_in_a_configfile_names_file_and_line(repo_root, tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("run_name: mine\nseed: 1\nseed: 2\n")
    proc = snakemake(repo_root, tmp_path, "--configfile", str(overlay))
    assert proc.returncode != 0
    assert f"config file {overlay}:3:1: duplicate key: key 'seed' appears twice" in proc.out


def test_missing_data_with_download_off_stops_before_planning(repo_root, tmp_path):
    proc = snakemake(repo_root, tmp_path, "--config", f"data_dir={tmp_path / 'nothing'}", "download=false")
    assert proc.returncode != 0 and "Building DAG" not in proc.out and "Traceback" not in proc.out
    for ds in ("mnist", "cifar10"):
        assert f"{ds}: no {ds} files in {tmp_path / 'nothing'} and download is off; fix: stage a local copy" in proc.out
    assert len(proc.out.splitlines()) < 15, proc.out  # one paragraph per dataset, not a traceback (once 221 lines)


def test_cuda_without_cuda_stops_before_the_first_job(repo_root, tmp_path, tiny_data_dir):
    proc = snakemake(
        repo_root,
        tmp_path,
        "--configfile",
        str(repo_root / "config" / "smoke.yaml"),
        "--config",
        "device=cuda",
        f"data_dir={tiny_data_dir}",
        "download=false",
        "verify_checksums=false",
        dry=False,
    )
    assert proc.returncode != 0
    assert "config field 'device': cuda, but no CUDA device is visible" in proc.out
    assert "rule prepare_data" not in proc.out and not (tmp_path / "results").exists()


def test_paper_profile_on_the_cpu_is_named_before_the_first_job(repo_root, tmp_path, tiny_data_dir):
    """`device: auto` with the paper profile where no CUDA device is visible: the run goes on, with a note."""
    import torch

    proc = snakemake(
        repo_root,
        tmp_path,
        "--configfile",
        str(repo_root / "config" / "smoke.yaml"),
        "--config",
        "profile=paper",
        "device=auto",
        f"data_dir={tiny_data_dir}",
        "download=false",
        "verify_checksums=false",
        "--",
        "results/smoke/data/mnist.json",
        dry=False,
    )
    assert proc.returncode == 0, proc.out[-2000:]
    assert (tmp_path / "results" / "smoke" / "data" / "mnist.json").exists()
    note = "note: no CUDA device is visible here, so 'device: auto' trains the paper profile on the CPU"
    if torch.cuda.is_available():
        assert note not in proc.out
    else:
        assert note in proc.out and "--configfile config/cpu.yaml" in proc.out


@pytest.mark.parametrize(
    "value,mnist_flag,cifar_flag",
    [
        ("{mnist: true, cifar10: false}", "--verify-checksums", "--no-verify-checksums"),
        ("false", "--no-verify-checksums", "--no-verify-checksums"),
    ],
)
def test_checksum_waiver_per_dataset_reaches_prepare_data(repo_root, tmp_path, value, mnist_flag, cifar_flag):
    proc = snakemake(repo_root, tmp_path, "-p", "--config", f"verify_checksums={value}")
    assert proc.returncode == 0, proc.out
    cmds = [ln for ln in proc.out.splitlines() if "prepare-data --dataset" in ln]
    mnist = next(c for c in cmds if "--dataset mnist" in c)
    cifar = next(c for c in cmds if "--dataset cifar10" in c)
    assert f" {mnist_flag} " in mnist and f" {cifar_flag} " in cifar
    assert "--attack-samples 100" in mnist
