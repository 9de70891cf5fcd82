"""The attack commands: JSMA, input gradients, the adaptive attacks and robustness on a deployed model."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from ..devices import claim_device
from .common import add_device_args, log


class _AttackedModel:
    """What the attack commands share: a claimed device, the deployed model and its checkpoint, the test split;
    :meth:`finish` writes the per-target CSV and the summary (with the common fields), drops the ``.partial``
    file of an interrupted run and releases the device."""

    def __init__(self, a: argparse.Namespace) -> None:
        from ..data import load_split
        from ..training import load_checkpoint

        self.claim, self.device = claim_device(a.device, a.gpu_lock_dir, a.jobs_per_gpu)
        self.model, self.ckpt = load_checkpoint(Path(a.model), self.device)
        self.model_path = a.model
        self.dataset = str(self.ckpt["spec"]["dataset"])
        self.test = load_split(self.dataset, Path(a.data_dir), train=False)
        self.temperature = float(self.ckpt["spec"]["temperature"])
        self.n_features = int(self.test.images[0].numel())
        self.out = Path(a.out)
        self.partial = self.out.with_name(f".{self.out.name}.partial")
        self.summary_path = Path(a.summary)
        self.t0 = time.perf_counter()

    def finish(self, results: Any, summary: dict[str, Any], **fields: Any) -> dict[str, Any]:
        from .. import io

        io.write_csv(self.out, results)
        summary.update(
            {
                "model_path": self.model_path,
                "dataset": self.dataset,
                "trained_temperature": self.temperature,
                "test_accuracy": self.ckpt["test_accuracy"],
                **fields,
                "device": self.claim.device,
                "seconds": time.perf_counter() - self.t0,
            }
        )
        io.write_json(self.summary_path, summary)
        self.partial.unlink(missing_ok=True)
        self.claim.release()
        return summary


def cmd_attack(a: argparse.Namespace) -> None:
    from ..evaluation import run_attack, summarize

    m = _AttackedModel(a)
    attack_cfg = json.loads(a.attack)
    log.info(
        "attack %s (%s, trained at T=%g, test acc %.4f) with %s, numerics %s, budget %d",
        a.model,
        m.dataset,
        m.temperature,
        m.ckpt["test_accuracy"],
        attack_cfg["variant"],
        attack_cfg.get("numerics", "exact"),
        attack_cfg["max_features"],
    )
    results = run_attack(m.model, m.test, attack_cfg, m.device, temperature=m.temperature, partial_path=m.partial)
    summary = m.finish(
        results,
        summarize(results, int(attack_cfg["max_features"])),
        variant=attack_cfg["variant"],
        numerics=attack_cfg.get("numerics", "exact"),
        arithmetic_order=attack_cfg.get("arithmetic_order", "batched"),
        n_features=m.n_features,
    )
    log.info("success %d/%d = %.2f%%", summary["successes"], summary["targets"], summary["success_rate_pct"])


def cmd_gradients(a: argparse.Namespace) -> None:
    from .. import io
    from ..data import load_split
    from ..evaluation import attack_targets
    from ..gradients import gradient_stats
    from ..training import load_checkpoint

    model, ckpt = load_checkpoint(Path(a.model), "cpu")
    dataset = ckpt["spec"]["dataset"]
    test = load_split(dataset, Path(a.data_dir), train=False)
    plan = attack_targets(test, a.samples, a.targets_per_sample)
    x = test.images[torch_index(plan.sample_index)]
    t = torch_index(plan.target)
    stats = gradient_stats(model, x, t)
    stats.update(
        {
            "model_path": a.model,
            "dataset": dataset,
            "trained_temperature": float(ckpt["spec"]["temperature"]),
            "test_accuracy": ckpt["test_accuracy"],
        }
    )
    io.write_json(Path(a.out), stats)
    log.info(
        "mean |dF_t/dx| float32 %.3g float64 %.3g; zero gradients float32 %.1f%% float64 %.1f%%; median gap %.1f",
        stats["float32"]["mean_abs_grad"],
        stats["float64"]["mean_abs_grad"],
        100 * stats["float32"]["zero_gradient_share"],
        100 * stats["float64"]["zero_gradient_share"],
        stats["median_logit_gap"],
    )


def cmd_adaptive_attack(a: argparse.Namespace) -> None:
    """One registry attack (an adaptive attack) on one deployed model: per-target CSV and a summary JSON."""
    from ..adaptive import run_adaptive, summarize_adaptive

    m = _AttackedModel(a)
    cfg = json.loads(a.adaptive)
    settings = cfg["attacks"][a.attack]
    log.info(
        "adaptive attack %s on %s (%s, trained at T=%g, test acc %.4f), settings %s, L0 budget %d",
        a.attack,
        a.model,
        m.dataset,
        m.temperature,
        m.ckpt["test_accuracy"],
        json.dumps(settings, sort_keys=True),
        cfg["max_features"],
    )
    results = run_adaptive(
        m.model,
        m.test,
        a.attack,
        settings,
        samples=int(settings.get("samples", cfg["samples"])),
        targets_per_sample=int(cfg["targets_per_sample"]),
        max_features=int(cfg["max_features"]),
        device=m.device,
        temperature=m.temperature,
        partial_path=m.partial,
    )
    summary = m.finish(
        results,
        summarize_adaptive(results, a.attack, int(cfg["max_features"])),
        model=a.model_name,
        settings=settings,
        n_features=m.n_features,
    )
    log.info("success %d/%d = %.2f%%", summary["successes"], summary["targets"], summary["success_rate_pct"])


def cmd_robustness(a: argparse.Namespace) -> None:
    """rho_adv (the robustness measure): JSMA with every input element allowed to change, on one deployed model."""
    from ..adaptive import summarize_robustness
    from ..evaluation import run_attack

    m = _AttackedModel(a)
    cfg = json.loads(a.robustness)
    attack_cfg = {
        "variant": cfg["variant"],
        "numerics": cfg["numerics"],
        "samples": cfg["samples"],
        "targets_per_sample": cfg["targets_per_sample"],
        "batch_size": cfg["batch_size"],
        # null: no cap, every element may change (rho_adv as the paper defines it); a number caps it (smoke runs)
        "max_features": int(cfg.get("max_features") or m.n_features - m.n_features % 2),
    }
    log.info("robustness of %s (%s, trained at T=%g): %s", a.model, m.dataset, m.temperature, attack_cfg)
    results = run_attack(m.model, m.test, attack_cfg, m.device, temperature=m.temperature, partial_path=m.partial)
    summary = m.finish(
        results,
        summarize_robustness(results, m.n_features),
        model=a.model_name,
        variant=cfg["variant"],
        numerics=cfg["numerics"],
        max_features=attack_cfg["max_features"],
        capped=cfg.get("max_features") is not None,
    )
    log.info(
        "rho_adv %s%% over %d successes; failures %.2f%%",
        "–" if summary["rho_adv_pct"] is None else f"{summary['rho_adv_pct']:.2f}",
        summary["successes"],
        summary["failure_share_pct"],
    )


def torch_index(column: Any) -> Any:
    import torch

    return torch.tensor(column.to_numpy(), dtype=torch.int64)


def register(sub: Any) -> None:
    """Add this family's commands to the package's argument parser."""
    sp = sub.add_parser("attack", help="run JSMA on a deployed model")
    add_device_args(sp)
    sp.add_argument("--model", required=True)
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--attack", required=True, help="JSON of the config's attack block")
    sp.add_argument("--out", required=True)
    sp.add_argument("--summary", required=True)
    sp.set_defaults(func=cmd_attack)

    sp = sub.add_parser("gradients", help="input-gradient statistics of a deployed model on the attack targets")
    sp.add_argument("--threads", type=int, default=None)
    sp.add_argument("--model", required=True)
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--samples", type=int, required=True)
    sp.add_argument("--targets-per-sample", type=int, default=9)
    sp.add_argument("--out", required=True)
    sp.set_defaults(func=cmd_gradients)

    sp = sub.add_parser("adaptive-attack", help="run one registry attack (an adaptive attack) on a deployed model")
    add_device_args(sp)
    sp.add_argument("--model", required=True)
    sp.add_argument("--model-name", required=True, help="baseline or distilled_T<T>")
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--attack", required=True, help="a name in attacks/registry.py, e.g. cw_l2")
    sp.add_argument("--adaptive", required=True, help="JSON of the dataset's adaptive block")
    sp.add_argument("--out", required=True)
    sp.add_argument("--summary", required=True)
    sp.set_defaults(func=cmd_adaptive_attack)

    sp = sub.add_parser("robustness", help="rho_adv: JSMA with no budget cap on a deployed model")
    add_device_args(sp)
    sp.add_argument("--model", required=True)
    sp.add_argument("--model-name", required=True, help="baseline or distilled_T<T>")
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--robustness", required=True, help="JSON of the dataset's robustness block")
    sp.add_argument("--out", required=True)
    sp.add_argument("--summary", required=True)
    sp.set_defaults(func=cmd_robustness)
