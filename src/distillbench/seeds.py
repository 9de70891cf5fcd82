"""Seeds: which deployed models are retrained under more than one seed, and each Fig. 7 cell over its seeds.

Config: ``seeds: [1234, 1, 2]`` (the first must equal ``seed``: it trains and attacks every model of Fig. 7)
and per dataset ``seed_models: all`` or a list such as ``[baseline, distilled_T100]``: the deployed models
whose whole chain (warm start if the profile uses one, teacher at T, soft labels, distilled network) is
retrained and attacked (main numerics) under every further seed. Every seed's files have the same paths
but for a ``seed<s>`` directory (papers/papernot2016/plan.py forms them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .stats import wilson_interval

# The seed rule: a network's initialisation (and shuffling) seed from the run's seed, its role and its temperature.
ROLE_SEED_OFFSET = {"warm_start": 0, "teacher": 100_000, "student": 200_000}


def model_seed(base: int, role: str, temperature: float) -> int:
    """Distinct, reproducible seeds: teacher and student at one T never share an initialisation."""
    return int(base) + ROLE_SEED_OFFSET[role] + int(round(float(temperature) * 100))


def all_seeds(config: Mapping[str, Any]) -> list[int]:
    """Every seed of the run, the config's ``seed`` first."""
    return [int(s) for s in (config.get("seeds") or [config["seed"]])]


def extra_seeds(config: Mapping[str, Any]) -> list[int]:
    return all_seeds(config)[1:]


def deployed_models(config: Mapping[str, Any]) -> list[str]:
    from .model_names import deployed_names

    return deployed_names(config["temperatures"])


def seed_models(config: Mapping[str, Any], dataset: str) -> list[str]:
    """The deployed models of ``dataset`` retrained under every seed (in the Fig. 7 order)."""
    chosen = config["datasets"][dataset].get("seed_models") or []
    models = deployed_models(config)
    if chosen == "all":
        return models
    wanted = {str(m) for m in chosen}
    return [m for m in models if m in wanted]


def seed_problems(config: Mapping[str, Any]) -> list[str]:
    """Checks the schema cannot express: the first seed, and model names against the temperatures."""
    out = []
    seeds = config.get("seeds")
    if seeds and int(seeds[0]) != int(config["seed"]):
        out.append(
            f"config field 'seeds': the first seed is {seeds[0]}, but 'seed' is {config['seed']}; fix: start the "
            f"list with {config['seed']} (it trains and attacks every model of Fig. 7), e.g. "
            f"[{config['seed']}, {', '.join(str(s) for s in seeds[1:]) or '1, 2'}]"
        )
    valid = deployed_models(config)
    for name, ds in config["datasets"].items():
        chosen = ds.get("seed_models")
        if chosen in (None, "all"):
            continue
        unknown = [m for m in chosen if m not in valid]
        if unknown:
            out.append(
                f"config field 'datasets.{name}.seed_models': unknown model(s) {unknown}; fix: use 'all' or "
                f"names of deployed models of this run's temperatures: {', '.join(valid)}"
            )
    return out


def seed_cells(
    config: Mapping[str, Any], attack_file: Callable[[str, int], str], dataset: str, numerics: str
) -> pd.DataFrame:
    """Per deployed model of ``dataset``: each seed's successes, targets and test accuracy (the first seed for
    every model, the others where that model has replicas), read from ``attack_file(model, seed)`` (the paper's
    plan forms the paths).
    Columns: dataset, model, seed, successes, targets, success_rate_pct, test_accuracy_pct."""
    rows = []
    first, *others = all_seeds(config)
    replicated = set(seed_models(config, dataset))
    for model in deployed_models(config):
        seeds = [first, *(others if model in replicated else [])]
        paths = [(s, Path(attack_file(model, s))) for s in seeds]
        for seed, path in paths:
            if seed != first and not Path(path).exists():
                # A run reported again after `seeds` grew (e.g. a committed single-seed run): that seed is missing
                # and the cell counts only the seeds it has (its `seeds` column says how many).
                continue
            s = json.loads(Path(path).read_text())
            rows.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "seed": seed,
                    "successes": int(s["successes"]),
                    "targets": int(s["targets"]),
                    "success_rate_pct": float(s["success_rate_pct"]),
                    "test_accuracy_pct": 100 * float(s["test_accuracy"]),
                }
            )
    return pd.DataFrame(rows)


SEED_COLUMNS = (
    "seeds",
    "seed_list",
    "mean_pct",
    "sd_pp",
    "min_pct",
    "max_pct",
    "pooled_successes",
    "pooled_targets",
    "pooled_ci95_low_pct",
    "pooled_ci95_high_pct",
    "test_accuracy_mean_pct",
)


def add_seed_columns(table: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """The Fig. 7 table (one row per cell, the first seed's numbers in ``ours_pct``) with, per cell, its seeds
    (``cells``: :func:`seed_cells` rows of every dataset): number of seeds, mean, sd, min and max of the per-seed
    success rates, pooled successes and targets with their 95% Wilson interval, and the seeds' mean test accuracy.
    A cell with no seed rows counts the first seed's numbers alone."""
    out = table.copy()
    rows = []
    for _, r in out.iterrows():
        g = cells[(cells.dataset == r.dataset) & (cells.model == r.model)] if len(cells) else cells
        if not len(g):  # no seed rows: the first seed's numbers alone
            g = pd.DataFrame(
                [
                    {
                        "seed": None,
                        "successes": r.successes,
                        "targets": r.targets,
                        "test_accuracy_pct": r.test_accuracy_pct,
                    }
                ]
            )
        rows.append(_seed_summary(g))
    for k in SEED_COLUMNS:
        out[k] = [row[k] for row in rows]
    return out


def _seed_summary(g: pd.DataFrame) -> dict[str, Any]:
    """One cell's :data:`SEED_COLUMNS` from its per-seed rows (seed, successes, targets, test_accuracy_pct)."""
    successes, targets = [int(v) for v in g.successes], [int(v) for v in g.targets]
    rates = pd.Series([100 * k / n for k, n in zip(successes, targets, strict=True)], dtype=float)
    lo, hi = wilson_interval(sum(successes), sum(targets))
    return {
        "seeds": len(rates),
        "seed_list": " ".join(str(s) for s in g.seed if s is not None and not pd.isna(s)),
        "mean_pct": float(rates.mean()),
        "sd_pp": float(rates.std(ddof=1)) if len(rates) > 1 else float("nan"),
        "min_pct": float(rates.min()),
        "max_pct": float(rates.max()),
        "pooled_successes": sum(successes),
        "pooled_targets": sum(targets),
        "pooled_ci95_low_pct": 100 * lo,
        "pooled_ci95_high_pct": 100 * hi,
        "test_accuracy_mean_pct": float(g.test_accuracy_pct.mean()),
    }


def seeds_markdown(cells: pd.DataFrame, titles: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """Per replicated cell, each seed's success rate and test accuracy (``labels``: model name -> its label)."""
    rows = []
    if cells.empty:  # no cell measured under the table's numerics (e.g. a run that never ran float32)
        return ""
    for (d, m), g in cells.groupby(["dataset", "model"], sort=False):
        if len(g) < 2:
            continue
        rows.append(
            {
                "dataset": titles.get(str(d), str(d)),
                "model": labels.get(str(m), str(m)),
                "success % per seed": ", ".join(
                    f"{int(s)}: {v:.2f}" for s, v in zip(g.seed, g.success_rate_pct, strict=True)
                ),
                "test acc % per seed": ", ".join(f"{v:.2f}" for v in g.test_accuracy_pct),
                "targets per seed": ", ".join(str(int(t)) for t in g.targets),
            }
        )
    if not rows:
        return ""
    return pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True)


def settings_line(config: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    """REPORT.md's Settings line on seeds."""
    seeds = all_seeds(config)
    reps = [
        f"{titles.get(d, d)}: {', '.join(seed_models(config, d)) or 'none'}"
        for d in config["datasets"]
        if len(seeds) > 1
    ]
    line = f"- seeds: {', '.join(str(s) for s in seeds)} (the first: every model of Fig. 7)"
    if len(seeds) > 1:
        line += (
            "; retrained under every further seed, whole chain (warm start where used, teacher, soft labels, "
            "distilled network), attacked with the main numerics: " + "; ".join(reps)
        )
    return line
