"""The data command: check (or download) a dataset and write its checksum manifest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import log


def cmd_prepare_data(a: argparse.Namespace) -> None:
    from .. import io
    from ..data import prepare

    manifest = prepare(
        a.dataset,
        Path(a.data_dir),
        allow_download=a.download,
        verify_checksums=a.verify_checksums,
        min_test_images=a.attack_samples,
    )
    for rel, info in manifest.files.items():
        log.info("%s md5=%s official=%s", rel, info["md5"], info["matches"])
    log.info(
        "%s: every file parsed and checked: %d training and %d test images",
        a.dataset,
        manifest.n_train,
        manifest.n_test,
    )
    io.write_json(a.out, manifest.to_dict())


def register(sub: Any) -> None:
    """Add this family's commands to the package's argument parser."""
    sp = sub.add_parser("prepare-data", help="check (or download) a dataset and write its checksum manifest")
    sp.add_argument("--dataset", required=True, choices=["mnist", "cifar10"])
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--download", action=argparse.BooleanOptionalAction, default=False)
    sp.add_argument("--verify-checksums", action=argparse.BooleanOptionalAction, default=True)
    sp.add_argument("--attack-samples", type=int, default=0, help="the test split must hold at least this many images")
    sp.add_argument("--out", required=True)
    sp.set_defaults(func=cmd_prepare_data, threads=None)
