"""Papernot 2016's report, saturation diagnostics: per deployed model the scale of its logits and its median top-2
logit gap on the attack's images, beside Carlini & Wagner's figures (:mod:`distillbench.saturation`)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from ...report import DATASET_TITLES, md_table
from ...saturation import (
    CW2016_CITATION,
    CW2016_LOGIT_L1_DISTILLED,
    CW2016_LOGIT_L1_UNDISTILLED,
    beside_carlini_wagner,
    recorded_saturation,
)
from . import models as papernot_models
from .plan import Plan
from .report_cells import N_CLASSES


def saturation_table(config: Mapping[str, Any], results_dir: Path, datasets: list[str]) -> pd.DataFrame:
    """One row per deployed model of ``datasets`` (first seed), from the gradient tables the run recorded."""
    plan = Plan(config, results_dir)
    models = [(d, m.name) for d in datasets for m in papernot_models.deployed(config, d)]
    path_of = partial(_gradient_path, plan)
    return beside_carlini_wagner(recorded_saturation(results_dir, models, dict.fromkeys(datasets, N_CLASSES), path_of))


def _gradient_path(plan: Plan, dataset: str, model: str) -> Path:
    return Path(plan.gradient_file(dataset, model))


def saturation_section(
    config: Mapping[str, Any], results_dir: Path, datasets: list[str], labels: Mapping[str, str]
) -> list[str]:
    """``## Saturation``: the table, or per dataset why it is missing."""
    t = saturation_table(config, results_dir, datasets)
    lines = ["## Saturation: logit scale and top-2 gap of the deployed models", ""]
    lines.append(
        "How saturated each deployed network's T=1 softmax is on the attack's images: the mean over images of the "
        "L1 norm of the logit vector (*sum*: over the classes; *per logit*: divided by their number), and the "
        "median gap between the two largest logits (float32's softmax underflows to exactly 0 for a class about "
        f"100 logits below the top one, float64's about 745). Carlini & Wagner ({CW2016_CITATION}) report a mean "
        f"L1 norm of the logits of {CW2016_LOGIT_L1_UNDISTILLED:g} on their undistilled MNIST network and "
        f"{CW2016_LOGIT_L1_DISTILLED:g} on the distilled one (T=100). Known: an L1 norm of the logit vector, "
        "averaged over inputs. Not known: whether it is summed over the 10 logits or averaged over them, and over "
        "which inputs; so both our forms are shown, with their multiples of Carlini & Wagner's values. Their two "
        "values were not re-read from the paper here: **unconfirmed**."
    )
    lines.append("")
    have = t[t.logit_l1_sum.notna()]
    if len(have):
        lines.append(
            "Source: the run's gradient tables (`gradients/<dataset>/seed<s>/<model>.json`, the first seed), which "
            "recorded these figures when the checkpoints were at hand."
        )
        lines.append("")
        lines.append(_markdown(have, labels))
        lines.append("")
    for d in datasets:
        if t[(t.dataset == d)].logit_l1_sum.isna().all():
            lines.append(
                f"- {DATASET_TITLES.get(d, d)}: **not recorded** in this run (no gradient tables, and the "
                "checkpoints are not part of the committed run, so they cannot be computed now)."
            )
    if len(have) < len(t):
        lines.append("")
    return lines


def _markdown(t: pd.DataFrame, labels: Mapping[str, str]) -> str:
    def f(v: float, spec: str) -> str:
        return "–" if pd.isna(v) else format(v, spec)

    return md_table(
        pd.DataFrame(
            {
                "dataset": t.dataset.map(lambda d: DATASET_TITLES.get(d, d)),
                "model": t.model.map(lambda m: labels.get(m, m)),
                "logit L1, sum": t.logit_l1_sum.map(lambda v: f(v, ".1f")),
                "logit L1, per logit": t.logit_l1_per_logit.map(lambda v: f(v, ".2f")),
                "median top-2 gap": t.median_top2_gap.map(lambda v: f(v, ".1f")),
                f"sum ÷ {CW2016_LOGIT_L1_UNDISTILLED:g} / ÷ {CW2016_LOGIT_L1_DISTILLED:g}": [
                    f"{f(a, '.1f')} / {f(b, '.2f')}"
                    for a, b in zip(t.x_cw_undistilled_if_sum, t.x_cw_distilled_if_sum, strict=True)
                ],
                f"per logit ÷ {CW2016_LOGIT_L1_UNDISTILLED:g} / ÷ {CW2016_LOGIT_L1_DISTILLED:g}": [
                    f"{f(a, '.2f')} / {f(b, '.3f')}"
                    for a, b in zip(t.x_cw_undistilled_if_per_logit, t.x_cw_distilled_if_per_logit, strict=True)
                ],
                "images": t.images.astype(str),
            }
        )
    )
