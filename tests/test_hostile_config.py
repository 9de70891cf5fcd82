"""Config values that would break paths or names, command-line numbers, and validate-config's merge."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from distillbench.config import ConfigError, validate_config
from distillbench.settings import format_temperature


@pytest.fixture(scope="module")
def paper_cfg(repo_root):
    return yaml.safe_load((repo_root / "config" / "config.yaml").read_text())


def _problems(cfg) -> str:
    with pytest.raises(ConfigError) as exc:
        validate_config(cfg, check_device=False)
    return str(exc.value)


@pytest.mark.parametrize("name", [".", "..", ".hidden", "-x", "a" * 101])
def test_run_names_outside_one_results_folder_are_refused(paper_cfg, name):
    cfg = copy.deepcopy(paper_cfg)
    cfg["run_name"] = name
    msg = _problems(cfg)
    assert "config field 'run_name'" in msg and repr(name) in msg and "fix:" in msg


@pytest.mark.parametrize("name", ["cpu-2026-11-26e", "smoke", "v1.2_a"])
def test_ordinary_run_names_pass(paper_cfg, name):
    cfg = copy.deepcopy(paper_cfg)
    cfg["run_name"] = name
    assert validate_config(cfg, check_device=False)["run_name"] == name


@pytest.mark.parametrize("t", [1, 2.5, 20, 20.0000001, 0.01, 0.1 + 0.2, 999, 123.456789012345])
def test_temperature_names_read_back_exactly_without_exponent(t):
    name = format_temperature(t)
    assert float(name) == float(t) and "e" not in name.lower()


def test_paper_temperature_names_are_unchanged():
    assert [format_temperature(t) for t in (1, 1.0, 2.5, 100, 100.0)] == ["1", "1", "2.5", "100", "100"]


def test_close_temperatures_keep_distinct_names(paper_cfg):
    cfg = copy.deepcopy(paper_cfg)
    cfg["temperatures"] = [1, 20, 20.0000001]
    out = validate_config(cfg, check_device=False)
    names = [format_temperature(t) for t in out["temperatures"]]
    assert len(set(names)) == 3, names


@pytest.mark.parametrize("t", [1_000_000_000, 1000, 0.001])
def test_temperatures_outside_the_stated_range_are_refused(paper_cfg, t):
    cfg = copy.deepcopy(paper_cfg)
    cfg["temperatures"] = [1, t]
    msg = _problems(cfg)
    assert "config field 'temperatures'" in msg and "range 0.01 to 999" in msg


def test_numbers_in_command_line_lists_are_read_as_numbers(paper_cfg):
    """``--config 'temperatures=[1,100]'`` arrives as strings (Snakemake's YAML base loader)."""
    cfg = copy.deepcopy(paper_cfg)
    cfg["temperatures"] = ["1", "100", "2.5"]
    cfg["datasets"]["mnist"]["training"]["lr"] = "0.05"
    cfg["datasets"]["mnist"]["seed_models"] = []
    out = validate_config(cfg, check_device=False)
    assert out["temperatures"] == [1, 100, 2.5] and out["datasets"]["mnist"]["training"]["lr"] == 0.05


def test_a_numeric_run_name_from_the_command_line_is_a_name(paper_cfg):
    cfg = copy.deepcopy(paper_cfg)
    cfg["run_name"] = 20261206  # what Snakemake's --config parser makes of run_name=20261206
    assert validate_config(cfg, check_device=False)["run_name"] == "20261206"


def test_strings_stay_strings_where_the_schema_wants_strings(paper_cfg):
    cfg = copy.deepcopy(paper_cfg)
    cfg["run_name"] = "2026"
    cfg["temperatures"] = ["1", "ten"]
    msg = _problems(cfg)
    assert "'ten' is not of type 'number'" in msg and "run_name" not in msg


def test_every_problem_is_reported_at_once(paper_cfg):
    cfg = copy.deepcopy(paper_cfg)
    cfg["datasets"]["mnist"]["training"]["lr"] = "fast"  # a schema error
    cfg["datasets"]["mnist"]["max_features"] = 113  # a data-aware one (odd budget)
    cfg["run_name"] = ".."
    cfg["report"] = {"x": 1}
    msg = _problems(cfg)
    assert "datasets.mnist.training.lr" in msg and "is odd" in msg and "'run_name'" in msg
    assert "unknown key 'report'" in msg and "does not match any of the regexes" not in msg


def _validate(repo_root, *args):
    return subprocess.run(
        [sys.executable, "-m", "distillbench", "validate-config", *args, "--skip-device-check"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=repo_root,
        env={"PYTHONPATH": str(repo_root / "src"), "PATH": "/usr/bin:/bin"},
    )


def test_validate_config_checks_the_merge_snakemake_runs(repo_root, tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("temperatures: [1, 5]\n")
    proc = _validate(repo_root, str(overlay), "--config", "temperatures=[1,100]", "run_name=merged")
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout
    proc = _validate(repo_root, str(overlay), "--config", "run_name=..", "bogus=1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "'run_name'" in proc.stderr and "unknown key 'bogus'" in proc.stderr and "is missing" not in proc.stderr


def test_snakemake_refuses_a_run_name_outside_results_before_planning(repo_root, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "-s",
            str(repo_root / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--config",
            "run_name=..",
            "temperatures=[1,100]",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "config field 'run_name'" in out and "Nothing to be done" not in out
    assert 'File "' not in out and 'Snakefile", line' not in out, "a planning error names the Snakefile's line"
    assert "temperatures" not in out.split("invalid configuration")[-1], "the command-line numbers were accepted"
