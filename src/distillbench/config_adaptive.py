"""Defaults and checks of each dataset's attack budget and of its ``adaptive:`` and ``robustness:`` blocks.

``datasets.<name>.max_features`` is the dataset's one L0 budget (input elements an attack may change): the
Fig. 7 attack uses it (:func:`fill_defaults` copies it into ``attack``, whose commands carry it), and the
adaptive and robustness blocks inherit it unless they set their own. :func:`budget_problems` checks every
budget of a dataset in one place; :func:`moved_budget_problems` refuses the old ``attack.max_features``.

``adaptive`` (absent or null: no adaptive attacks for that dataset; with Snakemake, a profile inherits
config/config.yaml's block unless it sets its own or null)::

    adaptive:
      samples: 100              # default: attack.samples (the Fig. 7 targets)
      targets_per_sample: 9     # default: attack.targets_per_sample
      max_features: 112         # the L0 budget; default: the dataset's max_features
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

    robustness: {samples: 100, targets_per_sample: 9, variant: jsma_f, numerics: exact, batch_size: 900,
                 max_features: null}

``robustness.max_features``: null lets every element change (rho_adv as the paper defines it, what
config/config.yaml sets); a number caps JSMA for quick runs (smoke); absent, the dataset's budget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .attacks.registry import HIGHEST_T, REGISTRY, settings_problems
from .dataspec import DatasetSpec

DEFAULT_ATTACKS = ("jsma_f_t", "jsma_z", "l0_fmn", "cw_l2")


def fill_defaults(ds: dict[str, Any]) -> None:
    """Fill one dataset's budget into ``attack`` and its ``adaptive`` and ``robustness`` blocks in place (after
    ``attack``'s defaults)."""
    at = ds["attack"]
    at["max_features"] = ds["max_features"]
    ad = ds.get("adaptive")
    if ad is not None:
        ad.setdefault("samples", at["samples"])
        ad.setdefault("targets_per_sample", at.get("targets_per_sample", 9))
        ad.setdefault("max_features", ds["max_features"])
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
        rb.setdefault("max_features", ds["max_features"])  # null: no cap


def moved_budget_problems(config: Mapping[str, Any]) -> list[str]:
    """The budget used to be set per attack block: ``attack.max_features`` is refused with its new place."""
    datasets = config.get("datasets")
    if not isinstance(datasets, Mapping):
        return []
    return [
        f"config field 'datasets.{name}.attack.max_features' has moved: the dataset's one budget is now "
        f"'datasets.{name}.max_features' (the adaptive and robustness blocks inherit it unless they set their "
        f"own); fix: write 'max_features: {ds['attack']['max_features']}' under 'datasets.{name}:' and remove it "
        "from 'attack:'"
        for name, ds in datasets.items()
        if isinstance(ds, Mapping) and isinstance(ds.get("attack"), Mapping) and "max_features" in ds["attack"]
    ]


def budget_problems(name: str, ds: Mapping[str, Any], spec: DatasetSpec) -> list[str]:
    """Every L0 budget of one dataset (its own, and an adaptive or robustness block's that differs) must be
    even and at most its input elements."""
    largest = spec.input_size - spec.input_size % 2
    budgets = [("max_features", ds["max_features"], "e.g. 112 (the paper's budget)")]
    for block, example in (("adaptive", "e.g. 112"), ("robustness", "null (no cap, the paper's rho_adv) or e.g. 200")):
        value = (ds.get(block) or {}).get("max_features")
        if value is not None and value != ds["max_features"]:
            budgets.append((f"{block}.max_features", value, example))
    out = []
    for field, value, example in budgets:
        where = f"config field 'datasets.{name}.{field}': {value}"
        if value > spec.input_size:
            shape = "x".join(map(str, spec.image_shape))
            out.append(
                f"{where} is more than the {spec.input_size} input elements of a {spec.title} image ({shape}); "
                f"fix: use at most {largest}, {example}"
            )
        elif value % 2:
            out.append(f"{where} is odd; fix: use an even number (JSMA changes features in pairs), {example}")
    return out


def deployed_models(temperatures: list[Any]) -> list[str]:
    from .model_names import deployed_names

    return deployed_names(temperatures)


def resolve_models(models: Any, temperatures: list[Any]) -> list[str]:
    """An attack's ``models`` setting as deployed model names, in the deployed order, without repeats."""
    from .model_names import highest_t_name

    deployed = deployed_models(temperatures)
    if models == "all":
        return deployed
    highest = highest_t_name(temperatures)
    wanted = {highest if m == HIGHEST_T else m for m in models}
    return [m for m in deployed if m in wanted]


def problems(name: str, ds: Mapping[str, Any], temperatures: list[Any], n_test: int) -> list[str]:
    """Checks the schema cannot express: attack names and settings (from the registry), model names and sample
    counts against the dataset (its budgets: :func:`budget_problems`)."""
    out: list[str] = []
    ad = ds.get("adaptive")
    if ad is not None:
        where = f"datasets.{name}.adaptive"
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
    if rb is not None and rb["samples"] > n_test:
        out.append(
            f"config field 'datasets.{name}.robustness.samples': {rb['samples']} is more than the {n_test} test "
            "images; fix: e.g. 100"
        )
    return out
