#!/usr/bin/env python
"""JSMA speed, memory and agreement: ours vs AdverTorch 0.2.3 vs torchattacks 3.5.1.

    python benchmark/perf/jsma.py --quick          # < 1 minute on 2 CPU cores
    python benchmark/perf/jsma.py                  # 900 MNIST targets (+ a CIFAR-10 subset)

All implementations attack the same model (the paper's Table I network, trained here for a short
while, or ``--mnist-checkpoint``/``--cifar-checkpoint`` from the workflow) and the same targets (the
first test images, each with its 9 other classes), budget 112 features, theta = +1, bounds [0, 1].

Alignment (the differences tests/test_jsma_crosscheck.py documents; ``--no-align`` turns it off):
AdverTorch gets the saturated features removed from its search space and gamma = (budget + 0.5) / n
(its int() rounding otherwise may lose an iteration); torchattacks gets gamma = (budget - 0.5) / n
(ceil rounding); input values in [0.99, 1) are set to 1.0 for everybody, since torchattacks only
searches features below 0.99.

Per run: targets/s and wall time, CPU seconds, ratio (our throughput / theirs), success rate,
agreement of success decisions with ours (and of adversarial images), and the process's peak
resident memory during the run (VmHWM, reset before each run). The last line is
``jsma speedup_vs_advertorch=<x> agreement=<y>`` for the paper's variant (jsma_f) on MNIST: x = our
targets/s over AdverTorch's, y = the fraction of targets with the same success decision.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

sys.path.insert(0, str(ROOT / "tests"))

import advertorch_compat  # noqa: E402

J = importlib.import_module("distillbench.attacks.jsma")
BUDGET = 112


# ----------------------------------------------------------------------------------------------- memory
def _trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process (Linux >= 4.0)."""
    _trim()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_gb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


# ----------------------------------------------------------------------------------------------- data, models
def find_data_dir(arg: str | None) -> Path | None:
    """--data-dir, else $DISTILLBENCH_DATA_DIR, else the workflow's default data/; None (random images) if none
    of them holds MNIST."""
    cands = [arg] if arg else [os.environ.get("DISTILLBENCH_DATA_DIR"), str(ROOT / "data")]
    for c in cands:
        if c and (Path(c) / "MNIST" / "raw").exists():
            return Path(c)
    return None


def load(dataset: str, data_dir: Path | None, train: bool, n: int, seed: int):
    from distillbench.data import TensorDataset, load_split

    if data_dir is not None:
        try:
            ds = load_split(dataset, data_dir, train=train)
            return TensorDataset(ds.images[:n], ds.labels[:n]), "real"
        except Exception as exc:  # e.g. CIFAR-10 not staged
            print(f"# {dataset}: {exc.__class__.__name__}: {exc}; using random images", flush=True)
    g = torch.Generator().manual_seed(seed + (0 if train else 1))
    shape = (1, 28, 28) if dataset == "mnist" else (3, 32, 32)
    return TensorDataset(torch.rand(n, *shape, generator=g), torch.randint(0, 10, (n,), generator=g)), "random"


def get_model(dataset: str, checkpoint: str | None, data_dir: Path | None, train_n: int, seed: int):
    from distillbench.training import TrainSpec, accuracy, load_checkpoint, train

    test, _ = load(dataset, data_dir, False, 1000, seed)
    if checkpoint:
        model, _ = load_checkpoint(Path(checkpoint))
        how = f"checkpoint {checkpoint}"
    else:
        tr, kind = load(dataset, data_dir, True, train_n, seed)
        spec = TrainSpec(
            dataset=dataset,
            temperature=1.0,
            epochs=1,
            lr=0.1 if dataset == "mnist" else 0.01,
            momentum=0.5 if dataset == "mnist" else 0.9,
            batch_size=128,
            dropout=0.5,
            init="glorot_uniform",
            seed=seed,
        )
        t0 = time.perf_counter()
        model, _ = train(spec, tr, test.subset(0), torch.device("cpu"))
        how = f"trained 1 epoch on {len(tr)} {kind} images in {time.perf_counter() - t0:.0f} s"
    model.eval().requires_grad_(False)
    acc = accuracy(model, test, torch.device("cpu"))
    print(f"# {dataset} model: {how}; test accuracy {100 * acc:.1f}% on {len(test)}", flush=True)
    return model, test


def make_targets(test, n: int, align: bool):
    """The workflow's targets (first test images x their 9 other classes), the first n of them."""
    from distillbench.evaluation import attack_targets

    chosen = attack_targets(test, math.ceil(n / 9), 9).iloc[:n]
    x = test.images[torch.tensor(chosen.sample_index.to_numpy())].clone()
    if align:
        x = torch.where(x >= 0.99, torch.ones_like(x), x)
    return x, torch.tensor(chosen.target.to_numpy(), dtype=torch.int64)


# ----------------------------------------------------------------------------------------------- runners
def decisions(model: nn.Module, x: torch.Tensor, adv: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        pred = torch.cat([model(adv[i : i + 500]).argmax(1) for i in range(0, len(adv), 500)])
    l0 = (adv.reshape(len(x), -1) != x.reshape(len(x), -1)).sum(1)
    return (pred == target) & (l0 <= BUDGET)


def run_ours(model, x, t, variant, temperature, batch):
    # float32 numerics: the libraries compared here all differentiate in float32 (the package's default,
    # numerics="exact", runs a float64 network; see README "The attack and its checks")
    outs = []
    for i in range(0, len(x), batch):
        r = J.jsma(
            model,
            x[i : i + batch],
            t[i : i + batch],
            max_features=BUDGET,
            variant=variant,
            temperature=temperature,
            numerics="float32",
        )
        outs.append(r.adversarials)
    return torch.cat(outs)


def run_advertorch(model, x, t, variant, temperature, batch, align):
    # AdverTorch as shipped, or aligned with ours (shared with tests/test_jsma_crosscheck.py).
    plain = advertorch_compat.import_advertorch()
    cls = advertorch_compat.aligned_advertorch_jsma(plain) if align else plain
    softmax = advertorch_compat.Softmax
    predict = {"jsma_f": softmax(model), "jsma_z": model, "jsma_f_t": softmax(model, temperature)}[variant]
    n = x[0].numel()
    gamma = (BUDGET + 0.5) / n if align else BUDGET / n
    attack = cls(predict, num_classes=10, clip_min=0.0, clip_max=1.0, gamma=gamma)
    return torch.cat([attack.perturb(x[i : i + batch], t[i : i + batch]) for i in range(0, len(x), batch)])


def run_torchattacks(model, x, t, variant, temperature, batch, align):
    import torchattacks

    assert variant == "jsma_z"
    n = x[0].numel()
    attack = torchattacks.JSMA(model, theta=1.0, gamma=(BUDGET - 0.5) / n if align else BUDGET / n)
    attack.set_mode_targeted_by_label(quiet=True)
    out = attack(x, t)
    model.eval()
    return out


def measure(fn: Callable[[], torch.Tensor]) -> tuple[torch.Tensor, float, float, float]:
    reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    adv = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return adv, wall, cpu, peak_gb()


def table(rows: list[dict]) -> str:
    cols = [
        "dataset",
        "variant",
        "impl",
        "targets",
        "targets/s",
        "wall s",
        "cpu s",
        "ours x faster",
        "ours x faster (cpu)",
        "success %",
        "agree %",
        "same adv %",
        "peak GB",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        vals = [
            r["dataset"],
            r["variant"],
            r["impl"],
            r["targets"],
            f"{r['tps']:.2f}",
            f"{r['wall']:.1f}",
            f"{r['cpu']:.1f}",
            "" if r["ratio"] is None else f"{r['ratio']:.1f}",
            "" if r["ratio"] is None else f"{r['cpu_ratio']:.1f}",
            f"{r['success']:.1f}",
            "" if r["agree"] is None else f"{r['agree']:.1f}",
            "" if r["same"] is None else f"{r['same']:.1f}",
            f"{r['peak']:.2f}",
        ]
        lines.append("| " + " | ".join(str(v) for v in vals) + " |")
    return "\n".join(lines)


def bench_dataset(dataset, model, test, args, n_ours, n_adv, n_ta, variants, adv_batch, rows, n_adv_other=None):
    """Ours on n_ours targets; AdverTorch on n_adv (jsma_f) / n_adv_other (its other variants); torchattacks on n_ta."""
    x, t = make_targets(test, n_ours, args.align)
    ours_adv: dict[str, torch.Tensor] = {}
    ours_tps: dict[str, float] = {}
    ours_cps: dict[str, float] = {}  # targets per CPU second
    for v in variants:
        adv, wall, cpu, peak = measure(partial(run_ours, model, x, t, v, args.temperature, args.batch))
        ours_adv[v] = adv
        ours_tps[v] = len(x) / wall
        ours_cps[v] = len(x) / max(cpu, 1e-9)
        d = decisions(model, x, adv, t)
        rows.append(
            dict(
                dataset=dataset,
                variant=v,
                impl="ours",
                targets=len(x),
                tps=len(x) / wall,
                wall=wall,
                cpu=cpu,
                ratio=None,
                success=100 * d.float().mean().item(),
                agree=None,
                same=None,
                peak=peak,
            )
        )
        print(f"# {dataset} {v} ours: {len(x)} targets in {wall:.1f} s, peak {peak:.2f} GB", flush=True)
    n_adv_other = n_adv if n_adv_other is None else min(n_adv_other, n_adv)
    libs = [
        ("advertorch", {"jsma_f": n_adv, "jsma_z": n_adv_other, "jsma_f_t": n_adv_other}, run_advertorch, adv_batch),
        ("torchattacks", {"jsma_z": n_ta}, run_torchattacks, 1),
    ]
    for name, n_of, runner, batch in libs:
        for v in [v for v in variants if v in n_of]:
            n = n_of[v]
            if n <= 0:
                continue
            xs, ts = x[:n], t[:n]
            try:
                adv, wall, cpu, peak = measure(partial(runner, model, xs, ts, v, args.temperature, batch, args.align))
            except ImportError as exc:
                print(f"# {name} skipped: {exc}", flush=True)
                break
            d = decisions(model, xs, adv, ts)
            mine = decisions(model, xs, ours_adv[v][:n], ts)
            rows.append(
                dict(
                    dataset=dataset,
                    variant=v,
                    impl=name,
                    targets=n,
                    tps=n / wall,
                    wall=wall,
                    cpu=cpu,
                    ratio=ours_tps[v] / (n / wall),
                    cpu_ratio=ours_cps[v] / (n / max(cpu, 1e-9)),
                    success=100 * d.float().mean().item(),
                    agree=100 * (d == mine).float().mean().item(),
                    same=100 * (adv == ours_adv[v][:n]).reshape(n, -1).all(1).float().mean().item(),
                    peak=peak,
                )
            )
            print(f"# {dataset} {v} {name}: {n} targets in {wall:.1f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    global BUDGET
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a small run (< 1 minute on 2 cores)")
    ap.add_argument("--data-dir", help="torchvision layout with MNIST/raw (and cifar-10-batches-py)")
    ap.add_argument("--mnist-checkpoint")
    ap.add_argument("--cifar-checkpoint")
    ap.add_argument("--targets", type=int, help="MNIST targets for ours (900; quick 27)")
    ap.add_argument("--lib-targets", type=int, help="MNIST targets for AdverTorch (= --targets; quick 18)")
    ap.add_argument(
        "--lib-other-targets",
        type=int,
        help="MNIST targets for AdverTorch's jsma_z and jsma_f_t (= --lib-targets; quick 9)",
    )
    ap.add_argument("--ta-targets", type=int, help="MNIST targets for torchattacks (= --lib-targets; quick 9)")
    ap.add_argument("--cifar-targets", type=int, help="CIFAR-10 targets for ours (900; quick 18; 0 = skip)")
    ap.add_argument("--cifar-lib-targets", type=int, help="CIFAR-10 targets for the libraries (18; quick 0)")
    ap.add_argument("--variants", default="jsma_f,jsma_z,jsma_f_t")
    ap.add_argument("--temperature", type=float, default=10.0, help="T of jsma_f_t")
    ap.add_argument("--batch", type=int, default=900, help="targets per call of ours")
    ap.add_argument("--advertorch-batch", type=int, default=100, help="MNIST (CIFAR: a tenth)")
    ap.add_argument("--train-samples", type=int, help="MNIST training images (60000; quick 8000)")
    ap.add_argument("--cifar-train-samples", type=int, help="CIFAR-10 training images (5000; quick 500)")
    ap.add_argument("--budget", type=int, default=BUDGET, help="max features changed (112)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-align", dest="align", action="store_false")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    BUDGET = args.budget
    q = args.quick
    n_mnist = args.targets or (27 if q else 900)
    n_adv = args.lib_targets if args.lib_targets is not None else (18 if q else n_mnist)
    n_adv_other = args.lib_other_targets if args.lib_other_targets is not None else (9 if q else n_adv)
    n_ta = args.ta_targets if args.ta_targets is not None else (9 if q else n_adv)
    n_cifar = args.cifar_targets if args.cifar_targets is not None else (18 if q else 900)
    n_cifar_lib = args.cifar_lib_targets if args.cifar_lib_targets is not None else (0 if q else 18)
    train_n = args.train_samples or (8000 if q else 60000)
    variants = [v for v in args.variants.split(",") if v]
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t_start = time.perf_counter()
    data_dir = find_data_dir(args.data_dir)
    print(
        f"# host: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} threads {torch.get_num_threads()}, data {data_dir}",
        flush=True,
    )
    rows: list[dict] = []
    model, test = get_model("mnist", args.mnist_checkpoint, data_dir, train_n, args.seed)
    bench_dataset(
        "mnist",
        model,
        test,
        args,
        n_mnist,
        min(n_adv, n_mnist),
        min(n_ta, n_mnist),
        variants,
        args.advertorch_batch,
        rows,
        n_adv_other=n_adv_other,
    )
    if n_cifar > 0:
        cdir = data_dir if data_dir is not None and (data_dir / "cifar-10-batches-py").exists() else None
        cmodel, ctest = get_model(
            "cifar10", args.cifar_checkpoint, cdir, args.cifar_train_samples or (500 if q else 5000), args.seed
        )
        n_lib = min(n_cifar_lib, n_cifar)
        bench_dataset(
            "cifar10",
            cmodel,
            ctest,
            args,
            n_cifar,
            n_lib,
            n_lib // 2,
            ["jsma_f"] if q else variants,
            max(1, args.advertorch_batch // 10),
            rows,
        )
    print(table(rows))
    print(f"# total {time.perf_counter() - t_start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    head = [r for r in rows if r["dataset"] == "mnist" and r["variant"] == "jsma_f" and r["impl"] == "advertorch"]
    if head:
        print(f"jsma speedup_vs_advertorch={head[0]['ratio']:.2f} agreement={head[0]['agree'] / 100:.4f}")
    else:
        print("jsma speedup_vs_advertorch=nan agreement=nan")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
