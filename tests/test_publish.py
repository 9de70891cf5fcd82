"""The top-level REPORT.md is a published copy of one run's report, links rebased, the run named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from distillbench.publish import PublishError, publish_report


def _run(root, name, body):
    d = root / "results" / name
    d.mkdir(parents=True)
    (d / "REPORT.md").write_text(body)
    return d


def test_publish_rebases_links_and_names_the_run(tmp_path):
    run = _run(tmp_path, "cpu-x", "# REPORT: title\n\ntext ![Fig. 7 replica](fig7.png) and [a](https://e.org/x)\n")
    _run(tmp_path, "paper-y", "# other\n")
    text = publish_report(run, tmp_path / "REPORT.md")
    assert text.startswith("# REPORT: title\n\n> **This is the report of run `cpu-x`**")
    assert "![Fig. 7 replica](results/cpu-x/fig7.png)" in text
    assert "[a](https://e.org/x)" in text  # absolute links untouched
    assert "[`results/paper-y`](results/paper-y/REPORT.md)" in text  # the other committed runs are listed
    assert (tmp_path / "REPORT.md").read_text() == text


def test_publish_refuses_a_run_without_a_report(tmp_path):
    (tmp_path / "results" / "empty").mkdir(parents=True)
    with pytest.raises(PublishError, match="no report yet"):
        publish_report(tmp_path / "results" / "empty", tmp_path / "REPORT.md")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "distillbench",
            "publish-report",
            str(tmp_path / "results" / "empty"),
            "--out",
            str(tmp_path / "REPORT.md"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "no report yet" in proc.stderr
