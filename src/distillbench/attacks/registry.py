"""Attacks chosen by name, each with a typed settings dataclass: one entry per attack, as data.

An entry says what the attack minimises (``norm``), whether the config's L0 budget decides its success
(``budgeted``), which deployed models it runs on unless the config says otherwise (``default_models``),
its settings (a frozen dataclass: the config's keys are its fields, checked by :func:`parse_settings`) and
how to run one batch (``run``: a Foolbox model in ``dtype``, inputs, targets -> :class:`AttackOutcome`).
Adding an attack is adding an entry to :data:`REGISTRY`; the config schema, the workflow's wildcard, the
``adaptive-attack`` command and the report read it from here.

* ``jsma_f``, ``jsma_f_t``, ``jsma_z``: :class:`~distillbench.attacks.jsma.SaliencyMapAttack` on the softmax
  at T=1 (the paper's), on softmax(Z/T) with the model's training temperature T (Carlini & Wagner 2016), on
  the logits; at most ``max_features`` elements changed.
* ``l0_fmn``: Foolbox's ``L0FMNAttack`` on the logits; the budget is enforced on its result.
* ``cw_l2``: Foolbox's ``L2CarliniWagnerAttack`` on the logits; success and L2 distance, no budget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch and Foolbox load only when an attack is built, not when a config is validated
    import foolbox as fb
    import torch

    from .foolbox_attacks import AttackOutcome

NUMERICS = ("exact", "float32")  # as attacks/jsma.py
ARITHMETIC_ORDERS = ("batched", "per_target")  # as attacks/jsma.py

HIGHEST_T = "highest_T"  # in a ``models`` list: the distilled network at the highest configured temperature
# Keys every attack's config mapping may hold besides its settings: which deployed models it runs on, and how
# many of the first test samples it attacks (default: the adaptive block's ``samples``).
COMMON_KEYS = ("models", "samples")


@dataclass(frozen=True)
class JSMASettings:
    numerics: str = "exact"  # exact | float32 (see attacks/jsma.py)
    arithmetic_order: str = "batched"  # batched | per_target: how the network is evaluated (attacks/jsma.py)
    batch_size: int = 256


@dataclass(frozen=True)
class L0FMNSettings:
    steps: int = 1000
    max_stepsize: float = 1.0
    gamma: float = 0.05
    batch_size: int = 256


@dataclass(frozen=True)
class CWL2Settings:
    binary_search_steps: int = 9
    steps: int = 1000
    stepsize: float = 1e-2
    confidence: float = 0.0
    initial_const: float = 1e-3
    abort_early: bool = True
    batch_size: int = 256


Runner = Callable[["fb.Model", "torch.Tensor", "torch.Tensor"], "AttackOutcome"]


@dataclass(frozen=True)
class AttackEntry:
    name: str
    title: str  # for tables and legends
    norm: str  # the distance it minimises: l0 or l2
    budgeted: bool  # success needs at most max_features elements changed
    settings: type  # a frozen dataclass; the config's keys are its fields
    build: Callable[[Any, int, float], Runner]  # (settings, max_features, model's temperature) -> runner
    dtype: Callable[[Any], torch.dtype]  # the dtype the network runs in, from the settings
    default_models: tuple[str, ...] = ("all",)
    description: str = ""


def _jsma(variant: str) -> Callable[[Any, int, float], Runner]:
    def build(s: JSMASettings, max_features: int, temperature: float) -> Runner:
        import foolbox as fb

        from .foolbox_attacks import outcome
        from .jsma import SaliencyMapAttack

        attack = SaliencyMapAttack(
            max_features=max_features,
            variant=variant,
            temperature=temperature,
            numerics=s.numerics,
            arithmetic_order=s.arithmetic_order,
        )

        def run(fmodel: fb.Model, x: torch.Tensor, target: torch.Tensor) -> AttackOutcome:
            r = attack.run_detailed(fmodel, x, fb.criteria.TargetedMisclassification(target))
            return outcome(fmodel, x.to(r.adversarials.dtype), r.adversarials, target, max_features)

        return run

    return build


def _l0_fmn(s: L0FMNSettings, max_features: int, temperature: float) -> Runner:
    from .foolbox_attacks import run_l0_fmn

    def run(fmodel: fb.Model, x: torch.Tensor, target: torch.Tensor) -> AttackOutcome:
        return run_l0_fmn(
            fmodel, x, target, max_features=max_features, steps=s.steps, max_stepsize=s.max_stepsize, gamma=s.gamma
        )

    return run


def _cw_l2(s: CWL2Settings, max_features: int, temperature: float) -> Runner:
    from .foolbox_attacks import run_cw_l2

    def run(fmodel: fb.Model, x: torch.Tensor, target: torch.Tensor) -> AttackOutcome:
        return run_cw_l2(
            fmodel,
            x,
            target,
            binary_search_steps=s.binary_search_steps,
            steps=s.steps,
            stepsize=s.stepsize,
            confidence=s.confidence,
            initial_const=s.initial_const,
            abort_early=s.abort_early,
        )

    return run


def _jsma_dtype(s: JSMASettings) -> torch.dtype:
    from .jsma import attack_dtype

    return attack_dtype(s.numerics)


def _float32(s: Any) -> torch.dtype:
    import torch

    return torch.float32


REGISTRY: dict[str, AttackEntry] = {
    e.name: e
    for e in (
        AttackEntry(
            "jsma_f", "JSMA-F (softmax, T=1)", "l0", True, JSMASettings, _jsma("jsma_f"), _jsma_dtype,
            description="JSMA on the deployed softmax at T=1: the paper's attack",
        ),
        AttackEntry(
            "jsma_f_t", "JSMA on softmax(Z/T)", "l0", True, JSMASettings, _jsma("jsma_f_t"), _jsma_dtype,
            description="JSMA on softmax(Z/T), T the model's training temperature (Carlini & Wagner 2016)",
        ),
        AttackEntry(
            "jsma_z", "JSMA on logits", "l0", True, JSMASettings, _jsma("jsma_z"), _jsma_dtype,
            description="JSMA on the logits Z",
        ),
        AttackEntry(
            "l0_fmn", "L0 FMN (logits)", "l0", True, L0FMNSettings, _l0_fmn, _float32,
            description="Foolbox L0FMNAttack on the logits, targeted; the L0 budget enforced on its result",
        ),
        AttackEntry(
            "cw_l2", "C&W L2 (logits)", "l2", False, CWL2Settings, _cw_l2, _float32,
            default_models=("baseline", HIGHEST_T),
            description="Foolbox L2CarliniWagnerAttack on the logits, targeted; success and mean L2 distance",
        ),
    )
}  # fmt: skip


class UnknownAttack(ValueError):
    pass


def get_attack(name: str) -> AttackEntry:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownAttack(f"unknown attack {name!r}; known: {', '.join(REGISTRY)}") from None


def settings_problems(name: str, values: Mapping[str, Any], where: str) -> list[str]:
    """What is wrong with an attack's settings in the config (``where``: the config field), one line each."""
    if name not in REGISTRY:
        return [
            f"config field '{where}': unknown attack {name!r}; fix: use one of {', '.join(REGISTRY)} "
            "(src/distillbench/attacks/registry.py)"
        ]
    entry = REGISTRY[name]
    fields = {f.name: f for f in dataclasses.fields(entry.settings)}
    out = []
    for key, value in values.items():
        if key in COMMON_KEYS:
            continue
        if key not in fields:
            out.append(
                f"config field '{where}.{key}': not a setting of {name}; fix: remove it, or use one of "
                f"{', '.join(fields)} (and {', '.join(COMMON_KEYS)})"
            )
            continue
        default = fields[key].default
        if isinstance(default, bool):
            ok = isinstance(value, bool)
            want = "true or false"
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
            want = "a positive integer"
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
            want = "a non-negative number"
        else:
            ok = isinstance(value, str)
            want = "a string"
        if key == "numerics":
            ok = value in NUMERICS
            want = " or ".join(NUMERICS) + (" ('defined' was replaced by 'exact')" if value == "defined" else "")
        if key == "arithmetic_order":
            ok = value in ARITHMETIC_ORDERS
            want = " or ".join(ARITHMETIC_ORDERS)
        if not ok:
            out.append(f"config field '{where}.{key}': {value!r} is not valid; fix: expected {want}, e.g. {default!r}")
    return out


def parse_settings(name: str, values: Mapping[str, Any]) -> Any:
    """The settings dataclass of attack ``name`` from the config's mapping (:data:`COMMON_KEYS` ignored)."""
    problems = settings_problems(name, values, f"adaptive.attacks.{name}")
    if problems:
        raise ValueError("; ".join(problems))
    entry = REGISTRY[name]
    return entry.settings(**{k: v for k, v in values.items() if k not in COMMON_KEYS})
