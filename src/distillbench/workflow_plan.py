"""Paths and job lists of the workflow, derived from a validated config (used by the Snakefile)."""

from __future__ import annotations

import json
from typing import Any, Mapping

from .config import epochs_for, format_temperature


class Plan:
    """Where every output lives. Deployed models per dataset: ``baseline`` (the T=1 teacher, trained
    exactly as ordinary training: cross-entropy of softmax(Z/1) on hard labels) and ``distilled_T<T>``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.results = f"results/{config['run_name']}"
        self.work = str(config["work_dir"])
        self.datasets = list(config["datasets"])
        self.temperatures = [format_temperature(t) for t in config["temperatures"]]

    # --- models -----------------------------------------------------------------------------
    def deployed_models(self) -> list[str]:
        return ["baseline"] + [f"distilled_T{t}" for t in self.temperatures]

    def checkpoint(self, dataset: str, model: str) -> str:
        if model == "baseline":
            return f"{self.work}/{dataset}/teacher_T1.pt"
        return f"{self.work}/{dataset}/{model}.pt"

    def warm_start_epochs(self, dataset: str) -> int:
        return int(self.config["datasets"][dataset]["training"].get("warm_start_epochs", 0))

    def warm_start(self, dataset: str) -> list[str]:
        """The shared T=1 starting checkpoint, when the config asks for one."""
        return [f"{self.work}/{dataset}/warm_start.pt"] if self.warm_start_epochs(dataset) else []

    def epochs(self, dataset: str, temperature: str) -> int:
        return epochs_for(self.config["datasets"][dataset]["training"], float(temperature))

    def training_json(self, dataset: str) -> str:
        return json.dumps(self.config["datasets"][dataset]["training"], sort_keys=True)

    def attack_json(self, dataset: str) -> str:
        return json.dumps(self.config["datasets"][dataset]["attack"], sort_keys=True)

    def subset_args(self, dataset: str) -> str:
        ds = self.config["datasets"][dataset]
        out = []
        if ds.get("train_subset"):
            out.append(f"--train-subset {int(ds['train_subset'])}")
        if ds.get("test_subset"):
            out.append(f"--test-subset {int(ds['test_subset'])}")
        return " ".join(out)

    # --- targets ----------------------------------------------------------------------------
    def attack_summaries(self) -> list[str]:
        return [f"{self.results}/attacks/{d}/{m}.json" for d in self.datasets for m in self.deployed_models()]

    def model_metrics(self) -> list[str]:
        out = []
        for d in self.datasets:
            out.append(f"{self.results}/models/{d}/teacher_T1.json")
            for t in self.temperatures:
                out.append(f"{self.results}/models/{d}/teacher_T{t}.json")
                out.append(f"{self.results}/models/{d}/distilled_T{t}.json")
        return sorted(set(out))

    def data_manifests(self) -> list[str]:
        return [f"{self.results}/data/{d}.json" for d in self.datasets]
