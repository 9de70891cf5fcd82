"""Saturation diagnostics as data (saturation.py): the figures from logits, and what committed runs recorded."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from distillbench.saturation import (
    CW2016_LOGIT_L1_DISTILLED,
    CW2016_LOGIT_L1_UNDISTILLED,
    beside_carlini_wagner,
    logit_saturation,
    recorded_saturation,
)


def test_logit_figures_on_a_known_case():
    z = np.array([[3.0, -1.0, 0.0], [0.5, 2.5, -2.0], [10.0, 9.0, -1.0]])
    s = logit_saturation(z)
    l1 = np.abs(z).sum(axis=1)  # 4, 5, 20
    assert s.images == 3
    assert s.logit_l1_sum == pytest.approx(l1.mean())
    assert s.logit_l1_per_logit == pytest.approx(l1.mean() / 3)
    # top-2 gaps: 3 - 0 = 3, 2.5 - 0.5 = 2, 10 - 9 = 1: median 2
    assert s.median_top2_gap == pytest.approx(2.0)
    # An even count: the lower middle value (gaps 1, 2, 3, 4 -> 2), as torch.median.
    assert logit_saturation(np.vstack([z, [[4.0, 0.0, -1.0]]])).median_top2_gap == pytest.approx(2.0)
    torch = pytest.importorskip("torch", reason="torch input is optional")
    assert logit_saturation(torch.tensor(z)) == s
    with pytest.raises(ValueError, match="images, classes"):
        logit_saturation(np.zeros(5))


def test_repeating_each_image_per_target_changes_nothing():
    """The gradient tables average over targets (each image once per target): same figures as over images."""
    rng = np.random.default_rng(0)
    z = rng.normal(scale=30, size=(100, 10))
    once, nine = logit_saturation(z), logit_saturation(np.repeat(z, 9, axis=0))
    assert nine.logit_l1_sum == pytest.approx(once.logit_l1_sum)
    assert nine.median_top2_gap == pytest.approx(once.median_top2_gap)


def test_recorded_tables_agree_with_the_logits_and_say_what_is_missing(tmp_path):
    """A gradient table written by gradients.gradient_stats (Fig. 7 protocol: every image towards each other
    class) is read back as the figures logit_saturation computes from the same model's logits."""
    torch = pytest.importorskip("torch", reason="the gradient tables are written with torch")
    from distillbench.gradients import gradient_stats

    torch.manual_seed(0)
    classes, images = 10, 12
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, classes))
    with torch.no_grad():
        model[1].weight.mul_(40)  # large logits, as a distilled network's
    x = torch.rand(images, 1, 4, 4)
    label = model(x).argmax(1)
    rows = [(i, t) for i in range(images) for t in range(classes) if t != int(label[i])]
    idx = torch.tensor([i for i, _ in rows])
    target = torch.tensor([t for _, t in rows])
    folder = tmp_path / "gradients" / "mnist"
    folder.mkdir(parents=True)
    (folder / "baseline.json").write_text(json.dumps(gradient_stats(model, x[idx], target)))
    t = recorded_saturation(tmp_path, [("mnist", "baseline"), ("mnist", "distilled_T7")], {"mnist": classes})
    with torch.no_grad():
        direct = logit_saturation(model.double()(x.double()))  # gradient_stats computes the logits in float64
    r = t.iloc[0]
    assert r.images == images
    assert r.logit_l1_sum == pytest.approx(direct.logit_l1_sum, rel=1e-12)
    assert r.logit_l1_per_logit == pytest.approx(direct.logit_l1_per_logit, rel=1e-12)
    assert r.median_top2_gap == pytest.approx(direct.median_top2_gap, rel=1e-12)
    assert math.isnan(t.logit_l1_sum.iloc[1]) and "not recorded" in t.source.iloc[1]
    (folder / "baseline.json").write_text(json.dumps({"targets": 9}))
    with pytest.raises(ValueError, match="mean_logit_l1"):
        recorded_saturation(tmp_path, [("mnist", "baseline")], {"mnist": classes})


def test_beside_carlini_wagner_gives_both_readings():
    t = pd.DataFrame({"logit_l1_sum": [58.0], "logit_l1_per_logit": [5.8]})
    b = beside_carlini_wagner(t)
    assert b.x_cw_undistilled_if_sum.iloc[0] == pytest.approx(58.0 / CW2016_LOGIT_L1_UNDISTILLED)
    assert b.x_cw_undistilled_if_per_logit.iloc[0] == pytest.approx(1.0)
    assert b.x_cw_distilled_if_sum.iloc[0] == pytest.approx(58.0 / CW2016_LOGIT_L1_DISTILLED)
