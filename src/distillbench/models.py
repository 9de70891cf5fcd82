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


# What the network sees: `unit` the images as loaded, in [0, 1]; `centered` the images minus 0.5, in [-0.5, 0.5].
INPUT_OFFSETS = {"unit": 0.0, "centered": 0.5}
# Where dropout acts: after both fully connected hidden layers, or after the first only.
DROPOUT_LAYERS = ("both_fc", "first_fc")


class PapernotNet(nn.Module):
    """conv-conv-pool-conv-conv-pool-FC-FC-logits; softmax (at a temperature) is applied outside."""

    def __init__(
        self, arch: Architecture, dropout: float = 0.5, input_range: str = "unit", dropout_layers: str = "both_fc"
    ) -> None:
        super().__init__()
        if input_range not in INPUT_OFFSETS:
            raise ValueError(f"unknown input_range {input_range!r}; use one of {sorted(INPUT_OFFSETS)}")
        if dropout_layers not in DROPOUT_LAYERS:
            raise ValueError(f"unknown dropout_layers {dropout_layers!r}; use one of {list(DROPOUT_LAYERS)}")
        # Images stay in [0, 1] everywhere (data, attack bounds); the network subtracts this before its first layer.
        self.input_offset = INPUT_OFFSETS[input_range]
        second = dropout if dropout_layers == "both_fc" else 0.0
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
            nn.Linear(f1, f2), nn.ReLU(), nn.Dropout(second),
            nn.Linear(f2, arch.num_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_offset:
            x = x - self.input_offset
        return self.classifier(self.features(x))


def glorot_uniform_(model: nn.Module) -> None:
    """Keras-era initialisation: Glorot-uniform weights, zero biases."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def build_model(
    dataset: str,
    *,
    dropout: float = 0.5,
    init: str = "glorot_uniform",
    seed: int | None = None,
    input_range: str = "unit",
    dropout_layers: str = "both_fc",
) -> PapernotNet:
    if dataset not in ARCHITECTURES:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {sorted(ARCHITECTURES)}")
    if seed is not None:
        torch.manual_seed(seed)
    model = PapernotNet(ARCHITECTURES[dataset], dropout=dropout, input_range=input_range, dropout_layers=dropout_layers)
    if init == "glorot_uniform":
        glorot_uniform_(model)
    elif init != "pytorch_default":
        raise ValueError(f"unknown init {init!r}; use glorot_uniform or pytorch_default")
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- architectures by name (the paper seam: a job names its architecture, not its dataset) -------------------
INPUT_SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


class MLP(nn.Module):
    """Fully connected ReLU network on flattened images: optional input dropout, dropout after each hidden layer."""

    def __init__(
        self, in_features: int, widths: tuple[int, ...], num_classes: int = 10, dropout: float = 0.0,
        input_dropout: float = 0.0,
    ) -> None:  # fmt: skip
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        if input_dropout:
            layers.append(nn.Dropout(input_dropout))
        prev = in_features
        for w in widths:
            layers += [nn.Linear(prev, int(w)), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            prev = int(w)
        layers.append(nn.Linear(prev, num_classes))
        self.net = nn.Sequential(*layers)
        self.widths = tuple(int(w) for w in widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


ARCH_NAMES = ("mlp", "papernot_mnist", "papernot_cifar10")


def build_arch(
    name: str,
    dataset: str,
    *,
    widths: tuple[int, ...] | list[int] = (),
    dropout: float = 0.0,
    input_dropout: float = 0.0,
    init: str = "pytorch_default",
    seed: int | None = None,
    input_range: str = "unit",
    dropout_layers: str = "both_fc",
) -> nn.Module:
    """A network by architecture name: ``mlp`` (hidden ``widths``) or Papernot's Table I nets
    (``papernot_mnist``, ``papernot_cifar10``: exactly :func:`build_model`'s networks, same initialisation)."""
    if dataset not in INPUT_SHAPES:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {sorted(INPUT_SHAPES)}")
    if name.startswith("papernot_"):
        own = name.removeprefix("papernot_")
        if own != dataset:
            raise ValueError(f"architecture {name!r} takes {own} images, not {dataset}")
        return build_model(
            own, dropout=dropout, init=init, seed=seed, input_range=input_range, dropout_layers=dropout_layers
        )
    if name != "mlp":
        raise ValueError(f"unknown architecture {name!r}; use one of {list(ARCH_NAMES)}")
    if not widths:
        raise ValueError("architecture 'mlp' needs at least one hidden width")
    if seed is not None:
        torch.manual_seed(seed)
    c, h, w = INPUT_SHAPES[dataset]
    model = MLP(c * h * w, tuple(widths), dropout=dropout, input_dropout=input_dropout)
    if init == "glorot_uniform":
        glorot_uniform_(model)
    elif init != "pytorch_default":
        raise ValueError(f"unknown init {init!r}; use glorot_uniform or pytorch_default")
    return model
