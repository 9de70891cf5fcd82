"""The report commands: REPORT.md from every enabled reproduction's section, and publishing a run's."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def cmd_report(a: argparse.Namespace) -> None:
    """REPORT.md: each enabled reproduction's section (figures and tables beside it)."""
    from ..papers.document import write_report

    write_report(json.loads(a.config), Path(a.results_dir), Path(a.out), config_files=a.config_files)


def cmd_publish_report(a: argparse.Namespace) -> None:
    from ..publish import publish_report

    publish_report(Path(a.run_dir), Path(a.out))
    print(f"{a.out}: the report of {a.run_dir}")


def register(sub: Any) -> None:
    """Add this family's commands to the package's argument parser."""
    sp = sub.add_parser("report", help="ask each enabled reproduction for its section and write REPORT.md")
    sp.add_argument("--config", required=True, help="JSON of the resolved config")
    sp.add_argument("--config-files", nargs="*", default=[])
    sp.add_argument("--results-dir", required=True)
    sp.add_argument("--out", required=True)
    sp.set_defaults(func=cmd_report, threads=None)

    sp = sub.add_parser("publish-report", help="copy results/<run>/REPORT.md to the top-level REPORT.md")
    sp.add_argument("run_dir", help="a finished run's folder, e.g. results/cpu")
    sp.add_argument("--out", default="REPORT.md")
    sp.set_defaults(func=cmd_publish_report, threads=None)
