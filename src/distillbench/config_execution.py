"""The config's ``execution:`` block: how the jobs run, never what they compute.

::

    execution:
      fast_path: auto          # auto | channels_last | compile (fastpath.py; auto: the fastest measured there)
      train_in_groups: false   # several networks per process (group_training.py)
      jobs_per_gpu: 8          # jobs sharing one GPU (devices.py, gpu_sharing.py)
      gpu_lock_dir: null       # a directory for the GPU slot locks of concurrent local jobs (devices.py)
      resources:               # per job kind, for Snakemake's scheduler and cluster executors
        train: {mem_mb: 4000, runtime: 120, threads: 2}
        attack: {mem_mb: 8000, runtime: 120, threads: 2}

These keys used to sit at the top level beside the scientific settings; a config that still has one there
is refused with the key's new place (:func:`moved_key_problems`), so an old profile overlay fails clearly
instead of being half applied. On the command line: ``--config 'execution={fast_path: compile}'`` (Snakemake
merges it into the block key by key and passes its values as strings: :func:`coerce` reads them).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

# Several small jobs per GPU (measured on one H200: 8 MNIST training jobs at once gave 2.8x the throughput of
# one, 16 gave 3.3x): 8 takes most of the gain with half the processes.
DEFAULT_JOBS_PER_GPU = 8

DEFAULTS: dict[str, Any] = {
    "fast_path": "auto",
    "train_in_groups": False,
    "jobs_per_gpu": DEFAULT_JOBS_PER_GPU,
    "resources": {
        "train": {"mem_mb": 4000, "runtime": 120, "threads": 2},
        "attack": {"mem_mb": 8000, "runtime": 120, "threads": 2},
    },
}

# Top-level keys that moved into the block (each keeps its name there).
MOVED = ("fast_path", "train_in_groups", "jobs_per_gpu", "gpu_lock_dir", "resources")


def moved_key_problems(config: Mapping[str, Any]) -> list[str]:
    """One line per execution setting still at the top level, naming its new place and how to write it."""
    return [
        f"config field '{key}' has moved: it is now 'execution.{key}' (how jobs run lives apart from what they "
        f"compute); fix: write it under 'execution:' in the config file, e.g. 'execution: {{{key}: ...}}', or on "
        f"the command line --config 'execution={{{key}: ...}}'"
        for key in MOVED
        if key in config
    ]


def _as_bool(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _as_int(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


def coerce(config: Mapping[str, Any]) -> dict[str, Any]:
    """``--config 'execution={train_in_groups: true, jobs_per_gpu: 4}'`` passes strings: read the booleans,
    integers and null they stand for (anything else is left for the schema to name)."""
    cfg = dict(config)
    block = cfg.get("execution")
    if not isinstance(block, Mapping):
        return cfg
    block = copy.deepcopy(dict(block))
    if "train_in_groups" in block:
        block["train_in_groups"] = _as_bool(block["train_in_groups"])
    if "jobs_per_gpu" in block:
        block["jobs_per_gpu"] = _as_int(block["jobs_per_gpu"])
    lock = block.get("gpu_lock_dir")
    if isinstance(lock, str) and lock.strip().lower() in ("null", "none", "~", ""):
        block["gpu_lock_dir"] = None
    resources = block.get("resources")
    if isinstance(resources, Mapping):
        block["resources"] = {
            kind: {k: _as_int(v) for k, v in res.items()} if isinstance(res, Mapping) else res
            for kind, res in resources.items()
        }
    cfg["execution"] = block
    return cfg


def fill_defaults(cfg: dict[str, Any]) -> None:
    """The block with every setting present (in place): the rules read them without defaults of their own."""
    block = cfg.setdefault("execution", {})
    block.setdefault("gpu_lock_dir", None)
    for key, value in DEFAULTS.items():
        if key != "resources":
            block.setdefault(key, value)
    resources = block.setdefault("resources", {})
    for kind, default in DEFAULTS["resources"].items():
        res = resources.setdefault(kind, {})
        for key, value in default.items():
            res.setdefault(key, value)


def problems(cfg: Mapping[str, Any]) -> list[str]:
    """``train_in_groups`` trains every temperature of a dataset in one job: they must share their epochs."""
    if not cfg["execution"]["train_in_groups"]:
        return []
    return [
        f"config field 'datasets.{name}.training.epochs_by_temperature': with 'execution.train_in_groups: true' "
        f"every temperature of a dataset trains for the same epochs (one job trains them together); fix: remove "
        f"'epochs_by_temperature' or set 'execution.train_in_groups: false'"
        for name, ds in cfg.get("datasets", {}).items()
        if ds.get("training", {}).get("epochs_by_temperature")
    ]
