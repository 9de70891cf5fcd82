"""Keep freed tensor memory in the process instead of handing it back to the kernel (glibc only).

PyTorch has no caching allocator on the CPU: every activation buffer is a ``malloc``/``free``. By
default glibc serves blocks above its mmap threshold (128 KiB at first, adjusted upwards to at most
32 MiB as mapped blocks are freed) with a fresh ``mmap``, and gives the top of the heap back to the
kernel once more than its trim threshold (128 KiB at first, then twice the mmap threshold) is free
there. So the large buffers of every training step or attack iteration were mapped or grown, zero-filled
by the kernel, faulted in and released again: system time, about 7 s per job in the cpu run of
2026-11-26c (24 of its 128 CPU-minutes). :func:`keep_freed_memory` fixes both thresholds high, so those
buffers are reused from the heap. What is computed does not change (only where buffers come from); the
price is that a process keeps its peak heap until it exits. Measured (README "Speed"): a cpu-profile
MNIST training job 53-54 s -> 45-47 s wall alone, 4.5 M -> 0.2 M page faults; ``benchmark/perf/train.py``
shows it as the variant ``channels_last+heap``.

Call it once, early, in a job's process; it is a no-op (returning the reason) off glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

# mallopt(3) parameter numbers, from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

MIB = 1 << 20
# glibc refuses an mmap threshold above 32 MiB on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX); blocks larger than
# that are still mapped each time: keep batches so that one activation buffer stays below it.
MMAP_THRESHOLD = 32 * MIB
TRIM_THRESHOLD = 1024 * MIB
TOP_PAD = 64 * MIB


def keep_freed_memory() -> str:
    """Raise glibc's mmap and trim thresholds for this process; returns what was done, for the job's log."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return f"allocator left as is: not glibc ({platform.system()} {platform.libc_ver()[0] or 'unknown libc'})"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError) as exc:
        return f"allocator left as is: no mallopt ({exc})"
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = {M_MMAP_THRESHOLD: MMAP_THRESHOLD, M_TRIM_THRESHOLD: TRIM_THRESHOLD, M_TOP_PAD: TOP_PAD}
    failed = [param for param, value in settings.items() if mallopt(param, value) != 1]
    if failed:
        return f"allocator: mallopt refused parameters {failed}"
    return (
        f"allocator: glibc mmap threshold {MMAP_THRESHOLD // MIB} MiB, trim threshold {TRIM_THRESHOLD // MIB} MiB, "
        f"top pad {TOP_PAD // MIB} MiB (freed buffers stay in the heap)"
    )
