"""Several networks of one dataset trained in one process, as one :class:`~.stacked.StackedPapernotNet`.

The training loop of :func:`.training.train`, for ``k`` networks at once (config ``train_in_groups``: the
teachers of all temperatures of a dataset in one job, then its distilled networks in another). What each
network computes is what it computes alone: its own initialisation (its spec's seed), its own batches in its
own order (a generator seeded as :func:`.training.train` seeds it), its own temperature and targets, the same
loss, SGD and learning-rate schedule. What differs from training the networks one by one: the dropout masks
are other random draws (the same distribution), and floating-point sums may run in another order
(tests/test_group_training.py compares a few epochs of both with dropout off).

Why: on a GPU a step of one of these networks is a few dozen tiny kernels; processes sharing a GPU take turns
with them. Measured on one H100 (benchmark/perf/runs/2026-11-26-grouped-h100.txt): 9 MNIST networks as one
compiled module trained at 370,226 samples/s, 4.3x one compiled network; 18 separate jobs sharing the GPU
reached about 160,000 together (CHANGELOG.md, 2026-11-26). On the CPU the grouped convolutions
are slower than separate networks (0.41-0.56x, benchmark/perf/runs/2026-11-26-grouped-cpu2.txt): the CPU
profiles keep one job per network.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checkpoints import GROUP_RESUME_KEYS, load_resume, save_resume
from .data import TensorDataset
from .fastpath import FastPath, compiled_forward, job_fast_path
from .model_names import arch
from .models import PapernotNet, build_arch
from .stacked import StackedPapernotNet, stacked_losses
from .training import StepRunner, TrainSpec, check_finite, random_state, restore_random_state, set_epoch_lr

log = logging.getLogger(__name__)

# Fields every network of a group must share: one optimiser and one data pass serve them all.
SHARED_FIELDS = ("dataset", "epochs", "lr", "momentum", "nesterov", "batch_size", "dropout", "lr_decay", "role")


def check_group(specs: Sequence[TrainSpec]) -> None:
    """Refuse a group whose networks differ in a field they must share, naming the field and the fix."""
    if not specs:
        raise ValueError("a training group needs at least one network")
    first = asdict(specs[0])
    for spec in specs[1:]:
        other = asdict(spec)
        for name in SHARED_FIELDS:
            if other[name] != first[name]:
                raise ValueError(
                    f"networks trained as one group must share '{name}': T={specs[0].temperature:g} has "
                    f"{first[name]!r}, T={spec.temperature:g} has {other[name]!r}; fix: give every temperature the "
                    "same training settings (e.g. no 'epochs_by_temperature') or set 'execution.train_in_groups: false'"
                )


@torch.no_grad()
def group_accuracy(model: StackedPapernotNet, data: TensorDataset, device: torch.device) -> list[float]:
    """Each network's test accuracy; every network sees the same test images."""
    k = model.k
    if len(data) == 0:
        return [float("nan")] * k
    model.eval()
    base = 1000 if device.type == "cuda" else 250  # training.predict_logits' batches for one network
    batch = max(1, min(base, 2 * base // k))  # k networks: k times the activations per image
    correct = torch.zeros(k, dtype=torch.int64, device=device)
    for i in range(0, len(data), batch):
        x = data.images[i : i + batch].to(device)
        y = data.labels[i : i + batch].to(device)
        logits = model(x.unsqueeze(0).expand(k, *x.shape))
        correct += (logits.argmax(-1) == y.unsqueeze(0)).sum(dim=1)
    return [float(c) / len(data) for c in correct.cpu()]


def train_group(
    specs: Sequence[TrainSpec],
    train_data: TensorDataset,
    test_data: TensorDataset,
    device: torch.device,
    *,
    soft_targets: Sequence[torch.Tensor] | None = None,
    init_state: dict[str, torch.Tensor] | None = None,
    resume_path: Path | None = None,
    fast_path: str | FastPath = "auto",
) -> list[tuple[nn.Module, list[dict[str, Any]]]]:
    """Train ``len(specs)`` networks as one module; returns each network (a plain PapernotNet) and its history.

    ``soft_targets``: one (N, classes) tensor per network (distilled networks), else hard labels. With
    ``resume_path`` the group's state is saved after every epoch and an interrupted run continues from its
    last finished epoch.
    """
    check_group(specs)
    if soft_targets is not None and len(soft_targets) != len(specs):
        raise ValueError(f"{len(soft_targets)} soft-label sets for {len(specs)} networks")
    spec0, k = specs[0], len(specs)
    nets = []
    for spec in specs:
        net = build_arch(arch(spec.dataset), spec.dataset, dropout=spec.dropout, init=spec.init, seed=spec.seed)
        if init_state is not None:
            net.load_state_dict(init_state)
        assert isinstance(net, PapernotNet)
        nets.append(net)
    model = StackedPapernotNet.from_models(nets, spec0.dataset).to(device)
    del nets
    temps = torch.tensor([s.temperature for s in specs], device=device)
    opt = torch.optim.SGD(model.parameters(), lr=spec0.lr, momentum=spec0.momentum, nesterov=spec0.nesterov)
    gens = [torch.Generator().manual_seed(s.seed + 1) for s in specs]  # as training.train: the same orders
    histories: list[list[dict[str, Any]]] = [[] for _ in specs]
    start_epoch = 1
    state = load_resume(Path(resume_path), GROUP_RESUME_KEYS) if resume_path is not None else None
    if state is not None:
        if state.get("specs") == [s.__dict__ for s in specs]:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            for g, g_state in zip(gens, state["generators"], strict=True):
                g.set_state(g_state)
            restore_random_state(state)
            histories = state["histories"]
            start_epoch = len(histories[0]) + 1
            log.info("resuming the group from %s after epoch %d", resume_path, len(histories[0]))
        else:
            log.info("ignoring %s: it was written for different settings", resume_path)

    fast = job_fast_path(fast_path, device, spec0.epochs, group=True)
    log.info("fast path: %s (%s); %d networks as one module", fast.name, fast.reason, k)
    fast.prepare_model(model)
    images = train_data.images
    if soft_targets is None:
        targets = train_data.labels
    else:
        targets = torch.stack([torch.as_tensor(t, dtype=torch.float32) for t in soft_targets])  # (k, N, classes)
    n = len(train_data)
    on_device = fast.resident and device.type != "cpu"
    if on_device:
        images, targets = images.to(device), targets.to(device)
    steps = math.ceil(n / spec0.batch_size)
    rows = torch.arange(k, device=targets.device).unsqueeze(1)

    def forward_loss(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = model(x)
        return logits, stacked_losses(logits, y, temps)

    step_fn = StepRunner(compiled_forward(model, fast, forward_loss), forward_loss, fast.compile)
    for epoch in range(start_epoch, spec0.epochs + 1):
        t0 = time.perf_counter()
        lr = set_epoch_lr(opt, spec0, epoch)
        model.train()
        orders = torch.stack([torch.randperm(n, generator=g) for g in gens])  # (k, n)
        if on_device:
            orders = orders.to(device)
        loss_sum = torch.zeros(k, device=device)
        correct = torch.zeros(k, device=device, dtype=torch.int64)
        step_loss = torch.empty(k, steps, device=device)
        for i in range(steps):
            idx = orders[:, i * spec0.batch_size : (i + 1) * spec0.batch_size]  # (k, b)
            x = images[idx].to(device, non_blocking=True)  # (k, b, C, H, W)
            y = (targets[idx] if soft_targets is None else targets[rows, idx]).to(device, non_blocking=True)
            logits, losses = step_fn(x, y)
            hard = y if soft_targets is None else y.argmax(-1)
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            opt.step()
            step_loss[:, i] = losses.detach()
            loss_sum += losses.detach() * idx.shape[1]
            correct += (logits.detach().argmax(-1) == hard).sum(dim=1)
        epoch_losses = (loss_sum / n).tolist()
        for j, spec in enumerate(specs):
            check_finite(spec, epoch, epoch_losses[j], step_loss[j], model.unstack(j))
        test_accs = group_accuracy(model, test_data, device)
        seconds = time.perf_counter() - t0
        train_accs = (correct.float() / n).tolist()
        for j, spec in enumerate(specs):
            row = {
                "epoch": epoch,
                "lr": lr,
                "loss": epoch_losses[j],
                "train_acc": train_accs[j],
                "test_acc": test_accs[j],
                "seconds": seconds,
            }
            histories[j].append(row)
            log.info(
                "epoch %d/%d T=%g lr=%.4g loss=%.4f train_acc=%.4f test_acc=%.4f seconds=%.1f (group of %d)",
                epoch,
                spec.epochs,
                spec.temperature,
                lr,
                row["loss"],
                row["train_acc"],
                row["test_acc"],
                seconds,
                k,
            )
        if resume_path is not None:
            save_resume(
                Path(resume_path),
                {
                    "specs": [s.__dict__ for s in specs],
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "generators": [g.get_state() for g in gens],
                    **random_state(),
                    "histories": histories,
                },
            )
    return [(model.unstack(j).eval(), histories[j]) for j in range(k)]
