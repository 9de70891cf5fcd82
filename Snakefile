# distillbench: reproduce Papernot et al. 2016 (Fig. 7) end to end.
#   snakemake --cores 8 --resources gpu=2                       # paper settings (config/config.yaml)
#   snakemake --cores 2 --configfile config/cpu.yaml            # CPU profile (README: its measured cost)
#   snakemake --workflow-profile workflow/profiles/slurm        # SLURM
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from distillbench.config import (  # noqa: E402
    ConfigError, cpu_fallback_note, device_problems, read_config_file, validate_config, verify_checksums_for,
)
from distillbench.papers import Seam  # noqa: E402
from distillbench.gpu_sharing import scale_gpu_limit  # noqa: E402
from distillbench.preflight import (  # noqa: E402
    data_problems, dry_run_requested, executor_named, refuse,
)
from distillbench import runlock  # noqa: E402
from distillbench.papers.papernot2016.plan import Plan  # noqa: E402

DEFAULT_CONFIG = Path(workflow.basedir) / "config" / "config.yaml"

# Read every config file ourselves first: a YAML error or a key given twice is reported with its file and
# line (Snakemake's own message names neither). Files given with --configfile have already been parsed by
# Snakemake at this point, so only their duplicate keys can still be caught here.
try:
    for _path in [DEFAULT_CONFIG, *workflow.overwrite_configfiles]:
        read_config_file(_path)
except ConfigError as exc:
    refuse(str(exc))


configfile: str(DEFAULT_CONFIG)


try:
    # `device: cuda` is checked in `onstart` below, once the executor is known (a SLURM login node has no GPU).
    config.update(validate_config(config, check_device=False))
    if workflow.is_main_process:
        _data = data_problems(config)  # every dataset's checks, before any job
        if _data:
            raise ConfigError(_data)
except ConfigError as exc:
    refuse(str(exc))
if workflow.is_main_process and config["device"] == "cuda" and device_problems(config):
    print("note: 'device: cuda' but no CUDA device is visible here: a local run stops before its first job "
          "(fine if the jobs run elsewhere, e.g. with the SLURM executor)", file=sys.stderr)

# A dry run says what a real run would say in `onstart` (Snakemake cannot tell a dry run while this file is read).
if workflow.is_main_process and dry_run_requested(sys.argv) and not executor_named(sys.argv):
    _note = cpu_fallback_note(config)
    if _note:
        print(f"dry run: {_note}", file=sys.stderr)

PLAN = Plan(config)
SEAM = Seam(config, PLAN.results, PLAN.work)  # the reproductions the config enables (src/distillbench/papers/)

# `--resources gpu=N` means N GPUs; `execution.jobs_per_gpu` jobs share each one (src/distillbench/gpu_sharing.py).
if workflow.is_main_process:
    _shared = scale_gpu_limit(workflow.global_resources, config["execution"]["jobs_per_gpu"])
    if _shared and _shared[1] != _shared[0]:
        print(f"GPU sharing: {_shared[0]} GPU(s) x jobs_per_gpu {config['execution']['jobs_per_gpu']} = "
              f"{_shared[1]} GPU jobs at once", file=sys.stderr)


onstart:
    # Before the first job: refuse a second live run on this run name (src/distillbench/runlock.py; Snakemake's
    # own lock is lifted by --unlock even while its run goes on), refuse `device: cuda` where the jobs would run
    # without CUDA (local execution), and say so when `device: auto` would train the paper profile on the CPU.
    if workflow.local_exec:
        _problems = device_problems(config)
        if _problems:
            raise WorkflowError("invalid configuration:\n  - " + "\n  - ".join(_problems))
    try:
        runlock.acquire(PLAN.results)
    except runlock.RunLockedError as exc:
        raise WorkflowError(str(exc)) from None
    if workflow.local_exec:
        _note = cpu_fallback_note(config)
        if _note:
            print(_note, file=sys.stderr)


onsuccess:
    runlock.release(PLAN.results)


onerror:
    runlock.release(PLAN.results)


# Snakemake's own HTML report: `snakemake --report results/<run_name>/report.html` after a run (same options
# as the run). This text heads it; the rules mark their figures and tables with captions in workflow/report/.
report: "workflow/report/workflow.rst"


# `snakemake --lint` (checked by tests/test_workflow.py and .ci/run) has one lint left, on purpose: "Specify a
# conda environment or container for each rule". Every job runs the interpreter that runs Snakemake (PY in
# workflow/rules/common.smk) with this checkout's src/ first on PYTHONPATH, so one environment serves the whole
# run: the one scripts/setup-env.sh (pyproject.toml) or environment.yml installs, pinned torch 2.14.1 CUDA
# build (~5.5 GB) included. A per-rule `conda:` environment would have `--use-conda` build a second copy of it
# (on GPU machines and cluster nodes that are often offline), and the jobs would still run the same
# interpreter: it would name software that the jobs do not use.
include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/attack.smk"
include: "workflow/rules/adaptive.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/length.smk"
include: "workflow/rules/papers.smk"
include: "workflow/rules/recipe.smk"


# The run's own report, under results/<run_name>/: never the committed top-level REPORT.md, which
# would make Snakemake call a fresh clone's run done (publish a run with `distillbench publish-report`).
rule all:
    input:
        PLAN.report,
