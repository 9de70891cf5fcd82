"""The reproductions, one module each in this package, found by name.

A module of this package that defines ``REPRODUCTION`` (a :class:`~distillbench.papers.base.Reproduction`) is a
reproduction; the config's ``reproductions:`` list names which of them a run builds (default: all). Adding a
paper therefore means adding its module here, its reference data under ``benchmark/<name>/`` and its config
block, nothing else (README, "Adding a fourth paper").
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
import shlex
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import jsonschema

from ..errors import UserError
from .base import Job, ModelId, ReportFile, Reproduction, Section

__all__ = [
    "Job",
    "ModelId",
    "Reproduction",
    "Seam",
    "Section",
    "apply_defaults",
    "coerce_command_line",
    "config_problems",
    "enabled",
    "get",
    "registry",
    "top_level_problems",
]

# Modules of this package that are not reproductions.
_NOT_PAPERS = {"base", "common", "train", "jitter", "document"}
# The order in which REPORT.md shows the sections (then any others by name).
_ORDER = ("papernot2016", "hinton2015", "ba_caruana2014")


@cache
def registry() -> dict[str, Reproduction]:
    """Every reproduction of this package, by name."""
    found: dict[str, Reproduction] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_PAPERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        repro = getattr(module, "REPRODUCTION", None)
        if isinstance(repro, Reproduction):
            found[repro.name] = repro
    order = [n for n in _ORDER if n in found] + sorted(n for n in found if n not in _ORDER)
    return {n: found[n] for n in order}


def get(name: str) -> Reproduction:
    reg = registry()
    if name not in reg:
        raise UserError(f"unknown reproduction {name!r}; fix: use one of {list(reg)}")
    return reg[name]


def enabled(config: Mapping[str, Any]) -> list[Reproduction]:
    names = config.get("reproductions")
    names = list(registry()) if names is None else list(names)
    return [get(n) for n in names]


def _merge(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(defaults))
    for k, v in given.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def apply_defaults(cfg: dict[str, Any]) -> None:
    """``reproductions`` defaults to all of them; each paper block is filled from its module's defaults."""
    cfg.setdefault("reproductions", list(registry()))
    for repro in registry().values():
        if repro.defaults or repro.name in cfg:
            cfg[repro.name] = _merge(repro.defaults, cfg.get(repro.name) or {})


def config_problems(cfg: Mapping[str, Any]) -> list[str]:
    """Unknown reproduction names, unknown paper blocks, and each enabled paper's block against its schema."""
    reg = registry()
    out = []
    names = cfg.get("reproductions") or []
    unknown = [n for n in names if n not in reg]
    if unknown:
        out.append(
            f"config field 'reproductions': {unknown} unknown; fix: name reproductions from {list(reg)} "
            "(one module each in src/distillbench/papers/)"
        )
    if len(set(names)) != len(names):
        out.append("config field 'reproductions': a name is given twice; fix: name each reproduction once")
    for key in cfg:
        if key not in reg and _looks_like_paper_block(key):
            out.append(
                f"config field '{key}': no reproduction of that name; fix: rename the block to one of {list(reg)} "
                "or remove it"
            )
    for repro in reg.values():
        if repro.name not in cfg or not repro.block_schema:
            continue
        before = len(out)
        validator = jsonschema.Draft202012Validator(repro.block_schema)
        for e in sorted(validator.iter_errors(cfg[repro.name]), key=lambda e: list(map(str, e.absolute_path))):
            path = ".".join([repro.name, *map(str, e.absolute_path)])
            if e.validator == "additionalProperties":
                out.append(
                    f"config field '{path}': {e.message}; fix: remove or rename the unknown key (allowed keys: the "
                    f"block schema in src/distillbench/papers/{repro.name}.py)"
                )
                continue
            hint = e.schema.get("description") if isinstance(e.schema, Mapping) else None
            out.append(f"config field '{path}': {e.message}" + (f"; fix: expected {hint}" if hint else ""))
        if repro.name in names and len(out) == before:
            out += repro.problems(cfg)
    return out


def top_level_problems(cfg: Mapping[str, Any]) -> list[str]:
    """Each paper's checks of the top-level blocks it reads besides its own (e.g. Papernot's ``datasets:``):
    every paper's, enabled or not, since the main schema requires those blocks of every config."""
    return [p for repro in registry().values() for p in repro.top_level_problems(cfg)]


def coerce_command_line(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``cfg`` with each paper's own fields that ``snakemake --config`` passes as strings read as what they stand
    for; every paper's, enabled or not (``reproductions`` itself is not checked yet)."""
    out = dict(cfg)
    for repro in registry().values():
        out = repro.coerce_command_line(out)
    return out


def _looks_like_paper_block(key: str) -> bool:
    """A top-level key named like a reproduction (letters then a year), e.g. 'hinton2105' (a typo)."""
    return len(key) > 4 and key[-4:].isdigit()


class Seam:
    """The enabled reproductions of one validated config, with every path the workflow needs."""

    def __init__(self, config: Mapping[str, Any], results: str, work: str) -> None:
        self.config = config
        self.results = results
        self.work = work
        self.papers = enabled(config)
        self.names = [r.name for r in self.papers]
        jobs = {r.name: {j.model.name: j for j in r.jobs(config)} for r in self.papers}
        self._jobs = {name: js for name, js in jobs.items() if js}  # the papers the paper_train rule trains

    @property
    def seam_papers(self) -> list[str]:
        return list(self._jobs)

    def job(self, paper: str, name: str) -> Job:
        try:
            return self._jobs[paper][name]
        except KeyError:
            raise UserError(f"no job {name!r} in reproduction {paper!r}") from None

    def jobs(self, paper: str) -> list[Job]:
        return list(self._jobs.get(paper, {}).values())

    def model_from_wildcards(self, wildcards: Mapping[str, str]) -> ModelId:
        return self.job(wildcards["paper"], wildcards["job"]).model

    def teacher_logits(self, paper: str, name: str) -> list[str]:
        """The teacher's logits file a student job reads (an empty list for a model without a teacher)."""
        m = self.job(paper, name).model
        return [self.job(paper, m.teacher).model.logits(self.work)] if m.teacher else []

    # --- input and param functions of workflow/rules/papers.smk (methods: a .smk file mixing rules and
    # functions draws a lint) ---
    def data_manifest(self, wildcards: Any) -> list[str]:
        """The run's data check of this dataset, when Papernot's datasets include it (the job reads the data
        itself anyway)."""
        d = wildcards.dataset
        return [f"{self.results}/data/{d}.json"] if d in self.config.get("datasets", {}) else []

    def teacher_option(self, wildcards: Any, input: Any) -> str:
        """``--teacher-logits PATH`` for a student (``input.teacher``: one path or none)."""
        paths = list(input.teacher)
        return f"--teacher-logits {shlex.quote(str(paths[0]))}" if paths else ""

    def metrics(self, paper: str) -> list[str]:
        return [j.model.metrics(self.results) for j in self.jobs(paper)]

    def report_inputs(self) -> list[str]:
        """What the report rule reads: every enabled reproduction's section inputs."""
        return [f for p in self.papers for f in p.report_inputs(self.config, self.results, self.work)]

    def report_files(self) -> dict[str, ReportFile]:
        """What the report rule writes besides REPORT.md: every enabled reproduction's files, by output name."""
        return {k: f for p in self.papers for k, f in p.report_files(self.results).items()}

    def report_outputs(self, report: Callable[..., Any], directory: Callable[[str], Any]) -> dict[str, Any]:
        """:meth:`report_files` as the report rule's outputs, marked with Snakemake's ``directory()`` and, where
        captioned, ``report()`` (both passed in by workflow/rules/report.smk)."""
        out: dict[str, Any] = {}
        for name, f in self.report_files().items():
            if f.directory:
                out[name] = directory(f.path)
            elif f.caption:
                out[name] = report(f.path, caption=f.caption, category=f.category)
            else:
                out[name] = f.path
        return out

    def targets(self, paper: str) -> list[str]:
        return get(paper).targets(self.config, self.results, self.work)

    def wildcard_pattern(self, what: str) -> str:
        if what == "paper":
            values = self.seam_papers
        else:
            values = sorted({j.model.name for p in self.seam_papers for j in self.jobs(p)})
        return "|".join(values) if values else "__none__"
