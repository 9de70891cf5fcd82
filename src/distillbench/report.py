"""What every reproduction's report shares: provenance, wall time per rule, table and number formatting.

Each paper writes its own section (src/distillbench/papers/<paper>/); the report asks each enabled paper for it
(papers/document.py): Papernot 2016's Fig. 7 part heads REPORT.md when it runs, the others' sections follow.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .provenance import git_commit, hardware, library_versions, rule_wall_times

DATASET_TITLES = {"mnist": "MNIST", "cifar10": "CIFAR10"}


def title(dataset: str) -> str:
    return DATASET_TITLES.get(dataset, dataset)


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def md_table(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False, disable_numparse=True)


def fmt(x: Any, nd: int = 2) -> str:
    """A number with ``nd`` decimals; ``–`` for a missing one."""
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "–"
    return f"{x:.{nd}f}"


def plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}" + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


def generated_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def provenance_lines(
    config: Mapping[str, Any],
    results_dir: Path,
    out: Path,
    config_files: Sequence[str] = (),
    run_line_extra: str = "",
) -> list[str]:
    """The head of ``## Provenance``: commit, config files, generation time, hardware, libraries."""
    hw = hardware()
    lines = [
        f"- git commit: `{git_commit(generated=(str(results_dir), str(out)))}` "
        "(changes to this run's own outputs not counted)"
    ]
    shown = [os.path.relpath(c) if not os.path.relpath(c).startswith("..") else c for c in config_files]
    lines.append(
        f"- config files (later ones override earlier): {', '.join(f'`{c}`' for c in reversed(shown)) or '–'}; "
        f"profile `{config.get('profile', 'custom')}`, run name `{config['run_name']}`{run_line_extra}"
    )
    return lines + [
        f"- data settings (after command-line overrides): data_dir `{config['data_dir']}`, "
        f"download `{str(config.get('download')).lower()}`, "
        f"verify_checksums `{str(config.get('verify_checksums')).lower()}`",
        f"- generated: {generated_now()}",
        f"- hardware (report job): {hw['cpu']}, {hw['cpu_count']} CPUs, GPUs: "
        f"{', '.join(hw['cuda_devices']) or 'none'}; {hw['os']}, Python {hw['python']}",
    ]


CONFIG_LINE = "- the resolved config of this run (defaults, profile and overrides): `config.json` beside this report"


def library_line() -> str:
    return "- libraries: " + ", ".join(f"{k} {v}" for k, v in library_versions().items())


def wall_times(results_dir: Path) -> pd.DataFrame:
    """One row per job with a Snakemake ``benchmark:`` file: rule and seconds."""
    return pd.DataFrame(rule_wall_times(Path(results_dir) / "benchmarks"))


def wall_time_lines(walls: pd.DataFrame) -> list[str]:
    """``## Wall time per rule``: jobs, summed and longest seconds per rule (nothing without benchmarks)."""
    if not len(walls):
        return []
    agg = walls.groupby("rule").agg(jobs=("seconds", "size"), total_s=("seconds", "sum"), max_s=("seconds", "max"))
    agg = agg.reset_index()
    agg["total_s"] = agg.total_s.map(lambda v: f"{v:.0f}")
    agg["max_s"] = agg.max_s.map(lambda v: f"{v:.0f}")
    return [
        "## Wall time per rule",
        "",
        md_table(agg.rename(columns={"total_s": "total s", "max_s": "longest job s"})),
        "",
    ]


def write_run_config(results_dir: Path, config: Mapping[str, Any]) -> Path:
    """The run's resolved config (defaults, profile and command-line overrides applied) beside its report, so
    that every number in it can be traced to its seeds and training lengths and the report regenerated."""
    from .io import write_text

    path = Path(results_dir) / "config.json"
    write_text(path, json.dumps(config, indent=1, sort_keys=True, default=str) + "\n")
    return path
