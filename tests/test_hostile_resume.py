"""A training job interrupted after writing its checkpoint is not trained again: when Snakemake deletes the
outputs of a job it had not yet recorded as done (SIGINT), the rerun rebuilds them from the kept resume file."""

from __future__ import annotations

import json
import subprocess
import sys

import torch

TRAINING = {
    "batch_size": 128,
    "dropout": 0.5,
    "epochs": 2,
    "epochs_by_temperature": {},
    "init": "glorot_uniform",
    "lr": 0.1,
    "lr_decay": None,
    "momentum": 0.5,
    "nesterov": False,
    "warm_start_epochs": 0,
}


def _train(repo_root, data_dir, out, metrics):
    args = [sys.executable, "-m", "distillbench", "train", "--role", "teacher", "--dataset", "mnist"]
    args += ["--temperature", "20", "--epochs", "2", "--seed", "1234", "--training", json.dumps(TRAINING)]
    args += ["--train-subset", "300", "--test-subset", "100", "--data-dir", str(data_dir), "--device", "cpu"]
    args += ["--fast-path", "channels_last", "--threads", "1", "--out", str(out), "--metrics", str(metrics)]
    env = {"PYTHONPATH": str(repo_root / "src"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


def test_outputs_deleted_after_training_are_rebuilt_without_training(repo_root, tiny_data_dir, tmp_path):
    out, metrics = tmp_path / "teacher_T20.pt", tmp_path / "teacher_T20.json"
    first = _train(repo_root, tiny_data_dir, out, metrics)
    assert "epoch 2/2" in first
    before = torch.load(out, weights_only=True)
    history = json.loads(metrics.read_text())["history"]
    out.unlink()  # what Snakemake does to an interrupted job's outputs
    metrics.unlink()
    again = _train(repo_root, tiny_data_dir, out, metrics)
    assert "epoch 1/2" not in again and "epoch 2/2" not in again, "the network was trained again"
    assert "after epoch 2" in again
    after = torch.load(out, weights_only=True)
    for name, w in before["state_dict"].items():
        assert torch.equal(w, after["state_dict"][name]), name
    assert after["test_accuracy"] == before["test_accuracy"]
    assert json.loads(metrics.read_text())["history"] == history
