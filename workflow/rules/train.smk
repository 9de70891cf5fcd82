# Training, once per seed of `seeds` (the whole chain of each model the seed retrains): teachers at T on hard
# labels, soft labels at T, distilled networks at T on the soft labels. Paths come from PLAN (papernot2016/plan.py).
TRAIN_RESOURCES = dict(gpu=1, mem_mb=TRAIN_RES["mem_mb"], runtime=TRAIN_RES["runtime"])


rule warm_start:
    """Optional shared T=1 starting point for every network of a dataset and seed (Carlini's code uses one)."""
    input:
        data=f"{R}/data/{{dataset}}.json",
    output:
        ckpt=PLAN.work_file("{dataset}", "warm_start", "{seed}"),
        metrics=PLAN.metrics_file("{dataset}", "warm_start", "{seed}"),
    log:
        PLAN.log("warm_start", "{dataset}_seed{seed}"),
    benchmark:
        PLAN.benchmark("warm_start", "{dataset}_seed{seed}")
    priority: STAGE_PRIORITY["warm_start"]
    threads: TRAIN_RES["threads"]
    resources:
        **TRAIN_RESOURCES,
    params:
        args=lambda w: PLAN.train_args(w.dataset, "warm_start", "1", seed=w.seed),
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
        init=lambda w: PLAN.warm_start(w.dataset, w.seed),
    output:
        ckpt=PLAN.work_file("{dataset}", "teacher_T{T}", "{seed}"),
        metrics=PLAN.metrics_file("{dataset}", "teacher_T{T}", "{seed}"),
    log:
        PLAN.log("train_teacher", "{dataset}_T{T}_seed{seed}"),
    benchmark:
        PLAN.benchmark("train_teacher", "{dataset}_T{T}_seed{seed}")
    priority: STAGE_PRIORITY["teacher"]
    threads: TRAIN_RES["threads"]
    resources:
        **TRAIN_RESOURCES,
    params:
        args=lambda w, input: PLAN.train_args(w.dataset, "teacher", w.T, init=input.init, seed=w.seed),
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
        fast=fast_path_option,
    shell:
        TRAIN_SHELL


rule soft_labels:
    input:
        teacher=PLAN.work_file("{dataset}", "teacher_T{T}", "{seed}"),
    output:
        PLAN.soft_labels("{dataset}", "{T}", "{seed}"),
    log:
        PLAN.log("soft_labels", "{dataset}_T{T}_seed{seed}"),
    benchmark:
        PLAN.benchmark("soft_labels", "{dataset}_T{T}_seed{seed}")
    priority: STAGE_PRIORITY["soft_labels"]
    threads: TRAIN_RES["threads"]
    resources:
        **TRAIN_RESOURCES,
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
        soft=PLAN.soft_labels("{dataset}", "{T}", "{seed}"),
        init=lambda w: PLAN.warm_start(w.dataset, w.seed),
    output:
        ckpt=PLAN.work_file("{dataset}", "distilled_T{T}", "{seed}"),
        metrics=PLAN.metrics_file("{dataset}", "distilled_T{T}", "{seed}"),
    log:
        PLAN.log("train_student", "{dataset}_T{T}_seed{seed}"),
    benchmark:
        PLAN.benchmark("train_student", "{dataset}_T{T}_seed{seed}")
    priority: STAGE_PRIORITY["student"]
    threads: TRAIN_RES["threads"]
    resources:
        **TRAIN_RESOURCES,
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


# `train_in_groups: true` (GPU profiles): a seed's teachers of a dataset train as one group in one process and
# write their soft labels, then its distilled networks train as another (src/distillbench/group_training.py;
# docs/gpus-and-slurm.md); the same files as the rules above. PLAN.training_groups says which datasets and seeds group.
for _i, (_datasets, _seeds) in enumerate(PLAN.training_groups() if config["execution"]["train_in_groups"] else []):
    _suffix = f"_{_i + 1}" if _i else ""

    rule:
        name:
            f"train_teachers_group{_suffix}"
        wildcard_constraints:
            dataset=_datasets,
            seed=_seeds,
        input:
            data=f"{R}/data/{{dataset}}.json",
            init=lambda w: PLAN.warm_start(w.dataset, w.seed),
        output:
            ckpt=[PLAN.work_file("{dataset}", f"teacher_T{t}", "{seed}") for t in PLAN.teacher_temperatures()],
            metrics=[PLAN.metrics_file("{dataset}", f"teacher_T{t}", "{seed}") for t in PLAN.teacher_temperatures()],
            soft=[PLAN.soft_labels("{dataset}", t, "{seed}") for t in PLAN.temperatures],
        log:
            PLAN.log("train_teachers_group", "{dataset}_seed{seed}"),
        benchmark:
            PLAN.benchmark("train_teachers_group", "{dataset}_seed{seed}")
        priority: STAGE_PRIORITY["teacher"]
        threads: TRAIN_RES["threads"]
        resources:
            **TRAIN_RESOURCES,
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

    rule:
        name:
            f"train_students_group{_suffix}"
        wildcard_constraints:
            dataset=_datasets,
            seed=_seeds,
        input:
            data=f"{R}/data/{{dataset}}.json",
            soft=[PLAN.soft_labels("{dataset}", t, "{seed}") for t in PLAN.temperatures],
            init=lambda w: PLAN.warm_start(w.dataset, w.seed),
        output:
            ckpt=[PLAN.work_file("{dataset}", f"distilled_T{t}", "{seed}") for t in PLAN.temperatures],
            metrics=[PLAN.metrics_file("{dataset}", f"distilled_T{t}", "{seed}") for t in PLAN.temperatures],
        log:
            PLAN.log("train_students_group", "{dataset}_seed{seed}"),
        benchmark:
            PLAN.benchmark("train_students_group", "{dataset}_seed{seed}")
        priority: STAGE_PRIORITY["student"]
        threads: TRAIN_RES["threads"]
        resources:
            **TRAIN_RESOURCES,
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

    # What `ruleorder: train_teachers_group > train_teacher` says, for a rule whose name is computed.
    workflow.ruleorder(f"train_teachers_group{_suffix}", "train_teacher")
    workflow.ruleorder(f"train_teachers_group{_suffix}", "soft_labels")
    workflow.ruleorder(f"train_students_group{_suffix}", "train_student")
