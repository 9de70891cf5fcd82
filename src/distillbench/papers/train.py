"""A reproduction's job on the one training loop (training.train): its network (any named architecture), its
loss chosen by name, optional jitter and max-norm constraint; test errors per class at the end; checkpoints in
the one format (checkpoints.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from ..data import TensorDataset, load_split
from ..fastpath import PLAIN
from ..losses import LOSSES
from ..models import build_arch
from ..training import Recipe, TrainingDiverged, TrainSpec, train
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
    resume_path: Path | None = None,
) -> tuple[nn.Module, list[dict[str, Any]]]:
    """Train ``job``'s network from its seed with the one training loop (training.train); deterministic for a
    given job, data and device; resumable after every epoch with ``resume_path``."""
    spec = LOSSES[job.loss]
    if spec.needs_teacher and teacher_logits is None:
        raise TrainingDiverged(f"{job.model.name}: loss {job.loss!r} needs the teacher's logits")
    images, labels = train_data.images, train_data.labels
    zt = teacher_logits
    if job.omit_classes:
        keep = ~torch.isin(labels, torch.tensor(job.omit_classes))
        images, labels = images[keep], labels[keep]
        zt = zt[keep] if zt is not None else None
        log.info("transfer set without classes %s: %d of %d images", list(job.omit_classes), len(labels), len(keep))
    m = job.model
    train_spec = TrainSpec(
        dataset=m.dataset,
        temperature=m.temperature,
        epochs=job.epochs,
        lr=job.lr,
        momentum=job.momentum,
        batch_size=job.batch_size,
        dropout=job.dropout,
        init=job.init,
        seed=m.seed,
        role=m.role,
        extra={"job": job.to_json()},  # a resume file serves this job only
    )
    recipe = Recipe(
        model=build(job),
        loss=job.loss,
        alpha=job.alpha,
        teacher_logits=zt,
        augment=(lambda x, gen: jitter(x, job.jitter, gen)) if job.jitter else None,
        after_step=(lambda model: _max_norm_(model, float(job.max_norm or 0))) if job.max_norm else None,
        lr_at=lambda epoch: _decayed_lr(job, epoch),
        history_fields=("epoch", "lr", "loss", "test_errors", "seconds"),
        lr_field=f"{m.paper}.lr",
    )
    # The plain path: the fast paths are measured on Papernot's networks only.
    return train(
        train_spec,
        TensorDataset(images, labels),
        test_data,
        device,
        resume_path=resume_path,
        fast_path=PLAIN,
        recipe=recipe,
    )


def _decayed_lr(job: Job, epoch: int) -> float:
    """The learning rate of 1-based ``epoch``: ``lr`` times ``lr_decay`` after every epoch (multiplied epoch by
    epoch, as the rate is carried from one epoch to the next)."""
    lr = job.lr
    for _ in range(epoch - 1):
        lr *= job.lr_decay
    return lr


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
