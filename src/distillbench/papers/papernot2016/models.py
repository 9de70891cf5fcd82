"""Papernot 2016's networks as :class:`~distillbench.papers.base.ModelId` objects: the one place that names them.

Per dataset: an optional shared ``warm_start``; a teacher per temperature (``teacher_T<T>``, trained at T on hard
labels); a distilled network per temperature (``distilled_T<T>``, trained at T on its teacher's soft labels). The
deployed models, attacked at T=1, are the undistilled ``baseline`` (the T=1 teacher: cross-entropy of softmax(Z/1)
on hard labels is ordinary training) and the distilled networks. Plan, the rules' wildcards, the config checks and
the report take their names, files and labels from here (the names themselves from model_names.py, which the
core and the studies share); nothing rebuilds them from a file name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...model_names import (  # noqa: F401 - deployed_names, highest_t_name: re-exported for the paper's modules
    BASELINE,
    WARM_START,
    arch,
    deployed_names,
    highest_t_name,
    student_name,
    teacher_name,
)
from ...settings import format_temperature
from ..base import ModelId

PAPER = "papernot2016"


def _seed(config: Mapping[str, Any], seed: Any) -> int:
    return int(config.get("seed", 0) if seed is None else seed)


def teacher(config: Mapping[str, Any], dataset: str, t: Any, seed: Any = None) -> ModelId:
    """The teacher trained at ``t`` on hard labels (at T=1: the undistilled baseline's network)."""
    return ModelId(PAPER, dataset, teacher_name(t), arch(dataset), "teacher", float(t), _seed(config, seed))


def student(config: Mapping[str, Any], dataset: str, t: Any, seed: Any = None) -> ModelId:
    """The network distilled at ``t`` from the soft labels of the teacher of the same temperature."""
    tt = teacher(config, dataset, t, seed)
    return ModelId(PAPER, dataset, student_name(t), arch(dataset), "student", float(t), tt.seed, tt.name)


def baseline(config: Mapping[str, Any], dataset: str, seed: Any = None) -> ModelId:
    """The undistilled baseline: deployed as ``baseline``, trained (and stored) as the T=1 teacher."""
    tt = teacher(config, dataset, 1, seed)
    return ModelId(PAPER, dataset, BASELINE, tt.arch, "teacher", 1.0, tt.seed, trained_as=tt.name)


def warm_start(config: Mapping[str, Any], dataset: str, seed: Any = None) -> ModelId:
    """The shared T=1 starting point of every network of a dataset (when ``warm_start_epochs`` > 0)."""
    return ModelId(PAPER, dataset, WARM_START, arch(dataset), "teacher", 1.0, _seed(config, seed))


def deployed(config: Mapping[str, Any], dataset: str, seed: Any = None) -> list[ModelId]:
    """The attacked models in Fig. 7's order: the baseline, then the distilled networks by the config's T."""
    return [baseline(config, dataset, seed)] + [student(config, dataset, t, seed) for t in config["temperatures"]]


def trained(config: Mapping[str, Any], dataset: str, seed: Any = None) -> list[ModelId]:
    """Every network the training rules build (the warm start aside): teachers at T=1 and each T, students."""
    temps = list(dict.fromkeys([1.0, *(float(t) for t in config["temperatures"])]))
    students = [student(config, dataset, t, seed) for t in config["temperatures"]]
    return [teacher(config, dataset, t, seed) for t in temps] + students


def label(model: ModelId) -> str:
    """How the report names a deployed model: ``no distillation`` or ``T=<T>``."""
    return label_for_temperature(None if model.name == BASELINE else model.temperature)


def label_for_temperature(temperature: Any) -> str:
    """The label of the deployed model of a table row from its ``temperature`` column (none: the baseline)."""
    if temperature is None or temperature != temperature:  # None or NaN
        return "no distillation"
    return f"T={format_temperature(temperature)}"


def labels(temperatures: Iterable[Any]) -> dict[str, str]:
    """Deployed model name -> its label in the report's tables."""
    cfg = {"seed": 0, "temperatures": list(temperatures)}
    return {m.name: label(m) for m in deployed(cfg, "")}


def by_name(config: Mapping[str, Any], dataset: str, name: str, seed: Any = None) -> ModelId:
    """A deployed or trained model of this config by its name (KeyError names the known ones)."""
    known = {m.name: m for m in [*deployed(config, dataset, seed), *trained(config, dataset, seed)]}
    known[WARM_START] = warm_start(config, dataset, seed)
    if name not in known:
        raise KeyError(f"{name!r} is not a Papernot 2016 model of this config; known: {sorted(known)}")
    return known[name]


def is_baseline(name: str) -> bool:
    return name == BASELINE
