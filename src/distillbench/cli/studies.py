"""The studies' commands: the training-length study's baseline with a snapshot per listed epoch."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from ..devices import claim_device
from .common import add_device_args, add_training_args, load_splits, log


def cmd_train_snapshots(a: argparse.Namespace) -> None:
    """The training-length study's one job per seed: the baseline with a snapshot at each listed epoch."""
    from .. import io
    from ..length_study import train_snapshots

    claim, device = claim_device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
    epochs = sorted(int(e) for e in a.epochs)
    if len(a.snapshots) != len(epochs):
        raise SystemExit(f"--snapshots: {len(a.snapshots)} paths for {len(epochs)} epochs")
    train_data, test_data = load_splits(a)
    log.info("length study: %s baseline, seed %d, snapshots after epochs %s", a.dataset, a.seed, epochs)
    t0 = time.perf_counter()
    resume = Path(a.metrics).with_name(f".{Path(a.metrics).name}.resume")
    history = train_snapshots(
        dataset=a.dataset,
        training=json.loads(a.training),
        seed=a.seed,
        epochs=epochs,
        snapshots=dict(zip(epochs, map(Path, a.snapshots), strict=True)),
        train_data=train_data,
        test_data=test_data,
        device=device,
        resume_path=resume,
    )
    io.write_json(
        a.metrics,
        {
            "dataset": a.dataset,
            "seed": a.seed,
            "snapshot_epochs": epochs,
            "train_samples": len(train_data),
            "test_samples": len(test_data),
            "device": claim.device,
            "seconds": time.perf_counter() - t0,
            "history": history,
        },
    )
    resume.unlink(missing_ok=True)
    claim.release()


def register(sub: Any) -> None:
    """Add this family's commands to the package's argument parser."""
    sp = sub.add_parser("train-snapshots", help="train the baseline once, saving a snapshot at each listed epoch")
    add_device_args(sp)
    add_training_args(sp)
    sp.add_argument("--epochs", type=int, nargs="+", required=True, help="snapshot after these epochs")
    sp.add_argument("--snapshots", nargs="+", required=True, help="one checkpoint path per epoch, in order")
    sp.add_argument("--metrics", required=True)
    sp.set_defaults(func=cmd_train_snapshots)
