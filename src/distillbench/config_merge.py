"""The configuration Snakemake runs, merged the way Snakemake merges it: config/config.yaml (the Snakefile's
``configfile:``), then each ``--configfile`` overlay in order, then the ``--config KEY=VALUE`` entries, each
merged key by key into the mappings below it. ``validate-config`` checks exactly this merge."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import REPO_ROOT, ConfigError, read_config_file

DEFAULT_CONFIG = REPO_ROOT / "config" / "config.yaml"


def parse_config_args(entries: Sequence[str]) -> dict[str, Any]:
    """``--config`` entries read as Snakemake reads them (numbers, booleans, then YAML with every scalar a
    string, then the plain string)."""
    from snakemake.cli import parse_config  # type: ignore[import-untyped]

    try:
        return dict(parse_config(list(entries)))
    except ValueError as exc:
        raise ConfigError(
            f"--config {' '.join(entries)}: {exc}; fix: write KEY=VALUE entries, e.g. 'temperatures=[1,100]'"
        ) from None


def merged_config(files: Sequence[str | Path], entries: Sequence[str] = ()) -> dict[str, Any]:
    """config/config.yaml, then ``files``, then ``entries`` (``--config``), merged as Snakemake merges them."""
    from snakemake.utils import update_config  # type: ignore[import-untyped]

    config = read_config_file(DEFAULT_CONFIG)
    for path in files:
        update_config(config, read_config_file(path))
    update_config(config, parse_config_args(entries))
    return config
