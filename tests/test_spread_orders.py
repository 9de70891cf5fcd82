"""float32's numerical spread: the float32 attack planned again under each further arithmetic order, and the job's
attack settings naming that order (what `attack` then runs: attacks/jsma.py's arithmetic_order)."""

from __future__ import annotations

import copy
import json

import pytest

from distillbench.config import ConfigError, load_config, read_config_file, validate_config
from distillbench.config_profiles import read_profile
from distillbench.papers.papernot2016.plan import Plan


@pytest.fixture(scope="module")
def cpu_cfg(repo_root):
    return load_config(repo_root / "config" / "cpu.yaml", check_device=False)


def test_float32_runs_again_under_each_order(cpu_cfg):
    plan = Plan(cpu_cfg)
    at = cpu_cfg["datasets"]["mnist"]["attack"]
    assert "float32" in [at["numerics"], *at["compare_numerics"]] and at["spread_orders"] == ["per_target"]
    assert plan.numerics("mnist")[-1] == "float32_per_target"
    assert plan.attack_file("mnist", "float32_per_target", "baseline") in plan.attack_summaries()
    settings = json.loads(plan.attack_json("mnist", "float32_per_target"))
    assert (settings["numerics"], settings["arithmetic_order"]) == ("float32", "per_target")
    assert "spread_orders" not in settings and "compare_numerics" not in settings
    assert "arithmetic_order" not in json.loads(plan.attack_json("mnist", "float32"))


def test_no_spread_where_float32_does_not_run(cpu_cfg):
    cfg = copy.deepcopy(cpu_cfg)
    at = cfg["datasets"]["mnist"]["attack"]
    at["numerics"], at["compare_numerics"] = "exact", []
    assert Plan(cfg).spread_numerics("mnist") == []


def test_an_unknown_order_is_refused(repo_root):
    cfg = read_profile(repo_root / "config" / "cpu.yaml", read_config_file)
    cfg["datasets"]["mnist"]["attack"]["spread_orders"] = ["sideways"]
    with pytest.raises(ConfigError, match="spread_orders"):
        validate_config(cfg, check_device=False)


def test_the_report_reads_each_cells_rates_under_both_orders(cpu_cfg, tmp_path):
    from distillbench.papers.papernot2016.report_cells import numerical_rates

    plan = Plan(cpu_cfg, str(tmp_path))
    for numerics, rate in (("float32", 91.67), ("float32_per_target", 91.78)):
        path = tmp_path.joinpath(plan.attack_file("mnist", numerics, "baseline").removeprefix(f"{tmp_path}/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"success_rate_pct": rate}))
    only_one = tmp_path.joinpath(plan.attack_file("mnist", "float32", "distilled_T2").removeprefix(f"{tmp_path}/"))
    only_one.write_text(json.dumps({"success_rate_pct": 50.0}))
    rates = numerical_rates(cpu_cfg, tmp_path)
    assert rates == {("mnist", "baseline"): [91.67, 91.78]}  # a cell with one order measured has no spread


def test_a_checks_recorded_rates_count_where_the_run_measured_one_order(cpu_cfg, repo_root, tmp_path):
    """scripts/spread_from_gpu_check.py records a GPU check's CUDA and CPU rates on the run's own checkpoints;
    the report uses them for a cell the run itself attacked under one order only, and refuses a table that does
    not match the run."""
    import subprocess
    import sys

    from distillbench.papers.papernot2016.report_cells import RECORDED_SPREAD, numerical_rates, recorded_sources

    plan = Plan(cpu_cfg, str(tmp_path))
    summary = tmp_path.joinpath(plan.attack_file("mnist", "float32", "baseline").removeprefix(f"{tmp_path}/"))
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text(json.dumps({"success_rate_pct": 80.0, "test_accuracy": 0.99, "targets": 900}))
    (tmp_path / "config.json").write_text(json.dumps(cpu_cfg))
    f32 = {"success_device_pct": 80.0, "success_cpu_pct": 80.33}
    check = {"device": "GPU", "torch": "x", "models": {"baseline": {"test_accuracy": 0.99, "float32": f32}}}
    (tmp_path / "check.json").write_text(json.dumps(check))
    script = [
        sys.executable,
        str(repo_root / "scripts" / "spread_from_gpu_check.py"),
        str(tmp_path / "check.json"),
        str(tmp_path),
    ]
    subprocess.run(script, check=True, capture_output=True)
    assert numerical_rates(cpu_cfg, tmp_path) == {("mnist", "baseline"): [80.0, 80.33]}
    assert len(recorded_sources(tmp_path)) == 1 and (tmp_path / RECORDED_SPREAD).exists()
    # Another network (other accuracy), or the device rate not the run's: refused, nothing recorded.
    (tmp_path / RECORDED_SPREAD).unlink()
    for bad in (
        {"test_accuracy": 0.98, "float32": f32},
        {"test_accuracy": 0.99, "float32": {**f32, "success_device_pct": 81.0}},
    ):
        (tmp_path / "check.json").write_text(json.dumps({**check, "models": {"baseline": bad}}))
        r = subprocess.run(script, capture_output=True, text=True)
        assert r.returncode != 0 and "baseline" in r.stderr and not (tmp_path / RECORDED_SPREAD).exists()
