#!/usr/bin/env python
"""JSMA on the CPU: time per target against the attack's batch size, default glibc heap and kept heap, side by side.

    python benchmark/perf/attack_batch.py --checkpoint work/<run>/mnist/distilled_T40.pt --data-dir data

Attacks the first ``--samples`` test images x 9 targets of a workflow checkpoint with ``evaluation.run_attack``
(jsma_f, budget 112, ``--numerics``) once per batch size, first with glibc's default allocator settings, then
after ``distillbench.allocator.keep_freed_memory()`` (what every workflow job calls; process-wide and
irreversible, hence second). Prints wall seconds, user and system CPU seconds of the process, and whether the
per-target results (success, features changed, iterations, final prediction) equal the first row's: the batch
size must not change what the attack decides. The last line is
``attack_batch best=<batch>+<heap> speedup_vs_largest_default=<r> same_results=<true|false>``.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from distillbench import evaluation  # noqa: E402
from distillbench.allocator import keep_freed_memory  # noqa: E402
from distillbench.checkpoints import load_checkpoint  # noqa: E402
from distillbench.data import load_split  # noqa: E402

RESULT_COLUMNS = ["sample_index", "target", "success", "features_changed", "iterations", "final_prediction"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="a model written by the workflow (work/<run>/<dataset>/*.pt)")
    p.add_argument("--data-dir", required=True, help="the run's data_dir (torchvision layout)")
    p.add_argument("--samples", type=int, default=30, help="test images; 9 targets each (default 30: 270 targets)")
    p.add_argument("--batches", default="30,100,300", help="comma-separated batch sizes")
    p.add_argument("--numerics", default="exact", choices=["exact", "float32"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None, help="also write the printed lines to this file")
    a = p.parse_args(argv)
    try:
        batches = [int(b) for b in a.batches.split(",")]
    except ValueError:
        p.error(f"--batches {a.batches!r}: give comma-separated integers, e.g. 30,100,300")
    torch.set_num_threads(a.threads)
    model, meta = load_checkpoint(Path(a.checkpoint))
    dataset = meta["spec"]["dataset"]
    test = load_split(dataset, Path(a.data_dir), train=False)
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    say(
        f"# {a.checkpoint} ({dataset}); {a.samples * 9} targets, jsma_f, numerics {a.numerics}; torch "
        f"{torch.__version__}; python {platform.python_version()}; {torch.get_num_threads()} thread(s)"
    )
    say(f"{'batch':>6} {'heap':8} {'wall s':>8} {'user s':>8} {'sys s':>8} {'ms/target':>10} {'same':>5}")
    rows: dict[tuple[int, str], float] = {}
    first: str | None = None
    same_all = True
    for heap in ("default", "kept"):
        if heap == "kept":
            say(f"# {keep_freed_memory()}")
        for batch in batches:
            cfg = {
                "variant": "jsma_f",
                "numerics": a.numerics,
                "samples": a.samples,
                "targets_per_sample": 9,
                "max_features": 112,
                "batch_size": batch,
            }
            r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            df = evaluation.run_attack(model, test, cfg, torch.device("cpu"))
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            digest = hashlib.sha256(df[RESULT_COLUMNS].to_csv(index=False).encode()).hexdigest()
            first = first or digest
            same = digest == first
            same_all &= same
            rows[(batch, heap)] = wall
            say(
                f"{batch:6d} {heap:8} {wall:8.1f} {r1.ru_utime - r0.ru_utime:8.1f} {r1.ru_stime - r0.ru_stime:8.1f} "
                f"{1e3 * wall / len(df):10.1f} {str(same).lower():>5}"
            )
    best = min(rows, key=rows.__getitem__)
    ref = rows[(max(batches), "default")]
    say(
        f"attack_batch best={best[0]}+{best[1]} speedup_vs_largest_default={ref / rows[best]:.2f} "
        f"same_results={str(same_all).lower()}"
    )
    if a.out:
        Path(a.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
