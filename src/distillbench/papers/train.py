"""The seam's generic training loop: one network (any named architecture), one loss chosen by name before the
loop, optional jitter and max-norm constraint; test errors per class at the end; checkpoints and logits."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from ..data import TensorDataset, load_split
from ..losses import LOSSES, make_loss
from ..models import build_arch
from ..training import TrainingDiverged, predict_logits
from .base import Job
from .jitter import jitter

log = logging.getLogger(__name__)


def build(job: Job) -> nn.Module:
    m = job.model
    return build_arch(
        m.arch,
        m.dataset,
        widths=job.widths,
        dropout=job.dropout,
        input_dropout=job.input_dropout,
        init=job.init,
        seed=m.seed,
    )


def load_data(job: Job, data_dir: Path) -> tuple[TensorDataset, TensorDataset]:
    train = load_split(job.model.dataset, Path(data_dir), train=True).subset(job.train_subset)
    test = load_split(job.model.dataset, Path(data_dir), train=False).subset(job.test_subset)
    return train, test


def _max_norm_(model: nn.Module, c: float) -> None:
    """Each unit's incoming weight vector rescaled to norm <= c (Srivastava et al.'s max-norm constraint)."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.Linear):
                mod.weight.copy_(torch.renorm(mod.weight, 2, 0, c))


def evaluate(logits: torch.Tensor, labels: torch.Tensor, bias_shift: dict[str, float] | None = None) -> dict[str, Any]:
    """Errors overall and per true class; with ``bias_shift`` also after adding it to those classes' logits."""
    pred = logits.argmax(1)
    wrong = pred != labels
    out: dict[str, Any] = {
        "test_samples": int(len(labels)),
        "errors": int(wrong.sum()),
        "errors_by_class": {str(k): int(wrong[labels == k].sum()) for k in range(logits.shape[1])},
        "test_by_class": {str(k): int((labels == k).sum()) for k in range(logits.shape[1])},
    }
    if bias_shift:
        shifted = logits.clone()
        for k, v in bias_shift.items():
            shifted[:, int(k)] += float(v)
        w2 = shifted.argmax(1) != labels
        out["bias_shift"] = {str(k): float(v) for k, v in bias_shift.items()}
        out["errors_after_bias_shift"] = int(w2.sum())
        out["errors_by_class_after_bias_shift"] = {str(k): int(w2[labels == k].sum()) for k in range(logits.shape[1])}
    return out


def train_job(
    job: Job,
    train_data: TensorDataset,
    test_data: TensorDataset,
    device: torch.device,
    teacher_logits: torch.Tensor | None = None,
) -> tuple[nn.Module, list[dict[str, Any]]]:
    """Train ``job``'s network from its seed; deterministic for a given job, data and device."""
    spec = LOSSES[job.loss]
    if spec.needs_teacher and teacher_logits is None:
        raise TrainingDiverged(f"{job.model.name}: loss {job.loss!r} needs the teacher's logits")
    loss_fn = make_loss(job.loss, temperature=job.model.temperature, alpha=job.alpha)  # chosen once
    images, labels = train_data.images, train_data.labels
    zt = teacher_logits
    if job.omit_classes:
        keep = ~torch.isin(labels, torch.tensor(job.omit_classes))
        images, labels = images[keep], labels[keep]
        zt = zt[keep] if zt is not None else None
        log.info("transfer set without classes %s: %d of %d images", list(job.omit_classes), len(labels), len(keep))
    model = build(job).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=job.lr, momentum=job.momentum)
    gen = torch.Generator().manual_seed(job.model.seed + 1)
    images, labels = images.to(device), labels.to(device)
    zt = zt.to(device) if zt is not None else None
    n = len(labels)
    steps = math.ceil(n / job.batch_size)
    history: list[dict[str, Any]] = []
    lr = job.lr
    for epoch in range(1, job.epochs + 1):
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        order = torch.randperm(n, generator=gen).to(device)
        loss_sum = torch.zeros((), device=device)
        for i in range(steps):
            idx = order[i * job.batch_size : (i + 1) * job.batch_size]
            x = images[idx]
            if job.jitter:
                x = jitter(x, job.jitter, gen)
            loss = loss_fn(model(x), labels[idx], zt[idx] if zt is not None else None)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if job.max_norm:
                _max_norm_(model, job.max_norm)
            loss_sum += loss.detach() * len(idx)
        epoch_loss = float(loss_sum) / max(n, 1)
        if not math.isfinite(epoch_loss):
            raise TrainingDiverged(
                f"{job.model.paper} {job.model.name}: the loss became {epoch_loss} in epoch {epoch}; fix: lower "
                f"'{job.model.paper}' lr ({job.lr:g})"
            )
        errors = int((predict_logits(model, test_data.images, device).argmax(1) != test_data.labels).sum())
        row = {"epoch": epoch, "lr": lr, "loss": epoch_loss, "test_errors": errors, "seconds": time.perf_counter() - t0}
        history.append(row)
        log.info(
            "epoch %d/%d %s loss=%.4f test_errors=%d/%d seconds=%.1f",
            epoch,
            job.epochs,
            job.loss,
            epoch_loss,
            errors,
            len(test_data),
            row["seconds"],
        )
        lr *= job.lr_decay
    return model, history


def checkpoint_spec(job: Job) -> dict[str, Any]:
    """What the one checkpoint format (checkpoints.save_checkpoint) records of a job's network to rebuild it."""
    m = job.model
    return {
        "arch": m.arch,
        "dataset": m.dataset,
        "temperature": m.temperature,
        "dropout": job.dropout,
        "input_dropout": job.input_dropout,
        "widths": list(job.widths),
        "role": m.role,
        "seed": m.seed,
    }


def save_model(path: Path, model: nn.Module, job: Job, history: list[dict[str, Any]], test_accuracy: float) -> None:
    """The network in the one checkpoint format (checkpoints.py), its job alongside."""
    save_checkpoint(path, model, checkpoint_spec(job), history, test_accuracy, job=job.to_json())


def load_model(path: Path, device: torch.device | str = "cpu") -> tuple[nn.Module, Job]:
    """A reproduction's network and the job that trained it (refused, with its name, when it is not one)."""
    model, ckpt = load_checkpoint(Path(path), device)
    if not isinstance(ckpt.get("job"), str):
        raise CheckpointError(
            f"checkpoint {path}: it holds no training job (a Fig. 7 network, not a reproduction's); fix: give the "
            "checkpoint the reproduction's paper_train rule wrote"
        )
    return model, Job.from_json(ckpt["job"])
