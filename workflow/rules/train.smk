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
    priority: STAGE_PRIORITY["warm_start"]
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        args=lambda w: PLAN.train_args(w.dataset, "warm_start", "1"),
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
        fast=fast_path_option,
    shell:
        TRAIN_SHELL


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
    priority: STAGE_PRIORITY["teacher"]
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        args=lambda w, input: PLAN.train_args(w.dataset, "teacher", w.T, init=input.init),
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
        fast=fast_path_option,
    shell:
        TRAIN_SHELL


rule soft_labels:
    input:
        teacher=f"{W}/{{dataset}}/teacher_T{{T}}.pt",
    output:
        f"{W}/{{dataset}}/soft_labels_T{{T}}.pt",
    log:
        f"{R}/logs/soft_labels/{{dataset}}_T{{T}}.log",
    benchmark:
        f"{R}/benchmarks/soft_labels/{{dataset}}_T{{T}}.tsv"
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
        fast=fast_path_option,
    shell:
        "{params.py} soft-labels --teacher {input.teacher} --data-dir {params.data:q} --temperature {wildcards.T}"
        " {params.subset} --device {params.device} {params.lock} {params.fast} --threads {threads} --out {output}"
        " > {log} 2>&1"


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
    priority: STAGE_PRIORITY["student"]
    threads: TRAIN_RES["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=TRAIN_RES["runtime"],
    params:
        args=lambda w, input: PLAN.train_args(w.dataset, "student", w.T, init=input.init, soft_labels=input.soft),
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
        fast=fast_path_option,
    shell:
        TRAIN_SHELL


# `train_in_groups: true` (GPU profiles): each dataset's teachers train as one group in one process and write
# their soft labels, then its distilled networks train as another (src/distillbench/group_training.py; README
# "GPUs"). The same files as the rules above.
if config["execution"]["train_in_groups"]:

    ruleorder: train_teachers_group > train_teacher
    ruleorder: train_teachers_group > soft_labels
    ruleorder: train_students_group > train_student

    rule train_teachers_group:
        input:
            data=f"{R}/data/{{dataset}}.json",
            init=lambda w: PLAN.warm_start(w.dataset),
        output:
            ckpt=[f"{W}/{{dataset}}/teacher_T{t}.pt" for t in PLAN.teacher_temperatures()],
            metrics=[f"{R}/models/{{dataset}}/teacher_T{t}.json" for t in PLAN.teacher_temperatures()],
            soft=[f"{W}/{{dataset}}/soft_labels_T{t}.pt" for t in PLAN.temperatures],
        log:
            f"{R}/logs/train_teachers_group/{{dataset}}.log",
        benchmark:
            f"{R}/benchmarks/train_teachers_group/{{dataset}}.tsv"
        priority: STAGE_PRIORITY["teacher"]
        threads: TRAIN_RES["threads"]
        resources:
            gpu=1,
            mem_mb=TRAIN_RES["mem_mb"],
            runtime=TRAIN_RES["runtime"],
        params:
            args=lambda w, input: PLAN.group_train_args(
                w.dataset, "teacher", PLAN.teacher_temperatures(), init=input.init
            ),
            py=python_command,
            data=data_dir,
            device=config["device"],
            lock=gpu_lock_option,
            fast=fast_path_option,
            soft_at=" ".join(PLAN.temperatures),
        shell:
            GROUP_TEACHERS_SHELL

    rule train_students_group:
        input:
            data=f"{R}/data/{{dataset}}.json",
            soft=[f"{W}/{{dataset}}/soft_labels_T{t}.pt" for t in PLAN.temperatures],
            init=lambda w: PLAN.warm_start(w.dataset),
        output:
            ckpt=[f"{W}/{{dataset}}/distilled_T{t}.pt" for t in PLAN.temperatures],
            metrics=[f"{R}/models/{{dataset}}/distilled_T{t}.json" for t in PLAN.temperatures],
        log:
            f"{R}/logs/train_students_group/{{dataset}}.log",
        benchmark:
            f"{R}/benchmarks/train_students_group/{{dataset}}.tsv"
        priority: STAGE_PRIORITY["student"]
        threads: TRAIN_RES["threads"]
        resources:
            gpu=1,
            mem_mb=TRAIN_RES["mem_mb"],
            runtime=TRAIN_RES["runtime"],
        params:
            args=lambda w, input: PLAN.group_train_args(
                w.dataset, "student", PLAN.temperatures, init=input.init, soft_labels=input.soft
            ),
            py=python_command,
            data=data_dir,
            device=config["device"],
            lock=gpu_lock_option,
            fast=fast_path_option,
        shell:
            GROUP_TRAIN_SHELL
