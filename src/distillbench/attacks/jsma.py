"""Jacobian-based Saliency Map Attack (Papernot et al., EuroS&P 2016), pairwise, increasing (theta = +1).

Variants (what the saliency map differentiates):
  * ``jsma_f``   - the softmax at T=1, F(x) = softmax(Z(x)): the attack of Papernot et al. 2016, Fig. 7;
  * ``jsma_z``   - the logits Z(x);
  * ``jsma_f_t`` - softmax(Z(x) / T), the attack Carlini & Wagner used against distilled networks.

Each iteration, over the search domain (features still below the upper bound) it picks the pair
(p, q), p != q, that maximises  alpha * |beta|  subject to alpha > 0 and beta < 0, where
alpha = dF_t/dx_p + dF_t/dx_q and beta = sum_{j != t} (dF_j/dx_p + dF_j/dx_q); it sets both to the
upper bound and removes them from the domain. It stops on success (prediction == target), when the
budget is spent (at most budget // 2 iterations) or when no pair qualifies (failure).
Ties go to the smallest flat index p * n + q (torch.argmax returns the first maximum).

Numerics (``numerics``):
  * ``exact`` (default) - pairs ranked by the gradient of log F_t in float64, equal to exact-arithmetic
    JSMA on a softmax. For a softmax, sum_j F_j = 1, so beta = -alpha and the score alpha * |beta| is
    alpha^2: the best pair is the two largest dF_t/dx_i in the search domain, admissible when their sum
    is positive. dF_t/dx = F_t * d(log F_t)/dx with F_t > 0, so d(log F_t)/dx (a log-softmax, computed
    stably) has the same order, the same signs and neither underflows nor loses precision where F_t
    does: dF_t/dx itself is exactly 0 in float64 beyond logit gaps of about 745 (in float32 about 100).
    Ties go to the smaller feature index (the largest component first, then the largest of the rest),
    which is the first maximum over ordered pairs in row-major order. For ``jsma_z`` (no softmax, no
    cancellation) alpha and beta are differentiated in float64 and scored as below.
  * ``float32`` - float32 network, beta from a backward pass of sum_{j != t} F_j, scored as below: the
    softmax Jacobian as the frameworks of 2016 computed it. Its decisions depend on the order of the
    floating-point operations (see ``arithmetic_order``).

Scoring (``float32``, and ``exact`` for ``jsma_z``): each pair's alpha * |beta| in the attack's dtype,
first maximum in row-major order (:func:`best_pairs`).

Arithmetic order (``arithmetic_order``): ``batched`` (default) evaluates the network on the whole batch of
targets at once; ``per_target`` on each target alone. The two round differently in float32 on the CPU
(other matrix-kernel blocking), so running the ``float32`` attack under both measures how far its
decisions move with rounding alone; ``exact`` decisions do not move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import eagerpy as ep
import torch
from foolbox.attacks.base import MinimizationAttack, get_criterion, raise_if_kwargs, verify_input_bounds
from foolbox.criteria import TargetedMisclassification
from foolbox.distances import l0
from foolbox.models import Model

VARIANTS = ("jsma_f", "jsma_z", "jsma_f_t")
NUMERICS = ("exact", "float32")
ARITHMETIC_ORDERS = ("batched", "per_target")
SOFTMAX_VARIANTS = ("jsma_f", "jsma_f_t")


def attack_dtype(numerics: str) -> torch.dtype:
    """The dtype the network and the inputs are cast to for the attack."""
    if numerics == "exact":
        return torch.float64
    if numerics == "float32":
        return torch.float32
    raise ValueError(unknown_numerics(numerics))


def unknown_numerics(numerics: object) -> str:
    """The error for a numerics not in :data:`NUMERICS`; names the replacement of a retired one."""
    retired = " ('defined' was replaced by 'exact': pairs ranked by the gradient of log F_t)"
    return f"unknown JSMA numerics {numerics!r}; use one of {NUMERICS}" + (retired if numerics == "defined" else "")


class deterministic_kernels:
    """Context manager: TF32 off and deterministic cuDNN while attacking, restored afterwards.

    TF32 (on by default for cuDNN convolutions on Ampere and later) rounds the mantissa to 10 bits,
    which is enough to swap near-equal saliency pairs; autotuned kernels may differ between runs.
    """

    def __enter__(self) -> deterministic_kernels:
        b = torch.backends
        self._saved = (b.cudnn.allow_tf32, b.cuda.matmul.allow_tf32, b.cudnn.deterministic, b.cudnn.benchmark)
        b.cudnn.allow_tf32 = False
        b.cuda.matmul.allow_tf32 = False
        b.cudnn.deterministic = True
        b.cudnn.benchmark = False
        return self

    def __exit__(self, *exc: object) -> None:
        b = torch.backends
        b.cudnn.allow_tf32, b.cuda.matmul.allow_tf32, b.cudnn.deterministic, b.cudnn.benchmark = self._saved


def output_fn(variant: str, temperature: float = 1.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """Map logits to the quantity the saliency map differentiates."""
    if variant == "jsma_f":
        return lambda z: torch.softmax(z, dim=-1)
    if variant == "jsma_z":
        return lambda z: z
    if variant == "jsma_f_t":
        return lambda z: torch.softmax(z / temperature, dim=-1)
    raise ValueError(f"unknown JSMA variant {variant!r}; use one of {VARIANTS}")


@dataclass
class JSMAResult:
    adversarials: torch.Tensor  # same shape as the inputs
    success: torch.Tensor  # bool (B,)
    features_changed: torch.Tensor  # int (B,), L0 distance to the input
    iterations: torch.Tensor  # int (B,)
    final_prediction: torch.Tensor  # int (B,)
    no_pair: torch.Tensor  # bool (B,): stopped because no admissible pair existed


def _check_dtype(logits_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``logits_fn(x)``, refused with a TypeError when the network does not compute in ``x``'s dtype."""
    hint = f"the attack runs in {x.dtype}: cast the model with .to({x.dtype}) (or use numerics='float32')"
    try:
        z = logits_fn(x)
    except RuntimeError as exc:
        if "dtype" in str(exc) or "type" in str(exc):
            raise TypeError(f"{hint} ({exc})") from exc
        raise
    if z.dtype != x.dtype:
        raise TypeError(f"{hint}; the model returned {z.dtype} logits")
    return z


def _logits(logits_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, arithmetic_order: str) -> torch.Tensor:
    """The logits of the batch ``x``, the network evaluated on the whole batch or on each row alone."""
    if arithmetic_order == "per_target":
        return torch.cat([_check_dtype(logits_fn, x[i : i + 1]) for i in range(x.shape[0])])
    return _check_dtype(logits_fn, x)


def _saliency_grads(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    out_fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    arithmetic_order: str = "batched",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (alpha_grad, beta_grad, logits) with the gradients flattened to (B, n).

    alpha_grad = dF_t/dx and beta_grad = sum_{j != t} dF_j/dx, from two vector-Jacobian products
    (the batch rows are independent, so summing over the batch gives per-sample gradients).
    """
    x = x.detach().requires_grad_(True)
    z = _logits(logits_fn, x, arithmetic_order)
    out = out_fn(z)
    onehot = torch.nn.functional.one_hot(target, out.shape[-1]).to(out.dtype)
    f_t = (out * onehot).sum()
    f_other = (out * (1 - onehot)).sum()
    b = x.shape[0]
    g_t = torch.autograd.grad(f_t, x, retain_graph=True)[0]
    g_other = torch.autograd.grad(f_other, x)[0]
    return g_t.reshape(b, -1), g_other.reshape(b, -1), z.detach()


def _log_target_grads(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    temperature: float,
    arithmetic_order: str = "batched",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (d log F_t / dx flattened to (B, n), logits), F = softmax(Z / temperature).

    log_softmax is computed stably (log F_t = z_t/T - logsumexp(z/T)), and its derivative with respect to
    the logits is onehot(t) - F: neither underflows however large the logit gaps.
    """
    x = x.detach().requires_grad_(True)
    z = _logits(logits_fn, x, arithmetic_order)
    log_f = torch.log_softmax(z / temperature, dim=-1)
    (g,) = torch.autograd.grad(log_f.gather(1, target[:, None]).sum(), x)
    return g.reshape(x.shape[0], -1), z.detach()


def top_two(g: torch.Tensor, domain: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The pair rule of JSMA on a softmax in exact arithmetic, on g = d log F_t / dx (B, n).

    The pair is the two largest components of g in the domain; it is admissible when their sum is positive
    (a float64 sum has the sign of the exact sum). Ties go to the smaller index: the first maximum, then the
    first maximum of the rest, which is the first maximum over ordered pairs (p, q) in row-major order.
    Returns p < q and found, each (B,).
    """
    neg_inf = torch.tensor(float("-inf"), dtype=g.dtype, device=g.device)
    masked = torch.where(domain, g, neg_inf)
    first = masked.argmax(dim=1)  # torch.argmax returns the first maximum
    rest = masked.scatter(1, first[:, None], float("-inf"))
    second = rest.argmax(dim=1)
    top = masked.gather(1, first[:, None]).squeeze(1) + rest.gather(1, second[:, None]).squeeze(1)
    found = (domain.sum(dim=1) >= 2) & (top > 0)
    return torch.minimum(first, second), torch.maximum(first, second), found


def _row_scores(
    alpha: torch.Tensor, beta: torch.Tensor, domain: torch.Tensor, rows: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact best partner q for each row p in ``rows`` (B, k): returns (score, q), both (B, k).

    score is -inf where no admissible partner exists. Ties go to the smallest q.
    """
    n = alpha.shape[1]
    a_p = alpha.gather(1, rows)[:, :, None]
    b_p = beta.gather(1, rows)[:, :, None]
    asum = a_p + alpha[:, None, :]
    bsum = b_p + beta[:, None, :]
    ok = (asum > 0) & (bsum < 0) & domain[:, None, :] & domain.gather(1, rows)[:, :, None]
    ok &= rows[:, :, None] != torch.arange(n, device=alpha.device)[None, None, :]
    score = torch.where(ok, asum * bsum.neg(), torch.tensor(float("-inf"), dtype=alpha.dtype, device=alpha.device))
    return score.max(dim=2)


def best_pairs_full(
    alpha: torch.Tensor, beta: torch.Tensor, domain: torch.Tensor, max_elements: int = 1 << 25
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Exhaustive O(n^2) pair search (the definition; used to check :func:`best_pairs`).

    alpha, beta: (B, n) gradients; domain: (B, n) bool. Returns p, q, found, each (B,).
    """
    bsz, n = alpha.shape
    ar = torch.arange(n, device=alpha.device)
    step = max(1, max_elements // max(1, bsz * n))
    vals, qs = [], []
    for r0 in range(0, n, step):
        rows = ar[r0 : r0 + step].expand(bsz, -1)
        v, q = _row_scores(alpha, beta, domain, rows)
        vals.append(v)
        qs.append(q)
    v, q = torch.cat(vals, 1), torch.cat(qs, 1)
    best, p = v.max(dim=1)  # first maximum: smallest p, and _row_scores gave the smallest q
    return p, q.gather(1, p[:, None]).squeeze(1), best > float("-inf")


def _pareto_frontier(u: torch.Tensor, v: torch.Tensor, domain: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row, the domain points (u_i, v_i) that no other domain point weakly dominates.

    Returns (uf, vf), each (B, k) with k the largest frontier size in the batch, padded with -inf.
    Points are sorted by u descending (ties: v descending); a point is on the frontier when its v
    exceeds every v before it, so each point left out has one before it with u and v at least as large.
    """
    neg_inf = torch.tensor(float("-inf"), dtype=u.dtype, device=u.device)
    uu = torch.where(domain, u, neg_inf)
    vv = torch.where(domain, v, neg_inf)
    o1 = vv.argsort(dim=1, descending=True, stable=True)
    o2 = uu.gather(1, o1).argsort(dim=1, descending=True, stable=True)
    order = o1.gather(1, o2)
    us, vs = uu.gather(1, order), vv.gather(1, order)
    prev = torch.cat([torch.full_like(vs[:, :1], float("-inf")), vs[:, :-1].cummax(dim=1).values], dim=1)
    on = (vs > prev) & (us > neg_inf)
    k = max(1, int(on.sum(dim=1).max()))
    pos = (~on).to(torch.int8).argsort(dim=1, stable=True)[:, :k]  # frontier points first
    keep = on.gather(1, pos)
    return torch.where(keep, us.gather(1, pos), neg_inf), torch.where(keep, vs.gather(1, pos), neg_inf)


def _frontier_bound(u: torch.Tensor, v: torch.Tensor, domain: torch.Tensor, max_elements: int) -> torch.Tensor:
    """U_p (see :func:`best_pairs`): (B, n), -inf where row p holds no admissible pair."""
    bsz, n = u.shape
    neg_inf = torch.tensor(float("-inf"), dtype=u.dtype, device=u.device)
    uf, vf = _pareto_frontier(u, v, domain)
    k = uf.shape[1]
    rows = max(1, max_elements // max(1, n * k))
    out = []
    for r0 in range(0, bsz, rows):
        us = u[r0 : r0 + rows, :, None] + uf[r0 : r0 + rows, None, :]
        vs = v[r0 : r0 + rows, :, None] + vf[r0 : r0 + rows, None, :]
        s = torch.where((us > 0) & (vs > 0), us * vs, neg_inf)
        out.append(s.max(dim=2).values)
    bound = torch.cat(out, 0) if out else u.new_empty(0, n)
    return torch.where(domain, bound, neg_inf)


def best_pairs(
    alpha: torch.Tensor, beta: torch.Tensor, domain: torch.Tensor, max_elements: int = 1 << 25, first_rows: int = 32
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Same answer as :func:`best_pairs_full` (ties included), pruned with an exact bound.

    With u = alpha and v = -beta, the score of an admissible pair is (u_p + u_q)(v_p + v_q) with both
    factors positive. Every domain feature q is weakly dominated (u_f >= u_q and v_f >= v_q) by a
    feature f on the Pareto frontier of the domain (:func:`_pareto_frontier`), and rounding is
    monotone, so fl(u_p + u_f) >= fl(u_p + u_q) > 0, likewise for v, and the float score of (p, f) is
    at least that of (p, q): U_p = max over frontier f of the score of (p, f) (f = p allowed) bounds
    row p exactly, in floating point. The frontier is small (for ``jsma_f``, where beta = -alpha up
    to rounding, it is a few features: this is the top-2 selection, kept exact). Rows are scored
    exactly in decreasing order of U_p until the next bound falls below the best score found; a row
    whose bound equals that score is scored only when its index is below the best pair's p (else it
    can at most tie with a larger p), so ties resolve to the smallest (p, q) exactly as the full
    search does, without scoring every tied row (many features with zero gradient tie).
    """
    bsz, n = alpha.shape
    neg_inf = torch.tensor(float("-inf"), dtype=alpha.dtype, device=alpha.device)
    bound = _frontier_bound(alpha, beta.neg(), domain, max_elements)
    bound_sorted, order = bound.sort(dim=1, descending=True, stable=True)

    best = torch.full((bsz,), float("-inf"), dtype=alpha.dtype, device=alpha.device)
    best_p = torch.full((bsz,), n, dtype=torch.int64, device=alpha.device)
    best_q = torch.zeros(bsz, dtype=torch.int64, device=alpha.device)
    done_rows = 0
    chunk = max(1, min(first_rows, n))
    limit = max(1, max_elements // max(1, n))
    while done_rows < n:
        # Rows still able to beat the best score, or to tie it with a smaller p. Rows of equal bound
        # are in increasing index order (stable sort), so these rows are a prefix of ``order``.
        useful = (bound_sorted > neg_inf) & (
            (bound_sorted > best[:, None]) | ((bound_sorted == best[:, None]) & (order < best_p[:, None]))
        )
        need = useful.sum(dim=1)
        todo = need > done_rows
        if not bool(todo.any()):
            break
        idx = todo.nonzero().squeeze(1)
        k = min(chunk, n - done_rows, max(1, limit // max(1, idx.numel())))
        rows = order[idx, done_rows : done_rows + k]
        live = useful[idx, done_rows : done_rows + k]
        v, q = _row_scores(alpha[idx], beta[idx], domain[idx], rows)
        v = torch.where(live, v, neg_inf)
        # Best in this chunk: highest score, then smallest p (then smallest q, from _row_scores).
        m = v.max(dim=1, keepdim=True).values
        p_cand = torch.where((v == m) & (m > neg_inf), rows, torch.full_like(rows, n))
        j = p_cand.argmin(dim=1)
        cp = p_cand.gather(1, j[:, None]).squeeze(1)
        cq = q.gather(1, j[:, None]).squeeze(1)
        cm = m.squeeze(1)
        bi, bp = best[idx], best_p[idx]
        better = (cm > bi) | ((cm == bi) & (cm > neg_inf) & (cp < bp))
        best[idx] = torch.where(better, cm, bi)
        best_p[idx] = torch.where(better, cp, bp)
        best_q[idx] = torch.where(better, cq, best_q[idx])
        done_rows += k
        chunk = min(2 * chunk, n)
    found = best > float("-inf")
    return torch.where(found, best_p, 0), best_q, found


def jsma(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    *,
    max_features: int,
    variant: str = "jsma_f",
    temperature: float = 1.0,
    bounds: tuple[float, float] = (0.0, 1.0),
    max_pair_elements: int = 1 << 25,
    numerics: str = "exact",
    arithmetic_order: str = "batched",
) -> JSMAResult:
    """Run JSMA on a batch; ``logits_fn`` maps inputs to logits. Finished targets leave the batch.

    ``x`` is cast to the dtype of ``numerics`` (float64 for ``exact``); ``logits_fn`` must compute
    in that dtype (a model cast with ``.to(attack_dtype(numerics))``), else a TypeError says so.
    ``arithmetic_order``: see the module docstring.
    """
    out_fn = output_fn(variant, temperature)
    if arithmetic_order not in ARITHMETIC_ORDERS:
        raise ValueError(f"unknown arithmetic order {arithmetic_order!r}; use one of {ARITHMETIC_ORDERS}")
    log_ranked = numerics == "exact" and variant in SOFTMAX_VARIANTS
    log_temperature = temperature if variant == "jsma_f_t" else 1.0
    lo, hi = bounds
    x0 = x.detach().to(attack_dtype(numerics))
    bsz = x0.shape[0]
    n = x0[0].numel()
    adv = x0.clone().reshape(bsz, n)
    domain = adv < hi
    iterations = torch.zeros(bsz, dtype=torch.int64, device=x0.device)
    success = torch.zeros(bsz, dtype=torch.bool, device=x0.device)
    no_pair = torch.zeros(bsz, dtype=torch.bool, device=x0.device)
    pred = torch.zeros(bsz, dtype=torch.int64, device=x0.device)
    active = torch.arange(bsz, device=x0.device)
    max_iter = max_features // 2
    shape = x0.shape[1:]
    it = 0
    while active.numel() > 0:
        xa = adv[active].reshape(-1, *shape)
        ta = target[active]
        if log_ranked:
            ga, z = _log_target_grads(logits_fn, xa, ta, log_temperature, arithmetic_order)
        else:
            ga, gb, z = _saliency_grads(logits_fn, out_fn, xa, ta, arithmetic_order)
        pa = z.argmax(1)
        pred[active] = pa
        done = pa == ta
        success[active] = done
        if it >= max_iter:
            break
        dom = domain[active]
        p, q, found = top_two(ga, dom) if log_ranked else best_pairs(ga, gb, dom, max_pair_elements)
        no_pair[active] = ~found & ~done
        step = found & ~done
        rows = active[step]
        adv[rows, p[step]] = hi
        adv[rows, q[step]] = hi
        domain[rows, p[step]] = False
        domain[rows, q[step]] = False
        iterations[rows] += 1
        active = rows
        it += 1
    adv = adv.clamp_(lo, hi).reshape(x0.shape)
    changed = (adv.reshape(bsz, -1) != x0.reshape(bsz, -1)).sum(1)
    return JSMAResult(adv, success, changed, iterations, pred, no_pair)


class SaliencyMapAttack(MinimizationAttack):
    """JSMA as a Foolbox 3 attack: targeted, L0, pairwise, increasing; stateless.

    Foolbox models return logits; ``variant`` picks what the saliency map is computed on and
    ``numerics`` how it is computed (see the module docstring). For ``numerics="exact"`` wrap a
    float64 copy of the network (``foolbox.PyTorchModel(model.double(), ...)``): the inputs are cast
    to float64 and a model that returns float32 logits is refused. Call :meth:`run` (Foolbox's
    interface: the adversarials) or :meth:`run_detailed` (a :class:`JSMAResult` with per-sample
    bookkeeping) with a :class:`foolbox.criteria.TargetedMisclassification` criterion; apply the
    budget yourself (``foolbox.distances.l0(x, adv) <= max_features``): Foolbox cannot reduce L0 norms.
    """

    distance = l0

    def __init__(
        self,
        max_features: int = 112,
        variant: str = "jsma_f",
        temperature: float = 1.0,
        max_pair_elements: int = 1 << 25,
        numerics: str = "exact",
        arithmetic_order: str = "batched",
    ) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown JSMA variant {variant!r}; use one of {VARIANTS}")
        if numerics not in NUMERICS:
            raise ValueError(unknown_numerics(numerics))
        if arithmetic_order not in ARITHMETIC_ORDERS:
            raise ValueError(f"unknown arithmetic order {arithmetic_order!r}; use one of {ARITHMETIC_ORDERS}")
        if max_features < 2:
            raise ValueError("max_features must be at least 2 (JSMA changes features in pairs)")
        self.max_features = int(max_features)
        self.variant = variant
        self.temperature = float(temperature)
        self.max_pair_elements = int(max_pair_elements)
        self.numerics = numerics
        self.arithmetic_order = arithmetic_order

    def run_detailed(self, model: Model, inputs: Any, criterion: Any) -> JSMAResult:
        x, _ = ep.astensor_(inputs)
        verify_input_bounds(x, model)
        criterion_ = get_criterion(criterion)
        if not isinstance(criterion_, TargetedMisclassification):
            raise ValueError("SaliencyMapAttack is targeted: pass foolbox.criteria.TargetedMisclassification")
        target = ep.astensor(criterion_.target_classes).raw
        if not isinstance(x.raw, torch.Tensor):
            raise TypeError("SaliencyMapAttack needs a PyTorch model (foolbox.PyTorchModel)")

        def logits_fn(t: torch.Tensor) -> torch.Tensor:
            return model(ep.astensor(t)).raw

        with deterministic_kernels():
            return jsma(
                logits_fn,
                x.raw,
                target.to(x.raw.device),
                max_features=self.max_features,
                variant=self.variant,
                temperature=self.temperature,
                bounds=model.bounds,
                max_pair_elements=self.max_pair_elements,
                numerics=self.numerics,
                arithmetic_order=self.arithmetic_order,
            )

    def run(self, model: Model, inputs: Any, criterion: Any, *, early_stop: float | None = None, **kwargs: Any) -> Any:
        raise_if_kwargs(kwargs)
        x, restore_type = ep.astensor_(inputs)
        del inputs
        result = self.run_detailed(model, x, criterion)
        return restore_type(ep.astensor(result.adversarials.to(x.raw.dtype)))
