#!/usr/bin/env python
"""Training-step speed of the paper's networks: the plain loop and each optimisation, side by side.

    python benchmark/perf/train.py --quick        # < 2 minutes on 2 CPU cores
    python benchmark/perf/train.py                # more steps; < 3 minutes on a GPU

For each architecture (MNIST and CIFAR-10, Table I) and each variant, trains a fresh network for a
fixed number of SGD steps (batch 128, momentum, dropout 0.5, hard labels at T=1: the loop of
src/distillbench/training.py) on random data held where the variant keeps it, after warm-up steps,
and prints samples/s, milliseconds per step, achieved FLOP/s (forward + backward = 3x the forward
multiply-adds x 2) and that as a share of a ceiling measured on the same device in the same run
(a large float32 matrix product; on CUDA also with TF32, which cuDNN convolutions may use).

Variants (the training code picks one through src/distillbench/fastpath.py, config `execution.fast_path`):
  plain          the plain loop (fastpath.PLAIN): the reference, no configuration choice
  channels_last  NHWC weights and activations (`fast_path: channels_last`; `auto` on the CPU)
  compile        torch.compile(mode="reduce-overhead"): Inductor + CUDA graphs (CUDA only; `fast_path: compile`;
                 `auto` on CUDA)
  stacked<k>     k networks trained in one process as one batched computation (torch.func.vmap over
                 stacked weights; each network its own batch and dropout): measures whether training
                 several models per process beats several processes. Not used by the workflow.
  grouped<k>     k networks as one module (src/distillbench/stacked.py): grouped convolutions and batched
                 matrix products, each network its own batch, dropout and temperature; `+compile`: compiled
                 as the `compile` variant (the workflow's `train_in_groups` with `fast_path: compile`);
                 `+cl`: NHWC weights (channels_last); `+bench`: cudnn.benchmark on (cuDNN times its
                 convolution algorithms at the first step of each shape and keeps the fastest), CUDA only.
  <v>+heap       (CPU) variant <v> after distillbench.allocator.keep_freed_memory(), which every job of the
                 workflow calls at start: glibc keeps freed buffers instead of unmapping them. It is
                 process-wide and cannot be undone, so these rows run after all the others.
A variant that fails prints its reason and is left out. The last line is
``train mnist_samples_per_s=<x> cifar_samples_per_s=<y> device=<name> speedup_vs_plain=<r>``: x and y for
what the workflow's jobs run on this device (the variant `fast_path: auto` selects, with `+heap` on the
CPU), r = that variant's MNIST samples/s over plain's.
"""

from __future__ import annotations

import argparse
import copy
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from distillbench.allocator import keep_freed_memory  # noqa: E402
from distillbench.fastpath import PLAIN, FastPath, select_fast_path  # noqa: E402
from distillbench.models import ARCHITECTURES, build_model  # noqa: E402
from distillbench.stacked import StackedPapernotNet, stacked_losses  # noqa: E402
from distillbench.training import StepRunner, compiled_forward, hard_label_loss  # noqa: E402

BATCH = 128
SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
HYPER = {"mnist": (0.1, 0.5), "cifar10": (0.01, 0.9)}  # lr, momentum (Table II)


def forward_flops(dataset: str) -> float:
    """Multiply-adds x 2 of one forward pass of one sample (convolutions and linear layers)."""
    arch = ARCHITECTURES[dataset]
    c_in, side = arch.in_channels, arch.image_size
    flops = 0.0
    for i, c_out in enumerate(arch.conv):
        side -= 2
        flops += 2.0 * c_in * c_out * 9 * side * side
        c_in = c_out
        if i in (1, 3):
            side //= 2
    width = c_in * side * side
    for f in (*arch.fc, arch.num_classes):
        flops += 2.0 * width * f
        width = f
    return flops


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ceiling(device: torch.device, quick: bool) -> dict[str, float]:
    """FLOP/s of a large float32 matrix product (and TF32 on CUDA), best of a few runs."""
    n = 1024 if device.type == "cpu" else 8192
    reps = 3 if (quick or device.type == "cpu") else 20
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    out = {}
    modes = [("fp32", False)] + ([("tf32", True)] if device.type == "cuda" else [])
    for name, tf32 in modes:
        old = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        a @ b
        sync(device)
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            a @ b
            sync(device)
            best = min(best, time.perf_counter() - t0)
        torch.backends.cuda.matmul.allow_tf32 = old
        out[name] = 2.0 * n**3 / best
    return out


def time_steps(step: Callable[[int], None], warmup: int, steps: int, device: torch.device) -> float:
    for i in range(warmup):
        step(i)
    sync(device)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    sync(device)
    return (time.perf_counter() - t0) / steps


def single_model_step(dataset: str, fast: FastPath, device: torch.device, n_data: int) -> Callable[[int], None]:
    """One step of training.py's loop: index the batch, forward + loss, backward, SGD; loss kept on device."""
    lr, momentum = HYPER[dataset]
    model = fast.prepare_model(build_model(dataset, seed=0).to(device))
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    data_dev = device if (fast.resident or device.type == "cpu") else torch.device("cpu")
    images = torch.rand((n_data, *SHAPES[dataset]), device=data_dev)
    labels = torch.randint(0, 10, (n_data,), device=data_dev)
    order = torch.randperm(n_data, device=data_dev)
    loss_sum = torch.zeros((), device=device)

    def forward_loss(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = model(x)
        return logits, hard_label_loss(logits, y, 1.0)

    run = StepRunner(compiled_forward(model, fast, forward_loss), forward_loss, fast.compile)
    steps_per_epoch = n_data // BATCH

    def step(i: int) -> None:
        nonlocal loss_sum
        j = i % steps_per_epoch
        idx = order[j * BATCH : (j + 1) * BATCH]
        x = images[idx].to(device, non_blocking=True)
        y = labels[idx].to(device, non_blocking=True)
        _, loss = run(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.detach()

    step.fallback = run  # type: ignore[attr-defined]
    return step


def stacked_step(dataset: str, k: int, device: torch.device, n_data: int) -> Callable[[int], None]:
    """k networks as one computation: vmap over stacked weights, each its own batch and dropout mask."""
    from torch.func import functional_call, grad_and_value, stack_module_state, vmap

    lr, momentum = HYPER[dataset]
    models = [build_model(dataset, seed=s).to(device) for s in range(k)]
    params, buffers = stack_module_state(models)  # type: ignore[arg-type]
    base = copy.deepcopy(models[0]).to("meta")
    base.train()

    def loss_of(p: dict, b: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return hard_label_loss(functional_call(base, (p, b), (x,)), y, 1.0)

    grad_fn = vmap(grad_and_value(loss_of), randomness="different")
    leaves = list(params.values())
    opt = torch.optim.SGD(leaves, lr=lr, momentum=momentum)  # elementwise: the same as k optimisers
    images = torch.rand((n_data, *SHAPES[dataset]), device=device)
    labels = torch.randint(0, 10, (n_data,), device=device)
    orders = torch.stack([torch.randperm(n_data, device=device) for _ in range(k)])
    steps_per_epoch = n_data // BATCH
    loss_sum = torch.zeros(k, device=device)

    def step(i: int) -> None:
        nonlocal loss_sum
        j = i % steps_per_epoch
        idx = orders[:, j * BATCH : (j + 1) * BATCH]
        grads, loss = grad_fn(params, buffers, images[idx], labels[idx])
        for p, name in zip(leaves, params, strict=True):
            p.grad = grads[name]
        opt.step()
        loss_sum += loss.detach()

    return step


def grouped_step(
    dataset: str, k: int, device: torch.device, n_data: int, compile: bool, channels_last: bool = False
) -> Callable[[int], None]:
    """k networks as one module (distillbench.stacked: grouped convolutions, batched matmuls), each its own
    batch, dropout and temperature; eager or compiled like the `compile` variant; NHWC weights if asked."""
    lr, momentum = HYPER[dataset]
    model = StackedPapernotNet.from_models([build_model(dataset, seed=s) for s in range(k)], dataset).to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)  # elementwise: the same as k optimisers
    images = torch.rand((n_data, *SHAPES[dataset]), device=device)
    labels = torch.randint(0, 10, (n_data,), device=device)
    temps = torch.linspace(1.0, 100.0, k, device=device)
    orders = torch.stack([torch.randperm(n_data, device=device) for _ in range(k)])
    steps_per_epoch = n_data // BATCH
    loss_sum = torch.zeros((), device=device)

    def forward_loss(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = model(x)
        return logits, stacked_losses(logits, y, temps).sum()

    fast = select_fast_path("compile", device) if compile else PLAIN
    run = StepRunner(compiled_forward(model, fast, forward_loss), forward_loss, fast.compile)

    def step(i: int) -> None:
        nonlocal loss_sum
        j = i % steps_per_epoch
        idx = orders[:, j * BATCH : (j + 1) * BATCH]
        _, loss = run(images[idx], labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.detach()

    step.fallback = run  # type: ignore[attr-defined]
    return step


HEAP = "+heap"
SEVERAL = ("stacked", "grouped")  # variants that train several networks at once


def variants(device: torch.device, stack: int) -> list[str]:
    names = ["plain", "channels_last"]
    if device.type == "cuda":
        g = f"grouped{stack}"
        names += ["compile", f"stacked{stack}", g, g + "+compile", g + "+compile+bench", g + "+compile+cl"]
        names += [g + "+compile+cl+bench"]
    else:
        if stack:
            names += [f"stacked{stack}", f"grouped{stack}"]
        names.append("channels_last" + HEAP)  # what the workflow's CPU jobs run: keep it last
    return names


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few steps: under 2 minutes on 2 CPU cores")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--steps", type=int, default=None, help="timed MNIST steps per variant (CIFAR-10: a quarter on CPU)")
    p.add_argument("--stack", type=int, default=None, help="k of stacked<k> and grouped<k> (0: leave them out)")
    p.add_argument("--variants", default=None, help="comma-separated subset, e.g. plain,compile (default: all here)")
    p.add_argument("--datasets", default="mnist,cifar10", help="comma-separated subset of mnist,cifar10")
    p.add_argument("--out", default=None, help="also write the printed lines to this file")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    cuda = torch.cuda.is_available() and a.device != "cpu"
    if a.device == "cuda" and not cuda:
        p.error("--device cuda: no CUDA device visible")
    device = torch.device("cuda:0" if cuda else "cpu")
    name = torch.cuda.get_device_name(device) if cuda else f"cpu-{torch.get_num_threads()}threads"
    name = name.replace(" ", "_")
    if cuda:
        steps = a.steps or (100 if a.quick else 1000)
        warmup = 10 if a.quick else 50
    else:
        steps = a.steps or (40 if a.quick else 120)
        warmup = 3 if a.quick else 5
    stack = a.stack if a.stack is not None else (8 if cuda else 0)
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    ceil = ceiling(device, a.quick)
    say(
        f"# device {name}; torch {torch.__version__}; python {platform.python_version()}; threads "
        f"{torch.get_num_threads()}; batch {BATCH}; ceiling "
        + ", ".join(f"{k} matmul {v / 1e12:.2f} TFLOP/s" for k, v in ceil.items())
    )
    head = f"{'dataset':8} {'variant':26} {'samples/s':>10} {'ms/step':>8} {'TFLOP/s':>8} {'% ceil':>7}"
    say(f"{head} {'x plain':>8}  note")
    results: dict[tuple[str, str], float] = {}
    chosen = variants(device, stack)
    if a.variants:
        chosen = a.variants.split(",")  # any name, e.g. grouped4+cl on the CPU; an unknown one says why
    # Both datasets without the heap setting first: once set, it holds for the rest of the process.
    datasets = [d for d in ("mnist", "cifar10") if d in a.datasets.split(",")]
    runs = [(d, v) for d in datasets for v in chosen if not v.endswith(HEAP)]
    runs += [(d, v) for d in datasets for v in chosen if v.endswith(HEAP)]
    heap_set = False
    for dataset, variant in runs:
        ds_steps = steps if (cuda or dataset == "mnist") else max(3, steps // 4)
        ds_warm = warmup if (cuda or dataset == "mnist") else max(1, warmup // 2)
        n_data = BATCH * max(ds_steps, 16) if not cuda else 60_000
        flops = 3.0 * forward_flops(dataset)
        if variant.endswith(HEAP) and not heap_set:
            say(f"# {keep_freed_memory()}")
            heap_set = True
        note = ""
        try:
            n_steps, warm = ds_steps, ds_warm
            if variant.startswith("stacked"):
                k = int(variant.removeprefix("stacked"))
                step = stacked_step(dataset, k, device, min(n_data, BATCH * 64))
                per_step = k * BATCH
                n_steps = max(3, ds_steps // k)  # k networks a step: about the same samples as the others
            elif variant.startswith("grouped"):
                base, *mods = variant.split("+")
                k = int(base.removeprefix("grouped"))
                compiled = "compile" in mods
                torch.backends.cudnn.benchmark = "bench" in mods
                step = grouped_step(dataset, k, device, min(n_data, BATCH * 64), compiled, "cl" in mods)
                per_step = k * BATCH
                n_steps = max(3, ds_steps // k) if not cuda else ds_steps
                if compiled:
                    warm = max(ds_warm, 20)
            else:
                path = variant.removesuffix(HEAP)
                fast = PLAIN if path == "plain" else select_fast_path(path, device)
                step = single_model_step(dataset, fast, device, n_data)
                per_step = BATCH
                if variant == "compile":
                    warm = max(ds_warm, 20)  # compile + CUDA-graph recording happen in the first steps
            t0 = time.perf_counter()
            dt = time_steps(step, warm, n_steps, device)
            fb = getattr(step, "fallback", None)
            if fb is not None and fb.compiled is False and "compile" in variant.split("+"):
                note = "compile failed, ran eager (reason logged above)"
            elif "compile" in variant.split("+"):
                note = f"{time.perf_counter() - t0 - dt * n_steps:.0f} s compile+warm-up before timing"
        except Exception as exc:  # noqa: BLE001 - a variant that cannot run here says why and is skipped
            say(
                f"{dataset:8} {variant:26} {'-':>10} {'-':>8} {'-':>8} {'-':>7} {'-':>8}  skipped: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
            )
            continue
        sps = per_step / dt
        results[(dataset, variant)] = sps
        achieved = sps * flops
        base = results.get((dataset, "plain"))
        ratio = f"{sps / base:.2f}" if base else "-"
        say(
            f"{dataset:8} {variant:26} {sps:10.0f} {dt * 1e3:8.2f} {achieved / 1e12:8.3f} "
            f"{100 * achieved / ceil['fp32']:6.1f}% {ratio:>8}  {note}"
        )
        del step
        torch.backends.cudnn.benchmark = False
        if cuda:
            torch.cuda.empty_cache()
    auto = select_fast_path("auto", device).name
    if not cuda and (("mnist", auto + HEAP) in results):
        auto += HEAP  # every CPU job of the workflow sets the heap up before it trains
    best = {
        d: max((v for (dd, v2), v in results.items() if dd == d and not v2.startswith(SEVERAL)), default=0.0)
        for d in ("mnist", "cifar10")
    }
    say(
        f"# auto selects '{auto}' on this device; fastest single-model variant: mnist {best['mnist']:.0f}, "
        f"cifar10 {best['cifar10']:.0f} samples/s"
    )
    mn = results.get(("mnist", auto), 0.0)
    cf = results.get(("cifar10", auto), 0.0)
    plain = results.get(("mnist", "plain"), 0.0)
    say(
        f"train mnist_samples_per_s={mn:.0f} cifar_samples_per_s={cf:.0f} device={name} "
        f"speedup_vs_plain={mn / plain if plain else float('nan'):.2f}"
    )
    if a.out:
        Path(a.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
