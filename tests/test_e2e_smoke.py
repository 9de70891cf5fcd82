"""End to end: the real `snakemake` on the smoke profile over a tiny dataset written by the test."""

import json
import re
import subprocess
import sys

import pandas as pd
import pytest
import torch

from distillbench.cli import main
from distillbench.evaluation import COLUMNS

pytestmark = pytest.mark.e2e


def snakemake(repo_root, workdir, data_dir, *extra):
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "2",
        "-s",
        str(repo_root / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(repo_root / "config" / "smoke.yaml"),
        "--config",
        f"data_dir={data_dir}",
        "verify_checksums=false",
        "download=false",
        f"execution={{gpu_lock_dir: {workdir / 'locks'}}}",  # merged with another execution={...} in extra
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def smoke_run(repo_root, tiny_data_dir, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smoke_run")
    proc = snakemake(repo_root, workdir, tiny_data_dir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return workdir


def test_report_has_every_row(smoke_run):
    report = (smoke_run / "results" / "smoke" / "REPORT.md").read_text()
    fig7 = report.split("## Fig. 7")[1].split("Verdicts:")[0]
    rows = [line for line in fig7.splitlines() if line.startswith("| MNIST") or line.startswith("| CIFAR10")]
    got = {tuple(c.strip() for c in r.strip("|").split("|")[:2]) for r in rows}
    expected = {(d, m) for d in ("MNIST", "CIFAR10") for m in ("no distillation", "T=1", "T=20")}
    assert got == expected
    paper = {
        "MNIST": {"no distillation": "95.89", "T=1": "91.00", "T=20": "1.34"},
        "CIFAR10": {"no distillation": "87.89", "T=1": "92.78", "T=20": "18.23"},
    }
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        assert cells[2] == paper[cells[0]][cells[1]]
        assert re.fullmatch(r"\d+\.\d\d", cells[3])  # ours %
        assert cells[-1] in {
            "reproduced",
            "not reproduced (higher)",
            "not reproduced (lower)",
            "untrained (accuracy near chance)",
        }
    # Provenance and the unofficial-data flag are in the header; the figure is embedded and exists.
    assert "git commit" in report and "UNOFFICIAL copy" in report and "torch 2." in report
    # Input gradients per model, in float32 and float64.
    grads = report.split("## Input gradients per temperature")[1].split("##")[0]
    assert len([line for line in grads.splitlines() if line.startswith(("| MNIST", "| CIFAR10"))]) == 6
    # The headline comes first and says that smoke numbers mean nothing.
    assert report.index("## Headline") < report.index("## Provenance")
    assert "Smoke profile: these numbers test the plumbing only" in report
    assert "![Fig. 7 replica](fig7.png)" in report
    assert (smoke_run / "results" / "smoke" / "fig7.png").stat().st_size > 10_000
    assert "## Wall time per rule" in report and "| attack" in report
    # The exact-arithmetic numerics ran beside the float32 ones, and the report says how far each cell moved.
    numerics = report.split("## Attack numerics: how far the cells move")[1].split("##")[0]
    numerics_rows = [line for line in numerics.splitlines() if line.startswith(("| MNIST", "| CIFAR10"))]
    assert len(numerics_rows) == 6
    comp = pd.read_csv(smoke_run / "results" / "smoke" / "numerics.csv")
    assert set(comp.main) == {"float32"} and set(comp.other) == {"exact"} and (comp.targets_compared > 0).all()


def test_per_target_tables_and_summaries(smoke_run):
    table = pd.read_csv(
        smoke_run / "results" / "smoke" / "attacks" / "mnist" / "exact" / "seed1234" / "distilled_T20.csv"
    )
    assert list(table.columns) == COLUMNS
    assert len(table) == 4 * 9
    assert (table.features_changed <= 112).all()
    assert (table.target != table.true_label).all()
    assert (table.features_changed == 2 * table.iterations).all()
    assert (table.success == (table.final_prediction == table.target)).all()
    attacks = smoke_run / "results" / "smoke" / "attacks" / "mnist" / "exact" / "seed1234"
    summary = json.loads((attacks / "distilled_T20.json").read_text())
    assert summary["numerics"] == "exact"  # the exact-arithmetic diagnostic, run beside the float32 attack
    assert summary["targets"] == 36 and summary["successes"] == int(table.success.sum())
    fig7 = pd.read_csv(smoke_run / "results" / "smoke" / "fig7.csv")
    assert len(fig7) == 6
    # The smoke profile attacks in several batches (12 targets each), so a killed attack resumes mid-table.
    log = (smoke_run / "results" / "smoke" / "logs" / "attack" / "mnist_exact_distilled_T20_seed1234.log").read_text()
    assert all(f"targets {k}/36 " in log for k in (12, 24, 36))


def test_adaptive_attacks_robustness_and_accuracy_sections(smoke_run):
    """Adaptive attacks: every registry attack kind ran on its models, with per-target tables, summaries with the
    keys the conclusion reads, and the report's three sections with their tables and figures."""
    from distillbench.adaptive import ADAPTIVE_COLUMNS

    run = smoke_run / "results" / "smoke"
    report = (run / "REPORT.md").read_text()
    expected = {("mnist", a): ["baseline", "distilled_T1", "distilled_T20"] for a in ("jsma_f_t", "jsma_z", "l0_fmn")}
    expected[("mnist", "cw_l2")] = ["baseline", "distilled_T20"]  # models: [baseline, highest_T]
    expected[("cifar10", "jsma_f_t")] = ["baseline", "distilled_T1", "distilled_T20"]
    keys = {
        "dataset", "model", "attack", "trained_temperature", "targets", "successes", "success_rate_pct",
        "ci95_low_pct", "ci95_high_pct", "budget", "mean_l0_success", "mean_l2_success", "test_accuracy", "seconds",
    }  # fmt: skip
    for (d, a), models in expected.items():
        assert sorted(p.stem for p in (run / "adaptive" / d / a / "seed1234").glob("*.json")) == models
        for m in models:
            s = json.loads((run / "adaptive" / d / a / "seed1234" / f"{m}.json").read_text())
            assert keys <= set(s) and (s["dataset"], s["model"], s["attack"]) == (d, m, a)
            table = pd.read_csv(run / "adaptive" / d / a / "seed1234" / f"{m}.csv")
            assert list(table.columns) == ADAPTIVE_COLUMNS and len(table) == s["targets"]
            assert s["successes"] == int(table.success.sum())
            if a == "cw_l2":
                assert s["budget"] is None and s["targets"] == 9  # its own `samples: 1`
                assert (s["mean_l2_success"] is None) == (s["successes"] == 0)
            else:
                assert s["budget"] == 112 and s["mean_l2_success"] is None
                assert (table[table.success].l0 <= 112).all()
    log = (run / "logs" / "adaptive_attack" / "mnist_jsma_f_t_distilled_T20_seed1234.log").read_text()
    assert "targets 9/18 " in log and "targets 18/18 " in log  # two batches
    for d, n in (("mnist", 18), ("cifar10", 9)):
        for m in ("baseline", "distilled_T1", "distilled_T20"):
            r = json.loads((run / "robustness" / d / "seed1234" / f"{m}.json").read_text())
            assert r["targets"] == n and 0 <= r["failure_share_pct"] <= 100
            assert r["capped"] and r["max_features"] == 200  # the smoke profile's cap
            assert {"dataset", "model", "trained_temperature", "successes", "rho_adv_pct", "test_accuracy"} <= set(r)
            assert (r["rho_adv_pct"] is None) == (r["successes"] == 0)
    # The report: a temperature x attack table, the reference table, the figures.
    adaptive = report.split("## Adaptive attacks")[1].split("\n## ")[0]
    header = next(line for line in adaptive.splitlines() if line.startswith("| dataset"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert cells == ["dataset", "model", "jsma_f", "jsma_f_t", "jsma_z", "l0_fmn", "cw_l2", "test acc %"]
    assert "![Adaptive attacks](adaptive.png)" in adaptive and "Carlini & Wagner" in adaptive
    assert len([line for line in adaptive.splitlines() if line.startswith("| MNIST")]) >= 3
    rob = report.split("## Robustness rho_adv")[1].split("\n## ")[0]
    assert len([line for line in rob.splitlines() if line.startswith(("| MNIST", "| CIFAR10"))]) == 6
    acc = report.split("## Accuracy vs temperature")[1].split("\n## ")[0]
    assert len([line for line in acc.splitlines() if line.startswith(("| MNIST", "| CIFAR10"))]) == 6
    for name in ("adaptive", "robustness", "accuracy"):
        assert (run / f"{name}.png").stat().st_size > 10_000
    table = pd.read_csv(run / "adaptive.csv")
    assert set(table.attack) == {"jsma_f", "jsma_f_t", "jsma_z", "l0_fmn", "cw_l2"}


def test_every_job_has_a_log_and_a_benchmark(smoke_run):
    logs = sorted((smoke_run / "results" / "smoke" / "logs").rglob("*.log"))
    # attacks: float32, float32 under its second arithmetic order, exact; gradients; seed 7's chain (2 teachers,
    # soft labels, student, 2 attacks); the length study (2 training jobs, 4 attacks, 4 gradients); adaptive attacks:
    # 14 attacks, 6 robustness jobs; the seam: 11 models, 2 teachers' logits; the recipe study: 3 recipes x (2
    # teachers, soft labels, student, 2 logits jobs, 8 attacks) = 42
    assert len(logs) == 2 + 4 + 4 + 4 + 3 * 6 + 6 + 1 + 6 + 10 + 14 + 6 + 11 + 2 + 42
    train_log = (smoke_run / "results" / "smoke" / "logs" / "train_teacher" / "mnist_T20_seed1234.log").read_text()
    assert re.search(r"epoch 1/1 T=20 lr=0.1 loss=[\d.]+ train_acc=[\d.]+ test_acc=[\d.]+ seconds=", train_log)
    assert "device: cpu" in train_log
    assert (
        len(list((smoke_run / "results" / "smoke" / "benchmarks").rglob("*.tsv")))
        == 4 + 4 + 4 + 3 * 6 + 6 + 6 + 14 + 6 + 11 + 2 + 42
    )


def test_seeds_length_study_and_conclusion(smoke_run):
    """The smoke profile's seeds [1234, 7] (MNIST baseline and T=20 replicated) and its length study (epochs 1, 2,
    2 samples): per-seed outputs apart, the Fig. 7 columns over seeds, the study's table, plot and sentence, and
    the generated conclusion."""
    run = smoke_run / "results" / "smoke"
    fig7 = pd.read_csv(run / "fig7.csv")
    seeds = dict(zip(fig7.dataset + "/" + fig7.model, fig7.seeds, strict=True))
    assert seeds == {
        "mnist/baseline": 2,
        "mnist/distilled_T1": 1,
        "mnist/distilled_T20": 2,
        "cifar10/baseline": 1,
        "cifar10/distilled_T1": 1,
        "cifar10/distilled_T20": 1,
    }
    base = fig7[(fig7.dataset == "mnist") & (fig7.model == "baseline")].iloc[0]
    other = json.loads((run / "attacks" / "mnist" / "float32" / "seed7" / "baseline.json").read_text())
    assert base.pooled_targets == 36 + other["targets"]
    assert base.pooled_successes == base.successes + other["successes"]
    assert base.mean_pct == pytest.approx((base.ours_pct + other["success_rate_pct"]) / 2)
    assert base.min_pct <= base.mean_pct <= base.max_pct
    assert {"verdict", "sd_pp", "clustered_low_pct", "diff_low_pp", "mdd_higher_pp"} <= set(fig7.columns)
    assert not (run / "attacks" / "mnist" / "exact" / "seed7").exists()  # main numerics only
    report = (run / "REPORT.md").read_text()
    assert "- seeds that ran: MNIST: seeds 1234, 7; more than one for baseline, distilled_T20" in report
    assert "### How verdicts are made" in report and "Newcombe" in report
    assert "### Cells under several seeds" in report and "1234: " in report
    study = report.split("## Training length and the baseline cell")[1].split("\n## ")[0]
    rows = [line for line in study.splitlines() if re.match(r"^\| [12] ", line)]
    assert len(rows) == 2  # epochs 1 and 2
    assert "brings the paper's 95.89% back" in study or "comes back at" in study
    assert "![JSMA success vs training length](length_study.png)" in study
    assert (run / "length_study.png").stat().st_size > 10_000
    per_seed = pd.read_csv(run / "length_study.csv")
    assert sorted(zip(per_seed.seed, per_seed.epochs, strict=True)) == [(7, 1), (7, 2), (1234, 1), (1234, 2)]
    assert (per_seed.targets == 18).all()
    snaps = json.loads((run / "length" / "mnist" / "seed7" / "train.json").read_text())
    assert snaps["snapshot_epochs"] == [1, 2] and len(snaps["history"]) == 2
    conclusion = report.split("## Conclusion")[1]
    assert "**In short**: defensive distillation" in conclusion
    # every adaptive attack of the run is judged; the smoke models are under-trained, so none can be
    assert all(f"adaptive `{a}`" in conclusion for a in ("jsma_f_t", "jsma_z", "l0_fmn", "cw_l2"))
    assert "distillation **does not hold**" not in conclusion.split("## Wall time")[0]


def test_snakemake_html_report(repo_root, smoke_run, tiny_data_dir):
    """`snakemake --report` after the run: the figure and the tables with their captions, and the workflow text."""
    html_path = smoke_run / "results" / "smoke" / "report.html"
    proc = snakemake(repo_root, smoke_run, tiny_data_dir, "--report", str(html_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    for name in (
        "fig7.png",
        "fig7.csv",
        "numerics.csv",
        "gradients.csv",
        "adaptive.png",
        "adaptive.csv",
        "robustness.png",
        "robustness.csv",
        "accuracy.png",
        "accuracy.csv",
    ):
        assert f"Adding {name}" in proc.stdout + proc.stderr
    html = html_path.read_text()
    assert len(html) > 100_000  # self-contained: scripts, styles and the embedded results
    assert "Fig. 7 replica: JSMA success rate" in html  # workflow/report/fig7.rst
    assert "Fig. 7 as a table, one row per dataset" in html  # fig7_table.rst
    assert "How far each Fig. 7 cell moves" in html  # numerics.rst
    assert "Input gradients per deployed model" in html  # gradients.rst
    assert "Adaptive attacks: success rate against the distillation temperature" in html  # adaptive.rst
    assert "Robustness rho_adv per temperature" in html  # robustness.rst
    assert "Test accuracy of every deployed model against the distillation temperature" in html  # accuracy.rst
    assert "This is run <strong>smoke</strong>" in html  # workflow.rst, rendered with the run's config


def test_rerun_does_nothing(repo_root, smoke_run, tiny_data_dir):
    proc = snakemake(repo_root, smoke_run, tiny_data_dir, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def _section(report: str, heading: str) -> str:
    assert heading in report, f"no section {heading!r} in REPORT.md"
    return report.split(heading)[1].split("\n## ")[0]


def _rows(text: str) -> list[list[str]]:
    lines = [ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("|:")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[1:]]  # without the header


def test_hinton_section(smoke_run):
    """Hinton et al. 2015: every model's test errors beside the paper's, with an interval and a verdict."""
    report = (smoke_run / "results" / "smoke" / "REPORT.md").read_text()
    assert report.index("## Fig. 7") < report.index("## Hinton, Vinyals & Dean 2015")
    section = _section(report, "## Hinton, Vinyals & Dean 2015")
    rows = _rows(section)
    paper = [r[2] for r in rows]
    judged = ["67 / 10000", "146 / 10000", "74 / 10000", "206 / 10000", "133 / 1010", "109 / 10000", "14 / 1010"]
    assert paper == [*judged, "–", "–"]  # the last two: the fixed shift +3.5, context beside the chosen one
    verdicts = {"reproduced", "not reproduced (higher)", "not reproduced (lower)"}
    for r in rows:
        assert re.fullmatch(r"\d+ / \d+", r[3]) and re.fullmatch(r"\d+ \(\d+–\d+\)", r[4])
        assert r[6] in (verdicts if r[2] != "–" else {"– (context)"})
    assert all(r[3].endswith("/ 500") for r in rows if r[1] == "test set")  # the smoke test subset
    assert "(chosen on the test set)" in rows[5][0] and rows[7][0].endswith("bias of 3 +3.5 (fixed)")
    claim = "The paper's claim, distillation at T=20 transfers the teacher's knowledge and cuts the small net's errors"
    assert claim in section and re.search(r"\*\*(holds|does not hold|not testable)\*\*", section)
    assert "optimistic by construction" in section
    table = pd.read_csv(smoke_run / "results" / "smoke" / "hinton2015" / "table.csv")
    assert len(table) == 9  # the Wilson bounds of 0 errors or of all may sit a rounding error off the count
    assert (table.ci95_low <= table.ours_errors + 1e-9).all() and (table.ours_errors <= table.ci95_high + 1e-9).all()
    metrics = json.loads(
        (
            smoke_run / "results" / "smoke" / "hinton2015" / "mnist" / "models" / "student_distilled_omit.json"
        ).read_text()
    )
    assert metrics["job"]["omit_classes"] == [3] and metrics["train_samples"] == 1000
    sweep = metrics["bias_shift_sweep"]
    assert sweep["class"] == 3 and sweep["errors"][sweep["shifts"].index(3.5)] == metrics["errors_after_bias_shift"]
    log = smoke_run / "results" / "smoke" / "logs" / "paper_train" / "hinton2015_mnist_student_distilled_omit.log"
    assert re.search(r"transfer set without classes \[3\]: (\d+) of 1000 images", log.read_text())


def test_ba_caruana_section(smoke_run):
    """Ba & Caruana 2014: accuracy per student width for hard, soft and mimic training, the teacher, a figure."""
    run = smoke_run / "results" / "smoke"
    report = (run / "REPORT.md").read_text()
    section = _section(report, "## Ba & Caruana 2014")
    rows = _rows(section.split("Claims")[0])
    assert [r[0] for r in rows] == ["16", "64"]
    for r in rows:
        assert all(re.fullmatch(r"\d+\.\d\d", c) for c in r[2:6])
    assert "![Accuracy vs. student width](ba_caruana2014/figures/accuracy_vs_width.png)" in section
    assert (run / "ba_caruana2014" / "figures" / "accuracy_vs_width.png").stat().st_size > 10_000
    assert "*Mimic training beats training on the labels at the same size*" in section
    assert re.search(r"\*\*(holds|does not hold|not testable)", section)
    assert re.search(r"\| SNN-MIMIC-8k \(shallow, mimics the ensemble\) +\| 21\.6 \(unconfirmed\) +\|", section)
    table = pd.read_csv(run / "ba_caruana2014" / "table.csv")
    assert sorted(table.loss) == sorted(["hard"] + ["hard", "soft", "mimic"] * 2)
    assert set(table[table.role == "teacher"].arch) == {"papernot_mnist"}


def test_papernot_tables_unchanged_by_the_seam(repo_root, smoke_run, tiny_data_dir, tmp_path_factory):
    """Papernot's Fig. 7 and numerics tables from a run with only papernot2016 enabled equal the full run's."""
    alone = tmp_path_factory.mktemp("papernot_alone")
    proc = snakemake(repo_root, alone, tiny_data_dir, "reproductions=[papernot2016]")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "paper_train" not in proc.stdout + proc.stderr
    for name in ("fig7.csv", "numerics.csv", "gradients.csv"):
        a = pd.read_csv(smoke_run / "results" / "smoke" / name)
        b = pd.read_csv(alone / "results" / "smoke" / name)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    report = (alone / "results" / "smoke" / "REPORT.md").read_text()
    assert "## Fig. 7" in report and "## Hinton" not in report and "## Ba & Caruana" not in report


MNIST_MODELS = ("baseline", "distilled_T1", "distilled_T20")  # the smoke profile's deployed models


def test_train_in_groups_runs_the_fig7_jobs(repo_root, tiny_data_dir, tmp_path_factory):
    """`execution={train_in_groups: true}`: one training job per dataset and role (and further seed) writes every
    network's files (the teachers' group also their soft labels), and the attack and gradient jobs run on them as on
    per-network checkpoints (MNIST's Fig. 7 jobs, and its replicas under the second seed with every model
    replicated)."""
    work = tmp_path_factory.mktemp("grouped")
    seed_attacks = [f"results/smoke/attacks/mnist/exact/seed7/{m}.json" for m in MNIST_MODELS]
    proc = snakemake(
        repo_root, work, tiny_data_dir, "execution={train_in_groups: true}", "run_datasets=[mnist]",
        "datasets={mnist: {seed_models: all}}", "--rerun-incomplete", "papernot2016", *seed_attacks,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    for rule in ("train_teachers_group", "train_students_group"):
        assert len(re.findall(rf"rule {rule}:", out)) == 2, rule  # seeds 1234 and 7
    assert not re.search(r"rule train_(teacher|student):", out)
    assert not re.search(r"rule soft_labels:", out), "the teacher groups write the soft labels"
    for path in seed_attacks:
        assert json.loads((work / path).read_text())["targets"] > 0
    seed_model = json.loads((work / "results/smoke/models/mnist/seed7/distilled_T20.json").read_text())
    assert seed_model["trained_in_group"] == 2
    run = work / "results" / "smoke"
    for role in ("teacher", "distilled"):
        for t in ("1", "20"):
            m = json.loads((run / "models" / "mnist" / "seed1234" / f"{role}_T{t}.json").read_text())
            assert m["trained_in_group"] == 2 and m["temperature"] == float(t)
            assert len(m["history"]) == m["epochs"] and 0.0 <= m["test_accuracy"] <= 1.0
    log = (run / "logs" / "train_students_group" / "mnist_seed1234.log").read_text()
    assert "train 2 mnist students as one group (T=1, 20)" in log
    log = (run / "logs" / "train_teachers_group" / "mnist_seed1234.log").read_text()
    assert "soft labels at T=1 for" in log and "soft labels at T=20 for" in log
    # Each soft-label file is its own teacher's softmax at its own T: what `distillbench soft-labels` writes from
    # that teacher's checkpoint (the rule pairs temperatures and paths in the same order).
    models = work / "work" / "smoke" / "mnist" / "seed1234"
    for t in ("1", "20"):
        in_group = torch.load(models / f"soft_labels_T{t}.pt")
        alone = work / f"alone_soft_T{t}.pt"
        teacher = str(models / f"teacher_T{t}.pt")
        rows = str(len(in_group))
        main(["soft-labels", "--teacher", teacher, "--data-dir", str(tiny_data_dir), "--temperature", t,
              "--train-subset", rows, "--device", "cpu", "--out", str(alone)])  # fmt: skip
        assert torch.equal(in_group, torch.load(alone)), f"soft labels at T={t}"
    for numerics in ("exact", "float32"):
        for model in MNIST_MODELS:
            assert (
                json.loads((run / "attacks" / "mnist" / numerics / "seed1234" / f"{model}.json").read_text())["targets"]
                > 0
            )
