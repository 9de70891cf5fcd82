"""Input-gradient statistics: exact zeros in float32 where the softmax saturates, not in float64."""

from __future__ import annotations

import torch
from torch import nn

from distillbench.gradients import gradient_stats, target_gradients


def _linear(scale: float) -> nn.Module:
    torch.manual_seed(0)
    lin = nn.Linear(6, 3)
    with torch.no_grad():
        lin.weight.mul_(scale)
        lin.bias.zero_()
    return lin.requires_grad_(False)


def test_saturated_softmax_underflows_in_float32_only():
    x = torch.rand(64, 6, generator=torch.Generator().manual_seed(1))
    big = _linear(1000.0)
    logits = big(x)
    t = logits.argmin(1)  # the least likely class: the hardest target
    # Keep the targets whose logit gap underflows exp() in float32 (> ~104) but not in float64 (< ~745).
    gaps = logits.max(1).values - logits.gather(1, t[:, None]).squeeze(1)
    keep = (gaps > 110) & (gaps < 700)
    assert keep.sum() >= 5, gaps
    x, t = x[keep], t[keep]
    # Moderate logits: both precisions give the same, nonzero gradients.
    mild = gradient_stats(_linear(1.0), x, t)
    assert mild["float32"]["zero_gradient_share"] == 0 and mild["float64"]["zero_gradient_share"] == 0
    assert abs(mild["float32"]["mean_abs_grad"] / mild["float64"]["mean_abs_grad"] - 1) < 1e-4
    # Logits 1000x larger (as after distillation at high T): F_t ~ exp(-gap) underflows in float32 (below
    # ~1e-45) but not in float64 (down to ~1e-308).
    sat = gradient_stats(big, x, t)
    assert sat["float32"]["zero_gradient_share"] == 1.0 and sat["float32"]["mean_abs_grad"] == 0
    assert sat["float64"]["zero_gradient_share"] == 0 and sat["float64"]["mean_abs_grad"] > 0
    assert sat["median_logit_gap"] > mild["median_logit_gap"]


def test_target_gradients_match_autograd_of_one_output():
    model, x = _linear(2.0), torch.rand(3, 6)
    t = torch.tensor([0, 1, 2])
    g = target_gradients(model, x, t, torch.float64)
    for i in range(3):
        xi = x[i : i + 1].double().requires_grad_(True)
        (want,) = torch.autograd.grad(torch.softmax(model.double()(xi), -1)[0, t[i]], xi)
        assert torch.allclose(g[i], want.reshape(-1))
