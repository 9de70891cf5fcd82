"""Papernot 2016's report, prose: the headline and each section of its part of REPORT.md, as lines of markdown
(the numbers from report_data, the tables from report_tables)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ...report import (
    CONFIG_LINE,
    DATASET_TITLES,
    library_line,
    plural,
    provenance_lines,
)
from ...seeds import seeds_markdown
from ...seeds import settings_line as seeds_settings_line
from ...settings import epochs_for, format_temperature
from ...stats import HIGHER, LOWER, REPRODUCED, UNDER_TRAINED
from ...verdicts import INCONCLUSIVE, rule_text
from .reference import PaperReference
from .report_data import ReportData, compared_numerics, ordered_datasets, seed_rows
from .report_tables import (
    accuracy_markdown,
    attack_detail_markdown,
    fig7_markdown,
    gradient_markdown,
    misclassified_text,
    numerics_markdown,
)

NUMERICS_TEXT = {
    "exact": "pairs ranked by the gradient of log F_t in float64, equal to exact-arithmetic JSMA-F (beta = -alpha, "
    "so the best pair is the two largest dF_t/dx_i; F_t > 0 is a common factor): no underflow at any logit gap",
    "float32": "float32 network, beta differentiated by autograd (the softmax Jacobian as the frameworks of 2016 "
    "computed it); on a confident network that beta is -alpha plus rounding noise as large as alpha, so the last "
    "bits choose the pairs, and F_t underflows to exactly 0 sooner than in float64",
}


def _cells(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def headline(
    table: pd.DataFrame, comp: pd.DataFrame, profile: str, paper: PaperReference, labels: Mapping[str, str]
) -> list[str]:
    """The answer first, from the numbers: per dataset what reproduced, what did not and why."""
    out = ["## Headline", ""]
    if profile == "smoke":
        out.append(
            "**Smoke profile: these numbers test the plumbing only and mean nothing** (tiny subsets, one "
            "epoch, a few targets); the sections below show that every step ran."
        )
        out.append("")
    for d in list(dict.fromkeys(table.dataset)):
        out.append(_dataset_headline(d, table, comp, labels))
    return out


def _dataset_headline(d: str, table: pd.DataFrame, comp: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """One dataset's headline: what reproduced, what did not and why, and how far the other numerics move it."""
    t = table[table.dataset == d]
    title = DATASET_TITLES.get(d, d)
    n = len(t)
    under = t[t.verdict == UNDER_TRAINED]
    rep = t[t.verdict == REPRODUCED]
    higher = t[t.verdict == HIGHER]
    lower = t[t.verdict == LOWER]
    num = str(t.numerics.iloc[0]) if "numerics" in t else ""
    if len(under) == n:
        acc = _pct_range(t.test_accuracy_pct.min(), t.test_accuracy_pct.max(), 1)
        ref = t.paper_accuracy_pct.dropna()
        ref_txt = f"; the paper's: {_pct_range(ref.min(), ref.max(), 2)}" if len(ref) else ""
        return (
            f"- **{title}: not comparable.** All {n} models are under-trained (test accuracy {acc}"
            f"{ref_txt}), so their attack numbers measure untrained networks, not the defense."
        )
    parts = [f"{len(rep)} of {n} cells reproduce the paper's Fig. 7 with the `{num}` attack"]
    if len(higher):
        parts.append(
            f"the attack succeeds more often than the paper reports at {_cells([labels[m] for m in higher.model])}"
        )
    if len(lower):
        parts.append(f"less often at {_cells([labels[m] for m in lower.model])}")
    unsure = t[t.verdict == INCONCLUSIVE]
    if len(unsure):
        parts.append(f"inconclusive (seeds disagree) at {_cells([labels[m] for m in unsure.model])}")
    if len(under):
        names = _cells([labels[m] for m in under.model])
        parts.append(f"{plural(len(under), 'model')} under-trained ({names})")
    line = f"- **{title}**: " + "; ".join(parts) + "."
    c = comp[comp.dataset == d] if len(comp) else comp
    if len(c):
        other = str(c.other.iloc[0])
        c_rep = int((c.other_verdict == REPRODUCED).sum())
        big = c[c.shift_pp.abs() > 10]
        line += f" With the paper's `{other}` implementation instead, {c_rep} of {len(c)} reproduce"
        if len(big):
            worst = big.loc[big.shift_pp.abs().idxmax()]
            line += (
                f", and {plural(len(big), 'cell')} move by more than 10 pp (largest: "
                f"{labels[worst.model]}, {worst.main_pct:.1f}% → {worst.other_pct:.1f}%): the "
                f'measured defense depends on the attack\'s rounding (see "Attack numerics")'
            )
        line += "."
    return line


def title_lines(config: Mapping[str, Any], data: ReportData) -> list[str]:
    """The title, the headline and, for a profile other than the paper's, the warning that heads the report."""
    lines: list[str] = []
    add = lines.append
    profile = config.get("profile", "custom")
    add(f"# REPORT: {data.paper.citation}, Fig. 7")
    add("")
    add("Generated by the `report` rule of distillbench; do not edit by hand.")
    add("")
    for line in headline(data.table, data.comp, profile, data.paper, data.labels):
        add(line)
    add("")
    if profile != "paper":
        add(
            f"> **Profile `{profile}`: this is not the paper-scale run.** Training is cut short (see Settings), so "
            "the numbers below measure these models, not the paper's. Read every attack number next to its "
            "model's test accuracy."
        )
        add("")
    return lines


def provenance_section(
    config: Mapping[str, Any], data: ReportData, results_dir: Path, out: Path, config_files: list[str]
) -> list[str]:
    """``## Provenance``: commit, config files, hardware, libraries, the data's checksums, the summed wall time."""
    lines = ["## Provenance", ""]
    add = lines.append
    lines += provenance_lines(config, results_dir, out, config_files)
    devices = sorted({str(m.get("device")) for m in data.models.values() if m.get("device")})
    add(f"- devices used by training jobs: {', '.join(devices) or '–'}")
    add(library_line())
    add(CONFIG_LINE)
    for d, man in data.manifests.items():
        status = (
            "official (md5s match torchvision's)"
            if man["official"]
            else "**UNOFFICIAL copy** (md5s differ from the official release; accepted with "
            f"`verify_checksums: {{{d}: false}}`)"
            if isinstance(config.get("verify_checksums"), Mapping)
            else "**UNOFFICIAL copy** (md5s differ from the official release; accepted with `verify_checksums: false`)"
        )
        add(f"- data `{d}`: {status}, from `{man['data_dir']}`")
        if not man["official"]:
            for rel, info in man["files"].items():
                add(f"  - `{rel}`: md5 `{info['md5']}` (official `{info['official_md5']}`)")
    if len(data.walls):
        total = data.walls.seconds.sum()
        add(f"- wall time, summed over jobs (Snakemake `benchmark:` files): {total / 60:.1f} min; per rule below")
    add("")
    return lines


def settings_section(config: Mapping[str, Any], data: ReportData) -> list[str]:
    """``## Settings``: temperatures, seeds, the procedure, and each dataset's training and attack."""
    lines = ["## Settings", ""]
    add = lines.append
    temps = [format_temperature(t) for t in config["temperatures"]]
    add(f"- temperatures: {', '.join(temps)}; seed {config['seed']}")
    add(seeds_settings_line(config, DATASET_TITLES))
    add(
        "- procedure: teacher trained at T on hard labels (cross-entropy of softmax(Z/T)); soft labels = teacher's "
        "softmax(Z/T) on the training set; distilled network (same architecture, fresh initialisation) trained at T "
        "on them; deployed and attacked at T=1. **The undistilled baseline is the T=1 teacher**: cross-entropy of "
        "softmax(Z/1) on hard labels is ordinary training, so it is trained identically."
    )
    for d in ordered_datasets(config):
        lines += _dataset_settings(config, data, d, temps)
    add("")
    return lines


def _dataset_settings(config: Mapping[str, Any], data: ReportData, d: str, temps: list[str]) -> list[str]:
    """One dataset's settings line, with its training groups, warm start and attack."""
    lines: list[str] = []
    add = lines.append
    ds = config["datasets"][d]
    tr, at = ds["training"], ds["attack"]
    by_t = ", ".join(f"T={format_temperature(float(t))}: {epochs_for(tr, float(t))}" for t in temps)
    warm = int(tr.get("warm_start_epochs", 0))
    add(
        f"- **{DATASET_TITLES.get(d, d)}**: training subset {ds.get('train_subset') or 'all'}, "
        f"accuracy on {ds.get('test_subset') or 'all'} test images; SGD lr {tr['lr']}, momentum {tr['momentum']}, "
        f"batch {tr['batch_size']}, dropout {tr['dropout']} on FC layers, init `{tr['init']}`, "
        f"lr decay {tr.get('lr_decay') or 'none'}; epochs per model: {by_t}"
    )
    grouped = sorted(
        {int(m["trained_in_group"]) for (dd, _), m in data.models.items() if dd == d and m.get("trained_in_group")}
    )
    if grouped:
        add(
            f"  - trained in groups (`train_in_groups`): the networks of one role trained as one module in one "
            f"job ({' or '.join(map(str, grouped))} at a time, src/distillbench/group_training.py); each keeps its "
            "own initialisation, batches, temperature and targets, its dropout masks are other random draws "
            "than a per-network job's"
        )
    if warm:
        ws = data.models.get((d, "warm_start"), {})
        ws_acc = f" (its test accuracy: {100 * float(ws['test_accuracy']):.2f}%)" if "test_accuracy" in ws else ""
        add(
            f"  - **warm start, a deviation from the paper**: every teacher and distilled network of this "
            f"dataset starts from one shared checkpoint trained {warm} epoch(s) at T=1{ws_acc}, as in Carlini "
            "& Wagner's reproduction code; the paper names no warm start. Without it, high-T training sits on "
            "the chance plateau for epochs. Evidence: the accuracy each model reached, per T, in "
            '"Test accuracy of the deployed models" below.'
        )
    add(
        f"  - attack: `{at['variant']}`, numerics `{at.get('numerics', 'exact')}`"
        + (
            f" (also run: {', '.join(f'`{n}`' for n in compared_numerics(config, d))})"
            if compared_numerics(config, d)
            else ""
        )
        + f", first {at['samples']} test samples x {at.get('targets_per_sample', 9)} "
        f"target classes = {at['samples'] * at.get('targets_per_sample', 9)} targets per model "
        f"(paper: {data.paper.targets}), at most {at['max_features']} input elements changed"
    )
    return lines


def fig7_section(config: Mapping[str, Any], data: ReportData, results_dir: Path, figure: Path, out: Path) -> list[str]:
    """``## Fig. 7``: the table, the verdicts and how they are made, the seeds, how targets count, the figure."""
    table, paper, labels = data.table, data.paper, data.labels
    lines = ["## Fig. 7: success rate of JSMA adversarial samples", ""]
    add = lines.append
    add(
        "*ours %*, *95% CI*, *Δ pp* and *targets*: the first seed; *seeds*, *mean %*, *sd pp*, *min–max %* and "
        "*pooled 95% CI*: over every seed of the cell; *test acc %*: the first seed's; the verdict uses all seeds "
        '(see "How verdicts are made" below).'
    )
    add("")
    add(fig7_markdown(table, labels))
    add("")
    counts = table.verdict.value_counts()
    add("Verdicts: " + ", ".join(f"{v}: {n}" for v, n in counts.items()) + f" (of {len(table)} cells).")
    if "verdict_10pp" in table:
        changed = int((table.verdict != table.verdict_10pp).sum())
        add(
            f"The former rule (|ours − paper| ≤ {paper.success_tolerance_pp:g} pp, first seed only) would give a "
            f"different verdict for {changed} of {len(table)} cells (`verdict_10pp` in fig7.csv)."
        )
    add("")
    add("### How verdicts are made")
    add("")
    add(
        rule_text(data.rule)
        + " Rule and numbers: `src/distillbench/verdicts.py`, `benchmark/papernot2016/tolerances.yaml`."
    )
    add("")
    lines += _seeds_and_targets(config, data, results_dir, figure, out)
    return lines


def _seeds_and_targets(
    config: Mapping[str, Any], data: ReportData, results_dir: Path, figure: Path, out: Path
) -> list[str]:
    """Fig. 7's cells under several seeds, how targets are counted, and the figure."""
    lines: list[str] = []
    add = lines.append
    seed_md = seeds_markdown(seed_rows(config, results_dir), DATASET_TITLES, data.labels)
    if seed_md:
        add("### Cells under several seeds")
        add("")
        add(seed_md)
        add("")
    add(
        "How targets are counted: each of the first N test samples is paired with each class other than its **true** "
        "label. A sample the model already assigns to the target counts as a success with 0 features changed, as "
        "JSMA's loop stops at once; a success needs the target prediction with at most the budget of elements "
        "changed. Originally misclassified samples among those attacked: " + misclassified_text(data.table, data.labels)
    )
    add("")
    rel_fig = os.path.relpath(figure, out.parent if str(out.parent) else ".")
    add(f"![Fig. 7 replica]({rel_fig})")
    add("")
    add(
        "Dotted lines: the paper's values; solid: ours; dashed horizontal lines: undistilled baselines "
        "(ours dashed, the paper's dotted)."
    )
    add("")
    return lines


def numerics_section(data: ReportData) -> list[str]:
    """``## Attack numerics``: how far the cells move under the compared numerics (nothing without them)."""
    comp, table = data.comp, data.table
    if not len(comp):
        return []
    lines = ["## Attack numerics: how far the cells move", ""]
    add = lines.append
    used = sorted(set(table.numerics))
    add(
        "The Fig. 7 table above uses numerics "
        + ", ".join(f"`{n}`" for n in used)
        + ": "
        + "; ".join(f"`{n}`: {NUMERICS_TEXT.get(n, n)}" for n in used)
        + ". Beside it, the same targets "
        "attacked with "
        + ", ".join(f"`{n}`: {NUMERICS_TEXT.get(n, n)}" for n in sorted(set(comp.other)))
        + ". *same decision*: the share of targets with the same success under both; *same L0 and "
        "iterations*: also the same number of elements changed and pair iterations (a proxy for the same "
        "path); *no pair*: targets stopped because no admissible pair existed (e.g. an all-zero Jacobian)."
    )
    add("")
    add(numerics_markdown(comp, data.labels))
    add("")
    return lines


def gradients_section(data: ReportData) -> list[str]:
    """``## Input gradients per temperature`` (nothing when the run has no gradient summaries)."""
    grads = data.grads
    if not len(grads):
        return []
    lines = ["## Input gradients per temperature", ""]
    add = lines.append
    claim = data.paper.gradient_reduction_factor
    add(
        "What JSMA-F differentiates, at the clean inputs of the attack targets: per target the mean over input "
        "elements of |dF_t/dx| (F: the T=1 softmax), its median and its mean over targets (a few unsaturated "
        "targets dominate the mean), the mean's ratio to the undistilled baseline's, and the share of targets "
        "whose gradient is exactly "
        "zero everywhere (JSMA-F then has no admissible pair from the first step), in float32 and float64; "
        "with the median top-2 logit gap and the mean L1 norm of the logits, the saturation behind it"
        + (
            f". The paper's abstract: distillation reduces these gradients by a factor of 10^{math.log10(claim):.0f}."
            if claim
            else "."
        )
        + " A ratio of 0 means the mean is exactly zero (every gradient underflowed)."
    )
    add("")
    add(gradient_markdown(grads, data.labels))
    add("")
    return lines


def accuracy_section(data: ReportData) -> list[str]:
    """``## Test accuracy of the deployed models``, with the attack detail."""
    paper = data.paper
    lines = ["## Test accuracy of the deployed models", ""]
    add = lines.append
    conf = "" if paper.accuracy_confirmed else " The paper's accuracies are **unconfirmed** transcriptions."
    add(
        f"The paper reports accuracy for the baseline and for T=100 only; other temperatures are compared with the "
        f"baseline's value (the paper's Fig. 8 says accuracy varies by < ~1.4% across T).{conf}"
    )
    add("")
    add(accuracy_markdown(data.table, data.models, paper.accuracy_shortfall_pp, data.labels))
    add("")
    add(
        "Attack detail: mean elements changed by successful targets, and targets where JSMA stopped because no "
        "admissible pair existed (all saliency scores zero or of the wrong sign, e.g. when the softmax saturates):"
    )
    add("")
    add(attack_detail_markdown(data.table, data.labels))
    add("")
    return lines


def _pct_range(lo: float, hi: float, digits: int) -> str:
    """``lo–hi%``, or one number where both print the same."""
    a, b = f"{lo:.{digits}f}", f"{hi:.{digits}f}"
    return f"{a}%" if a == b else f"{a}–{b}%"
