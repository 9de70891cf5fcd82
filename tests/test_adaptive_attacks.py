"""The attack registry and the Foolbox wrappers on tiny hand-built models: real attacks, no data."""

from __future__ import annotations

import dataclasses
import importlib
import subprocess
import sys

import foolbox as fb
import pandas as pd
import pytest
import torch
from torch import nn

from distillbench.adaptive import ADAPTIVE_COLUMNS, run_adaptive, summarize_adaptive, summarize_robustness
from distillbench.attacks.foolbox_attacks import outcome, run_cw_l2, run_l0_fmn
from distillbench.attacks.registry import REGISTRY, UnknownAttack, get_attack, parse_settings, settings_problems
from distillbench.data import TensorDataset

N = 20  # input elements


class MeanModel(nn.Module):
    """Class 1's logit is 4 * mean(x) - 2, class 0's is 0, class 2's is -50 (out of reach): from x = 0, class 1
    needs mean(x) > 0.5, i.e. at least 11 of the 20 elements at 1. Any adversarial for target 1 changes >= 11."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.reshape(len(x), -1).mean(1)
        return torch.stack([torch.zeros_like(m), 4 * m - 2, torch.full_like(m, -50.0)], dim=1)


def fmodel_of(model: nn.Module) -> fb.PyTorchModel:
    return fb.PyTorchModel(model.eval(), bounds=(0.0, 1.0), device="cpu")


def test_outcome_enforces_the_l0_budget_on_the_result():
    f = fmodel_of(MeanModel())
    x = torch.zeros(2, N)
    adv = x.clone()
    adv[:, :12] = 1.0  # reaches class 1 with 12 elements changed
    target = torch.tensor([1, 1])
    within = outcome(f, x, adv, target, max_features=12)
    over = outcome(f, x, adv, target, max_features=10)
    assert within.reached_target.tolist() == [True, True] and within.success.tolist() == [True, True]
    assert over.reached_target.tolist() == [True, True] and over.success.tolist() == [False, False]
    assert over.l0.tolist() == [12, 12]
    assert over.l2.tolist() == pytest.approx([12**0.5] * 2)
    assert outcome(f, x, adv, target, max_features=None).success.tolist() == [True, True]  # no budget: C&W


def test_l0_fmn_reaches_the_target_and_its_budget_is_enforced():
    f = fmodel_of(MeanModel())
    x = torch.zeros(3, N)
    target = torch.tensor([1, 1, 1])
    free = run_l0_fmn(f, x, target, max_features=N, steps=100)
    assert free.reached_target.all() and free.success.all()
    assert (free.l0 >= 11).all() and (free.final_prediction == 1).all()
    # The same attack with a budget below what any adversarial needs: it still reaches the target (the
    # attack itself knows no budget), but no target counts.
    tight = run_l0_fmn(f, x, target, max_features=10, steps=100)
    assert tight.reached_target.all() and not tight.success.any()


def test_cw_l2_reaches_the_target_of_a_linear_model():
    torch.manual_seed(0)
    lin = nn.Linear(6, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0, 0, 0, 0, 0], [0, 2.0, 0, 0, 0, 0], [0, 0, 3.0, 0, 0, 0]]))
        lin.bias.copy_(torch.tensor([0.5, 0.0, 0.0]))
    f = fmodel_of(lin.requires_grad_(False))
    x = torch.full((2, 6), 0.1)
    assert f(x).argmax(1).tolist() == [0, 0]
    r = run_cw_l2(f, x, torch.tensor([1, 2]), binary_search_steps=5, steps=200)
    assert r.success.tolist() == [True, True] and r.final_prediction.tolist() == [1, 2]
    assert (r.l2 > 0).all() and (r.l2 < 1.0).all()  # x_1 = 0.1 -> ~0.35 suffices for class 1
    assert float((r.adversarials - x).norm(dim=1)[0]) == pytest.approx(float(r.l2[0]), rel=1e-5)
    assert r.adversarials.min() >= 0 and r.adversarials.max() <= 1


def test_cw_l2_failure_is_not_foolboxs_zero_image():
    """Foolbox returns an all-zero image where C&W found nothing; the wrapper counts a failure and keeps x."""
    f = fmodel_of(MeanModel())
    x = torch.full((2, N), 0.2)
    r = run_cw_l2(f, x, torch.tensor([2, 2]), binary_search_steps=2, steps=20)  # class 2 is out of reach
    assert r.success.tolist() == [False, False] and r.reached_target.tolist() == [False, False]
    assert torch.equal(r.adversarials, x) and r.l2.tolist() == [0.0, 0.0]


def test_registry_entries_are_complete():
    assert set(REGISTRY) == {"jsma_f", "jsma_f_t", "jsma_z", "l0_fmn", "cw_l2"}
    for name, e in REGISTRY.items():
        assert e.name == name and e.norm in ("l0", "l2") and e.title and e.description
        assert dataclasses.is_dataclass(e.settings)
        s = e.settings()
        assert s.batch_size >= 1
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.batch_size = 2  # type: ignore[misc]
    assert get_attack("cw_l2").budgeted is False and get_attack("l0_fmn").budgeted is True
    with pytest.raises(UnknownAttack, match="known: jsma_f, jsma_f_t"):
        get_attack("fgsm")


def test_settings_are_checked_by_field():
    assert parse_settings("cw_l2", {"steps": 10, "models": "all", "samples": 2}).steps == 10
    msg = "; ".join(settings_problems("cw_l2", {"stepz": 3, "steps": 0, "abort_early": "yes"}, "x.cw_l2"))
    assert "'x.cw_l2.stepz': not a setting of cw_l2" in msg
    assert "'x.cw_l2.steps': 0 is not valid; fix: expected a positive integer" in msg
    assert "'x.cw_l2.abort_early'" in msg and "true or false" in msg
    assert "exact or float32" in settings_problems("jsma_z", {"numerics": "float16"}, "y")[0]
    with pytest.raises(ValueError, match="not a setting of l0_fmn"):
        parse_settings("l0_fmn", {"binary_search_steps": 3})


def test_registry_numerics_match_jsma():
    from distillbench.attacks import registry

    jsma = importlib.import_module("distillbench.attacks.jsma")
    assert registry.NUMERICS == jsma.NUMERICS
    assert registry.ARITHMETIC_ORDERS == jsma.ARITHMETIC_ORDERS
    assert "arithmetic_order" in settings_problems("jsma_f", {"arithmetic_order": "reversed"}, "z")[0]
    assert "replaced by 'exact'" in settings_problems("jsma_f", {"numerics": "defined"}, "z")[0]


def test_registry_imports_without_torch(repo_root):
    """Config validation reads the registry: it must not load torch or Foolbox."""
    code = (
        "import sys; import distillbench.attacks.registry, distillbench.config; "
        "print('torch' in sys.modules, 'foolbox' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(repo_root / "src"), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert out.stdout.split() == ["False", "False"], out.stderr


class TinyImageModel(nn.Module):
    """10 classes on 1x4x4 images: logit_c = 3 * (mean of pixel block c) - bias (a deterministic, attackable map)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(16, 10)
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():
            self.lin.weight.copy_(torch.randn(10, 16, generator=g))
            self.lin.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.reshape(len(x), -1))


@pytest.mark.parametrize("attack", ["jsma_f", "jsma_f_t", "jsma_z", "l0_fmn", "cw_l2"])
def test_run_adaptive_table_and_summary(attack, tmp_path):
    g = torch.Generator().manual_seed(0)
    test = TensorDataset(torch.rand(3, 1, 4, 4, generator=g), torch.tensor([0, 1, 2]))
    settings = {"steps": 30, "binary_search_steps": 2} if attack == "cw_l2" else {}
    settings.update({"steps": 50} if attack == "l0_fmn" else {})
    partial = tmp_path / "partial.csv"
    table = run_adaptive(
        TinyImageModel(), test, attack, {**settings, "batch_size": 9}, samples=2, targets_per_sample=9,
        max_features=8, device=torch.device("cpu"), temperature=2.0, partial_path=partial,
    )  # fmt: skip
    assert list(table.columns) == ADAPTIVE_COLUMNS and len(table) == 18
    assert (table.target != table.true_label).all()
    assert (table.success <= table.reached_target).all()
    if REGISTRY[attack].budgeted:
        assert (table[table.success].l0 <= 8).all()
    assert (table.reached_target == (table.final_prediction == table.target)).all()
    s = summarize_adaptive(table, attack, 8)
    assert s["targets"] == 18 and s["successes"] == int(table.success.sum())
    assert s["budget"] == (None if attack == "cw_l2" else 8)
    assert (s["mean_l2_success"] is None) == (attack != "cw_l2" or s["successes"] == 0)
    assert s["ci95_low_pct"] <= s["success_rate_pct"] <= s["ci95_high_pct"]
    # A resumed job keeps the finished batch and attacks only the rest.
    first = pd.read_csv(partial)
    assert len(first) == 18
    first.iloc[:9].to_csv(partial, index=False)
    again = run_adaptive(
        TinyImageModel(), test, attack, {**settings, "batch_size": 9}, samples=2, targets_per_sample=9,
        max_features=8, device=torch.device("cpu"), temperature=2.0, partial_path=partial,
    )  # fmt: skip
    assert again.success.tolist() == table.success.tolist()


def test_summarize_robustness_counts_successes_only():
    results = pd.DataFrame(
        {
            "sample_index": [0, 0, 1, 1],
            "success": [True, True, False, True],
            "features_changed": [10, 20, 784, 30],
            "no_pair": [False, False, True, False],
        }
    )
    s = summarize_robustness(results, 100)
    assert s["successes"] == 3 and s["failure_share_pct"] == 25.0
    assert s["rho_adv_pct"] == pytest.approx(20.0) and s["stopped_no_pair"] == 1
    none = summarize_robustness(results.assign(success=False), 100)
    assert none["rho_adv_pct"] is None and none["failure_share_pct"] == 100.0


def test_l0_fmn_survives_an_unreachable_target():
    """Foolbox 3.3.4's L0FMN indexed out of bounds once its epsilon grew to the input size (IndexError); the
    wrapper clips it: an unreachable target is a failure, the batch's other targets still count."""
    f = fmodel_of(MeanModel())
    x = torch.zeros(2, N)
    r = run_l0_fmn(f, x, torch.tensor([2, 1]), max_features=N, steps=150)
    assert r.success.tolist() == [False, True]
    assert torch.equal(r.adversarials[0], x[0])  # nothing found: the input comes back
