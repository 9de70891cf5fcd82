"""GPU check: are JSMA's exact decisions the same, on a paper-scale network, on CUDA and on the CPU?

One command, on a machine that has only CUDA and PyTorch (bring the rest as wheels, mpmath included:
README.md, "GPU check"). It

1. trains, at the paper profile's MNIST settings (config/config.yaml), the undistilled baseline (the
   T=1 teacher) and a distilled T=100 network (a T=100 teacher, its soft labels at T=100, a student at
   T=100), 50 epochs each, or loads them (``--models DIR`` holding baseline.pt and distilled_T100.pt,
   e.g. a workflow run's ``work/<run>/mnist/{teacher_T1,distilled_T100}.pt`` copied there);
2. attacks both with the package's JSMA-F on the 900 Fig. 7 targets in the ``exact`` numerics
   (pairs ranked by the gradient of log F_t in float64) on the device (CUDA when there is one) and on
   the CPU (another batch size and thread count), and with the arbitrary-precision oracle of the plain
   per-sample reference (tests/reference_jsma.py, ``numerics="exact"``: softmax derivatives and pair
   scores recomputed from the float64 logit Jacobian; no code shared with the package) on the CPU,
   over ``--reference-targets`` of them;
3. does the same in the ``float32`` numerics (float32 softmax Jacobian), for comparison (no goal);
4. prints one line per comparison, writes everything to ``--out`` (JSON), and last
   ``check agreement_cuda_cpu=<x> agreement_reference=<y> device=<name>``: the share of targets with
   identical decisions (success and elements changed), the worst of the two networks. Goal: >= 0.99.

``--quick``: the same on a 3,000-image subset with 1 epoch per network (the T=100 ones from a 1-epoch
T=1 warm start, as the cpu profile does), 90 targets, 30 for the reference: a plumbing check that runs
on 2 CPU cores in about 2 minutes (its networks are far from paper scale).
Without CUDA the "device" side is the CPU with the whole batch at once and all threads, so the
comparison still checks that the decisions do not depend on batch composition or kernel blocking.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

import torch  # noqa: E402
import yaml  # noqa: E402

from distillbench.attacks.jsma import attack_dtype, deterministic_kernels, jsma  # noqa: E402
from distillbench.data import load_split  # noqa: E402
from distillbench.evaluation import attack_targets  # noqa: E402
from distillbench.models import build_model  # noqa: E402
from distillbench.training import TrainSpec, accuracy, predict_logits, save_checkpoint, soft_labels, train  # noqa: E402

BUDGET = 112


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def paper_training() -> dict[str, Any]:
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    return dict(cfg["datasets"]["mnist"]["training"])


def train_models(args: argparse.Namespace, device: torch.device) -> dict[str, torch.nn.Module]:
    training = paper_training()
    train_data = load_split("mnist", args.data_dir, train=True).subset(args.train_subset)
    test_data = load_split("mnist", args.data_dir, train=False)
    epochs = args.epochs
    init = None
    if args.warm_start_epochs:
        spec = TrainSpec.from_config(
            "mnist", training, temperature=1, epochs=args.warm_start_epochs, seed=7, role="warm_start"
        )
        warm, _ = train(spec, train_data, test_data, device)
        init = {k: v.detach().clone() for k, v in warm.state_dict().items()}
    models: dict[str, torch.nn.Module] = {}
    specs: dict[str, TrainSpec] = {}
    t0 = time.perf_counter()
    spec = specs["baseline"] = TrainSpec.from_config(
        "mnist", training, temperature=1, epochs=epochs, seed=1, role="teacher"
    )
    models["baseline"], _ = train(spec, train_data, test_data, device, init_state=init)
    log(
        f"baseline: {epochs} epochs, test accuracy {accuracy(models['baseline'], test_data, device):.4f}, "
        f"{time.perf_counter() - t0:.0f} s"
    )
    t0 = time.perf_counter()
    spec = TrainSpec.from_config("mnist", training, temperature=100, epochs=epochs, seed=2, role="teacher")
    teacher, _ = train(spec, train_data, test_data, device, init_state=init)
    soft = soft_labels(teacher, train_data.images, 100.0, device)
    spec = specs["distilled_T100"] = TrainSpec.from_config(
        "mnist", training, temperature=100, epochs=epochs, seed=3, role="student"
    )
    models["distilled_T100"], _ = train(spec, train_data, test_data, device, soft_targets=soft, init_state=init)
    log(
        f"distilled T=100: teacher + student {epochs} epochs each, test accuracy "
        f"{accuracy(models['distilled_T100'], test_data, device):.4f}, {time.perf_counter() - t0:.0f} s"
    )
    if args.out:
        for name, m in models.items():
            save_checkpoint(args.out / f"{name}.pt", m, specs[name], [], accuracy(m, test_data, device))
    return models


def load_models(directory: Path) -> dict[str, torch.nn.Module]:
    out = {}
    for name in ("baseline", "distilled_T100"):
        ckpt = torch.load(directory / f"{name}.pt", map_location="cpu", weights_only=True)
        model = build_model("mnist", dropout=float(ckpt["spec"]["dropout"]), init="pytorch_default")
        model.load_state_dict(ckpt["state_dict"])
        out[name] = model.eval()
    return out


def run_package(
    model: torch.nn.Module, x: torch.Tensor, t: torch.Tensor, device: torch.device, numerics: str, batch: int
) -> dict[str, torch.Tensor]:
    dtype = attack_dtype(numerics)
    m = build_model("mnist", dropout=0.0, init="pytorch_default")
    m.load_state_dict(model.state_dict())
    m = m.to(device=device, dtype=dtype).eval().requires_grad_(False)
    succ, changed, adv = [], [], []
    with deterministic_kernels():
        for i in range(0, len(x), batch):
            r = jsma(
                m,
                x[i : i + batch].to(device),
                t[i : i + batch].to(device),
                max_features=BUDGET,
                variant="jsma_f",
                numerics=numerics,
            )
            succ.append(r.success.cpu())
            changed.append(r.features_changed.cpu())
            adv.append(r.adversarials.float().cpu())
    return {"success": torch.cat(succ), "changed": torch.cat(changed), "adv": torch.cat(adv)}


_REF_MODEL: torch.nn.Module | None = None


def _ref_init(state: dict[str, torch.Tensor]) -> None:
    global _REF_MODEL
    torch.set_num_threads(1)
    m = build_model("mnist", dropout=0.0, init="pytorch_default")
    m.load_state_dict(state)
    _REF_MODEL = m.double().eval().requires_grad_(False)


def _ref_one(job: tuple[torch.Tensor, int]) -> tuple[bool, int]:
    from reference_jsma import reference_jsma

    x, target = job
    assert _REF_MODEL is not None
    r = reference_jsma(_REF_MODEL, x, target, max_features=BUDGET, variant="jsma_f", numerics="exact")
    return r.success, int((r.adversarial.reshape(-1) != x.double().reshape(-1)).sum())


def run_reference(model: torch.nn.Module, x: torch.Tensor, t: torch.Tensor, workers: int) -> dict[str, torch.Tensor]:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    jobs = [(x[i].cpu(), int(t[i])) for i in range(len(x))]
    # spawn, not fork: the parent has run autograd (and maybe CUDA), which a forked child cannot use
    with mp.get_context("spawn").Pool(workers, initializer=_ref_init, initargs=(state,)) as pool:
        res = pool.map(_ref_one, jobs, chunksize=max(1, len(jobs) // (4 * workers)))
    return {"success": torch.tensor([r[0] for r in res]), "changed": torch.tensor([r[1] for r in res])}


def agreement(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    n = min(len(a["success"]), len(b["success"]))
    same = (a["success"][:n] == b["success"][:n]) & (a["changed"][:n] == b["changed"][:n])
    return float(same.float().mean())


def median_logit_gap(model: torch.nn.Module, images: torch.Tensor) -> float:
    z = predict_logits(model, images, torch.device("cpu"))
    top2 = z.topk(2, dim=1).values
    return float((top2[:, 0] - top2[:, 1]).median())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a small version that runs on 2 CPU cores in < 2 min")
    p.add_argument("--data-dir", type=Path, default=REPO / "data", help="torchvision layout (MNIST/raw)")
    p.add_argument("--models", type=Path, default=None, help="load baseline.pt and distilled_T100.pt from here")
    p.add_argument("--out", type=Path, default=None, help="write check.json (and trained checkpoints) here")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--samples", type=int, default=None, help="test samples x 9 targets (paper: 100)")
    p.add_argument("--reference-targets", type=int, default=None)
    p.add_argument("--workers", type=int, default=None, help="processes for the reference (default: all cores)")
    args = p.parse_args(argv)
    args.train_subset = 3000 if args.quick else None
    args.epochs = args.epochs or (1 if args.quick else 50)
    args.warm_start_epochs = 1 if args.quick else 0
    samples = args.samples or (10 if args.quick else 100)
    ref_n = args.reference_targets or (30 if args.quick else 900)
    workers = args.workers or os.cpu_count() or 1
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    name = torch.cuda.get_device_name(0).replace(" ", "_") if cuda else "cpu"
    log(f"device {name}, torch {torch.__version__}, {os.cpu_count()} CPUs, quick={args.quick}")
    torch.manual_seed(0)
    models = load_models(args.models) if args.models else train_models(args, device)
    test = load_split("mnist", args.data_dir, train=False)
    plan = attack_targets(test, samples, 9)
    x = test.images[torch.as_tensor(plan.sample_index.to_numpy().copy())]
    t = torch.as_tensor(plan.target.to_numpy().copy())
    report: dict[str, Any] = {
        "device": name,
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "quick": args.quick,
        "targets": len(x),
        "reference_targets": min(ref_n, len(x)),
        "models": {},
    }
    worst = {"cuda_cpu": 1.0, "reference": 1.0}
    cpu = torch.device("cpu")
    for mname, model in models.items():
        model = model.cpu().eval()
        row: dict[str, Any] = {
            "test_accuracy": accuracy(model, test, cpu),
            "median_logit_gap_attacked": median_logit_gap(model, x),
        }
        for numerics in ("exact", "float32"):
            t0 = time.perf_counter()
            on_dev = run_package(model, x, t, device, numerics, batch=len(x))
            t_dev = time.perf_counter() - t0
            torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
            t0 = time.perf_counter()
            on_cpu = run_package(model, x, t, cpu, numerics, batch=max(1, len(x) // 7))
            t_cpu = time.perf_counter() - t0
            torch.set_num_threads(os.cpu_count() or 1)
            a = agreement(on_dev, on_cpu)
            row[numerics] = {
                "success_device_pct": 100 * float(on_dev["success"].float().mean()),
                "success_cpu_pct": 100 * float(on_cpu["success"].float().mean()),
                "agreement_device_cpu": a,
                "seconds_device": t_dev,
                "seconds_cpu": t_cpu,
            }
            log(
                f"{mname} {numerics}: success {name} {row[numerics]['success_device_pct']:.2f}% "
                f"cpu {row[numerics]['success_cpu_pct']:.2f}%, identical decisions {100 * a:.2f}% "
                f"({t_dev:.1f} s / {t_cpu:.1f} s)"
            )
            if numerics == "exact":
                worst["cuda_cpu"] = min(worst["cuda_cpu"], a)
                n = min(ref_n, len(x))
                t0 = time.perf_counter()
                ref = run_reference(model, x[:n], t[:n], workers)
                r = agreement({k: v[:n] for k, v in on_dev.items()}, ref)
                row[numerics].update(
                    {
                        "agreement_reference": r,
                        "reference_targets": n,
                        "success_reference_pct": 100 * float(ref["success"].float().mean()),
                        "seconds_reference": time.perf_counter() - t0,
                    }
                )
                worst["reference"] = min(worst["reference"], r)
                log(
                    f"{mname} exact: oracle on {n} targets: identical decisions {100 * r:.2f}% "
                    f"({time.perf_counter() - t0:.1f} s, {workers} processes)"
                )
        report["models"][mname] = row
    report["agreement_cuda_cpu"] = worst["cuda_cpu"]
    report["agreement_reference"] = worst["reference"]
    report["seconds_total"] = time.perf_counter() - t_start
    if args.out:
        (args.out / "check.json").write_text(json.dumps(report, indent=2))
    log(f"total {report['seconds_total']:.0f} s")
    print(
        f"check agreement_cuda_cpu={worst['cuda_cpu']:.4f} agreement_reference={worst['reference']:.4f} device={name}",
        flush=True,
    )


if __name__ == "__main__":
    main()
