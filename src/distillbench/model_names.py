"""The names of the networks that the core and the studies share (torch-free: config checks read them).

A dataset's Table I architecture (:func:`arch`, built by :func:`distillbench.models.build_arch`) and the names of
a temperature sweep's networks: the undistilled ``baseline``, ``teacher_T<T>`` and ``distilled_T<T>``. Papernot
2016's models (papers/papernot2016/models.py) build their ModelIds from these names; the seed study and the
adaptive attacks' config checks list the deployed models by them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .settings import format_temperature

BASELINE = "baseline"
WARM_START = "warm_start"


def arch(dataset: str) -> str:
    """Table I's architecture of this dataset (models.build_arch)."""
    return f"papernot_{dataset}"


def teacher_name(t: Any) -> str:
    """The teacher trained at ``t`` on hard labels."""
    return f"teacher_T{format_temperature(t)}"


def student_name(t: Any) -> str:
    """The network distilled at ``t``."""
    return f"distilled_T{format_temperature(t)}"


def deployed_names(temperatures: Iterable[Any]) -> list[str]:
    """The deployed models' names for these temperatures (what a config's ``models:`` lists may name)."""
    return [BASELINE] + [student_name(t) for t in temperatures]


def highest_t_name(temperatures: Iterable[Any]) -> str:
    """The name of the distilled network of the highest temperature (what ``highest_T`` stands for)."""
    return student_name(max(float(t) for t in temperatures))
