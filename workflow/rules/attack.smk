# Attacks: JSMA on every deployed model of a seed (the baseline and one distilled network per temperature), once
# per numerics the config names (`attack.numerics` for the Fig. 7 table, `attack.compare_numerics` beside it;
# a further seed's replicas: the main numerics only, PLAN.seed_attack_summaries).
ATTACK_RESOURCES = dict(gpu=1, mem_mb=ATTACK_RES["mem_mb"], runtime=ATTACK_RES["runtime"])


rule attack:
    input:
        model=lambda w: PLAN.checkpoint(w.dataset, w.model, w.seed),
    output:
        table=PLAN.attack_file("{dataset}", "{numerics}", "{model}", "{seed}", ext="csv"),
        summary=PLAN.attack_file("{dataset}", "{numerics}", "{model}", "{seed}"),
    log:
        PLAN.log("attack", "{dataset}_{numerics}_{model}_seed{seed}"),
    benchmark:
        PLAN.benchmark("attack", "{dataset}_{numerics}_{model}_seed{seed}")
    priority: STAGE_PRIORITY["attack"]
    threads: ATTACK_RES["threads"]
    resources:
        **ATTACK_RESOURCES,
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


rule gradients:
    """Input-gradient statistics of a deployed model on its attack targets (float32 and float64, on the CPU)."""
    input:
        model=lambda w: PLAN.checkpoint(w.dataset, w.model, w.seed),
    output:
        PLAN.gradient_file("{dataset}", "{model}", "{seed}"),
    log:
        PLAN.log("gradients", "{dataset}_{model}_seed{seed}"),
    threads: 1
    params:
        samples=lambda w: int(config["datasets"][w.dataset]["attack"]["samples"]),
        targets=lambda w: int(config["datasets"][w.dataset]["attack"]["targets_per_sample"]),
        py=python_command,
        data=data_dir,
    shell:
        "{params.py} gradients --model {input.model} --data-dir {params.data:q} --samples {params.samples}"
        " --targets-per-sample {params.targets} --threads {threads} --out {output} > {log} 2>&1"
