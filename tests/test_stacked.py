"""StackedPapernotNet: k networks in one module compute what each network computes alone."""

from __future__ import annotations

import pytest
import torch

from distillbench.losses import hard_label_loss
from distillbench.models import build_model
from distillbench.stacked import StackedPapernotNet, stacked_losses

K = 3


def _models(dataset: str) -> list:
    return [build_model(dataset, seed=s) for s in range(K)]


@pytest.mark.parametrize("dataset,shape", [("mnist", (1, 28, 28)), ("cifar10", (3, 32, 32))])
def test_forward_is_each_network_on_its_own_input(dataset: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(5)
    models = _models(dataset)
    stacked = StackedPapernotNet.from_models(models, dataset).eval()
    x = torch.rand(K, 6, *shape)
    with torch.no_grad():
        out = stacked(x)
        for i, m in enumerate(models):
            expected = m.eval()(x[i])
            torch.testing.assert_close(out[i], expected, rtol=1e-5, atol=1e-5)
            # a different network's input gives a different answer: the groups do not mix
            assert not torch.allclose(out[i], m(x[(i + 1) % K]), atol=1e-3)


def test_unstack_returns_the_same_weights() -> None:
    models = _models("mnist")
    stacked = StackedPapernotNet.from_models(models, "mnist")
    for i, m in enumerate(models):
        back = stacked.unstack(i)
        for (name, p), q in zip(m.state_dict().items(), back.state_dict().values(), strict=True):
            assert torch.equal(p, q), name


def test_sgd_steps_move_each_network_as_alone() -> None:
    """Four SGD steps (momentum, per-network batches and temperatures, dropout off) agree with training alone."""
    torch.manual_seed(11)
    temps = torch.tensor([1.0, 20.0, 100.0])
    models = [build_model("mnist", dropout=0.0, seed=s) for s in range(K)]
    stacked = StackedPapernotNet.from_models(models, "mnist").train()
    opts = [torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.5) for m in models]
    opt = torch.optim.SGD(stacked.parameters(), lr=0.1, momentum=0.5)
    for _ in range(4):
        x = torch.rand(K, 16, 1, 28, 28)
        y = torch.randint(0, 10, (K, 16))
        opt.zero_grad()
        stacked_losses(stacked(x), y, temps).sum().backward()
        opt.step()
        for i, (m, o) in enumerate(zip(models, opts, strict=True)):
            o.zero_grad()
            hard_label_loss(m.train()(x[i]), y[i], float(temps[i])).backward()
            o.step()
    for i, m in enumerate(models):
        start = build_model("mnist", seed=i).state_dict().values()
        moved = sum(float((p - q).abs().sum()) for p, q in zip(start, m.state_dict().values(), strict=True))
        assert moved > 0.1  # the steps did change the weights
        for (name, p), q in zip(m.state_dict().items(), stacked.unstack(i).state_dict().values(), strict=True):
            torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-5, msg=lambda s, n=name, i=i: f"net {i} {n}: {s}")


def test_wrong_number_of_inputs_is_refused() -> None:
    stacked = StackedPapernotNet.from_models(_models("mnist"), "mnist")
    with pytest.raises(ValueError, match="inputs for 3 networks"):
        stacked(torch.rand(2, 4, 1, 28, 28))
