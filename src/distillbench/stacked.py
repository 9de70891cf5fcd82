"""Several Papernot networks of one architecture as one module, for training many models in one process.

On a GPU a training step of one of these 0.3-1.2 M-parameter networks is a few dozen tiny kernels, and
processes sharing a GPU take turns on it rather than running side by side: measured on one H100, 18
training jobs sharing it reached about 160k samples/s together (CHANGELOG.md, 2026-11-26),
less than twice one compiled job alone. ``StackedPapernotNet`` puts ``k`` networks into every kernel
instead: the convolutions become grouped convolutions (group ``i`` is network ``i``), the fully connected
layers batched matrix products. Network ``i`` sees only its own input ``x[i]`` and its own weights, so
the gradient of the summed losses with respect to network ``i``'s weights is the gradient of its own loss,
and SGD (elementwise) moves each network exactly as it would alone. Floating-point sums may run in another
order than the single network's kernels: results agree within rounding, not bit for bit
(tests/test_stacked.py).

Used by :mod:`.group_training` (config ``train_in_groups``); ``benchmark/perf/train.py`` measures it
(variants ``grouped<k>``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .models import ARCHITECTURES, Architecture, PapernotNet

_CONVS = (0, 2, 5, 7)  # indices of the Conv2d layers in PapernotNet.features
_LINEARS = (1, 4, 7)  # indices of the Linear layers in PapernotNet.classifier


class StackedPapernotNet(nn.Module):
    """``k`` PapernotNets: input ``(k, B, C, H, W)``, logits ``(k, B, classes)``; network ``i`` reads ``x[i]``."""

    def __init__(self, arch: Architecture, k: int, dropout: float = 0.5) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.arch, self.k, self.dropout = arch, k, dropout
        chans = (arch.in_channels, *arch.conv)
        self.convs = nn.ModuleList(
            nn.Conv2d(k * c_in, k * c_out, 3, groups=k) for c_in, c_out in zip(chans[:-1], chans[1:], strict=True)
        )
        side = ((arch.image_size - 4) // 2 - 4) // 2
        widths = (arch.conv[-1] * side * side, *arch.fc, arch.num_classes)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(k, w_out, w_in)) for w_in, w_out in zip(widths[:-1], widths[1:], strict=True)
        )
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(k, w_out)) for w_out in widths[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, b = x.shape[0], x.shape[1]
        if k != self.k:
            raise ValueError(f"expected inputs for {self.k} networks (dim 0), got {k}")
        h = x.transpose(0, 1).reshape(b, k * x.shape[2], x.shape[3], x.shape[4])  # (B, k*C, H, W)
        for i, conv in enumerate(self.convs):
            h = F.relu(conv(h))
            if i in (1, 3):
                h = F.max_pool2d(h, 2)
        h = h.reshape(b, k, -1).transpose(0, 1)  # (k, B, features): each network's own flatten order
        last = len(self.weights) - 1
        for i, (w, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(bias.unsqueeze(1), h, w.transpose(1, 2))
            if i < last:
                h = F.dropout(F.relu(h), self.dropout, self.training)
        return h

    @classmethod
    def from_models(cls, models: Sequence[PapernotNet], dataset: str) -> StackedPapernotNet:
        """The networks' current weights, stacked (network ``i`` is ``models[i]``)."""
        arch = ARCHITECTURES[dataset]
        dropout = _dropout_of(models[0])
        stacked = cls(arch, len(models), dropout).to(next(models[0].parameters()).device)
        with torch.no_grad():
            for j, conv in zip(_CONVS, stacked._convs(), strict=True):
                conv.weight.copy_(torch.cat([_conv(m, j).weight for m in models]))
                _conv_bias(conv).copy_(torch.cat([_conv_bias(_conv(m, j)) for m in models]))
            for j, w, bias in zip(_LINEARS, stacked.weights, stacked.biases, strict=True):
                w.copy_(torch.stack([_linear(m, j).weight for m in models]))
                bias.copy_(torch.stack([_linear(m, j).bias for m in models]))
        return stacked

    def _convs(self) -> list[nn.Conv2d]:
        return [c for c in self.convs if isinstance(c, nn.Conv2d)]

    def unstack(self, i: int) -> PapernotNet:
        """Network ``i`` as a plain PapernotNet (a copy of its weights, on this module's device)."""
        net = PapernotNet(self.arch, dropout=self.dropout).to(self.weights[0].device)
        with torch.no_grad():
            for j, conv in zip(_CONVS, self._convs(), strict=True):
                out = conv.out_channels // self.k
                _conv(net, j).weight.copy_(conv.weight[i * out : (i + 1) * out])
                _conv_bias(_conv(net, j)).copy_(_conv_bias(conv)[i * out : (i + 1) * out])
            for j, w, bias in zip(_LINEARS, self.weights, self.biases, strict=True):
                _linear(net, j).weight.copy_(w[i])
                _linear(net, j).bias.copy_(bias[i])
        return net


def stacked_losses(logits: torch.Tensor, targets: torch.Tensor, temperatures: torch.Tensor) -> torch.Tensor:
    """Each network's loss, shape (k,): the mean cross-entropy of softmax(logits / T_i) against its targets.

    ``logits`` (k, B, classes); ``targets`` (k, B) integer labels (teachers: training.hard_label_loss) or
    (k, B, classes) probabilities (distilled networks: training.soft_label_loss); ``temperatures`` (k,).
    The gradient of the sum with respect to network ``i``'s weights is its own loss's gradient (the
    networks share no weights).
    """
    k, b, c = logits.shape
    scaled = logits / temperatures.view(k, 1, 1)
    if targets.dtype.is_floating_point:
        return -(targets * F.log_softmax(scaled, dim=-1)).sum(dim=-1).mean(dim=1)
    per_sample = F.cross_entropy(scaled.reshape(k * b, c), targets.reshape(k * b), reduction="none")
    return per_sample.view(k, b).mean(dim=1)


def _conv(model: PapernotNet, j: int) -> nn.Conv2d:
    layer = model.features[j]
    assert isinstance(layer, nn.Conv2d)
    return layer


def _conv_bias(conv: nn.Conv2d) -> torch.Tensor:
    assert conv.bias is not None
    return conv.bias


def _linear(model: PapernotNet, j: int) -> nn.Linear:
    layer = model.classifier[j]
    assert isinstance(layer, nn.Linear)
    return layer


def _dropout_of(model: PapernotNet) -> float:
    return next(float(m.p) for m in model.classifier if isinstance(m, nn.Dropout))
