"""Unit tests of distillbench.attacks.jsma on small hand-built models (fast, no data)."""

from __future__ import annotations

import copy
import importlib

import foolbox as fb
import pytest
import torch
from torch import nn

from reference_jsma import reference_jsma

J = importlib.import_module("distillbench.attacks.jsma")  # the package re-exports a function of that name
best_pairs, best_pairs_full = J.best_pairs, J.best_pairs_full


def jsma(*args, **kwargs):
    """The package's JSMA in its float32 numerics (these small float32 models; ``exact`` has its own tests)."""
    kwargs.setdefault("numerics", "float32")
    return J.jsma(*args, **kwargs)


def linear_model(weight, bias, scale: float = 1.0) -> nn.Module:
    """Z(x) = scale * (W x + b) on flat inputs of shape (B, n)."""
    lin = nn.Linear(len(weight[0]), len(weight))
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(weight, dtype=torch.float32) * scale)
        lin.bias.copy_(torch.tensor(bias, dtype=torch.float32) * scale)
    lin.requires_grad_(False)
    return lin


# alpha = W[2] (target 2), beta = W[0] + W[1]. Pair scores (alpha_p + alpha_q) * |beta_p + beta_q|:
# (1, 4): 5 * 5 = 25 is the best; without feature 1, (0, 4): 3 * 4 = 12 is; (0, 1) scores 12 too.
ALPHA = [1.0, 3.0, 0.0, -1.0, 2.0, 0.5]
BETA = [-1.0, -2.0, 1.0, 1.0, -3.0, 0.0]
KNOWN = linear_model([BETA, [0.0] * 6, ALPHA], [1.0, 0.0, 0.0])  # at x = 0 it predicts class 0


def test_known_pair_is_chosen():
    x = torch.zeros(1, 6)
    r = jsma(KNOWN, x, torch.tensor([2]), max_features=10, variant="jsma_z")
    assert r.success.tolist() == [True]
    assert r.iterations.tolist() == [1]
    assert r.adversarials[0].tolist() == [0, 1, 0, 0, 1, 0]
    p, q, found = best_pairs(torch.tensor([ALPHA]), torch.tensor([BETA]), torch.ones(1, 6, dtype=torch.bool))
    assert (p.item(), q.item(), found.item()) == (1, 4, True)


def test_saturated_feature_is_not_in_the_domain():
    model = linear_model([BETA, [0.0] * 6, ALPHA], [10.0, 0.0, 0.0])
    x = torch.zeros(1, 6)
    x[0, 1] = 1.0  # already at the upper bound: the best pair (1, 4) is not available
    r = jsma(model, x, torch.tensor([2]), max_features=2, variant="jsma_z")
    assert r.adversarials[0].tolist() == [1, 1, 0, 0, 1, 0]  # (0, 4) was chosen
    assert r.features_changed.tolist() == [2]


def test_ties_go_to_the_smallest_flat_index():
    # All features identical: every pair scores 4; the full search returns the first, (0, 1).
    a = torch.full((1, 5), 1.0)
    b = torch.full((1, 5), -1.0)
    p, q, found = best_pairs(a, b, torch.ones(1, 5, dtype=torch.bool))
    assert (p.item(), q.item(), found.item()) == (0, 1, True)
    dom = torch.tensor([[False, True, False, True, True]])
    p, q, _ = best_pairs(a, b, dom)
    assert (p.item(), q.item()) == (1, 3)


def _random_case(seed: int, n: int = 24, k: int = 4, b: int = 16):
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(n, 16), nn.ReLU(), nn.Linear(16, k))
    for m in model:
        if isinstance(m, nn.Linear):
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g))
    model.eval().requires_grad_(False)
    x = torch.rand(b, n, generator=g)
    x[x > 0.8] = 1.0  # some saturated features
    target = torch.randint(0, k, (b,), generator=g)
    return model, x, target


@pytest.mark.parametrize("variant", J.VARIANTS)
@pytest.mark.parametrize("budget", [2, 5, 8, 40])
def test_budget_and_no_feature_twice(variant, budget):
    for seed in range(3):
        model, x, target = _random_case(seed)
        r = jsma(model, x, target, max_features=budget, variant=variant, temperature=3.0)
        assert (r.features_changed <= budget).all()
        assert (r.iterations <= budget // 2).all()
        # each iteration moves two features that were below the bound, never one already moved
        assert torch.equal(r.features_changed, 2 * r.iterations)
        moved = r.adversarials != x
        assert (x[moved] < 1.0).all() and (r.adversarials[moved] == 1.0).all()
        with torch.no_grad():
            pred = model(r.adversarials).argmax(1)
        assert torch.equal(pred, r.final_prediction)
        assert torch.equal(r.success, pred == target)
        assert not (r.success & r.no_pair).any()


def test_stops_when_no_pair_qualifies():
    # The target's gradient is negative everywhere: alpha_p + alpha_q > 0 never holds.
    model = linear_model([[1.0] * 4, [-1.0] * 4], [1.0, 0.0])
    x = torch.zeros(1, 4)
    r = jsma(model, x, torch.tensor([1]), max_features=20, variant="jsma_z")
    assert r.no_pair.tolist() == [True] and r.success.tolist() == [False]
    assert r.iterations.tolist() == [0] and torch.equal(r.adversarials, x)


def test_stops_when_the_domain_is_used_up():
    # Every pair qualifies but the target cannot be reached: two iterations use all four features.
    model = linear_model([[-0.1] * 4, [0.1] * 4], [10.0, 0.0])
    x = torch.zeros(1, 4)
    r = jsma(model, x, torch.tensor([1]), max_features=100, variant="jsma_z")
    assert r.iterations.tolist() == [2] and r.features_changed.tolist() == [4]
    assert r.no_pair.tolist() == [True] and r.success.tolist() == [False]


def test_already_at_target_changes_nothing():
    x = torch.zeros(1, 6)
    r = jsma(KNOWN, x, torch.tensor([0]), max_features=10)
    assert r.success.tolist() == [True] and r.iterations.tolist() == [0] and torch.equal(r.adversarials, x)


def _pair_cases():
    g = torch.Generator().manual_seed(7)
    for i in range(24):
        bsz, n = [(3, 2), (5, 17), (4, 64), (2, 200)][i % 4]
        a = torch.randn(bsz, n, generator=g)
        b = torch.randn(bsz, n, generator=g)
        kind = i % 6
        if kind == 1:  # softmax-like: beta = -alpha up to rounding
            b = -a + 1e-7 * torch.randn(bsz, n, generator=g)
        elif kind == 2:  # many exact ties
            a = torch.randint(-2, 3, (bsz, n), generator=g).float()
            b = torch.randint(-2, 3, (bsz, n), generator=g).float()
        elif kind == 3:  # scores underflow to 0 in float32
            a = 1e-25 * a
            b = -a.clone()
        elif kind == 4:  # zero gradients on half the features (saturated or dead)
            a[:, : n // 2] = 0
            b[:, : n // 2] = 0
        dom = torch.rand(bsz, n, generator=g) > [0.0, 0.3, 0.9][i % 3]
        dom[0] = False  # an empty domain
        if n > 2:
            dom[1] = False
            dom[1, 1] = True  # a single feature: no pair
        yield a, b, dom


def test_best_pairs_matches_full_search():
    for a, b, dom in _pair_cases():
        for kwargs in ({}, {"first_rows": 1, "max_elements": 64}):
            got = best_pairs(a, b, dom, **kwargs)
            want = best_pairs_full(a, b, dom)
            for x, y in zip(got, want, strict=True):
                assert torch.equal(x, y), (got, want)


def test_best_pairs_on_softmax_gradients():
    """jsma_f's gradients (softmax: beta = -alpha up to rounding): exact search, small frontier.

    A plain top-2 selection of alpha is not used: with beta only approximately -alpha it can pick a
    different pair than the full search (it ignores which sum rounds larger); the Pareto frontier
    bound keeps the search exact and is about as cheap, since the frontier holds few features.
    """
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 10 * 10, 10)).requires_grad_(False)
    x = torch.rand(32, 1, 12, 12)
    x[x > 0.9] = 1.0
    target = torch.randint(0, 10, (32,))
    ga, gb, _ = J._saliency_grads(model, J.output_fn("jsma_f"), x, target)
    dom = x.reshape(32, -1) < 1.0
    for got, want in zip(best_pairs(ga, gb, dom), best_pairs_full(ga, gb, dom), strict=True):
        assert torch.equal(got, want)
    uf, _ = J._pareto_frontier(ga, gb.neg(), dom)
    frontier = (uf > float("-inf")).sum(1).float()
    assert frontier.mean() < 0.1 * dom.shape[1]


def test_variants_on_saturating_logits():
    """Huge logits (like a distilled network at T=1): softmax(Z) saturates, its gradients are exactly
    zero in float32 and jsma_f stalls for want of an admissible pair; softmax(Z/T) and Z do not."""
    big = linear_model([BETA, [0.0] * 6, ALPHA], [1.0, 0.0, 0.0], scale=1000.0)
    x = torch.zeros(1, 6)
    t = torch.tensor([2])
    f = jsma(big, x, t, max_features=10, variant="jsma_f")
    assert f.success.tolist() == [False] and f.no_pair.tolist() == [True] and f.iterations.tolist() == [0]
    ft = jsma(big, x, t, max_features=10, variant="jsma_f_t", temperature=1000.0)
    assert ft.success.tolist() == [True]
    z = jsma(big, x, t, max_features=10, variant="jsma_z")
    assert z.success.tolist() == [True] and z.adversarials[0].tolist() == [0, 1, 0, 0, 1, 0]


def test_f_t_at_temperature_one_is_f():
    model, x, target = _random_case(11)
    a = jsma(model, x, target, max_features=12, variant="jsma_f")
    b = jsma(model, x, target, max_features=12, variant="jsma_f_t", temperature=1.0)
    assert torch.equal(a.adversarials, b.adversarials) and torch.equal(a.success, b.success)


@pytest.mark.parametrize("variant", J.VARIANTS)
def test_batched_equals_reference_on_random_models(variant):
    for seed in range(2):
        model, x, target = _random_case(100 + seed, b=8)
        r = jsma(model, x, target, max_features=10, variant=variant, temperature=3.0)
        for i in range(len(x)):
            ref = reference_jsma(model, x[i], int(target[i]), max_features=10, variant=variant, temperature=3.0)
            assert ref.success == bool(r.success[i])
            assert ref.iterations == int(r.iterations[i])
            assert ref.no_pair == bool(r.no_pair[i])
            assert torch.equal(ref.adversarial, r.adversarials[i])


def test_unknown_variant():
    with pytest.raises(ValueError):
        J.output_fn("jsma_x")
    with pytest.raises(ValueError):
        J.SaliencyMapAttack(variant="jsma_x")


def test_foolbox_attack_matches_function():
    model, x, target = _random_case(5)
    fmodel = fb.PyTorchModel(model, bounds=(0.0, 1.0))
    attack = J.SaliencyMapAttack(max_features=10, variant="jsma_z", numerics="float32")
    crit = fb.criteria.TargetedMisclassification(target)
    adv = attack.run(fmodel, x, crit)
    r = jsma(model, x, target, max_features=10, variant="jsma_z")
    assert torch.equal(adv, r.adversarials)
    assert torch.equal(attack.run_detailed(fmodel, x, crit).success, r.success)
    with pytest.raises(ValueError):
        attack.run(fmodel, x, fb.criteria.Misclassification(target))


# ----------------------------------------------------------------------------------------------
# numerics="exact": float64 network, pairs ranked by the gradient of log F_t for the softmax variants
def _confident_case(seed: int, b: int = 12, scale: float = 40.0):
    """A random net whose logits are scaled up: top-2 gaps of tens (like a 50-epoch network) or, with a
    large ``scale``, of thousands (like a distilled network at T=1)."""
    model, x, target = _random_case(seed, b=b)
    confident = nn.Sequential(model, _Scale(scale)).eval().requires_grad_(False)
    return confident, x, target


class _Scale(nn.Module):
    def __init__(self, s: float) -> None:
        super().__init__()
        self.s = s

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.s


def _gaps(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        top2 = model(x.double()).topk(2, dim=1).values
    return top2[:, 0] - top2[:, 1]


def test_exact_refuses_a_float32_model():
    model, x, target = _random_case(7)
    with pytest.raises(TypeError, match="float64"):
        J.jsma(model, x, target, max_features=10)  # numerics="exact" is the default


def test_defined_names_its_replacement():
    with pytest.raises(ValueError, match="replaced by 'exact'"):
        J.SaliencyMapAttack(numerics="defined")


def test_top_two_is_the_first_best_ordered_pair():
    """top_two on g equals the full search on (alpha, beta) = (g, -g), whose score is (g_p + g_q)^2: the
    same pair, ties included (small integers: exact sums, many ties), and the same 'no pair'."""
    g = torch.Generator().manual_seed(5)
    for n in (2, 3, 7, 40):
        a = torch.randint(-3, 4, (64, n), generator=g).double()
        dom = torch.rand(64, n, generator=g) > 0.3
        dom[0] = True
        dom[1] = False
        a[2] = -1.0  # no positive sum
        p, q, found = J.top_two(a, dom)
        fp, fq, ffound = best_pairs_full(a, -a, dom)
        assert torch.equal(found, ffound)
        assert torch.equal(p[found], fp[found]) and torch.equal(q[found], fq[found])


def test_exact_ranks_as_the_softmax_gradient_where_that_does_not_underflow():
    """Where dF_t/dx is representable (gaps of tens), the pair of top_two on d log F_t/dx is the best
    pair of the full search on dF_t/dx with beta = -alpha."""
    model, x, target = _confident_case(21, scale=12.0)
    m64 = model.double()
    g, _ = J._log_target_grads(m64, x.double(), target, 1.0)
    a, _, _ = J._saliency_grads(m64, J.output_fn("jsma_f"), x.double(), target)
    dom = x.reshape(len(x), -1) < 1.0
    p, q, found = J.top_two(g, dom)
    fp, fq, ffound = best_pairs_full(a, -a, dom)
    assert torch.equal(found, ffound) and found.any()
    assert torch.equal(p[found], fp[found]) and torch.equal(q[found], fq[found])


def test_autograd_beta_is_rounding_noise_in_float32():
    """Why beta is not differentiated for the exact numerics: autograd's beta is -alpha plus rounding of
    1 - F_t, noise ~ eps / F_t relative to alpha, as large as alpha in float32 once F_t < ~1e-7."""
    model, x, target = _confident_case(21, scale=12.0)

    def noise(dtype: torch.dtype) -> torch.Tensor:
        a, b, _ = J._saliency_grads(model.to(dtype), J.output_fn("jsma_f"), x.to(dtype), target)
        return ((a + b).abs().amax(1) / a.abs().amax(1)).double()

    with torch.no_grad():
        z = model.double()(x.double())
    f_t = torch.softmax(z, 1).gather(1, target[:, None]).squeeze(1)
    attacked = z.argmax(1) != target
    n64, n32 = noise(torch.float64), noise(torch.float32)
    moderate = (f_t > 1e-8) & attacked
    tiny = ~moderate & attacked & torch.isfinite(n32)  # (nan: float32 alpha underflowed to exactly 0)
    assert moderate.any() and tiny.any()
    assert float(n64[moderate].max()) < 1e-6
    assert float(n32[tiny].min()) > 1e-2


@pytest.mark.parametrize("variant", J.VARIANTS)
@pytest.mark.parametrize("order", J.ARITHMETIC_ORDERS)
def test_exact_does_not_depend_on_the_batch(variant, order):
    """Each target alone and all of them in one batch: identical adversarials (float32 rounds a batch
    and a single sample differently, which swaps near-equal pairs; exact numerics must not)."""
    model, x, target = _confident_case(33, b=16)
    m64 = model.double()
    whole = J.jsma(m64, x, target, max_features=16, variant=variant, temperature=5.0, arithmetic_order=order)
    for i in range(len(x)):
        one = J.jsma(m64, x[i : i + 1], target[i : i + 1], max_features=16, variant=variant, temperature=5.0)
        assert torch.equal(one.adversarials[0], whole.adversarials[i])
        assert bool(one.success[0]) == bool(whole.success[i])


def _assert_every_decision_as_oracle(m64, x, target, budget, variant, temperature):
    """Each target: the package's adversarial after k iterations (budget 2k) is the oracle's after its
    first k pairs, for every k, and both stop alike. Returns the oracle's results."""
    refs = [
        reference_jsma(
            m64, x[i], int(target[i]), max_features=budget, variant=variant, temperature=temperature, numerics="exact"
        )
        for i in range(len(x))
    ]
    for k in range(1, budget // 2 + 1):
        r = J.jsma(m64, x, target, max_features=2 * k, variant=variant, temperature=temperature)
        for i, ref in enumerate(refs):
            want = x[i].double().clone().reshape(-1)
            for p, q in ref.pairs[:k]:
                want[p] = want[q] = 1.0
            assert torch.equal(r.adversarials[i].reshape(-1), want), (i, k, ref.pairs)
            assert int(r.iterations[i]) == min(k, ref.iterations)
    assert [bool(v) for v in r.success] == [ref.success for ref in refs]
    assert [bool(v) for v in r.no_pair] == [ref.no_pair for ref in refs]
    return refs


@pytest.mark.parametrize("variant", J.VARIANTS)
def test_exact_equals_oracle(variant):
    """Gaps of tens: every decision as the arbitrary-precision oracle's (tests/reference_jsma.py)."""
    model, x, target = _confident_case(44, b=10)
    _assert_every_decision_as_oracle(model.double(), x, target, 12, variant, 5.0)


def _old_squared_score(m64, x, target, budget):
    """The rule the exact numerics replaced: dF_t/dx in float64, pairs scored (alpha_p + alpha_q)^2."""
    return [
        reference_jsma(m64, x[i].double(), int(target[i]), max_features=budget, beta_from="closed_form")
        for i in range(len(x))
    ]


def test_exact_equals_oracle_at_logit_gaps_in_the_thousands():
    """A distilled network's regime (gaps 1000-3000, far beyond float64's exp range): the exact numerics
    take every decision as the oracle does, and make progress; dF_t/dx in float64 is exactly 0 there, so the
    squared-score float64 rule finds no admissible pair and decides differently."""
    model, x, target = _confident_case(46, b=12, scale=300.0)
    m64 = model.double()
    gaps = _gaps(m64, x)
    print(f"top-2 logit gaps: min {float(gaps.min()):.0f} median {float(gaps.median()):.0f}")
    assert float(gaps.min()) > 745 and float(gaps.median()) > 1000  # exp(-745) is below float64's range
    refs = _assert_every_decision_as_oracle(m64, x, target, 12, "jsma_f", 1.0)
    assert sum(len(r.pairs) for r in refs) > len(refs)
    old = _old_squared_score(m64, x, target, 12)
    assert [o.pairs for o in old] != [r.pairs for r in refs]


def test_foolbox_attack_exact_mode():
    model, x, target = _confident_case(55)
    fmodel = fb.PyTorchModel(model.double(), bounds=(0.0, 1.0))
    attack = J.SaliencyMapAttack(max_features=10, variant="jsma_f")
    detailed = attack.run_detailed(fmodel, x, fb.criteria.TargetedMisclassification(target))
    want = J.jsma(model.double(), x, target, max_features=10, variant="jsma_f")
    assert torch.equal(detailed.adversarials, want.adversarials)
    assert not hasattr(attack, "last_result")  # stateless, as Foolbox attacks are
    with pytest.raises(ValueError, match="numerics"):
        J.SaliencyMapAttack(numerics="float16")
    with pytest.raises(ValueError, match="arithmetic order"):
        J.SaliencyMapAttack(arithmetic_order="reversed")


# ----------------------------------------------------------------------------------------------
# arithmetic orders: how far float32's decisions move with rounding alone
def test_arithmetic_orders_change_float32_rounding_but_not_exact_decisions():
    """The network on the whole batch or on each target alone: some float32 logits and gradients differ
    in their last bits (the orders round differently: this is what the float32 spread measures), while
    the exact numerics take the same decisions under both."""
    from distillbench.models import build_model

    torch.manual_seed(0)
    net = build_model("mnist", dropout=0.0, init="pytorch_default").eval().requires_grad_(False)
    x = torch.rand(8, 1, 28, 28)
    x[x > 0.8] = 1.0
    target = torch.randint(0, 10, (8,))
    f = J.output_fn("jsma_f")
    batched = J._saliency_grads(net, f, x, target, "batched")
    alone = J._saliency_grads(net, f, x, target, "per_target")
    differ = [int((a != b).sum()) for a, b in zip(batched, alone, strict=True)]
    print(f"float32 values that differ between the orders (alpha, beta, logits): {differ}")
    assert sum(differ) > 0
    for a, b in zip(batched, alone, strict=True):  # rounding, not another computation
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-6 * float(a.abs().max()))
    m64 = copy.deepcopy(net).double()
    runs = [J.jsma(m64, x, target, max_features=8, arithmetic_order=o) for o in J.ARITHMETIC_ORDERS]
    assert torch.equal(runs[0].adversarials, runs[1].adversarials)
    assert torch.equal(runs[0].success, runs[1].success)
    assert int(runs[0].iterations.sum()) > 0
