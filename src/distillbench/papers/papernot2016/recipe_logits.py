"""The recipe study's logit-scale job: a trained network's logit scale on each protocol's attacked images.

``python -m distillbench.papers.papernot2016.recipe_logits --model CKPT --data-dir DIR --samples N
--protocols first draw1 ... --out JSON`` writes, per protocol, :func:`distillbench.saturation.logit_saturation`
of the network's logits on exactly the images the attack of that protocol uses (the same image plan), plus the
network's test accuracy and training settings from its checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import torch

from ...checkpoints import load_checkpoint
from ...data import load_split
from ...evaluation import attack_targets
from ...io import write_json
from ...saturation import logit_saturation
from .recipe_study import draw_seed


def logit_scales(model: torch.nn.Module, test: Any, samples: int, protocols: list[str]) -> dict[str, Any]:
    out = {}
    for p in protocols:
        plan = attack_targets(test, samples, 1, draw_seed(p))
        idx = torch.as_tensor(sorted(set(int(i) for i in plan.sample_index)))
        with torch.no_grad():
            z = model(test.images[idx])
        out[p] = dataclasses.asdict(logit_saturation(z))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="recipe_logits", description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--samples", type=int, required=True)
    ap.add_argument("--protocols", nargs="+", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, ckpt = load_checkpoint(Path(a.model), "cpu")
    spec = ckpt["spec"]
    test = load_split(str(spec["dataset"]), Path(a.data_dir), train=False)
    write_json(
        Path(a.out),
        {
            "model_path": a.model,
            "dataset": spec["dataset"],
            "trained_temperature": float(spec["temperature"]),
            "test_accuracy": float(ckpt["test_accuracy"]),
            "spec": {k: v for k, v in spec.items() if k != "extra"},
            "protocols": logit_scales(model.eval(), test, a.samples, list(a.protocols)),
        },
    )


if __name__ == "__main__":
    main()
