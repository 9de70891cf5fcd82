"""Smaller hostile cases: the report's captions parse, run outputs stay out of git, REPORT.md's wording."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import docutils.core
import pytest

KEPT_RUN = "cpu-2026-12-06"


def test_every_report_caption_is_valid_restructured_text(repo_root):
    captions = sorted((repo_root / "workflow" / "report").glob("*.rst"))
    assert captions
    for rst in captions:
        warnings = io.StringIO()
        docutils.core.publish_string(
            rst.read_text(),
            writer_name="null",
            settings_overrides={"warning_stream": warnings, "report_level": 2, "halt_level": 5},
        )
        assert warnings.getvalue() == "", f"{rst.name}: {warnings.getvalue()}"


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("results/smoke/fig7.csv", True),
        ("results/smoke/REPORT.md", True),
        ("results/my-run/models/mnist/teacher_T1.json", True),
        (f"results/{KEPT_RUN}/REPORT.md", False),
        ("results/paper-h200-2026-11-26/fig7.csv", False),
        ("results/paper-h200-2026-11-26/halves/mnist/machine.txt", False),
        ("results/paper-mnist-h200-2026-11-26/fig7.csv", True),  # combined into the run above
        ("results/README.md", False),
        (f"results/{KEPT_RUN}/report.html", True),
        (f"results/{KEPT_RUN}/.run.lock", True),
        ("work/smoke/mnist/teacher_T1.pt", True),
    ],
)
def test_run_outputs_stay_out_of_git_except_the_kept_runs(repo_root, path, ignored):
    if shutil.which("git") is None or not (repo_root / ".git").exists():
        print("no git checkout here: .gitignore cannot be asked")
        pytest.skip("needs git and a checkout")
    proc = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=repo_root)
    assert proc.returncode == (0 if ignored else 1), f"{path}: ignored={not proc.returncode}, expected {ignored}"


def test_one_number_where_a_range_would_repeat_it():
    from distillbench.papers.papernot2016.report_prose import _pct_range

    assert _pct_range(99.51, 99.51, 2) == "99.51%"
    assert _pct_range(80.95, 81.39, 2) == "80.95–81.39%"


def test_report_names_the_per_dataset_checksum_setting(repo_root, tmp_path):
    from distillbench.papers.papernot2016.report import document

    before = repo_root / "results" / KEPT_RUN
    run = tmp_path / KEPT_RUN
    shutil.copytree(before, run, ignore=shutil.ignore_patterns("*.png", "REPORT.md", "logs", "*.html"))
    config = json.loads((before / "config.json").read_text())
    assert config["verify_checksums"] == {"cifar10": False, "mnist": True}
    text, _ = document(config, run, run / "REPORT.md", run / "fig7.png", run / "fig7.csv")
    assert "accepted with `verify_checksums: {cifar10: false}`" in text
    assert "`verify_checksums: false`" not in text


def test_a_dry_run_of_the_gpu_command_without_a_gpu_says_so(repo_root, tmp_path, tiny_data_dir):
    import sys

    import torch

    if torch.cuda.is_available():
        print("a CUDA device is visible here: the note is rightly absent")
        pytest.skip("needs a machine without a visible CUDA device")
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "8", "--resources", "gpu=2"]
        + ["-s", str(repo_root / "Snakefile"), "--directory", str(tmp_path), "--config"]
        + [f"data_dir={tiny_data_dir}", "download=false", "verify_checksums=false"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert "dry run: note: no CUDA device is visible here" in out


def test_dry_run_flags_are_recognised():
    from distillbench.preflight import dry_run_requested, executor_named

    assert dry_run_requested(["snakemake", "-n"]) and dry_run_requested(["snakemake", "-np", "--cores", "2"])
    assert dry_run_requested(["snakemake", "--dry-run"]) and not dry_run_requested(["snakemake", "--cores", "2"])
    assert not dry_run_requested(["snakemake", "--configfile", "config/cpu.yaml"])
    assert executor_named(["snakemake", "--executor", "slurm"]) and not executor_named(["snakemake", "-n"])
