"""The seam's commands (``python -m distillbench paper-train|paper-logits``)."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import add_device_args

if TYPE_CHECKING:  # annotations only: the parser stays free of torch
    import torch
    from torch import nn

    from ..data import TensorDataset
    from ..papers.base import Job

log = logging.getLogger("distillbench")


def cmd_paper_train(a: argparse.Namespace) -> None:
    """Train one job of a seam reproduction: its checkpoint (``--out``) and its metrics JSON (``--metrics``)."""
    from .. import io
    from ..devices import claim_device
    from ..models import count_parameters
    from ..papers.base import Job
    from ..papers.train import load_data, save_model
    from ..provenance import numerics_environment

    job = Job.from_json(a.job)
    claim, device = claim_device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
    teacher_logits = _read_teacher_logits(a.teacher_logits)
    train_data, test_data = load_data(job, Path(a.data_dir))
    _refuse_other_training_set(a.teacher_logits, teacher_logits, len(train_data))
    _log_job(job, len(train_data), len(test_data))
    t0 = time.perf_counter()
    model, history, result = _train_and_test(job, train_data, test_data, device, teacher_logits, Path(a.out))
    accuracy = 1.0 - result["errors"] / max(1, result["test_samples"])
    save_model(Path(a.out), model, job, history, accuracy)
    # The resume file is kept, as in cmd_train: a rerun after an interruption rebuilds the outputs from it.
    metrics: dict[str, Any] = {
        "model": json.loads(job.to_json())["model"],
        "job": json.loads(job.to_json()),
        **result,
        "train_samples": len(train_data),
        "parameters": count_parameters(model),
        "test_accuracy": accuracy,
        "device": claim.device,
        "seconds": time.perf_counter() - t0,
        "history": history,
        "numerics": numerics_environment(claim.device),
    }
    io.write_json(a.metrics, metrics)
    log.info("test errors %d/%d, checkpoint %s", result["errors"], result["test_samples"], a.out)
    claim.release()


def _read_teacher_logits(path: str | None) -> torch.Tensor | None:
    """The teacher's logits on the training set (a student's targets), or None for a model without a teacher."""
    if not path:
        return None
    from ..checkpoints import read_torch

    return read_torch(Path(path), "the teacher's logits")


def _refuse_other_training_set(path: str | None, teacher_logits: torch.Tensor | None, train_samples: int) -> None:
    """Teacher logits with a row count other than the training set's were written for another train_subset."""
    if teacher_logits is None or len(teacher_logits) == train_samples:
        return
    from ..errors import UserError

    raise UserError(
        f"{path}: {len(teacher_logits)} rows, the training set has {train_samples}; fix: delete "
        "it and rerun the workflow (it was written for another train_subset)"
    )


def _log_job(job: Job, train_samples: int, test_samples: int) -> None:
    """What is trained, how long and on how many samples (the log's first line about the job)."""
    m = job.model
    log.info(
        "train %s/%s (%s, %s, loss %s, T=%g) for %d epochs on %d samples (test %d)",
        m.paper,
        m.name,
        m.arch,
        m.role,
        job.loss,
        m.temperature,
        job.epochs,
        train_samples,
        test_samples,
    )


def _train_and_test(
    job: Job,
    train_data: TensorDataset,
    test_data: TensorDataset,
    device: torch.device,
    teacher_logits: torch.Tensor | None,
    out: Path,
) -> tuple[nn.Module, list[dict[str, Any]], dict[str, Any]]:
    """Train ``job`` (saving after every epoch beside ``out``, so that a rerun goes on from there) and test it: the
    model, its history, and its test errors with the numbers its paper computes from the test logits."""
    from ..papers import get
    from ..papers.train import evaluate, train_job
    from ..training import predict_logits

    resume = out.with_name(f".{out.name}.resume")
    model, history = train_job(job, train_data, test_data, device, teacher_logits=teacher_logits, resume_path=resume)
    logits = predict_logits(model, test_data.images, device)
    result = evaluate(logits, test_data.labels, dict(job.bias_shift))
    result.update(get(job.model.paper).logit_metrics(job, logits.cpu(), test_data.labels.cpu()))
    return model, history, result


def cmd_paper_logits(a: argparse.Namespace) -> None:
    from .. import io
    from ..devices import claim_device
    from ..papers.train import load_data, load_model
    from ..training import predict_logits

    claim, device = claim_device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
    model, job = load_model(Path(a.model), device)
    train_data, _ = load_data(job, Path(a.data_dir))
    logits = predict_logits(model, train_data.images, device)
    agree = float((logits.argmax(1) == train_data.labels).float().mean())
    log.info("logits of %s on %d training images; argmax agrees with the label on %.4f", a.model, len(logits), agree)
    io.save_torch(a.out, logits)
    claim.release()


def register(sub: Any) -> None:
    """Add the seam's commands to the package's argument parser."""
    sp = sub.add_parser("paper-train", help="train one model of a reproduction (a seam job)")
    add_device_args(sp)
    sp.add_argument("--job", required=True, help="JSON of the job (papers.base.Job)")
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--teacher-logits", default=None)
    sp.add_argument("--out", required=True)
    sp.add_argument("--metrics", required=True)
    sp.set_defaults(func=cmd_paper_train)

    sp = sub.add_parser("paper-logits", help="a seam model's logits on its training set (its students' targets)")
    add_device_args(sp)
    sp.add_argument("--model", required=True)
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--out", required=True)
    sp.set_defaults(func=cmd_paper_logits)
