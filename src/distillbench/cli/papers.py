"""The seam's commands (``python -m distillbench paper-train|paper-logits``)."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from .common import add_device_args

log = logging.getLogger("distillbench")


def cmd_paper_train(a: argparse.Namespace) -> None:
    from .. import io
    from ..devices import claim_device
    from ..models import count_parameters
    from ..papers import get
    from ..papers.base import Job
    from ..papers.train import evaluate, load_data, save_model, train_job
    from ..provenance import numerics_environment
    from ..training import predict_logits

    job = Job.from_json(a.job)
    claim, device = claim_device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
    teacher_logits = None
    if a.teacher_logits:
        from ..checkpoints import read_torch

        teacher_logits = read_torch(Path(a.teacher_logits), "the teacher's logits")
    train_data, test_data = load_data(job, Path(a.data_dir))
    if teacher_logits is not None and len(teacher_logits) != len(train_data):
        from ..errors import UserError

        raise UserError(
            f"{a.teacher_logits}: {len(teacher_logits)} rows, the training set has {len(train_data)}; fix: delete "
            "it and rerun the workflow (it was written for another train_subset)"
        )
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
        len(train_data),
        len(test_data),
    )
    t0 = time.perf_counter()
    resume = Path(a.out).with_name(f".{Path(a.out).name}.resume")  # after every epoch: a rerun goes on from there
    model, history = train_job(job, train_data, test_data, device, teacher_logits=teacher_logits, resume_path=resume)
    logits = predict_logits(model, test_data.images, device)
    result = evaluate(logits, test_data.labels, dict(job.bias_shift))
    result.update(get(m.paper).logit_metrics(job, logits.cpu(), test_data.labels.cpu()))
    save_model(Path(a.out), model, job, history, 1.0 - result["errors"] / max(1, result["test_samples"]))
    # The resume file is kept, as in cmd_train: a rerun after an interruption rebuilds the outputs from it.
    metrics: dict[str, Any] = {
        "model": json.loads(job.to_json())["model"],
        "job": json.loads(job.to_json()),
        **result,
        "train_samples": len(train_data),
        "parameters": count_parameters(model),
        "test_accuracy": 1.0 - result["errors"] / max(1, result["test_samples"]),
        "device": claim.device,
        "seconds": time.perf_counter() - t0,
        "history": history,
        "numerics": numerics_environment(claim.device),
    }
    io.write_json(a.metrics, metrics)
    log.info("test errors %d/%d, checkpoint %s", result["errors"], result["test_samples"], a.out)
    claim.release()


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
