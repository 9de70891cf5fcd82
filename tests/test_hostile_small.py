"""Smaller hostile cases: the report's captions parse, run outputs stay out of git, REPORT.md's wording."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import docutils.core
import pytest

KEPT_RUN = "cpu-2026-11-26e"


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
        ("results/paper-mnist-h200-2026-11-26/fig7.csv", False),
        ("results/paper-cifar10-h200-2026-11-26/fig7.csv", False),
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
    from distillbench.papers.papernot2016.report import _pct_range

    assert _pct_range(99.51, 99.51, 2) == "99.51%"
    assert _pct_range(80.95, 81.39, 2) == "80.95–81.39%"


def test_report_names_the_per_dataset_checksum_setting(repo_root, tmp_path):
    from distillbench.papers.papernot2016.report import build_report

    before = repo_root / "results" / KEPT_RUN
    run = tmp_path / KEPT_RUN
    shutil.copytree(before, run, ignore=shutil.ignore_patterns("*.png", "REPORT.md", "logs", "*.html"))
    config = json.loads((before / "config.json").read_text())
    assert config["verify_checksums"] == {"cifar10": False, "mnist": True}
    build_report(config, run, run / "REPORT.md", run / "fig7.png", run / "fig7.csv")
    text = (run / "REPORT.md").read_text()
    assert "accepted with `verify_checksums: {cifar10: false}`" in text
    assert "`verify_checksums: false`" not in text
