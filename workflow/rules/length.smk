# Training-length study (config `length_study`): the undistilled baseline trained once per seed from a cold start,
# with a snapshot after each listed epoch; each snapshot attacked (main numerics, `length_study.samples` samples)
# and its logit gap measured. Defined only when the config has a study.
LENGTH = PLAN.length_study()

if LENGTH:

    wildcard_constraints:
        epoch="[0-9]+",

    rule length_train:
        """One job per seed: max(epochs) epochs, a snapshot after each listed epoch."""
        input:
            data=f"{R}/data/{{dataset}}.json",
        output:
            snapshots=[f"{W}/{{dataset}}/length/seed{{seed}}/epoch{e}.pt" for e in LENGTH["epochs"]],
            metrics=f"{R}/length/{{dataset}}/seed{{seed}}/train.json",
        log:
            f"{R}/logs/length/train_{{dataset}}_seed{{seed}}.log",
        benchmark:
            f"{R}/benchmarks/length_train/{{dataset}}_seed{{seed}}.tsv"
        threads: TRAIN_RES["threads"]
        resources:
            gpu=1,
            mem_mb=TRAIN_RES["mem_mb"],
            runtime=TRAIN_RES["runtime"],
        params:
            training=lambda w: PLAN.training_json(w.dataset),
            epochs=" ".join(str(e) for e in LENGTH["epochs"]),
            subset=lambda w: PLAN.subset_args(w.dataset),
            py=python_command,
            data=data_dir,
            device=config["device"],
            lock=gpu_lock_option,
        shell:
            "{params.py} train-snapshots --dataset {wildcards.dataset} --data-dir {params.data:q}"
            " --training {params.training:q} --seed {wildcards.seed} --epochs {params.epochs}"
            " --snapshots {output.snapshots} {params.subset} --device {params.device} {params.lock}"
            " --threads {threads} --metrics {output.metrics} > {log} 2>&1"

    rule length_attack:
        input:
            model=f"{W}/{{dataset}}/length/seed{{seed}}/epoch{{epoch}}.pt",
        output:
            table=f"{R}/length/{{dataset}}/seed{{seed}}/attack_epoch{{epoch}}.csv",
            summary=f"{R}/length/{{dataset}}/seed{{seed}}/attack_epoch{{epoch}}.json",
        log:
            f"{R}/logs/length/attack_{{dataset}}_seed{{seed}}_epoch{{epoch}}.log",
        benchmark:
            f"{R}/benchmarks/length_attack/{{dataset}}_seed{{seed}}_epoch{{epoch}}.tsv"
        threads: ATTACK_RES["threads"]
        resources:
            gpu=1,
            mem_mb=ATTACK_RES["mem_mb"],
            runtime=ATTACK_RES["runtime"],
        params:
            attack=lambda w: PLAN.length_attack_json(),
            py=python_command,
            data=data_dir,
            device=config["device"],
            lock=gpu_lock_option,
        shell:
            "{params.py} attack --model {input.model} --data-dir {params.data:q} --attack {params.attack:q}"
            " --device {params.device} {params.lock} --threads {threads}"
            " --out {output.table} --summary {output.summary} > {log} 2>&1"

    rule length_gradients:
        """The snapshot's median top-2 logit gap (and input gradients) on the study's targets."""
        input:
            model=f"{W}/{{dataset}}/length/seed{{seed}}/epoch{{epoch}}.pt",
        output:
            f"{R}/length/{{dataset}}/seed{{seed}}/gradients_epoch{{epoch}}.json",
        log:
            f"{R}/logs/length/gradients_{{dataset}}_seed{{seed}}_epoch{{epoch}}.log",
        threads: 1
        params:
            samples=int(LENGTH["samples"]),
            targets=lambda w: int(config["datasets"][w.dataset]["attack"]["targets_per_sample"]),
            py=python_command,
            data=data_dir,
        shell:
            "{params.py} gradients --model {input.model} --data-dir {params.data:q} --samples {params.samples}"
            " --targets-per-sample {params.targets} --threads {threads} --out {output} > {log} 2>&1"

