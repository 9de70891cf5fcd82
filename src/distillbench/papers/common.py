"""Helpers shared by the seam's reproductions: config block schemas, model metrics, wall times, markdown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..report import md_table as md
from ..report import read_json
from ..stats import wilson_interval

__all__ = [
    "errors_ci",
    "md",
    "optimiser_fields",
    "profile_note",
    "read_json",
    "regularisation_fields",
    "subset_fields",
    "training_schema",
    "wall_seconds",
]

POS_INT = {"type": "integer", "minimum": 1}
SUBSET = {"type": ["integer", "null"], "minimum": 1, "description": "null (all) or a positive number of images"}


def training_schema(*, arch: bool = False, regularised: bool = False) -> dict[str, Any]:
    """Schema of a ``teacher:``/``student:`` block of a paper's config."""
    props: dict[str, Any] = {
        "widths": {
            "type": "array",
            "items": POS_INT,
            "description": "hidden layer widths, e.g. [800, 800] ([] for a named conv net)",
        },
        "epochs": {**POS_INT, "description": "a positive number of epochs"},
        "lr": {"type": "number", "exclusiveMinimum": 0, "description": "a positive learning rate, e.g. 0.05"},
        "momentum": {"type": "number", "minimum": 0, "maximum": 1, "description": "SGD momentum, 0 to 1"},
        "batch_size": {**POS_INT, "description": "a positive integer, e.g. 100"},
        "lr_decay": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": "the factor applied to the learning rate after each epoch (1: constant)",
        },
        "init": {"enum": ["pytorch_default", "glorot_uniform"], "description": "pytorch_default or glorot_uniform"},
    }
    if arch:
        props["arch"] = {
            "enum": ["mlp", "papernot_mnist", "papernot_cifar10"],
            "description": "an architecture name: mlp, papernot_mnist or papernot_cifar10",
        }
    if regularised:
        props["dropout"] = {
            "type": "number",
            "minimum": 0,
            "maximum": 0.95,
            "description": "dropout after hidden layers",
        }
        props["input_dropout"] = {"type": "number", "minimum": 0, "maximum": 0.95, "description": "dropout on pixels"}
        props["jitter"] = {"type": "integer", "minimum": 0, "maximum": 4, "description": "max shift in pixels, 0-4"}
        props["max_norm"] = {
            "type": ["number", "null"],
            "exclusiveMinimum": 0,
            "description": "null or a bound on each unit's incoming weight norm",
        }
    return {"type": "object", "additionalProperties": False, "properties": props}


def optimiser_fields(block: Mapping[str, Any]) -> dict[str, Any]:
    """A ``teacher:``/``student:`` block's optimisation settings, as :class:`~.base.Job` fields."""
    return {
        "epochs": int(block["epochs"]),
        "lr": float(block["lr"]),
        "momentum": float(block["momentum"]),
        "batch_size": int(block["batch_size"]),
        "lr_decay": float(block["lr_decay"]),
        "init": str(block["init"]),
    }


def regularisation_fields(block: Mapping[str, Any]) -> dict[str, Any]:
    """A block's regularisation (:func:`training_schema` with ``regularised``), as :class:`~.base.Job` fields;
    a setting the block leaves out is off."""
    return {
        "dropout": float(block.get("dropout", 0.0)),
        "input_dropout": float(block.get("input_dropout", 0.0)),
        "jitter": int(block.get("jitter", 0)),
        "max_norm": block.get("max_norm"),
    }


def subset_fields(block: Mapping[str, Any]) -> dict[str, Any]:
    """A reproduction block's ``train_subset``/``test_subset`` (null: all), as :class:`~.base.Job` fields."""
    return {"train_subset": block.get("train_subset"), "test_subset": block.get("test_subset")}


def wall_seconds(history: list[Mapping[str, Any]]) -> float:
    return float(sum(float(h.get("seconds", 0.0)) for h in history))


def errors_ci(errors: int, n: int) -> tuple[float, float]:
    """95% Wilson interval of an error count, as errors out of ``n``."""
    lo, hi = wilson_interval(int(errors), int(n))
    return lo * n, hi * n


def profile_note(config: Mapping[str, Any]) -> str:
    profile = config.get("profile", "custom")
    if profile == "smoke":
        return "**Smoke profile: tiny data and one or two epochs; these numbers test the plumbing only.**"
    if profile != "paper":
        return (
            f"Profile `{profile}`: training is cut short (epochs below), so the numbers measure these shorter runs, "
            "not the paper's."
        )
    return ""
