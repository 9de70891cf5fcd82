"""The config command: check a config file and name any bad field."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_validate_config(a: argparse.Namespace) -> None:
    from ..config import validate_config
    from ..config_merge import merged_config

    validate_config(merged_config(a.paths, a.config), check_device=not a.skip_device_check)
    print(f"config/config.yaml{''.join(' + ' + p for p in a.paths)}{' + --config' if a.config else ''}: valid")


def register(sub: Any) -> None:
    """Add this family's commands to the package's argument parser."""
    sp = sub.add_parser(
        "validate-config",
        help="check the config a run would use (config/config.yaml, then these files, then --config) and name "
        "every bad field",
    )
    sp.add_argument("paths", nargs="*", help="the run's --configfile overlays, in order")
    sp.add_argument("--config", nargs="*", default=[], help="the run's --config KEY=VALUE entries")
    sp.add_argument(
        "--skip-device-check",
        action="store_true",
        help="do not refuse 'device: cuda' when this machine has no CUDA (e.g. a cluster login node)",
    )
    sp.set_defaults(func=cmd_validate_config, threads=None, job=False)
