"""scripts/migrate_run_paths.py: an older run's files moved to the paths where every seed is named, the ones
today's Plan forms; nothing else moves, and a second run moves nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from distillbench.papers.papernot2016.plan import Plan

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))
import migrate_run_paths  # noqa: E402

# Old path (relative to results/<run>) -> new path; None: stays.
RESULTS = {
    "models/mnist/teacher_T1.json": "models/mnist/seed1234/teacher_T1.json",
    "models/mnist/warm_start.json": "models/mnist/seed1234/warm_start.json",
    "attacks/mnist/defined/baseline.json": "attacks/mnist/defined/seed1234/baseline.json",
    "attacks/mnist/float32/distilled_T20.csv": "attacks/mnist/float32/seed1234/distilled_T20.csv",
    "gradients/cifar10/baseline.json": "gradients/cifar10/seed1234/baseline.json",
    "adaptive/mnist/cw_l2/distilled_T20.json": "adaptive/mnist/cw_l2/seed1234/distilled_T20.json",
    "robustness/mnist/baseline.csv": "robustness/mnist/seed1234/baseline.csv",
    "seeds/seed7/attacks/mnist/defined/baseline.json": "attacks/mnist/defined/seed7/baseline.json",
    "seeds/seed7/models/mnist/distilled_T20.json": "models/mnist/seed7/distilled_T20.json",
    "logs/train_teacher/mnist_T1.log": "logs/train_teacher/mnist_T1_seed1234.log",
    "logs/attack/mnist_defined_baseline.log": "logs/attack/mnist_defined_baseline_seed1234.log",
    "logs/train_teachers_group/mnist.log": "logs/train_teachers_group/mnist_seed1234.log",
    "logs/seeds/soft_labels/mnist_T20_seed7.log": "logs/soft_labels/mnist_T20_seed7.log",
    "benchmarks/robustness/mnist_baseline.tsv": "benchmarks/robustness/mnist_baseline_seed1234.tsv",
    "benchmarks/seed_attack/mnist_defined_baseline_seed7.tsv": "benchmarks/attack/mnist_defined_baseline_seed7.tsv",
    "data/mnist.json": None,
    "length/mnist/seed7/attack_epoch1.json": None,
    "logs/length/train_mnist_seed7.log": None,
    "benchmarks/length_train/mnist_seed7.tsv": None,
    "hinton2015/mnist/models/teacher.json": None,
    "logs/paper_train/hinton2015_mnist_teacher.log": None,
    "fig7.csv": None,
}
WORK = {
    "mnist/teacher_T1.pt": "mnist/seed1234/teacher_T1.pt",
    "mnist/.teacher_T1.pt.resume": "mnist/seed1234/.teacher_T1.pt.resume",
    "mnist/seed7/soft_labels_T20.pt": None,
    "mnist/length/seed7/epoch1.pt": None,
    "hinton2015/mnist/teacher.pt": None,
}


def _tree(root: Path, files) -> None:
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)  # each file holds its old path: the move keeps contents


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}


def test_a_run_moves_to_the_seeded_paths_and_a_second_pass_moves_nothing(tmp_path):
    run, work = tmp_path / "results" / "r", tmp_path / "work" / "r"
    _tree(run, RESULTS)
    _tree(work, WORK)
    (run / "config.json").write_text(json.dumps({"seed": 1234}))
    assert migrate_run_paths.main([str(run), "--work-dir", str(work)]) == 0
    expected = {new or old: old for old, new in RESULTS.items()} | {"config.json": '{"seed": 1234}'}
    assert _files(run) == expected
    assert _files(work) == {new or old: old for old, new in WORK.items()}
    assert not (run / "seeds").exists()  # emptied directories go
    assert migrate_run_paths.main([str(run), "--work-dir", str(work)]) == 0
    assert _files(run) == expected


def test_moved_paths_are_the_ones_plan_forms():
    cfg = {"seed": 1234, "seeds": [1234, 7], "temperatures": [1, 20], "datasets": {"mnist": {}}}
    plan = Plan(cfg, results="R")
    plan.work = "W"
    new = migrate_run_paths.new_result_path
    assert "R/" + new("attacks/mnist/defined/baseline.json", 1234) == plan.attack_file("mnist", "defined", "baseline")
    assert "R/" + new("seeds/seed7/attacks/mnist/defined/baseline.json", 1234) == plan.attack_file(
        "mnist", "defined", "baseline", 7
    )
    assert "R/" + new("models/mnist/teacher_T20.json", 1234) == plan.metrics_file("mnist", "teacher_T20")
    assert "R/" + new("gradients/mnist/baseline.json", 1234) == plan.gradient_file("mnist", "baseline")
    assert "R/" + new("adaptive/mnist/cw_l2/baseline.csv", 1234) == plan.adaptive_file(
        "mnist", "cw_l2", "baseline", ext="csv"
    )
    assert "R/" + new("robustness/mnist/baseline.json", 1234) == plan.robustness_file("mnist", "baseline")
    assert "W/" + migrate_run_paths.new_work_path("mnist/teacher_T1.pt", 1234) == plan.checkpoint("mnist", "baseline")


def test_first_seed_from_report_and_clear_errors(tmp_path):
    run = tmp_path / "run"
    _tree(run, ["models/mnist/teacher_T1.json"])
    script = [sys.executable, str(SCRIPTS / "migrate_run_paths.py"), str(run)]
    out = subprocess.run(script, capture_output=True, text=True)
    assert out.returncode == 2 and "--seed" in out.stderr and "Traceback" not in out.stderr
    (run / "REPORT.md").write_text("- temperatures: 1, 20; seed 99\n")
    assert migrate_run_paths.first_seed_of(run) == 99
    # Both layouts at once: nothing moves, and the message says what to do.
    _tree(run, ["models/mnist/seed99/teacher_T1.json"])
    with pytest.raises(SystemExit, match="both layouts"):
        migrate_run_paths.main([str(run)])
    assert (run / "models/mnist/teacher_T1.json").exists()
