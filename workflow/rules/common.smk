# Shared settings for all rules.
import json
import os
import shlex
import sys

R = PLAN.results
W = PLAN.work
DATA = config["data_dir"]
# How a job runs, not what it computes (the config's `execution:` block, src/distillbench/config_execution.py):
# GPU slot locks and slots per GPU (devices.py), the training fast path (fastpath.py), resources per job kind.
EXECUTION = config["execution"]
LOCK = f"--gpu-lock-dir {shlex.quote(str(EXECUTION['gpu_lock_dir']))}" if EXECUTION["gpu_lock_dir"] else ""
LOCK += f" --jobs-per-gpu {int(EXECUTION['jobs_per_gpu'])}"
FAST = f"--fast-path {EXECUTION['fast_path']}"
SRC = Path(workflow.basedir) / "src"
# The interpreter running Snakemake, with the package importable even without `pip install -e .`.
PY = f"PYTHONPATH={shlex.quote(str(SRC))}${{PYTHONPATH:+:$PYTHONPATH}} {shlex.quote(sys.executable)} -m distillbench"
# Which waiting job goes first when every slot (core or GPU share) is taken: the stage with the most work still
# ahead of it (a warm start gates every network of its dataset; an attack ends its chain). The order of jobs only:
# no output depends on it.
STAGE_PRIORITY = {"warm_start": 40, "teacher": 30, "soft_labels": 20, "student": 10, "attack": 0}
TRAIN_RES = EXECUTION["resources"]["train"]
ATTACK_RES = EXECUTION["resources"]["attack"]
# One command for the warm start, teachers and students; PLAN.train_args gives what differs.
TRAIN_SHELL = (
    "{params.py} train {params.args} --data-dir {params.data:q} --device {params.device} {params.lock} {params.fast}"
    " --threads {threads} --out {output.ckpt} --metrics {output.metrics} > {log} 2>&1"
)
# `execution.train_in_groups`: one command for a group of networks (one per temperature), the same files as TRAIN_SHELL's.
GROUP_TRAIN_SHELL = (
    "{params.py} train-group {params.args} --data-dir {params.data:q} --device {params.device} {params.lock}"
    " {params.fast} --threads {threads} --out {output.ckpt} --metrics {output.metrics} > {log} 2>&1"
)
# A group of teachers also writes the soft labels at every distillation temperature (instead of soft_labels jobs).
GROUP_TEACHERS_SHELL = GROUP_TRAIN_SHELL.replace(
    " > {log}", " --soft-labels-at {params.soft_at} --soft-labels-out {output.soft} > {log}"
)


# Non-file values reach the shell commands through each rule's `params:` (what `snakemake --lint` asks for),
# so a job's recorded parameters name its data directory and device: changing either reruns the job.
# The interpreter (PY) and the GPU lock directory say where and how a job runs, not what it computes: their
# param functions take `input`, which makes Snakemake count them as derived from the inputs and leave them
# out of the `params` rerun trigger, so moving a checkout or its virtual environment redoes nothing.
def python_command(wildcards, input):
    return PY


def gpu_lock_option(wildcards, input):
    return LOCK


def fast_path_option(wildcards, input):
    return FAST


def data_dir(wildcards):
    return DATA  # a function: a plain string param would be read as a wildcard pattern


wildcard_constraints:
    dataset="mnist|cifar10",
    T=r"[0-9]+(\.[0-9]+)?",
    model=PLAN.model_wildcard(),
    numerics="exact|float32|float32_per_target",
    seed="[0-9]+",
