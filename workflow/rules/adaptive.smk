# Issue 9: adaptive attacks (registry attacks chosen per dataset in `adaptive:`) and rho_adv (`robustness:`)
# on the deployed models. Both are GPU jobs like `attack`; both resume from finished batches.


rule adaptive_attack:
    """One registry attack (src/distillbench/attacks/registry.py) on one deployed model, same targets as Fig. 7."""
    input:
        model=lambda w: PLAN.checkpoint(w.dataset, w.model),
    output:
        table=f"{R}/adaptive/{{dataset}}/{{attack}}/{{model}}.csv",
        summary=f"{R}/adaptive/{{dataset}}/{{attack}}/{{model}}.json",
    log:
        f"{R}/logs/adaptive_attack/{{dataset}}_{{attack}}_{{model}}.log",
    benchmark:
        f"{R}/benchmarks/adaptive_attack/{{dataset}}_{{attack}}_{{model}}.tsv"
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
        model=lambda w: PLAN.checkpoint(w.dataset, w.model),
    output:
        table=f"{R}/robustness/{{dataset}}/{{model}}.csv",
        summary=f"{R}/robustness/{{dataset}}/{{model}}.json",
    log:
        f"{R}/logs/robustness/{{dataset}}_{{model}}.log",
    benchmark:
        f"{R}/benchmarks/robustness/{{dataset}}_{{model}}.tsv"
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
