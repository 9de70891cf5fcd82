"""The paper seam: losses, architectures by name, model identities, jitter, the registry and its config."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from distillbench import losses, training
from distillbench.config import ConfigError, load_config, validate_config
from distillbench.data import TensorDataset
from distillbench.errors import UserError
from distillbench.models import MLP, build_arch, build_model
from distillbench.papers import Job, ModelId, Seam, get, registry
from distillbench.papers.jitter import jitter, shift
from distillbench.papers.papernot2016.report import REPORT_FILES
from distillbench.papers.train import evaluate, train_job


# --- losses --------------------------------------------------------------------------------------------------
def test_training_uses_the_loss_module():
    """Papernot's training loop calls the very functions of losses.py: its numbers cannot change."""
    assert training.hard_label_loss is losses.hard_label_loss
    assert training.soft_label_loss is losses.soft_label_loss
    assert training.softmax_t is losses.softmax_t


def test_hinton_loss_is_the_formula():
    g = torch.Generator().manual_seed(0)
    zs, zt = torch.randn(7, 10, generator=g), 5 * torch.randn(7, 10, generator=g)
    y = torch.randint(0, 10, (7,), generator=g)
    t, alpha = 20.0, 0.9
    p_t = F.softmax(zt / t, dim=1)
    soft = -(p_t * F.log_softmax(zs / t, dim=1)).sum(1).mean()
    hard = F.cross_entropy(zs, y)
    expected = alpha * t * t * soft + (1 - alpha) * hard
    got = losses.hinton_loss(zs, y, zt, t, alpha)
    assert torch.allclose(got, expected, rtol=1e-6)
    assert torch.allclose(losses.make_loss("hinton", temperature=t, alpha=alpha)(zs, y, zt), expected, rtol=1e-6)


def test_soft_target_loss_is_scaled_by_t_squared():
    g = torch.Generator().manual_seed(1)
    zs, zt = torch.randn(5, 10, generator=g, dtype=torch.float64), torch.randn(5, 10, generator=g, dtype=torch.float64)
    for t in (1.0, 4.0, 20.0):
        unscaled = losses.soft_label_loss(zs, losses.softmax_t(zt, t), t)
        assert torch.allclose(losses.soft_target_loss(zs, zt, t), t * t * unscaled)
        # d/dz_s of T^2 CE = T (softmax(z_s/T) - softmax(z_t/T)) / batch: the T^2 keeps the gradient's size
        z = zs.clone().requires_grad_(True)
        losses.soft_target_loss(z, zt, t).backward()
        expected = t * (losses.softmax_t(zs, t) - losses.softmax_t(zt, t)) / len(zs)
        assert torch.allclose(z.grad, expected)


def test_mimic_loss_is_half_the_squared_logit_distance():
    zs, zt = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [3.0, -1.0]])
    assert float(losses.mimic_loss(zs, zt)) == pytest.approx(0.5 * ((1 + 4) + (9 + 1)) / 2)


def test_losses_by_name():
    with pytest.raises(UserError, match=r"unknown loss 'kl'.*hard.*hinton.*mimic.*soft"):
        losses.make_loss("kl")
    with pytest.raises(UserError, match="needs the teacher's logits"):
        losses.make_loss("mimic")(torch.zeros(2, 10), torch.zeros(2, dtype=torch.long), None)
    z, y = torch.randn(4, 10), torch.randint(0, 10, (4,))
    assert torch.equal(losses.make_loss("hard", temperature=3.0)(z, y, None), losses.hard_label_loss(z, y, 3.0))


# --- architectures by name -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_papernot_nets_by_name_are_bit_identical(dataset):
    a = build_model(dataset, dropout=0.5, init="glorot_uniform", seed=7)
    b = build_arch(f"papernot_{dataset}", dataset, dropout=0.5, init="glorot_uniform", seed=7)
    assert type(a) is type(b)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_mlp_by_name():
    m = build_arch("mlp", "mnist", widths=(1200, 1200), dropout=0.5, input_dropout=0.2, seed=0)
    assert isinstance(m, MLP)
    linears = [x for x in m.modules() if isinstance(x, torch.nn.Linear)]
    assert [(x.in_features, x.out_features) for x in linears] == [(784, 1200), (1200, 1200), (1200, 10)]
    assert [x.p for x in m.modules() if isinstance(x, torch.nn.Dropout)] == [0.2, 0.5, 0.5]
    assert m(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    shallow = build_arch("mlp", "cifar10", widths=[64])
    assert [x.in_features for x in shallow.modules() if isinstance(x, torch.nn.Linear)] == [3072, 64]
    assert not any(isinstance(x, torch.nn.Dropout) for x in shallow.modules())
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build_arch("resnet", "mnist")
    with pytest.raises(ValueError, match="takes mnist images"):
        build_arch("papernot_mnist", "cifar10")


# --- model identity --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cpu_cfg(repo_root):
    return load_config(repo_root / "config" / "cpu.yaml", check_device=False)


def test_model_ids_round_trip_through_paths(cpu_cfg):
    seam = Seam(cpu_cfg, "results/cpu", "work/cpu")
    assert seam.seam_papers == ["hinton2015", "ba_caruana2014"]
    n = 0
    for paper in seam.seam_papers:
        for job in seam.jobs(paper):
            m = job.model
            for path in (m.checkpoint("work/cpu"), m.metrics("results/cpu")):
                wc = ModelId.wildcards_of(path)
                assert wc == m.wildcards()
                assert seam.model_from_wildcards(wc) == m
            assert Job.from_json(job.to_json()) == job
            n += 1
    assert n == 4 + 1 + 3 * 3
    with pytest.raises(ValueError, match="not a seam model path"):
        ModelId.wildcards_of("work/cpu/mnist_teacher.txt")


def test_students_name_their_teachers(cpu_cfg):
    seam = Seam(cpu_cfg, "results/cpu", "work/cpu")
    hinton = {j.model.name: j for j in seam.jobs("hinton2015")}
    assert hinton["student_distilled"].model.teacher == "teacher"
    assert hinton["student_distilled"].model.temperature == 20
    assert hinton["student_hard"].model.teacher is None and hinton["student_hard"].loss == "hard"
    assert hinton["teacher"].jitter == 2 and hinton["teacher"].dropout > 0
    assert hinton["student_distilled_omit"].omit_classes == (3,)
    assert seam.teacher_logits("hinton2015", "student_distilled") == ["work/cpu/hinton2015/mnist/teacher.logits.pt"]
    assert seam.teacher_logits("hinton2015", "teacher") == []
    seeds = [j.model.seed for p in seam.seam_papers for j in seam.jobs(p)]
    assert len(set(seeds)) == len(seeds)


# --- jitter ----------------------------------------------------------------------------------------------------
def test_jitter_shifts_each_image_by_at_most_two_pixels():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 28, 28, generator=g)
    out = jitter(x, 2, torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    found = set()
    for i in range(len(x)):
        hits = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(out[i : i + 1], shift(x[i : i + 1], torch.tensor([dy]), torch.tensor([dx]), 2))
        ]
        assert len(hits) == 1, f"image {i} is not a shift of at most 2 pixels of its input"
        found.add(hits[0])
    assert len(found) > 10  # the shifts vary across images
    assert torch.equal(jitter(x, 0), x)


def test_shift_moves_pixels_and_fills_zeros():
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0
    out = shift(x, torch.tensor([1]), torch.tensor([-2]), 2)
    assert out[0, 0, 3, 0] == 1.0 and out.sum() == 1.0


# --- the registry and its config -------------------------------------------------------------------------------
def test_registry_lists_the_three_papers():
    assert list(registry()) == ["papernot2016", "hinton2015", "ba_caruana2014"]
    with pytest.raises(UserError, match=r"unknown reproduction 'hinton'.*papernot2016.*hinton2015.*ba_caruana2014"):
        get("hinton")


def test_reproductions_default_to_all(repo_root):
    from distillbench.config import read_config_file
    from distillbench.config_profiles import read_profile

    raw = read_profile(repo_root / "config" / "smoke.yaml", read_config_file)  # over config.yaml, as Snakemake
    raw.pop("reproductions")
    cfg = validate_config(raw, check_device=False)
    assert cfg["reproductions"] == ["papernot2016", "hinton2015", "ba_caruana2014"]
    # Blocks left out are filled from the paper modules' defaults.
    raw.pop("hinton2015")
    cfg = validate_config(raw, check_device=False)
    assert cfg["hinton2015"]["teacher"]["widths"] == [1200, 1200] and cfg["hinton2015"]["temperature"] == 20


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reproductions": ["hinton2015", "papernot"]}, r"'reproductions': \['papernot'\] unknown.*hinton2015"),
        ({"hinton2015": {"teacher": {"epochs": 0}}}, r"'hinton2015\.teacher\.epochs'.*positive number of epochs"),
        ({"hinton2015": {"temperatur": 20}}, r"'hinton2015'.*temperatur.*remove or rename"),
        ({"ba_caruana2014": {"losses": ["hard", "l1"]}}, r"'ba_caruana2014\.losses\.1'.*hard, soft, mimic"),
        ({"ba_caruana2014": {"teacher": {"arch": "papernot_cifar10"}}}, r"teacher\.arch'.*fix: use papernot_mnist"),
        ({"hinton2105": {}}, r"'hinton2105': no reproduction of that name"),
    ],
)
def test_bad_paper_config_names_the_field(repo_root, change, message):
    from distillbench.config import read_config_file
    from distillbench.config_profiles import read_profile

    raw = read_profile(repo_root / "config" / "smoke.yaml", read_config_file)  # over config.yaml, as Snakemake
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            merged = copy.deepcopy(raw[key])
            for k, v in value.items():
                merged[k] = {**merged.get(k, {}), **v} if isinstance(v, dict) else v
            raw[key] = merged
        else:
            raw[key] = value
    with pytest.raises(ConfigError, match=message):
        validate_config(raw, check_device=False)


def test_the_datasets_checks_are_papernots_asked_through_the_registry(repo_root):
    """Config validation names no paper: the ``datasets:`` block's budgets and counts are Papernot's checks, which
    the registry asks of every paper, enabled or not (the main schema requires that block of every config)."""
    from distillbench.config import read_config_file
    from distillbench.config_profiles import read_profile
    from distillbench.papers import top_level_problems

    raw = read_profile(repo_root / "config" / "smoke.yaml", read_config_file)  # over config.yaml, as Snakemake
    raw["datasets"]["mnist"]["max_features"] = 113
    odd = "config field 'datasets.mnist.max_features': 113 is odd"
    for reproductions in (["papernot2016"], ["hinton2015"]):
        with pytest.raises(ConfigError, match=odd):
            validate_config({**copy.deepcopy(raw), "reproductions": reproductions}, check_device=False)
    raw["datasets"]["mnist"]["max_features"] = 112
    cfg = validate_config(copy.deepcopy(raw), check_device=False)
    cfg["datasets"]["mnist"]["attack"]["samples"] = 10001
    assert top_level_problems(cfg) == get("papernot2016").top_level_problems(cfg)
    assert [p.split(";")[0] for p in top_level_problems(cfg)] == [
        "config field 'datasets.mnist.attack.samples': 10001 is more than the 10000 images of the MNIST test set"
    ]
    assert get("hinton2015").top_level_problems(cfg) == []


def test_papernot_alone_has_no_seam_jobs(repo_root):
    from distillbench.config import read_config_file
    from distillbench.config_profiles import read_profile

    raw = read_profile(repo_root / "config" / "smoke.yaml", read_config_file)  # over config.yaml, as Snakemake
    cfg = validate_config({**raw, "reproductions": ["papernot2016"]}, check_device=False)
    seam = Seam(cfg, "results/smoke", "work/smoke")
    assert seam.names == ["papernot2016"] and seam.seam_papers == []
    assert "results/smoke/attacks/mnist/exact/seed1234/baseline.json" in seam.targets("papernot2016")
    # The report rule writes Papernot's files alone, and reads its attack summaries.
    assert sorted(seam.report_files()) == sorted(REPORT_FILES)
    assert "results/smoke/attacks/mnist/exact/seed1234/baseline.json" in seam.report_inputs()


# --- a reproduction's job on the one training loop ----------------------------------------------------------------
def _tiny():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(200, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (200,), generator=g)
    return TensorDataset(x[:150], y[:150]), TensorDataset(x[150:], y[150:])


def _job(loss="hard", **kw):
    base = dict(epochs=2, lr=0.05, momentum=0.9, batch_size=32, widths=(32,))
    base.update(kw)
    return Job(ModelId("t", "mnist", f"m_{loss}", "mlp", "student", 4.0, 11, None), loss=loss, **base)


def test_generic_loop_is_deterministic_and_takes_losses_by_name():
    train, test = _tiny()
    zt = torch.randn(150, 10)
    a, ha = train_job(_job("hinton", jitter=2, alpha=0.7), train, test, torch.device("cpu"), teacher_logits=zt)
    b, hb = train_job(_job("hinton", jitter=2, alpha=0.7), train, test, torch.device("cpu"), teacher_logits=zt)
    assert [h["loss"] for h in ha] == [h["loss"] for h in hb]
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    _, hm = train_job(_job("mimic"), train, test, torch.device("cpu"), teacher_logits=zt)
    assert hm[-1]["loss"] < hm[0]["loss"] * 1.5 and len(hm) == 2


def test_an_interrupted_job_resumes_as_if_never_stopped(tmp_path, monkeypatch):
    """The one loop saves its state after every epoch: a job stopped after its first epoch and run again goes on
    from there (shuffle, jitter and dropout draws included) and ends with the weights of an uninterrupted run."""
    train, test = _tiny()
    job = _job("hard", epochs=3, jitter=2, dropout=0.5)
    whole, hw = train_job(job, train, test, torch.device("cpu"))
    resume = tmp_path / ".m.pt.resume"
    scores, calls = training.test_scores, []

    def stop_in_epoch_2(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return scores(*args)

    monkeypatch.setattr(training, "test_scores", stop_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train_job(job, train, test, torch.device("cpu"), resume_path=resume)
    monkeypatch.setattr(training, "test_scores", scores)
    assert resume.exists()
    again, ha = train_job(job, train, test, torch.device("cpu"), resume_path=resume)
    assert all(torch.equal(p, q) for p, q in zip(whole.parameters(), again.parameters(), strict=True))
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in ha]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in hw] and len(ha) == 3


def test_one_training_loop():
    """Every paper's networks train in training.train: the reproductions' jobs call it, no module has a loop of
    its own over optimiser steps besides it and its several-networks form (group_training)."""
    src = Path(__file__).resolve().parents[1] / "src" / "distillbench"
    loops = sorted(p.relative_to(src).as_posix() for p in src.rglob("*.py") if "opt.step()" in p.read_text())
    assert loops == ["group_training.py", "training.py"]
    assert "train(" in (src / "papers" / "train.py").read_text()


def test_max_norm_bounds_every_unit():
    train, test = _tiny()
    m, _ = train_job(_job("hard", lr=0.5, max_norm=0.5), train, test, torch.device("cpu"))
    for lin in (x for x in m.modules() if isinstance(x, torch.nn.Linear)):
        assert float(lin.weight.detach().norm(dim=1).max()) <= 0.5 + 1e-5


def test_evaluate_counts_errors_per_class_and_after_a_bias_shift():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5], [0.0, 3.0]])
    labels = torch.tensor([0, 1, 1, 0])
    r = evaluate(logits, labels, {"1": 1.0})
    assert r["errors"] == 2 and r["errors_by_class"] == {"0": 1, "1": 1}
    assert r["errors_after_bias_shift"] == 1 and r["errors_by_class_after_bias_shift"] == {"0": 1, "1": 0}


def test_papernot_adapter_names_the_plans_models(cpu_cfg):
    """The adapter's ModelIds are Plan's deployed models (its own rules build them, in train.smk)."""
    from distillbench.papers.papernot2016.plan import Plan

    ids = get("papernot2016").models(cpu_cfg)
    plan = Plan(cpu_cfg)
    for d in cpu_cfg["datasets"]:
        mine = [m for m in ids if m.dataset == d]
        assert [m.name for m in mine] == plan.deployed_models()
        assert {m.arch for m in mine} == {f"papernot_{d}"}
        assert [m.temperature for m in mine[1:]] == [float(t) for t in cpu_cfg["temperatures"]]
