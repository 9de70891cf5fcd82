"""Where a run came from: git commit, hardware, library versions, per-rule wall time."""

from __future__ import annotations

import csv
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from .settings import REPO_ROOT

LIBRARIES = ("torch", "torchvision", "foolbox", "snakemake", "numpy", "pandas", "seaborn", "tabulate")


def git_commit(repo: Path = REPO_ROOT, generated: tuple[str, ...] = ()) -> str:
    """HEAD, flagged when tracked files differ from it; ``generated`` paths (the run's own outputs) don't count.

    An exported copy of the repository (``git archive``, e.g. on a GPU machine) has no history: there
    ``DISTILLBENCH_GIT_COMMIT`` names the commit it was exported from.
    """
    given = os.environ.get("DISTILLBENCH_GIT_COMMIT")
    if given:
        return f"{given} (an exported copy; DISTILLBENCH_GIT_COMMIT)"
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        excludes = [f":(exclude){g}" for g in generated]
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *excludes],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return sha + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {
        "host": platform.node(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
    }
    try:
        import torch

        info["cuda_devices"] = (
            [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            if torch.cuda.is_available()
            else []
        )
    except Exception:  # pragma: no cover - torch missing
        info["cuda_devices"] = []
    return info


def library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def rule_wall_times(benchmark_dir: Path) -> list[dict[str, Any]]:
    """Snakemake ``benchmark:`` files: one row per job with its wall-clock seconds and peak RSS."""
    rows = []
    for path in sorted(Path(benchmark_dir).glob("*/*.tsv")):
        with open(path) as fh:
            rec = next(csv.DictReader(fh, delimiter="\t"), None)
        if rec is None:
            continue
        rows.append(
            {
                "rule": path.parent.name,
                "job": path.stem,
                "seconds": float(rec["s"]),
                "max_rss_mb": float(rec["max_rss"]) if rec.get("max_rss", "NA") not in ("NA", "-") else None,
            }
        )
    return rows


def numerics_environment(device: str = "cpu") -> dict[str, Any]:
    """What decides a job's floating-point results beyond config and seed, and cannot be pinned by them:
    recorded in each training job's metrics so that two runs that differ can be told apart.

    On the CPU, the same torch version, thread count and CPU capability (the SIMD kernels chosen) give
    bit-identical results; GPU kernels (cuDNN algorithm choice, TF32, atomics) may differ between runs.
    """
    import torch

    info: dict[str, Any] = {
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu": cpu_model(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        info.update(
            {
                "cuda_version": torch.version.cuda,
                "cudnn_version": torch.backends.cudnn.version(),
                "gpu": torch.cuda.get_device_name(index),
                "cudnn_benchmark": torch.backends.cudnn.benchmark,
                "cudnn_deterministic": torch.backends.cudnn.deterministic,
                "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
                "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            }
        )
    return info
