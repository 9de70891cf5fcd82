# The paper seam (src/distillbench/papers/): one generic set of rules trains every model that a reproduction
# declares as a job (ModelId + Job) and writes its teachers' logits; the report rule (report.smk) asks each
# reproduction for its REPORT.md section. A new paper needs no rule here: its module's jobs become these rules'
# wildcards. Papernot 2016's chain (warm start, teachers, soft labels, students, per seed) has its rules in
# train.smk and attack.smk, on the same training loop and checkpoint format; `snakemake <paper>` builds what one
# reproduction's section reads.


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


# `snakemake hinton2015` (or any enabled reproduction's name): what that reproduction's section reads, alone.
for _paper in SEAM.names:

    rule:
        name:
            _paper
        input:
            SEAM.targets(_paper),
