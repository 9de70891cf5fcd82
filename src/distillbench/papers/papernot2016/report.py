"""Papernot 2016's part of REPORT.md, which heads it: the Fig. 7 table, a seaborn replica of the figure, the
numerics comparison, gradients, accuracies, the adaptive attacks, seeds, training length and the conclusion.

By concern: loading and statistics (:mod:`.report_data`), figures (:mod:`.report_figures`), tables
(:mod:`.report_tables`), prose (:mod:`.report_prose`), the adaptive attacks' sections (:mod:`.adaptive_report`);
this module puts them together. What all reports share (provenance, wall time, formatting) is in
:mod:`distillbench.report`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ...conclusion import conclusion_lines
from ...io import write_csv
from ...length_study import report_section as length_report_section
from ...report import DATASET_TITLES, wall_time_lines, write_run_config
from ..base import ReportContext, ReportFile, Section
from .adaptive_report import adaptive_rows, adaptive_table, load_references
from .adaptive_report import sections as adaptive_sections
from .recipe_report import recipe_section
from .recipe_study import datasets as recipe_datasets
from .reference import PaperReference, load_paper
from .report_data import ReportData, load, ordered_datasets
from .report_figures import plot_fig7
from .report_prose import (
    accuracy_section,
    fig7_section,
    gradients_section,
    numerics_section,
    provenance_section,
    settings_section,
    title_lines,
)
from .report_saturation import saturation_section


def report_inputs(config: Mapping[str, Any]) -> list[str]:
    """Every file this paper's part of the report reads (the report rule's inputs)."""
    from .plan import Plan
    from .recipe_study import RecipePlan

    plan = Plan(config)
    recipe = RecipePlan(config, plan.results, plan.work) if recipe_datasets(config) else None
    return [
        *plan.attack_summaries(),
        *plan.model_metrics(),
        *plan.gradient_summaries(),
        *plan.adaptive_summaries(),
        *plan.robustness_summaries(),
        *plan.data_manifests(),
        *plan.seed_attack_summaries(),  # further seeds
        *plan.length_outputs(),  # training-length study
        *(recipe.outputs() if recipe else []),  # recipe-sensitivity study, where enabled
    ]


# Written beside REPORT.md, with their captions for Snakemake's HTML report (workflow/report/).
REPORT_FILES = {
    "figure": ("fig7.png", "fig7.rst", "Fig. 7"),
    "table": ("fig7.csv", "fig7_table.rst", "Fig. 7"),
    "numerics": ("numerics.csv", "numerics.rst", "Attack numerics"),
    "gradients": ("gradients.csv", "gradients.rst", "Input gradients"),
    "adaptive": ("adaptive.png", "adaptive.rst", "Adaptive attacks"),
    "adaptive_table": ("adaptive.csv", "adaptive_table.rst", "Adaptive attacks"),
    "robustness": ("robustness.png", "robustness.rst", "Robustness"),
    "robustness_table": ("robustness.csv", "robustness_table.rst", "Robustness"),
    "accuracy": ("accuracy.png", "accuracy.rst", "Accuracy"),
    "accuracy_table": ("accuracy.csv", "accuracy_table.rst", "Accuracy"),
}


def report_files(results: str) -> dict[str, ReportFile]:
    return {k: ReportFile(f"{results}/{f}", f"../report/{c}", cat) for k, (f, c, cat) in REPORT_FILES.items()}


def section(
    config: Mapping[str, Any], results_dir: Path, figures_dir: Path, context: ReportContext | None = None
) -> Section:
    """This paper's part of REPORT.md, which heads it; its figures go to ``figures_dir`` (the results folder)."""
    context = context or ReportContext(results_dir / "REPORT.md")
    figure = figures_dir / "fig7.png"
    text, table = document(
        config, results_dir, context.out, figure, results_dir / "fig7.csv", list(context.config_files)
    )
    names = ("fig7.png", "adaptive.png", "robustness.png", "accuracy.png")
    return Section(text, table, [figures_dir / n for n in names if (figures_dir / n).exists()])


def document(
    config: Mapping[str, Any],
    results_dir: Path,
    out: Path,
    figure: Path,
    table_path: Path,
    config_files: list[str] | None = None,
    paper: PaperReference | None = None,
    adaptive: pd.DataFrame | None = None,
) -> tuple[str, pd.DataFrame]:
    """REPORT.md's text (for ``out``), writing the Fig. 7 figure and tables; ``adaptive``: rows of the adaptive
    attacks' JSON summaries (conclusion.ADAPTIVE_COLUMNS), used by the conclusion when given."""
    data = load(config, results_dir, paper or load_paper())
    write_tables(config, data, results_dir, figure, table_path)
    lines = title_lines(config, data)
    lines += provenance_section(config, data, results_dir, out, config_files or [])
    lines += settings_section(config, data)
    lines += fig7_section(config, data, results_dir, figure, out)
    lines += numerics_section(data)
    lines += gradients_section(data)
    lines += saturation_section(config, results_dir, ordered_datasets(config), data.labels)
    lines += adaptive_sections(config, results_dir, table_path, data.paper, out.parent)
    lines += accuracy_section(data)
    length_lines, length_sentence = length_report_section(config, results_dir, out, data.paper, DATASET_TITLES)
    lines += length_lines
    recipe = recipe_section(config, results_dir)
    if recipe:
        lines += [recipe]
    if adaptive is None:  # the adaptive attacks of this run (adaptive_report), for the conclusion
        adaptive = adaptive_rows(adaptive_table(config, results_dir, data.paper, load_references()))
    lines += conclusion_lines(
        data.table, adaptive, titles=DATASET_TITLES, length_sentence=length_sentence, diagnostics=data.others
    )
    lines += wall_time_lines(data.walls)
    return "\n".join(lines) + "\n", data.table


def write_tables(
    config: Mapping[str, Any], data: ReportData, results_dir: Path, figure: Path, table_path: Path
) -> None:
    """The Fig. 7 table and figure, the numerics and gradient tables and the run's resolved config."""
    write_csv(table_path, data.table)
    plot_fig7(data.table, figure, data.paper, data.others)
    write_run_config(results_dir, config)
    write_csv(table_path.with_name("numerics.csv"), data.comp)
    write_csv(table_path.with_name("gradients.csv"), data.grads)
