"""The paper's reported values, read from benchmark/papernot2016/ (paper.yaml and the Fig. 7 table it names)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ...settings import REPO_ROOT

PAPER_DIR = REPO_ROOT / "benchmark" / "papernot2016"


@dataclass
class PaperReference:
    citation: str
    fig7: pd.DataFrame  # dataset, model, temperature, paper_success_rate_pct
    accuracy: dict[str, Any]
    accuracy_confirmed: bool
    targets: int
    max_features: int
    gradient_reduction_factor: float | None = None  # the abstract's "factor of 10^30"

    def success_rate(self, dataset: str, model: str, temperature: float | None) -> float | None:
        rows = self.fig7[(self.fig7.dataset == dataset) & (self.fig7.model == model)]
        if model == "distilled":
            rows = rows[rows.temperature == float(temperature)]  # type: ignore[arg-type]
        return float(rows.paper_success_rate_pct.iloc[0]) if len(rows) else None

    def reference_accuracy(self, dataset: str, model: str, temperature: float | None) -> tuple[float | None, str]:
        """The paper's accuracy for this model and where it comes from (reported or the baseline's)."""
        acc = self.accuracy.get(dataset)
        if not acc:
            return None, "none"
        if model == "baseline":
            return float(acc["baseline"]), "reported"
        by_t = {float(k): float(v) for k, v in (acc.get("distilled") or {}).items()}
        if temperature is not None and float(temperature) in by_t:
            return by_t[float(temperature)], "reported"
        return float(acc["baseline"]), "baseline's"


def load_paper(directory: Path = PAPER_DIR) -> PaperReference:
    directory = Path(directory)
    meta = yaml.safe_load((directory / "paper.yaml").read_text())
    fig7 = pd.read_csv(directory / meta["figure7"]["file"])
    fig7["temperature"] = pd.to_numeric(fig7["temperature"], errors="coerce")
    acc = {k: v for k, v in meta["accuracy"].items() if k in ("mnist", "cifar10")}
    return PaperReference(
        citation=meta["citation"],
        fig7=fig7,
        accuracy=acc,
        accuracy_confirmed=bool(meta["accuracy"]["confirmed"]),
        targets=int(meta["figure7"]["targets"]),
        max_features=int(meta["figure7"]["max_features"]),
        gradient_reduction_factor=float(meta["gradients"]["reduction_factor"]) if meta.get("gradients") else None,
    )
