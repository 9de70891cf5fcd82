"""Papernot 2016's REPORT.md on a small run built from a committed cpu-profile run (tests/fixtures/cpu-2026-11-26b,
moved to today's paths): the float32 attack heads Fig. 7, a dataset without it says "not measured", the cells carry
the clustered comparison, the saturation section is there, and the recipe section appears when the study is on."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from distillbench.papers import get
from distillbench.papers.base import ReportContext
from distillbench.papers.papernot2016.report_cells import HEADLINE_NUMERICS, RETIRED_NUMERICS
from distillbench.saturation import CW2016_LOGIT_L1_DISTILLED, CW2016_LOGIT_L1_UNDISTILLED
from distillbench.stats import NOT_MEASURED

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "cpu-2026-11-26b"
sys.path.insert(0, str(REPO / "scripts"))
import migrate_run_paths  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """The fixture run in today's layout, without CIFAR-10's float32 attacks (as the committed cpu run)."""
    run = tmp_path_factory.mktemp("report") / FIXTURE.name
    shutil.copytree(FIXTURE, run, ignore=shutil.ignore_patterns("*.png", "*.csv", "REPORT.md", "logs"))
    for name in ("attacks", "adaptive", "robustness", "length", "seeds"):  # the per-target tables are needed
        src = FIXTURE / name
        if src.exists():
            shutil.rmtree(run / name, ignore_errors=True)
            shutil.copytree(src, run / name)
    assert migrate_run_paths.main([str(run)]) == 0
    shutil.rmtree(run / "attacks" / "cifar10" / HEADLINE_NUMERICS)
    return run


def _report(run: Path, **overrides) -> tuple[str, pd.DataFrame]:
    config = {**json.loads((FIXTURE / "config.json").read_text()), **overrides}
    section = get("papernot2016").section(config, run, run, ReportContext(run / "REPORT.md"))
    return section.markdown, pd.read_csv(run / "fig7.csv")


def test_float32_heads_the_table_and_a_dataset_without_it_is_not_measured(run):
    text, fig7 = _report(run)
    mnist, cifar = fig7[fig7.dataset == "mnist"], fig7[fig7.dataset == "cifar10"]
    assert (fig7.numerics == HEADLINE_NUMERICS).all()
    assert (cifar.verdict == NOT_MEASURED).all() and cifar.pooled_pct.isna().all()
    assert NOT_MEASURED not in set(mnist.verdict)
    # The rate is the float32 per-target tables' pooled rate.
    for _, r in mnist.iterrows():
        targets = pd.read_csv(run / "attacks" / "mnist" / HEADLINE_NUMERICS / "seed1234" / f"{r.model}.csv")
        assert r.pooled_pct == pytest.approx(100 * targets.success.mean())
    headline = text.split("## Headline")[1].split("\n## ")[0]
    assert f"with the `{HEADLINE_NUMERICS}` attack" in headline and "CIFAR10: not measured" in headline
    assert "the paper's implementation" not in text and "±10" not in text and "verdict_10pp" not in fig7


def test_cells_carry_the_clustered_comparison(run):
    text, fig7 = _report(run)
    m = fig7[fig7.dataset == "mnist"]
    for c in ("clustered_low_pct", "diff_pp", "diff_low_pp", "diff_high_pp", "mdd_higher_pp", "correct_pct"):
        assert m[c].notna().all() if c != "mdd_higher_pp" else m[c].notna().any(), c
    # Reproduced exactly when the difference's interval contains 0.
    inside = (m.diff_low_pp <= 0) & (m.diff_high_pp >= 0)
    assert ((m.verdict == "reproduced") == inside).all()
    assert "ours − paper pp [95% CI]" in text and "numerical spread" in text and "not measured" in text
    # The exact-arithmetic attack beside it, judged by the same rule, CIFAR-10 included.
    assert f"### The same cells under `{RETIRED_NUMERICS}` numerics" in text  # the fixture ran before the exact mode


def test_the_seeds_line_lists_the_seeds_that_ran(run):
    text, fig7 = _report(run)
    line = next(ln for ln in text.splitlines() if ln.startswith("- seeds that ran:"))
    assert "MNIST: one seed per cell (1234)" in line and "the config lists 1234, 1, 2" in line


def test_saturation_section_is_in_every_report(run):
    text, _ = _report(run)
    sat = text.split("## Saturation")[1].split("\n## ")[0]
    assert f"{CW2016_LOGIT_L1_UNDISTILLED:g}" in sat and f"{CW2016_LOGIT_L1_DISTILLED:g}" in sat
    assert "unconfirmed" in sat and "summed over the 10 logits or averaged" in sat
    grads = json.loads((run / "gradients" / "mnist" / "seed1234" / "distilled_T100.json").read_text())
    assert f"{grads['mean_logit_l1']:.1f}" in sat


def test_the_recipe_section_appears_when_the_study_is_enabled(run):
    off, _ = _report(run, recipe_study={"enabled": False})
    on, _ = _report(run, recipe_study={"enabled": True, "datasets": ["mnist"]})
    assert "What moves the cells" not in off
    assert "What moves the cells" in on and "has not run" in on
