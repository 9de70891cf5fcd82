"""Adaptive attacks and the robustness rho_adv on one deployed model.

Same targets as Fig. 7 (the first ``samples`` test images x their other classes, :func:`attack_targets`),
one table row per target; finished batches survive an interruption in a partial file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import foolbox as fb
import pandas as pd
import torch
from torch import nn

from .attacks.registry import get_attack, parse_settings
from .data import TensorDataset
from .evaluation import attack_each_target, attack_targets
from .stats import wilson_interval

log = logging.getLogger(__name__)

ADAPTIVE_COLUMNS = [
    "sample_index",
    "true_label",
    "original_prediction",
    "target",
    "success",
    "reached_target",
    "l0",
    "l2",
    "final_prediction",
]


def run_adaptive(
    model: nn.Module,
    test: TensorDataset,
    attack: str,
    settings: Mapping[str, Any],
    *,
    samples: int,
    targets_per_sample: int,
    max_features: int,
    device: torch.device,
    temperature: float = 1.0,
    partial_path: Path | None = None,
) -> pd.DataFrame:
    """Attack ``attack`` (a registry name) with ``settings`` (its config mapping) on every target."""
    entry = get_attack(attack)
    s = parse_settings(attack, settings)
    runner = entry.build(s, max_features, temperature)

    def run_batch(fmodel: fb.PyTorchModel, x: torch.Tensor, target: torch.Tensor) -> dict[str, Any]:
        r = runner(fmodel, x, target)
        return {
            "success": r.success.cpu().numpy(),
            "reached_target": r.reached_target.cpu().numpy(),
            "l0": r.l0.cpu().numpy(),
            "l2": r.l2.cpu().numpy(),
            "final_prediction": r.final_prediction.cpu().numpy(),
        }

    return attack_each_target(
        model,
        test,
        attack_targets(test, samples, targets_per_sample),
        run_batch,
        columns=ADAPTIVE_COLUMNS,
        dtype=entry.dtype(s),
        device=device,
        batch_size=int(s.batch_size),
        partial_path=partial_path,
    )


def _mean(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


def summarize_adaptive(results: pd.DataFrame, attack: str, max_features: int) -> dict[str, Any]:
    """The adaptive JSON's counts: success with its Wilson interval, mean L0 and (for L2 attacks) L2 of
    the successes; ``budget`` is the L0 budget when it decides success, else null."""
    entry = get_attack(attack)
    n = int(len(results))
    k = int(results.success.astype(bool).sum())
    lo, hi = wilson_interval(k, n)
    ok = results[results.success.astype(bool)]
    return {
        "attack": attack,
        "targets": n,
        "samples": int(results.sample_index.nunique()),
        "successes": k,
        "success_rate_pct": 100 * k / n if n else float("nan"),
        "ci95_low_pct": 100 * lo,
        "ci95_high_pct": 100 * hi,
        "budget": int(max_features) if entry.budgeted else None,
        "reached_target": int(results.reached_target.astype(bool).sum()),
        "mean_l0_success": _mean(ok.l0),
        "mean_l2_success": _mean(ok.l2) if entry.norm == "l2" else None,
    }


def summarize_robustness(results: pd.DataFrame, n_features: int) -> dict[str, Any]:
    """rho_adv: mean over successful targets of the fraction of input elements JSMA-F changed (no budget
    cap), in %; the failures (no admissible pair left, e.g. an all-zero Jacobian) are counted beside it."""
    n = int(len(results))
    ok = results[results.success.astype(bool)]
    k = int(len(ok))
    return {
        "targets": n,
        "samples": int(results.sample_index.nunique()),
        "successes": k,
        "failure_share_pct": 100 * (n - k) / n if n else float("nan"),
        "rho_adv_pct": 100 * float((ok.features_changed / n_features).mean()) if k else None,
        "median_features_changed_success": float(ok.features_changed.median()) if k else None,
        "stopped_no_pair": int(results.no_pair.sum()),
        "n_features": int(n_features),
    }
