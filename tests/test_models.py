"""The networks match Papernot et al. 2016, Table I."""

import pytest
import torch
from torch import nn

from distillbench.models import build_model, count_parameters


def _table_i_parameters(in_ch: int, side: int, convs: list[int], fcs: list[int]) -> int:
    """Parameter count written out from Table I: 3x3 convs (valid padding), 2x2 pools after conv 2 and 4."""
    total, c = 0, in_ch
    for i, out in enumerate(convs):
        total += c * out * 9 + out
        c, side = out, side - 2
        if i in (1, 3):
            side //= 2
    width = c * side * side
    for out in fcs + [10]:
        total += width * out + out
        width = out
    return total


@pytest.mark.parametrize(
    "dataset,in_ch,side,convs,fcs,expected",
    [
        ("mnist", 1, 28, [32, 32, 64, 64], [200, 200], 312_202),
        ("cifar10", 3, 32, [64, 64, 128, 128], [256, 256], 1_147_978),
    ],
)
def test_parameter_count_matches_table_i(dataset, in_ch, side, convs, fcs, expected):
    model = build_model(dataset)
    assert _table_i_parameters(in_ch, side, convs, fcs) == expected
    assert count_parameters(model) == expected


@pytest.mark.parametrize("dataset,shape", [("mnist", (1, 28, 28)), ("cifar10", (3, 32, 32))])
def test_layer_sequence_and_output(dataset, shape):
    model = build_model(dataset)
    kinds = [type(m).__name__ for m in model.modules() if not isinstance(m, (nn.Sequential, type(model)))]
    assert kinds == [
        "Conv2d",
        "ReLU",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Conv2d",
        "ReLU",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Flatten",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
    ]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.kernel_size == (3, 3) for c in convs)
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert all(p.kernel_size == 2 for p in pools)
    out = model.eval()(torch.rand(5, *shape))
    assert out.shape == (5, 10)


def test_glorot_init_is_seeded_and_zero_bias():
    a, b = build_model("mnist", seed=3), build_model("mnist", seed=3)
    c = build_model("mnist", seed=4)
    for (na, pa), pb, pc in zip(a.named_parameters(), b.parameters(), c.parameters(), strict=True):
        assert torch.equal(pa, pb)
        if na.endswith("bias"):
            assert torch.count_nonzero(pa) == 0
        else:
            assert not torch.equal(pa, pc)
    # Glorot-uniform bound for the first FC layer: sqrt(6 / (fan_in + fan_out)).
    fc = [m for m in a.modules() if isinstance(m, nn.Linear)][0]
    bound = (6 / (1024 + 200)) ** 0.5
    assert fc.weight.abs().max() <= bound
    assert fc.weight.abs().max() > 0.9 * bound


def test_unknown_dataset_and_init_rejected():
    with pytest.raises(ValueError, match="unknown dataset"):
        build_model("svhn")
    with pytest.raises(ValueError, match="unknown init"):
        build_model("mnist", init="he")
