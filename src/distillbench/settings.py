"""The bottom of the package: the repository's root and how a validated config's values are read.

Every layer may import this module; it imports nothing of the package. Reading and validating a config file is
:mod:`distillbench.config` (an entry-point layer: it asks each enabled paper for its problems).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def epochs_for(training: Mapping[str, Any], temperature: float) -> int:
    """Epochs for a model trained at ``temperature`` (per-temperature override or the default)."""
    by_t = {float(k): int(v) for k, v in (training.get("epochs_by_temperature") or {}).items()}
    return by_t.get(float(temperature), int(training["epochs"]))


def format_temperature(t: float) -> str:
    """A temperature as it appears in file names: the shortest decimal that reads back as the same float,
    without exponent and without a trailing '.0' (1, 2.5, 20.0000001, 100)."""
    value = float(t)
    if not math.isfinite(value):
        raise ValueError(f"temperature {t!r} is not a finite number")
    text = repr(value)
    if "e" in text or "E" in text:  # outside T_MIN..T_MAX; still a name that reads back exactly
        text = format(value, "f").rstrip("0").rstrip(".") if value >= 1 else format(value, ".20f").rstrip("0")
    return text[:-2] if text.endswith(".0") else text


def verify_checksums_for(config: Mapping[str, Any], dataset: str) -> bool:
    """``verify_checksums`` of a validated config for one dataset: a boolean applies to all, a mapping per dataset
    (default true)."""
    value = config.get("verify_checksums", True)
    if isinstance(value, Mapping):
        return bool(value.get(dataset, True))
    return bool(value)
