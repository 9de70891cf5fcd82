"""Checks the Snakefile runs before planning, on the machine that plans: no torch import."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from .dataspec import missing_files, spec_for
from .io import write_json
from .settings import verify_checksums_for
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


def data_problems(config: Mapping[str, Any]) -> str:
    """Every dataset's checks at planning, before any job: files missing with ``download: false``
    (:func:`missing_data_problems`), then each staged dataset checked as its ``prepare_data`` job will check
    it (content, swaps, official md5s unless waived, test split size). One paragraph per problem, every
    dataset's at once; empty when all is well. A dataset checked before with the same files (path, size,
    modification time) and settings is not read again (``<work_dir>/data-checks/``)."""
    from .datafiles import DataError, verify

    lines = [p for p in [missing_data_problems(config)] if p]
    data_dir = Path(str(config["data_dir"]))
    for dataset, block in config["datasets"].items():
        if missing_files(dataset, data_dir):
            continue  # reported above, or its job downloads it
        settings: dict[str, Any] = {
            "verify_checksums": verify_checksums_for(config, dataset),
            "min_test_images": int(block["attack"]["samples"]),
        }
        stamp = {"files": _file_stamps(dataset, data_dir), **settings}
        record = Path(str(config.get("work_dir") or "work")) / "data-checks" / f"{dataset}.json"
        if _read_json(record) == stamp:
            continue
        try:
            verify(dataset, data_dir, **settings)
        except DataError as exc:
            lines.append(str(exc))
            continue
        try:
            write_json(record, stamp)
        except OSError:
            pass  # only a saving of time: the check ran and passed
    return "\n".join(lines)


def _file_stamps(dataset: str, data_dir: Path) -> list[list[Any]]:
    out: list[list[Any]] = []
    for rel in spec_for(dataset).files:
        path = data_dir / rel
        if not path.exists():
            path = path.with_name(path.name + ".gz")
        st = path.stat()
        out.append([str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino])
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def dry_run_requested(argv: list[str]) -> bool:
    """Whether Snakemake's command line asks for a dry run (``-n``, ``--dry-run``, ``--dryrun``, or ``-n`` among
    combined short flags such as ``-np``): the Snakefile cannot ask Snakemake itself while it is being read."""
    for arg in argv[1:]:
        if arg in ("--dry-run", "--dryrun", "-n"):
            return True
        if arg.startswith("-") and not arg.startswith("--") and arg[1:].isalpha() and "n" in arg and len(arg) <= 6:
            return True
    return False


def executor_named(argv: list[str]) -> bool:
    """Whether the command line names an executor or a workflow profile (which may name one): jobs may run
    elsewhere, so notes about this machine's devices do not apply."""
    return any(
        a in ("--executor", "-e", "--workflow-profile") or a.startswith(("--executor=", "--workflow-profile="))
        for a in argv[1:]
    )


def refuse(message: str) -> NoReturn:
    """Stop planning with ``message`` alone (one paragraph per problem), without Snakemake's
    'File ".../Snakefile", line N' (which points at the workflow, not at the user's config or data)."""
    print(message, file=sys.stderr)
    raise SystemExit(1)
