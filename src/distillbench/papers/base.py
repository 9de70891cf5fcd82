"""The paper seam: what one reproduction declares (its models, jobs, config block, reference data and report
section), and the one model identity that the plan, the rules' wildcards and the report share."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..settings import REPO_ROOT

BENCHMARK_DIR = REPO_ROOT / "benchmark"

# Wildcard values as the seam's generic rules see them (workflow/rules/papers.smk).
NAME_RE = r"[A-Za-z][A-Za-z0-9_.]*"
_PATH_RE = re.compile(rf"(?P<paper>{NAME_RE})/(?P<dataset>{NAME_RE})/(?:models/)?(?P<job>{NAME_RE})\.(?:pt|json)$")


@dataclass(frozen=True)
class ModelId:
    """One network of one reproduction. ``name`` is unique within (paper, dataset); nothing parses it: the
    reproduction looks a model up by its wildcards (:meth:`wildcards`, :meth:`from_path`)."""

    paper: str
    dataset: str
    name: str
    arch: str  # an architecture name of models.build_arch: mlp, papernot_mnist, papernot_cifar10
    role: str  # teacher | student
    temperature: float = 1.0
    seed: int = 0
    teacher: str | None = None  # the name of the teacher ModelId in the same paper and dataset
    trained_as: str | None = None  # the training job's name when it differs (Papernot's baseline: teacher_T1)

    @property
    def stem(self) -> str:
        """The name of the model's files: its training job's."""
        return self.trained_as or self.name

    def wildcards(self) -> dict[str, str]:
        return {"paper": self.paper, "dataset": self.dataset, "job": self.name}

    def checkpoint(self, work: str) -> str:
        return f"{work}/{self.paper}/{self.dataset}/{self.name}.pt"

    def logits(self, work: str) -> str:
        """The model's logits on its training set (the transfer set of its students)."""
        return f"{work}/{self.paper}/{self.dataset}/{self.name}.logits.pt"

    def metrics(self, results: str) -> str:
        return f"{results}/{self.paper}/{self.dataset}/models/{self.name}.json"

    @staticmethod
    def wildcards_of(path: str) -> dict[str, str]:
        """``{paper, dataset, job}`` of a checkpoint or metrics path written by :meth:`checkpoint`/:meth:`metrics`."""
        m = _PATH_RE.search(str(path).replace("\\", "/"))
        if not m:
            raise ValueError(f"{path}: not a seam model path (<paper>/<dataset>/[models/]<name>.pt|json)")
        return m.groupdict()


def job_seed(base: int, paper: str, name: str) -> int:
    """A reproducible seed per model, distinct across models (CRC32 of paper and name, plus the config's seed)."""
    return int(base) + zlib.crc32(f"{paper}/{name}".encode()) % 1_000_000


@dataclass(frozen=True)
class Job:
    """How one model is trained by the one training loop (papers/train.py on training.py); everything it needs, as
    JSON."""

    model: ModelId
    loss: str  # a name of losses.LOSSES
    epochs: int
    lr: float
    momentum: float
    batch_size: int
    widths: tuple[int, ...] = ()
    dropout: float = 0.0
    input_dropout: float = 0.0
    init: str = "pytorch_default"
    alpha: float = 0.5  # the soft term's weight in the "hinton" loss
    jitter: int = 0  # random shifts of up to this many pixels, per image and step
    max_norm: float | None = None  # per-unit incoming weight norm bound (dropout paper's constraint)
    lr_decay: float = 1.0  # the learning rate is multiplied by this after every epoch
    omit_classes: tuple[int, ...] = ()  # left out of the (transfer) training set
    bias_shift: Mapping[str, float] = field(default_factory=dict)  # class -> added to its output bias (evaluation)
    train_subset: int | None = None
    test_subset: int | None = None

    def to_json(self) -> str:
        d = asdict(self)
        if d["model"]["trained_as"] is None:  # only Papernot's baseline has one: other jobs' params stay as they were
            del d["model"]["trained_as"]
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Job:
        d = json.loads(text)
        d["model"] = ModelId(**d["model"])
        d["widths"] = tuple(d["widths"])
        d["omit_classes"] = tuple(d["omit_classes"])
        return cls(**d)


@dataclass
class Section:
    """A reproduction's part of REPORT.md: markdown (figure paths relative to the results folder) and a table."""

    markdown: str
    table: Any  # a pandas DataFrame, written beside it as CSV
    figures: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class ReportContext:
    """What a section may need of the whole report: REPORT.md's path and the run's config files (provenance)."""

    out: Path
    config_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportFile:
    """A file the report rule writes for a reproduction; a caption (an .rst file, relative to
    workflow/rules/) puts it into Snakemake's HTML report under ``category``."""

    path: str
    caption: str | None = None
    category: str | None = None
    directory: bool = False


class Reproduction:
    """One paper on the seam. A subclass sets ``name``/``title``/``citation``, its config block's schema and
    defaults, and implements :meth:`jobs` and :meth:`section`; the seam's generic rules train the jobs and the
    report rule asks each enabled reproduction for its section. A reproduction whose networks train as a chain
    with their own rules (Papernot 2016: warm start, teachers, soft labels at T, students, on the same training
    loop) declares no jobs here and lists its targets in :meth:`targets`. One reproduction may head REPORT.md
    (``heads_report``): its section is the document's title, provenance and wall times, and the others' sections
    follow it; without one, the report writes a plain head (papers/document.py)."""

    name: str = ""
    title: str = ""
    citation: str = ""
    heads_report: bool = False
    block_schema: Mapping[str, Any] = {}
    defaults: Mapping[str, Any] = {}

    @property
    def reference_dir(self) -> Path:
        return BENCHMARK_DIR / self.name

    def block(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return dict(config.get(self.name) or {})

    def datasets(self, config: Mapping[str, Any]) -> list[str]:
        return sorted({j.model.dataset for j in self.jobs(config)})

    def jobs(self, config: Mapping[str, Any]) -> list[Job]:
        return []

    def problems(self, config: Mapping[str, Any]) -> list[str]:
        """Checks of the block beyond its schema (with the field named and the fix)."""
        return []

    def top_level_problems(self, config: Mapping[str, Any]) -> list[str]:
        """Checks of the top-level blocks this paper reads besides its own, beyond the main schema (with the field
        named and the fix); asked whether or not the paper is enabled, as the main schema requires those blocks."""
        return []

    def coerce_command_line(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` with the strings that ``snakemake --config`` passes for this paper's own top-level fields read
        as the values they stand for, before the schema sees them (by default unchanged)."""
        return config

    def targets(self, config: Mapping[str, Any], results: str, work: str) -> list[str]:
        """What the workflow must build for this reproduction alone (``snakemake <name>``): what its section reads."""
        return self.report_inputs(config, results, work)

    def logit_metrics(self, job: Job, logits: Any, labels: Any) -> dict[str, Any]:
        """Numbers this reproduction computes from a trained model's test logits and labels (tensors), beyond
        the errors; merged into the model's metrics JSON (e.g. Hinton's sweep of an added output bias)."""
        return {}

    def report_inputs(self, config: Mapping[str, Any], results: str, work: str) -> list[str]:
        """The files its section reads (seam papers: their models' metrics)."""
        return [j.model.metrics(results) for j in self.jobs(config)]

    def report_files(self, results: str) -> dict[str, ReportFile]:
        """The files the report rule writes for it, by output name (seam papers: section, table and figures)."""
        where = f"{results}/{self.name}"
        return {
            f"{self.name}_section": ReportFile(section_path(results, self.name)),
            f"{self.name}_table": ReportFile(f"{where}/table.csv"),
            f"{self.name}_figures": ReportFile(f"{where}/figures", directory=True),
        }

    def section(
        self, config: Mapping[str, Any], results_dir: Path, figures_dir: Path, context: ReportContext | None = None
    ) -> Section:
        raise NotImplementedError


def section_path(results: str, paper: str) -> str:
    return f"{results}/{paper}/section.md"
