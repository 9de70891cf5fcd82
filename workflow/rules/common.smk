# Shared settings for all rules.
import json
import shlex
import sys

R = PLAN.results
W = PLAN.work
DATA = config["data_dir"]
LOCK = f"--gpu-lock-dir {config['gpu_lock_dir']}" if config.get("gpu_lock_dir") else ""
SRC = Path(workflow.basedir) / "src"
# The interpreter running Snakemake, with the package importable even without `pip install -e .`.
PY = f"PYTHONPATH={shlex.quote(str(SRC))}${{PYTHONPATH:+:$PYTHONPATH}} {shlex.quote(sys.executable)} -m distillbench"
TRAIN_RES = config["resources"]["train"]
ATTACK_RES = config["resources"]["attack"]
# One command for the warm start, teachers and students; PLAN.train_args gives what differs.
TRAIN_SHELL = (
    "{PY} train {params.args} --data-dir {DATA:q} --device {config[device]} {LOCK} --threads {threads}"
    " --out {output.ckpt} --metrics {output.metrics} > {log} 2>&1"
)


wildcard_constraints:
    dataset="mnist|cifar10",
    T=r"[0-9]+(\.[0-9]+)?",
    model=r"baseline|distilled_T[0-9]+(\.[0-9]+)?",
    numerics="defined|float32",
