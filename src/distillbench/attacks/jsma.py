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
  * ``defined`` (default) - the network runs in float64 for the attack, and for the softmax variants
    beta comes from its closed form. sum_j F_j = 1, so sum_j dF_j/dx = 0 and beta = -alpha exactly;
    a backward pass of sum_{j != t} F_j gives -alpha plus rounding noise that, on a confident network
    (F_t ~ 1e-12), is as large as alpha itself in float32, so the admissibility test and the score were
    decided by the last bits (two correct float32 implementations agreed on 82% of targets on a
    50-epoch MNIST network). With beta = -alpha the score is fl(alpha_p + alpha_q)^2 and only alpha
    (float64) decides. For ``jsma_z`` beta = sum_{j != t} dZ_j/dx has no such cancellation; it is
    differentiated in float64.
  * ``float32`` - what the paper's (and most public) implementations do: float32 network, beta from
    a backward pass of sum_{j != t} F_j. Kept to measure how far the cells move.
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
NUMERICS = ("defined", "float32")
SOFTMAX_VARIANTS = ("jsma_f", "jsma_f_t")


def attack_dtype(numerics: str) -> torch.dtype:
    """The dtype the network and the inputs are cast to for the attack."""
    if numerics == "defined":
        return torch.float64
    if numerics == "float32":
        return torch.float32
    raise ValueError(f"unknown JSMA numerics {numerics!r}; use one of {NUMERICS}")


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


def _saliency_grads(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    out_fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    closed_form_beta: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (alpha_grad, beta_grad, logits) with the gradients flattened to (B, n).

    alpha_grad = dF_t/dx and beta_grad = sum_{j != t} dF_j/dx, from two vector-Jacobian products
    (the batch rows are independent, so summing over the batch gives per-sample gradients), or, with
    ``closed_form_beta`` (softmax outputs only), beta_grad = -alpha_grad from one.
    """
    x = x.detach().requires_grad_(True)
    hint = f"the attack runs in {x.dtype}: cast the model with .to({x.dtype}) (or use numerics='float32')"
    try:
        z = logits_fn(x)
    except RuntimeError as exc:
        if "dtype" in str(exc) or "type" in str(exc):
            raise TypeError(f"{hint} ({exc})") from exc
        raise
    if z.dtype != x.dtype:
        raise TypeError(f"{hint}; the model returned {z.dtype} logits")
    out = out_fn(z)
    onehot = torch.nn.functional.one_hot(target, out.shape[-1]).to(out.dtype)
    f_t = (out * onehot).sum()
    b = x.shape[0]
    if closed_form_beta:
        g_t = torch.autograd.grad(f_t, x)[0].reshape(b, -1)
        return g_t, g_t.neg(), z.detach()
    f_other = (out * (1 - onehot)).sum()
    g_t = torch.autograd.grad(f_t, x, retain_graph=True)[0]
    g_other = torch.autograd.grad(f_other, x)[0]
    return g_t.reshape(b, -1), g_other.reshape(b, -1), z.detach()


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
    numerics: str = "defined",
) -> JSMAResult:
    """Run JSMA on a batch; ``logits_fn`` maps inputs to logits. Finished targets leave the batch.

    ``x`` is cast to the dtype of ``numerics`` (float64 for ``defined``); ``logits_fn`` must compute
    in that dtype (a model cast with ``.to(attack_dtype(numerics))``), else a TypeError says so.
    """
    out_fn = output_fn(variant, temperature)
    closed_form_beta = numerics == "defined" and variant in SOFTMAX_VARIANTS
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
        ga, gb, z = _saliency_grads(logits_fn, out_fn, xa, ta, closed_form_beta)
        pa = z.argmax(1)
        pred[active] = pa
        done = pa == ta
        success[active] = done
        if it >= max_iter:
            break
        dom = domain[active]
        p, q, found = best_pairs(ga, gb, dom, max_pair_elements)
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
    ``numerics`` how it is computed (see the module docstring). For ``numerics="defined"`` wrap a
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
        numerics: str = "defined",
    ) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown JSMA variant {variant!r}; use one of {VARIANTS}")
        if numerics not in NUMERICS:
            raise ValueError(f"unknown JSMA numerics {numerics!r}; use one of {NUMERICS}")
        if max_features < 2:
            raise ValueError("max_features must be at least 2 (JSMA changes features in pairs)")
        self.max_features = int(max_features)
        self.variant = variant
        self.temperature = float(temperature)
        self.max_pair_elements = int(max_pair_elements)
        self.numerics = numerics

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
            )

    def run(self, model: Model, inputs: Any, criterion: Any, *, early_stop: float | None = None, **kwargs: Any) -> Any:
        raise_if_kwargs(kwargs)
        x, restore_type = ep.astensor_(inputs)
        del inputs
        result = self.run_detailed(model, x, criterion)
        return restore_type(ep.astensor(result.adversarials.to(x.raw.dtype)))
