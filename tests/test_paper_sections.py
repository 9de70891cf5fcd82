"""Hinton 2015 and Ba & Caruana 2014 sections: the bias shift chosen on the test set as the paper chose it,
claims judged only when testable, and every reference value carrying its status into the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
import yaml

from distillbench.config import load_config
from distillbench.papers import get, references
from distillbench.papers.ba_caruana2014 import student_name
from distillbench.papers.hinton2015 import NOT_JUDGED, bias_shift_sweep, chosen_shift, shift_grid
from distillbench.papers.train import evaluate

PAPERS = ("hinton2015", "ba_caruana2014")


@pytest.fixture(scope="module")
def cpu_cfg(repo_root):
    return load_config(repo_root / "config" / "cpu.yaml", check_device=False)


def _reference(repo_root: Path, paper: str) -> Any:
    return yaml.safe_load((repo_root / "benchmark" / paper / "reference.yaml").read_text())


# --- reference values and their status -------------------------------------------------------------------------
def _loose_numbers(tree: Any, path: str = "") -> list[str]:
    """Numbers of a reference file that sit outside a {value, status} entry (the tolerance is ours, not the paper's)."""
    if isinstance(tree, dict):
        if "value" in tree or path == "tolerance":
            return []
        return [p for k, v in tree.items() for p in _loose_numbers(v, f"{path}.{k}" if path else str(k))]
    if isinstance(tree, list):
        return [p for i, v in enumerate(tree) for p in _loose_numbers(v, f"{path}.{i}")]
    return [path] if isinstance(tree, int | float) and not isinstance(tree, bool) else []


@pytest.mark.parametrize("paper", PAPERS)
def test_every_reference_value_has_a_status(repo_root, paper):
    tree = _reference(repo_root, paper)
    assert len(list(references.entries(tree))) >= 10
    assert references.problems(tree, paper) == []
    assert _loose_numbers(tree) == []


def test_carlini_reference_values_have_a_status(repo_root):
    tree = _reference(repo_root, "carlini2017")
    for e in [*tree["references"], tree["robustness"]]:
        assert e["status"] in references.STATUSES
        assert e["status"] == references.CONFIRMED or e["reason"].strip()


@pytest.mark.parametrize("paper", (*PAPERS, "carlini2017"))
def test_reference_files_cite_nothing_outside_the_repository(repo_root, paper):
    text = (repo_root / "benchmark" / paper / "reference.yaml").read_text()
    assert "facts.md" not in text and "../" not in text


def test_reference_problems_name_the_entry_and_the_fix():
    tree = {
        "a": {"value": 1, "status": "confirmed", "source": "§3"},
        "b": [{"value": 2, "status": "maybe"}, {"value": 3, "status": "unconfirmed", "reason": " "}],
        "c": {"value": 4, "status": "confirmed"},
    }
    assert references.problems(tree, "x.yaml") == [
        "x.yaml: 'b.0' has status 'maybe'; fix: set status to confirmed or unconfirmed",
        "x.yaml: 'b.1' is unconfirmed without a reason; fix: add a one-line reason",
        "x.yaml: 'c' is confirmed without a source; fix: add where the paper states it",
    ]
    assert references.shown(tree["a"]) == "1" and references.shown(tree["b"][1], "{:.1f}") == "3.0 (unconfirmed)"
    assert references.shown(None) == "–"


# --- the bias shift --------------------------------------------------------------------------------------------
def _margins_case(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[float], list[float]]:
    """Logits where class 3's logit trails: a 3 is right once the shift exceeds its margin d; another image is
    wrong once the shift exceeds its margin e over class 3 (margins off the grid's points, so no exact ties)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 9, (400,), generator=g)
    labels[labels >= 3] += 1  # no 3 among the others
    labels[:60] = 3
    logits = torch.randn(400, 10, generator=g) - 20.0
    d = (torch.rand(60, generator=g) * 6 + 0.05).tolist()
    e = (torch.rand(340, generator=g) * 12 + 4.25).tolist()  # the fewest errors lie between 0 and 10
    for i in range(400):
        y = int(labels[i])
        if y == 3:
            logits[i, (y + 1) % 10] = 10.0  # the winning wrong class
            logits[i, 3] = 10.0 - d[i]
        else:
            logits[i, y] = 10.0
            logits[i, 3] = 10.0 - e[i - 60]
    return logits, labels, d, e


def test_sweep_counts_errors_as_the_margins_say():
    logits, labels, d, e = _margins_case()
    grid = shift_grid()
    sweep = bias_shift_sweep(logits, labels, 3, grid)
    expected = [sum(x > s for x in d) + sum(x < s for x in e) for s in grid]
    assert sweep["errors"] == expected
    assert sweep["errors_on_class"] == [sum(x > s for x in d) for s in grid]
    best = min(expected)
    c = chosen_shift(sweep)
    assert c["errors"] == best and c["shift"] == grid[expected.index(best)]
    assert 0 < c["shift"] < grid[-1] and c["shift"] != 3.5 and not c["at_edge"]
    assert c["tied"] == [s for s, n in zip(grid, expected, strict=True) if n == best]


def test_sweep_agrees_with_the_evaluation_at_the_papers_shift():
    logits, labels, _, _ = _margins_case(1)
    grid = shift_grid()
    assert 3.5 in grid and grid[0] == 0.0 and len(grid) == len(set(grid))
    sweep = bias_shift_sweep(logits, labels, 3, grid)
    at = evaluate(logits, labels, {"3": 3.5})
    i = grid.index(3.5)
    assert sweep["errors"][i] == at["errors_after_bias_shift"]
    assert sweep["errors_on_class"][i] == at["errors_by_class_after_bias_shift"]["3"]
    assert sweep["errors"][0] == at["errors"]


def test_ties_take_the_smallest_shift():
    sweep = {"shifts": [0.0, 0.5, 1.0, 1.5], "errors": [9, 4, 4, 7], "errors_on_class": [5, 2, 1, 0]}
    assert chosen_shift(sweep) == {
        "shift": 0.5,
        "errors": 4,
        "errors_on_class": 2,
        "tied": [0.5, 1.0],
        "at_edge": False,
    }


def test_only_the_student_without_a_class_gets_a_sweep(cpu_cfg):
    hinton = get("hinton2015")
    jobs = {j.model.name: j for j in hinton.jobs(cpu_cfg)}
    logits, labels, _, _ = _margins_case()
    assert hinton.logit_metrics(jobs["student_distilled"], logits, labels) == {}
    sweep = hinton.logit_metrics(jobs["student_distilled_omit"], logits, labels)["bias_shift_sweep"]
    assert sweep["class"] == 3 and sweep["shifts"] == shift_grid()
    ba = get("ba_caruana2014")
    assert ba.logit_metrics(ba.jobs(cpu_cfg)[0], logits, labels) == {}


# --- Hinton's section --------------------------------------------------------------------------------------------
def _hinton_run(cfg, results: Path, errors: dict[str, int], sweep: bool = True) -> None:
    """Metrics as the training command writes them: the errors per model, the omitted student's from logits."""
    hinton = get("hinton2015")
    logits, labels, _, _ = _margins_case()
    for job in hinton.jobs(cfg):
        m: dict[str, Any] = {"test_samples": 10000, "errors": errors.get(job.model.name, 0), "train_samples": 60000}
        m.update(device="cpu", history=[], test_by_class={str(k): 1000 for k in range(10)})
        m["errors_by_class"] = {str(k): 0 for k in range(10)}
        if job.omit_classes:  # a 400-image case: its counts stand in for the test set's
            m.update(evaluate(logits, labels, dict(job.bias_shift)))
            if sweep:
                m.update(hinton.logit_metrics(job, logits, labels))
        path = Path(job.model.metrics(str(results)))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(m))


def _claim(markdown: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith("The paper's claim"))


def test_transfer_claim_is_not_testable_when_the_teacher_is_no_better(cpu_cfg, tmp_path):
    _hinton_run(cpu_cfg, tmp_path, {"teacher": 173, "student_hard": 159, "student_distilled": 180})
    claim = _claim(get("hinton2015").section(cpu_cfg, tmp_path, tmp_path / "fig").markdown)
    assert "**not testable**" in claim and "hold" not in claim
    assert "teacher 173, small net alone 159, distilled 180 per 10,000" in claim


@pytest.mark.parametrize(("distilled", "verdict"), [(100, "**holds**"), (170, "**does not hold**")])
def test_transfer_claim_is_judged_when_the_teacher_is_better(cpu_cfg, tmp_path, distilled, verdict):
    _hinton_run(cpu_cfg, tmp_path, {"teacher": 70, "student_hard": 159, "student_distilled": distilled})
    claim = _claim(get("hinton2015").section(cpu_cfg, tmp_path, tmp_path / "fig").markdown)
    assert verdict in claim and "not testable" not in claim


def test_section_reports_the_chosen_shift_and_the_papers(cpu_cfg, tmp_path):
    _hinton_run(cpu_cfg, tmp_path, {"teacher": 70, "student_hard": 159, "student_distilled": 100})
    section = get("hinton2015").section(cpu_cfg, tmp_path, tmp_path / "fig")
    logits, labels, _, _ = _margins_case()
    c = chosen_shift(bias_shift_sweep(logits, labels, 3, shift_grid()))
    at = evaluate(logits, labels, {"3": 3.5})
    t = section.table[section.table.model == "student_distilled_omit"].set_index(["shift_kind", "evaluated_on"])
    chosen, fixed = t.loc[("chosen on the test set", "test set")], t.loc[("fixed", "test set")]
    assert (chosen.bias_shift, chosen.ours_errors, chosen.paper_errors) == (c["shift"], c["errors"], 109)
    assert chosen.verdict != NOT_JUDGED and fixed.verdict == NOT_JUDGED and pd.isna(fixed.paper_errors)
    assert (fixed.bias_shift, fixed.ours_errors) == (3.5, at["errors_after_bias_shift"])
    assert t.loc[("chosen on the test set", "test 3s")].ours_errors == c["errors_on_class"]
    text = next(line for line in section.markdown.splitlines() if line.startswith("Bias shift of class 3"))
    assert f"Chosen: **+{c['shift']:g}**, {c['errors']} errors ({c['errors_on_class']} on 3s)" in text
    assert f"At the paper's +3.5: {at['errors_after_bias_shift']} errors" in text
    assert "chosen on the test set, as the paper did" in text and "optimistic by construction" in text
    assert len(c["tied"]) > 1 and f"{len(c['tied'])} shifts of the grid tie, from +{c['tied'][0]:g}" in text


def test_section_of_a_run_without_a_sweep_says_so(cpu_cfg, tmp_path):
    _hinton_run(cpu_cfg, tmp_path, {"teacher": 70, "student_hard": 159, "student_distilled": 100}, sweep=False)
    section = get("hinton2015").section(cpu_cfg, tmp_path, tmp_path / "fig")
    assert "record no sweep of the shift" in section.markdown
    fixed = section.table[(section.table.shift_kind == "fixed") & (section.table.evaluated_on == "test set")]
    assert list(fixed.paper_errors) == [109] and NOT_JUDGED not in set(section.table.verdict)


def test_unconfirmed_hinton_values_render_as_such(cpu_cfg, tmp_path, monkeypatch):
    hinton = get("hinton2015")
    ref = hinton.reference()
    ref["errors"]["teacher"] = {"value": 67, "status": "unconfirmed", "reason": "test"}
    monkeypatch.setattr(type(hinton), "reference", lambda self: ref)
    _hinton_run(cpu_cfg, tmp_path, {"teacher": 70, "student_hard": 159, "student_distilled": 100})
    md = hinton.section(cpu_cfg, tmp_path, tmp_path / "fig").markdown
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    teacher = next(r for r in rows if r.startswith("| teacher"))
    assert "67 / 10000 (unconfirmed)" in teacher and "67 (unconfirmed)" in teacher
    assert sum("(unconfirmed)" in r for r in rows) == 1
    assert "unconfirmed: errors.teacher, marked below" in md and "teacher 67 (unconfirmed)" in _claim(md)


# --- Ba & Caruana's section ------------------------------------------------------------------------------------
def _ba_run(cfg, results: Path, teacher_errors: int, errors: dict[str, int]) -> None:
    for job in get("ba_caruana2014").jobs(cfg):
        n = errors.get(job.model.name, teacher_errors)
        m = {"test_samples": 10000, "errors": n, "parameters": 1000, "history": []}
        path = Path(job.model.metrics(str(results)))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(m))


def _ba_claims(cfg, results: Path) -> list[str]:
    md = get("ba_caruana2014").section(cfg, results, results / "fig").markdown
    return [line for line in md.splitlines() if line.startswith("- *")]


def test_ba_claims_are_not_testable_when_shallow_nets_on_labels_beat_the_teacher(cpu_cfg, tmp_path):
    w = cpu_cfg["ba_caruana2014"]["widths"]
    errors = {student_name(x, loss): 100 for x in w for loss in ("hard", "soft", "mimic")}
    _ba_run(cpu_cfg, tmp_path, 200, errors)
    claims = _ba_claims(cpu_cfg, tmp_path)
    assert len(claims) == 2 and all("**not testable**" in c and "hold" not in c for c in claims)


def test_ba_claims_are_judged_at_the_testable_widths(cpu_cfg, tmp_path):
    w = sorted(cpu_cfg["ba_caruana2014"]["widths"])
    errors = {student_name(x, "hard"): 300 for x in w} | {student_name(x, "soft"): 250 for x in w}
    errors |= {student_name(x, "mimic"): 150 for x in w}
    errors[student_name(w[0], "hard")] = 90  # better than the teacher: that width is not testable
    _ba_run(cpu_cfg, tmp_path, 100, errors)
    beats, matches = _ba_claims(cpu_cfg, tmp_path)
    assert f"mimic better at {len(w) - 1} of {len(w) - 1} testable widths (1 of {len(w)} widths not" in beats
    assert "**holds**" in beats
    assert "**not testable**" in matches  # a net on labels (99.10%) is within 1 pp of the teacher (99.00%)


def test_ba_unconfirmed_values_render_as_such(cpu_cfg, tmp_path, repo_root):
    _ba_run(cpu_cfg, tmp_path, 100, {})
    md = get("ba_caruana2014").section(cpu_cfg, tmp_path, tmp_path / "fig").markdown
    ref = _reference(repo_root, "ba_caruana2014")
    for table in ref["tables"].values():
        for row in table["rows"]:
            line = next(line for line in md.splitlines() if line.startswith(f"| {row['model']} "))
            assert f"{row['value']:.1f} (unconfirmed)" in line and row["reason"] in line


def test_a_minimum_at_the_grids_edge_is_flagged(cpu_cfg, tmp_path):
    _hinton_run(cpu_cfg, tmp_path, {"teacher": 70, "student_hard": 159, "student_distilled": 100})
    job = next(j for j in get("hinton2015").jobs(cpu_cfg) if j.omit_classes)
    path = Path(job.model.metrics(str(tmp_path)))
    m = json.loads(path.read_text())
    n = len(m["bias_shift_sweep"]["shifts"])
    m["bias_shift_sweep"]["errors"] = list(range(n + 50, 50, -1))  # fewer errors the larger the shift
    path.write_text(json.dumps(m))
    md = get("hinton2015").section(cpu_cfg, tmp_path, tmp_path / "fig").markdown
    assert f"Chosen: **+{shift_grid()[-1]:g}**, 51 errors" in md and "grid's upper edge" in md
    _hinton_run(cpu_cfg, tmp_path, {"teacher": 70, "student_hard": 159, "student_distilled": 100})
    assert "upper edge" not in get("hinton2015").section(cpu_cfg, tmp_path, tmp_path / "fig").markdown
