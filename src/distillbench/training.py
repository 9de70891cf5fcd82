"""The training loop of every paper's networks: one network at a softmax temperature, on hard labels, on soft
labels (Papernot's students) or on a teacher's logits (a loss chosen by name); resumable after every epoch, with
the fast path. Several networks in one process: :mod:`.group_training`."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checkpoints import load_checkpoint, load_resume, save_resume
from .checkpoints import save_checkpoint as _save_checkpoint
from .data import TensorDataset
from .errors import UserError
from .fastpath import FastPath, compiled_forward, job_fast_path
from .losses import hard_label_loss, make_loss, soft_label_loss, softmax_t
from .model_names import arch
from .models import build_arch

__all__ = [
    "Recipe",
    "TrainSpec",
    "TrainingDiverged",
    "accuracy",
    "hard_label_loss",
    "load_checkpoint",
    "lr_at_epoch",
    "predict_logits",
    "save_checkpoint",
    "soft_label_loss",
    "soft_labels",
    "softmax_t",
    "train",
]

log = logging.getLogger(__name__)


class TrainingDiverged(UserError, FloatingPointError):
    """The loss or the weights became NaN or infinite."""


@torch.no_grad()
def predict_logits(
    model: nn.Module, images: torch.Tensor, device: torch.device, batch_size: int | None = None
) -> torch.Tensor:
    """Logits of ``model`` in eval mode, on the host. On CUDA in one batched pass: the images go to the
    device at once and the logits come back at once (one host-device sync, not one per batch).

    Default batch: 1000 on CUDA, 250 on the CPU, where the first convolution's output for 1000 MNIST
    images (86 MB) is above glibc's mmap threshold, so every batch's buffers were mapped and faulted in
    afresh: measured at 1 thread, 20k images, NHWC, 3.6 s user + 2.2-3.3 s system time at 1000 against
    3.5-4.0 s user + 0.05 s system at 250 (the soft-label pass and every test pass)."""
    if batch_size is None:
        batch_size = 1000 if device.type == "cuda" else 250
    model.eval()
    if device.type == "cuda":
        on_dev = images.to(device)
        out = [model(on_dev[i : i + batch_size]).float() for i in range(0, len(on_dev), batch_size)]
        return torch.cat(out).cpu() if out else torch.empty(0, 10)
    out = [model(images[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(out) if out else torch.empty(0, 10)


def accuracy(model: nn.Module, data: TensorDataset, device: torch.device) -> float:
    return test_scores(model, data, device)[0]


def test_scores(model: nn.Module, data: TensorDataset, device: torch.device) -> tuple[float, int]:
    """Accuracy (NaN on no data) and number of errors of ``model`` on ``data``, from one pass."""
    if len(data) == 0:
        return float("nan"), 0
    pred = predict_logits(model, data.images, device).argmax(1)
    return float((pred == data.labels).float().mean()), int((pred != data.labels).sum())


@dataclass
class TrainSpec:
    """What one training job does; every field ends up in the checkpoint's metadata."""

    dataset: str
    temperature: float
    epochs: int
    lr: float
    momentum: float
    batch_size: int
    dropout: float
    init: str
    seed: int
    nesterov: bool = False
    lr_decay: Mapping[str, Any] | None = None
    role: str = "teacher"  # teacher | student | warm_start
    input_range: str = "unit"  # models.INPUT_OFFSETS
    dropout_layers: str = "both_fc"  # models.DROPOUT_LAYERS
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls, dataset: str, training: Mapping[str, Any], *, temperature: float, epochs: int, seed: int, role: str
    ) -> TrainSpec:
        return cls(
            dataset=dataset,
            temperature=float(temperature),
            epochs=int(epochs),
            lr=float(training["lr"]),
            momentum=float(training["momentum"]),
            batch_size=int(training["batch_size"]),
            dropout=float(training["dropout"]),
            init=str(training["init"]),
            seed=int(seed),
            nesterov=bool(training.get("nesterov", False)),
            lr_decay=training.get("lr_decay"),
            role=role,
            input_range=str(training.get("input_range", "unit")),
            dropout_layers=str(training.get("dropout_layers", "both_fc")),
        )


# What one epoch records: the fields a caller keeps (``Recipe.history_fields``).
EPOCH_FIELDS = ("epoch", "lr", "loss", "train_acc", "test_acc", "test_errors", "seconds")
PAPERNOT_FIELDS = ("epoch", "lr", "loss", "train_acc", "test_acc", "seconds")


@dataclass
class Recipe:
    """How a job's steps differ from a Papernot network's (the defaults): its own network, a loss by name
    (losses.LOSSES) fed the labels and the teacher's logits, an augmentation drawn from the job's generator after
    its shuffle, a constraint after each step, its own learning-rate schedule, the history fields it keeps, and
    the config field its divergence message names."""

    model: nn.Module | None = None
    loss: str | None = None
    alpha: float = 0.5
    teacher_logits: torch.Tensor | None = None
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None
    after_step: Callable[[nn.Module], None] | None = None
    lr_at: Callable[[int], float] | None = None
    history_fields: tuple[str, ...] = PAPERNOT_FIELDS
    lr_field: str | None = None


def lr_at_epoch(spec: TrainSpec, epoch: int) -> float:
    """Learning rate for 1-based ``epoch``: constant, or times ``factor`` each epoch after ``after_epoch``."""
    if not spec.lr_decay:
        return spec.lr
    over = max(0, epoch - int(spec.lr_decay["after_epoch"]))
    return spec.lr * float(spec.lr_decay["factor"]) ** over


def set_epoch_lr(opt: torch.optim.Optimizer, spec: TrainSpec, epoch: int, recipe: Recipe | None = None) -> float:
    """Set and return the learning rate of 1-based ``epoch`` (:func:`lr_at_epoch`, or the recipe's schedule)."""
    lr = recipe.lr_at(epoch) if recipe is not None and recipe.lr_at is not None else lr_at_epoch(spec, epoch)
    for group in opt.param_groups:
        group["lr"] = lr
    return lr


def random_state() -> dict[str, Any]:
    """The global random state (dropout masks) for a resume file."""
    return {
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def restore_random_state(state: Mapping[str, Any]) -> None:
    """Dropout masks continue as if never interrupted."""
    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])


def train(
    spec: TrainSpec,
    train_data: TensorDataset,
    test_data: TensorDataset,
    device: torch.device,
    *,
    soft_targets: torch.Tensor | None = None,
    init_state: Mapping[str, torch.Tensor] | None = None,
    resume_path: Path | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    on_epoch_model: Callable[[nn.Module, list[dict[str, Any]]], None] | None = None,
    fast_path: str | FastPath = "auto",
    recipe: Recipe | None = None,
) -> tuple[nn.Module, list[dict[str, Any]]]:
    """Train a fresh network at ``spec.temperature``; hard labels, or ``soft_targets`` when given, or what
    ``recipe`` says (another paper's network, loss, teacher logits, augmentation; :class:`Recipe`).

    ``fast_path`` (see fastpath.py) says how the steps run, never what they compute: ``fastpath.PLAIN`` is the
    plain loop, ``auto`` the measured choice for the device.

    With ``resume_path`` the optimiser, model and RNG states (shuffling and dropout) are saved after
    every epoch, and a run interrupted mid-way continues from its last finished epoch exactly as if it
    had not stopped. ``on_epoch_model(model, history)`` runs after every epoch (the model in eval mode).
    """
    recipe = recipe or Recipe()
    model = recipe.model
    if model is None:
        model = build_arch(
            arch(spec.dataset),
            spec.dataset,
            dropout=spec.dropout,
            init=spec.init,
            seed=spec.seed,
            input_range=spec.input_range,
            dropout_layers=spec.dropout_layers,
        )
    model = model.to(device)
    if init_state is not None:
        model.load_state_dict(init_state)
    opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum, nesterov=spec.nesterov)
    gen = torch.Generator().manual_seed(spec.seed + 1)
    history: list[dict[str, Any]] = []
    start_epoch = 1
    state = load_resume(Path(resume_path)) if resume_path is not None else None
    if state is not None:
        if state.get("spec") == spec.__dict__:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            gen.set_state(state["generator"])
            restore_random_state(state)
            history = state["history"]
            start_epoch = len(history) + 1
            log.info("resuming from %s after epoch %d", resume_path, len(history))
        else:
            log.info("ignoring %s: it was written for different settings", resume_path)

    fast = job_fast_path(fast_path, device, spec.epochs)
    log.info("fast path: %s (%s)", fast.name, fast.reason)
    fast.prepare_model(model)
    images, labels = train_data.images, train_data.labels
    targets = soft_targets if soft_targets is not None else labels
    teacher = recipe.teacher_logits
    n = len(train_data)
    on_device = fast.resident and device.type != "cpu"
    if on_device:  # the whole training set fits on any GPU: no host->device copy per step
        images, targets = images.to(device), targets.to(device)
        teacher = teacher.to(device) if teacher is not None else None
    steps = math.ceil(n / spec.batch_size)

    # The loss, chosen once by name (losses.py): teachers on hard labels, distilled networks on soft labels,
    # or the recipe's.
    name = recipe.loss or ("hard" if soft_targets is None else "soft_labels")
    loss_fn = make_loss(name, temperature=spec.temperature, alpha=recipe.alpha)

    def forward_loss(x: torch.Tensor, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``y``: the batch's hard labels, or its soft labels (given in the teacher's place), or (labels, the
        teacher's logits)."""
        logits = model(x)
        hard, zt = y if isinstance(y, tuple) else (y, y)
        return logits, loss_fn(logits, hard, zt)

    step_fn = StepRunner(compiled_forward(model, fast, forward_loss), forward_loss, fast.compile)
    for epoch in range(start_epoch, spec.epochs + 1):
        t0 = time.perf_counter()
        lr = set_epoch_lr(opt, spec, epoch, recipe)
        model.train()
        order = torch.randperm(n, generator=gen)
        if on_device:
            order = order.to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        # Per-step losses stay on the device (no host sync per step); read once the epoch is over.
        step_loss = torch.empty(steps, device=device)
        for i in range(steps):
            idx = order[i * spec.batch_size : (i + 1) * spec.batch_size]
            x = images[idx].to(device, non_blocking=True)
            if recipe.augment is not None:  # after the shuffle, from the same generator
                x = recipe.augment(x, gen)
            y = targets[idx].to(device, non_blocking=True)
            hard = y if soft_targets is None else y.argmax(1)
            if teacher is None:
                logits, loss = step_fn(x, y)
            else:
                logits, loss = step_fn(x, (y, teacher[idx].to(device, non_blocking=True)))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if recipe.after_step is not None:
                recipe.after_step(model)
            step_loss[i] = loss.detach()
            loss_sum += loss.detach() * len(idx)
            correct += (logits.detach().argmax(1) == hard).sum()
        epoch_loss = float(loss_sum) / n
        check_finite(spec, epoch, epoch_loss, step_loss, model, recipe.lr_field)
        test_acc, test_errors = test_scores(model, test_data, device)
        every = {
            "epoch": epoch,
            "lr": lr,
            "loss": epoch_loss,
            "train_acc": float(correct) / n,
            "test_acc": test_acc,
            "test_errors": test_errors,
            "seconds": time.perf_counter() - t0,
        }
        row = {k: every[k] for k in recipe.history_fields}
        history.append(row)
        log.info(
            "epoch %d/%d T=%g lr=%.4g loss=%.4f train_acc=%.4f test_acc=%.4f seconds=%.1f",
            epoch,
            spec.epochs,
            spec.temperature,
            lr,
            epoch_loss,
            every["train_acc"],
            test_acc,
            every["seconds"],
        )
        if on_epoch:
            on_epoch(row)
        if on_epoch_model:  # e.g. snapshots (length_study.py); before the resume state, so none is skipped
            on_epoch_model(model, history)
        if resume_path is not None:
            # Tensors and plain values only, so that it loads with weights_only=True.
            save_resume(
                Path(resume_path),
                {
                    "spec": spec.__dict__,
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "generator": gen.get_state(),
                    **random_state(),
                    "history": history,
                },
            )
    fast.finish_model(model)
    return model, history


class StepRunner:
    """Runs the compiled step; at its first failure says why and runs eager from then on."""

    def __init__(self, fn: Callable[..., Any], eager: Callable[..., Any], compiled: bool) -> None:
        self.fn, self.eager, self.compiled = fn, eager, compiled

    def __call__(self, x: torch.Tensor, y: Any) -> Any:
        if not self.compiled:
            return self.eager(x, y)
        try:
            torch.compiler.cudagraph_mark_step_begin()  # outputs of the last replay are no longer read
            logits, loss = self.fn(x, y)
            return logits.clone(), loss.clone()
        except Exception as exc:  # noqa: BLE001 - any failure of the compiled path: eager, and say why
            log.warning("compiled step failed (%s: %s); running eager from here", type(exc).__name__, exc)
            self.compiled = False
            return self.eager(x, y)


def check_finite(
    spec: TrainSpec,
    epoch: int,
    epoch_loss: float,
    step_loss: torch.Tensor,
    model: nn.Module,
    lr_field: str | None = None,
) -> None:
    """Stop with the epoch, the first bad step and a hint when the loss or the weights are NaN or infinite
    (``lr_field``: the config field of the learning rate, when not Papernot's ``datasets.<d>.training.lr``)."""
    where = f"{spec.dataset} {spec.role} at T={spec.temperature:g}, lr {lr_at_epoch(spec, epoch):g}"
    fix = (
        f"lower '{lr_field or f'datasets.{spec.dataset}.training.lr'}' (e.g. to a tenth): this learning rate is "
        "too high for this temperature and batch"
    )
    if lr_field is None:
        fix += "; a warm start ('warm_start_epochs: 1') also steadies high temperatures"
    if not math.isfinite(epoch_loss):
        bad = (~torch.isfinite(step_loss)).nonzero()
        step = int(bad[0]) if len(bad) else len(step_loss) - 1
        value = float(step_loss[step])
        raise TrainingDiverged(
            f"training stopped ({where}): the loss became {value} at epoch {epoch}, step {step + 1} of "
            f"{len(step_loss)}; fix: {fix}"
        )
    if not bool(torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all()):
        raise TrainingDiverged(
            f"training stopped ({where}): the weights became NaN or infinite in the last step of epoch {epoch} "
            f"(step {len(step_loss)}); fix: {fix}"
        )


def save_checkpoint(
    path: Path, model: nn.Module, spec: TrainSpec, history: list[dict[str, Any]], test_accuracy: float, **meta: Any
) -> None:
    _save_checkpoint(path, model, spec.__dict__, history, test_accuracy, **meta)


@torch.no_grad()
def soft_labels(model: nn.Module, images: torch.Tensor, temperature: float, device: torch.device) -> torch.Tensor:
    """softmax(Z_teacher / T) for every training image (the teacher in eval mode)."""
    return softmax_t(predict_logits(model, images, device), temperature)
