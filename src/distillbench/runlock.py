"""One live run per run name: ``results/<run_name>/.run.lock`` holds the host, pid and start time of the
Snakemake process running it.

Snakemake's own lock (``.snakemake/locks``) is lifted by ``--unlock`` whether or not its run is still going;
this one is checked by the workflow just before its first job and refuses a second live run on the same
run name. A lock whose process has ended (a kill -9, a reboot) is stale and taken over; one held on another
host cannot be checked from here and is refused with what to check.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from .errors import UserError
from .io import create_exclusive

LOCK_NAME = ".run.lock"


class RunLockedError(UserError, RuntimeError):
    """Another live Snakemake process runs the same run name."""


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell it from a later process with its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return start is None or _start_ticks(pid) in (None, start)


def _holder(path: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # half-written or unreadable: treated as stale
    return info if isinstance(info, dict) and isinstance(info.get("pid"), int) else None


def lock_path(run_dir: str | os.PathLike[str]) -> Path:
    return Path(run_dir) / LOCK_NAME


def _refusal(path: Path, info: dict[str, Any], same_host: bool) -> RunLockedError:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info.get("started", 0))))
    who = f"Snakemake process {info['pid']} on host {info.get('host')} (since {since})"
    check = (
        f"check with 'ps -p {info['pid']}' that it is still going"
        if same_host
        else f"check on host {info.get('host')} whether it is still going (it cannot be checked from here)"
    )
    return RunLockedError(
        f"{path.parent}: this run is already being run by {who}, and two runs on one run name would write the "
        f"same files; fix: wait for it to finish, or give this run another 'run_name'; {check}, and only if it is "
        f"not, delete {path} and run again (see docs/troubleshooting.md before using --unlock)"
    )


def acquire(run_dir: str | os.PathLike[str]) -> Path:
    """Take the run's lock for this process, or raise :class:`RunLockedError` if a live process holds it."""
    path = lock_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {"host": socket.gethostname(), "pid": os.getpid(), "start": _start_ticks(os.getpid()), "started": time.time()}
    for _ in range(3):
        if not create_exclusive(path, json.dumps(me)):
            info = _holder(path)
            if info is not None and (info["pid"], info.get("host")) == (me["pid"], me["host"]):
                return path  # ours already
            if info is not None:
                same_host = info.get("host") == me["host"]
                if not same_host or _alive(info["pid"], info.get("start")):
                    raise _refusal(path, info, same_host) from None
            path.unlink(missing_ok=True)  # stale: its process has ended
            continue
        return path
    raise RunLockedError(f"{path}: could not be taken (another run keeps taking it); fix: run again")


def release(run_dir: str | os.PathLike[str]) -> None:
    """Drop the run's lock if this process holds it."""
    path = lock_path(run_dir)
    info = _holder(path)
    if info is not None and (info["pid"], info.get("host")) == (os.getpid(), socket.gethostname()):
        path.unlink(missing_ok=True)
