"""The report section "What moves the cells": the recipe study's shifts, ranked, with intervals.

Reads what workflow/rules/recipe.smk wrote under ``results/<run>/recipe/`` (:mod:`.recipe_study`'s paths) and
returns the section's markdown; writes ``recipe.csv`` (one row per dataset, choice, model, numerics and
protocol) beside it. A training choice's shift is the variant's success rate minus the configured recipe's on
the **same** targets (paired, image-clustered: :func:`distillbench.paired_difference.paired_difference`); a
protocol choice's shift is the configured recipe's rate on a random draw of test images minus its rate on the
first ones (different images: :func:`~distillbench.paired_difference.unpaired_difference`). The ranking pools
a training choice's protocols by image (an image drawn twice is one cluster) and orders the choices by the
largest absolute shift they cause on any model and numerics.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ...paired_difference import Difference, paired_difference, unpaired_difference
from .recipe_study import FIRST, NUMERICS, REFERENCE, RecipePlan, Variant, datasets, protocols, variants

TITLE = "## What moves the cells"
MODELS = ("baseline", "distilled")


def _per_image(table: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Per image: successes and targets."""
    g = table.groupby("sample_index").success
    return [float(v) for v in g.sum()], [float(v) for v in g.count()]


def _paired(variant: pd.DataFrame, reference: pd.DataFrame) -> Difference:
    both = variant.merge(reference, on=["sample_index", "target"], suffixes=("_v", "_r"), validate="1:1")
    if len(both) != len(variant) or len(both) != len(reference):
        raise ValueError("recipe study: a variant and the configured recipe were attacked on different targets")
    g = both.groupby("sample_index")
    return paired_difference(g.success_v.sum(), g.success_r.sum(), g.size())


def _read(path: Path) -> pd.DataFrame:
    t = pd.read_csv(path, usecols=["sample_index", "target", "success"])
    t["success"] = t.success.astype(bool).astype(int)
    return t


def _row(base: dict[str, Any], table: pd.DataFrame, logits: Mapping[str, Any], protocol: str) -> dict[str, Any]:
    sat = logits["protocols"][protocol]
    return {
        **base,
        "protocol": protocol,
        "successes": int(table.success.sum()),
        "targets": len(table),
        "success_pct": 100 * float(table.success.mean()),
        "test_accuracy_pct": 100 * float(logits["test_accuracy"]),
        "logit_l1_sum": sat["logit_l1_sum"],
        "logit_l1_per_logit": sat["logit_l1_per_logit"],
        "median_top2_gap": sat["median_top2_gap"],
    }


def _with(row: dict[str, Any], ref_pct: float, d: Difference) -> dict[str, Any]:
    return {
        **row,
        "reference_success_pct": ref_pct,
        "shift_pp": d.diff_pp,
        "shift_low_pp": d.low_pp,
        "shift_high_pp": d.high_pp,
        "discordant_images": d.discordant_images,
    }


@dataclass(frozen=True)
class _Cell:
    """Where one dataset, model and numerics of the study wrote its tables."""

    plan: RecipePlan
    dataset: str
    model: str
    numerics: str

    def table(self, variant: str, protocol: str) -> pd.DataFrame:
        path = Path(self.plan.attack_summary(self.dataset, variant, self.numerics, protocol, self.model))
        return _read(path.with_suffix(".csv"))

    def logits(self, variant: str) -> dict[str, Any]:
        return dict(json.loads(Path(self.plan.logits_summary(self.dataset, variant, self.model)).read_text()))

    def base(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "model": self.model, "numerics": self.numerics}


def _protocol_rows(cell: _Cell, refs: Mapping[str, pd.DataFrame], rows: list[Any], ranked: list[Any]) -> None:
    """The configured recipe per protocol; each random draw against the first images (unpaired)."""
    first = refs[FIRST]
    for p, t in refs.items():
        r = _row({**cell.base(), "choice": "protocol" if p != FIRST else REFERENCE}, t, cell.logits(REFERENCE), p)
        r["change"] = "the configured recipe" if p == FIRST else f"test images: first -> {p}"
        if p == FIRST:
            rows.append(r)
            continue
        diff = unpaired_difference(*_per_image(t), *_per_image(first))
        rows.append(_with(r, 100 * float(first.success.mean()), diff))
        ranked.append(_with(r, 100 * float(first.success.mean()), diff))


def _variant_rows(
    cell: _Cell, v: Variant, refs: Mapping[str, pd.DataFrame], rows: list[Any], ranked: list[Any]
) -> None:
    """One training choice per protocol (paired with the configured recipe), then pooled over the protocols."""
    lg = cell.logits(v.name)
    base = {**cell.base(), "choice": v.name, "change": v.choice}
    pooled_v, pooled_r = [], []
    for p, ref in refs.items():
        t = cell.table(v.name, p)
        rows.append(_with(_row(base, t, lg, p), 100 * float(ref.success.mean()), _paired(t, ref)))
        pooled_v.append(t)
        pooled_r.append(ref)
    # one cluster per image: an image in several protocols adds all its targets to that cluster
    tv, tr = pd.concat(pooled_v), pd.concat(pooled_r)
    key = ["sample_index", "target"]
    tv = tv.assign(target=tv.groupby(key).cumcount() * 100 + tv.target)
    tr = tr.assign(target=tr.groupby(key).cumcount() * 100 + tr.target)
    r = _row(base, tv, lg, FIRST)
    r["protocol"] = "all (pooled by image)"
    ranked.append(_with(r, 100 * float(tr.success.mean()), _paired(tv, tr)))


def collect(config: Mapping[str, Any], results_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-protocol rows, ranked rows): see the module text. Both empty when the study has no results."""
    plan = RecipePlan(config, str(results_dir), "")
    rows: list[dict[str, Any]] = []
    ranked: list[dict[str, Any]] = []
    for d in datasets(config):
        for m in MODELS:
            if not Path(plan.logits_summary(d, REFERENCE, m)).exists():
                continue
            for n in NUMERICS:
                cell = _Cell(plan, d, m, n)
                refs = {p: cell.table(REFERENCE, p) for p in protocols(config)}
                _protocol_rows(cell, refs, rows, ranked)
                for v in variants(config, d)[1:]:
                    _variant_rows(cell, v, refs, rows, ranked)
    return pd.DataFrame(rows), _rank(pd.DataFrame(ranked))


def _rank(ranked: pd.DataFrame) -> pd.DataFrame:
    if not len(ranked):
        return ranked
    ranked = ranked.assign(abs_shift_pp=ranked.shift_pp.abs())
    ranked["choice_key"] = ranked.choice + ranked.protocol.where(ranked.choice == "protocol", "")
    worst = ranked.groupby(["dataset", "choice_key"]).abs_shift_pp.transform("max")
    ranked = ranked.assign(choice_max_abs_shift_pp=worst)
    ranked = ranked.sort_values(
        ["dataset", "choice_max_abs_shift_pp", "abs_shift_pp"], ascending=[True, False, False], kind="stable"
    )
    order = ranked.drop_duplicates(["dataset", "choice_key"])[["dataset", "choice_key"]]
    order["rank"] = order.groupby("dataset").cumcount() + 1
    ranked = ranked.merge(order, on=["dataset", "choice_key"]).drop(columns=["choice_key"])
    keys = ["dataset", "rank", "abs_shift_pp", "model", "numerics"]
    return ranked.sort_values(keys, ascending=[True, True, False, True, True], kind="stable").reset_index(drop=True)


def markdown(ranked: pd.DataFrame, config: Mapping[str, Any]) -> str:
    def f(v: float, nd: int = 1) -> str:
        return "–" if pd.isna(v) else f"{v:.{nd}f}"

    view = pd.DataFrame(
        {
            "rank": ranked["rank"].astype(str),
            "choice": ranked.change,
            "model": ranked.model,
            "numerics": ranked.numerics,
            "configured %": ranked.reference_success_pct.map(f),
            "changed %": ranked.success_pct.map(f),
            "shift pp [95% CI]": [
                f"{f(a, 2)} [{f(b, 2)}, {f(c, 2)}]"
                for a, b, c in zip(ranked.shift_pp, ranked.shift_low_pp, ranked.shift_high_pp, strict=True)
            ],
            # paired rows: images whose difference is not the mean one (0: the interval is a point, see
            # paired_difference); protocol rows compare different images
            "images differing": [str(int(v)) if v >= 0 else "–" for v in ranked.discordant_images],
            "test acc %": ranked.test_accuracy_pct.map(lambda v: f(v, 2)),
            "logit L1 (sum / per logit)": [
                f"{f(a)} / {f(b, 2)}" for a, b in zip(ranked.logit_l1_sum, ranked.logit_l1_per_logit, strict=True)
            ],
            "median top-2 gap": ranked.median_top2_gap.map(f),
        }
    )
    return view.to_markdown(index=False, disable_numparse=True)


def recipe_section(config: Mapping[str, Any], results_dir: Path, csv_path: Path | None = None) -> str:
    """The section's markdown (empty when the study is not enabled); writes ``recipe.csv`` (per protocol) to
    ``csv_path`` (default: beside the run's results, ``results_dir/recipe.csv``)."""
    from ...io import write_csv

    studied = datasets(config)
    if not studied:
        return ""
    rows, ranked = collect(config, Path(results_dir))
    lines = [TITLE, ""]
    if not len(rows):
        return "\n".join([*lines, "The recipe study is configured but has not run (`snakemake recipe_study`).", ""])
    write_csv(Path(csv_path or Path(results_dir) / "recipe.csv"), rows)
    b = RecipePlan(config, str(results_dir), "").block
    lines.append(
        f"Each contested training choice changed alone against the configured recipe, for the baseline (T=1) and "
        f"a network distilled at T={b['temperature']}, retrained from a cold start at {b['epochs_scale']}x the "
        f"profile's epochs (same seed); each attacked on the first {b['samples']} test images and on seeded random "
        f"draws of as many ({', '.join(str(s) for s in b['protocol_draws']) or 'none'}), with float32 and exact "
        "numerics. Shift: the changed recipe's success minus the configured one's on the same targets, pooled "
        "over the protocols; 95% interval from the per-image differences (paired, image-clustered). A protocol "
        "row compares the configured recipe on a random draw with the first images (different images: "
        "unpaired). Choices ranked by the largest absolute shift they cause; per-protocol rows in `recipe.csv`."
    )
    for d in studied:
        part = ranked[ranked.dataset == d]
        if len(part):
            lines += ["", f"### {d}", "", markdown(part, config)]
    return "\n".join([*lines, ""])
