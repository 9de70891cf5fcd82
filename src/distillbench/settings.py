"""The bottom of the package: the repository's root and how a validated config's values are read.

Every layer may import this module; it imports nothing of the package. Reading and validating a config file is
:mod:`distillbench.config` (an entry-point layer: it asks each enabled paper for its problems).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def epochs_for(training: Mapping[str, Any], temperature: float) -> int:
    """Epochs for a model trained at ``temperature`` (per-temperature override or the default)."""
    by_t = {float(k): int(v) for k, v in (training.get("epochs_by_temperature") or {}).items()}
    return by_t.get(float(temperature), int(training["epochs"]))


def format_temperature(t: float) -> str:
    """Temperatures as they appear in file names: 1, 2.5, 100."""
    return f"{float(t):g}"
