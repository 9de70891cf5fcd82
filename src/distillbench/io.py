"""Atomic writes for every output: a temporary file in the target's folder, flushed, then renamed.

A reader (or a resumed job, or Snakemake after a hard kill) therefore sees either the old file or
the complete new one, never a half-written one. Each writer creates missing parent folders.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # heavy imports only where used
    import pandas as pd
    from matplotlib.figure import Figure


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some file systems do not allow opening a folder
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends without error, move it onto ``path``.

    On an error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int = 2) -> None:
    """JSON with a final newline; NaN is written as JSON's ``NaN`` like :func:`json.dumps` does."""
    write_text(path, json.dumps(obj, indent=indent) + "\n")


def write_csv(path: str | os.PathLike[str], table: pd.DataFrame) -> None:
    """A pandas table without its index."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def save_torch(path: str | os.PathLike[str], obj: Any) -> None:
    """``torch.save``; keep ``obj`` to tensors and plain types so that it loads with ``weights_only=True``."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def save_figure(path: str | os.PathLike[str], fig: Figure, **savefig_kwargs: Any) -> None:
    """``fig.savefig`` in the format named by ``path``'s suffix."""
    fmt = Path(path).suffix.lstrip(".") or None
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, **savefig_kwargs)
