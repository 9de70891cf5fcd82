"""The `adaptive:` and `robustness:` config blocks (issue 9): schema, defaults, checks and the plan."""

from __future__ import annotations

import copy

import pytest
import yaml

from distillbench.config import ConfigError, load_config, validate_config
from distillbench.papers.papernot2016.plan import Plan


@pytest.fixture(scope="module")
def paper_raw(repo_root):
    return yaml.safe_load((repo_root / "config" / "config.yaml").read_text())


def _errors(cfg):
    with pytest.raises(ConfigError) as exc:
        validate_config(cfg, check_device=False)
    return str(exc.value)


def test_paper_profile_runs_every_attack_on_the_900_targets(repo_root):
    cfg = load_config(repo_root / "config" / "config.yaml", check_device=False)
    plan = Plan(cfg)
    for d, ds in cfg["datasets"].items():
        ad = ds["adaptive"]
        assert ad["samples"] * ad["targets_per_sample"] == 900 and ad["max_features"] == 112
        assert list(ad["attacks"]) == ["jsma_f_t", "jsma_z", "l0_fmn", "cw_l2"]
        for a in ("jsma_f_t", "jsma_z", "l0_fmn"):
            assert plan.adaptive_models(d, a) == plan.deployed_models()
        assert {"baseline", "distilled_T100"} <= set(plan.adaptive_models(d, "cw_l2"))
        cw = ad["attacks"]["cw_l2"]
        assert (cw["binary_search_steps"], cw["steps"], cw["initial_const"]) == (9, 1000, 0.001)
        rb = ds["robustness"]
        assert rb["samples"] * rb["targets_per_sample"] == 900 and rb["variant"] == "jsma_f"
    assert len(plan.robustness_summaries()) == 20


def test_defaults_fill_an_empty_block(paper_raw):
    cfg = copy.deepcopy(paper_raw)
    cfg["datasets"]["mnist"]["adaptive"] = {}
    cfg["datasets"]["mnist"]["robustness"] = {}
    out = validate_config(cfg, check_device=False)
    ad, rb = out["datasets"]["mnist"]["adaptive"], out["datasets"]["mnist"]["robustness"]
    assert (ad["samples"], ad["targets_per_sample"], ad["max_features"]) == (100, 9, 112)  # from `attack`
    assert list(ad["attacks"]) == ["jsma_f_t", "jsma_z", "l0_fmn", "cw_l2"]
    assert ad["attacks"]["cw_l2"]["models"] == ["baseline", "highest_T"] and ad["attacks"]["jsma_z"]["models"] == "all"
    assert ad["attacks"]["cw_l2"]["steps"] == 1000 and ad["attacks"]["jsma_f_t"]["numerics"] == "exact"
    assert rb == {
        "samples": 100,
        "targets_per_sample": 9,
        "variant": "jsma_f",
        "numerics": "exact",
        "batch_size": 900,
        "max_features": None,  # no cap: the paper's rho_adv
    }
    assert Plan(out).adaptive_models("mnist", "cw_l2") == ["baseline", "distilled_T100"]


def test_null_blocks_run_nothing(paper_raw):
    cfg = copy.deepcopy(paper_raw)
    for ds in cfg["datasets"].values():
        ds["adaptive"] = None
        ds["robustness"] = None
    plan = Plan(validate_config(cfg, check_device=False))
    assert plan.adaptive_summaries() == [] and plan.robustness_summaries() == []


def test_an_attacks_json_holds_only_its_own_settings(paper_raw):
    import json

    plan = Plan(validate_config(copy.deepcopy(paper_raw), check_device=False))
    one = json.loads(plan.adaptive_json("mnist", "l0_fmn"))
    assert list(one["attacks"]) == ["l0_fmn"] and one["max_features"] == 112


def _with_attacks(paper_raw, attacks, **block):
    cfg = copy.deepcopy(paper_raw)
    cfg["datasets"]["mnist"]["adaptive"] = {"attacks": attacks, **block}
    return cfg


@pytest.mark.parametrize(
    "attacks,block,field,fix",
    [
        ([{"name": "fgsm"}], {}, "datasets.mnist.adaptive.attacks.fgsm", "use one of jsma_f, jsma_f_t"),
        ([{"name": "cw_l2", "stepz": 3}], {}, "datasets.mnist.adaptive.attacks.cw_l2.stepz", "not a setting of cw_l2"),
        ([{"name": "cw_l2", "steps": 0}], {}, "datasets.mnist.adaptive.attacks.cw_l2.steps", "a positive integer"),
        ([{"name": "jsma_z", "numerics": "half"}], {}, "datasets.mnist.adaptive.attacks.jsma_z.numerics", "float32"),
        (
            [{"name": "cw_l2", "models": ["distilled_T7"]}],
            {},
            "datasets.mnist.adaptive.attacks.cw_l2.models",
            "highest_T",
        ),
        ([{"name": "cw_l2", "models": ["T100"]}], {}, "datasets.mnist.adaptive.attacks.0.models", "baseline"),
        ([{"name": "l0_fmn"}, {"name": "l0_fmn"}], {}, "datasets.mnist.adaptive.attacks", "l0_fmn listed twice"),
        ([{"name": "l0_fmn", "samples": 20000}], {}, "datasets.mnist.adaptive.attacks.l0_fmn.samples", "e.g. 100"),
        ([{"name": "l0_fmn"}], {"max_features": 113}, "datasets.mnist.adaptive.max_features", "even"),
        ([{"steps": 3}], {}, "datasets.mnist.adaptive.attacks.0.name", "add it"),
        ({"cw_l2": {}}, {}, "datasets.mnist.adaptive.attacks", "a list of attacks"),
    ],
)
def test_bad_adaptive_settings_name_the_field_and_the_fix(paper_raw, attacks, block, field, fix):
    msg = _errors(_with_attacks(paper_raw, attacks, **block))
    assert f"'{field}'" in msg, msg
    assert fix in msg, msg
    assert "Traceback" not in msg and len(msg) < 700


def test_bad_robustness_settings(paper_raw):
    cfg = copy.deepcopy(paper_raw)
    cfg["datasets"]["cifar10"]["robustness"] = {"variant": "fgsm"}
    msg = _errors(cfg)
    assert "'datasets.cifar10.robustness.variant'" in msg and "jsma_f (the paper's)" in msg
    cfg["datasets"]["cifar10"]["robustness"] = {"max_features": 3073}
    msg = _errors(cfg)
    assert "'datasets.cifar10.robustness.max_features': 3073 must be even" in msg and "null (no cap" in msg


def test_a_profile_replaces_the_default_attack_list(repo_root):
    """Snakemake merges --configfile mappings into the default config key by key: the attack list of a profile
    must replace config.yaml's, not add to it (the smoke profile runs one attack on CIFAR-10)."""
    from snakemake.utils import update_config

    merged = yaml.safe_load((repo_root / "config" / "config.yaml").read_text())
    update_config(merged, yaml.safe_load((repo_root / "config" / "smoke.yaml").read_text()))
    plan = Plan(validate_config(merged, check_device=False))
    assert plan.adaptive_attacks("cifar10") == ["jsma_f_t"]
