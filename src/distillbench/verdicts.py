"""How a Fig. 7 cell's verdict is made from its seeds, their spread and the pooled Wilson interval.

The rule (data in ``benchmark/papernot2016/tolerances.yaml``, block ``verdict``):

* a model whose test accuracy falls short of the paper's by more than ``accuracy.max_shortfall_pp`` is
  *model under-trained*, whatever its success rate;
* otherwise the cell's *band* is the widest of: the range of the per-seed success rates (min to max), and the
  95% Wilson interval of all targets of all seeds pooled; it is widened by a tolerance only where the paper's
  own spread for that cell is known (``verdict.paper_spread_pp``; the paper reports one run per cell and no
  error bars, so by default no tolerance at all: the former blanket +-10 pp is gone);
* *reproduced* when the paper's value lies in the band, *not reproduced (higher/lower)* when it lies outside;
* *inconclusive* when the band is wider than ``verdict.max_band_pp``: the seeds disagree so much that no value
  could be refuted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .settings import REPO_ROOT
from .stats import HIGHER, LOWER, NO_REFERENCE, REPRODUCED, UNDER_TRAINED, wilson_interval

INCONCLUSIVE = "inconclusive (seeds disagree)"
VERDICTS = (REPRODUCED, HIGHER, LOWER, UNDER_TRAINED, INCONCLUSIVE, NO_REFERENCE)
TOLERANCES = REPO_ROOT / "benchmark" / "papernot2016" / "tolerances.yaml"


@dataclass(frozen=True)
class VerdictRule:
    """The verdict rule's numbers (see the module docstring)."""

    max_accuracy_shortfall_pp: float = 2.5
    max_band_pp: float = 25.0
    # (dataset, model) -> the paper's own spread in pp for that cell; model is "baseline" or "distilled_T<T>".
    paper_spread_pp: Mapping[tuple[str, str], float] = field(default_factory=dict)

    def tolerance_pp(self, dataset: str, model: str) -> float:
        return float(self.paper_spread_pp.get((dataset, model), 0.0))


def load_rule(path: Path = TOLERANCES) -> VerdictRule:
    tol = yaml.safe_load(Path(path).read_text())
    block = tol.get("verdict") or {}
    spread = {
        (str(d), str(m)): float(v)
        for d, cells in (block.get("paper_spread_pp") or {}).items()
        for m, v in cells.items()
    }
    return VerdictRule(
        max_accuracy_shortfall_pp=float(tol["accuracy"]["max_shortfall_pp"]),
        max_band_pp=float(block.get("max_band_pp", 25.0)),
        paper_spread_pp=spread,
    )


@dataclass(frozen=True)
class SeedCell:
    """One Fig. 7 cell over its seeds: per-seed successes and targets (the first seed first)."""

    successes: Sequence[int]
    targets: Sequence[int]

    @property
    def n_seeds(self) -> int:
        return len(self.targets)

    @property
    def rates_pct(self) -> list[float]:
        return [100 * k / n for k, n in zip(self.successes, self.targets, strict=True)]

    @property
    def mean_pct(self) -> float:
        return sum(self.rates_pct) / self.n_seeds

    @property
    def sd_pp(self) -> float:
        """Sample standard deviation across seeds (nan with one seed)."""
        if self.n_seeds < 2:
            return float("nan")
        m = self.mean_pct
        return math.sqrt(sum((r - m) ** 2 for r in self.rates_pct) / (self.n_seeds - 1))

    @property
    def pooled_ci_pct(self) -> tuple[float, float]:
        lo, hi = wilson_interval(int(sum(self.successes)), int(sum(self.targets)))
        return 100 * lo, 100 * hi

    def band_pct(self, tolerance_pp: float = 0.0) -> tuple[float, float]:
        """The range the paper's value must fall in: seed range and pooled interval, widened by ``tolerance_pp``."""
        lo, hi = self.pooled_ci_pct
        rates = self.rates_pct
        return min(lo, *rates) - tolerance_pp, max(hi, *rates) + tolerance_pp


def cell_verdict(
    paper_pct: float | None,
    cell: SeedCell,
    rule: VerdictRule,
    *,
    tolerance_pp: float = 0.0,
    accuracy_pct: float | None = None,
    reference_accuracy_pct: float | None = None,
) -> str:
    """The verdict of one cell (see the module docstring); ``accuracy_pct``: the seeds' mean test accuracy."""
    if (
        accuracy_pct is not None
        and reference_accuracy_pct is not None
        and not math.isnan(accuracy_pct)
        and reference_accuracy_pct - accuracy_pct > rule.max_accuracy_shortfall_pp
    ):
        return UNDER_TRAINED
    if paper_pct is None or math.isnan(paper_pct):
        return NO_REFERENCE
    lo, hi = cell.band_pct(tolerance_pp)
    if hi - lo > rule.max_band_pp:
        return INCONCLUSIVE
    if lo <= paper_pct <= hi:
        return REPRODUCED
    return HIGHER if cell.mean_pct > paper_pct else LOWER


def rule_text(rule: VerdictRule) -> str:
    """The plain-language paragraph "How verdicts are made" of REPORT.md."""
    spread = (
        "; ".join(f"{d} {m}: ±{v:g} pp" for (d, m), v in sorted(rule.paper_spread_pp.items()))
        if rule.paper_spread_pp
        else ""
    )
    tol = (
        f"A tolerance is added only where the paper's own spread is known ({spread})."
        if spread
        else "No tolerance is added: the paper reports one run per cell and no spread, so nothing justifies one "
        "(the former blanket ±10 pp would call 82.23% vs 89.00% on 900 targets *reproduced*, though 82.23 lies "
        "far outside 89.00%'s 95% interval of about 86.8–90.9%)."
    )
    return (
        "Each cell is attacked once per seed (the whole chain retrained: teacher, soft labels, distilled network). "
        "Its *band* is the wider of the range of the per-seed success rates (min–max) and the 95% Wilson interval "
        "of all targets of all seeds pooled. " + tol + " *reproduced*: the paper's value lies in the band; *not "
        "reproduced (higher/lower)*: outside it, our mean above/below; "
        f"*{INCONCLUSIVE}*: the band is wider than {rule.max_band_pp:g} pp, so no value could be refuted; "
        f"*{UNDER_TRAINED}*: the seeds' mean test accuracy falls more than {rule.max_accuracy_shortfall_pp:g} pp "
        "short of the paper's, so the attack measures an untrained network, not the defense. With one seed the "
        "band is the Wilson interval alone, which ignores the training-to-training spread: read single-seed "
        "verdicts as provisional (the column *seeds* says how many)."
    )
