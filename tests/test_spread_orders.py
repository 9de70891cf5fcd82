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
