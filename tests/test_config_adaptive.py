"""The dataset's budget and its `adaptive:` and `robustness:` config blocks: schema, defaults, checks, the plan."""

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
    assert (ad["samples"], ad["targets_per_sample"]) == (100, 9)  # from `attack`
    assert ad["max_features"] == out["datasets"]["mnist"]["max_features"] == 112  # the dataset's budget
    assert list(ad["attacks"]) == ["jsma_f_t", "jsma_z", "l0_fmn", "cw_l2"]
    assert ad["attacks"]["cw_l2"]["models"] == ["baseline", "highest_T"] and ad["attacks"]["jsma_z"]["models"] == "all"
    assert ad["attacks"]["cw_l2"]["steps"] == 1000 and ad["attacks"]["jsma_f_t"]["numerics"] == "exact"
    assert rb == {
        "samples": 100,
        "targets_per_sample": 9,
        "variant": "jsma_f",
        "numerics": "exact",
        "batch_size": 900,
        "max_features": 112,  # absent: the dataset's budget (config.yaml sets null, the paper's uncapped rho_adv)
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
    assert "'datasets.cifar10.robustness.max_features': 3073 is more than the 3072" in msg and "null (no cap" in msg


def test_a_profile_replaces_the_default_attack_list(repo_root):
    """Snakemake merges --configfile mappings into the default config key by key: the attack list of a profile
    must replace config.yaml's, not add to it (the smoke profile runs one attack on CIFAR-10)."""
    plan = Plan(load_config(repo_root / "config" / "smoke.yaml", check_device=False))
    assert plan.adaptive_attacks("cifar10") == ["jsma_f_t"]


def test_one_budget_per_dataset_is_inherited_unless_set(paper_raw, repo_root):
    """`datasets.<d>.max_features` is the Fig. 7 attack's budget and, unless they set their own, the adaptive and
    robustness blocks'; config.yaml's rho_adv sets null (no cap), the smoke profile a cap of its own."""
    cfg = copy.deepcopy(paper_raw)
    cfg["datasets"]["mnist"]["max_features"] = 60
    del cfg["datasets"]["mnist"]["robustness"]["max_features"]
    cfg["datasets"]["cifar10"]["adaptive"]["max_features"] = 40
    out = validate_config(cfg, check_device=False)["datasets"]
    mnist, cifar = out["mnist"], out["cifar10"]
    assert mnist["attack"]["max_features"] == mnist["adaptive"]["max_features"] == 60
    assert mnist["robustness"]["max_features"] == 60
    assert (cifar["attack"]["max_features"], cifar["adaptive"]["max_features"]) == (112, 40)
    assert cifar["robustness"]["max_features"] is None
    assert '"max_features": 60' in Plan(validate_config(copy.deepcopy(cfg), check_device=False)).attack_json("mnist")
    smoke = load_config(repo_root / "config" / "smoke.yaml", check_device=False)["datasets"]["mnist"]
    assert (smoke["attack"]["max_features"], smoke["robustness"]["max_features"]) == (112, 200)


@pytest.mark.parametrize(
    "where,value,message",
    [
        ("max_features", 1000, "'datasets.mnist.max_features': 1000 is more than the 784 input elements"),
        ("max_features", 111, "'datasets.mnist.max_features': 111 is odd"),
        ("adaptive", 786, "'datasets.mnist.adaptive.max_features': 786 is more than the 784 input elements"),
        ("robustness", 201, "'datasets.mnist.robustness.max_features': 201 is odd"),
    ],
)
def test_every_budget_is_checked_in_one_place(paper_raw, where, value, message):
    cfg = copy.deepcopy(paper_raw)
    ds = cfg["datasets"]["mnist"]
    (ds if where == "max_features" else ds[where])["max_features"] = value
    msg = _errors(cfg)
    assert message in msg and "fix: use" in msg, msg
    assert msg.count("max_features") == 1, "a bad dataset budget is reported once, not once per inheriting block"


def test_the_old_per_attack_budget_is_refused_with_its_new_place(paper_raw):
    cfg = copy.deepcopy(paper_raw)
    cfg["datasets"]["cifar10"]["attack"]["max_features"] = 112
    msg = _errors(cfg)
    assert "'datasets.cifar10.attack.max_features' has moved" in msg and "'datasets.cifar10.max_features'" in msg
    assert "fix: write 'max_features: 112' under 'datasets.cifar10:'" in msg
