"""A full disk is reported in one line (the file, the free space, what to do), and leaves no half-written file."""

from __future__ import annotations

import errno
import os
import subprocess
import uuid

import pytest
import torch

from distillbench import io


def test_enospc_names_the_file_and_the_free_space_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "m.pt"
    io.write_text(target, "old\n")
    with pytest.raises(io.DiskFullError) as exc, io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")
    msg = str(exc.value)
    assert msg.startswith(f"{target}: no space left") and "free on that file system" in msg and "fix:" in msg
    assert len(msg.splitlines()) == 1
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_a_library_error_on_a_nearly_full_disk_is_read_as_out_of_space(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "free_bytes", lambda path: 1 << 20)
    with pytest.raises(io.DiskFullError, match="1.0 MiB free"), io.atomic_path(tmp_path / "x.pt"):
        raise RuntimeError("basic_ios::clear: iostream error")
    assert not list(tmp_path.iterdir())


def test_other_errors_pass_through_unchanged(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "free_bytes", lambda path: 100 << 30)
    with pytest.raises(RuntimeError, match="a bug"), io.atomic_path(tmp_path / "x.pt"):
        raise RuntimeError("a bug")


def _small_tmpfs(tmp_path, size="2m"):
    if os.geteuid() != 0:
        return None
    mnt = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True
    ).returncode:
        return None
    return mnt


def test_torch_save_on_a_real_full_file_system(tmp_path):
    """A real 2 MB file system (tmpfs: needs root) and a 4 MB checkpoint; elsewhere a write raising ENOSPC."""
    mnt = _small_tmpfs(tmp_path)
    if mnt is None:
        print("no tmpfs (not root, or mount refused): the ENOSPC tests above cover the same path")
        pytest.skip("mounting a small tmpfs needs root")
    try:
        with pytest.raises(io.DiskFullError) as exc:
            io.save_torch(mnt / "run" / "model.pt", {"w": torch.zeros(1 << 20)})
        assert "no space left" in str(exc.value) and "Traceback" not in str(exc.value)
        assert list((mnt / "run").iterdir()) == [], "the half-written temporary file was left behind"
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)  # lazy: torch may still hold the file open
