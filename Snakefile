# distillbench: reproduce Papernot et al. 2016 (Fig. 7) end to end.
#   snakemake --cores 8 --resources gpu=2                       # paper settings (config/config.yaml)
#   snakemake --cores 2 --configfile config/cpu.yaml            # CPU profile (~2 h on 2 cores)
#   snakemake --workflow-profile workflow/profiles/slurm        # SLURM
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from distillbench.config import ConfigError, validate_config  # noqa: E402
from distillbench.workflow_plan import Plan  # noqa: E402


configfile: str(Path(workflow.basedir) / "config" / "config.yaml")


try:
    config.update(validate_config(config))
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

PLAN = Plan(config)


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/attack.smk"
include: "workflow/rules/report.smk"


# The run's own report, under results/<run_name>/: never the committed top-level REPORT.md, which
# would make Snakemake call a fresh clone's run done (publish a run with `distillbench publish-report`).
rule all:
    input:
        PLAN.report,
