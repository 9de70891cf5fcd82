"""What every command family of the command line shares: logging and threads, and the option groups."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("distillbench")


def _setup(threads: int | None, job: bool = True) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not job:
        return
    from ..allocator import keep_freed_memory

    log.info("%s", keep_freed_memory())
    if threads:
        import torch

        torch.set_num_threads(int(threads))
        log.info("torch threads: %d", threads)
    log.info("host=%s pid=%d slurm_job=%s", os.uname().nodename, os.getpid(), os.environ.get("SLURM_JOB_ID", "-"))


def add_device_args(sp: argparse.ArgumentParser) -> None:
    """The options of every command that claims a device (``devices.claim_device``): which, GPU slots, threads."""
    sp.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    sp.add_argument("--gpu-lock-dir", default=None)
    sp.add_argument("--jobs-per-gpu", type=int, default=1, help="jobs sharing one GPU (slots per GPU)")
    sp.add_argument("--threads", type=int, default=None)


def add_training_args(sp: argparse.ArgumentParser) -> None:
    """What every training command reads: the dataset and where it is, the config's training block, the seed,
    subsets."""
    sp.add_argument("--dataset", required=True, choices=["mnist", "cifar10"])
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--training", required=True, help="JSON of the config's training block")
    sp.add_argument("--seed", type=int, required=True)
    sp.add_argument("--train-subset", type=int, default=None)
    sp.add_argument("--test-subset", type=int, default=None)


def add_fast_path_arg(sp: argparse.ArgumentParser) -> None:
    from ..fastpath import FAST_PATHS  # torch-free: the parser stays cheap

    sp.add_argument(
        "--fast-path", default="auto", choices=list(FAST_PATHS), help="how training steps run (fastpath.py)"
    )


def load_splits(a: argparse.Namespace) -> tuple[Any, Any]:
    """The training and the test split, each cut to its subset."""
    from ..data import load_split

    train = load_split(a.dataset, Path(a.data_dir), train=True).subset(a.train_subset)
    return train, load_split(a.dataset, Path(a.data_dir), train=False).subset(a.test_subset)
