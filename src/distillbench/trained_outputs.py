"""What a training job leaves behind: the checkpoint and the metrics JSON of each network it trained."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("distillbench")


def save_trained(
    a: Any,
    out: Path,
    metrics_path: str,
    trained: tuple[Any, list[dict[str, Any]]],
    spec: Any,
    splits: tuple[Any, Any],
    context: tuple[Any, Any, float],
    soft_labels: str | None,
    **extra: Any,
) -> None:
    """Checkpoint and metrics of one trained network (``train`` and ``train-group`` write the same files);
    ``a``: the training command's options (dataset, role, epochs, init_from, fast_path)."""
    from . import io
    from .fastpath import job_fast_path
    from .provenance import numerics_environment
    from .training import accuracy, save_checkpoint

    model, history = trained
    train_data, test_data = splits
    claim, device, seconds = context
    # The last epoch already measured this model on this test set: no second pass (on the CPU a CIFAR-10
    # test pass is ~30 s at 1 thread). Zero epochs (nothing trained): measure it.
    acc = float(history[-1]["test_acc"]) if history else accuracy(model, test_data, device)
    save_checkpoint(out, model, spec, history, acc, init_from=a.init_from, soft_labels=soft_labels)
    metrics = {
        "dataset": a.dataset,
        "role": a.role,
        "temperature": spec.temperature,
        "epochs": a.epochs,
        "train_samples": len(train_data),
        "test_samples": len(test_data),
        "test_accuracy": acc,
        "device": claim.device,
        "seconds": seconds,
        "history": history,
        "init_from": a.init_from,
        "numerics": numerics_environment(claim.device),
        "fast_path": job_fast_path(a.fast_path, device, spec.epochs, group="trained_in_group" in extra).name,
        **extra,
    }
    io.write_json(metrics_path, metrics)
    log.info("T=%g: test accuracy %.4f, checkpoint %s", spec.temperature, acc, out)
