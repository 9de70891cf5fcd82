# Recipe-sensitivity study (config `recipe_study`; src/distillbench/papers/papernot2016/recipe_study.py): per
# studied dataset, the baseline (T=1 teacher) and one distilled network retrained under the configured recipe and
# under each contested training choice changed alone, each attacked under each protocol (the first test images,
# seeded random draws) with float32 and exact numerics. `snakemake recipe_study`; nothing when not enabled.
from distillbench.papers.papernot2016.recipe_study import NUMERICS as RECIPE_NUMERICS, RecipePlan, protocols

RECIPE = RecipePlan(config, R, W)
RW = RECIPE.work
RR = RECIPE.results


rule recipe_study:
    input:
        RECIPE.outputs(),


if RECIPE.datasets():

    wildcard_constraints:
        variant="|".join(RECIPE.variant_names()),
        protocol="|".join(protocols(config)),
        rmodel="baseline|distilled",

    rule recipe_train_teacher:
        input:
            data=f"{R}/data/{{dataset}}.json",
        output:
            ckpt=f"{RW}/{{dataset}}/{{variant}}/teacher_T{{T}}.pt",
            metrics=f"{RR}/{{dataset}}/{{variant}}/models/teacher_T{{T}}.json",
        log:
            f"{R}/logs/recipe/train_teacher_{{dataset}}_{{variant}}_T{{T}}.log",
        benchmark:
            f"{R}/benchmarks/recipe/train_teacher_{{dataset}}_{{variant}}_T{{T}}.tsv"
        threads: TRAIN_RES["threads"]
        resources:
            gpu=1,
            mem_mb=TRAIN_RES["mem_mb"],
            runtime=TRAIN_RES["runtime"],
        params:
            args=lambda w: RECIPE.train_args(w.dataset, w.variant, "teacher", w.T),
            py=python_command,
            data=data_dir,
            device=config["device"],
            lock=gpu_lock_option,
            fast=fast_path_option,
        shell:
            TRAIN_SHELL

    rule recipe_soft_labels:
        input:
            teacher=f"{RW}/{{dataset}}/{{variant}}/teacher_T{{T}}.pt",
        output:
            f"{RW}/{{dataset}}/{{variant}}/soft_labels_T{{T}}.pt",
        log:
            f"{R}/logs/recipe/soft_labels_{{dataset}}_{{variant}}_T{{T}}.log",
        benchmark:
            f"{R}/benchmarks/recipe/soft_labels_{{dataset}}_{{variant}}_T{{T}}.tsv"
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

    rule recipe_train_student:
        input:
            data=f"{R}/data/{{dataset}}.json",
            soft=f"{RW}/{{dataset}}/{{variant}}/soft_labels_T{{T}}.pt",
        output:
            ckpt=f"{RW}/{{dataset}}/{{variant}}/distilled_T{{T}}.pt",
            metrics=f"{RR}/{{dataset}}/{{variant}}/models/distilled_T{{T}}.json",
        log:
            f"{R}/logs/recipe/train_student_{{dataset}}_{{variant}}_T{{T}}.log",
        benchmark:
            f"{R}/benchmarks/recipe/train_student_{{dataset}}_{{variant}}_T{{T}}.tsv"
        threads: TRAIN_RES["threads"]
        resources:
            gpu=1,
            mem_mb=TRAIN_RES["mem_mb"],
            runtime=TRAIN_RES["runtime"],
        params:
            args=lambda w, input: RECIPE.train_args(w.dataset, w.variant, "student", w.T, soft_labels=input.soft),
            py=python_command,
            data=data_dir,
            device=config["device"],
            lock=gpu_lock_option,
            fast=fast_path_option,
        shell:
            TRAIN_SHELL

    rule recipe_attack:
        input:
            model=lambda w: RECIPE.checkpoint(w.dataset, w.variant, w.rmodel),
        output:
            table=f"{RR}/{{dataset}}/{{variant}}/attacks/{{numerics}}/{{protocol}}/{{rmodel}}.csv",
            summary=f"{RR}/{{dataset}}/{{variant}}/attacks/{{numerics}}/{{protocol}}/{{rmodel}}.json",
        log:
            f"{R}/logs/recipe/attack_{{dataset}}_{{variant}}_{{numerics}}_{{protocol}}_{{rmodel}}.log",
        benchmark:
            f"{R}/benchmarks/recipe/attack_{{dataset}}_{{variant}}_{{numerics}}_{{protocol}}_{{rmodel}}.tsv"
        threads: ATTACK_RES["threads"]
        resources:
            gpu=1,
            mem_mb=ATTACK_RES["mem_mb"],
            runtime=ATTACK_RES["runtime"],
        params:
            attack=lambda w: RECIPE.attack_json(w.dataset, w.numerics, w.protocol),
            py=python_command,
            data=data_dir,
            device=config["device"],
            lock=gpu_lock_option,
        shell:
            "{params.py} attack --model {input.model} --data-dir {params.data:q} --attack {params.attack:q}"
            " --device {params.device} {params.lock} --threads {threads}"
            " --out {output.table} --summary {output.summary} > {log} 2>&1"

    rule recipe_logits:
        """The network's logit scale on each protocol's attacked images."""
        input:
            model=lambda w: RECIPE.checkpoint(w.dataset, w.variant, w.rmodel),
        output:
            f"{RR}/{{dataset}}/{{variant}}/logits/{{rmodel}}.json",
        log:
            f"{R}/logs/recipe/logits_{{dataset}}_{{variant}}_{{rmodel}}.log",
        benchmark:
            f"{R}/benchmarks/recipe/logits_{{dataset}}_{{variant}}_{{rmodel}}.tsv"
        threads: 1
        params:
            samples=int(RECIPE.block["samples"]),
            protocols=" ".join(protocols(config)),
            py=python_command,
            data=data_dir,
        shell:
            "{params.py}.papers.papernot2016.recipe_logits --model {input.model} --data-dir {params.data:q}"
            " --samples {params.samples} --protocols {params.protocols} --threads {threads} --out {output}"
            " > {log} 2>&1"
