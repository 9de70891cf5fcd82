# Adaptive attacks (registry attacks chosen per dataset in `adaptive:`) and rho_adv (`robustness:`)
# on the deployed models. Both are GPU jobs like `attack`; both resume from finished batches.


rule adaptive_attack:
    """One registry attack (src/distillbench/attacks/registry.py) on one deployed model, same targets as Fig. 7."""
    input:
        model=lambda w: PLAN.checkpoint(w.dataset, w.model, w.seed),
    output:
        table=PLAN.adaptive_file("{dataset}", "{attack}", "{model}", "{seed}", ext="csv"),
        summary=PLAN.adaptive_file("{dataset}", "{attack}", "{model}", "{seed}"),
    log:
        PLAN.log("adaptive_attack", "{dataset}_{attack}_{model}_seed{seed}"),
    benchmark:
        PLAN.benchmark("adaptive_attack", "{dataset}_{attack}_{model}_seed{seed}")
    wildcard_constraints:
        attack=r"[a-z][a-z0-9_]*",
    threads: ATTACK_RES["threads"]
    resources:
        gpu=1,
        mem_mb=ATTACK_RES["mem_mb"],
        runtime=ATTACK_RES["runtime"],
    params:
        adaptive=lambda w: PLAN.adaptive_json(w.dataset, w.attack),
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
    shell:
        "{params.py} adaptive-attack --model {input.model} --model-name {wildcards.model} --data-dir {params.data:q}"
        " --attack {wildcards.attack} --adaptive {params.adaptive:q} --device {params.device} {params.lock}"
        " --threads {threads} --out {output.table} --summary {output.summary} > {log} 2>&1"


rule robustness:
    """rho_adv: JSMA-F with every input element allowed to change (unless robustness.max_features caps it)."""
    input:
        model=lambda w: PLAN.checkpoint(w.dataset, w.model, w.seed),
    output:
        table=PLAN.robustness_file("{dataset}", "{model}", "{seed}", ext="csv"),
        summary=PLAN.robustness_file("{dataset}", "{model}", "{seed}"),
    log:
        PLAN.log("robustness", "{dataset}_{model}_seed{seed}"),
    benchmark:
        PLAN.benchmark("robustness", "{dataset}_{model}_seed{seed}")
    threads: ATTACK_RES["threads"]
    resources:
        gpu=1,
        mem_mb=ATTACK_RES["mem_mb"],
        runtime=ATTACK_RES["runtime"],
    params:
        robustness=lambda w: PLAN.robustness_json(w.dataset),
        py=python_command,
        data=data_dir,
        device=config["device"],
        lock=gpu_lock_option,
    shell:
        "{params.py} robustness --model {input.model} --model-name {wildcards.model} --data-dir {params.data:q}"
        " --robustness {params.robustness:q} --device {params.device} {params.lock} --threads {threads}"
        " --out {output.table} --summary {output.summary} > {log} 2>&1"
