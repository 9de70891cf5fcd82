"""Same config and seed on the CPU: identical checkpoints, per-target tables and summaries across two runs
and after resuming an interrupted training job and an interrupted attack (several attack batches).
Only wall-clock fields ('seconds') may differ."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from distillbench import cli

TRAINING = {"lr": 0.1, "momentum": 0.5, "batch_size": 32, "epochs": 3, "dropout": 0.5, "init": "glorot_uniform"}
ATTACK = {"variant": "jsma_f", "samples": 3, "targets_per_sample": 9, "max_features": 112, "batch_size": 9}
THREADS = "1"  # recorded in the metrics; also keeps the tests fast on a busy 2-core machine


class Interrupted(Exception):
    pass


def _train(data: Path, out: Path) -> None:
    cli.main(
        [
            "train",
            "--dataset",
            "mnist",
            "--data-dir",
            str(data),
            "--training",
            json.dumps(TRAINING),
            "--temperature",
            "1",
            "--epochs",
            "3",
            "--seed",
            "5",
            "--role",
            "teacher",
            "--train-subset",
            "1000",
            "--test-subset",
            "200",
            "--device",
            "cpu",
            "--threads",
            THREADS,
            "--out",
            str(out / "teacher_T1.pt"),
            "--metrics",
            str(out / "teacher_T1.json"),
        ]
    )


def _attack(data: Path, out: Path) -> None:
    cli.main(
        [
            "attack",
            "--model",
            str(out / "teacher_T1.pt"),
            "--data-dir",
            str(data),
            "--attack",
            json.dumps(ATTACK),
            "--device",
            "cpu",
            "--threads",
            THREADS,
            "--out",
            str(out / "baseline.csv"),
            "--summary",
            str(out / "baseline.json"),
        ]
    )


VARYING = ("seconds", "model_path")  # wall-clock time; where this run's files are


def _without_seconds(obj):
    if isinstance(obj, dict):
        return {k: _without_seconds(v) for k, v in obj.items() if k not in VARYING}
    if isinstance(obj, list):
        return [_without_seconds(v) for v in obj]
    return obj


def _json(path: Path):
    return _without_seconds(json.loads(path.read_text()))


def _weights(path: Path):
    return torch.load(path, weights_only=True)["state_dict"]


@pytest.fixture(scope="module", autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def first_run(tiny_data_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run_a")
    _train(tiny_data_dir, out)
    _attack(tiny_data_dir, out)
    return out


def test_two_runs_are_identical(first_run, tiny_data_dir, tmp_path):
    _train(tiny_data_dir, tmp_path)
    _attack(tiny_data_dir, tmp_path)
    a, b = _weights(first_run / "teacher_T1.pt"), _weights(tmp_path / "teacher_T1.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _json(first_run / "teacher_T1.json") == _json(tmp_path / "teacher_T1.json")
    assert (first_run / "baseline.csv").read_bytes() == (tmp_path / "baseline.csv").read_bytes()
    assert _json(first_run / "baseline.json") == _json(tmp_path / "baseline.json")
    summary = json.loads((tmp_path / "baseline.json").read_text())
    assert summary["test_accuracy"] > 0.5 and summary["targets"] == 27  # a trained model, three attack batches


def test_metrics_record_what_cannot_be_pinned(first_run):
    numerics = json.loads((first_run / "teacher_T1.json").read_text())["numerics"]
    assert numerics["torch_version"] == torch.__version__
    assert numerics["torch_threads"] == int(THREADS)
    assert numerics["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert numerics["device"] == "cpu" and "deterministic_algorithms" in numerics


def test_resumed_training_and_attack_match_an_uninterrupted_run(
    first_run, tiny_data_dir, tmp_path, monkeypatch, caplog
):
    import distillbench.training as training
    from distillbench.attacks.jsma import SaliencyMapAttack

    # Training: stop during epoch 2 (its test-accuracy pass), after epoch 1's resume file was written.
    real_accuracy, calls = training.test_scores, []

    def accuracy_then_stop(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise Interrupted
        return real_accuracy(*a, **k)

    monkeypatch.setattr(training, "test_scores", accuracy_then_stop)
    with pytest.raises(Interrupted):
        _train(tiny_data_dir, tmp_path)
    assert (tmp_path / ".teacher_T1.pt.resume").exists() and not (tmp_path / "teacher_T1.pt").exists()
    monkeypatch.setattr(training, "accuracy", real_accuracy)
    with caplog.at_level(logging.INFO):
        _train(tiny_data_dir, tmp_path)
    assert "after epoch 1" in caplog.text
    a, b = _weights(first_run / "teacher_T1.pt"), _weights(tmp_path / "teacher_T1.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _json(first_run / "teacher_T1.json") == _json(tmp_path / "teacher_T1.json")

    # Attack: 27 targets in batches of 9; stop in the second batch, then resume from the partial table.
    real_run, batches = SaliencyMapAttack.run_detailed, []  # what evaluation.run_attack calls per batch

    def run_then_stop(self, *a, **k):
        batches.append(1)
        if len(batches) == 2:
            raise Interrupted
        return real_run(self, *a, **k)

    monkeypatch.setattr(SaliencyMapAttack, "run_detailed", run_then_stop)
    with pytest.raises(Interrupted):
        _attack(tiny_data_dir, tmp_path)
    partial = tmp_path / ".baseline.csv.partial"
    assert len(partial.read_text().splitlines()) == 1 + 9 and not (tmp_path / "baseline.csv").exists()
    monkeypatch.setattr(SaliencyMapAttack, "run_detailed", real_run)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        _attack(tiny_data_dir, tmp_path)
    assert "resuming after 9 finished targets" in caplog.text
    assert (first_run / "baseline.csv").read_bytes() == (tmp_path / "baseline.csv").read_bytes()
    assert _json(first_run / "baseline.json") == _json(tmp_path / "baseline.json")
    assert not partial.exists()
