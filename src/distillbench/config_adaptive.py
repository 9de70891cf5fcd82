"""Defaults and checks of the per-dataset ``adaptive:`` and ``robustness:`` blocks (issue 9).

``adaptive`` (absent or null: no adaptive attacks for that dataset; with Snakemake, a profile inherits
config/config.yaml's block unless it sets its own or null)::

    adaptive:
      samples: 100              # default: attack.samples (the Fig. 7 targets)
      targets_per_sample: 9     # default: attack.targets_per_sample
      max_features: 112         # the L0 budget; default: attack.max_features
      attacks:                  # registry names (src/distillbench/attacks/registry.py) and settings
        - {name: jsma_f_t}
        - {name: l0_fmn, steps: 1000}
        - {name: cw_l2, steps: 1000, models: [baseline, highest_T]}

A list, so that a profile given with ``--configfile`` replaces the default config's attacks (Snakemake merges
mappings key by key). After :func:`fill_defaults` it is a mapping name -> settings. Each attack's ``models``:
``all`` (every deployed model) or a list of ``baseline``, ``distilled_T<T>`` and ``highest_T`` (the distilled
network at the highest temperature); the registry entry gives the default.
Settings missing from the config get the registry's defaults here, so a job's recorded parameters are
complete. ``robustness`` (absent: none): rho_adv, JSMA with no budget cap::

    robustness: {samples: 100, targets_per_sample: 9, variant: jsma_f, numerics: exact, batch_size: 900}

``robustness.max_features`` (default null: every element may change) caps JSMA for quick runs (smoke).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .attacks.registry import HIGHEST_T, REGISTRY, settings_problems

DEFAULT_ATTACKS = ("jsma_f_t", "jsma_z", "l0_fmn", "cw_l2")


def fill_defaults(ds: dict[str, Any]) -> None:
    """Fill one dataset's ``adaptive`` and ``robustness`` blocks in place (after ``attack``'s defaults)."""
    at = ds["attack"]
    ad = ds.get("adaptive")
    if ad is not None:
        ad.setdefault("samples", at["samples"])
        ad.setdefault("targets_per_sample", at.get("targets_per_sample", 9))
        ad.setdefault("max_features", at["max_features"])
        listed = ad.get("attacks")
        if listed is None:
            listed = [{"name": name} for name in DEFAULT_ATTACKS]
        names = [a["name"] for a in listed]
        if len(set(names)) < len(names):
            listed = []  # left as the config's list: problems() names the attack given twice
        else:
            # From here on a mapping name -> settings (the config file's list form: see the schema).
            ad["attacks"] = {a["name"]: {k: v for k, v in a.items() if k != "name"} for a in listed}
        attacks = ad["attacks"] if listed else {}
        for name, settings in list(attacks.items()):
            settings = attacks[name] = dict(settings or {})
            entry = REGISTRY.get(name)
            if entry is None:
                continue  # reported by problems()
            settings.setdefault("models", list(entry.default_models) if entry.default_models != ("all",) else "all")
            for f in dataclasses.fields(entry.settings):
                settings.setdefault(f.name, f.default)
    rb = ds.get("robustness")
    if rb is not None:
        rb.setdefault("samples", at["samples"])
        rb.setdefault("targets_per_sample", at.get("targets_per_sample", 9))
        rb.setdefault("variant", "jsma_f")
        rb.setdefault("numerics", "exact")
        rb.setdefault("batch_size", at.get("batch_size", 256))
        rb.setdefault("max_features", None)  # no cap


def deployed_models(temperatures: list[Any]) -> list[str]:
    from .papers.papernot2016.models import deployed_names

    return deployed_names(temperatures)


def resolve_models(models: Any, temperatures: list[Any]) -> list[str]:
    """An attack's ``models`` setting as deployed model names, in the deployed order, without repeats."""
    from .papers.papernot2016.models import highest_t_name

    deployed = deployed_models(temperatures)
    if models == "all":
        return deployed
    highest = highest_t_name(temperatures)
    wanted = {highest if m == HIGHEST_T else m for m in models}
    return [m for m in deployed if m in wanted]


def problems(name: str, ds: Mapping[str, Any], temperatures: list[Any], input_size: int, n_test: int) -> list[str]:
    """Checks the schema cannot express: attack names and settings (from the registry), model names,
    budgets and sample counts against the dataset."""
    out: list[str] = []
    ad = ds.get("adaptive")
    if ad is not None:
        where = f"datasets.{name}.adaptive"
        budget = ad["max_features"]
        if budget > input_size or budget % 2:
            out.append(
                f"config field '{where}.max_features': {budget} must be even and at most the {input_size} input "
                "elements; fix: e.g. 112 (the paper's budget)"
            )
        if ad["samples"] > n_test:
            out.append(f"config field '{where}.samples': {ad['samples']} is more than the {n_test} test images; fix: "
                       "e.g. 100")  # fmt: skip
        deployed = deployed_models(temperatures)
        if isinstance(ad["attacks"], list):
            names = [a["name"] for a in ad["attacks"]]
            twice = sorted({n for n in names if names.count(n) > 1})
            out.append(f"config field '{where}.attacks': {', '.join(twice)} listed twice; fix: list each attack once")
            return out
        for attack, settings in ad["attacks"].items():
            out += settings_problems(attack, settings, f"{where}.attacks.{attack}")
            if settings.get("samples", 0) > n_test:
                out.append(
                    f"config field '{where}.attacks.{attack}.samples': {settings['samples']} is more than the "
                    f"{n_test} test images; fix: e.g. 100"
                )
            models = settings.get("models", "all")
            if models == "all":
                continue
            if isinstance(models, str) or not models:
                out.append(
                    f"config field '{where}.attacks.{attack}.models': {models!r}; fix: 'all' or a non-empty list "
                    f"of {', '.join(deployed)} or {HIGHEST_T}"
                )
                continue
            bad = [m for m in models if m not in deployed and m != HIGHEST_T]
            if bad:
                out.append(
                    f"config field '{where}.attacks.{attack}.models': {bad} are not deployed models of this run; fix: "
                    f"use 'all' or names among {', '.join(deployed)}, or {HIGHEST_T} (the highest temperature)"
                )
    rb = ds.get("robustness")
    cap = None if rb is None else rb.get("max_features")
    if cap is not None and (cap > input_size or cap % 2):
        out.append(
            f"config field 'datasets.{name}.robustness.max_features': {cap} must be even and at most the "
            f"{input_size} input elements; fix: null (no cap, the paper's rho_adv) or e.g. 200"
        )
    if rb is not None and rb["samples"] > n_test:
        out.append(
            f"config field 'datasets.{name}.robustness.samples': {rb['samples']} is more than the {n_test} test "
            "images; fix: e.g. 100"
        )
    return out
