"""Papernot 2016's paths and job lists, derived from a validated config (used by the Snakefile and its rules).

The models come from :mod:`.models` (ModelId); a model's files are named by its ``stem`` (its training job).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

from ...settings import epochs_for, format_temperature
from . import models as papernot_models


class Plan:
    """Where every output lives; the models are :mod:`.models`' (``baseline``, ``distilled_T<T>``, ...)."""

    def __init__(self, config: Mapping[str, Any], results: Any = None) -> None:
        """``results``: the run's results directory when it is not ``results/<run_name>`` (a report rebuilt
        from a copied run)."""
        self.config = config
        self.results = str(results) if results is not None else f"results/{config['run_name']}"
        self.report = f"{self.results}/REPORT.md"  # never a committed file: see README, "Reports"
        self.work = str(config.get("work_dir", "work"))
        self.datasets = list(config["datasets"])
        self.temperatures = [format_temperature(t) for t in config["temperatures"]]

    # --- models -----------------------------------------------------------------------------
    def deployed_models(self, dataset: str | None = None) -> list[str]:
        """The deployed models' names (the same for every dataset)."""
        return [m.name for m in papernot_models.deployed(self.config, dataset or "")]

    def model(self, dataset: str, model: str, seed: Any = None) -> papernot_models.ModelId:
        return papernot_models.by_name(self.config, dataset, model, seed)

    def model_wildcard(self) -> str:
        """The ``model`` wildcard's constraint: exactly the deployed models' names."""
        return "|".join(re.escape(n) for n in self.deployed_models())

    # --- paths: the one place they are formed; every training and attack path names its seed -------------
    # Arguments may be Snakemake wildcards ("{dataset}", "{seed}"): the rules take their patterns from here.
    def first_seed(self) -> int:
        from ...seeds import all_seeds

        return all_seeds(self.config)[0]

    def _seed(self, seed: Any) -> Any:
        return self.first_seed() if seed is None else seed

    def work_file(self, dataset: str, stem: str, seed: Any = None) -> str:
        """A checkpoint or soft-label file of one seed's chain."""
        return f"{self.work}/{dataset}/seed{self._seed(seed)}/{stem}.pt"

    def checkpoint(self, dataset: str, model: str, seed: Any = None) -> str:
        return self.work_file(dataset, self.model(dataset, model, seed).stem, seed)

    def soft_labels(self, dataset: str, temperature: str, seed: Any = None) -> str:
        return self.work_file(dataset, f"soft_labels_T{temperature}", seed)

    def metrics_dir(self, dataset: str, seed: Any = None) -> str:
        """Where a seed's training jobs write their metrics."""
        return f"{self.results}/models/{dataset}/seed{self._seed(seed)}"

    def metrics_file(self, dataset: str, stem: str, seed: Any = None) -> str:
        """A training job's metrics (``stem``: its file name, e.g. ``teacher_T1``)."""
        return f"{self.metrics_dir(dataset, seed)}/{stem}.json"

    def attack_file(self, dataset: str, numerics: str, model: str, seed: Any = None, ext: str = "json") -> str:
        """A JSMA run on a deployed model: its summary (``json``) or its per-target table (``csv``)."""
        return f"{self.results}/attacks/{dataset}/{numerics}/seed{self._seed(seed)}/{model}.{ext}"

    def gradient_file(self, dataset: str, model: str, seed: Any = None) -> str:
        return f"{self.results}/gradients/{dataset}/seed{self._seed(seed)}/{model}.json"

    def adaptive_file(self, dataset: str, attack: str, model: str, seed: Any = None, ext: str = "json") -> str:
        return f"{self.results}/adaptive/{dataset}/{attack}/seed{self._seed(seed)}/{model}.{ext}"

    def robustness_file(self, dataset: str, model: str, seed: Any = None, ext: str = "json") -> str:
        return f"{self.results}/robustness/{dataset}/seed{self._seed(seed)}/{model}.{ext}"

    def log(self, rule: str, job: str) -> str:
        return f"{self.results}/logs/{rule}/{job}.log"

    def benchmark(self, rule: str, job: str) -> str:
        return f"{self.results}/benchmarks/{rule}/{job}.tsv"

    def warm_start_epochs(self, dataset: str) -> int:
        return int(self.config["datasets"][dataset]["training"].get("warm_start_epochs", 0))

    def warm_start(self, dataset: str, seed: Any = None) -> list[str]:
        """The seed's shared T=1 starting checkpoint, when the config asks for one."""
        return [self.work_file(dataset, "warm_start", seed)] if self.warm_start_epochs(dataset) else []

    def epochs(self, dataset: str, temperature: str) -> int:
        return epochs_for(self.config["datasets"][dataset]["training"], float(temperature))

    def training_json(self, dataset: str) -> str:
        return json.dumps(self.config["datasets"][dataset]["training"], sort_keys=True)

    def numerics(self, dataset: str) -> list[str]:
        """The attack numerics this dataset runs: the one the Fig. 7 table uses first, then the others."""
        at = self.config["datasets"][dataset]["attack"]
        main = str(at.get("numerics", "exact"))
        names = [main] + [n for n in at.get("compare_numerics", []) if n != main]
        return names + self.spread_numerics(dataset)

    def spread_numerics(self, dataset: str) -> list[str]:
        """The float32 attack again under each further arithmetic order (``attack.spread_orders``), named
        ``float32_<order>``: where float32 runs, these measure how far its decisions move with rounding alone."""
        at = self.config["datasets"][dataset]["attack"]
        if "float32" not in [at.get("numerics", "exact"), *at.get("compare_numerics", [])]:
            return []
        return [f"float32_{order}" for order in at.get("spread_orders", [])]

    def attack_json(self, dataset: str, numerics: str | None = None) -> str:
        at = dict(self.config["datasets"][dataset]["attack"])
        at.pop("compare_numerics", None)
        at.pop("spread_orders", None)
        if numerics is not None and numerics.startswith("float32_"):
            numerics, at["arithmetic_order"] = "float32", numerics.removeprefix("float32_")
        if numerics is not None:
            at["numerics"] = numerics
        return json.dumps(at, sort_keys=True)

    def train_subset_args(self, dataset: str) -> str:
        ds = self.config["datasets"][dataset]
        return f"--train-subset {int(ds['train_subset'])}" if ds.get("train_subset") else ""

    def subset_args(self, dataset: str) -> str:
        ds = self.config["datasets"][dataset]
        out = [self.train_subset_args(dataset)]
        if ds.get("test_subset"):
            out.append(f"--test-subset {int(ds['test_subset'])}")
        return " ".join(a for a in out if a)

    def _job_args(self, dataset: str, head: str, init: Any, soft_labels: list[Any], seed: Any) -> str:
        """What ``train`` and ``train-group`` share after ``head`` (role, dataset, temperature(s), epochs):
        the seed, the training block, the subsets, the soft labels and the starting checkpoint, shell-quoted."""
        args = [
            head,
            f"--seed {int(self.config['seed'] if seed is None else seed)} "
            f"--training {shlex.quote(self.training_json(dataset))}",
            self.subset_args(dataset),
        ]
        if soft_labels:
            args.append("--soft-labels " + " ".join(shlex.quote(str(p)) for p in soft_labels))
        if init:
            args.append(f"--init-from {shlex.quote(str(init))}")
        return " ".join(a for a in args if a)

    def train_args(
        self, dataset: str, role: str, temperature: str, init: Any = "", soft_labels: Any = "", seed: Any = None
    ) -> str:
        """The arguments of ``distillbench train`` that differ between the warm start, teachers and
        students, shell-quoted. ``init`` and ``soft_labels`` are checkpoint paths (a Snakemake input
        entry: one path, or empty when not used); ``seed``: another seed than the config's ``seed``."""
        epochs = self.warm_start_epochs(dataset) if role == "warm_start" else self.epochs(dataset, temperature)
        head = f"--role {role} --dataset {dataset} --temperature {temperature} --epochs {epochs}"
        return self._job_args(dataset, head, init, [soft_labels] if soft_labels else [], seed)

    def teacher_temperatures(self) -> list[str]:
        """The teachers' temperatures: T=1 (the baseline) and every temperature of the config."""
        return list(dict.fromkeys([format_temperature(1.0), *self.temperatures]))

    def group_train_args(
        self,
        dataset: str,
        role: str,
        temperatures: list[str],
        init: Any = "",
        soft_labels: Any = (),
        seed: Any = None,
    ) -> str:
        """The arguments of ``distillbench train-group`` (config ``train_in_groups``): one network per
        temperature, all for the dataset's epochs (the config check refuses per-temperature epochs);
        ``soft_labels``: one path per temperature; ``seed``: another seed than the config's ``seed``."""
        epochs = self.epochs(dataset, temperatures[0])
        head = f"--role {role} --dataset {dataset} --temperatures {' '.join(temperatures)} --epochs {epochs}"
        return self._job_args(dataset, head, init, list(soft_labels), seed)

    # --- targets ----------------------------------------------------------------------------
    def attack_summaries(self) -> list[str]:
        """The first seed's attacks: every deployed model under every numerics."""
        return [
            self.attack_file(d, n, m) for d in self.datasets for n in self.numerics(d) for m in self.deployed_models()
        ]

    def model_metrics(self) -> list[str]:
        return sorted(
            self.metrics_file(d, m.stem) for d in self.datasets for m in papernot_models.trained(self.config, d)
        )

    def gradient_summaries(self) -> list[str]:
        return [self.gradient_file(d, m) for d in self.datasets for m in self.deployed_models()]

    def data_manifests(self) -> list[str]:
        return [f"{self.results}/data/{d}.json" for d in self.datasets]

    # --- seeds (src/distillbench/seeds.py) ----------------------------------------------------------------
    def extra_seeds(self) -> list[int]:
        from ...seeds import extra_seeds

        return extra_seeds(self.config)

    def seed_models(self, dataset: str) -> list[str]:
        from ...seeds import seed_models

        return seed_models(self.config, dataset)

    def training_groups(self) -> list[tuple[str, str]]:
        """With ``train_in_groups``: (dataset pattern, seed pattern) pairs whose teachers (then distilled networks)
        train as one group per process: every seed that retrains all deployed models of a dataset (the first
        seed always; a further one where ``seed_models: all``; a subset keeps one job per network). Datasets
        grouped under the same seeds share a pair."""
        by_seeds: dict[tuple[int, ...], list[str]] = {}
        for d in self.datasets:
            replicated = self.seed_models(d) == self.deployed_models(d)
            seeds = (self.first_seed(), *(self.extra_seeds() if replicated else []))
            by_seeds.setdefault(seeds, []).append(d)
        return [("|".join(ds), "|".join(str(s) for s in seeds)) for seeds, ds in by_seeds.items()]

    def seed_attack_summaries(self) -> list[str]:
        """Every further seed's replicas, attacked with the dataset's main numerics only."""
        return [
            self.attack_file(d, self.numerics(d)[0], m, s)
            for s in self.extra_seeds()
            for d in self.datasets
            for m in self.seed_models(d)
        ]

    # --- training-length study (src/distillbench/length_study.py; workflow/rules/length.smk) ---------------
    def length_study(self) -> dict[str, Any] | None:
        from ...length_study import study

        return study(self.config)

    def length_attack_json(self) -> str:
        from ...length_study import attack_json

        return attack_json(self.config)

    def length_snapshot(self, dataset: str, seed: Any, epoch: Any) -> str:
        return f"{self.work}/{dataset}/length/seed{seed}/epoch{epoch}.pt"

    def length_snapshots(self, dataset: str, seed: Any) -> list[str]:
        st = self.length_study()
        return [self.length_snapshot(dataset, seed, e) for e in (st["epochs"] if st else [])]

    def length_outputs(self) -> list[str]:
        """What the report reads of the study: per seed and snapshot the attack summary and the gradients."""
        st = self.length_study()
        if st is None:
            return []
        d = st["dataset"]
        out = []
        for s in st["seeds"]:
            for e in st["epochs"]:
                out.append(f"{self.results}/length/{d}/seed{s}/attack_epoch{e}.json")
                out.append(f"{self.results}/length/{d}/seed{s}/gradients_epoch{e}.json")
        return out

    # --- adaptive attacks and robustness ---------------------------------------------------
    def adaptive_attacks(self, dataset: str) -> list[str]:
        """The registry attacks the dataset's ``adaptive`` block names (none without the block)."""
        ad = self.config["datasets"][dataset].get("adaptive")
        return list(ad["attacks"]) if ad else []

    def adaptive_models(self, dataset: str, attack: str) -> list[str]:
        from ...config_adaptive import resolve_models

        settings = self.config["datasets"][dataset]["adaptive"]["attacks"][attack]
        return resolve_models(settings.get("models", "all"), list(self.config["temperatures"]))

    def adaptive_json(self, dataset: str, attack: str) -> str:
        """The adaptive block with only this attack's settings (another attack's change reruns nothing here)."""
        ad = dict(self.config["datasets"][dataset]["adaptive"])
        ad["attacks"] = {attack: ad["attacks"][attack]}
        return json.dumps(ad, sort_keys=True)

    def adaptive_summaries(self) -> list[str]:
        return [
            self.adaptive_file(d, a, m)
            for d in self.datasets
            for a in self.adaptive_attacks(d)
            for m in self.adaptive_models(d, a)
        ]

    def robustness_json(self, dataset: str) -> str:
        return json.dumps(self.config["datasets"][dataset]["robustness"], sort_keys=True)

    def robustness_summaries(self) -> list[str]:
        return [
            self.robustness_file(d, m)
            for d in self.datasets
            if self.config["datasets"][d].get("robustness") is not None
            for m in self.deployed_models()
        ]
