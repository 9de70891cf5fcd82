"""Ba & Caruana 2014, "Do deep nets really need to be deep?", reduced to CPU scale.

Jobs: a deep teacher (architecture by name; Papernot's conv net by default); shallow students (one hidden layer)
of several widths, each trained three ways: on the hard labels, on the teacher's softened probabilities (soft
targets at T, x T^2), and by regressing the teacher's logits with an L2 loss (their "mimic" training).
Report: accuracy against width for the three, beside the teacher, and the paper's claims and tables (each
reference value marked when unconfirmed). A claim is "not testable" where our deep teacher is no better than a
shallow net trained on the labels: there is then no deep-only accuracy for a shallow mimic to reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .. import io
from . import references
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
        unconfirmed = sum(not references.is_confirmed(e) for _, e in references.entries(ref["tables"]))
        lines.append(
            "The paper's own numbers (different data and scale, shown for context; their MNIST results do not exist: "
            f"the paper reports TIMIT and CIFAR-10 only). Source: `benchmark/{NAME}/reference.yaml`; "
            f"{unconfirmed} of its values are unconfirmed (could not be checked against the paper; why, beside each)."
        )
        lines.append("")
        for key in ("timit", "cifar10"):
            t = ref["tables"][key]
            lines.append(f"*{t['title']}*")
            lines.append("")
            lines.append(md(reference_view(t)))
            lines.append("")
        return Section("\n".join(lines), table, [figure])

    def claims(self, table: pd.DataFrame, ref: Mapping[str, Any]) -> list[str]:
        """The paper's two claims as verdicts on our table ("not testable" where the teacher has no edge)."""
        return [
            "Claims (verdicts on this run):",
            "",
            *_mimic_beats_labels(table, ref),
            *_mimic_matches_teacher(table, ref),
        ]


def reference_view(t: Mapping[str, Any]) -> pd.DataFrame:
    """One of the paper's tables: each value with its status, and why where it is unconfirmed."""
    rows = t["rows"]
    return pd.DataFrame(
        {
            "model": [r["model"] for r in rows],
            t["metric"]: [references.shown(r, "{:.1f}") for r in rows],
            "status": [r["status"] + (f": {r['reason']}" if r.get("reason") else "") for r in rows],
        }
    )


def _paper(ref: Mapping[str, Any], table: str, model_prefix: str) -> str:
    """A value of the paper's table as the report shows it (with its status mark); "–" when absent."""
    row = next((r for r in ref["tables"][table]["rows"] if r["model"].startswith(model_prefix)), None)
    return references.shown(row, "{:.1f}%")


def _mimic_beats_labels(table: pd.DataFrame, ref: Mapping[str, Any]) -> list[str]:
    """Mimic training beats training on the labels, judged at the widths where the teacher beats the latter."""
    students = table[table.role == "student"]
    if not {"mimic", "hard"} <= set(students.loss):
        return []
    teacher_acc = float(table[table.role == "teacher"].test_accuracy_pct.iloc[0])
    s = students.pivot(index="width", columns="loss", values="test_accuracy_pct")
    testable = s[s["hard"] < teacher_acc]
    claim = (
        f"- *Mimic training beats training on the labels at the same size* (paper, TIMIT: SNN-MIMIC-8k "
        f"{_paper(ref, 'timit', 'SNN-MIMIC-8k')} vs SNN-8k {_paper(ref, 'timit', 'SNN-8k')} PER): "
    )
    if not len(testable):
        return [
            claim + f"**not testable**: at every width the shallow net on labels is at least as accurate as the "
            f"teacher ({teacher_acc:.2f}%), so the teacher has nothing to pass on."
        ]
    better = int((testable["mimic"] > testable["hard"]).sum())
    skipped = len(s) - len(testable)
    note = (
        f" ({skipped} of {len(s)} widths not testable: there the net on labels is at least as accurate as the teacher)"
        if skipped
        else ""
    )
    verdict = "**holds**." if better == len(testable) else "**does not hold** at every width."
    return [claim + f"mimic better at {better} of {len(testable)} testable widths{note}: {verdict}"]


def _mimic_matches_teacher(table: pd.DataFrame, ref: Mapping[str, Any]) -> list[str]:
    """The best shallow mimic net within the tolerance of the deep teacher, judged only when the teacher beats
    every shallow net on the labels by more than that: otherwise a shallow net already reaches its accuracy."""
    tol = float(ref["tolerance"]["teacher_gap_pp"])
    students = table[table.role == "student"]
    mim, hard = students[students.loss == "mimic"], students[students.loss == "hard"]
    if not len(mim):
        return []
    teacher_acc = float(table[table.role == "teacher"].test_accuracy_pct.iloc[0])
    best = mim.loc[mim.test_accuracy_pct.idxmax()]
    gap = teacher_acc - float(best.test_accuracy_pct)
    claim = (
        f"- *A shallow mimic net matches the deep teacher* (within {tol:g} pp, `benchmark/{NAME}/reference.yaml`): "
        f"best mimic student (width {int(best.width)}) {best.test_accuracy_pct:.2f}% vs teacher {teacher_acc:.2f}% "
        f"(gap {gap:+.2f} pp)"
    )
    if len(hard):
        best_hard = float(hard.test_accuracy_pct.max())
        if teacher_acc - best_hard <= tol:
            return [
                claim + f": **not testable**: a shallow net on the labels already reaches {best_hard:.2f}%, within "
                f"{tol:g} pp of the teacher, so there is no deep-only accuracy to match."
            ]
        edge = (
            f"; the teacher beats the best shallow net on labels ({best_hard:.2f}%) by {teacher_acc - best_hard:.2f} pp"
        )
    else:
        edge = "; the teacher's edge over a shallow net on the labels is not measured (no `hard` in `losses`)"
    return [claim + edge + ": " + ("**holds**." if gap <= tol else "**does not hold**.")]


REPRODUCTION = BaCaruana2014()
