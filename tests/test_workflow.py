"""What `snakemake -n` plans for each profile."""

import re
import subprocess
import sys
from collections import Counter


def plan(repo_root, tmp_path, *args):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--quiet",
            "rules",
            "--cores",
            "8",
            "-s",
            str(repo_root / "Snakefile"),
            "--directory",
            str(tmp_path),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return parse_rule_counts(proc.stdout + proc.stderr)


# What `snakemake -n` plans per profile (also checked on a fresh clone: tests/test_fresh_clone.py). Per dataset:
# a teacher and a distilled network for each of the 9 temperatures (the T=1 teacher is the undistilled baseline),
# soft labels per temperature, three attacks (float32, float32 again under its second arithmetic order, exact) and
# a gradient job per deployed model
# (10), one data check; the paper profile warm-starts CIFAR-10 only, the cpu profile both datasets. Beside them:
# a robustness job per deployed model (20; cpu: MNIST only, 10) and the adaptive attacks: paper, per dataset,
# jsma_f_t, jsma_z and l0_fmn on the 10 deployed models and cw_l2 on all 10 (MNIST) or 2 (CIFAR-10): 40 + 32;
# cpu, MNIST 3 x 10 + 2, CIFAR-10 3 x 2; smoke, MNIST 3 x 3 + 2, CIFAR-10 jsma_f_t x 3.
_SWEEP = {
    "prepare_data": 2,
    "train_teacher": 18,
    "soft_labels": 18,
    "train_student": 18,
    "attack": 60,
    "gradients": 20,
    "report": 1,
    "all": 1,
}
# The seam's reproductions (workflow/rules/papers.smk): Hinton 2015's 4 models (teacher, student on labels,
# distilled student, distilled without the 3s) and Ba & Caruana's teacher plus 3 losses x its student widths
# (paper profile 4 widths, cpu 3, smoke 2); the logits of the two teachers. Their sections are written by the
# report rule, which asks every enabled reproduction for its section.
_SEAM = {"paper_logits": 2}
PAPER_PLAN = Counter(_SWEEP, warm_start=1, adaptive_attack=72, robustness=20, paper_train=4 + 1 + 3 * 4, **_SEAM)
CPU_PLAN = Counter(_SWEEP, warm_start=2, adaptive_attack=38, robustness=10, paper_train=4 + 1 + 3 * 3, **_SEAM)
SMOKE_PLAN = Counter(
    prepare_data=2,
    train_teacher=4,
    soft_labels=4,
    train_student=4,
    attack=18,
    gradients=6,
    adaptive_attack=14,
    robustness=6,
    report=1,
    all=1,
    paper_train=4 + 1 + 3 * 2,
    **_SEAM,
)
# Further seeds (the same rules, a seed in every path) and the training-length study (length.smk), added to the
# above (Counter.update adds).
# Paper: seeds [1234, 1, 2], every model of both datasets retrained under seeds 1 and 2 (per seed and dataset 9
# teachers, 9 soft labels, 9 students, 10 attacks in the main numerics; CIFAR-10's warm start); the MNIST baseline
# study: one training job per seed, 7 snapshots each attacked and measured.
PAPER_PLAN.update(
    warm_start=2,
    train_teacher=36,
    soft_labels=36,
    train_student=36,
    attack=40,
    length_train=3,
    length_attack=21,
    length_gradients=21,
)
# cpu: MNIST baseline and T=100 under seeds 1 and 2 (teachers T1, T100; the student T100; a warm start per seed),
# 5 snapshots of one seed in the study.
CPU_PLAN.update(
    warm_start=2,
    train_teacher=4,
    soft_labels=2,
    train_student=2,
    attack=4,
    length_train=1,
    length_attack=5,
    length_gradients=5,
)
# The recipe-sensitivity study (recipe.smk), in `all` where enabled: per studied dataset and recipe variant (the
# configured one and each contested choice) a teacher at T=1 and at the study's T, soft labels, a student, the two
# deployed models' logits, and 2 numerics x protocols attacks per model. Paper: MNIST 6 variants, CIFAR-10 7 (its
# lr decay), 3 protocols; cpu: MNIST 6 variants, 2 protocols; smoke: MNIST 3 variants (two choices), 2 protocols.
PAPER_PLAN.update(
    recipe_train_teacher=26, recipe_soft_labels=13, recipe_train_student=13, recipe_logits=26, recipe_attack=156
)
CPU_PLAN.update(
    recipe_train_teacher=12, recipe_soft_labels=6, recipe_train_student=6, recipe_logits=12, recipe_attack=48
)
SMOKE_PLAN.update(
    recipe_train_teacher=6, recipe_soft_labels=3, recipe_train_student=3, recipe_logits=6, recipe_attack=24
)
# smoke: MNIST baseline and T=20 under seed 7; 2 snapshots x 2 seeds.
SMOKE_PLAN.update(
    train_teacher=2,
    soft_labels=1,
    train_student=1,
    attack=2,
    length_train=2,
    length_attack=4,
    length_gradients=4,
)


def parse_rule_counts(output: str) -> Counter:
    """The job count per rule from `snakemake -n --quiet rules` output."""
    counts: Counter = Counter()
    for line in output.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) not in ("total", "job", "count"):
            counts[m.group(1)] = int(m.group(2))
    return counts


def test_default_config_plans_the_papers_jobs(repo_root, tmp_path):
    """The paper profile trains in groups (`execution.train_in_groups: true`); without, one job per network."""
    assert plan(repo_root, tmp_path) == grouped(PAPER_PLAN)
    assert plan(repo_root, tmp_path, "--config", "execution={train_in_groups: false}") == PAPER_PLAN


def test_plain_snakemake_loads_the_default_profile(repo_root, tmp_path):
    """`snakemake` with the top-level Snakefile finds profiles/default (a link to workflow/profiles/default)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--quiet",
            "rules",
            "--cores",
            "1",
            "-s",
            str(repo_root / "Snakefile"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,  # not the repository: found next to the Snakefile
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Using workflow specific profile {repo_root / 'profiles' / 'default'}" in proc.stdout + proc.stderr
    assert (repo_root / "profiles" / "default" / "config.yaml").resolve() == (
        repo_root / "workflow" / "profiles" / "default" / "config.yaml"
    ).resolve()


def test_cpu_profile_adds_the_warm_start(repo_root, tmp_path):
    counts = plan(repo_root, tmp_path, "--configfile", str(repo_root / "config" / "cpu.yaml"))
    assert counts == CPU_PLAN


def test_smoke_profile_is_small(repo_root, tmp_path):
    counts = plan(repo_root, tmp_path, "--configfile", str(repo_root / "config" / "smoke.yaml"))
    assert counts == SMOKE_PLAN


def test_train_arguments_parse_back_into_the_config(repo_root):
    """The one train command of the three training rules: what Plan.train_args builds is what the CLI reads."""
    import json
    import shlex

    from distillbench.cli import build_parser
    from distillbench.config import load_config
    from distillbench.papers.papernot2016.plan import Plan

    plan = Plan(load_config(repo_root / "config" / "cpu.yaml"))  # over config.yaml, as --configfile is
    tail = ["--data-dir", "d", "--out", "o.pt", "--metrics", "m.json"]

    def parse(args: str):
        return build_parser().parse_args(["train", *shlex.split(args), *tail])

    ws = parse(plan.train_args("cifar10", "warm_start", "1"))
    assert (ws.role, ws.temperature, ws.epochs, ws.init_from, ws.soft_labels) == ("warm_start", 1.0, 2, None, None)
    assert json.loads(ws.training) == plan.config["datasets"]["cifar10"]["training"]
    assert ws.train_subset == 10000 and ws.seed == plan.config["seed"]

    student = parse(plan.train_args("mnist", "student", "100", init="w d/warm_start.pt", soft_labels="s.pt"))
    assert (student.role, student.temperature, student.epochs) == ("student", 100.0, 3)
    assert (student.init_from, student.soft_labels) == ("w d/warm_start.pt", "s.pt")
    teacher = parse(plan.train_args("mnist", "teacher", "20", init=[]))
    assert (teacher.epochs, teacher.init_from, teacher.soft_labels) == (2, None, None)


def grouped(per_network: Counter) -> Counter:
    """`train_in_groups: true`: the teachers of a dataset in one job, which also writes their soft labels, its
    distilled networks in another (per further seed too, where every model is replicated); the same files, so
    everything downstream (attacks, gradients, the report) is planned as before."""
    expected = Counter(per_network)
    del expected["soft_labels"]
    for per_model, group, n in (
        ("train_teacher", "train_teachers_group", 6),  # one per dataset and seed (3 seeds)
        ("train_student", "train_students_group", 6),
    ):
        del expected[per_model]
        expected[group] = n
    return expected


def test_train_in_groups_keeps_per_network_jobs_for_a_subset_of_seed_models(repo_root, tmp_path):
    """The smoke profile replicates two of MNIST's three models under its second seed: one job each."""
    counts = plan(repo_root, tmp_path, "--configfile", str(repo_root / "config" / "smoke.yaml"), "--config",
                  "execution={train_in_groups: true}")  # fmt: skip
    assert counts["train_teachers_group"] == 2 and counts["train_students_group"] == 2  # the first seed's
    assert counts["train_teacher"] == 2 and counts["train_student"] == 1  # seed 7's: one job per network
    assert "soft_labels" in counts


def test_group_train_arguments_parse_back_into_the_config(repo_root):
    import json
    import shlex

    import yaml

    from distillbench.cli import build_parser
    from distillbench.config import validate_config
    from distillbench.papers.papernot2016.plan import Plan

    plan = Plan(validate_config(yaml.safe_load((repo_root / "config" / "config.yaml").read_text())))
    temps = plan.temperatures
    tail = ["--data-dir", "d", "--out", *[f"o{t}.pt" for t in temps], "--metrics", *[f"m{t}.json" for t in temps]]
    args = plan.group_train_args("cifar10", "student", temps, init="w/warm_start.pt", soft_labels=["s 1.pt", "s2.pt"])
    a = build_parser().parse_args(["train-group", *shlex.split(args), *tail])
    assert (a.role, a.epochs, a.init_from, a.soft_labels) == ("student", 50, "w/warm_start.pt", ["s 1.pt", "s2.pt"])
    assert a.temperatures == [float(t) for t in temps] and a.out == [f"o{t}.pt" for t in temps]
    assert json.loads(a.training) == plan.config["datasets"]["cifar10"]["training"]
    assert plan.teacher_temperatures()[0] == "1" and len(plan.teacher_temperatures()) == len(set(temps) | {"1"})


# The one lint the workflow keeps on purpose (the reason is in the Snakefile, above the includes).
ACCEPTED_LINTS = {"Specify a conda environment or container for each rule."}


def parse_lints(output: str) -> dict[str, list[str]]:
    """`snakemake --lint` text output: the lint titles under each "Lints for ..." heading."""
    lints: dict[str, list[str]] = {}
    heading = None
    for line in output.splitlines():
        if line.startswith("Lints for "):
            heading = line.removeprefix("Lints for ").rstrip(":")
            lints[heading] = []
        elif heading is not None and line.startswith("    * "):
            lints[heading].append(line.removeprefix("    * ").rstrip(":"))
    return lints


def test_parse_lints():
    out = (
        "Lints for rule a (line 3, x.smk):\n    * Specify a conda environment or container for each rule.:\n"
        "      This way, ...\n\nLints for snakefile y:\n    * Mixed rules and functions in same snakefile.:\n"
    )
    assert parse_lints(out) == {
        "rule a (line 3, x.smk)": ["Specify a conda environment or container for each rule."],
        "snakefile y": ["Mixed rules and functions in same snakefile."],
    }


def test_lint_reports_only_the_documented_lint(repo_root, tmp_path):
    """`snakemake --lint` on the default config: nothing but the per-rule software-environment lint."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "-s", str(repo_root / "Snakefile"), "--directory", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    lints = parse_lints(out)
    unexpected = {where: titles for where, titles in lints.items() if set(titles) - ACCEPTED_LINTS}
    assert not unexpected, out
    # Every lint is one that applies to rules, and every rule with a shell command carries it: the parse worked.
    assert sorted(w.split(" (")[0] for w in lints) == sorted(
        f"rule {r}"
        for r in (
            "prepare_data",
            "warm_start",
            "train_teacher",
            "soft_labels",
            "train_student",
            "attack",
            "gradients",
            "adaptive_attack",
            "robustness",
            "report",
            "train_teachers_group",  # the default config trains in groups (train_in_groups: true)
            "train_students_group",
            # length.smk
            "length_train",
            "length_attack",
            "length_gradients",
            # recipe.smk (the default config enables the recipe study)
            "recipe_train_teacher",
            "recipe_soft_labels",
            "recipe_train_student",
            "recipe_attack",
            "recipe_logits",
            "paper_train",
            "paper_logits",
        )
    ), out
    assert proc.returncode == 1  # snakemake --lint exits 1 whenever it prints a lint


def test_one_reproduction_alone(repo_root, tmp_path):
    """`--config reproductions=[hinton2015]`: Hinton's jobs, its data check and the one report rule, without
    Papernot's part; `snakemake ba_caruana2014`: that paper's jobs only (what its section reads)."""
    smoke = ("--configfile", str(repo_root / "config" / "smoke.yaml"))
    counts = plan(repo_root, tmp_path, *smoke, "--config", "reproductions=[hinton2015]")
    assert counts == Counter(prepare_data=1, paper_train=4, paper_logits=1, report=1, all=1)
    counts = plan(repo_root, tmp_path, "ba_caruana2014", *smoke)  # the target first: --configfile takes several
    assert counts == Counter(prepare_data=1, paper_train=7, paper_logits=1, ba_caruana2014=1)
