"""``jobs_per_gpu`` for Snakemake: ``--resources gpu=N`` keeps meaning N GPUs while jobs share them.

Every GPU rule declares ``gpu=1`` (one job; the SLURM executor turns it into ``sbatch --gpus=1``).
Snakemake resources are integers, so a rule cannot ask for a quarter of a GPU. Instead the Snakefile
multiplies the global ``gpu`` limit by ``jobs_per_gpu`` before scheduling: ``--resources gpu=2`` with
``jobs_per_gpu: 4`` runs at most 8 GPU jobs at once, and the jobs' GPU claim (devices.py, the same
``jobs_per_gpu``) puts 4 on each of the 2 GPUs. Without ``--resources gpu=...`` nothing is limited
(Snakemake's rule for undeclared limits), as before.

Only the main Snakemake process scales (a job's own Snakemake process, e.g. on a SLURM node, runs one
job). With ``--executor slurm`` every job gets its own GPU from SLURM (``--gpus=1``): sharing a GPU
there is the cluster's business (GPU sharding ``--gres=shard:1`` or MPS, see README "GPU sharing").
"""

from __future__ import annotations

from typing import Any


def scale_gpu_limit(global_resources: Any, jobs_per_gpu: int) -> tuple[int, int] | None:
    """Multiply the ``gpu`` limit in Snakemake's ``workflow.global_resources`` by ``jobs_per_gpu``.

    Returns ``(gpus, job_slots)`` when a limit was given and scaled, ``None`` when there is none.
    """
    if "gpu" not in global_resources:
        return None
    res = global_resources["gpu"]
    value = getattr(res, "value", res)
    if value is None or isinstance(value, str):
        return None
    gpus = int(value)
    slots = gpus * max(1, int(jobs_per_gpu))
    global_resources["gpu"] = slots
    return gpus, slots
