"""Temperature softmax, the two losses, training at T, soft labels and resuming after an interruption."""

import math

import pytest
import torch
import torch.nn.functional as F

from distillbench.data import load_split
from distillbench.models import build_model
from distillbench.training import (
    TrainSpec,
    accuracy,
    hard_label_loss,
    load_checkpoint,
    lr_at_epoch,
    save_checkpoint,
    soft_label_loss,
    soft_labels,
    softmax_t,
    train,
)


def test_softmax_t_limits():
    z = torch.tensor([[4.0, 1.0, -2.0]])
    assert torch.allclose(softmax_t(z, 1.0), torch.softmax(z, -1))
    assert torch.allclose(softmax_t(z, 1e6), torch.full((1, 3), 1 / 3), atol=1e-5)
    hot = softmax_t(z, 0.01)
    assert hot[0, 0] == pytest.approx(1.0) and hot[0, 1:].sum() < 1e-6
    assert torch.allclose(softmax_t(z, 5.0).sum(-1), torch.ones(1))
    # Order is preserved at every temperature.
    for t in (0.5, 2, 100):
        assert torch.equal(softmax_t(z, t).argsort(), z.argsort())


def test_soft_loss_equals_hard_loss_on_one_hot_targets():
    torch.manual_seed(0)
    z = torch.randn(8, 10)
    y = torch.randint(0, 10, (8,))
    for t in (1.0, 20.0):
        hard = float(hard_label_loss(z, y, t))
        assert soft_label_loss(z, F.one_hot(y, 10).float(), t) == pytest.approx(hard, rel=1e-6)


def test_soft_loss_is_minimised_by_the_targets_themselves():
    torch.manual_seed(1)
    target_logits = torch.randn(4, 10)
    t = 5.0
    targets = softmax_t(target_logits, t)
    best = soft_label_loss(target_logits, targets, t)
    for _ in range(5):
        assert soft_label_loss(target_logits + 0.5 * torch.randn(4, 10), targets, t) > best
    # At the optimum the loss is the targets' entropy.
    entropy = -(targets * targets.log()).sum(-1).mean()
    assert float(best) == pytest.approx(float(entropy), rel=1e-5)


def test_loss_gradient_carries_one_over_t():
    """dL/dZ = (softmax(Z/T) - y) / T: near the start (Z ~ 0) high T shrinks the gradient ~T times."""
    z = torch.zeros(1, 10, requires_grad=True)
    y = torch.tensor([3])
    grads = {}
    for t in (1.0, 100.0):
        (g,) = torch.autograd.grad(hard_label_loss(z, y, t), z)
        grads[t] = g
        expected = (torch.full((1, 10), 0.1) - F.one_hot(y, 10).float()) / t
        assert torch.allclose(g, expected, atol=1e-7)
    assert grads[1.0].norm() / grads[100.0].norm() == pytest.approx(100.0, rel=1e-4)


def test_lr_decay_schedule():
    spec = TrainSpec(
        "cifar10", 1.0, 15, 0.01, 0.9, 128, 0.5, "glorot_uniform", 0, lr_decay={"factor": 0.95, "after_epoch": 10}
    )
    assert lr_at_epoch(spec, 1) == lr_at_epoch(spec, 10) == 0.01
    assert lr_at_epoch(spec, 12) == pytest.approx(0.01 * 0.95**2)
    spec.lr_decay = None
    assert lr_at_epoch(spec, 50) == 0.01


def _spec(**kw):
    base = dict(
        dataset="mnist",
        temperature=1.0,
        epochs=3,
        lr=0.1,
        momentum=0.5,
        batch_size=32,
        dropout=0.5,
        init="glorot_uniform",
        seed=7,
    )
    base.update(kw)
    return TrainSpec(**base)


def test_training_learns_and_checkpoint_round_trips(tiny_data_dir, tmp_path):
    tr = load_split("mnist", tiny_data_dir, train=True)
    te = load_split("mnist", tiny_data_dir, train=False)
    cpu = torch.device("cpu")
    untrained = accuracy(build_model("mnist", seed=7), te, cpu)
    model, hist = train(_spec(), tr, te, cpu)
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    assert hist[-1]["test_acc"] > 0.9 > untrained + 0.3
    assert all(set(h) >= {"loss", "train_acc", "test_acc", "seconds", "lr"} for h in hist)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, _spec(), hist, hist[-1]["test_acc"])
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary left behind
    loaded, ckpt = load_checkpoint(path)
    assert accuracy(loaded, te, cpu) == pytest.approx(hist[-1]["test_acc"])
    assert ckpt["spec"]["temperature"] == 1.0

    # Soft labels at T: probability vectors whose argmax is the model's prediction.
    probs = soft_labels(loaded, tr.images[:100], 20.0, cpu)
    assert torch.allclose(probs.sum(1), torch.ones(100), atol=1e-5)
    with torch.no_grad():
        assert torch.equal(probs.argmax(1), loaded(tr.images[:100]).argmax(1))
    assert probs.max(1).values.mean() < softmax_t(loaded(tr.images[:100]).detach(), 1.0).max(1).values.mean()

    # A student at T on those soft labels, from a shared 1-epoch T=1 start (as the cpu profile's warm start),
    # learns the teacher's function. (On this tiny set a cold start stays on the 1/T plateau for 3 epochs.)
    all_probs = soft_labels(loaded, tr.images, 2.0, cpu)
    warm, _ = train(_spec(epochs=1, role="warm_start", seed=9), tr, te, cpu)
    student, shist = train(
        _spec(temperature=2.0, role="student", seed=8),
        tr,
        te,
        cpu,
        soft_targets=all_probs,
        init_state=warm.state_dict(),
    )
    assert shist[-1]["test_acc"] > 0.9
    with torch.no_grad():
        agree = (student.eval()(te.images).argmax(1) == loaded(te.images).argmax(1)).float().mean()
    assert agree > 0.9


class _Interrupt(Exception):
    pass


def test_resume_after_interruption_matches_uninterrupted_run(tiny_data_dir, tmp_path):
    tr = load_split("mnist", tiny_data_dir, train=True).subset(300)
    te = load_split("mnist", tiny_data_dir, train=False).subset(100)
    cpu = torch.device("cpu")
    torch.use_deterministic_algorithms(True)
    try:
        full, full_hist = train(_spec(epochs=3), tr, te, cpu)
        resume = tmp_path / ".m.pt.resume"

        def stop_after_first(row):
            if row["epoch"] == 1:
                raise _Interrupt

        with pytest.raises(_Interrupt):
            train(_spec(epochs=3), tr, te, cpu, resume_path=resume, on_epoch=stop_after_first)
        assert not resume.exists()  # the interrupt came before the epoch-1 state was written ...
        seen = []
        with pytest.raises(_Interrupt):
            train(
                _spec(epochs=3),
                tr,
                te,
                cpu,
                resume_path=resume,
                on_epoch=lambda r: seen.append(r["epoch"]) or (r["epoch"] == 2 and (_ for _ in ()).throw(_Interrupt())),
            )
        assert resume.exists() and seen == [1, 2]  # ... this time epoch 1 was saved before epoch 2 was interrupted
        epochs_run = []
        resumed, hist = train(
            _spec(epochs=3), tr, te, cpu, resume_path=resume, on_epoch=lambda r: epochs_run.append(r["epoch"])
        )
        assert epochs_run == [2, 3]  # epoch 1 was not redone
        assert [h["epoch"] for h in hist] == [1, 2, 3]
        for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
            assert torch.allclose(a, b, atol=1e-6)
        # A resume file written for other settings is ignored, not silently reused.
        other_runs = []
        train(
            _spec(epochs=3, lr=0.05), tr, te, cpu, resume_path=resume, on_epoch=lambda r: other_runs.append(r["epoch"])
        )
        assert other_runs == [1, 2, 3]
    finally:
        torch.use_deterministic_algorithms(False)
    assert not math.isnan(full_hist[-1]["loss"])


def test_nan_loss_stops_training_with_epoch_step_and_hint(tiny_data_dir, tmp_path):
    """A NaN in one training image: training stops at the end of that epoch, naming the first bad step."""
    from distillbench.training import TrainingDiverged

    tr = load_split("mnist", tiny_data_dir, train=True).subset(200)
    te = load_split("mnist", tiny_data_dir, train=False).subset(50)
    images = tr.images.clone()
    images[37, 0, 5, 5] = float("nan")
    bad = type(tr)(images, tr.labels)
    spec = _spec(epochs=2, batch_size=32)
    # The step whose batch holds image 37: train() shuffles with a generator seeded spec.seed + 1.
    order = torch.randperm(len(bad), generator=torch.Generator().manual_seed(spec.seed + 1))
    step = int((order == 37).nonzero()) // spec.batch_size + 1
    resume = tmp_path / ".m.pt.resume"
    with pytest.raises(TrainingDiverged) as exc:
        train(spec, bad, te, torch.device("cpu"), resume_path=resume)
    msg = str(exc.value)
    assert f"the loss became nan at epoch 1, step {step} of 7" in msg
    assert "fix: lower 'datasets.mnist.training.lr'" in msg and "too high for this temperature" in msg
    assert not resume.exists()  # the diverged epoch is not saved as a resume point


def test_exploding_learning_rate_is_caught(tiny_data_dir):
    from distillbench.training import TrainingDiverged

    tr = load_split("mnist", tiny_data_dir, train=True).subset(256)
    te = load_split("mnist", tiny_data_dir, train=False).subset(50)
    with pytest.raises(
        TrainingDiverged, match=r"training stopped \(mnist teacher at T=1, lr 1e\+12\): the (loss|weights) became"
    ):
        train(_spec(epochs=1, lr=1e12, momentum=0.9), tr, te, torch.device("cpu"))


def test_no_host_sync_per_step():
    """The finite-loss check reads the per-step losses once an epoch (no .item()/float() inside the step loop)."""
    import inspect

    from distillbench import training

    src = inspect.getsource(training.train)
    loop = src[src.index("for i in range(steps):") : src.index("epoch_loss = float(loss_sum)")]
    assert ".item()" not in loop and "float(" not in loop and "bool(" not in loop and "int(" not in loop
    assert "step_loss[i] = loss.detach()" in loop
