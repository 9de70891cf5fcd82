"""The exact JSMA-F numerics against an arbitrary-precision oracle, on a trained network.

For each Fig. 7 target of the first ``--samples`` test images (9 targets each) it runs

* the oracle (tests/reference_jsma.py, ``numerics="exact"``): one target at a time, the float64 logit
  Jacobian from autograd, then the softmax derivatives, alpha, beta and every pair's score in
  arbitrary precision (mpmath and exact integer arithmetic; no code shared with the package). At every
  state of the oracle's own run, the package's ``exact`` JSMA is asked for one decision from that state
  (``max_features=2``): stop (prediction == target), no admissible pair, or which pair. Every decision
  is compared;
* the package's ``exact`` JSMA on all targets in batches (its own run, from the clean images) and the
  squared-score float64 rule it replaced (dF_t/dx in float64, pairs scored (alpha_p + alpha_q)^2, here
  the plain reference's ``beta_from="closed_form"``), each compared with the oracle per target: the same
  success, the same iterations and the same adversarial image.

It prints one line per comparison, writes them to ``--out`` (JSON) and ends with
``oracle agreement_targets=<x> agreement_decisions=<y>``. Goal: >= 0.995 on a distilled network.

    python benchmark/numerics/jsma_oracle.py --model work/<run>/mnist/distilled_T100.pt \\
        --data-dir data --samples 34 --out benchmark/numerics/runs/<name>.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

import torch  # noqa: E402

from distillbench.attacks.jsma import jsma  # noqa: E402
from distillbench.checkpoints import load_checkpoint  # noqa: E402
from distillbench.data import load_split  # noqa: E402
from distillbench.evaluation import attack_targets  # noqa: E402

_MODEL: torch.nn.Module | None = None
_BUDGET = 112


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _init(state: dict[str, torch.Tensor], path: str, budget: int) -> None:
    global _MODEL, _BUDGET
    torch.set_num_threads(1)
    model, _ = load_checkpoint(Path(path), "cpu")
    model.load_state_dict(state)
    _MODEL = model.double().eval().requires_grad_(False)
    _BUDGET = budget


def _package_decision(x: torch.Tensor, target: int) -> tuple[str, tuple[int, int] | None]:
    """One decision of the package's exact JSMA from state ``x``: ('stop' | 'no_pair' | 'pair', pair)."""
    assert _MODEL is not None
    r = jsma(_MODEL, x[None], torch.tensor([target]), max_features=2)
    if bool(r.success[0]) and int(r.iterations[0]) == 0:
        return "stop", None
    if bool(r.no_pair[0]):
        return "no_pair", None
    changed = (r.adversarials[0].reshape(-1) != x.reshape(-1)).nonzero().squeeze(1).tolist()
    return "pair", (min(changed), max(changed))


def _oracle_one(job: tuple[torch.Tensor, int]) -> dict[str, Any]:
    """The oracle's run on one target, with the package's decision checked at every state."""
    from reference_jsma import OracleUndecided, exact_best_pair, exact_scores, logit_jacobian

    assert _MODEL is not None
    x, target = job
    adv = x.double().clone().reshape(-1)
    shape = x.shape
    domain = adv < 1.0
    pairs: list[tuple[int, int]] = []
    decisions = agree = 0
    first_disagreement = None
    outcome = "budget"
    try:
        for it in range(_BUDGET // 2 + 1):
            jac_z, logits = logit_jacobian(_MODEL, adv.reshape(shape))
            if int(logits.argmax()) == target:
                want: tuple[str, tuple[int, int] | None] = ("stop", None)
            elif it == _BUDGET // 2:
                break
            else:
                alpha, beta, scale = exact_scores(jac_z, logits, target, "jsma_f", 1.0)
                pair = exact_best_pair(alpha, beta, scale, domain)
                want = ("no_pair", None) if pair is None else ("pair", (min(pair), max(pair)))
            got = _package_decision(adv.reshape(shape), target)
            decisions += 1
            agree += got == want
            if got != want and first_disagreement is None:
                first_disagreement = {"iteration": it, "oracle": want, "package": got}
            if want[0] != "pair":
                outcome = want[0]
                break
            p, q = want[1]  # type: ignore[misc]
            adv[p] = adv[q] = 1.0
            domain[p] = domain[q] = False
            pairs.append((p, q))
    except OracleUndecided as exc:
        outcome = f"undecided: {exc}"
    return {
        "success": outcome == "stop",
        "outcome": outcome,
        "pairs": pairs,
        "decisions": decisions,
        "agree": agree,
        "first_disagreement": first_disagreement,
        "adversarial": adv.reshape(shape),
    }


def _old_rule_one(job: tuple[torch.Tensor, int]) -> dict[str, Any]:
    from reference_jsma import reference_jsma

    assert _MODEL is not None
    x, target = job
    r = reference_jsma(_MODEL, x.double(), target, max_features=_BUDGET, beta_from="closed_form")
    return {"success": r.success, "iterations": r.iterations, "adversarial": r.adversarial}


def same_runs(a: list[dict[str, Any]], b: dict[str, torch.Tensor], n: int) -> torch.Tensor:
    """Per target: the same success, iterations and adversarial image."""
    out = []
    for i in range(n):
        it = len(a[i]["pairs"]) if "pairs" in a[i] else a[i]["iterations"]
        out.append(
            a[i]["success"] == bool(b["success"][i])
            and it == int(b["iterations"][i])
            and torch.equal(a[i]["adversarial"], b["adversarials"][i])
        )
    return torch.tensor(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True, help="a distillbench checkpoint (MNIST)")
    p.add_argument("--data-dir", type=Path, required=True, help="torchvision layout (MNIST/raw)")
    p.add_argument("--samples", type=int, default=34, help="first test images, 9 targets each")
    p.add_argument("--skip-samples", type=int, default=0, help="leave out the first N of those images")
    p.add_argument("--max-features", type=int, default=112)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes, one thread each")
    p.add_argument("--threads", type=int, default=1, help="torch threads for the package's batched run")
    p.add_argument("--out", type=Path, default=None, help="write the results here (JSON)")
    p.add_argument("--note", default="", help="how the model was made (config, run name), kept in the JSON")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    # the code that runs: the commit at the start, and whether tracked sources differ from it
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "src", "tests", "benchmark"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    model, ckpt = load_checkpoint(args.model, "cpu")
    spec = ckpt["spec"]
    test = load_split(spec["dataset"], args.data_dir, train=False)
    plan = attack_targets(test, args.samples, 9)
    plan = plan[plan.sample_index >= args.skip_samples].reset_index(drop=True)
    x = test.images[torch.as_tensor(plan.sample_index.to_numpy().copy())]
    t = torch.as_tensor(plan.target.to_numpy().copy())
    m64 = model.double().eval().requires_grad_(False)
    with torch.no_grad():
        top2 = m64(x.double()).topk(2, dim=1).values
    gap = top2[:, 0] - top2[:, 1]
    log(
        f"{args.model}: T={spec.get('temperature')}, {len(x)} targets, median top-2 logit gap {float(gap.median()):.0f}"
    )

    t0 = time.perf_counter()
    ours = jsma(m64, x, t, max_features=args.max_features)
    t_ours = time.perf_counter() - t0
    log(f"package exact: success {100 * float(ours.success.float().mean()):.2f}% ({t_ours:.0f} s)")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    jobs = [(x[i], int(t[i])) for i in range(len(x))]
    ctx = mp.get_context("spawn")  # the parent ran autograd: a forked child could not
    with ctx.Pool(args.workers, initializer=_init, initargs=(state, str(args.model), args.max_features)) as pool:
        t0 = time.perf_counter()
        oracle = pool.map(_oracle_one, jobs, chunksize=1)
        t_oracle = time.perf_counter() - t0
        log(f"oracle: success {100 * sum(o['success'] for o in oracle) / len(oracle):.2f}% ({t_oracle:.0f} s)")
        t0 = time.perf_counter()
        old = pool.map(_old_rule_one, jobs, chunksize=4)
        t_old = time.perf_counter() - t0

    n = len(x)
    target_agree = same_runs(
        oracle, {"success": ours.success, "iterations": ours.iterations, "adversarials": ours.adversarials.double()}, n
    )
    old_agree = same_runs(
        oracle,
        {
            "success": torch.tensor([o["success"] for o in old]),
            "iterations": torch.tensor([o["iterations"] for o in old]),
            "adversarials": torch.stack([o["adversarial"] for o in old]),
        },
        n,
    )
    decisions = sum(o["decisions"] for o in oracle)
    dec_agree = sum(o["agree"] for o in oracle)
    undecided = sum(o["outcome"].startswith("undecided") for o in oracle)
    log(
        f"package exact vs oracle: identical runs on {int(target_agree.sum())}/{n} targets, identical decisions "
        f"{dec_agree}/{decisions} ({undecided} targets the oracle could not decide)"
    )
    log(
        f"squared-score float64 rule vs oracle: identical runs on {int(old_agree.sum())}/{n} targets "
        f"(its success {100 * sum(o['success'] for o in old) / n:.2f}%, {t_old:.0f} s)"
    )
    report = {
        "model": str(args.model),
        "note": args.note,
        "model_spec": {k: spec[k] for k in sorted(spec) if isinstance(spec[k], str | int | float | bool)},
        "test_accuracy": ckpt.get("test_accuracy"),
        "commit": commit,
        "uncommitted_changes": dirty,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "targets": n,
        "samples": args.samples,
        "skip_samples": args.skip_samples,
        "max_features": args.max_features,
        "median_top2_logit_gap": float(gap.median()),
        "min_top2_logit_gap": float(gap.min()),
        "targets_gap_above_745": int((gap > 745).sum()),
        "success_pct": {
            "package_exact": 100 * float(ours.success.float().mean()),
            "oracle": 100 * sum(o["success"] for o in oracle) / n,
            "squared_score_float64": 100 * sum(o["success"] for o in old) / n,
        },
        "agreement_targets": float(target_agree.float().mean()),
        "agreement_decisions": dec_agree / max(1, decisions),
        "decisions": decisions,
        "oracle_undecided_targets": undecided,
        "agreement_targets_squared_score_float64": float(old_agree.float().mean()),
        "disagreements": [
            {
                "index": i,
                "sample": int(plan.sample_index.iloc[i]),
                "target": int(t[i]),
                **oracle[i]["first_disagreement"],
            }
            for i in range(n)
            if oracle[i]["first_disagreement"] is not None
        ][:20],
        "seconds": {
            "package": t_ours,
            "oracle": t_oracle,
            "squared_score": t_old,
            "total": time.perf_counter() - t_start,
        },
        "workers": args.workers,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(
        f"oracle agreement_targets={report['agreement_targets']:.4f} "
        f"agreement_decisions={report['agreement_decisions']:.4f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
