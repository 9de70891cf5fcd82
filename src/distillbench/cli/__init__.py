"""Command-line entry points; each Snakemake rule calls one of these (``python -m distillbench ...``)."""

# One module per command family: data, training, studies, attacks, reports, config, and the paper seam's commands
# (papers); what they share (logging, threads, option groups) is in common.py.

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import attacks, config, data, papers, reports, studies, training
from .common import _setup, log


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="distillbench", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for family in (data, training, studies, attacks, reports, config, papers):
        family.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    from ..errors import UserError

    args = build_parser().parse_args(argv)
    _setup(getattr(args, "threads", None), job=getattr(args, "job", True))
    try:
        args.func(args)
    except UserError as exc:
        # A problem the user can fix: one paragraph naming the field or file and the fix, no traceback.
        if getattr(args, "job", True):
            log.error("%s", exc)
        else:
            print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
