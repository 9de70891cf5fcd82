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


def test_an_adaptive_attack_is_judged_on_its_own_clustered_interval():
    """One row per model and attack: its interval is the adaptive table's (image-clustered), not a Wilson
    interval recomputed from its counts: 8 of 90 at T=100 (Wilson upper bound 16.6%) with an interval of
    [4.0, 9.5] given holds below 10%, which the recomputed interval would not."""

    def row(model, t, k, low, high):
        return {
            "dataset": "mnist",
            "model": model,
            "attack": "jsma_f_t",
            "trained_temperature": t,
            "targets": 90,
            "successes": k,
            "success_rate_pct": 100 * k / 90,
            "ci95_low_pct": low,
            "ci95_high_pct": high,
            "test_accuracy": 0.99,
        }

    adaptive = pd.DataFrame([row("baseline", 1.0, 81, 70.0, 96.0), row("distilled_T100", 100.0, 8, 4.0, 9.5)])
    text = "\n".join(conclusion_lines(fig7(1.0, 6.0), adaptive))
    line = next(line for line in text.splitlines() if "adaptive `jsma_f_t`" in line)
    assert "8.9% (95% CI 4.0–9.5%, 90 targets) at T=100" in line
    assert "90.0% (95% CI 70.0–96.0%, 90 targets) without distillation" in line
    assert f"**{HOLDS}**" in line
