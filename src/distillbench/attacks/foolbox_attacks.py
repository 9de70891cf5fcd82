"""Foolbox 3 attacks on the logits, targeted, with the outcome checked on the returned points.

* ``L0FMNAttack`` (Pintor et al. 2021, fast minimum-norm, L0): Foolbox cannot reduce an L0 norm to a
  budget (a finite epsilon raises ``NotImplementedError`` as soon as one sample exceeds it), so it runs
  unbounded (:meth:`run`) and the budget is applied here: a target counts only when the returned point
  is classified as the target **and** at most ``max_features`` input elements changed. Foolbox 3.3.4's
  projection indexes out of bounds once its epsilon reaches the input size (a target it cannot reach):
  :class:`_L0FMN` clips it.
* ``L2CarliniWagnerAttack`` (Carlini & Wagner, S&P 2017): success when the returned point is classified
  as the target; its L2 distance is reported. Foolbox 3.3.4 returns an **all-zero image** for a sample
  where no adversarial was found (``best_advs`` starts as zeros): such rows are counted as failures and
  their point is replaced by the input, so that a black image that happens to be classified as the
  target is never counted as a success with a huge distortion.

Both work on the logits the Foolbox model returns, in float32 (Carlini's code and Foolbox's default);
the saturated softmax of a distilled network does not reach them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import eagerpy as ep
import foolbox as fb
import torch


@dataclass
class AttackOutcome:
    """Per-target result of one batch, checked on the returned points."""

    adversarials: torch.Tensor  # same shape as the inputs
    success: torch.Tensor  # bool (B,): the attack's success criterion, budget included
    reached_target: torch.Tensor  # bool (B,): the returned point is classified as the target
    l0: torch.Tensor  # int (B,): input elements changed
    l2: torch.Tensor  # float (B,): Euclidean distance to the input
    final_prediction: torch.Tensor  # int (B,)


def outcome(
    fmodel: fb.Model, x: torch.Tensor, adv: torch.Tensor, target: torch.Tensor, max_features: int | None
) -> AttackOutcome:
    """Classify the returned points and measure them; with ``max_features``, success also needs
    ``l0 <= max_features`` (the L0 budget, enforced on the result)."""
    with torch.no_grad():
        pred = fmodel(adv).argmax(-1)
    diff = (adv - x).reshape(len(x), -1)
    l0 = (diff != 0).sum(1)
    l2 = diff.double().norm(dim=1)
    reached = pred == target
    success = reached & (l0 <= max_features) if max_features is not None else reached.clone()
    return AttackOutcome(adv, success, reached, l0, l2, pred)


class _L0FMN(fb.attacks.L0FMNAttack):
    """Foolbox 3.3.4's ``L0FMNAttack`` with one fix: its projection indexes the sorted magnitudes at position
    ``epsilon``, and epsilon grows up to the number of input elements d while no adversarial is found, so a hard
    target stopped the whole batch with ``IndexError: index d is out of bounds`` (seen here on a 16-element
    model). Position d - 1 already keeps every element, so epsilon is clipped to it."""

    def project(self, x: Any, x0: Any, epsilon: Any) -> Any:
        d = int(x0.reshape((len(x0), -1)).shape[1])
        return super().project(x, x0, ep.minimum(epsilon, float(d - 1)))


def run_l0_fmn(
    fmodel: fb.Model,
    x: torch.Tensor,
    target: torch.Tensor,
    *,
    max_features: int | None,
    steps: int = 100,
    max_stepsize: float = 1.0,
    gamma: float = 0.05,
) -> AttackOutcome:
    """Targeted L0 fast minimum-norm attack on the logits; the budget is enforced on its result."""
    attack = _L0FMN(steps=steps, max_stepsize=max_stepsize, gamma=gamma)
    adv = attack.run(fmodel, x, fb.criteria.TargetedMisclassification(target))
    return outcome(fmodel, x, adv, target, max_features)


def run_cw_l2(
    fmodel: fb.Model,
    x: torch.Tensor,
    target: torch.Tensor,
    *,
    binary_search_steps: int = 9,
    steps: int = 1000,
    stepsize: float = 1e-2,
    confidence: float = 0.0,
    initial_const: float = 1e-3,
    abort_early: bool = True,
) -> AttackOutcome:
    """Targeted Carlini & Wagner L2 attack on the logits (no budget: success and L2 distance)."""
    attack = fb.attacks.L2CarliniWagnerAttack(
        binary_search_steps=binary_search_steps,
        steps=steps,
        stepsize=stepsize,
        confidence=confidence,
        initial_const=initial_const,
        abort_early=abort_early,
    )
    adv = attack.run(fmodel, x, fb.criteria.TargetedMisclassification(target))
    flat_adv, flat_x = adv.reshape(len(x), -1), x.reshape(len(x), -1)
    not_found = (flat_adv == 0).all(1) & ~(flat_x == 0).all(1)  # Foolbox's zero placeholder: nothing found
    adv = torch.where(not_found.reshape(-1, *[1] * (x.dim() - 1)), x, adv)
    out = outcome(fmodel, x, adv, target, None)
    out.success &= ~not_found
    out.reached_target &= ~not_found
    return out
