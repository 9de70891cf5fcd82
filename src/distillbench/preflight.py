"""Checks the Snakefile runs before planning, on the machine that plans: cheap, no torch import."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .dataspec import missing_files
from .staging import missing_message


def missing_data_problems(config: Mapping[str, Any]) -> str:
    """With ``download: false``, name the dataset files absent from ``data_dir`` and how to stage them
    (one paragraph per dataset), so that the run stops before planning instead of in ``prepare_data``.
    Empty when nothing is missing or when the workflow may download."""
    if config.get("download", True):
        return ""
    data_dir = Path(str(config["data_dir"]))
    lines = []
    for dataset in config["datasets"]:
        missing = missing_files(dataset, data_dir)
        if missing:
            lines.append(missing_message(dataset, data_dir, missing, download_on=False))
    return "\n".join(lines)
