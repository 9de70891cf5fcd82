"""Profile overlays (config/cpu.yaml, config/smoke.yaml) hold only what differs from config/config.yaml, and are
read as Snakemake reads them: merged over config.yaml."""

from __future__ import annotations

import copy

import pytest
import yaml

from distillbench.config import load_config, read_config_file, validate_config
from distillbench.config_profiles import DEFAULT_CONFIG, merged, read_profile, repeated_values

# Every profile overlay kept here (config.yaml is the base they merge over).
OVERLAYS = sorted(p.name for p in DEFAULT_CONFIG.parent.glob("*.yaml") if p != DEFAULT_CONFIG)


@pytest.fixture(scope="module")
def default(repo_root):
    return read_config_file(repo_root / "config" / "config.yaml")


@pytest.mark.parametrize("name", OVERLAYS)
def test_an_overlay_repeats_no_value_of_the_default_config(repo_root, default, name):
    overlay = read_config_file(repo_root / "config" / name)
    repeated = repeated_values(default, overlay)
    assert repeated == [], (
        f"config/{name} restates config/config.yaml's value of {', '.join(repeated)}: remove these lines "
        "(Snakemake merges the overlay over config.yaml, so they change nothing)"
    )


def test_the_profiles_are_overlays():
    assert {"cpu.yaml", "smoke.yaml"} <= set(OVERLAYS)


def test_a_repeated_value_is_found_at_any_depth(default):
    overlay = {
        "run_name": "x",  # differs
        "seed": default["seed"],  # the same scalar
        "temperatures": list(default["temperatures"]),  # the same list
        "datasets": {"mnist": {"training": {"lr": default["datasets"]["mnist"]["training"]["lr"], "epochs": 1}}},
        "execution": {"resources": {"attack": {"threads": default["execution"]["resources"]["attack"]["threads"]}}},
        "hinton2015": {"teacher": {"epochs": 3}},
    }
    assert repeated_values(default, overlay) == [
        "seed",
        "temperatures",
        "datasets.mnist.training.lr",
        "execution.resources.attack.threads",
    ]
    assert repeated_values(default, {"datasets": {"mnist": {"training": {"lr": 1}}}}) == []  # 1 != 0.1
    assert repeated_values({"a": True}, {"a": 1}) == [], "true and 1 are different settings"


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_merge_is_snakemakes(repo_root, default, name):
    update_config = pytest.importorskip("snakemake.utils", reason="snakemake not installed").update_config
    overlay = read_config_file(repo_root / "config" / name)
    theirs = copy.deepcopy(default)
    update_config(theirs, overlay)
    assert merged(default, overlay) == theirs
    assert read_profile(repo_root / "config" / name, read_config_file) == theirs
    assert load_config(repo_root / "config" / name, check_device=False) == validate_config(theirs, check_device=False)


def test_merge_rules(default):
    """A mapping merges key by key; a list, a value or null replaces what was there; the inputs stay as they were."""
    base = {"a": {"b": 1, "c": [1, 2]}, "d": {"e": 1}, "f": None}
    before = copy.deepcopy(base)
    out = merged(base, {"a": {"c": [3]}, "d": None, "f": {"g": 2}})
    assert out == {"a": {"b": 1, "c": [3]}, "d": None, "f": {"g": 2}} and base == before
    assert read_profile(DEFAULT_CONFIG, read_config_file) == default  # config.yaml is read alone


def test_an_old_full_overlay_fails_with_the_new_places(repo_root, tmp_path):
    """An overlay written before the execution block and the per-dataset budget is refused, naming each new place
    (not silently half applied)."""
    raw = yaml.safe_load((repo_root / "config" / "smoke.yaml").read_text())
    raw["fast_path"] = "compile"
    raw["datasets"]["mnist"]["attack"]["max_features"] = 112
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(Exception) as exc:
        load_config(path, check_device=False)
    msg = str(exc.value)
    assert "'fast_path' has moved: it is now 'execution.fast_path'" in msg
    assert "'datasets.mnist.attack.max_features' has moved" in msg and "'datasets.mnist.max_features'" in msg
