"""Command-line entry points; each Snakemake rule calls one of these (``python -m distillbench ...``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("distillbench")

ROLE_SEED_OFFSET = {"warm_start": 0, "teacher": 100_000, "student": 200_000}


def model_seed(base: int, role: str, temperature: float) -> int:
    """Distinct, reproducible seeds: teacher and student at one T never share an initialisation."""
    return int(base) + ROLE_SEED_OFFSET[role] + int(round(float(temperature) * 100))


def _setup(threads: int | None, job: bool = True) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not job:
        return
    from .allocator import keep_freed_memory

    log.info("%s", keep_freed_memory())
    if threads:
        import torch

        torch.set_num_threads(int(threads))
        log.info("torch threads: %d", threads)
    log.info("host=%s pid=%d slurm_job=%s", os.uname().nodename, os.getpid(), os.environ.get("SLURM_JOB_ID", "-"))


def _device(requested: str, lock_dir: str | None, jobs_per_gpu: int = 1):
    import torch

    from .devices import select_device

    claim = select_device(requested, lock_dir=Path(lock_dir) if lock_dir else None, jobs_per_gpu=jobs_per_gpu)
    log.info("device: %s (%s)", claim.device, claim.reason)
    return claim, torch.device(claim.device)


class _AttackedModel:
    """What the attack commands share: a claimed device, the deployed model and its checkpoint, the test split;
    :meth:`finish` writes the per-target CSV and the summary (with the common fields), drops the ``.partial``
    file of an interrupted run and releases the device."""

    def __init__(self, a: argparse.Namespace) -> None:
        from .data import load_split
        from .training import load_checkpoint

        self.claim, self.device = _device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
        self.model, self.ckpt = load_checkpoint(Path(a.model), self.device)
        self.model_path = a.model
        self.dataset = str(self.ckpt["spec"]["dataset"])
        self.test = load_split(self.dataset, Path(a.data_dir), train=False)
        self.temperature = float(self.ckpt["spec"]["temperature"])
        self.n_features = int(self.test.images[0].numel())
        self.out = Path(a.out)
        self.partial = self.out.with_name(f".{self.out.name}.partial")
        self.summary_path = Path(a.summary)
        self.t0 = time.perf_counter()

    def finish(self, results: Any, summary: dict[str, Any], **fields: Any) -> dict[str, Any]:
        from . import io

        io.write_csv(self.out, results)
        summary.update(
            {
                "model_path": self.model_path,
                "dataset": self.dataset,
                "trained_temperature": self.temperature,
                "test_accuracy": self.ckpt["test_accuracy"],
                **fields,
                "device": self.claim.device,
                "seconds": time.perf_counter() - self.t0,
            }
        )
        io.write_json(self.summary_path, summary)
        self.partial.unlink(missing_ok=True)
        self.claim.release()
        return summary


def cmd_prepare_data(a: argparse.Namespace) -> None:
    from . import io
    from .data import prepare

    manifest = prepare(
        a.dataset,
        Path(a.data_dir),
        allow_download=a.download,
        verify_checksums=a.verify_checksums,
        min_test_images=a.attack_samples,
    )
    for rel, info in manifest.files.items():
        log.info("%s md5=%s official=%s", rel, info["md5"], info["matches"])
    log.info(
        "%s: every file parsed and checked: %d training and %d test images",
        a.dataset,
        manifest.n_train,
        manifest.n_test,
    )
    io.write_json(a.out, manifest.to_dict())


def _init_state(a: argparse.Namespace) -> dict[str, Any] | None:
    """The ``--init-from`` checkpoint's weights (checked before any data is loaded), or None."""
    from .checkpoints import CheckpointError
    from .training import load_checkpoint

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


def _load_splits(a: argparse.Namespace) -> tuple[Any, Any]:
    """The training and the test split, each cut to its subset."""
    from .data import load_split

    train = load_split(a.dataset, Path(a.data_dir), train=True).subset(a.train_subset)
    return train, load_split(a.dataset, Path(a.data_dir), train=False).subset(a.test_subset)


def _save_trained(
    a: argparse.Namespace,
    out: Path,
    metrics_path: str,
    trained: tuple[Any, list[dict[str, Any]]],
    spec: Any,
    splits: tuple[Any, Any],
    context: tuple[Any, Any, float],
    soft_labels: str | None,
    **extra: Any,
) -> None:
    """Checkpoint and metrics of one trained network (``train`` and ``train-group`` write the same files)."""
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


def cmd_train(a: argparse.Namespace) -> None:
    from .checkpoints import load_soft_labels
    from .training import TrainSpec, train

    claim, device = _device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
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
    train_data, test_data = _load_splits(a)
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
    _save_trained(a, out, a.metrics, trained, spec, splits, (claim, device, time.perf_counter() - t0), a.soft_labels)
    out.with_name(f".{out.name}.resume").unlink(missing_ok=True)
    claim.release()


def cmd_train_group(a: argparse.Namespace) -> None:
    """Several networks of one dataset and role (one per temperature) in one process (group_training.py)."""
    from .checkpoints import load_soft_labels
    from .errors import UserError
    from .group_training import check_group, train_group
    from .training import TrainSpec

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
    training = json.loads(a.training)
    specs = [
        TrainSpec.from_config(
            a.dataset, training, temperature=t, epochs=a.epochs, seed=model_seed(a.seed, a.role, t), role=a.role
        )
        for t in a.temperatures
    ]
    check_group(specs)  # before the device, the data and any training step
    claim, device = _device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
    init_state = _init_state(a)
    train_data, test_data = _load_splits(a)
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
        _save_trained(a, outs[j], a.metrics[j], trained[j], spec, splits, context, soft_path, trained_in_group=n)
    # The teachers label the training set here, still in memory: no soft-labels job per temperature between the
    # teacher and the student groups (each starts a process and waits for a GPU slot).
    for t, path in zip(label_at, label_out, strict=True):
        _write_soft_labels(trained[a.temperatures.index(t)][0], train_data, t, device, a.fast_path, Path(path))
    resume.unlink(missing_ok=True)
    claim.release()


def cmd_train_snapshots(a: argparse.Namespace) -> None:
    """The training-length study's one job per seed: the baseline with a snapshot at each listed epoch."""
    from . import io
    from .length_study import train_snapshots

    claim, device = _device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
    epochs = sorted(int(e) for e in a.epochs)
    if len(a.snapshots) != len(epochs):
        raise SystemExit(f"--snapshots: {len(a.snapshots)} paths for {len(epochs)} epochs")
    train_data, test_data = _load_splits(a)
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


def _write_soft_labels(model: Any, train_data: Any, temperature: float, device: Any, fast_path: str, out: Path) -> None:
    """A teacher's softmax at T over the training set, saved (``soft-labels``, and ``train-group`` for teachers)."""
    from .checkpoints import save_soft_labels
    from .fastpath import select_fast_path
    from .training import soft_labels

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
    from .data import load_split
    from .training import load_checkpoint

    claim, device = _device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
    model, ckpt = load_checkpoint(Path(a.teacher), device)
    train_data = load_split(ckpt["spec"]["dataset"], Path(a.data_dir), train=True).subset(a.train_subset)
    _write_soft_labels(model, train_data, a.temperature, device, a.fast_path, Path(a.out))
    claim.release()


def cmd_attack(a: argparse.Namespace) -> None:
    from .evaluation import run_attack, summarize

    m = _AttackedModel(a)
    attack_cfg = json.loads(a.attack)
    log.info(
        "attack %s (%s, trained at T=%g, test acc %.4f) with %s, numerics %s, budget %d",
        a.model,
        m.dataset,
        m.temperature,
        m.ckpt["test_accuracy"],
        attack_cfg["variant"],
        attack_cfg.get("numerics", "exact"),
        attack_cfg["max_features"],
    )
    results = run_attack(m.model, m.test, attack_cfg, m.device, temperature=m.temperature, partial_path=m.partial)
    summary = m.finish(
        results,
        summarize(results, int(attack_cfg["max_features"])),
        variant=attack_cfg["variant"],
        numerics=attack_cfg.get("numerics", "exact"),
        arithmetic_order=attack_cfg.get("arithmetic_order", "batched"),
        n_features=m.n_features,
    )
    log.info("success %d/%d = %.2f%%", summary["successes"], summary["targets"], summary["success_rate_pct"])


def cmd_gradients(a: argparse.Namespace) -> None:
    from . import io
    from .data import load_split
    from .evaluation import attack_targets
    from .gradients import gradient_stats
    from .training import load_checkpoint

    model, ckpt = load_checkpoint(Path(a.model), "cpu")
    dataset = ckpt["spec"]["dataset"]
    test = load_split(dataset, Path(a.data_dir), train=False)
    plan = attack_targets(test, a.samples, a.targets_per_sample)
    x = test.images[torch_index(plan.sample_index)]
    t = torch_index(plan.target)
    stats = gradient_stats(model, x, t)
    stats.update(
        {
            "model_path": a.model,
            "dataset": dataset,
            "trained_temperature": float(ckpt["spec"]["temperature"]),
            "test_accuracy": ckpt["test_accuracy"],
        }
    )
    io.write_json(Path(a.out), stats)
    log.info(
        "mean |dF_t/dx| float32 %.3g float64 %.3g; zero gradients float32 %.1f%% float64 %.1f%%; median gap %.1f",
        stats["float32"]["mean_abs_grad"],
        stats["float64"]["mean_abs_grad"],
        100 * stats["float32"]["zero_gradient_share"],
        100 * stats["float64"]["zero_gradient_share"],
        stats["median_logit_gap"],
    )


def cmd_adaptive_attack(a: argparse.Namespace) -> None:
    """One registry attack (issue 9, item 1) on one deployed model: per-target CSV and a summary JSON."""
    from .adaptive import run_adaptive, summarize_adaptive

    m = _AttackedModel(a)
    cfg = json.loads(a.adaptive)
    settings = cfg["attacks"][a.attack]
    log.info(
        "adaptive attack %s on %s (%s, trained at T=%g, test acc %.4f), settings %s, L0 budget %d",
        a.attack,
        a.model,
        m.dataset,
        m.temperature,
        m.ckpt["test_accuracy"],
        json.dumps(settings, sort_keys=True),
        cfg["max_features"],
    )
    results = run_adaptive(
        m.model,
        m.test,
        a.attack,
        settings,
        samples=int(settings.get("samples", cfg["samples"])),
        targets_per_sample=int(cfg["targets_per_sample"]),
        max_features=int(cfg["max_features"]),
        device=m.device,
        temperature=m.temperature,
        partial_path=m.partial,
    )
    summary = m.finish(
        results,
        summarize_adaptive(results, a.attack, int(cfg["max_features"])),
        model=a.model_name,
        settings=settings,
        n_features=m.n_features,
    )
    log.info("success %d/%d = %.2f%%", summary["successes"], summary["targets"], summary["success_rate_pct"])


def cmd_robustness(a: argparse.Namespace) -> None:
    """rho_adv (issue 9, item 2): JSMA with every input element allowed to change, on one deployed model."""
    from .adaptive import summarize_robustness
    from .evaluation import run_attack

    m = _AttackedModel(a)
    cfg = json.loads(a.robustness)
    attack_cfg = {
        "variant": cfg["variant"],
        "numerics": cfg["numerics"],
        "samples": cfg["samples"],
        "targets_per_sample": cfg["targets_per_sample"],
        "batch_size": cfg["batch_size"],
        # null: no cap, every element may change (rho_adv as the paper defines it); a number caps it (smoke runs)
        "max_features": int(cfg.get("max_features") or m.n_features - m.n_features % 2),
    }
    log.info("robustness of %s (%s, trained at T=%g): %s", a.model, m.dataset, m.temperature, attack_cfg)
    results = run_attack(m.model, m.test, attack_cfg, m.device, temperature=m.temperature, partial_path=m.partial)
    summary = m.finish(
        results,
        summarize_robustness(results, m.n_features),
        model=a.model_name,
        variant=cfg["variant"],
        numerics=cfg["numerics"],
        max_features=attack_cfg["max_features"],
        capped=cfg.get("max_features") is not None,
    )
    log.info(
        "rho_adv %s%% over %d successes; failures %.2f%%",
        "–" if summary["rho_adv_pct"] is None else f"{summary['rho_adv_pct']:.2f}",
        summary["successes"],
        summary["failure_share_pct"],
    )


def torch_index(column: Any) -> Any:
    import torch

    return torch.tensor(column.to_numpy(), dtype=torch.int64)


def cmd_report(a: argparse.Namespace) -> None:
    from .papers.papernot2016.report import build_report

    build_report(
        json.loads(a.config),
        Path(a.results_dir),
        Path(a.out),
        Path(a.figure),
        Path(a.table),
        config_files=a.config_files,
    )
    if a.sections:  # the seam's reproductions (src/distillbench/papers/), after Papernot's part
        from .papers.report_hook import append_sections

        append_sections(Path(a.out), a.sections)


def cmd_publish_report(a: argparse.Namespace) -> None:
    from .publish import publish_report

    publish_report(Path(a.run_dir), Path(a.out))
    print(f"{a.out}: the report of {a.run_dir}")


def cmd_validate_config(a: argparse.Namespace) -> None:
    from .config import load_config

    load_config(a.path, check_device=not a.skip_device_check)
    print(f"{a.path}: valid")


def add_device_args(sp: argparse.ArgumentParser) -> None:
    """The options of every command that claims a device (``_device``): which, the GPU slots, CPU threads."""
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
    from .fastpath import FAST_PATHS  # torch-free: the parser stays cheap

    sp.add_argument(
        "--fast-path", default="auto", choices=list(FAST_PATHS), help="how training steps run (fastpath.py)"
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="distillbench", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("prepare-data", help="check (or download) a dataset and write its checksum manifest")
    sp.add_argument("--dataset", required=True, choices=["mnist", "cifar10"])
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--download", action=argparse.BooleanOptionalAction, default=False)
    sp.add_argument("--verify-checksums", action=argparse.BooleanOptionalAction, default=True)
    sp.add_argument("--attack-samples", type=int, default=0, help="the test split must hold at least this many images")
    sp.add_argument("--out", required=True)
    sp.set_defaults(func=cmd_prepare_data, threads=None)

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

    sp = sub.add_parser("train-snapshots", help="train the baseline once, saving a snapshot at each listed epoch")
    add_device_args(sp)
    add_training_args(sp)
    sp.add_argument("--epochs", type=int, nargs="+", required=True, help="snapshot after these epochs")
    sp.add_argument("--snapshots", nargs="+", required=True, help="one checkpoint path per epoch, in order")
    sp.add_argument("--metrics", required=True)
    sp.set_defaults(func=cmd_train_snapshots)

    sp = sub.add_parser("soft-labels", help="label the training set with a teacher's softmax at T")
    add_device_args(sp)
    sp.add_argument("--teacher", required=True)
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--temperature", type=float, required=True)
    sp.add_argument("--train-subset", type=int, default=None)
    sp.add_argument("--out", required=True)
    add_fast_path_arg(sp)
    sp.set_defaults(func=cmd_soft_labels)

    sp = sub.add_parser("attack", help="run JSMA on a deployed model")
    add_device_args(sp)
    sp.add_argument("--model", required=True)
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--attack", required=True, help="JSON of the config's attack block")
    sp.add_argument("--out", required=True)
    sp.add_argument("--summary", required=True)
    sp.set_defaults(func=cmd_attack)

    sp = sub.add_parser("gradients", help="input-gradient statistics of a deployed model on the attack targets")
    sp.add_argument("--threads", type=int, default=None)
    sp.add_argument("--model", required=True)
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--samples", type=int, required=True)
    sp.add_argument("--targets-per-sample", type=int, default=9)
    sp.add_argument("--out", required=True)
    sp.set_defaults(func=cmd_gradients)

    sp = sub.add_parser("adaptive-attack", help="run one registry attack on a deployed model (issue 9)")
    add_device_args(sp)
    sp.add_argument("--model", required=True)
    sp.add_argument("--model-name", required=True, help="baseline or distilled_T<T>")
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--attack", required=True, help="a name in attacks/registry.py, e.g. cw_l2")
    sp.add_argument("--adaptive", required=True, help="JSON of the dataset's adaptive block")
    sp.add_argument("--out", required=True)
    sp.add_argument("--summary", required=True)
    sp.set_defaults(func=cmd_adaptive_attack)

    sp = sub.add_parser("robustness", help="rho_adv: JSMA with no budget cap on a deployed model (issue 9)")
    add_device_args(sp)
    sp.add_argument("--model", required=True)
    sp.add_argument("--model-name", required=True, help="baseline or distilled_T<T>")
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--robustness", required=True, help="JSON of the dataset's robustness block")
    sp.add_argument("--out", required=True)
    sp.add_argument("--summary", required=True)
    sp.set_defaults(func=cmd_robustness)

    sp = sub.add_parser("report", help="aggregate results and write REPORT.md")
    sp.add_argument("--config", required=True, help="JSON of the resolved config")
    sp.add_argument("--config-files", nargs="*", default=[])
    sp.add_argument("--results-dir", required=True)
    sp.add_argument("--out", required=True)
    sp.add_argument("--figure", required=True)
    sp.add_argument("--table", required=True)
    sp.add_argument("--sections", nargs="*", default=[], help="sections of the seam's reproductions to append")
    sp.set_defaults(func=cmd_report, threads=None)

    sp = sub.add_parser("publish-report", help="copy results/<run>/REPORT.md to the top-level REPORT.md")
    sp.add_argument("run_dir", help="a finished run's folder, e.g. results/cpu")
    sp.add_argument("--out", default="REPORT.md")
    sp.set_defaults(func=cmd_publish_report, threads=None)

    sp = sub.add_parser("validate-config", help="check a config file and name any bad field")
    sp.add_argument("path")
    sp.add_argument(
        "--skip-device-check",
        action="store_true",
        help="do not refuse 'device: cuda' when this machine has no CUDA (e.g. a cluster login node)",
    )
    sp.set_defaults(func=cmd_validate_config, threads=None, job=False)

    from .papers.cli import register

    register(sub)  # paper-train, paper-logits, paper-section, seam-report
    return p


def main(argv: Sequence[str] | None = None) -> None:
    from .errors import UserError

    args = build_parser().parse_args(argv)
    _setup(getattr(args, "threads", None), job=getattr(args, "job", True))
    try:
        args.func(args)
    except UserError as exc:
        # A problem the user can fix: one paragraph naming the field or file and the fix, no traceback.
        if getattr(args, "job", True):
            log.error("%s", exc)
        else:
            print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
