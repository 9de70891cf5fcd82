"""How flat the deployed softmax is: the input gradients JSMA-F needs, per model, in float32 and float64.

Papernot et al. (2016) report that distillation shrinks the input gradients of the softmax "by a factor
of 10^30"; Carlini & Wagner (2016) that the distilled logits are about 100x larger, so the softmax
saturates and its gradients underflow to exactly zero in float32. For the attacked samples and targets
(the Fig. 7 targets) this measures, at the clean input:

* ``mean_abs_grad`` and ``median_abs_grad``: the mean and the median over targets of mean_i |dF_t/dx_i|
  (F = softmax at T=1); a few unsaturated targets dominate the mean;
* ``zero_gradient_share``: the share of targets whose gradient dF_t/dx is exactly zero everywhere
  (JSMA-F then finds no admissible pair at its first step);
* ``median_logit_gap`` (top-1 minus top-2 logit, per sample) and ``mean_logit_l1`` (mean L1 norm of
  the logit vector), the saturation that causes it.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


def target_gradients(model: nn.Module, x: torch.Tensor, target: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """dF_t/dx for each row (F = softmax of the logits), flattened to (B, n), computed in ``dtype``."""
    m = copy.deepcopy(model).to(dtype).eval().requires_grad_(False)
    xv = x.detach().to(dtype).requires_grad_(True)
    probs = torch.softmax(m(xv), dim=-1)
    (g,) = torch.autograd.grad(probs.gather(1, target[:, None]).sum(), xv)
    return g.reshape(len(x), -1)


def gradient_stats(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> dict[str, Any]:
    """The statistics above for the targets (x[i], target[i]), in float32 and float64."""
    out: dict[str, Any] = {"targets": len(x)}
    for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        g = target_gradients(model, x, target, dtype)
        per_target = g.abs().mean(dim=1)
        out[name] = {
            "mean_abs_grad": float(per_target.mean()),
            "median_abs_grad": float(per_target.median()),
            "zero_gradient_share": float((g == 0).all(dim=1).double().mean()),
        }
    with torch.no_grad():
        z = copy.deepcopy(model).double().eval()(x.double())
    top2 = z.topk(2, dim=1).values
    out["median_logit_gap"] = float((top2[:, 0] - top2[:, 1]).median())
    out["mean_logit_l1"] = float(z.abs().sum(dim=1).mean())
    return out
