"""Papernot 2016's config checks beyond the schema: the ``datasets:`` block's budgets and counts (the Fig. 7 attack,
the adaptive attacks and rho_adv's) against each dataset's input size and splits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ... import config_adaptive
from ...dataspec import SPECS


def dataset_size_problems(cfg: Mapping[str, Any]) -> list[str]:
    """Each dataset's budgets, sample counts and subsets that exceed its input elements or its splits."""
    out = []
    for name, ds in cfg["datasets"].items():
        spec = SPECS[name]
        out += config_adaptive.budget_problems(name, ds, spec)
        samples = ds["attack"]["samples"]
        if samples > spec.n_test:
            out.append(
                f"config field 'datasets.{name}.attack.samples': {samples} is more than the {spec.n_test} images "
                f"of the {spec.title} test set; fix: use at most {spec.n_test}, e.g. 100 (the paper's)"
            )
        for key, limit, split in (("train_subset", spec.n_train, "training"), ("test_subset", spec.n_test, "test")):
            value = ds.get(key)
            if value is not None and value > limit:
                out.append(
                    f"config field 'datasets.{name}.{key}': {value} is more than the {limit} images of the "
                    f"{spec.title} {split} set; fix: use at most {limit}, or null for all of them"
                )
        out += config_adaptive.problems(name, ds, cfg["temperatures"], spec.n_test)
    return out
