"""Checkpoints, soft labels and training resume files: written atomically, read with ``weights_only=True``
and checked for what they must hold, so that a truncated or foreign file is refused with its name."""

from __future__ import annotations

import logging
import math
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import io
from .errors import UserError, paragraph, quote
from .models import ARCHITECTURES, build_arch

log = logging.getLogger(__name__)

CHECKPOINT_KEYS = ("state_dict", "spec", "history", "test_accuracy")
SPEC_KEYS = ("dataset", "temperature", "dropout")
RESUME_KEYS = ("spec", "model", "optimizer", "generator", "torch_rng", "history")
GROUP_RESUME_KEYS = ("specs", "model", "optimizer", "generators", "torch_rng", "histories")  # group_training.py
REMAKE = "delete it and run the workflow again: Snakemake remakes a missing file (or force it with --forcerun <rule>)"


class CheckpointError(UserError, RuntimeError):
    """A checkpoint, soft-label or resume file is missing, truncated, foreign or inconsistent."""


def _refuse(path: Path, what: str, problem: str, fix: str = REMAKE) -> CheckpointError:
    return CheckpointError(paragraph(f"{what} {path}", problem, fix))


def read_torch(path: Path, what: str) -> Any:
    """``torch.load(weights_only=True)`` on CPU; any failure names the file."""
    path = Path(path)
    if not path.exists():
        raise _refuse(path, what, "the file is missing", "run the rule that makes it (rerun the workflow)")
    if path.stat().st_size == 0:
        raise _refuse(path, what, "the file is empty (0 bytes)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only refused a Python object, or not a pickle at all
        first = quote(exc)
        raise _refuse(path, what, f"not a plain torch file of tensors and numbers ({first})") from None
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile, OSError, AttributeError, KeyError) as exc:
        first = quote(exc)
        raise _refuse(
            path,
            what,
            f"cannot be read as a torch file, truncated or written by something else ({type(exc).__name__}: {first})",
        ) from None


# --- trained networks -----------------------------------------------------------------------------


def save_checkpoint(
    path: Path,
    model: nn.Module,
    spec: Mapping[str, Any],
    history: list[dict[str, Any]],
    test_accuracy: float,
    **meta: Any,
) -> None:
    """Every trained network, of any paper: CPU weights, the training spec (plain values: ``dataset``,
    ``temperature``, ``dropout``; ``arch`` and its ``widths``/``input_dropout`` where it is not the dataset's
    Papernot network), history, test accuracy, provenance (``meta``)."""
    io.save_torch(
        path,
        {
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "spec": dict(spec),
            "history": history,
            "test_accuracy": test_accuracy,
            **meta,
        },
    )


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """A network saved by :func:`save_checkpoint` (its architecture from its spec), checked key by key and weight
    by weight."""
    path = Path(path)
    what = "checkpoint"
    ckpt = read_torch(path, what)
    if not isinstance(ckpt, dict):
        raise _refuse(
            path,
            what,
            f"holds a {type(ckpt).__name__}, not a distillbench checkpoint (a dict with {', '.join(CHECKPOINT_KEYS)})",
        )
    missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        raise _refuse(path, what, f"lacks {', '.join(missing)}: not a distillbench checkpoint")
    spec = ckpt["spec"]
    if not isinstance(spec, dict) or any(k not in spec for k in SPEC_KEYS):
        raise _refuse(path, what, f"its 'spec' lacks {', '.join(k for k in SPEC_KEYS if k not in (spec or {}))}")
    if spec["dataset"] not in ARCHITECTURES:
        raise _refuse(path, what, f"made for dataset {spec['dataset']!r}, which this harness does not know")
    state = ckpt["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise _refuse(path, what, "its 'state_dict' is not a mapping of tensors")
    model = build_arch(
        str(spec.get("arch") or f"papernot_{spec['dataset']}"),
        spec["dataset"],
        widths=list(spec.get("widths") or ()),
        dropout=float(spec["dropout"]),
        input_dropout=float(spec.get("input_dropout") or 0.0),
        init="pytorch_default",
        input_range=str(spec.get("input_range", "unit")),
        dropout_layers=str(spec.get("dropout_layers", "both_fc")),
    )
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = quote(exc)
        net = spec.get("arch") or spec["dataset"]
        raise _refuse(path, what, f"its weights do not fit the {net} network ({detail})") from None
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise _refuse(path, what, f"weights {', '.join(bad[:3])} hold NaN or infinite values (training diverged?)")
    model.to(device).eval()
    return model, ckpt


# --- soft labels ----------------------------------------------------------------------------------


def save_soft_labels(path: Path, probs: torch.Tensor) -> None:
    io.save_torch(path, probs.detach().cpu().contiguous())


def load_soft_labels(path: Path, rows: int, classes: int = 10) -> torch.Tensor:
    """Probability vectors (``rows`` x ``classes``, finite, non-negative, each summing to 1)."""
    path = Path(path)
    what = "soft-label file"
    probs = read_torch(path, what)
    if not isinstance(probs, torch.Tensor) or not probs.is_floating_point():
        got = f"a {probs.dtype} tensor" if isinstance(probs, torch.Tensor) else f"a {type(probs).__name__}"
        raise _refuse(path, what, f"holds {got}, not a float tensor of probabilities")
    if tuple(probs.shape) != (rows, classes):
        raise _refuse(
            path,
            what,
            f"has shape {tuple(probs.shape)}, the training set needs ({rows}, {classes}) "
            "(made for another train_subset?)",
        )
    if not bool(torch.isfinite(probs).all()) or bool((probs < 0).any()):
        raise _refuse(path, what, "holds NaN, infinite or negative values (the teacher diverged?)")
    worst = float((probs.sum(1) - 1).abs().max()) if rows else 0.0
    if not math.isclose(worst, 0.0, abs_tol=1e-3):
        raise _refuse(path, what, f"rows do not sum to 1 (off by up to {worst:.3g}): not softmax outputs")
    return probs


# --- training resume files ------------------------------------------------------------------------


def save_resume(path: Path, state: Mapping[str, Any]) -> None:
    """Model, optimiser and RNG states after an epoch: tensors and plain values only (``weights_only``-loadable)."""
    io.save_torch(path, dict(state))


def load_resume(path: Path, keys: tuple[str, ...] = RESUME_KEYS) -> dict[str, Any] | None:
    """A resume file holding ``keys``, or ``None`` (logged, with the file named) when it is absent or unusable.

    The job then starts over.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = read_torch(path, "resume file")
    except CheckpointError as exc:
        log.warning("%s; starting from epoch 1 instead", exc)
        return None
    if not isinstance(state, dict) or any(k not in state for k in keys):
        log.warning("resume file %s: not a distillbench resume file; starting from epoch 1 instead", path)
        return None
    return state
