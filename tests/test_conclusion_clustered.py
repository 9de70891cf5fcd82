"""The conclusion reads the image-clustered columns of cell_comparison where the Fig. 7 table has them, and leaves
a near-chance model unjudged."""

import pandas as pd

from distillbench.conclusion import FAILS, HOLDS, UNKNOWN, conclusion_lines
from distillbench.stats import REPRODUCED, UNTRAINED


def fig7(top_low: float, top_high: float, top_verdict: str = REPRODUCED) -> pd.DataFrame:
    """Baseline and T=100 rows: the naive pooled columns say "holds", the clustered ones as given."""
    common = {"dataset": "mnist", "test_accuracy_mean_pct": 99.0, "seeds": 1}
    return pd.DataFrame(
        [
            {
                **common,
                "model": "baseline",
                "temperature": None,
                "verdict": REPRODUCED,
                "mean_pct": 90.0,
                "pooled_ci95_low_pct": 88.0,
                "pooled_ci95_high_pct": 92.0,
                "pooled_targets": 900,
                "pooled_pct": 90.0,
                "clustered_low_pct": 85.0,
                "clustered_high_pct": 94.0,
            },
            {
                **common,
                "model": "distilled_T100",
                "temperature": 100.0,
                "verdict": top_verdict,
                "mean_pct": 5.0,
                "pooled_ci95_low_pct": 3.8,
                "pooled_ci95_high_pct": 6.6,
                "pooled_targets": 900,
                "pooled_pct": 5.0,
                "clustered_low_pct": top_low,
                "clustered_high_pct": top_high,
            },
        ]
    )


def test_the_clustered_interval_decides_the_outcome():
    held = "\n".join(conclusion_lines(fig7(3.0, 8.0), holds_below_pct=10.0))
    assert f"**{HOLDS}**" in held and "(95% CI 3.0–8.0%" in held
    # The same cell with a clustered upper bound above 10%: the naive columns would still say "holds".
    wide = "\n".join(conclusion_lines(fig7(1.0, 12.0), holds_below_pct=10.0))
    assert f"**{HOLDS}**" not in wide and "(95% CI 1.0–12.0%" in wide
    assert FAILS in wide or "weakens" in wide


def test_a_near_chance_model_is_not_judged():
    text = "\n".join(conclusion_lines(fig7(3.0, 8.0, top_verdict=UNTRAINED)))
    assert f"**{UNKNOWN}**" in text
