"""What moves the Fig. 7 cells: the recipe-sensitivity study's plan (variants, jobs, paths, per-job settings).

The study retrains, per studied dataset, the baseline (the T=1 teacher) and one distilled network (at
``recipe_study.temperature``) under the configured recipe and under each contested training choice changed
**one at a time**, and attacks every network under each protocol choice (the first ``samples`` test images,
and one seeded random draw of as many test images per ``protocol_draws`` seed), with each numerics of
:data:`NUMERICS`. The main Fig. 7 models are never touched: every file lives under ``recipe/``.

Contested training choices (the paper does not state them, or public reproductions differ):

* ``input_range``: images in [0, 1] vs [-0.5, 0.5] (the other of the configured one);
* ``optimiser``: the configured SGD vs Carlini's reproduction (SGD lr 0.01, momentum 0.9, Nesterov);
* ``dropout_layers``: dropout after both FC hidden layers vs after the first only (the other one);
* ``init``: Glorot-uniform vs PyTorch's default (the other one);
* ``epochs``: the study's training length vs twice that;
* ``lr_decay``: the configured learning-rate decay vs none (only for a dataset whose recipe has one: CIFAR-10).

Every network trains from a cold start (no shared warm start), ``epochs_scale`` x the profile's epochs.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...settings import format_temperature

# The two attack numerics the study runs, by the names the attack block takes today; one line to rename.
FLOAT32 = "float32"
EXACT = "exact"
NUMERICS = (FLOAT32, EXACT)
REFERENCE = "configured"
FIRST = "first"
# Carlini & Wagner's public reproduction of defensive distillation (their training code's optimiser).
CARLINI_OPTIMISER = {"lr": 0.01, "momentum": 0.9, "nesterov": True}
ALL_VARIANTS = ("input_range", "optimiser", "dropout_layers", "init", "epochs", "lr_decay")
OTHER = {
    "input_range": {"unit": "centered", "centered": "unit"},
    "dropout_layers": {"both_fc": "first_fc", "first_fc": "both_fc"},
    "init": {"glorot_uniform": "pytorch_default", "pytorch_default": "glorot_uniform"},
}
DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "datasets": ["mnist"],
    "temperature": 5,
    "variants": list(ALL_VARIANTS),
    "protocol_draws": [1, 2],
    "epochs_scale": 1.0,
    "samples": 100,
}


@dataclass(frozen=True)
class Variant:
    """One recipe: the configured one (``name == "configured"``) or one choice changed."""

    name: str
    choice: str  # what it changes, in words
    training: dict[str, Any]  # the full training block the jobs get
    epochs: int


def coerce_command_line(study: Mapping[str, Any]) -> dict[str, Any]:
    """``--config 'recipe_study={enabled: false, samples: 30}'`` passes strings: read the booleans and numbers
    they stand for."""
    out = dict(study)
    flag = out.get("enabled")
    if isinstance(flag, str) and flag.strip().lower() in ("true", "false"):
        out["enabled"] = flag.strip().lower() == "true"
    for key in ("temperature", "epochs_scale", "samples"):
        v = out.get(key)
        if isinstance(v, str):
            try:
                out[key] = int(v) if v.strip().isdigit() else float(v)
            except ValueError:
                pass  # left as given: the schema names the field
    if isinstance(out.get("protocol_draws"), list):
        out["protocol_draws"] = [
            int(v) if isinstance(v, str) and v.strip().isdigit() else v for v in out["protocol_draws"]
        ]
    return out


def block(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config's ``recipe_study`` block with its defaults filled in (``enabled: false`` without one)."""
    return {**DEFAULTS, **(config.get("recipe_study") or {})}


def datasets(config: Mapping[str, Any]) -> list[str]:
    """The studied datasets the run has; none when the study is not enabled."""
    b = block(config)
    if not b["enabled"]:
        return []
    return [d for d in b["datasets"] if d in config["datasets"]]


def _base_training(config: Mapping[str, Any], dataset: str) -> tuple[dict[str, Any], int]:
    tr = dict(config["datasets"][dataset]["training"])
    tr.setdefault("input_range", "unit")
    tr.setdefault("dropout_layers", "both_fc")
    tr.setdefault("nesterov", False)
    tr["warm_start_epochs"] = 0
    tr["epochs_by_temperature"] = {}
    epochs = max(1, round(int(tr["epochs"]) * float(block(config)["epochs_scale"])))
    tr["epochs"] = epochs
    return tr, epochs


def _changed(name: str, base: dict[str, Any], epochs: int) -> Variant | None:
    tr = dict(base)
    if name in OTHER:
        was = tr[name]
        tr[name] = OTHER[name][was]
        return Variant(name, f"{name}: {was} -> {tr[name]}", tr, epochs)
    if name == "optimiser":
        if all(tr.get(k) == v for k, v in CARLINI_OPTIMISER.items()):
            return None
        tr.update(CARLINI_OPTIMISER)
        was = f"SGD lr {base['lr']} momentum {base['momentum']}{' Nesterov' if base['nesterov'] else ''}"
        return Variant(name, f"optimiser: {was} -> SGD lr 0.01 momentum 0.9 Nesterov", tr, epochs)
    if name == "epochs":
        tr["epochs"] = 2 * epochs
        return Variant(name, f"epochs: {epochs} -> {2 * epochs}", tr, 2 * epochs)
    if name == "lr_decay":
        if not tr.get("lr_decay"):
            return None
        d = tr["lr_decay"]
        tr["lr_decay"] = None
        return Variant(name, f"lr_decay: x{d['factor']} per epoch after {d['after_epoch']} -> none", tr, epochs)
    raise ValueError(f"unknown recipe variant {name!r}; use one of {list(ALL_VARIANTS)}")


def variants(config: Mapping[str, Any], dataset: str) -> list[Variant]:
    """The configured recipe first, then each listed choice changed alone (a choice that cannot differ from the
    configured recipe for this dataset, e.g. ``lr_decay`` without a configured decay, is left out)."""
    base, epochs = _base_training(config, dataset)
    out = [Variant(REFERENCE, "the configured recipe", base, epochs)]
    for name in block(config)["variants"]:
        v = _changed(name, base, epochs)
        if v is not None:
            out.append(v)
    return out


def variant(config: Mapping[str, Any], dataset: str, name: str) -> Variant:
    for v in variants(config, dataset):
        if v.name == name:
            return v
    raise KeyError(f"recipe_study: no variant {name!r} for {dataset}")


def protocols(config: Mapping[str, Any]) -> list[str]:
    """``first`` (the first test images), then ``draw<seed>`` per ``protocol_draws`` seed."""
    return [FIRST] + [f"draw{int(s)}" for s in block(config)["protocol_draws"]]


def draw_seed(protocol: str) -> int | None:
    return None if protocol == FIRST else int(protocol.removeprefix("draw"))


def temperature(config: Mapping[str, Any]) -> str:
    return format_temperature(block(config)["temperature"])


def model_stems(config: Mapping[str, Any]) -> dict[str, str]:
    """Study model name -> its training job's file stem."""
    return {"baseline": "teacher_T1", "distilled": f"distilled_T{temperature(config)}"}


class RecipePlan:
    """Paths and per-job settings of the study, for workflow/rules/recipe.smk."""

    def __init__(self, config: Mapping[str, Any], results: str, work: str) -> None:
        self.config = config
        self.results = f"{results}/recipe"
        self.work = f"{work}/recipe"
        self.T = temperature(config)
        self.block = block(config)

    def datasets(self) -> list[str]:
        return datasets(self.config)

    def variant_names(self) -> list[str]:
        names: list[str] = []
        for d in self.datasets():
            names += [v.name for v in variants(self.config, d) if v.name not in names]
        return names

    def training_temperatures(self) -> list[str]:
        return ["1", self.T]

    def checkpoint(self, dataset: str, variant: str, model: str) -> str:
        return f"{self.work}/{dataset}/{variant}/{model_stems(self.config)[model]}.pt"

    def train_args(
        self, dataset: str, variant_name: str, role: str, temp: str, soft_labels: Any = "", seed: Any = None
    ) -> str:
        """``distillbench train``'s arguments for one job of one variant, shell-quoted."""
        v = variant(self.config, dataset, variant_name)
        ds = self.config["datasets"][dataset]
        args = [
            f"--role {role} --dataset {dataset} --temperature {temp} --epochs {v.epochs}",
            f"--seed {int(self.config['seed'] if seed is None else seed)}",
            f"--training {shlex.quote(json.dumps(v.training, sort_keys=True))}",
        ]
        if ds.get("train_subset"):
            args.append(f"--train-subset {int(ds['train_subset'])}")
        if ds.get("test_subset"):
            args.append(f"--test-subset {int(ds['test_subset'])}")
        if soft_labels:
            args.append(f"--soft-labels {shlex.quote(str(soft_labels))}")
        return " ".join(args)

    def attack_json(self, dataset: str, numerics: str, protocol: str) -> str:
        """The dataset's attack block with the study's numerics, images and draw."""
        at = dict(self.config["datasets"][dataset]["attack"])
        at.pop("compare_numerics", None)
        at.pop("spread_orders", None)
        at["numerics"] = numerics
        at["samples"] = int(block(self.config)["samples"])
        seed = draw_seed(protocol)
        if seed is not None:
            at["draw_seed"] = seed
        return json.dumps(at, sort_keys=True)

    def attack_summary(self, dataset: str, variant: str, numerics: str, protocol: str, model: str) -> str:
        return f"{self.results}/{dataset}/{variant}/attacks/{numerics}/{protocol}/{model}.json"

    def logits_summary(self, dataset: str, variant: str, model: str) -> str:
        return f"{self.results}/{dataset}/{variant}/logits/{model}.json"

    def outputs(self) -> list[str]:
        """Everything the section reads: per dataset, variant and model the metrics, logit scale and attacks."""
        out = []
        for d in self.datasets():
            for v in variants(self.config, d):
                for m, stem in model_stems(self.config).items():
                    out.append(f"{self.results}/{d}/{v.name}/models/{stem}.json")
                    out.append(self.logits_summary(d, v.name, m))
                    for n in NUMERICS:
                        for p in protocols(self.config):
                            out.append(self.attack_summary(d, v.name, n, p, m))
        return out
