"""Checkpoints, soft labels and resume files are read with weights_only=True and checked: a truncated or
foreign file is refused with its name before any training or attack starts."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
import torch

from distillbench import cli
from distillbench.checkpoints import CheckpointError, load_checkpoint, load_resume, load_soft_labels
from distillbench.models import build_model
from distillbench.training import TrainSpec, save_checkpoint


def _spec(dataset: str = "mnist") -> TrainSpec:
    return TrainSpec(dataset, 1.0, 1, 0.1, 0.5, 32, 0.5, "glorot_uniform", 3)


@pytest.fixture()
def good_ckpt(tmp_path) -> Path:
    path = tmp_path / "good.pt"
    save_checkpoint(path, build_model("mnist", seed=3), _spec(), [{"epoch": 1, "loss": 1.0}], 0.5)
    return path


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _save(obj):
    def write(path: Path, good: Path) -> None:
        torch.save(obj(path) if callable(obj) else obj, path)

    return write


def _nan_weights(path: Path, good: Path) -> None:
    ckpt = torch.load(good, weights_only=True)
    ckpt["state_dict"]["classifier.1.weight"][0, 0] = float("nan")
    torch.save(ckpt, path)


def _cifar_weights_as_mnist(path: Path, good: Path) -> None:
    ckpt = torch.load(good, weights_only=True)
    ckpt["state_dict"] = build_model("cifar10", seed=1).state_dict()
    torch.save(ckpt, path)


# (how to make the bad file from a good checkpoint, words the refusal must contain)
BAD_CHECKPOINTS = {
    "truncated": (
        lambda p, g: p.write_bytes(g.read_bytes()[: g.stat().st_size // 2]),
        "truncated or written by something else",
    ),
    "empty": (lambda p, g: p.write_bytes(b""), "empty (0 bytes)"),
    "json": (lambda p, g: p.write_text(json.dumps({"state_dict": {}})), "not a plain torch file"),
    "python_object": (_save(lambda p: {"state_dict": _Evil(p.with_suffix(".marker"))}), "not a plain torch file"),
    "bare_tensor": (_save(torch.zeros(3)), "holds a Tensor, not a distillbench checkpoint"),
    "missing_keys": (_save({"state_dict": {}, "spec": {}}), "lacks history, test_accuracy"),
    "other_network": (_cifar_weights_as_mnist, "do not fit the mnist network"),
    "nan_weights": (_nan_weights, "hold NaN or infinite values"),
    "unknown_dataset": (
        _save(
            {
                "state_dict": {},
                "spec": {"dataset": "svhn", "temperature": 1, "dropout": 0.5},
                "history": [],
                "test_accuracy": 0.1,
            }
        ),
        "dataset 'svhn'",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_CHECKPOINTS))
def test_bad_checkpoint_is_refused_with_its_name(tmp_path, good_ckpt, name):
    make, problem = BAD_CHECKPOINTS[name]
    path = tmp_path / f"{name}.pt"
    make(path, good_ckpt)
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    msg = str(exc.value)
    assert msg.startswith(f"checkpoint {path}: ") and problem in msg and "; fix: " in msg and "\n" not in msg
    assert not path.with_suffix(".marker").exists()  # weights_only=True: the pickled command never ran


def test_good_checkpoint_loads(good_ckpt):
    model, ckpt = load_checkpoint(good_ckpt)
    assert ckpt["spec"]["dataset"] == "mnist" and not model.training


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointError, match=f"checkpoint {tmp_path / 'nope.pt'}: the file is missing"):
        load_checkpoint(tmp_path / "nope.pt")


@pytest.mark.parametrize(
    "content,problem",
    [
        (torch.full((5, 10), 0.1)[:4], "has shape (4, 10), the training set needs (5, 10)"),
        (torch.full((5, 10), float("nan")), "NaN, infinite or negative"),
        (torch.full((5, 10), 0.2), "do not sum to 1"),
        (torch.ones(5, 10, dtype=torch.int64), "not a float tensor"),
        ({"probs": torch.full((5, 10), 0.1)}, "holds a dict"),
    ],
)
def test_bad_soft_labels_are_refused(tmp_path, content, problem):
    path = tmp_path / "soft.pt"
    torch.save(content, path)
    with pytest.raises(CheckpointError) as exc:
        load_soft_labels(path, rows=5)
    assert str(exc.value).startswith(f"soft-label file {path}: ") and problem in str(exc.value)


def test_unusable_resume_file_is_named_and_training_starts_over(tmp_path, caplog):
    path = tmp_path / ".m.pt.resume"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with caplog.at_level(logging.WARNING):
        assert load_resume(path) is None
    assert f"resume file {path}" in caplog.text and "starting from epoch 1" in caplog.text
    torch.save({"spec": {}}, path)
    assert load_resume(path) is None


def _train_args(tiny_data_dir, tmp_path, *extra):
    training = {"lr": 0.1, "momentum": 0.5, "batch_size": 32, "epochs": 1, "dropout": 0.5, "init": "glorot_uniform"}
    return [
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        str(tiny_data_dir),
        "--training",
        json.dumps(training),
        "--temperature",
        "1",
        "--epochs",
        "1",
        "--seed",
        "1",
        "--role",
        "student",
        "--train-subset",
        "50",
        "--test-subset",
        "20",
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "out.pt"),
        "--metrics",
        str(tmp_path / "out.json"),
        *extra,
    ]


@pytest.mark.parametrize("which", ["init", "soft"])
def test_train_refuses_bad_inputs_before_any_training(tiny_data_dir, tmp_path, monkeypatch, caplog, which):
    import distillbench.training as training

    def no_training(*a, **k):
        raise AssertionError("training started")

    monkeypatch.setattr(training, "train", no_training)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x02garbage")
    if which == "init":
        extra = ["--init-from", str(bad)]
    else:
        torch.save(torch.full((49, 10), 0.1), bad)  # made for another train_subset
        extra = ["--soft-labels", str(bad)]
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as exc:
        cli.main(_train_args(tiny_data_dir, tmp_path, *extra))
    assert exc.value.code == 2
    assert str(bad) in caplog.text and "fix:" in caplog.text
    assert not (tmp_path / "out.pt").exists() and not (tmp_path / "out.json").exists()


def test_no_torch_load_without_weights_only(repo_root):
    """Every torch.load in the package goes through checkpoints.read_torch, with weights_only=True."""
    calls = []
    for path in (repo_root / "src" / "distillbench").rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if "torch.load(" in line and not line.lstrip().startswith(("#", '"""', "``")):
                calls.append((path.name, n, "weights_only=True" in line))
    assert calls and all(ok for *_, ok in calls), calls
    assert {name for name, *_ in calls} == {"checkpoints.py"}


def test_a_reproductions_network_uses_the_same_checkpoint_format(tmp_path, good_ckpt):
    """Every paper's network is saved by checkpoints.save_checkpoint: an MLP of a reproduction loads back (its
    architecture from the spec) with the same outputs, and its job comes with it; a Fig. 7 network is no job."""
    from distillbench.papers.base import Job, ModelId
    from distillbench.papers.train import build, load_model, save_model

    job = Job(ModelId("t", "mnist", "m", "mlp", "student", 4.0, 11), loss="hard", epochs=1, lr=0.1, momentum=0.0,
              batch_size=8, widths=(16, 8), input_dropout=0.2)  # fmt: skip
    model = build(job).eval()
    path = tmp_path / "m.pt"
    save_model(path, model, job, [{"epoch": 1}], 0.25)
    loaded, ckpt = load_checkpoint(path)
    assert set(ckpt) >= {"state_dict", "spec", "history", "test_accuracy", "job"} and ckpt["test_accuracy"] == 0.25
    again, again_job = load_model(path)
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(loaded(x), model(x)) and torch.equal(again(x), model(x)) and again_job == job
    with pytest.raises(CheckpointError, match=f"checkpoint {good_ckpt}: it holds no training job"):
        load_model(good_ckpt)
