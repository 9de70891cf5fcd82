"""The training commands: one network, a group of networks in one process, a teacher's soft labels."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from ..devices import claim_device
from ..seeds import ROLE_SEED_OFFSET, model_seed
from ..trained_outputs import save_trained
from .common import add_device_args, add_fast_path_arg, add_training_args, load_splits, log


def _init_state(a: argparse.Namespace) -> dict[str, Any] | None:
    """The ``--init-from`` checkpoint's weights (checked before any data is loaded), or None."""
    from ..checkpoints import CheckpointError
    from ..training import load_checkpoint

    if not a.init_from:
        return None
    init_model, init_ckpt = load_checkpoint(Path(a.init_from))
    if init_ckpt["spec"]["dataset"] != a.dataset:
        raise CheckpointError(
            f"checkpoint {a.init_from}: a {init_ckpt['spec']['dataset']} network, this job "
            f"trains {a.dataset}; fix: delete it and rerun the workflow"
        )
    log.info("initialised from %s", a.init_from)
    return dict(init_model.state_dict())


def cmd_train(a: argparse.Namespace) -> None:
    from ..checkpoints import load_soft_labels
    from ..training import TrainSpec, train

    claim, device = claim_device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
    training = json.loads(a.training)
    spec = TrainSpec.from_config(
        a.dataset,
        training,
        temperature=a.temperature,
        epochs=a.epochs,
        seed=model_seed(a.seed, a.role, a.temperature),
        role=a.role,
    )
    init_state = _init_state(a)  # inputs are checked before the data is loaded and long before any training step
    train_data, test_data = load_splits(a)
    log.info(
        "train %s %s at T=%g for %d epochs on %d samples (test %d)",
        a.dataset,
        a.role,
        a.temperature,
        a.epochs,
        len(train_data),
        len(test_data),
    )
    soft = load_soft_labels(Path(a.soft_labels), rows=len(train_data)) if a.soft_labels else None
    out = Path(a.out)
    t0 = time.perf_counter()
    trained = train(
        spec,
        train_data,
        test_data,
        device,
        soft_targets=soft,
        init_state=init_state,
        resume_path=out.with_name(f".{out.name}.resume"),
        fast_path=a.fast_path,
    )
    splits = (train_data, test_data)
    save_trained(a, out, a.metrics, trained, spec, splits, (claim, device, time.perf_counter() - t0), a.soft_labels)
    # The resume file (the state after the last epoch) is kept: if Snakemake deletes this job's outputs because it
    # was interrupted before recording them as done, the rerun rebuilds them from it instead of training again.
    claim.release()


def _group_options(a: argparse.Namespace) -> tuple[list[float], list[str]]:
    """``train-group``'s paths checked against its temperatures; returns (--soft-labels-at, --soft-labels-out)."""
    from ..errors import UserError

    n = len(a.temperatures)
    for option, values in (("--out", a.out), ("--metrics", a.metrics), ("--soft-labels", a.soft_labels or [])):
        if values and len(values) != n:
            raise UserError(f"{option}: {len(values)} paths for {n} temperatures; give one per --temperatures entry")
    label_at, label_out = a.soft_labels_at or [], a.soft_labels_out or []
    if len(label_at) != len(label_out):
        raise UserError(
            f"--soft-labels-out: {len(label_out)} paths for {len(label_at)} --soft-labels-at temperatures; "
            "give one each"
        )
    if label_at and a.role != "teacher":
        raise UserError("--soft-labels-at: only a group of teachers labels the training set; drop it for students")
    missing = [t for t in label_at if t not in a.temperatures]
    if missing:
        raise UserError(
            f"--soft-labels-at {' '.join(f'{t:g}' for t in missing)}: no teacher of this group trains at that "
            "temperature; give temperatures from --temperatures"
        )
    return label_at, label_out


def cmd_train_group(a: argparse.Namespace) -> None:
    """Several networks of one dataset and role (one per temperature) in one process (group_training.py)."""
    from ..checkpoints import load_soft_labels
    from ..group_training import check_group, train_group
    from ..training import TrainSpec

    n = len(a.temperatures)
    label_at, label_out = _group_options(a)
    training = json.loads(a.training)
    specs = [
        TrainSpec.from_config(
            a.dataset, training, temperature=t, epochs=a.epochs, seed=model_seed(a.seed, a.role, t), role=a.role
        )
        for t in a.temperatures
    ]
    check_group(specs)  # before the device, the data and any training step
    claim, device = claim_device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
    init_state = _init_state(a)
    train_data, test_data = load_splits(a)
    log.info(
        "train %d %s %ss as one group (T=%s) for %d epochs on %d samples (test %d)",
        n,
        a.dataset,
        a.role,
        ", ".join(f"{t:g}" for t in a.temperatures),
        a.epochs,
        len(train_data),
        len(test_data),
    )
    soft = [load_soft_labels(Path(p), rows=len(train_data)) for p in a.soft_labels] if a.soft_labels else None
    outs = [Path(p) for p in a.out]
    resume = outs[0].with_name(f".{a.role}_group.resume")
    t0 = time.perf_counter()
    trained = train_group(
        specs, train_data, test_data, device, soft_targets=soft, init_state=init_state, resume_path=resume,
        fast_path=a.fast_path,
    )  # fmt: skip
    context = (claim, device, time.perf_counter() - t0)
    splits = (train_data, test_data)
    for j, spec in enumerate(specs):
        soft_path = a.soft_labels[j] if a.soft_labels else None
        save_trained(a, outs[j], a.metrics[j], trained[j], spec, splits, context, soft_path, trained_in_group=n)
    # The teachers label the training set here, still in memory: no soft-labels job per temperature between the
    # teacher and the student groups (each starts a process and waits for a GPU slot).
    for t, path in zip(label_at, label_out, strict=True):
        _write_soft_labels(trained[a.temperatures.index(t)][0], train_data, t, device, a.fast_path, Path(path))
    claim.release()  # the resume file is kept, as in cmd_train


def _write_soft_labels(model: Any, train_data: Any, temperature: float, device: Any, fast_path: str, out: Path) -> None:
    """A teacher's softmax at T over the training set, saved (``soft-labels``, and ``train-group`` for teachers)."""
    from ..checkpoints import save_soft_labels
    from ..fastpath import select_fast_path
    from ..training import soft_labels

    fast = select_fast_path(fast_path, device)
    log.info("fast path: %s (%s)", fast.name, fast.reason)
    fast.prepare_model(model)
    probs = soft_labels(model, train_data.images, temperature, device)
    agree = float((probs.argmax(1) == train_data.labels).float().mean())
    log.info(
        "soft labels at T=%g for %d samples; argmax agrees with the hard label on %.4f; mean max prob %.4f",
        temperature,
        len(train_data),
        agree,
        float(probs.max(1).values.mean()),
    )
    save_soft_labels(out, probs)


def cmd_soft_labels(a: argparse.Namespace) -> None:
    from ..data import load_split
    from ..training import load_checkpoint

    claim, device = claim_device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
    model, ckpt = load_checkpoint(Path(a.teacher), device)
    train_data = load_split(ckpt["spec"]["dataset"], Path(a.data_dir), train=True).subset(a.train_subset)
    _write_soft_labels(model, train_data, a.temperature, device, a.fast_path, Path(a.out))
    claim.release()


def register(sub: Any) -> None:
    """Add this family's commands to the package's argument parser."""
    sp = sub.add_parser("train", help="train a network at a temperature (teacher, student or warm start)")
    add_device_args(sp)
    add_training_args(sp)
    sp.add_argument("--temperature", type=float, required=True)
    sp.add_argument("--epochs", type=int, required=True)
    sp.add_argument("--role", required=True, choices=sorted(ROLE_SEED_OFFSET))
    sp.add_argument("--soft-labels", default=None)
    sp.add_argument("--init-from", default=None)
    sp.add_argument("--out", required=True)
    sp.add_argument("--metrics", required=True)
    add_fast_path_arg(sp)
    sp.set_defaults(func=cmd_train)

    sp = sub.add_parser("train-group", help="train one network per temperature as one group in one process")
    add_device_args(sp)
    add_training_args(sp)
    sp.add_argument("--temperatures", type=float, nargs="+", required=True)
    sp.add_argument("--epochs", type=int, required=True)
    sp.add_argument("--role", required=True, choices=["teacher", "student"])
    sp.add_argument("--soft-labels", nargs="+", default=None, help="one per temperature (students)")
    sp.add_argument(
        "--soft-labels-at", type=float, nargs="+", default=None, help="teachers: label the training set at these T"
    )
    sp.add_argument("--soft-labels-out", nargs="+", default=None, help="one soft-label file per --soft-labels-at")
    sp.add_argument("--init-from", default=None)
    sp.add_argument("--out", nargs="+", required=True, help="one checkpoint per temperature")
    sp.add_argument("--metrics", nargs="+", required=True, help="one metrics file per temperature")
    add_fast_path_arg(sp)
    sp.set_defaults(func=cmd_train_group)

    sp = sub.add_parser("soft-labels", help="label the training set with a teacher's softmax at T")
    add_device_args(sp)
    sp.add_argument("--teacher", required=True)
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--temperature", type=float, required=True)
    sp.add_argument("--train-subset", type=int, default=None)
    sp.add_argument("--out", required=True)
    add_fast_path_arg(sp)
    sp.set_defaults(func=cmd_soft_labels)
