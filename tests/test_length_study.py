"""The training-length study: one training job saves the snapshots, each equal to training for that many epochs;
the summary and the sentence that says whether any length brings the paper's value back."""

import pandas as pd
import pytest
import torch

from distillbench.data import load_split
from distillbench.length_study import paper_sentence, summarize, train_snapshots
from distillbench.seeds import model_seed
from distillbench.training import TrainSpec, load_checkpoint, train

TRAINING = {"lr": 0.1, "momentum": 0.5, "batch_size": 64, "dropout": 0.5, "init": "glorot_uniform"}


def test_snapshots_are_saved_at_the_listed_epochs_and_match_plain_training(tiny_data_dir, tmp_path):
    tr = load_split("mnist", tiny_data_dir, train=True).subset(300)
    te = load_split("mnist", tiny_data_dir, train=False).subset(100)
    cpu = torch.device("cpu")
    snaps = {1: tmp_path / "epoch1.pt", 3: tmp_path / "epoch3.pt"}
    torch.use_deterministic_algorithms(True)
    try:
        history = train_snapshots(
            dataset="mnist",
            training=TRAINING,
            seed=5,
            epochs=[1, 3],
            snapshots=snaps,
            train_data=tr,
            test_data=te,
            device=cpu,
        )
        assert [h["epoch"] for h in history] == [1, 2, 3]  # one job: 3 epochs, not 1 + 3
        assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch1.pt", "epoch3.pt"]
        # The epoch-1 snapshot is exactly a 1-epoch training of the same baseline (same seed, same shuffling).
        spec = TrainSpec.from_config(
            "mnist", TRAINING, temperature=1.0, epochs=1, seed=model_seed(5, "teacher", 1.0), role="teacher"
        )
        plain, plain_hist = train(spec, tr, te, cpu)
    finally:
        torch.use_deterministic_algorithms(False)
    snap, ckpt = load_checkpoint(snaps[1])
    for a, b in zip(plain.state_dict().values(), snap.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert ckpt["spec"]["epochs"] == 1 and ckpt["spec"]["temperature"] == 1.0 and len(ckpt["history"]) == 1
    assert ckpt["test_accuracy"] == pytest.approx(plain_hist[-1]["test_acc"])
    last, ckpt3 = load_checkpoint(snaps[3])
    assert ckpt3["spec"]["epochs"] == 3 and ckpt3["test_accuracy"] == pytest.approx(history[-1]["test_acc"])
    assert not torch.equal(next(last.parameters()), next(snap.parameters()))
    # Another seed: another model.
    other = tmp_path / "other"
    other.mkdir()
    train_snapshots(
        dataset="mnist",
        training=TRAINING,
        seed=6,
        epochs=[1],
        snapshots={1: other / "e1.pt"},
        train_data=tr,
        test_data=te,
        device=cpu,
    )
    assert not torch.equal(next(load_checkpoint(other / "e1.pt")[0].parameters()), next(snap.parameters()))


def _rows(rates_by_epoch, tmp_path):
    """Per seed and length: a per-target table of 30 images x 9 targets with ``k`` successes spread over the
    images one target at a time (so every image holds about k / 30 of them)."""
    rows = []
    for e, ks in rates_by_epoch.items():
        for s, k in enumerate(ks):
            path = tmp_path / f"seed{s}_epoch{e}.csv"
            order = [(i, t) for t in range(9) for i in range(30)]  # image-major spread of the successes
            won = set(order[:k])
            pd.DataFrame(
                [{"sample_index": i, "target": t, "success": (i, t) in won} for i in range(30) for t in range(9)]
            ).to_csv(path, index=False)
            rows.append(
                {
                    "epochs": e,
                    "seed": s,
                    "successes": k,
                    "targets": 270,
                    "success_rate_pct": 100 * k / 270,
                    "test_accuracy_pct": 98.0,
                    "median_logit_gap": 10.0 + e,
                    "targets_csv": str(path),
                }
            )
    return pd.DataFrame(rows)


def test_summary_and_sentence(tmp_path):
    summary = summarize(_rows({1: [200, 210, 190], 12: [255, 262, 250]}, tmp_path), 95.89)
    assert list(summary.epochs) == [1, 12] and list(summary.seeds) == [3, 3]
    assert summary.pooled_targets.tolist() == [810, 810]
    assert summary.pooled_pct.iloc[1] == pytest.approx(100 * 767 / 810)
    assert summary.mean_pct.iloc[1] == pytest.approx(100 * 767 / 810)
    # 12 epochs: 94.7% pooled, the paper's 95.89 inside the difference's interval; 1 epoch: 74% is far below.
    assert summary.verdict.tolist() == ["not reproduced (lower)", "reproduced"]
    assert summary.diff_low_pp.iloc[1] <= 0 <= summary.diff_high_pp.iloc[1]
    hit = paper_sentence(summary, 95.89, "MNIST")
    assert hit.startswith("The paper's 95.89% for the MNIST baseline comes back at: 12 epoch(s)")
    miss = paper_sentence(summarize(_rows({1: [200, 210, 190], 12: [220, 225, 215]}, tmp_path), 95.89), 95.89, "MNIST")
    assert miss.startswith("No training length tried (1, 12 epochs) brings the paper's 95.89% back")
    assert "the closest is 12 epoch(s)" in miss and "lies above it" in miss
