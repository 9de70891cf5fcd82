# Seeds: the deployed models named in `datasets.<d>.seed_models` retrained (whole chain) under every further seed of
# `seeds` and attacked with the dataset's main numerics. The first seed's jobs are the usual ones (train.smk,
# attack.smk); further seeds write under work/<run>/<dataset>/seed<s>/ and results/<run>/seeds/seed<s>/.
SW = f"{W}/{{dataset}}/seed{{seed}}"
SR = f"{R}/seeds/seed{{seed}}"


wildcard_constraints:
    seed="[0-9]+",


rule seed_warm_start:
    input:
        data=f"{R}/data/{{dataset}}.json",
    output:
        ckpt=f"{SW}/warm_start.pt",
        metrics=f"{SR}/models/{{dataset}}/warm_start.json",
    log:
        f"{R}/logs/seeds/warm_start/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/seed_warm_start/{{dataset}}_seed{{seed}}.tsv"
    priority: STAGE_PRIORITY["warm_start"]
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        args=lambda w: PLAN.train_args(w.dataset, "warm_start", "1", seed=w.seed),
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
        fast=fast_path_option,
    shell:
        TRAIN_SHELL


rule seed_train_teacher:
    input:
        data=f"{R}/data/{{dataset}}.json",
        init=lambda w: PLAN.seed_warm_start(w.dataset, w.seed),
    output:
        ckpt=f"{SW}/teacher_T{{T}}.pt",
        metrics=f"{SR}/models/{{dataset}}/teacher_T{{T}}.json",
    log:
        f"{R}/logs/seeds/train_teacher/{{dataset}}_T{{T}}_seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/seed_train_teacher/{{dataset}}_T{{T}}_seed{{seed}}.tsv"
    priority: STAGE_PRIORITY["teacher"]
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        args=lambda w, input: PLAN.train_args(w.dataset, "teacher", w.T, init=input.init, seed=w.seed),
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
        fast=fast_path_option,
    shell:
        TRAIN_SHELL


rule seed_soft_labels:
    input:
        teacher=f"{SW}/teacher_T{{T}}.pt",
    output:
        f"{SW}/soft_labels_T{{T}}.pt",
    log:
        f"{R}/logs/seeds/soft_labels/{{dataset}}_T{{T}}_seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/seed_soft_labels/{{dataset}}_T{{T}}_seed{{seed}}.tsv"
    priority: STAGE_PRIORITY["soft_labels"]
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        subset=lambda w: PLAN.train_subset_args(w.dataset),
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
    shell:
        "{params.py} soft-labels --teacher {input.teacher} --data-dir {params.data:q} --temperature {wildcards.T}"
        " {params.subset} --device {params.device} {params.lock} --threads {threads} --out {output} > {log} 2>&1"


rule seed_train_student:
    input:
        data=f"{R}/data/{{dataset}}.json",
        soft=f"{SW}/soft_labels_T{{T}}.pt",
        init=lambda w: PLAN.seed_warm_start(w.dataset, w.seed),
    output:
        ckpt=f"{SW}/distilled_T{{T}}.pt",
        metrics=f"{SR}/models/{{dataset}}/distilled_T{{T}}.json",
    log:
        f"{R}/logs/seeds/train_student/{{dataset}}_T{{T}}_seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/seed_train_student/{{dataset}}_T{{T}}_seed{{seed}}.tsv"
    priority: STAGE_PRIORITY["student"]
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        args=lambda w, input: PLAN.train_args(
            w.dataset, "student", w.T, init=input.init, soft_labels=input.soft, seed=w.seed
        ),
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
        fast=fast_path_option,
    shell:
        TRAIN_SHELL


# `train_in_groups: true`: a further seed's teachers (then its distilled networks) of a dataset whose every model is
# replicated (`seed_models: all`) train as one group, like the first seed's (train.smk); same files.
if config["execution"]["train_in_groups"] and PLAN.seed_group_datasets():

    ruleorder: seed_train_teachers_group > seed_train_teacher
    ruleorder: seed_train_teachers_group > seed_soft_labels
    ruleorder: seed_train_students_group > seed_train_student

    rule seed_train_teachers_group:
        wildcard_constraints:
            dataset="|".join(PLAN.seed_group_datasets()),
        input:
            data=f"{R}/data/{{dataset}}.json",
            init=lambda w: PLAN.seed_warm_start(w.dataset, w.seed),
        output:
            ckpt=[f"{SW}/teacher_T{t}.pt" for t in PLAN.teacher_temperatures()],
            metrics=[f"{SR}/models/{{dataset}}/teacher_T{t}.json" for t in PLAN.teacher_temperatures()],
            soft=[f"{SW}/soft_labels_T{t}.pt" for t in PLAN.temperatures],
        log:
            f"{R}/logs/seeds/train_teachers_group/{{dataset}}_seed{{seed}}.log",
        benchmark:
            f"{R}/benchmarks/seed_train_teachers_group/{{dataset}}_seed{{seed}}.tsv"
        priority: STAGE_PRIORITY["teacher"]
        threads: TRAIN_RES["threads"]
        resources:
            gpu=1,
            mem_mb=TRAIN_RES["mem_mb"],
            runtime=TRAIN_RES["runtime"],
        params:
            args=lambda w, input: PLAN.group_train_args(
                w.dataset, "teacher", PLAN.teacher_temperatures(), init=input.init, seed=w.seed
            ),
            py=python_command,
            data=data_dir,
            device=config["device"],
            lock=gpu_lock_option,
            fast=fast_path_option,
            soft_at=" ".join(PLAN.temperatures),
        shell:
            GROUP_TEACHERS_SHELL

    rule seed_train_students_group:
        wildcard_constraints:
            dataset="|".join(PLAN.seed_group_datasets()),
        input:
            data=f"{R}/data/{{dataset}}.json",
            soft=[f"{SW}/soft_labels_T{t}.pt" for t in PLAN.temperatures],
            init=lambda w: PLAN.seed_warm_start(w.dataset, w.seed),
        output:
            ckpt=[f"{SW}/distilled_T{t}.pt" for t in PLAN.temperatures],
            metrics=[f"{SR}/models/{{dataset}}/distilled_T{t}.json" for t in PLAN.temperatures],
        log:
            f"{R}/logs/seeds/train_students_group/{{dataset}}_seed{{seed}}.log",
        benchmark:
            f"{R}/benchmarks/seed_train_students_group/{{dataset}}_seed{{seed}}.tsv"
        priority: STAGE_PRIORITY["student"]
        threads: TRAIN_RES["threads"]
        resources:
            gpu=1,
            mem_mb=TRAIN_RES["mem_mb"],
            runtime=TRAIN_RES["runtime"],
        params:
            args=lambda w, input: PLAN.group_train_args(
                w.dataset, "student", PLAN.temperatures, init=input.init, soft_labels=input.soft, seed=w.seed
            ),
            py=python_command,
            data=data_dir,
            device=config["device"],
            lock=gpu_lock_option,
            fast=fast_path_option,
        shell:
            GROUP_TRAIN_SHELL


rule seed_attack:
    input:
        model=lambda w: PLAN.seed_checkpoint(w.dataset, w.model, w.seed),
    output:
        table=f"{SR}/attacks/{{dataset}}/{{numerics}}/{{model}}.csv",
        summary=f"{SR}/attacks/{{dataset}}/{{numerics}}/{{model}}.json",
    log:
        f"{R}/logs/seeds/attack/{{dataset}}_{{numerics}}_{{model}}_seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/seed_attack/{{dataset}}_{{numerics}}_{{model}}_seed{{seed}}.tsv"
    threads: ATTACK_RES["threads"]
    resources:
        gpu=1,
        mem_mb=ATTACK_RES["mem_mb"],
        runtime=ATTACK_RES["runtime"],
    params:
        attack=lambda w: PLAN.attack_json(w.dataset, w.numerics),
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
    shell:
        "{params.py} attack --model {input.model} --data-dir {params.data:q} --attack {params.attack:q}"
        " --device {params.device} {params.lock} --threads {threads}"
        " --out {output.table} --summary {output.summary} > {log} 2>&1"
