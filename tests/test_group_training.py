"""train_group: k networks trained as one module end where training each alone ends.

With dropout off (its masks are other random draws in a group), each network of a group has the same
initialisation, batches, temperature, targets, loss and SGD updates as when training.train trains it alone,
so after two epochs (3 steps each, the last one of 4 samples) its weights agree within float rounding:
||w_group - w_alone|| < 0.5% of ||w_alone - w_init||, the criterion tests/test_fastpath.py uses for the CPU's
fast path (measured here: at most 0.008%), and the recorded losses and accuracies agree. The grouped
convolutions sum in another order than the single network's, and on random labels at lr 0.1 rounding grows
fast: one step agrees to ~1e-5 of the update, 8 steps to 0.03-2.8% (measured), so the test stays short.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from distillbench.data import TensorDataset
from distillbench.fastpath import PLAIN, FastPath
from distillbench.group_training import check_group, train_group
from distillbench.models import build_model
from distillbench.training import TrainSpec, softmax_t, train

CPU = torch.device("cpu")


def _data(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.rand((n, 1, 28, 28), generator=g), torch.randint(0, 10, (n,), generator=g))


def _spec(temperature: float, seed: int, role: str = "teacher") -> TrainSpec:
    return TrainSpec(
        dataset="mnist",
        temperature=temperature,
        epochs=2,
        lr=0.1,
        momentum=0.5,
        batch_size=128,
        dropout=0.0,
        init="glorot_uniform",
        seed=seed,
        role=role,
    )


def _distance(a: torch.nn.Module, b: torch.nn.Module) -> float:
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    return float(sum(((p - q) ** 2).sum() for p, q in pairs) ** 0.5)


@pytest.mark.parametrize("group_path", [PLAIN, "channels_last"], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("soft", [False, True], ids=["teachers", "students"])
def test_each_network_of_a_group_trains_as_alone(soft: bool, group_path: str | FastPath, float64_default) -> None:
    """Against the plain loop alone; the group also in NHWC (what groups run on CUDA, fastpath.for_groups).

    In float64: a group sums its convolutions in another order than one network alone, which moves a sum of n
    terms by at most n * 2^-53 of its magnitude (n ~ 1e5 here), so after two epochs the two stay well within 1e-9
    of the update. In float32 that reordering flips ReLU and max-pool decisions at near-ties, and how far the
    weights then drift depends on the CPU's kernels (one CPU kind measured 0.5% of the update and failed the
    tolerance fitted on another), so float32 would test the machine, not the grouping."""
    data, test = _data(260, 0), _data(60, 1)
    data, test = (TensorDataset(d.images.double(), d.labels) for d in (data, test))
    specs = [_spec(1.0, 11, "student" if soft else "teacher"), _spec(20.0, 12), _spec(100.0, 13)]
    specs = [dataclasses.replace(s, role=specs[0].role) for s in specs]
    g = torch.Generator().manual_seed(3)
    targets = [softmax_t(torch.randn(len(data), 10, generator=g) * 5, 1.0) for _ in specs] if soft else None
    if targets:  # soft labels are stored in float32 (the group reads them so): the same values for both paths
        targets = [t.float().double() for t in targets]
    grouped = train_group(specs, data, test, CPU, soft_targets=targets, fast_path=group_path)
    for j, spec in enumerate(specs):
        alone, history = train(spec, data, test, CPU, soft_targets=targets[j] if targets else None, fast_path=PLAIN)
        start = build_model("mnist", dropout=0.0, seed=spec.seed)
        moved = _distance(alone, start)
        assert moved > 1e-4, "the training moved the weights"
        assert next(alone.parameters()).dtype == torch.float64, "the comparison runs in float64"
        assert _distance(grouped[j][0], alone) < 1e-9 * moved, f"network {j} (T={spec.temperature:g})"
        for row_g, row_a in zip(grouped[j][1], history, strict=True):
            assert row_g["loss"] == pytest.approx(row_a["loss"], rel=1e-9)
            assert row_g["train_acc"] == pytest.approx(row_a["train_acc"], abs=1 / len(data))
            assert row_g["test_acc"] == pytest.approx(row_a["test_acc"], abs=1 / len(test))


def test_a_group_resumes_after_an_interruption(tmp_path, caplog) -> None:
    """Interrupted after epoch 1 and run again: it continues at epoch 2 and ends with the same weights as the
    uninterrupted group (dropout on: the masks continue from the saved random state)."""
    data, test = _data(300, 0), _data(30, 1)
    specs = [dataclasses.replace(_spec(t, 5), dropout=0.5) for t in (1.0, 50.0)]
    torch.manual_seed(0)
    whole = train_group(specs, data, test, CPU, fast_path=PLAIN)
    resume = tmp_path / ".group.resume"
    torch.manual_seed(0)
    _interrupt_after_first_epoch(specs, data, test, resume)
    torch.manual_seed(123)  # the resumed run must take its random state from the file
    with caplog.at_level("INFO", logger="distillbench.group_training"):
        resumed = train_group(specs, data, test, CPU, resume_path=resume, fast_path=PLAIN)
    assert "resuming the group from" in caplog.text and "after epoch 1" in caplog.text
    assert "epoch 1/2" not in caplog.text and "epoch 2/2" in caplog.text
    for (net_w, hist_w), (net_r, hist_r) in zip(whole, resumed, strict=True):
        assert _distance(net_w, net_r) == 0.0
        assert [r["loss"] for r in hist_w] == [r["loss"] for r in hist_r]


def _interrupt_after_first_epoch(specs, data, test, resume) -> None:
    """Run a group with a resume file and stop it (as a kill would) once epoch 1's state is saved."""
    import distillbench.group_training as gt

    real = gt.save_resume

    def save_then_stop(path, state):
        real(path, state)
        raise KeyboardInterrupt

    gt.save_resume = save_then_stop
    try:
        with pytest.raises(KeyboardInterrupt):
            train_group(specs, data, test, CPU, resume_path=resume, fast_path=PLAIN)
    finally:
        gt.save_resume = real


def test_a_group_must_share_its_training_settings() -> None:
    specs = [_spec(1.0, 1), dataclasses.replace(_spec(100.0, 2), epochs=3)]
    with pytest.raises(ValueError, match=r"share 'epochs'.*T=100 has 3.*fix:"):
        check_group(specs)


def test_train_group_command_wants_one_output_per_temperature(tmp_path) -> None:
    from distillbench.cli import build_parser
    from distillbench.cli.training import cmd_train_group
    from distillbench.errors import UserError

    args = build_parser().parse_args(
        ["train-group", "--dataset", "mnist", "--data-dir", str(tmp_path), "--training", "{}", "--temperatures",
         "1", "20", "--epochs", "1", "--seed", "0", "--role", "teacher", "--out", "a.pt", "--metrics", "a.json",
         "b.json"]
    )  # fmt: skip
    with pytest.raises(UserError, match=r"--out: 1 paths for 2 temperatures; give one per --temperatures entry"):
        cmd_train_group(args)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--soft-labels-at", "1", "20", "--soft-labels-out", "s1.pt"], r"--soft-labels-out: 1 paths for 2"),
        (["--soft-labels-at", "5", "--soft-labels-out", "s5.pt"], r"--soft-labels-at 5: no teacher of this group"),
        (["--role", "student", "--soft-labels-at", "1", "--soft-labels-out", "s.pt"], r"only a group of teachers"),
    ],
    ids=["count", "temperature", "students"],
)
def test_train_group_command_checks_its_soft_label_outputs(tmp_path, extra, message) -> None:
    """Refused before any data is read (the data folder here is empty)."""
    from distillbench.cli import build_parser
    from distillbench.cli.training import cmd_train_group
    from distillbench.errors import UserError

    args = build_parser().parse_args(
        ["train-group", "--dataset", "mnist", "--data-dir", str(tmp_path), "--training", "{}", "--temperatures",
         "1", "20", "--epochs", "1", "--seed", "0", "--role", "teacher", "--out", "a.pt", "b.pt", "--metrics",
         "a.json", "b.json", *extra]
    )  # fmt: skip
    with pytest.raises(UserError, match=message):
        cmd_train_group(args)


def test_a_group_of_teachers_writes_the_soft_labels_the_soft_labels_command_writes(tiny_data_dir, tmp_path) -> None:
    """`train-group --soft-labels-at`: each teacher labels the training set at its temperature in the group's
    process; the same tensors as `distillbench soft-labels` on that teacher's checkpoint."""
    import json

    from distillbench.checkpoints import load_soft_labels
    from distillbench.cli import main

    training = json.dumps(
        {"lr": 0.1, "momentum": 0.5, "batch_size": 128, "epochs": 1, "dropout": 0.5, "init": "glorot_uniform"}
    )
    common = ["--data-dir", str(tiny_data_dir), "--device", "cpu", "--train-subset", "300"]
    ckpts = [str(tmp_path / f"teacher_T{t}.pt") for t in (1, 20)]
    in_group = [str(tmp_path / f"group_soft_T{t}.pt") for t in (1, 20)]
    main(
        ["train-group", *common, "--dataset", "mnist", "--training", training, "--temperatures", "1", "20",
         "--epochs", "1", "--seed", "3", "--role", "teacher", "--test-subset", "100", "--out", *ckpts,
         "--metrics", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--soft-labels-at", "20", "1",
         "--soft-labels-out", in_group[1], in_group[0]]
    )  # fmt: skip
    for t, ckpt, got in zip((1, 20), ckpts, in_group, strict=True):
        alone = str(tmp_path / f"alone_soft_T{t}.pt")
        main(["soft-labels", *common, "--teacher", ckpt, "--temperature", str(t), "--out", alone])
        a, b = load_soft_labels(Path(got), rows=300), load_soft_labels(Path(alone), rows=300)
        assert torch.equal(a, b), f"T={t}: in-group soft labels differ from the soft-labels command's"
    assert not torch.equal(load_soft_labels(Path(in_group[0]), 300), load_soft_labels(Path(in_group[1]), 300))


def test_group_accuracy_is_each_networks_accuracy() -> None:
    """Over several evaluation batches (700 images, 166 a batch for 3 networks on the CPU)."""
    from distillbench.group_training import group_accuracy
    from distillbench.stacked import StackedPapernotNet
    from distillbench.training import accuracy

    data = _data(700, 2)
    nets = [build_model("mnist", seed=s) for s in range(3)]
    got = group_accuracy(StackedPapernotNet.from_models(nets, "mnist"), data, CPU)
    assert got == pytest.approx([accuracy(n, data, CPU) for n in nets], abs=1e-6)  # accuracy() sums in float32
    assert len(set(got)) > 1  # three different networks, three different answers
