"""The recipe-sensitivity study: its plan (variants one at a time, jobs, paths, nothing when disabled), the two
training settings it adds (input range, dropout placement) and the section on a synthetic results directory."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from distillbench.models import build_model
from distillbench.papers.papernot2016 import recipe_report, recipe_study
from distillbench.papers.papernot2016.recipe_study import CARLINI_OPTIMISER, NUMERICS, RecipePlan
from distillbench.training import TrainSpec, load_checkpoint, save_checkpoint

MNIST_TRAINING = {
    "lr": 0.1, "momentum": 0.5, "nesterov": False, "batch_size": 128, "epochs": 4, "epochs_by_temperature": {},
    "lr_decay": None, "dropout": 0.5, "init": "glorot_uniform", "warm_start_epochs": 0,
}  # fmt: skip
CIFAR_TRAINING = {**MNIST_TRAINING, "lr": 0.01, "momentum": 0.9, "lr_decay": {"factor": 0.95, "after_epoch": 10}}
ATTACK = {"variant": "jsma_f", "numerics": "exact", "compare_numerics": ["float32"], "samples": 100,
          "targets_per_sample": 9, "max_features": 112, "batch_size": 30}  # fmt: skip


def config(**study):
    return {
        "seed": 1234,
        "datasets": {
            "mnist": {"training": MNIST_TRAINING, "attack": ATTACK, "train_subset": 1000, "test_subset": None},
            "cifar10": {"training": CIFAR_TRAINING, "attack": ATTACK, "train_subset": None, "test_subset": None},
        },
        "recipe_study": {"enabled": True, **study},
    }


def test_disabled_study_plans_nothing():
    for cfg in (config(enabled=False), {k: v for k, v in config().items() if k != "recipe_study"}):
        plan = RecipePlan(cfg, "results/r", "work/r")
        assert plan.datasets() == [] and plan.outputs() == []


def test_each_variant_changes_one_choice_against_the_configured_recipe():
    cfg = config(datasets=["mnist", "cifar10"], epochs_scale=0.5)
    for dataset, expected in (("mnist", 6), ("cifar10", 7)):  # lr_decay only where a decay is configured
        vs = recipe_study.variants(cfg, dataset)
        assert len(vs) == expected and vs[0].name == "configured"
        ref = vs[0].training
        assert ref["epochs"] == vs[0].epochs == 2 and ref["warm_start_epochs"] == 0
        for v in vs[1:]:
            changed = {k for k in ref if ref[k] != v.training[k]}
            wanted = {"optimiser": {"lr", "momentum", "nesterov"}}.get(v.name, {v.name})
            if dataset == "cifar10" and v.name == "optimiser":
                wanted = {"nesterov"}  # CIFAR-10's configured lr and momentum already equal Carlini's
            assert changed == wanted, (dataset, v.name, changed)
    mn = {v.name: v for v in recipe_study.variants(cfg, "mnist")}
    assert {k: mn["optimiser"].training[k] for k in CARLINI_OPTIMISER} == CARLINI_OPTIMISER
    assert mn["epochs"].epochs == 4 and mn["input_range"].training["input_range"] == "centered"
    assert mn["dropout_layers"].training["dropout_layers"] == "first_fc"
    assert mn["init"].training["init"] == "pytorch_default"


def test_jobs_and_paths_live_under_the_runs_recipe_folders():
    cfg = config(datasets=["mnist"], protocol_draws=[1, 2], samples=50, temperature=5)
    plan = RecipePlan(cfg, "results/r", "work/r")
    out = plan.outputs()
    variants = len(recipe_study.variants(cfg, "mnist"))
    assert len(out) == len(set(out)) == variants * 2 * (2 + len(NUMERICS) * 3)
    assert all(p.startswith("results/r/recipe/mnist/") for p in out)
    assert plan.checkpoint("mnist", "init", "distilled") == "work/r/recipe/mnist/init/distilled_T5.pt"
    assert plan.checkpoint("mnist", "init", "baseline") == "work/r/recipe/mnist/init/teacher_T1.pt"
    at = json.loads(plan.attack_json("mnist", "float32", "draw2"))
    assert (at["numerics"], at["samples"], at["draw_seed"]) == ("float32", 50, 2) and "compare_numerics" not in at
    assert "draw_seed" not in json.loads(plan.attack_json("mnist", "exact", "first"))
    args = plan.train_args("mnist", "input_range", "student", "5", soft_labels="work/r/x.pt")
    assert "--temperature 5 --epochs 4" in args and "--train-subset 1000" in args
    assert '"input_range": "centered"' in args and "--soft-labels work/r/x.pt" in args


def test_a_dataset_the_run_leaves_out_is_not_studied():
    cfg = config(datasets=["mnist", "cifar10"])
    del cfg["datasets"]["cifar10"]
    assert recipe_study.datasets(cfg) == ["mnist"]


def test_centered_input_is_the_unit_network_on_shifted_images_and_survives_a_checkpoint(tmp_path):
    x = torch.rand(3, 1, 28, 28)
    unit = build_model("mnist", seed=0).eval()
    centered = build_model("mnist", seed=0, input_range="centered").eval()
    torch.testing.assert_close(centered(x), unit(x - 0.5), rtol=0, atol=0)
    spec = TrainSpec.from_config(
        "mnist", {**MNIST_TRAINING, "input_range": "centered", "dropout_layers": "first_fc"},
        temperature=1, epochs=1, seed=0, role="teacher",
    )  # fmt: skip
    save_checkpoint(tmp_path / "c.pt", centered, spec, [], 0.5)
    loaded, ckpt = load_checkpoint(tmp_path / "c.pt")
    assert ckpt["spec"]["input_range"] == "centered"
    torch.testing.assert_close(loaded(x), centered(x), rtol=0, atol=0)


def test_dropout_placement_and_the_defaults_of_today():
    both = build_model("mnist", dropout=0.5)
    first = build_model("mnist", dropout=0.5, dropout_layers="first_fc")
    p = lambda m: [d.p for d in m.modules() if isinstance(d, torch.nn.Dropout)]  # noqa: E731
    assert p(both) == [0.5, 0.5] and p(first) == [0.5, 0.0]
    spec = TrainSpec.from_config("mnist", MNIST_TRAINING, temperature=1, epochs=1, seed=0, role="teacher")
    assert (spec.input_range, spec.dropout_layers) == ("unit", "both_fc")
    with pytest.raises(ValueError, match="input_range"):
        build_model("mnist", input_range="zero_centred")


# --- the section on a synthetic results directory ----------------------------------------------------------
def write_run(root: Path, cfg: dict, success_of) -> None:
    """Per-target tables and logit files for every output of the plan; ``success_of(variant, model, numerics,
    protocol, image, target)`` gives each target's outcome."""
    plan = RecipePlan(cfg, str(root), "work")
    images = {"first": range(0, 20), "draw1": range(100, 120)}
    for v in recipe_study.variants(cfg, "mnist"):
        for m in ("baseline", "distilled"):
            sat = {"images": 20, "logit_l1_sum": 40.0, "logit_l1_per_logit": 4.0, "median_top2_gap": 9.0}
            logits = {"test_accuracy": 0.98, "protocols": {p: sat for p in images}}
            Path(plan.logits_summary("mnist", v.name, m)).parent.mkdir(parents=True, exist_ok=True)
            Path(plan.logits_summary("mnist", v.name, m)).write_text(json.dumps(logits))
            for n in NUMERICS:
                for p, imgs in images.items():
                    rows = [
                        {"sample_index": i, "target": t, "success": success_of(v.name, m, n, p, i, t)}
                        for i in imgs
                        for t in range(9)
                    ]
                    path = Path(plan.attack_summary("mnist", v.name, n, p, m)).with_suffix(".csv")
                    path.parent.mkdir(parents=True, exist_ok=True)
                    pd.DataFrame(rows).to_csv(path, index=False)


def test_section_ranks_the_choices_by_their_shift(tmp_path):
    cfg = config(datasets=["mnist"], variants=["init", "epochs"], protocol_draws=[1], samples=20)

    def success(variant, model, numerics, protocol, image, target):
        if variant == "init":  # every target of the first 10 images of each protocol flips to success
            return image % 100 < 10 or target < 3
        if variant == "epochs":  # one target per image flips to failure on the distilled network
            return target < 3 and not (model == "distilled" and target == 0)
        return target < 3

    write_run(tmp_path, cfg, success)
    md = recipe_report.recipe_section(cfg, tmp_path)
    assert md.startswith(recipe_report.TITLE)
    rows, ranked = recipe_report.collect(cfg, tmp_path)
    assert list(ranked["rank"]) == sorted(ranked["rank"])  # rows grouped by rank, best first
    top = ranked[ranked["rank"] == 1]
    assert set(top.choice) == {"init"}
    init = ranked[(ranked.choice == "init") & (ranked.model == "baseline") & (ranked.numerics == "float32")].iloc[0]
    # in each protocol 10 of 20 images gain their 6 failed targets: +60 of 180 targets
    assert init.shift_pp == pytest.approx(100 * 60 / 180) and init.shift_low_pp < init.shift_pp < init.shift_high_pp
    ep = ranked[(ranked.choice == "epochs") & (ranked.model == "distilled")].iloc[0]
    assert ep.shift_pp == pytest.approx(-100 / 9) and ep.discordant_images == 0  # the same loss on every image
    base_ep = ranked[(ranked.choice == "epochs") & (ranked.model == "baseline")]
    assert np.allclose(base_ep.shift_pp, 0)
    proto = ranked[ranked.choice == "protocol"]
    assert len(proto) == 4 and np.allclose(proto.shift_pp, 0)  # same success pattern on the draw's images
    csv = pd.read_csv(tmp_path / "recipe.csv")
    assert len(csv) == len(rows) and set(csv.protocol) == {"first", "draw1"}
    assert "| 1 " in md and "init: glorot_uniform -> pytorch_default" in md


def test_section_is_empty_when_disabled_and_says_when_not_run(tmp_path):
    assert recipe_report.recipe_section(config(enabled=False), tmp_path) == ""
    md = recipe_report.recipe_section(config(datasets=["mnist"]), tmp_path)
    assert "has not run" in md and not (tmp_path / "recipe.csv").exists()


def test_command_line_strings_are_read_as_what_they_stand_for():
    got = recipe_study.coerce_command_line(
        {"enabled": "false", "samples": "30", "epochs_scale": "0.5", "protocol_draws": ["1", "2"]}
    )
    assert got == {"enabled": False, "samples": 30, "epochs_scale": 0.5, "protocol_draws": [1, 2]}
