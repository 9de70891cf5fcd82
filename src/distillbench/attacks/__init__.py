"""Adversarial attacks (Foolbox 3 attack classes)."""

from .jsma import JSMAResult, SaliencyMapAttack, jsma

__all__ = ["JSMAResult", "SaliencyMapAttack", "jsma"]
