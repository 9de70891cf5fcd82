"""How saturated a deployed network's softmax is, as data: the scale of its logits and its top-2 logit gap on
the attack's images, computed from logits or read from what a run's gradient tables recorded.

* ``logit_l1_sum``: the mean over images of sum_k |z_k| (the L1 norm of the logit vector);
* ``logit_l1_per_logit``: the same divided by the number of classes (the mean |z_k|);
* ``median_top2_gap``: the median over images of z_top1 - z_top2 (for an even number of images the lower of the
  two middle values, as torch.median, which wrote the gradient tables).

Carlini & Wagner (2016, "Defensive Distillation is Not Robust to Adversarial Examples") report a mean L1 norm of
the logits of 5.8 on their undistilled MNIST network and 482 on the distilled one (T=100). Known: it is an L1
norm of the logit vector, averaged over inputs. Not known (no source read here says): whether the norm is
summed over the 10 logits or averaged over them, and over which inputs it was averaged. So both of our
figures are shown beside theirs. These two values were not re-read from the paper here: unconfirmed.

The gradient tables (results/<run>/gradients/<dataset>/<model>.json) record ``mean_logit_l1`` (the sum form,
averaged over the Fig. 7 targets: every image appears once per target, so the mean and the lower median
equal those over the images) and ``median_logit_gap``; the per-logit form follows by dividing by the number of
classes. A run without gradient tables, whose checkpoints are gone, has none of these.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CW2016_CITATION = "Carlini & Wagner, Defensive Distillation is Not Robust to Adversarial Examples, arXiv 1607.04311"
CW2016_LOGIT_L1_UNDISTILLED = 5.8
CW2016_LOGIT_L1_DISTILLED = 482.0
CW2016_DEFINITION_NOTE = (
    "mean L1 norm of the logits over inputs, MNIST, undistilled vs distilled at T=100; whether summed or "
    "averaged over the 10 logits is not known (unconfirmed transcription)"
)
COLUMNS = ("dataset", "model", "images", "logit_l1_sum", "logit_l1_per_logit", "median_top2_gap", "source")


@dataclass(frozen=True)
class Saturation:
    images: int
    logit_l1_sum: float
    logit_l1_per_logit: float
    median_top2_gap: float


def lower_median(values: np.ndarray) -> float:
    """The lower of the two middle values for an even count (torch.median's convention, which the gradient
    tables used), the middle one for an odd count."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    return float(v[(len(v) - 1) // 2])


def logit_saturation(logits: Any) -> Saturation:
    """The three figures above from a (images, classes) array of logits (numpy, torch or nested lists);
    pass each attacked image once."""
    z = np.asarray(logits.detach().cpu().numpy() if hasattr(logits, "detach") else logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 2 or not len(z):
        raise ValueError(f"logits must be an (images, classes) array with at least 2 classes, got shape {z.shape}")
    l1 = np.abs(z).sum(axis=1)
    top2 = np.sort(z, axis=1)[:, -2:]
    return Saturation(
        images=len(z),
        logit_l1_sum=float(l1.mean()),
        logit_l1_per_logit=float(l1.mean() / z.shape[1]),
        median_top2_gap=lower_median(top2[:, 1] - top2[:, 0]),
    )


def recorded_saturation(
    results_dir: Path,
    models: Iterable[tuple[str, str]],
    n_classes: Mapping[str, int],
    path_of: Callable[[str, str], Path] | None = None,
) -> pd.DataFrame:
    """One row per (dataset, model) from the run's gradient tables, in the order given; a model without a table
    gets a row of nan whose ``source`` says so. ``n_classes``: classes per dataset (for the per-logit form);
    ``images`` assumes the Fig. 7 protocol (each image attacked towards every other class). ``path_of(dataset,
    model)``: the gradient table's path (default ``results_dir/gradients/<dataset>/<model>.json``)."""
    rows = []
    for dataset, model in models:
        path = Path(path_of(dataset, model)) if path_of else Path(results_dir) / "gradients" / dataset / f"{model}.json"
        row: dict[str, Any] = {"dataset": dataset, "model": model}
        if not path.exists():
            row.update(
                images=0,
                logit_l1_sum=float("nan"),
                logit_l1_per_logit=float("nan"),
                median_top2_gap=float("nan"),
                source="not recorded: no gradient table in this run (needs the checkpoint to compute)",
            )
        else:
            g = json.loads(path.read_text())
            missing = [k for k in ("mean_logit_l1", "median_logit_gap") if k not in g]
            if missing:
                raise ValueError(
                    f"{path}: the gradient table lacks {', '.join(missing)}; rerun the gradients job of this model"
                )
            l1 = float(g["mean_logit_l1"])
            k = int(n_classes[dataset])
            row.update(
                images=int(g.get("targets", 0)) // (k - 1),
                logit_l1_sum=l1,
                logit_l1_per_logit=l1 / k,
                median_top2_gap=float(g["median_logit_gap"]),
                source=f"gradient table {_relative(path, results_dir)}",
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)


def beside_carlini_wagner(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (:func:`recorded_saturation` or rows of :func:`logit_saturation`) with, per row, its L1 norm as a
    multiple of Carlini & Wagner's undistilled and distilled values under both readings (sum, per logit)."""
    out = table.copy()
    for form in ("sum", "per_logit"):
        col = out[f"logit_l1_{form}"]
        out[f"x_cw_undistilled_if_{form}"] = col / CW2016_LOGIT_L1_UNDISTILLED
        out[f"x_cw_distilled_if_{form}"] = col / CW2016_LOGIT_L1_DISTILLED
    return out
