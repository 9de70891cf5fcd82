"""The config command: check a config file and name any bad field."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_validate_config(a: argparse.Namespace) -> None:
    from ..config import load_config

    load_config(a.path, check_device=not a.skip_device_check)
    print(f"{a.path}: valid")


def register(sub: Any) -> None:
    """Add this family's commands to the package's argument parser."""
    sp = sub.add_parser("validate-config", help="check a config file and name any bad field")
    sp.add_argument("path")
    sp.add_argument(
        "--skip-device-check",
        action="store_true",
        help="do not refuse 'device: cuda' when this machine has no CUDA (e.g. a cluster login node)",
    )
    sp.set_defaults(func=cmd_validate_config, threads=None, job=False)
