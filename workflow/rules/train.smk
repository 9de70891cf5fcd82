# Training: teachers at T on hard labels, soft labels at T, distilled networks at T on the soft labels.


rule warm_start:
    """Optional shared T=1 starting point for every network of a dataset (Carlini's code uses one)."""
    input:
        data=f"{R}/data/{{dataset}}.json",
    output:
        ckpt=f"{W}/{{dataset}}/warm_start.pt",
        metrics=f"{R}/models/{{dataset}}/warm_start.json",
    log:
        f"{R}/logs/warm_start/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/warm_start/{{dataset}}.tsv"
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        training=lambda w: PLAN.training_json(w.dataset),
        epochs=lambda w: PLAN.warm_start_epochs(w.dataset),
        subsets=lambda w: PLAN.subset_args(w.dataset),
    shell:
        "{PY} train --role warm_start --dataset {wildcards.dataset} --data-dir {DATA:q} --temperature 1"
        " --epochs {params.epochs} --seed {config[seed]} --training {params.training:q} {params.subsets}"
        " --device {config[device]} {LOCK} --threads {threads}"
        " --out {output.ckpt} --metrics {output.metrics} > {log} 2>&1"


rule train_teacher:
    input:
        data=f"{R}/data/{{dataset}}.json",
        init=lambda w: PLAN.warm_start(w.dataset),
    output:
        ckpt=f"{W}/{{dataset}}/teacher_T{{T}}.pt",
        metrics=f"{R}/models/{{dataset}}/teacher_T{{T}}.json",
    log:
        f"{R}/logs/train_teacher/{{dataset}}_T{{T}}.log",
    benchmark:
        f"{R}/benchmarks/train_teacher/{{dataset}}_T{{T}}.tsv"
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        training=lambda w: PLAN.training_json(w.dataset),
        epochs=lambda w: PLAN.epochs(w.dataset, w.T),
        subsets=lambda w: PLAN.subset_args(w.dataset),
        init=lambda w, input: f"--init-from {input.init}" if input.init else "",
    shell:
        "{PY} train --role teacher --dataset {wildcards.dataset} --data-dir {DATA:q} --temperature {wildcards.T}"
        " --epochs {params.epochs} --seed {config[seed]} --training {params.training:q} {params.subsets}"
        " {params.init} --device {config[device]} {LOCK} --threads {threads}"
        " --out {output.ckpt} --metrics {output.metrics} > {log} 2>&1"


rule soft_labels:
    input:
        teacher=f"{W}/{{dataset}}/teacher_T{{T}}.pt",
    output:
        f"{W}/{{dataset}}/soft_labels_T{{T}}.pt",
    log:
        f"{R}/logs/soft_labels/{{dataset}}_T{{T}}.log",
    benchmark:
        f"{R}/benchmarks/soft_labels/{{dataset}}_T{{T}}.tsv"
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        subset=lambda w: (
            f"--train-subset {config['datasets'][w.dataset]['train_subset']}"
            if config["datasets"][w.dataset].get("train_subset")
            else ""
        ),
    shell:
        "{PY} soft-labels --teacher {input.teacher} --data-dir {DATA:q} --temperature {wildcards.T} {params.subset}"
        " --device {config[device]} {LOCK} --threads {threads} --out {output} > {log} 2>&1"


rule train_student:
    input:
        data=f"{R}/data/{{dataset}}.json",
        soft=f"{W}/{{dataset}}/soft_labels_T{{T}}.pt",
        init=lambda w: PLAN.warm_start(w.dataset),
    output:
        ckpt=f"{W}/{{dataset}}/distilled_T{{T}}.pt",
        metrics=f"{R}/models/{{dataset}}/distilled_T{{T}}.json",
    log:
        f"{R}/logs/train_student/{{dataset}}_T{{T}}.log",
    benchmark:
        f"{R}/benchmarks/train_student/{{dataset}}_T{{T}}.tsv"
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        training=lambda w: PLAN.training_json(w.dataset),
        epochs=lambda w: PLAN.epochs(w.dataset, w.T),
        subsets=lambda w: PLAN.subset_args(w.dataset),
        init=lambda w, input: f"--init-from {input.init}" if input.init else "",
    shell:
        "{PY} train --role student --dataset {wildcards.dataset} --data-dir {DATA:q} --temperature {wildcards.T}"
        " --epochs {params.epochs} --seed {config[seed]} --training {params.training:q} {params.subsets}"
        " --soft-labels {input.soft} {params.init} --device {config[device]} {LOCK} --threads {threads}"
        " --out {output.ckpt} --metrics {output.metrics} > {log} 2>&1"
