"""Hinton, Vinyals & Dean 2015, "Distilling the knowledge in a neural network", Section 3 (MNIST).

Jobs: a 2x1200 ReLU teacher with dropout on jittered images; a 2x800 student without regularisation on hard
labels; the same student distilled at T from the teacher's logits (soft-target loss x T^2 plus the hard-label
term); optionally the distilled student with one class (3) left out of its transfer set, evaluated also after
raising that class's bias. Report: test errors beside the paper's, with 95% Wilson intervals and verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..stats import REPRODUCED, verdict
from .base import Job, ModelId, ReportContext, Reproduction, Section, job_seed
from .common import (
    SUBSET,
    errors_ci,
    md,
    optimiser_fields,
    profile_note,
    read_json,
    regularisation_fields,
    subset_fields,
    training_schema,
    wall_seconds,
)

NAME = "hinton2015"
TEACHER = "teacher"
STUDENT = "student_hard"
DISTILLED = "student_distilled"
OMITTED = "student_distilled_omit"


def _label(name: str, block: Mapping[str, Any]) -> str:
    t = f"{float(block['temperature']):g}"
    return {
        TEACHER: f"teacher {'x'.join(map(str, block['teacher']['widths']))}, dropout, jitter",
        STUDENT: f"student {'x'.join(map(str, block['student']['widths']))}, hard labels",
        DISTILLED: f"student distilled at T={t}",
        OMITTED: f"student distilled at T={t}, no {block.get('omit_class')}s in transfer set",
    }[name]


class Hinton2015(Reproduction):
    name = NAME
    title = "Hinton, Vinyals & Dean 2015: knowledge distillation on MNIST"
    citation = 'Hinton, Vinyals, Dean, "Distilling the Knowledge in a Neural Network" (arXiv:1503.02531, 2015), §3'
    block_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "dataset": {"enum": ["mnist"], "description": "mnist (the paper's dataset)"},
            "train_subset": SUBSET,
            "test_subset": SUBSET,
            "temperature": {"type": "number", "exclusiveMinimum": 0, "description": "a positive T, e.g. 20"},
            "alpha": {"type": "number", "minimum": 0, "maximum": 1, "description": "the soft term's weight, 0 to 1"},
            "omit_class": {"type": ["integer", "null"], "minimum": 0, "maximum": 9, "description": "null or 0-9"},
            "bias_shift": {"type": "number", "description": "added to the omitted class's logit, e.g. 3.5"},
            "teacher": training_schema(regularised=True),
            "student": training_schema(),
        },
    }
    # The cpu-scale settings; config/config.yaml gives the paper profile's.
    defaults = {
        "dataset": "mnist",
        "train_subset": None,
        "test_subset": None,
        "temperature": 20,
        "alpha": 0.9,
        "omit_class": 3,
        "bias_shift": 3.5,
        "teacher": {
            "widths": [1200, 1200],
            "dropout": 0.5,
            "input_dropout": 0.2,
            "jitter": 2,
            "max_norm": None,
            "epochs": 10,
            "lr": 0.05,
            "momentum": 0.9,
            "batch_size": 100,
            "lr_decay": 0.95,
            "init": "pytorch_default",
        },
        "student": {
            "widths": [800, 800],
            "epochs": 10,
            "lr": 0.05,
            "momentum": 0.9,
            "batch_size": 100,
            "lr_decay": 0.95,
            "init": "pytorch_default",
        },
    }

    def jobs(self, config: Mapping[str, Any]) -> list[Job]:
        b = self.block(config)
        ds, t, seed = b["dataset"], float(b["temperature"]), int(config["seed"])
        te, st = b["teacher"], b["student"]
        subsets = subset_fields(b)

        def mid(name: str, role: str, temperature: float = 1.0, teacher: str | None = None) -> ModelId:
            return ModelId(NAME, ds, name, "mlp", role, temperature, job_seed(seed, NAME, name), teacher)

        def student(name: str, loss: str, temperature: float, teacher: str | None, **extra: Any) -> Job:
            return Job(
                mid(name, "student", temperature, teacher),
                loss=loss,
                alpha=float(b["alpha"]),
                widths=tuple(st["widths"]),
                **optimiser_fields(st),
                **subsets,
                **extra,
            )

        jobs = [
            Job(
                mid(TEACHER, "teacher"),
                loss="hard",
                widths=tuple(te["widths"]),
                **regularisation_fields(te),
                **optimiser_fields(te),
                **subsets,
            ),
            student(STUDENT, "hard", 1.0, None),
            student(DISTILLED, "hinton", t, TEACHER),
        ]
        if b.get("omit_class") is not None:
            k = int(b["omit_class"])
            jobs.append(
                student(OMITTED, "hinton", t, TEACHER, omit_classes=(k,), bias_shift={str(k): float(b["bias_shift"])})
            )
        return jobs

    def reference(self) -> dict[str, Any]:
        return yaml.safe_load((self.reference_dir / "reference.yaml").read_text())

    def collect(self, config: Mapping[str, Any], results_dir: Path) -> pd.DataFrame:
        """One row per reported number: ours (errors of the test images) beside the paper's (of 10,000)."""
        b = self.block(config)
        ref = self.reference()
        tol_pp = float(ref["tolerance"]["errors_per_10000"]) / 100.0
        rows = []

        def row(model: str, what: str, errors: int, n: int, paper: int | None, paper_n: int, extra: str = "") -> None:
            lo, hi = errors_ci(errors, n)
            ours_pct, paper_pct = 100.0 * errors / n, (None if paper is None else 100.0 * paper / paper_n)
            rows.append(
                {
                    "model": model,
                    "evaluated_on": what,
                    "label": _label(model, b) + extra,
                    "paper_errors": paper,
                    "paper_of": paper_n,
                    "ours_errors": errors,
                    "ours_of": n,
                    "ci95_low": lo,
                    "ci95_high": hi,
                    "ours_per_10000": 10000.0 * errors / n,
                    "paper_per_10000": None if paper is None else 10000.0 * paper / paper_n,
                    "verdict": verdict(paper_pct, ours_pct, (100 * lo / n, 100 * hi / n), tol_pp),
                }
            )

        for job in self.jobs(config):
            m = read_json(Path(job.model.metrics(str(results_dir))))
            n = int(m["test_samples"])
            paper = ref["errors"].get(job.model.name)
            row(job.model.name, "test set", int(m["errors"]), n, paper, int(ref["test_images"]))
            if job.omit_classes:
                k = str(job.omit_classes[0])
                om = ref["omitted"]
                same = int(k) == int(om["class"])
                n_k = int(m["test_by_class"][k])
                row(
                    job.model.name,
                    f"test {k}s",
                    int(m["errors_by_class"][k]),
                    n_k,
                    om["errors_on_class"] if same else None,
                    int(om["class_test_images"]),
                )
                shift = f", bias of {k} +{float(b['bias_shift']):g}"
                row(
                    job.model.name,
                    "test set",
                    int(m["errors_after_bias_shift"]),
                    n,
                    om["errors_after_bias_shift"] if same else None,
                    int(ref["test_images"]),
                    shift,
                )
                row(
                    job.model.name,
                    f"test {k}s",
                    int(m["errors_by_class_after_bias_shift"][k]),
                    n_k,
                    om["errors_on_class_after_bias_shift"] if same else None,
                    int(om["class_test_images"]),
                    shift,
                )
        return pd.DataFrame(rows)

    def section(
        self, config: Mapping[str, Any], results_dir: Path, figures_dir: Path, context: ReportContext | None = None
    ) -> Section:
        b = self.block(config)
        ref = self.reference()
        table = self.collect(config, results_dir)
        lines = [f"## {self.title}", ""]
        note = profile_note(config)
        if note:
            lines += [note, ""]
        lines.append(f"Paper: {ref['citation']}. Reference values: `benchmark/{NAME}/reference.yaml`.")
        lines.append("")
        view = pd.DataFrame(
            {
                "model": table.label,
                "evaluated on": table.evaluated_on,
                "paper errors": [
                    "–" if p is None or pd.isna(p) else f"{int(p)} / {int(n)}"
                    for p, n in zip(table.paper_errors, table.paper_of, strict=True)
                ],
                "ours errors": [f"{e} / {n}" for e, n in zip(table.ours_errors, table.ours_of, strict=True)],
                "ours per 10,000 (95% CI)": [
                    f"{10000 * e / n:.0f} ({10000 * lo / n:.0f}–{10000 * hi / n:.0f})"
                    for e, n, lo, hi in zip(
                        table.ours_errors, table.ours_of, table.ci95_low, table.ci95_high, strict=True
                    )
                ],
                "paper per 10,000": table.paper_per_10000.map(lambda v: "–" if v is None or pd.isna(v) else f"{v:.0f}"),
                "verdict": table.verdict,
            }
        )
        lines += [md(view), ""]
        tol = ref["tolerance"]["errors_per_10000"]
        lines.append(
            f"Verdict: *{REPRODUCED}* when our error rate is within {tol} errors per 10,000 of the paper's or the "
            "paper's rate lies in our 95% Wilson interval (errors are binomial counts over the test images); "
            "otherwise higher/lower than the paper."
        )
        lines.append("")
        main = table[table.evaluated_on == "test set"].drop_duplicates("model").set_index("model")
        if {STUDENT, DISTILLED} <= set(main.index):
            s, d = main.loc[STUDENT], main.loc[DISTILLED]
            apart = d.ci95_high / d.ours_of < s.ci95_low / s.ours_of
            holds = d.ours_per_10000 < s.ours_per_10000
            lines.append(
                f"The paper's claim, distillation at T={float(b['temperature']):g} cuts the small net's errors "
                f"(146 → 74): ours {s.ours_per_10000:.0f} → {d.ours_per_10000:.0f} per 10,000, "
                + ("**holds**" if holds else "**does not hold**")
                + (" (the 95% intervals do not overlap)." if apart else " (the 95% intervals overlap).")
            )
            lines.append("")
        jobs = self.jobs(config)
        lines.append("Settings (config block `hinton2015`):")
        lines.append("")
        for job in jobs:
            m = read_json(Path(job.model.metrics(str(results_dir))))
            extra = []
            if job.dropout or job.input_dropout:
                extra.append(f"dropout {job.dropout:g} (input {job.input_dropout:g})")
            if job.jitter:
                extra.append(f"jitter ±{job.jitter} px")
            if job.max_norm:
                extra.append(f"max-norm {job.max_norm:g}")
            if job.loss == "hinton":
                extra.append(
                    f"loss: {job.alpha:g} x T² x soft (T={job.model.temperature:g}) + {1 - job.alpha:g} x hard"
                )
            if job.omit_classes:
                extra.append(f"transfer set without class {job.omit_classes[0]}")
            lines.append(
                f"- `{job.model.name}`: MLP {'x'.join(map(str, job.widths))} ReLU, loss `{job.loss}`, "
                f"{job.epochs} epochs, SGD lr {job.lr:g} (x{job.lr_decay:g} per epoch), momentum {job.momentum:g}, "
                f"batch {job.batch_size}; {', '.join(extra) or 'no regularisation'}; "
                f"{m.get('train_samples', '–')} training images; {wall_seconds(m.get('history', [])):.0f} s on "
                f"{m.get('device', '–')}"
            )
        lines.append("")
        return Section("\n".join(lines), table)


REPRODUCTION = Hinton2015()
