"""scripts/fig7_verdicts.py on a small synthetic run: one table per dataset and numerics, verdicts of the clustered
rule, and the saturation diagnostics or the sentence saying they were not recorded."""

import importlib.util
import json

import pandas as pd

from distillbench.config import REPO_ROOT
from distillbench.stats import LOWER


def load_script():
    spec = importlib.util.spec_from_file_location("fig7_verdicts", REPO_ROOT / "scripts" / "fig7_verdicts.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_cell(folder, model, successes_per_image):
    rows = [
        (i, 0, 0, t, j < k, 0, 0, 0, False)
        for i, k in enumerate(successes_per_image)
        for j, t in enumerate(range(1, 10))
    ]
    cols = "sample_index,true_label,original_prediction,target,success,features_changed,iterations,"
    cols += "final_prediction,no_pair"
    pd.DataFrame(rows, columns=cols.split(",")).to_csv(folder / f"{model}.csv", index=False)
    (folder / f"{model}.json").write_text(json.dumps({"test_accuracy": 0.99}))


def test_prints_verdicts_and_says_what_is_not_recorded(tmp_path, capsys):
    folder = tmp_path / "run" / "attacks" / "mnist" / "float32" / "seed1234"  # the run's first seed
    folder.mkdir(parents=True)
    (tmp_path / "run" / "config.json").write_text(json.dumps({"seed": 1234}))
    write_cell(folder, "baseline", [1] * 100)  # 11.1% against the paper's baseline (far higher)
    write_cell(folder, "distilled_T100", [0] * 100)
    assert load_script().main([str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "### run: mnist, numerics float32" in out
    assert LOWER in out  # the baseline's 11.1% is far below the paper's
    assert "| 100 " in out and "| baseline " in out
    assert "not recorded for mnist" in out
