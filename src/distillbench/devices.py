"""Pick the device for a job: the GPUs SLURM assigned, a free local GPU slot, or the CPU.

Snakemake's ``--resources gpu=N`` only counts jobs; it gives them no device ids. Concurrent local
jobs therefore claim a slot by taking an exclusive ``flock`` on a lock file per slot. The kernel
drops the lock when the process ends, so a crashed job frees its slot at once.

``jobs_per_gpu`` (config) slots per GPU let several small jobs share each GPU, balanced: slot ``s``
is on GPU ``s % n_gpus``, and a job takes the lowest free slot, so with 2 GPUs and 4 slots each the
first 8 jobs land 4 on each GPU (0, 1, 0, 1, ...). Slot files: ``gpu<g>.lock`` for the first slot of
GPU g (as before), ``gpu<g>-<k>.lock`` for its k-th further slot.

Inside a SLURM job (``SLURM_JOB_ID`` set) SLURM has narrowed ``CUDA_VISIBLE_DEVICES`` to the job's
GPUs: with one visible GPU the job uses it (``cuda:0``). With several (an ``salloc --gpus=N`` session
running the workflow with the local executor) concurrent jobs claim slots among them, with locks kept
per allocation (``<lock_dir>/slurm-<job id>/``) so other allocations on the node do not interfere.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import UserError


class DeviceError(UserError, RuntimeError):
    """The requested device is not available to this job."""


@dataclass
class DeviceClaim:
    device: str  # "cpu" or "cuda:<i>" (index among the visible devices)
    reason: str
    lock_file: IO[bytes] | None = None

    def release(self) -> None:
        if self.lock_file is not None:
            fcntl.flock(self.lock_file, fcntl.LOCK_UN)
            self.lock_file.close()
            self.lock_file = None


def default_lock_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"distillbench-gpu-locks-{os.getuid()}"


def visible_gpu_labels(env: Mapping[str, str], count: int) -> list[str]:
    """Names of the visible GPUs for the log: CUDA_VISIBLE_DEVICES entries or 0..count-1."""
    cvd = env.get("CUDA_VISIBLE_DEVICES")
    if cvd is not None and cvd.strip():
        return [c.strip() for c in cvd.split(",") if c.strip()][:count] or [str(i) for i in range(count)]
    return [str(i) for i in range(count)]


def slot_gpu(slot: int, n_gpus: int) -> int:
    """The GPU of a slot: slots go round the GPUs, so the lowest free slots spread jobs evenly."""
    return slot % n_gpus


def slot_lock_name(slot: int, n_gpus: int) -> str:
    gpu, level = slot_gpu(slot, n_gpus), slot // n_gpus
    return f"gpu{gpu}.lock" if level == 0 else f"gpu{gpu}-{level}.lock"


def claim_gpu_slot(
    n_gpus: int, lock_dir: Path, order: Sequence[int] | None = None, jobs_per_gpu: int = 1
) -> tuple[int, IO[bytes]] | None:
    """Take the lowest free slot among ``n_gpus * jobs_per_gpu``; ``None`` when all are held.
    Returns the slot (its GPU is ``slot_gpu(slot, n_gpus)``) and the open, locked file."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    for i in order if order is not None else range(n_gpus * max(1, jobs_per_gpu)):
        fh = open(lock_dir / slot_lock_name(i, n_gpus), "a+b")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            continue
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n".encode())
        fh.flush()
        return i, fh
    return None


def select_device(
    requested: str = "auto",
    *,
    cuda_count: int | None = None,
    env: Mapping[str, str] | None = None,
    lock_dir: Path | None = None,
    jobs_per_gpu: int = 1,
) -> DeviceClaim:
    """Decide where a job runs.

    * ``cpu``, or no CUDA device visible (with ``auto``) -> CPU;
    * inside a SLURM job (``SLURM_JOB_ID`` set) with one visible GPU -> ``cuda:0``: SLURM has already
      narrowed ``CUDA_VISIBLE_DEVICES`` to the job's GPU;
    * otherwise (local, or a SLURM allocation holding several GPUs) -> the lowest slot no other job
      holds, ``jobs_per_gpu`` slots per GPU spread round the GPUs (a flock per slot; per allocation
      inside SLURM). With every slot held (more jobs than slots), the job shares a GPU chosen by its
      process id, so that such overflow spreads over the GPUs too.

    The reason always names the SLURM job and its ``CUDA_VISIBLE_DEVICES`` when there is one, so every
    job log shows which GPU SLURM gave it, even where torch then sees none.
    """
    env = os.environ if env is None else env
    if cuda_count is None:
        import torch

        cuda_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    slurm_job = env.get("SLURM_JOB_ID")
    slurm = f"SLURM job {slurm_job}, CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES', '')}" if slurm_job else ""
    if requested == "cpu":
        return DeviceClaim("cpu", "device: cpu requested in the config" + (f"; {slurm}" if slurm else ""))
    if cuda_count == 0:
        if requested == "cuda":
            raise DeviceError(
                "device: cuda requested but no CUDA device is visible"
                + (f" ({slurm}: did the job ask for a GPU, and does the node have a driver?)" if slurm else "")
                + "; set 'device: auto' or 'cpu'"
            )
        return DeviceClaim("cpu", "no CUDA device visible" + (f"; {slurm}" if slurm else ""))
    labels = visible_gpu_labels(env, cuda_count)
    if slurm_job and cuda_count == 1:
        return DeviceClaim("cuda:0", slurm)
    base = lock_dir or default_lock_dir()
    if slurm_job:
        base = Path(base) / f"slurm-{slurm_job}"
    where = f"{slurm}: " if slurm else ""
    if jobs_per_gpu < 1:
        raise DeviceError(
            f"jobs_per_gpu must be at least 1, got {jobs_per_gpu}; fix: set 'execution.jobs_per_gpu: 1' or more"
        )
    slots = cuda_count * jobs_per_gpu
    got = claim_gpu_slot(cuda_count, Path(base), jobs_per_gpu=jobs_per_gpu)
    if got is None:
        # More jobs than slots (e.g. --resources gpu set above GPUs x jobs_per_gpu): share rather than fail.
        gpu = os.getpid() % cuda_count
        return DeviceClaim(f"cuda:{gpu}", f"{where}all {slots} GPU slots busy; sharing GPU {labels[gpu]}")
    slot, fh = got
    gpu = slot_gpu(slot, cuda_count)
    kind = "GPU slot" if slurm_job else "local GPU slot"
    share = f", {jobs_per_gpu} slots per GPU" if jobs_per_gpu > 1 else ""
    return DeviceClaim(f"cuda:{gpu}", f"{where}{kind} {slot} (physical GPU {labels[gpu]}{share})", fh)


def claim_device(requested: str, lock_dir: str | None, jobs_per_gpu: int = 1) -> tuple[DeviceClaim, Any]:
    """A job's device: the claim (release it when done) and the ``torch.device`` to run on; logged."""
    import torch

    claim = select_device(requested, lock_dir=Path(lock_dir) if lock_dir else None, jobs_per_gpu=jobs_per_gpu)
    logging.getLogger("distillbench").info("device: %s (%s)", claim.device, claim.reason)
    return claim, torch.device(claim.device)
