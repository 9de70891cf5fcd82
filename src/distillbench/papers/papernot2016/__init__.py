"""Papernot et al. 2016 (defensive distillation, Fig. 7) on the seam.

Everything specific to this paper lives in this package: its models (:mod:`.models`, ModelIds: the one place
that names them), its plan of paths and job lists (:mod:`.plan`, used by the Snakefile and its rules in
workflow/rules/{train,attack,adaptive,length,report}.smk), its reference values (:mod:`.reference`, data under
benchmark/papernot2016/), its checks of the ``datasets:`` block (:mod:`.config_checks`) and its part of
REPORT.md (:mod:`.report`, :mod:`.adaptive_report`). Its networks train on the one training loop (training.py;
several per process with ``train_in_groups``: group_training.py) and are saved in the one checkpoint format
(checkpoints.py), like every paper's; they train as a chain (a shared warm start, teachers, soft labels at T,
students, once per seed), which its own rules express, so it declares no jobs for the one-model-per-job
``paper_train`` rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..base import ModelId, ReportContext, ReportFile, Reproduction, Section
from . import models as papernot_models


class Papernot2016(Reproduction):
    name = "papernot2016"
    title = "Papernot et al. 2016: defensive distillation, Fig. 7"
    citation = (
        'Papernot, McDaniel, Wu, Jha, Swami, "Distillation as a Defense to Adversarial Perturbations against '
        'Deep Neural Networks", IEEE S&P 2016'
    )
    heads_report = True  # its part is REPORT.md's title, provenance, Fig. 7 ... and wall times

    def datasets(self, config: Mapping[str, Any]) -> list[str]:
        return list(config["datasets"])

    def top_level_problems(self, config: Mapping[str, Any]) -> list[str]:
        """The ``datasets:`` block's budgets, sample counts and subsets against each dataset's size."""
        from .config_checks import dataset_size_problems

        return dataset_size_problems(config)

    def coerce_command_line(self, config: dict[str, Any]) -> dict[str, Any]:
        """``recipe_study``'s booleans and numbers given as strings on the command line."""
        if not isinstance(config.get("recipe_study"), Mapping):
            return config
        from .recipe_study import coerce_command_line

        return {**config, "recipe_study": coerce_command_line(config["recipe_study"])}

    def models(self, config: Mapping[str, Any]) -> list[ModelId]:
        """The deployed models as ModelIds (``baseline`` is trained as the T=1 teacher), per dataset."""
        return [m for d in config["datasets"] for m in papernot_models.deployed(config, d)]

    def targets(self, config: Mapping[str, Any], results: str, work: str) -> list[str]:
        from .plan import Plan

        plan = Plan(config)
        return [*plan.attack_summaries(), *plan.model_metrics(), *plan.gradient_summaries(), *plan.data_manifests()]

    def report_inputs(self, config: Mapping[str, Any], results: str, work: str) -> list[str]:
        from .report import report_inputs

        return report_inputs(config)

    def report_files(self, results: str) -> dict[str, ReportFile]:
        from .report import report_files

        return report_files(results)

    def section(
        self, config: Mapping[str, Any], results_dir: Path, figures_dir: Path, context: ReportContext | None = None
    ) -> Section:
        """REPORT.md's head: Fig. 7 and every study of this paper (written beside it: figures and CSV tables)."""
        from .report import section

        return section(config, results_dir, figures_dir, context)


REPRODUCTION = Papernot2016()
