"""The fast path computes what the plain loop computes: same loss, same SGD update, same batches.

The plain loop (``PLAIN``) is checked bit for bit against a textbook loop written out here. The CPU's fast path
(``auto`` = NHWC weights, fastpath.py) reorders floating-point sums inside the convolutions, so its
weights are compared in float64, where a reordering changes a sum of n terms by at most n * 2^-53 of
its magnitude: the longest sum here (a convolution's weight gradient over a batch of 128 CIFAR-10
images) has about 1.3e5 terms, so one step moves the two paths apart by at most ~1.5e-11 of the update,
and three steps (300 samples) by well under 1e-9, the tolerance used (measured: ~1e-14). In float32 the same
reordering flips ReLU and max-pool decisions at near-ties, and after a few steps the two paths' weights
sit anywhere from 0.004% to 1% of the update apart depending on the CPU's kernels (measured with
ATEN_CPU_CAPABILITY=default, avx2 and avx512): a distance that says nothing about correctness, so in
float32 only the epoch losses are compared, within 1e-4 relative (measured at most 1.4e-6 on those three
kernel sets). For scale: training at 1.01 T instead of T, a far smaller mistake than a wrong loss,
update or batch order, moves the weights by 2-7% of the update.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from distillbench.data import TensorDataset
from distillbench.fastpath import (
    AUTO,
    COMPILE_MIN_EPOCHS,
    FAST_PATHS,
    PLAIN,
    for_epochs,
    for_groups,
    job_fast_path,
    select_fast_path,
)
from distillbench.models import build_model
from distillbench.training import TrainSpec, hard_label_loss, soft_label_loss, softmax_t, train

CPU = torch.device("cpu")


def _data(dataset: str, n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    shape = (1, 28, 28) if dataset == "mnist" else (3, 32, 32)
    return TensorDataset(torch.rand((n, *shape), generator=g), torch.randint(0, 10, (n,), generator=g))


def _spec(dataset: str, temperature: float, role: str = "teacher", epochs: int = 2) -> TrainSpec:
    return TrainSpec(
        dataset=dataset,
        temperature=temperature,
        epochs=epochs,
        lr=0.1 if dataset == "mnist" else 0.01,
        momentum=0.5 if dataset == "mnist" else 0.9,
        batch_size=128,
        dropout=0.5,
        init="glorot_uniform",
        seed=7,
        role=role,
    )


def _textbook_loop(spec: TrainSpec, data: TensorDataset, soft: torch.Tensor | None) -> torch.nn.Module:
    """SGD with momentum on the temperature loss, batches in the order train() draws them."""
    model = build_model(spec.dataset, dropout=spec.dropout, init=spec.init, seed=spec.seed)
    opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
    gen = torch.Generator().manual_seed(spec.seed + 1)
    targets = soft if soft is not None else data.labels
    for _ in range(spec.epochs):
        model.train()
        order = torch.randperm(len(data), generator=gen)
        for i in range(math.ceil(len(data) / spec.batch_size)):
            idx = order[i * spec.batch_size : (i + 1) * spec.batch_size]
            logits = model(data.images[idx])
            if soft is None:
                loss = hard_label_loss(logits, targets[idx], spec.temperature)
            else:
                loss = soft_label_loss(logits, targets[idx], spec.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model


def _soft(data: TensorDataset, temperature: float) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return softmax_t(torch.randn(len(data), 10, generator=g) * 5, temperature)


@pytest.mark.parametrize("soft_targets", [False, True], ids=["hard", "soft"])
def test_plain_path_is_the_textbook_loop_bit_for_bit(soft_targets):
    data, test = _data("mnist", 500, 0), _data("mnist", 50, 1)  # 4 batches, the last one short
    spec = _spec("mnist", 20.0, "student" if soft_targets else "teacher")
    soft = _soft(data, 20.0) if soft_targets else None
    ours, _ = train(spec, data, test, CPU, soft_targets=soft, fast_path=PLAIN)
    ref = _textbook_loop(spec, data, soft)
    for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{name} differs from the textbook loop"


CASES = pytest.mark.parametrize(
    ("dataset", "soft_targets"), [("mnist", False), ("mnist", True), ("cifar10", False)], ids=["mnist", "soft", "cifar"]
)


def _both_paths(dataset: str, soft_targets: bool, dtype: torch.dtype, n: int):
    """One epoch of ``n`` random samples (batches of 128, the last one short; dropout on) on the plain and the
    fast path."""
    data, test = _data(dataset, n, 0), _data(dataset, 50, 1)
    data, test = (TensorDataset(d.images.to(dtype), d.labels) for d in (data, test))
    spec = _spec(dataset, 5.0 if soft_targets else 1.0, "student" if soft_targets else "teacher", epochs=1)
    soft = _soft(data, spec.temperature).to(dtype) if soft_targets else None
    assert select_fast_path("auto", CPU).channels_last  # what the CPU profile runs
    plain = train(spec, data, test, CPU, soft_targets=soft, fast_path=PLAIN)
    fast = train(spec, data, test, CPU, soft_targets=soft, fast_path="auto")
    init = build_model(dataset, dropout=spec.dropout, init=spec.init, seed=spec.seed).state_dict()
    return init, plain, fast


def _flat(sd: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([v.flatten().double() for v in sd.values()])


@CASES
def test_cpu_fast_path_matches_the_plain_loop(dataset, soft_targets, float64_default):
    init, (plain, h_plain), (fast, h_fast) = _both_paths(dataset, soft_targets, torch.float64, 300)
    assert next(fast.parameters()).dtype == torch.float64, "the comparison runs in float64"
    for name, b in fast.state_dict().items():
        assert b.is_contiguous(), f"{name}: the checkpoint's weights are back in the plain memory order"
    w0, w_plain, w_fast = _flat(init), _flat(plain.state_dict()), _flat(fast.state_dict())
    moved = float((w_plain - w0).norm())
    assert moved > 1e-3, "the weights moved: the comparison is not between two untrained networks"
    apart = float((w_fast - w_plain).norm())
    assert apart < 1e-9 * moved, f"fast path {apart:.3g} from the plain loop, {apart / moved:.3g} of the update"
    for r_plain, r_fast in zip(h_plain, h_fast, strict=True):
        assert r_fast["loss"] == pytest.approx(r_plain["loss"], rel=1e-9)


@CASES
def test_cpu_fast_path_losses_match_in_float32(dataset, soft_targets):
    _, (plain, h_plain), (fast, h_fast) = _both_paths(dataset, soft_targets, torch.float32, 500)
    assert next(fast.parameters()).dtype == torch.float32
    for name, b in fast.state_dict().items():
        assert b.is_contiguous() and bool(torch.isfinite(b).all()), f"{name}: not contiguous or not finite"
    for r_plain, r_fast in zip(h_plain, h_fast, strict=True):
        assert r_fast["loss"] == pytest.approx(r_plain["loss"], rel=1e-4)


def test_selection_is_made_in_one_place():
    cuda = torch.device("cuda")
    # `auto`: the fastest path measured on each device type (fastpath.AUTO says where the numbers are)
    assert (select_fast_path("auto", CPU).name, select_fast_path("auto", cuda).name) == ("channels_last", "compile")
    assert set(AUTO.values()) <= set(FAST_PATHS) - {"auto"}
    # What every job ran when the profiles named 'compile' (a CPU falls back to NHWC, short jobs run uncompiled):
    # `auto` runs the same, for every device, epoch count and grouping.
    for device in (CPU, cuda):
        for epochs, group in ((1, False), (COMPILE_MIN_EPOCHS, False), (50, True)):
            auto, named = (
                dataclasses.replace(job_fast_path(r, device, epochs, group), reason="") for r in ("auto", "compile")
            )
            assert auto == named, (device, epochs, group)
    assert select_fast_path("compile", cuda).compile and select_fast_path("compile", cuda).resident
    assert not select_fast_path("compile", CPU).compile, "compile is for CUDA only"
    assert select_fast_path("auto", torch.device("meta")).name == "plain", "no measurement: the plain loop"
    for name in ("fastest", "plain"):  # the plain loop is the tests' reference, no configuration choice
        with pytest.raises(ValueError, match="unknown fast path"):
            select_fast_path(name, CPU)
    assert not (PLAIN.channels_last or PLAIN.compile)


def test_short_jobs_do_not_compile_and_groups_use_nhwc_on_cuda():
    cuda = torch.device("cuda")
    compiled = select_fast_path("compile", cuda)
    assert for_epochs(compiled, COMPILE_MIN_EPOCHS) is compiled, "a paper-length job keeps compiling"
    short = for_epochs(compiled, 1)  # the warm start: one epoch
    assert not short.compile and short.resident and short.name == "resident"
    assert "1 epoch(s)" in short.reason, "the log says why the job runs uncompiled"
    assert for_epochs(select_fast_path("auto", CPU), 1) == select_fast_path("auto", CPU), "nothing to switch off"
    grouped = for_groups(compiled, cuda)
    assert grouped.channels_last and grouped.compile and grouped.resident and grouped.name == "compile+nhwc"
    # What a job runs (and its metrics name): the same composition in one place.
    assert job_fast_path("compile", cuda, 50, group=True) == grouped
    assert job_fast_path("compile", cuda, 1) == short and job_fast_path(compiled, cuda, 50) is compiled
    assert for_groups(PLAIN, CPU) == PLAIN, "CPU: as chosen"
