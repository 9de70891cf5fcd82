"""Atomic writes for every output: a temporary file in the target's folder, flushed, then renamed.

A reader (or a resumed job, or Snakemake after a hard kill) therefore sees either the old file or
the complete new one, never a half-written one. Each writer creates missing parent folders.

A write that fails for want of space (``ENOSPC``/``EDQUOT``, or a library's own stream error such as
torch.save's "iostream error" while the file system is nearly full) raises :class:`DiskFullError`, one
line naming the file, the free space there and what to do; the half-written temporary file is removed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UserError

if TYPE_CHECKING:  # heavy imports only where used
    import pandas as pd
    from matplotlib.figure import Figure

# Below this much free space a failed write is taken to have failed for want of space, whatever the library
# said (torch.save reports a full disk as "basic_ios::clear: iostream error" or "unexpected pos").
NEARLY_FULL_BYTES = 64 << 20
_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


class DiskFullError(UserError, OSError):
    """A file could not be written because its file system (or quota) is full."""


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Free space on the file system holding ``path`` (its nearest existing folder), or None if unknown."""
    here = Path(path)
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        return shutil.disk_usage(here).free
    except OSError:
        return None


def _size(n: int | None) -> str:
    if n is None:
        return "unknown"
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


def disk_full_message(path: str | os.PathLike[str], free: int | None) -> str:
    return (
        f"{path}: no space left to write it ({_size(free)} free on that file system); fix: free space there "
        "(old runs under results/ and work/, e.g. work/<run_name>/ once its run is done) or point 'work_dir' "
        "and the run elsewhere, then run the workflow again: finished files are kept and the rest is remade"
    )


def out_of_space(exc: BaseException, path: str | os.PathLike[str]) -> DiskFullError | None:
    """A :class:`DiskFullError` for ``path`` if ``exc`` was (or looks like) a failure for want of space."""
    free = free_bytes(path)
    if isinstance(exc, OSError) and exc.errno in _SPACE_ERRNOS:
        return DiskFullError(disk_full_message(path, free))
    if isinstance(exc, (OSError, RuntimeError)) and free is not None and free < NEARLY_FULL_BYTES:
        return DiskFullError(disk_full_message(path, free))
    return None


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        full = out_of_space(exc, path)
        if full is not None:
            raise full from None
        raise
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        full = out_of_space(exc, path)  # before the temporary file goes and frees its space
        tmp.unlink(missing_ok=True)
        if full is not None:
            raise full from None
        raise
    _fsync_dir(path.parent)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def create_exclusive(path: str | os.PathLike[str], text: str) -> bool:
    """Create ``path`` holding ``text`` only if it does not exist yet (O_EXCL: of two processes racing, one wins);
    False when it already exists. For lock files, whose point is that creation is the claim."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return True


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
