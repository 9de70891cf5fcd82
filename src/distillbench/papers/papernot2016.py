"""Papernot et al. 2016 (defensive distillation, Fig. 7) on the seam, as a thin adapter.

Its jobs, rules (workflow/rules/{data,train,attack,report}.smk), plan (workflow_plan.Plan) and report section
(report.build_report) are still the ones written before the seam existed; this module only declares them, so
that the config's ``reproductions:`` list and ``snakemake papernot2016`` treat it like the other papers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import format_temperature
from .base import ModelId, Reproduction, Section


class Papernot2016(Reproduction):
    name = "papernot2016"
    title = "Papernot et al. 2016: defensive distillation, Fig. 7"
    citation = (
        'Papernot, McDaniel, Wu, Jha, Swami, "Distillation as a Defense to Adversarial Perturbations against '
        'Deep Neural Networks", IEEE S&P 2016'
    )
    seam_jobs = False  # built by the older rules; the config block is `datasets:`/`temperatures:`

    def datasets(self, config: Mapping[str, Any]) -> list[str]:
        return list(config["datasets"])

    def models(self, config: Mapping[str, Any]) -> list[ModelId]:
        """The deployed models as ModelIds (``baseline`` is the T=1 teacher). Paths still come from Plan."""
        out = []
        for d in config["datasets"]:
            arch = f"papernot_{d}"
            out.append(ModelId(self.name, d, "baseline", arch, "teacher", 1.0, int(config["seed"])))
            for t in config["temperatures"]:
                name = f"distilled_T{format_temperature(t)}"
                out.append(
                    ModelId(self.name, d, name, arch, "student", float(t), int(config["seed"]), f"teacher_T{t:g}")
                )
        return out

    def targets(self, config: Mapping[str, Any], results: str, work: str) -> list[str]:
        from ..workflow_plan import Plan

        plan = Plan(config)
        return [*plan.attack_summaries(), *plan.model_metrics(), *plan.gradient_summaries(), *plan.data_manifests()]

    def section(self, config: Mapping[str, Any], results_dir: Path, figures_dir: Path) -> Section:
        raise NotImplementedError("papernot2016's section is written by report.build_report (REPORT.md's head)")


REPRODUCTION = Papernot2016()
