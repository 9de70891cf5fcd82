"""A plain JSMA, one sample at a time, written to be read rather than to be fast.

It follows Papernot et al., "The Limitations of Deep Learning in Adversarial Settings" (EuroS&P 2016),
Algorithms 1 and 3, pairwise, increasing (theta = +1), with the stopping rules that
``distillbench.attacks.jsma.jsma`` documents:

* the search domain is every feature strictly below the upper bound;
* each iteration computes the full Jacobian of the attacked output (one backward pass per class),
  alpha = dF_t/dx (its row t) and beta = sum over the other classes of dF_j/dx (see ``beta_from``);
* it scores every ordered pair (p, q), p != q, both in the domain, with
  score = (alpha_p + alpha_q) * |beta_p + beta_q| where alpha_p + alpha_q > 0 and beta_p + beta_q < 0,
  and takes the first maximum in row-major order (smallest p * n + q);
* both features go to the upper bound and leave the domain;
* it stops on success (prediction == target, checked before every iteration), after
  ``max_features // 2`` iterations, or when no pair qualifies.

Nothing here is shared with the package except the meaning of the variants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class ReferenceResult:
    adversarial: torch.Tensor  # the sample's shape
    success: bool
    iterations: int
    no_pair: bool
    final_prediction: int
    pairs: list[tuple[int, int]]  # the pair chosen in each iteration, in order


def attacked_output(logits: torch.Tensor, variant: str, temperature: float) -> torch.Tensor:
    """What the saliency map differentiates, for one sample's logits (shape (K,))."""
    if variant == "jsma_f":
        return torch.softmax(logits, dim=0)
    if variant == "jsma_z":
        return logits
    if variant == "jsma_f_t":
        return torch.softmax(logits / temperature, dim=0)
    raise ValueError(variant)


def full_jacobian(
    logits_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, variant: str, temperature: float, target: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(J, grad_others, logits) for the single sample ``x`` (no batch dim).

    J is (K, n), row k = d output_k / d x. grad_others = d(sum_{j != target} output_j) / dx, by one
    more backward pass: mathematically the sum of the rows j != target of J, but rounded differently
    (see :func:`reference_jsma`).
    """
    xv = x.detach().clone().unsqueeze(0).requires_grad_(True)
    logits = logits_fn(xv)[0]
    out = attacked_output(logits, variant, temperature)
    rows = []
    for k in range(out.shape[0]):
        (g,) = torch.autograd.grad(out[k], xv, retain_graph=True)
        rows.append(g.reshape(-1))
    others = torch.ones_like(out)
    others[target] = 0
    (g_others,) = torch.autograd.grad((out * others).sum(), xv)
    return torch.stack(rows), g_others.reshape(-1), logits.detach()


def best_pair(alpha: torch.Tensor, beta: torch.Tensor, domain: torch.Tensor) -> tuple[int, int] | None:
    """The full O(n^2) search: every ordered pair scored, first maximum in row-major order."""
    n = alpha.shape[0]
    a = alpha[:, None] + alpha[None, :]  # a[p, q] = alpha_p + alpha_q
    b = beta[:, None] + beta[None, :]
    admissible = (a > 0) & (b < 0)
    admissible &= domain[:, None] & domain[None, :]
    admissible &= ~torch.eye(n, dtype=torch.bool)
    if not bool(admissible.any()):
        return None
    score = torch.where(admissible, a * b.abs(), torch.full_like(a, float("-inf")))
    flat = int(torch.argmax(score.reshape(-1)))  # torch.argmax returns the first maximum
    return flat // n, flat % n


def reference_jsma(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    target: int,
    *,
    max_features: int,
    variant: str = "jsma_f",
    temperature: float = 1.0,
    bounds: tuple[float, float] = (0.0, 1.0),
    beta_from: str = "gradient_of_sum",
    numerics: str | None = None,
) -> ReferenceResult:
    """JSMA on one sample ``x`` (no batch dim) towards class ``target``.

    ``beta_from`` says how beta = sum_{j != t} dF_j/dx is computed: ``"gradient_of_sum"`` (default)
    differentiates sum_{j != t} F_j in one backward pass; ``"sum_of_rows"`` adds up the Jacobian rows
    j != t. They are equal in exact arithmetic but not in float32: for softmax outputs the class
    derivatives sum to zero, beta = -alpha + rounding, and where F_t is small that rounding is large
    next to alpha (the rows j != t are large and cancel), so near-equal pairs can swap. Our batched
    JSMA differentiates the sum in its ``float32`` numerics, as the default here does.
    ``"closed_form"`` (softmax variants only) uses what the rounding hides: sum_j F_j = 1, so
    beta = -alpha exactly.

    ``numerics="defined"`` is the package's default mode written out: ``x`` in float64 (the caller's
    ``logits_fn`` must then compute in float64) and, for the softmax variants, ``beta_from="closed_form"``.
    ``numerics="float32"`` (or None) leaves ``x`` and ``beta_from`` as given.
    """
    if numerics == "defined":
        x = x.double()
        if variant != "jsma_z":
            beta_from = "closed_form"
    elif numerics not in (None, "float32"):
        raise ValueError(numerics)
    if beta_from not in ("gradient_of_sum", "sum_of_rows", "closed_form"):
        raise ValueError(beta_from)
    if beta_from == "closed_form" and variant == "jsma_z":
        raise ValueError("beta has a closed form only for softmax outputs")
    lo, hi = bounds
    shape = x.shape
    adv = x.detach().clone().reshape(-1)
    domain = adv < hi
    pairs: list[tuple[int, int]] = []
    no_pair = False
    for iteration in range(max_features // 2 + 1):
        jac, grad_others, logits = full_jacobian(logits_fn, adv.reshape(shape), variant, temperature, target)
        prediction = int(logits.argmax())
        if prediction == target or iteration == max_features // 2:
            break
        alpha = jac[target]
        if beta_from == "gradient_of_sum":
            beta = grad_others
        elif beta_from == "closed_form":
            beta = -alpha
        else:
            beta = torch.zeros_like(alpha)
            for k in range(jac.shape[0]):
                if k != target:
                    beta = beta + jac[k]
        pair = best_pair(alpha, beta, domain)
        if pair is None:
            no_pair = True
            break
        p, q = pair
        adv[p] = hi
        adv[q] = hi
        domain[p] = False
        domain[q] = False
        pairs.append((p, q))
    adv = adv.clamp(lo, hi).reshape(shape)
    return ReferenceResult(adv, prediction == target, len(pairs), no_pair, prediction, pairs)
