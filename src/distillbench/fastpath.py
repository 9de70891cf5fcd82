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

``select_fast_path`` maps the config's ``fast_path`` (``auto`` | ``plain`` | a variant name) and the
device to a ``FastPath``. ``auto`` takes what measurement supports on each device; ``plain`` is the
plain loop (data on the host for the CPU, resident on CUDA as before, contiguous weights, eager).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used: the CLI reads FAST_PATHS without it
    import torch
    from torch import nn

log = logging.getLogger(__name__)

FAST_PATHS = ("auto", "plain", "channels_last", "compile")


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


def select_fast_path(requested: str, device: torch.device) -> FastPath:
    """The fast path for ``device``: the single place where training speed-ups are switched on."""
    if requested not in FAST_PATHS:
        raise ValueError(f"unknown fast path {requested!r}; use one of {', '.join(FAST_PATHS)}")
    cuda = device.type == "cuda"
    if requested == "plain":
        return FastPath("plain", cuda, False, False, "the plain loop (config 'fast_path: plain')")
    if requested == "channels_last":
        return FastPath("channels_last", cuda, True, False, "NHWC weights (config 'fast_path: channels_last')")
    if requested == "compile":
        if not cuda:
            return FastPath(
                "channels_last", False, True, False, "'fast_path: compile' is for CUDA; on the CPU: NHWC weights"
            )
        return FastPath("compile", True, False, True, "torch.compile reduce-overhead (config 'fast_path: compile')")
    if cuda:
        # Measured on CPU only here; on CUDA the step is launch-bound: data resident on the device is the
        # proven win. `fast_path: compile` after benchmark/perf/train.py shows it pays on the GPU at hand.
        return FastPath("resident", True, False, False, "auto on CUDA: training set resident on the device")
    return FastPath("channels_last", False, True, False, "auto on the CPU: NHWC weights (oneDNN), ~1.3-1.5x")


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
