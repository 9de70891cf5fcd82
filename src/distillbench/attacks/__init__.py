"""Adversarial attacks (Foolbox 3 attack classes) and the registry of attacks chosen by name.

Imported lazily: ``distillbench.attacks.registry`` (read when a config is validated) does not load torch
or Foolbox; ``from distillbench.attacks import SaliencyMapAttack`` still works.
"""

from __future__ import annotations

from typing import Any

__all__ = ["JSMAResult", "SaliencyMapAttack", "jsma"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import jsma as _jsma_module

        return getattr(_jsma_module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
