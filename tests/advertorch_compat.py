"""AdverTorch 0.2.3 beside a recent torch, for the cross-check tests and benchmark/perf/jsma.py."""

from __future__ import annotations

import sys

import torch


def import_advertorch() -> type:
    """Return AdverTorch's ``JacobianSaliencyMapAttack``.

    advertorch 0.2.3 imports ``torch.autograd.gradcheck.zero_gradients``, gone from torch >= 1.9;
    put it back on the module (``import torch.autograd.gradcheck as g`` would give the function of that
    name, not the module). Raises ImportError (or whatever the import raises) when unavailable.
    """
    import torch.autograd.gradcheck  # noqa: F401

    mod = sys.modules["torch.autograd.gradcheck"]
    if not hasattr(mod, "zero_gradients"):

        def zero_gradients(x):
            if isinstance(x, torch.Tensor):
                if x.grad is not None:
                    x.grad.detach_()
                    x.grad.zero_()
            else:
                for e in x:
                    zero_gradients(e)

        mod.zero_gradients = zero_gradients
    from advertorch.attacks import JacobianSaliencyMapAttack

    return JacobianSaliencyMapAttack


def aligned_advertorch_jsma(base: type) -> type:
    """Alignment with ours: saturated features are not in the search space (AdverTorch starts with all)."""

    class _AlignedAdverTorchJSMA(base):
        def perturb(self, x, y=None):
            self._unsaturated = (x.reshape(x.shape[0], -1) < self.clip_max).int()
            return super().perturb(x, y)

        def _saliency_map(self, search_space, grads_target, grads_other, y):
            return super()._saliency_map(search_space * self._unsaturated, grads_target, grads_other, y)

    return _AlignedAdverTorchJSMA


class Softmax(torch.nn.Module):
    """softmax(model(x) / T): the model AdverTorch differentiates for jsma_f and jsma_f_t."""

    def __init__(self, model: torch.nn.Module, temperature: float = 1.0) -> None:
        super().__init__()
        self.model, self.temperature = model, temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x) / self.temperature, dim=-1)
