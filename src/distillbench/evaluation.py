"""Attack a deployed model on N test samples x their other classes; one table row per target."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import foolbox as fb
import pandas as pd
import torch
from torch import nn

from .attacks.jsma import SaliencyMapAttack, attack_dtype
from .data import TensorDataset
from .io import write_csv

log = logging.getLogger(__name__)

COLUMNS = [
    "sample_index",
    "true_label",
    "original_prediction",
    "target",
    "success",
    "features_changed",
    "iterations",
    "final_prediction",
    "no_pair",
]


def attack_targets(
    test: TensorDataset, samples: int, targets_per_sample: int, draw_seed: int | None = None
) -> pd.DataFrame:
    """The first ``samples`` test images (or, with ``draw_seed``, ``samples`` test images drawn at random without
    replacement by a generator seeded with it, in increasing order), each with its first ``targets_per_sample``
    other classes."""
    if samples > len(test):
        raise ValueError(f"attack.samples={samples} but the test set has only {len(test)} images")
    if draw_seed is None:
        indices = list(range(samples))
    else:
        g = torch.Generator().manual_seed(int(draw_seed))
        indices = sorted(torch.randperm(len(test), generator=g)[:samples].tolist())
    rows: list[dict[str, int]] = []
    for i in indices:
        y = int(test.labels[i])
        others = [c for c in range(10) if c != y][:targets_per_sample]
        rows.extend({"sample_index": i, "true_label": y, "target": t} for t in others)
    return pd.DataFrame(rows)


BatchColumns = Callable[[fb.PyTorchModel, torch.Tensor, torch.Tensor], Mapping[str, Any]]
"""One batch of an attack: (the Foolbox model, the images, their target classes) -> that batch's result
columns (arrays of the batch's length) beside the plan's own ``sample_index``, ``true_label``,
``original_prediction`` and ``target``."""


def attack_each_target(
    model: nn.Module,
    test: TensorDataset,
    plan: pd.DataFrame,
    run_batch: BatchColumns,
    *,
    columns: Sequence[str],
    dtype: torch.dtype,
    device: torch.device,
    batch_size: int,
    partial_path: Path | None = None,
) -> pd.DataFrame:
    """Run ``run_batch`` over ``plan`` (:func:`attack_targets`) in batches of ``batch_size``, on a frozen
    copy of ``model`` in ``dtype``; one row per target, in ``columns`` order.

    Every finished batch is written to ``partial_path`` (all rows so far), and a run that finds a partial
    file with these columns resumes after its rows. Progress goes to the log after every batch.
    """
    model = copy.deepcopy(model).to(device=device, dtype=dtype).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    fmodel = fb.PyTorchModel(model, bounds=(0.0, 1.0), device=device)
    with torch.no_grad():
        first = sorted(plan.sample_index.unique())
        orig_pred = model(test.images[first].to(device=device, dtype=dtype)).argmax(1).cpu()
    orig = dict(zip(first, orig_pred.tolist(), strict=True))
    done: list[pd.DataFrame] = []
    start = 0
    if partial_path is not None and Path(partial_path).exists():
        prev = pd.read_csv(partial_path)
        if list(prev.columns) == list(columns) and len(prev) <= len(plan):
            done.append(prev)
            start = len(prev)
            log.info("resuming after %d finished targets from %s", start, partial_path)
    t0 = time.perf_counter()
    for b0 in range(start, len(plan), batch_size):
        chunk = plan.iloc[b0 : b0 + batch_size]
        x = test.images[torch.as_tensor(chunk.sample_index.to_numpy().copy())].to(device=device, dtype=dtype)
        target = torch.as_tensor(chunk.target.to_numpy().copy(), device=device)
        out = pd.DataFrame(
            {
                "sample_index": chunk.sample_index.to_numpy(),
                "true_label": chunk.true_label.to_numpy(),
                "original_prediction": [orig[i] for i in chunk.sample_index],
                "target": chunk.target.to_numpy(),
                **run_batch(fmodel, x, target),
            }
        )[list(columns)]
        done.append(out)
        so_far = pd.concat(done)
        log.info(
            "targets %d/%d success so far %.2f%% (%.1f s elapsed)",
            b0 + len(chunk),
            len(plan),
            100 * so_far.success.mean(),
            time.perf_counter() - t0,
        )
        if partial_path is not None:
            write_csv(partial_path, so_far)
    return pd.concat(done, ignore_index=True) if done else pd.DataFrame(columns=list(columns))


def run_attack(
    model: nn.Module,
    test: TensorDataset,
    attack_cfg: Mapping[str, Any],
    device: torch.device,
    *,
    temperature: float = 1.0,
    partial_path: Path | None = None,
) -> pd.DataFrame:
    """JSMA on every target; results of finished batches survive an interruption in ``partial_path``.

    ``attack_cfg["numerics"]`` (default ``exact``) picks the dtype the network runs in for the attack
    (a float64 copy for ``exact``) and how pairs are ranked, ``attack_cfg["arithmetic_order"]`` (default
    ``batched``) whether the network sees the batch or each target alone; see :mod:`distillbench.attacks.jsma`.
    """
    numerics = str(attack_cfg.get("numerics", "exact"))
    max_features = int(attack_cfg["max_features"])
    attack = SaliencyMapAttack(
        max_features=max_features,
        variant=str(attack_cfg["variant"]),
        temperature=temperature,
        numerics=numerics,
        arithmetic_order=str(attack_cfg.get("arithmetic_order", "batched")),
    )

    def run_batch(fmodel: fb.PyTorchModel, x: torch.Tensor, target: torch.Tensor) -> dict[str, Any]:
        r = attack.run_detailed(fmodel, x, fb.criteria.TargetedMisclassification(target))
        changed = r.features_changed.cpu().numpy()
        return {
            "success": r.success.cpu().numpy() & (changed <= max_features),
            "features_changed": changed,
            "iterations": r.iterations.cpu().numpy(),
            "final_prediction": r.final_prediction.cpu().numpy(),
            "no_pair": r.no_pair.cpu().numpy(),
        }

    plan = attack_targets(
        test, int(attack_cfg["samples"]), int(attack_cfg.get("targets_per_sample", 9)), attack_cfg.get("draw_seed")
    )
    return attack_each_target(
        model,
        test,
        plan,
        run_batch,
        columns=COLUMNS,
        dtype=attack_dtype(numerics),
        device=device,
        batch_size=int(attack_cfg.get("batch_size", 256)),
        partial_path=partial_path,
    )


def summarize(results: pd.DataFrame, max_features: int) -> dict[str, Any]:
    from .stats import wilson_interval

    n = int(len(results))
    k = int(results.success.sum())
    lo, hi = wilson_interval(k, n)
    ok = results[results.success]
    originally_wrong = results.drop_duplicates("sample_index")
    return {
        "targets": n,
        "samples": int(results.sample_index.nunique()),
        "successes": k,
        "success_rate_pct": 100 * k / n if n else float("nan"),
        "ci95_low_pct": 100 * lo,
        "ci95_high_pct": 100 * hi,
        "mean_features_changed_success": float(ok.features_changed.mean()) if len(ok) else float("nan"),
        "stopped_no_pair": int(results.no_pair.sum()),
        "originally_misclassified_samples": int(
            (originally_wrong.original_prediction != originally_wrong.true_label).sum()
        ),
        "zero_change_successes": int((results.success & (results.features_changed == 0)).sum()),
        "max_features": max_features,
    }
