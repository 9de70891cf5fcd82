"""Seeds: config, the plan's paths (every seed's with its seed), different models per seed, the Fig. 7 columns
over seeds, and the generated conclusion."""

import copy
import json
import math
import shlex

import pandas as pd
import pytest
import torch
import yaml

from distillbench.conclusion import FAILS, HOLDS, UNKNOWN, WEAKENS, conclusion_lines
from distillbench.config import ConfigError, load_config, read_config_file, validate_config
from distillbench.config_profiles import read_profile
from distillbench.models import build_model
from distillbench.papers.papernot2016.plan import Plan
from distillbench.seeds import add_seed_columns, all_seeds, model_seed, seed_cells, seed_models
from distillbench.stats import REPRODUCED, UNTRAINED, wilson_interval


@pytest.fixture(scope="module")
def cpu_cfg(repo_root):
    return load_config(repo_root / "config" / "cpu.yaml", check_device=False)  # over config.yaml, as Snakemake


def _errors(cfg):
    with pytest.raises(ConfigError) as exc:
        validate_config(cfg, check_device=False)
    return str(exc.value)


def test_profiles_seeds_and_replicas(cpu_cfg, repo_root):
    assert all_seeds(cpu_cfg) == [1234, 1, 2]
    assert seed_models(cpu_cfg, "mnist") == ["baseline", "distilled_T100"]
    assert seed_models(cpu_cfg, "cifar10") == []
    paper = validate_config(yaml.safe_load((repo_root / "config" / "config.yaml").read_text()), check_device=False)
    assert all_seeds(paper)[0] == paper["seed"] == 1234 and len(all_seeds(paper)) == 3
    assert len(seed_models(paper, "cifar10")) == 10  # all: the baseline and 9 temperatures
    # Without `seeds`, one seed: the config's `seed`.
    one = copy.deepcopy(yaml.safe_load((repo_root / "config" / "config.yaml").read_text()))
    del one["seeds"]
    assert all_seeds(validate_config(one, check_device=False)) == [1234]


@pytest.mark.parametrize(
    "mutate,field,fix",
    [
        (lambda c: c.update(seeds=[1, 2, 3]), "'seeds'", "start the list with 1234"),
        (lambda c: c.update(seeds=[1234, 1, 1]), "seeds", "non-unique"),
        (lambda c: c.update(seeds=[1234, -1]), "seeds.1", "non-negative"),
        (
            lambda c: c["datasets"]["mnist"].update(seed_models=["baseline", "distilled_T3"]),
            "datasets.mnist.seed_models",
            "baseline, distilled_T1, distilled_T2, distilled_T5",
        ),
        (lambda c: c["datasets"]["mnist"].update(seed_models="some"), "datasets.mnist.seed_models", "'all'"),
        (
            lambda c: c.update(length_study={"dataset": "mnist", "epochs": [3, 1], "samples": 30}),
            "length_study.epochs",
            "[1, 3]",
        ),
        (
            lambda c: c.update(length_study={"dataset": "mnist", "epochs": [1], "samples": 20000}),
            "length_study.samples",
            "at most 10000",
        ),
        (lambda c: c.update(length_study={"dataset": "mnist", "epochs": [0], "samples": 3}), "length_study", ""),
    ],
)
def test_bad_seed_config_names_field_and_fix(repo_root, mutate, field, fix):
    cfg = yaml.safe_load((repo_root / "config" / "config.yaml").read_text())
    mutate(cfg)
    msg = _errors(cfg)
    assert field in msg and fix in msg, msg


def test_every_seed_has_its_seed_in_its_paths(cpu_cfg):
    plan = Plan(cpu_cfg)
    assert plan.checkpoint("mnist", "baseline") == "work/cpu/mnist/seed1234/teacher_T1.pt"  # the first seed's
    assert plan.extra_seeds() == [1, 2]
    assert plan.checkpoint("mnist", "baseline", 1) == "work/cpu/mnist/seed1/teacher_T1.pt"
    assert plan.checkpoint("mnist", "distilled_T20", 2) == "work/cpu/mnist/seed2/distilled_T20.pt"
    assert plan.warm_start("mnist", 2) == ["work/cpu/mnist/seed2/warm_start.pt"]  # a warm start per seed
    assert plan.attack_file("mnist", "exact", "baseline", 1) == "results/cpu/attacks/mnist/exact/seed1/baseline.json"
    assert plan.metrics_file("mnist", "teacher_T1") == "results/cpu/models/mnist/seed1234/teacher_T1.json"
    # A Snakemake pattern comes from the same method.
    assert plan.attack_file("{dataset}", "{numerics}", "{model}", "{seed}", ext="csv") == (
        "results/cpu/attacks/{dataset}/{numerics}/seed{seed}/{model}.csv"
    )
    summaries = plan.seed_attack_summaries()
    assert sorted(summaries) == sorted(
        f"results/cpu/attacks/mnist/float32/seed{s}/{m}.json" for s in (1, 2) for m in ("baseline", "distilled_T100")
    )  # main numerics only
    # train_args: the first seed's arguments as before; another seed only changes --seed.
    first = plan.train_args("mnist", "teacher", "20", init="w.pt")
    other = plan.train_args("mnist", "teacher", "20", init="w.pt", seed="2")
    assert "--seed 1234 " in first and first.replace("--seed 1234 ", "--seed 2 ") == other
    assert shlex.split(other)[shlex.split(other).index("--seed") + 1] == "2"


def test_seeds_give_different_models():
    """Each seed initialises (and shuffles) differently: model_seed differs, and so do the weights."""
    seeds = {model_seed(s, "teacher", 1.0) for s in (1234, 1, 2)}
    assert len(seeds) == 3
    a, b = (build_model("mnist", seed=model_seed(s, "teacher", 1.0)) for s in (1, 2))
    assert not torch.equal(next(a.parameters()), next(b.parameters()))


def _summary(path, successes, targets, acc):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "successes": successes,
                "targets": targets,
                "success_rate_pct": 100 * successes / targets,
                "test_accuracy": acc,
            }
        )
    )


def _attack_files(cfg, res):
    plan = Plan(cfg, str(res))
    return lambda model, seed: plan.attack_file("mnist", "exact", model, seed)


def test_fig7_columns_over_seeds(tmp_path, cpu_cfg):
    cfg = {**cpu_cfg, "temperatures": [2], "datasets": {"mnist": {**cpu_cfg["datasets"]["mnist"]}}}
    cfg["datasets"]["mnist"]["seed_models"] = ["distilled_T2"]
    res = tmp_path / "results"
    _summary(res / "attacks/mnist/exact/seed1234/baseline.json", 850, 900, 0.99)
    _summary(res / "attacks/mnist/exact/seed1234/distilled_T2.json", 801, 900, 0.99)
    _summary(res / "attacks/mnist/exact/seed1/distilled_T2.json", 720, 900, 0.985)
    _summary(res / "attacks/mnist/exact/seed2/distilled_T2.json", 765, 900, 0.99)
    cells = seed_cells(cfg, _attack_files(cfg, res), "mnist", "exact")
    assert list(cells.seed[cells.model == "distilled_T2"]) == [1234, 1, 2]
    assert list(cells.seed[cells.model == "baseline"]) == [1234]
    table = pd.DataFrame(
        [
            {
                "dataset": "mnist",
                "model": "baseline",
                "paper_pct": 95.89,
                "successes": 850,
                "targets": 900,
                "test_accuracy_pct": 99.0,
                "paper_accuracy_pct": 99.51,
                "verdict": "x",
            },
            {
                "dataset": "mnist",
                "model": "distilled_T2",
                "paper_pct": 82.23,
                "successes": 801,
                "targets": 900,
                "test_accuracy_pct": 99.0,
                "paper_accuracy_pct": 99.51,
                "verdict": "x",
            },
        ]
    )
    out = add_seed_columns(table, cells)
    t2 = out[out.model == "distilled_T2"].iloc[0]
    assert t2.seeds == 3 and t2.seed_list == "1234 1 2"
    assert (t2.min_pct, t2.max_pct) == pytest.approx((80.0, 89.0))
    assert t2.mean_pct == pytest.approx(254 / 3) and t2.sd_pp == pytest.approx(math.sqrt(61 / 3))
    assert t2.pooled_targets == 2700 and t2.pooled_successes == 2286
    lo, hi = wilson_interval(2286, 2700)
    assert (t2.pooled_ci95_low_pct, t2.pooled_ci95_high_pct) == pytest.approx((100 * lo, 100 * hi))
    assert t2.test_accuracy_mean_pct == pytest.approx((99.0 + 98.5 + 99.0) / 3)
    base = out[out.model == "baseline"].iloc[0]
    assert base.seeds == 1 and base.seed_list == "1234" and math.isnan(base.sd_pp)
    # The verdict is left to the clustered comparison: the table's own column passes through untouched.
    assert list(out.verdict) == ["x", "x"] and "verdict_10pp" not in out


def test_seed_columns_pool_counts_and_average_rates():
    """Seeds with different target counts: the mean is of the per-seed rates, the interval of the pooled counts;
    a cell without seed rows counts the table's own first-seed numbers."""
    table = pd.DataFrame(
        [
            {"dataset": "mnist", "model": m, "successes": k, "targets": n, "test_accuracy_pct": 98.0}
            for m, k, n in (("baseline", 9, 10), ("distilled_T2", 3, 30))
        ]
    )
    cells = pd.DataFrame(
        [
            {"dataset": "mnist", "model": "baseline", "seed": s, "successes": k, "targets": n, "test_accuracy_pct": a}
            for s, k, n, a in ((1234, 9, 10, 98.0), (1, 50, 100, 97.0))
        ]
    )
    out = add_seed_columns(table, cells).set_index("model")
    uneven = out.loc["baseline"]
    assert uneven.mean_pct == pytest.approx(70.0) and uneven.sd_pp == pytest.approx(math.sqrt(800))
    assert (uneven.pooled_successes, uneven.pooled_targets) == (59, 110)
    assert (uneven.pooled_ci95_low_pct, uneven.pooled_ci95_high_pct) == pytest.approx(
        tuple(100 * v for v in wilson_interval(59, 110))
    )
    assert uneven.test_accuracy_mean_pct == pytest.approx(97.5)
    alone = out.loc["distilled_T2"]
    assert (alone.seeds, alone.seed_list, alone.mean_pct, alone.pooled_targets) == (1, "", pytest.approx(10.0), 30)


def test_conclusion_with_and_without_adaptive_attacks():
    table = pd.DataFrame(
        [
            {
                "dataset": "mnist",
                "model": "baseline",
                "temperature": None,
                "mean_pct": 90.0,
                "pooled_ci95_low_pct": 88.0,
                "pooled_ci95_high_pct": 92.0,
                "pooled_targets": 2700,
                "test_accuracy_mean_pct": 99.0,
                "verdict": REPRODUCED,
            },
            {
                "dataset": "mnist",
                "model": "distilled_T100",
                "temperature": 100.0,
                "mean_pct": 0.5,
                "pooled_ci95_low_pct": 0.2,
                "pooled_ci95_high_pct": 1.0,
                "pooled_targets": 2700,
                "test_accuracy_mean_pct": 98.2,
                "verdict": REPRODUCED,
            },
        ]
    )
    text = "\n".join(conclusion_lines(table, titles={"mnist": "MNIST"}))
    assert f"distillation **{HOLDS}**" in text and "+0.80 pp lost" in text
    assert "adaptive attacks" in text and "not in this run" in text
    adaptive = pd.DataFrame(
        [
            {
                "dataset": "mnist",
                "model": "baseline",
                "attack": "jsma_z",
                "trained_temperature": 1.0,
                "targets": 900,
                "successes": 880,
            },
            {
                "dataset": "mnist",
                "model": "distilled_T100",
                "attack": "jsma_z",
                "trained_temperature": 100.0,
                "targets": 900,
                "successes": 800,
            },
            {
                "dataset": "mnist",
                "model": "baseline",
                "attack": "cw_l2",
                "trained_temperature": 1.0,
                "targets": 900,
                "successes": 900,
            },
            {
                "dataset": "mnist",
                "model": "distilled_T100",
                "attack": "cw_l2",
                "trained_temperature": 100.0,
                "targets": 900,
                "successes": 450,
            },
        ]
    )
    text = "\n".join(conclusion_lines(table, adaptive, titles={"mnist": "MNIST"}))
    assert "adaptive `jsma_z`: success 88.9%" in text and f"distillation **{WEAKENS}**" in text
    assert "holds against JSMA-F on MNIST" in text and "`jsma_z` on MNIST" in text
    same = adaptive.assign(successes=[880, 875, 900, 899])
    assert f"**{FAILS}**" in "\n".join(conclusion_lines(table, same))
    # a model near chance says nothing about the defense, whatever the attack
    untrained = table.assign(verdict=[REPRODUCED, UNTRAINED])
    text = "\n".join(conclusion_lines(untrained, same, titles={"mnist": "MNIST"}))
    assert f"**{FAILS}**" not in text and text.count(f"**{UNKNOWN}**") == 3


def test_command_line_overrides_are_read(repo_root):
    """`--config seeds=[1234,1]` and `--config length_study=null` arrive as strings from Snakemake."""
    cfg = read_profile(repo_root / "config" / "smoke.yaml", read_config_file)
    cfg.update(seeds=["1234", "1"], length_study="null")
    out = validate_config(cfg, check_device=False)
    assert out["seeds"] == [1234, 1] and out["length_study"] is None
    cfg.update(length_study={"dataset": "mnist", "epochs": ["1", "3"], "samples": "5", "seeds": ["4"]})
    study = validate_config(cfg, check_device=False)["length_study"]
    assert study == {"dataset": "mnist", "epochs": [1, 3], "samples": 5, "seeds": [4]}


def test_a_run_reported_again_without_its_further_seeds_counts_what_it_has(tmp_path, cpu_cfg):
    """A committed single-seed run reported with a config that now lists seeds: its cells have one seed each."""
    cfg = {**cpu_cfg, "temperatures": [2], "datasets": {"mnist": {**cpu_cfg["datasets"]["mnist"]}}}
    cfg["datasets"]["mnist"]["seed_models"] = "all"
    res = tmp_path / "results"
    _summary(res / "attacks/mnist/exact/seed1234/baseline.json", 850, 900, 0.99)
    _summary(res / "attacks/mnist/exact/seed1234/distilled_T2.json", 801, 900, 0.99)
    cells = seed_cells(cfg, _attack_files(cfg, res), "mnist", "exact")
    assert list(cells.seed) == [1234, 1234]
    # The first seed's summary is never optional.
    (res / "attacks/mnist/exact/seed1234/baseline.json").unlink()
    with pytest.raises(FileNotFoundError):
        seed_cells(cfg, _attack_files(cfg, res), "mnist", "exact")


def test_no_measured_cell_gives_no_seed_table():
    """A run that never ran the table's numerics (e.g. only `exact`) has no per-seed rows: no table, no error."""
    from distillbench.seeds import seeds_markdown

    assert seeds_markdown(pd.DataFrame(), {}, {}) == ""
