"""Publish a finished run's report as the top-level REPORT.md (what a reader opens first).

The top-level REPORT.md is committed and never a Snakemake target (a committed target would make a
fresh clone's run look done). It is a copy of ``results/<run>/REPORT.md`` with its links rewritten to
work from the repository root and a banner that names the run.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import UserError
from .io import write_text


class PublishError(UserError, FileNotFoundError):
    """The run to publish has no report."""


BANNER = (
    "> **This is the report of run `{run}`**, copied from [`{src}`]({src}) by "
    "`python -m distillbench publish-report {run_dir}`. Every run writes its own report under "
    "`results/<run_name>/REPORT.md`; this copy is not a workflow output.\n\n"
)


def publish_report(run_dir: Path, out: Path, repo_root: Path | None = None) -> str:
    """Copy ``run_dir/REPORT.md`` to ``out`` with relative links rebased; returns the text written."""
    run_dir = Path(run_dir)
    src = run_dir / "REPORT.md"
    if not src.exists():
        raise PublishError(
            f"{src} does not exist: that run has no report yet; run the workflow for it first "
            f"(its report is its 'rule all' target), then publish it"
        )
    root = Path(repo_root) if repo_root else Path(out).resolve().parent
    rel_run = run_dir.resolve().relative_to(root.resolve()).as_posix()
    text = src.read_text()

    def rebase(m: re.Match[str]) -> str:
        target = m.group(2)
        if re.match(r"^[a-z]+://|^/|^#", target):
            return m.group(0)
        return f"{m.group(1)}({rel_run}/{target})"

    others = sorted(q.parent for q in (root / "results").glob("*/REPORT.md") if q.parent.resolve() != run_dir.resolve())
    body = re.sub(r"(!?\[[^\]]*\])\(([^)\s]+)\)", rebase, text)
    lines = body.split("\n", 1)
    banner = BANNER.format(run=run_dir.name, src=f"{rel_run}/REPORT.md", run_dir=rel_run)
    if others:
        listed = ", ".join(
            f"[`{o.relative_to(root).as_posix()}`]({o.relative_to(root).as_posix()}/REPORT.md)" for o in others
        )
        banner = banner.rstrip("\n") + f" Other runs' reports in this repository: {listed}.\n\n"
    published = lines[0] + "\n\n" + banner + (lines[1].lstrip("\n") if len(lines) > 1 else "")
    write_text(out, published)
    return published
