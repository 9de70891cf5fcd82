"""Where the training step's speed-ups are chosen: the one place that decides how a step runs.

A fast path never changes what a step computes (the same loss, the same SGD update, the same
batches in the same order); it changes where the data lives and how the kernels are issued:

* ``resident``: the whole training set (and its soft labels) sits on the device; a step indexes it
  there, with no host-to-device copy. On the CPU the data is already there.
* ``channels_last``: the network's weights (and so its activations) in NHWC memory order. On the
  CPU, oneDNN's NHWC convolutions are faster (measured in benchmark/perf/train.py: ~1.3-1.5x per
  MNIST step at 1 thread). Floating-point sums run in another order: results agree within rounding,
  not bit for bit (tests/test_fastpath.py states the tolerance).
* ``compile``: ``torch.compile(mode="reduce-overhead")`` on the forward pass and loss (CUDA only):
  Inductor kernels replayed as CUDA graphs, which removes the per-kernel launch cost that dominates
  2.5 ms steps of these 0.3-1.2 M-parameter networks. Falls back to eager, with the reason logged,
  when compiling fails.

``select_fast_path`` maps the config's ``execution.fast_path`` (``auto`` | ``channels_last`` | ``compile``)
and the device to a ``FastPath``. ``auto`` takes the fastest path measured on each device type
(:data:`AUTO`). The plain loop (:data:`PLAIN`: data on the host for the CPU, resident on CUDA,
contiguous weights, eager) is not a configuration choice: it was the fastest on no device measured, and
stays as the reference that the tests and ``benchmark/perf/train.py`` compare the fast paths with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used: the CLI reads FAST_PATHS without it
    import torch
    from torch import nn

log = logging.getLogger(__name__)

FAST_PATHS = ("auto", "channels_last", "compile")

# What ``auto`` runs on each device type: the fastest training step measured there (benchmark/perf/README.md,
# "Training-step speed"; samples/s over the plain loop, MNIST / CIFAR-10, batch 128, benchmark/perf/runs/):
# - cpu: channels_last, 1.18x / 1.15x at 1 thread (2026-11-26-quick-cpu1.txt) and 1.14x / 1.17x at 2 threads on
#   an idle machine (2026-11-26-quick-cpu2-heap.txt); compile is for CUDA only.
# - cuda: compile, 2.26x / 1.47x on one H200 (2026-11-26-full-h200.txt; channels_last there: 1.14x / 0.99x) and
#   1.51x / 1.80x on one H100 (2026-11-26-grouped-h100.txt). Jobs shorter than COMPILE_MIN_EPOCHS run uncompiled
#   (for_epochs), their data still resident on the GPU.
# The plain loop was the fastest nowhere: only single rows on a loaded CPU put it ahead, by 2% at most
# (2026-11-26-quick-cpu2.txt, MNIST, load average 9.5; 2026-11-26-step-variants-cpu1.txt, CIFAR-10's first pair,
# whose repeat has channels_last 1.29x ahead), so it is no configuration choice.
AUTO = {"cpu": "channels_last", "cuda": "compile"}

# Compiling costs about 20 s once (measured on one H100: the CIFAR-10 warm start's one epoch took 20.6 s compiled,
# CHANGELOG.md, 2026-11-26; uncompiled the plain loop runs that epoch in ~1.1 s at 45,307
# samples/s, benchmark/perf/runs/2026-11-26-grouped-h100.txt) and saves 0.4-0.5 s per epoch of one network alone
# (same benchmark). Below this many epochs a job runs its step uncompiled; the paper's 50-epoch jobs compile.
COMPILE_MIN_EPOCHS = 10


@dataclass(frozen=True)
class FastPath:
    name: str
    resident: bool
    channels_last: bool
    compile: bool
    reason: str

    def prepare_model(self, model: nn.Module) -> nn.Module:
        """The model in the memory format the path uses (in place; returns it)."""
        if self.channels_last:
            import torch

            model.to(memory_format=torch.channels_last)
        return model

    def finish_model(self, model: nn.Module) -> nn.Module:
        """Back to contiguous weights, so that checkpoints look the same whatever the path."""
        if self.channels_last:
            import torch

            model.to(memory_format=torch.contiguous_format)
        return model


# The plain loop: no speed-up. The reference the fast paths are checked against (tests, benchmark/perf/train.py);
# ``resident`` only matters on CUDA (the CPU's data is already where the step runs).
PLAIN = FastPath("plain", True, False, False, "the plain loop (the reference the fast paths are checked against)")


def for_epochs(fast: FastPath, epochs: int) -> FastPath:
    """``fast`` without compiling when a job trains fewer than :data:`COMPILE_MIN_EPOCHS` epochs (e.g. a warm start)."""
    if not fast.compile or epochs >= COMPILE_MIN_EPOCHS:
        return fast
    why = f"{epochs} epoch(s) to train: compiling (~20 s) would cost more than it saves; uncompiled"
    return replace(fast, name="resident" if fast.resident else "plain", compile=False, reason=f"{fast.reason}; {why}")


def for_groups(fast: FastPath, device: torch.device) -> FastPath:
    """``fast`` for several networks as one module (group_training): NHWC weights on CUDA too.

    Measured on one H100, 9 networks as one compiled module: NHWC grouped convolutions trained 15.5% (CIFAR-10)
    and 14.8% (MNIST) more samples/s than NCHW (benchmark/perf/runs/2026-11-26-grouped-cl-h100.txt); on the CPU
    the measured paths already use NHWC. Floating-point sums run in another order: agreement within rounding.
    """
    if device.type != "cuda" or fast.channels_last:
        return fast
    return replace(
        fast, name=f"{fast.name}+nhwc", channels_last=True, reason=f"{fast.reason}; grouped convolutions in NHWC"
    )


def job_fast_path(requested: str | FastPath, device: torch.device, epochs: int, group: bool = False) -> FastPath:
    """What a training job runs: the config's choice for the device, then :func:`for_epochs` and, for a group of
    networks, :func:`for_groups` (training.train, group_training.train_group and the metrics they write)."""
    fast = requested if isinstance(requested, FastPath) else select_fast_path(requested, device)
    fast = for_epochs(fast, epochs)
    return for_groups(fast, device) if group else fast


def select_fast_path(requested: str, device: torch.device) -> FastPath:
    """The fast path for ``device``: the single place where training speed-ups are switched on."""
    if requested not in FAST_PATHS:
        raise ValueError(f"unknown fast path {requested!r}; use one of {', '.join(FAST_PATHS)}")
    cuda = device.type == "cuda"
    why = "config 'execution.fast_path: {}'"
    if requested == "auto":
        if device.type not in AUTO:
            return replace(PLAIN, reason=f"auto on {device.type}: no measurement for this device, the plain loop")
        requested, why = AUTO[device.type], f"auto on {device.type}: the fastest measured there ({{}})"
    if requested == "channels_last":
        return FastPath("channels_last", cuda, True, False, "NHWC weights (" + why.format("channels_last") + ")")
    if not cuda:
        return FastPath("channels_last", False, True, False, "'compile' is for CUDA; on the CPU: NHWC weights")
    return FastPath("compile", True, False, True, "torch.compile reduce-overhead (" + why.format("compile") + ")")


def compiled_forward(
    model: nn.Module, fast: FastPath, fn: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """``fn`` (forward and loss) compiled when the path says so; eager otherwise or when compiling fails."""
    if not fast.compile:
        return fn
    import torch

    try:
        return torch.compile(fn, mode="reduce-overhead", dynamic=False)
    except Exception as exc:  # noqa: BLE001 - any failure means: run eager, and say why
        log.warning("torch.compile unavailable (%s: %s); running eager", type(exc).__name__, exc)
        return fn
