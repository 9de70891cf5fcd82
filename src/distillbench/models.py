"""The networks of Papernot et al. 2016, Table I (3x3 convolutions + ReLU, 2x2 max-pooling)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Architecture:
    in_channels: int
    image_size: int
    conv: tuple[int, int, int, int]  # conv, conv, pool, conv, conv, pool
    fc: tuple[int, int]
    num_classes: int = 10


ARCHITECTURES = {
    "mnist": Architecture(in_channels=1, image_size=28, conv=(32, 32, 64, 64), fc=(200, 200)),
    "cifar10": Architecture(in_channels=3, image_size=32, conv=(64, 64, 128, 128), fc=(256, 256)),
}


class PapernotNet(nn.Module):
    """conv-conv-pool-conv-conv-pool-FC-FC-logits; softmax (at a temperature) is applied outside."""

    def __init__(self, arch: Architecture, dropout: float = 0.5) -> None:
        super().__init__()
        c1, c2, c3, c4 = arch.conv
        self.features = nn.Sequential(
            nn.Conv2d(arch.in_channels, c1, 3), nn.ReLU(),
            nn.Conv2d(c1, c2, 3), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3), nn.ReLU(),
            nn.Conv2d(c3, c4, 3), nn.ReLU(),
            nn.MaxPool2d(2),
        )  # fmt: skip
        side = ((arch.image_size - 4) // 2 - 4) // 2
        f1, f2 = arch.fc
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c4 * side * side, f1), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(f1, f2), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(f2, arch.num_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def glorot_uniform_(model: nn.Module) -> None:
    """Keras-era initialisation: Glorot-uniform weights, zero biases."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def build_model(
    dataset: str, *, dropout: float = 0.5, init: str = "glorot_uniform", seed: int | None = None
) -> PapernotNet:
    if dataset not in ARCHITECTURES:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {sorted(ARCHITECTURES)}")
    if seed is not None:
        torch.manual_seed(seed)
    model = PapernotNet(ARCHITECTURES[dataset], dropout=dropout)
    if init == "glorot_uniform":
        glorot_uniform_(model)
    elif init != "pytorch_default":
        raise ValueError(f"unknown init {init!r}; use glorot_uniform or pytorch_default")
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
