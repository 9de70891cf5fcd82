"""Ba & Caruana 2014, "Do deep nets really need to be deep?", reduced to CPU scale.

Jobs: a deep teacher (architecture by name; Papernot's conv net by default); shallow students (one hidden layer)
of several widths, each trained three ways: on the hard labels, on the teacher's softened probabilities (soft
targets at T, x T^2), and by regressing the teacher's logits with an L2 loss (their "mimic" training).
Report: accuracy against width for the three, beside the teacher, and the paper's claims and tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .. import io
from .base import Job, ModelId, ReportContext, Reproduction, Section, job_seed
from .common import (
    SUBSET,
    md,
    optimiser_fields,
    profile_note,
    read_json,
    regularisation_fields,
    subset_fields,
    training_schema,
    wall_seconds,
)

NAME = "ba_caruana2014"
TEACHER = "teacher"
LOSS_TITLES = {"hard": "hard labels", "soft": "softened probabilities", "mimic": "mimic (L2 on logits)"}


def student_name(width: int, loss: str) -> str:
    return f"student_w{int(width)}_{loss}"


class BaCaruana2014(Reproduction):
    name = NAME
    title = "Ba & Caruana 2014: shallow students mimicking a deep teacher (reduced)"
    citation = 'Ba, Caruana, "Do Deep Nets Really Need to be Deep?", NeurIPS 2014'
    block_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "dataset": {"enum": ["mnist", "cifar10"], "description": "mnist or cifar10"},
            "train_subset": SUBSET,
            "test_subset": SUBSET,
            "widths": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1},
                "minItems": 1,
                "uniqueItems": True,
                "description": "the students' hidden widths, e.g. [64, 256, 1024]",
            },
            "losses": {
                "type": "array",
                "items": {"enum": ["hard", "soft", "mimic"], "description": "hard, soft, mimic"},
                "minItems": 1,
                "uniqueItems": True,
                "description": "a list of hard, soft, mimic",
            },
            "soft_temperature": {"type": "number", "exclusiveMinimum": 0, "description": "T of the soft targets"},
            "teacher": training_schema(arch=True, regularised=True),
            "student": training_schema(),
        },
    }
    defaults = {
        "dataset": "mnist",
        "train_subset": None,
        "test_subset": None,
        "widths": [64, 256, 1024],
        "losses": ["hard", "soft", "mimic"],
        "soft_temperature": 4,
        "teacher": {
            "arch": "papernot_mnist",
            "widths": [],
            "dropout": 0.5,
            "input_dropout": 0.0,
            "jitter": 0,
            "max_norm": None,
            "epochs": 2,
            "lr": 0.1,
            "momentum": 0.5,
            "batch_size": 128,
            "lr_decay": 1.0,
            "init": "glorot_uniform",
        },
        "student": {
            "epochs": 10,
            "lr": 0.01,
            "momentum": 0.9,
            "batch_size": 100,
            "lr_decay": 0.95,
            "init": "pytorch_default",
        },
    }

    def problems(self, config: Mapping[str, Any]) -> list[str]:
        b = self.block(config)
        arch, ds = b["teacher"]["arch"], b["dataset"]
        out = []
        if arch.startswith("papernot_") and arch != f"papernot_{ds}":
            out.append(
                f"config field '{NAME}.teacher.arch': {arch} takes {arch.removeprefix('papernot_')} images but "
                f"'{NAME}.dataset' is {ds}; fix: use papernot_{ds} or mlp"
            )
        if arch == "mlp" and not b["teacher"].get("widths"):
            out.append(f"config field '{NAME}.teacher.widths': an mlp teacher needs hidden widths, e.g. [1200, 1200]")
        return out

    def jobs(self, config: Mapping[str, Any]) -> list[Job]:
        b = self.block(config)
        ds, seed = b["dataset"], int(config["seed"])
        te, st = b["teacher"], b["student"]
        subsets = subset_fields(b)
        jobs = [
            Job(
                ModelId(NAME, ds, TEACHER, str(te["arch"]), "teacher", 1.0, job_seed(seed, NAME, TEACHER)),
                loss="hard",
                widths=tuple(te.get("widths") or ()),
                **regularisation_fields(te),
                **optimiser_fields(te),
                **subsets,
            )
        ]
        for loss in b["losses"]:
            t = float(b["soft_temperature"]) if loss == "soft" else 1.0
            for w in b["widths"]:
                name = student_name(w, loss)
                teacher = None if loss == "hard" else TEACHER
                jobs.append(
                    Job(
                        ModelId(NAME, ds, name, "mlp", "student", t, job_seed(seed, NAME, name), teacher),
                        loss=loss,
                        widths=(int(w),),
                        **optimiser_fields(st),
                        **subsets,
                    )
                )
        return jobs

    def reference(self) -> dict[str, Any]:
        return yaml.safe_load((self.reference_dir / "reference.yaml").read_text())

    def collect(self, config: Mapping[str, Any], results_dir: Path) -> pd.DataFrame:
        rows = []
        for job in self.jobs(config):
            m = read_json(Path(job.model.metrics(str(results_dir))))
            n = int(m["test_samples"])
            rows.append(
                {
                    "model": job.model.name,
                    "role": job.model.role,
                    "arch": job.model.arch,
                    "width": job.widths[0] if job.model.role == "student" else None,
                    "loss": job.loss,
                    "temperature": job.model.temperature,
                    "parameters": int(m["parameters"]),
                    "test_accuracy_pct": 100.0 * (n - int(m["errors"])) / n,
                    "errors": int(m["errors"]),
                    "test_samples": n,
                    "epochs": job.epochs,
                    "seconds": wall_seconds(m.get("history", [])),
                }
            )
        return pd.DataFrame(rows)

    def plot(self, table: pd.DataFrame, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import seaborn as sns

        sns.set_theme(style="whitegrid")
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        students = table[table.role == "student"]
        for loss, grp in students.groupby("loss", sort=False):
            g = grp.sort_values("width")
            ax.plot(g.width, g.test_accuracy_pct, marker="o", label=f"shallow student: {LOSS_TITLES.get(loss, loss)}")
        teacher = table[table.role == "teacher"]
        if len(teacher):
            acc = float(teacher.test_accuracy_pct.iloc[0])
            ax.axhline(acc, color="black", linestyle="--", linewidth=1, label=f"deep teacher ({acc:.2f}%)")
        ax.set_xscale("log")
        widths = sorted(students.width.dropna().astype(int).unique())
        ax.set_xticks(widths)
        ax.set_xticklabels([str(w) for w in widths])
        ax.minorticks_off()
        ax.set_xlabel("student hidden units (one hidden layer, log scale)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title("Ba & Caruana 2014, reduced: accuracy vs. student width", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        io.save_figure(path, fig, dpi=120)
        plt.close(fig)

    def section(
        self, config: Mapping[str, Any], results_dir: Path, figures_dir: Path, context: ReportContext | None = None
    ) -> Section:
        b = self.block(config)
        ref = self.reference()
        table = self.collect(config, results_dir)
        figure = Path(figures_dir) / "accuracy_vs_width.png"
        self.plot(table, figure)
        lines = [f"## {self.title}", ""]
        note = profile_note(config)
        if note:
            lines += [note, ""]
        teacher = table[table.role == "teacher"].iloc[0]
        students = table[table.role == "student"]
        wide = students.pivot(index="width", columns="loss", values="test_accuracy_pct").sort_index()
        params = students.groupby("width").parameters.first()
        view = pd.DataFrame({"student width": [str(int(w)) for w in wide.index]})
        view["parameters"] = [f"{int(params[w]):,}" for w in wide.index]
        for loss in b["losses"]:
            view[f"{LOSS_TITLES[loss]} %"] = [f"{v:.2f}" for v in wide[loss]]
        view["deep teacher %"] = f"{teacher.test_accuracy_pct:.2f}"
        lines.append(
            f"Dataset {b['dataset'].upper() if b['dataset'] == 'mnist' else 'CIFAR-10'}; teacher: `{teacher.arch}` "
            f"({int(teacher.parameters):,} parameters, {int(teacher.epochs)} epochs); students: one hidden ReLU "
            f"layer, {int(students.epochs.iloc[0])} epochs each; soft targets at T={float(b['soft_temperature']):g}. "
            "Accuracy on the test images:"
        )
        lines += ["", md(view), ""]
        rel = Path(figure).relative_to(results_dir) if Path(figure).is_relative_to(results_dir) else figure
        lines += [f"![Accuracy vs. student width]({rel.as_posix()})", ""]
        lines += self.claims(table, ref)
        lines.append("")
        lines.append(
            "The paper's own numbers (different data and scale, shown for context; their MNIST results do not exist: "
            "the paper reports TIMIT and CIFAR-10 only). Source and status: "
            f"`benchmark/{NAME}/reference.yaml` ({ref['status']})."
        )
        lines.append("")
        for key in ("timit", "cifar10"):
            t = ref["tables"][key]
            lines.append(f"*{t['title']}*")
            lines.append("")
            lines.append(md(pd.DataFrame(t["rows"]).astype(str)))
            lines.append("")
        return Section("\n".join(lines), table, [figure])

    def claims(self, table: pd.DataFrame, ref: Mapping[str, Any]) -> list[str]:
        """The paper's two claims as verdicts on our table."""
        tol = float(ref["tolerance"]["teacher_gap_pp"])
        students = table[table.role == "student"]
        teacher_acc = float(table[table.role == "teacher"].test_accuracy_pct.iloc[0])
        out = ["Claims (verdicts on this run):", ""]
        if {"mimic", "hard"} <= set(students.loss):
            s = students.pivot(index="width", columns="loss", values="test_accuracy_pct")
            better = (s["mimic"] > s["hard"]).sum()
            out.append(
                f"- *Mimic training beats training on the labels at the same size* (paper, TIMIT: SNN-MIMIC-8k "
                f"21.6% vs SNN-8k 23.1% PER): mimic better at {better} of {len(s)} widths: "
                + ("**holds**." if better == len(s) else "**does not hold** at every width.")
            )
        mim = students[students.loss == "mimic"]
        if len(mim):
            best = mim.loc[mim.test_accuracy_pct.idxmax()]
            gap = teacher_acc - float(best.test_accuracy_pct)
            out.append(
                f"- *A shallow mimic net matches the deep teacher* (within {tol:g} pp, "
                f"`benchmark/{NAME}/reference.yaml`): best mimic student (width {int(best.width)}) "
                f"{best.test_accuracy_pct:.2f}% vs teacher {teacher_acc:.2f}% (gap {gap:+.2f} pp): "
                + ("**holds**." if gap <= tol else "**does not hold**.")
            )
        return out


REPRODUCTION = BaCaruana2014()
