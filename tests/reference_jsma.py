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

With ``numerics="exact"`` it is an oracle for the package's ``exact`` numerics: the logit Jacobian dZ/dx
comes from autograd in float64 (one backward pass per class), and everything after it (the softmax, its
derivatives dF_k/dx, alpha, beta = sum over j != t of dF_j/dx, each pair's score) is computed in arbitrary
precision (mpmath), with enough digits that beta's cancellation (beta = -alpha + terms of size 1) and
F_t's size (exp(-gap), far below float64's range at logit gaps in the thousands) cost nothing. See
:func:`exact_scores` and :func:`exact_best_pair`.

Nothing here is shared with the package except the meaning of the variants.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import numpy as np
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


class OracleUndecided(RuntimeError):
    """More near-best pairs than the oracle scores exactly (see :func:`exact_best_pair`)."""


def _dyadic(values: np.ndarray) -> tuple[list[int], int]:
    """float64 values as exact integers m_i with value_i = m_i / 2**shift (one shift for all)."""
    mant, exp = np.frexp(values)  # value = mant * 2**exp, 0.5 <= |mant| < 1 (mant = 0 for 0)
    ints = (mant * 2.0**53).astype(np.int64)  # exact: mant has 53 bits
    nz = values != 0
    shift = int(53 - exp[nz].min()) if nz.any() else 0
    shift = max(shift, 0)
    return [int(m) << (int(e) - 53 + shift) for m, e in zip(ints.tolist(), exp.tolist(), strict=True)], shift


def exact_scores(
    jac_z: torch.Tensor, logits: torch.Tensor, target: int, variant: str, temperature: float
) -> tuple[list[int], list[int], int]:
    """alpha_i and beta_i for every feature from the float64 logit Jacobian, to arbitrary precision.

    ``jac_z`` (K, n): dZ_k/dx (float64, taken as exact); ``logits`` (K,). For the softmax variants
    F = softmax(Z / T) and dF_k/dx = F_k (dZ_k/dx - sum_m F_m dZ_m/dx) / T; alpha = dF_t/dx and beta the
    sum of dF_j/dx over j != t, each term computed (no closed form). F is computed by mpmath and rounded
    to P bits, P = 128 bits beyond F_t's size (about exp(-gap / T)); everything after it is exact integer
    (dyadic) arithmetic, so beta's cancellation (beta = -alpha + terms of size 1) leaves it accurate to
    about 2**-128 of alpha. Returns (alpha, beta, scale) as integers: the true values are alpha_i / D and
    beta_i / D for one D > 0, and ``scale`` / D is of alpha's size (F_t for the softmax variants).
    """
    jac = jac_z.detach().cpu().double().numpy()
    z = logits.detach().cpu().double().numpy()
    k_classes, n = jac.shape
    ints, shift = _dyadic(jac.reshape(-1))
    cols = [ints[k * n : (k + 1) * n] for k in range(k_classes)]  # cols[k][i] = dZ_k/dx_i * 2**shift
    if variant == "jsma_z":
        alpha = list(cols[target])
        beta = [sum(cols[j][i] for j in range(k_classes) if j != target) for i in range(n)]
        return alpha, beta, 1 << shift
    if variant not in ("jsma_f", "jsma_f_t"):
        raise ValueError(variant)
    t_scale = temperature if variant == "jsma_f_t" else 1.0
    spread = (float(z.max()) - float(z[target])) / t_scale
    bits = 128 + int(math.ceil(spread / math.log(2))) + 8
    with mpmath.workprec(bits + 64):
        zs = [mpmath.mpf(float(v)) / t_scale for v in z]
        top = max(zs)
        e = []
        for v in zs:  # exp(v - top) to an absolute 2**-(bits + 64): fewer bits for the smaller ones
            with mpmath.workprec(max(64, bits + 64 - int((top - v) / mpmath.log(2)))):
                e.append(mpmath.exp(v - top))
        total = mpmath.fsum(e)
        f = [int(mpmath.floor(v / total * mpmath.mpf(2) ** bits)) for v in e]  # F_k * 2**bits
    # The 1/T of dZ/T is a common positive factor of alpha and beta: it changes no decision, so it is left out.
    fj = np.array(f, dtype=object)[:, None]
    d = np.array(cols, dtype=object)  # (K, n)
    mean = (fj * d).sum(axis=0)  # sum_m F_m dZ_m/dx, scale 2**(bits + shift)
    dfs = fj * ((d << bits) - mean[None, :])  # dF_k/dx * T, scale 2**(2 * bits + shift)
    alpha = dfs[target].tolist()
    beta = (dfs.sum(axis=0) - dfs[target]).tolist()
    return alpha, beta, f[target] << (bits + shift)


def exact_best_pair(
    alpha: list[int], beta: list[int], scale: int, domain: torch.Tensor, max_exact: int = 20000
) -> tuple[int, int] | None:
    """The ordered pair (p, q), p != q, both in the domain, with alpha_p + alpha_q > 0 and beta_p + beta_q < 0
    that maximises (alpha_p + alpha_q) * |beta_p + beta_q|, decided exactly (integers from
    :func:`exact_scores`); ties go to the first in row-major order (smallest p * n + q). None when no pair
    qualifies.

    alpha / scale and beta / scale, rounded to float64, score every pair approximately; only the pairs
    whose approximate score is within a bound of the best approximate one (the bound covers float64's
    rounding with a factor of 1e4 to spare; sums too near 0 to tell their sign count as admissible), are
    then scored exactly. More than ``max_exact`` of them raise :class:`OracleUndecided`.
    """
    dom = domain.detach().cpu().numpy().astype(bool)
    u = np.array([a / scale for a in alpha])  # int / int: correctly rounded
    v = np.array([-b / scale for b in beta])
    keep = np.flatnonzero(dom)  # only domain features can pair
    u, v = u[keep], v[keep]
    su = u[:, None] + u[None, :]
    sv = v[:, None] + v[None, :]
    # Every float sum and product here is within err of its exact value (rounding of u, v, the sum and
    # the product, bounded with a factor of 1e4 to spare), so a pair can be the best only if its float
    # score is within 2 * err of the best float score, and an admissible sum is > -tol in floats.
    eps = 1e4 * np.finfo(np.float64).eps
    tol_u, tol_v = 2 * eps * float(np.abs(u).max(initial=0)), 2 * eps * float(np.abs(v).max(initial=0))
    err = 4 * eps * float(np.abs(u).max(initial=0)) * float(np.abs(v).max(initial=0))
    maybe = (su > -tol_u) & (sv > -tol_v)
    np.fill_diagonal(maybe, False)
    if not maybe.any():
        return None
    approx = np.where(maybe, np.maximum(su, 0) * np.maximum(sv, 0), -np.inf)
    cand = approx >= float(approx.max()) - 2 * err
    ps, qs = np.nonzero(cand)  # row-major order
    ps, qs = keep[ps], keep[qs]  # feature indices, still in row-major order
    if len(ps) > max_exact:
        raise OracleUndecided(f"{len(ps)} near-best pairs")
    win, win_score = None, 0
    for p, q in zip(ps.tolist(), qs.tolist(), strict=True):
        a = alpha[p] + alpha[q]
        b = beta[p] + beta[q]
        if a > 0 and b < 0 and (win is None or a * -b > win_score):
            win, win_score = (p, q), a * -b
    return win


def logit_jacobian(
    logits_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(dZ/dx as (K, n), logits (K,)) for the single sample ``x``: K copies of ``x`` in one batch, the
    backward pass of the sum of the diagonal (row k of the batch gives dZ_k/dx; the rows are independent)."""
    with torch.no_grad():
        k = logits_fn(x.detach().unsqueeze(0)).shape[1]
    xs = x.detach().unsqueeze(0).repeat(k, *([1] * x.dim())).requires_grad_(True)
    z = logits_fn(xs)
    (g,) = torch.autograd.grad(z.diagonal().sum(), xs)
    return g.reshape(k, -1), z[0].detach()


def _exact_step(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    adv: torch.Tensor,
    shape: torch.Size,
    domain: torch.Tensor,
    variant: str,
    temperature: float,
    target: int,
) -> tuple[int, tuple[int, int] | None]:
    """(prediction, the oracle's pair) at ``adv``, from the float64 logit Jacobian."""
    jac_z, logits = logit_jacobian(logits_fn, adv.reshape(shape))
    prediction = int(logits.argmax())
    if prediction == target:
        return prediction, None
    alpha, beta, scale = exact_scores(jac_z, logits, target, variant, temperature)
    return prediction, exact_best_pair(alpha, beta, scale, domain)


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

    ``numerics="exact"``: the oracle of the package's ``exact`` numerics (see the module docstring);
    ``x`` is cast to float64 and ``logits_fn`` must compute in float64; ``beta_from`` is not used.
    ``numerics="float32"`` (or None) leaves ``x`` and ``beta_from`` as given.
    """
    if numerics == "exact":
        x = x.double()
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
        if numerics == "exact":
            prediction, pair = _exact_step(logits_fn, adv, shape, domain, variant, temperature, target)
            if prediction == target or iteration == max_features // 2:
                break
        else:
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
