"""Distillation losses, each chosen by name once, outside the training loop.

- :func:`softmax_t`: softmax(Z / T).
- :func:`hard_label_loss`: cross-entropy of softmax(Z/T) against integer labels (Papernot's teachers; T=1 is
  ordinary training).
- :func:`soft_label_loss`: cross-entropy of softmax(Z/T) against probability vectors (Papernot's distilled
  networks, unscaled; by name ``soft_labels``, the probabilities given in the teacher's place).
- :func:`soft_target_loss`: Hinton et al.'s soft term: cross-entropy between the teacher's and the student's
  softmax at T, scaled by T^2 so that its gradients keep their size when T changes.
- :func:`hinton_loss`: Hinton's mixed loss, ``alpha * T^2 * soft + (1 - alpha) * hard`` (hard term at T=1).
- :func:`mimic_loss`: Ba & Caruana's logit regression, ``0.5 * ||Z_student - Z_teacher||^2`` per sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .errors import UserError

__all__ = [
    "LOSSES",
    "LossFn",
    "hard_label_loss",
    "hinton_loss",
    "make_loss",
    "mimic_loss",
    "soft_label_loss",
    "soft_target_loss",
    "softmax_t",
]


def softmax_t(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(Z / T)."""
    return F.softmax(logits / temperature, dim=-1)


def hard_label_loss(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of softmax(Z/T) against integer labels (teacher training)."""
    return F.cross_entropy(logits / temperature, labels)


def soft_label_loss(logits: torch.Tensor, soft_targets: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of softmax(Z/T) against probability vectors (distilled training)."""
    return -(soft_targets * F.log_softmax(logits / temperature, dim=-1)).sum(dim=-1).mean()


def soft_target_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 x cross-entropy of the student's softmax at T against the teacher's softmax at T (Hinton et al. 2015)."""
    t = float(temperature)
    return t * t * soft_label_loss(student_logits, softmax_t(teacher_logits, t), t)


def hinton_loss(
    student_logits: torch.Tensor,
    labels: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """``alpha * T^2 * CE(softmax(Z_t/T), softmax(Z_s/T)) + (1 - alpha) * CE(labels, softmax(Z_s))``."""
    soft = soft_target_loss(student_logits, teacher_logits, temperature)
    hard = hard_label_loss(student_logits, labels, 1.0)
    return alpha * soft + (1.0 - alpha) * hard


def mimic_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Ba & Caruana's L2 regression on the logits: mean over the batch of 0.5 * ||Z_s - Z_t||^2."""
    return 0.5 * (student_logits - teacher_logits).pow(2).sum(dim=-1).mean()


# (student logits, hard labels, teacher logits or None) -> scalar loss
LossFn = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


@dataclass(frozen=True)
class LossSpec:
    """A loss by name: what it needs and what it means (shown in REPORT.md)."""

    name: str
    needs_teacher: bool
    description: str


LOSSES: dict[str, LossSpec] = {
    "hard": LossSpec("hard", False, "cross-entropy on the hard labels (softmax at T)"),
    "soft": LossSpec("soft", True, "T^2 x cross-entropy against the teacher's softmax at T (soft targets only)"),
    "hinton": LossSpec("hinton", True, "alpha x T^2 x soft-target cross-entropy + (1 - alpha) x hard-label CE"),
    "mimic": LossSpec("mimic", True, "L2 regression on the teacher's logits (Ba & Caruana's mimic training)"),
    "soft_labels": LossSpec(
        "soft_labels", True, "cross-entropy of softmax(Z/T) against the teacher's soft labels at T, unscaled (Papernot)"
    ),
}


def _teacher(z: torch.Tensor | None, name: str) -> torch.Tensor:
    if z is None:
        raise UserError(f"loss {name!r} needs the teacher's logits; fix: give the job a teacher")
    return z


def make_loss(name: str, *, temperature: float = 1.0, alpha: float = 0.5) -> LossFn:
    """The loss called ``name`` (one of :data:`LOSSES`) with its settings bound, as ``f(logits, labels, teacher)``."""
    if name not in LOSSES:
        raise UserError(f"unknown loss {name!r}; fix: use one of {sorted(LOSSES)}")
    t = float(temperature)
    if name == "hard":
        return lambda z, y, zt: hard_label_loss(z, y, t)
    if name == "soft":
        return lambda z, y, zt: soft_target_loss(z, _teacher(zt, name), t)
    if name == "hinton":
        return lambda z, y, zt: hinton_loss(z, y, _teacher(zt, name), t, float(alpha))
    if name == "soft_labels":  # the third argument: the teacher's probabilities at T, not its logits
        return lambda z, y, p: soft_label_loss(z, _teacher(p, name), t)
    return lambda z, y, zt: mimic_loss(z, _teacher(zt, name))
