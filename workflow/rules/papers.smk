# The paper seam (src/distillbench/papers/): one generic set of rules trains every model that a reproduction
# declares as a job (ModelId + Job), writes its teachers' logits and its REPORT.md section. A new paper needs no
# rule here: its module's jobs become these rules' wildcards. Papernot 2016's chain (warm start, teachers, soft
# labels, students, per seed) has its rules in train.smk and attack.smk, on the same training loop and checkpoint
# format; `snakemake <paper>` builds one reproduction alone.


localrules:
    paper_section,


rule paper_train:
    """One model of a seam reproduction: the one training loop, its loss chosen by name (losses.py)."""
    input:
        data=SEAM.data_manifest,
        teacher=lambda w: SEAM.teacher_logits(w.paper, w.job),
    output:
        ckpt=f"{W}/{{paper}}/{{dataset}}/{{job}}.pt",
        metrics=f"{R}/{{paper}}/{{dataset}}/models/{{job}}.json",
    log:
        f"{R}/logs/paper_train/{{paper}}_{{dataset}}_{{job}}.log",
    benchmark:
        f"{R}/benchmarks/paper_train/{{paper}}_{{dataset}}_{{job}}.tsv"
    wildcard_constraints:
        paper=SEAM.wildcard_pattern("paper"),
        job=SEAM.wildcard_pattern("job"),
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        job=lambda w: SEAM.job(w.paper, w.job).to_json(),
        teacher=SEAM.teacher_option,
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
    shell:
        "{params.py} paper-train --job {params.job:q} --data-dir {params.data:q} {params.teacher}"
        " --device {params.device} {params.lock} --threads {threads}"
        " --out {output.ckpt} --metrics {output.metrics} > {log} 2>&1"


rule paper_logits:
    """A teacher's logits on its training set: the transfer set of its students."""
    input:
        ckpt=f"{W}/{{paper}}/{{dataset}}/{{job}}.pt",
    output:
        f"{W}/{{paper}}/{{dataset}}/{{job}}.logits.pt",
    log:
        f"{R}/logs/paper_logits/{{paper}}_{{dataset}}_{{job}}.log",
    benchmark:
        f"{R}/benchmarks/paper_logits/{{paper}}_{{dataset}}_{{job}}.tsv"
    wildcard_constraints:
        paper=SEAM.wildcard_pattern("paper"),
        job=SEAM.wildcard_pattern("job"),
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
    shell:
        "{params.py} paper-logits --model {input.ckpt} --data-dir {params.data:q} --device {params.device}"
        " {params.lock} --threads {threads} --out {output} > {log} 2>&1"


rule paper_section:
    """A reproduction's REPORT.md section (verdicts beside the paper's values), its table and figures."""
    input:
        lambda w: SEAM.metrics(w.paper),
    output:
        md=f"{R}/{{paper}}/section.md",
        table=f"{R}/{{paper}}/table.csv",
        figures=directory(f"{R}/{{paper}}/figures"),
    log:
        f"{R}/logs/paper_section/{{paper}}.log",
    wildcard_constraints:
        paper=SEAM.wildcard_pattern("paper"),
    params:
        config=lambda w: json.dumps(config, sort_keys=True, default=str),
        py=python_command,
        results=lambda w, output: os.path.dirname(os.path.dirname(output.md)),  # results/<run_name>
    shell:
        "{params.py} paper-section --paper {wildcards.paper} --config {params.config:q}"
        " --results-dir {params.results} --out {output.md} --table {output.table} --figures {output.figures}"
        " > {log} 2>&1"


# `snakemake hinton2015` (or any enabled reproduction's name): that reproduction's outputs alone.
for _paper in SEAM.names:

    rule:
        name:
            _paper
        input:
            SEAM.targets(_paper),


# Without papernot2016 (`--config reproductions=[hinton2015]`), REPORT.md holds provenance and the sections only.
if not SEAM.papernot_enabled:

    localrules:
        report_seam_only,

    ruleorder: report_seam_only > report

    rule report_seam_only:
        input:
            sections=SEAM.section_files(),
        output:
            report=PLAN.report,
        log:
            f"{R}/logs/report.log",
        params:
            config=lambda w: json.dumps(config, sort_keys=True, default=str),
            configfiles=" ".join(str(p) for p in workflow.configfiles),
            py=python_command,
            results=R,
        shell:
            "{params.py} seam-report --config {params.config:q} --config-files {params.configfiles}"
            " --results-dir {params.results} --out {output.report} --sections {input.sections} > {log} 2>&1"
