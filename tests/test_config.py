"""Config validation: every profile loads; bad input names the field and the fix."""

import copy
import subprocess
import sys

import pytest
import yaml

from distillbench.config import ConfigError, epochs_for, load_config, validate_config


@pytest.fixture(scope="module")
def paper_cfg(repo_root):
    return yaml.safe_load((repo_root / "config" / "config.yaml").read_text())


@pytest.mark.parametrize("name", ["config.yaml", "cpu.yaml", "smoke.yaml"])
def test_profiles_are_valid(repo_root, name):
    cfg = load_config(repo_root / "config" / name)
    assert set(cfg["datasets"]) == {"mnist", "cifar10"}
    assert cfg["work_dir"] == f"work/{cfg['run_name']}"


def test_paper_profile_has_the_papers_settings(repo_root):
    cfg = load_config(repo_root / "config" / "config.yaml")
    assert cfg["temperatures"] == [1, 2, 5, 10, 20, 30, 40, 50, 100]
    for ds in cfg["datasets"].values():
        assert ds["attack"] == {**ds["attack"], "variant": "jsma_f", "samples": 100, "targets_per_sample": 9,
                                "max_features": 112}
        assert ds["training"]["epochs"] == 50 and ds["training"]["batch_size"] == 128
        assert ds["train_subset"] is None


def _errors(cfg):
    with pytest.raises(ConfigError) as exc:
        validate_config(cfg)
    return str(exc.value)


@pytest.mark.parametrize(
    "mutate,field,fix",
    [
        (lambda c: c["datasets"]["mnist"]["training"].update(lr=-0.1), "datasets.mnist.training.lr", "positive"),
        (lambda c: c["datasets"]["cifar10"]["attack"].update(variant="fgsm"), "datasets.cifar10.attack.variant", "jsma_f"),
        (lambda c: c.update(temperatures=[]), "temperatures", "non-empty list"),
        (lambda c: c.update(verify_checksums="maybe"), "verify_checksums", "true"),
        (lambda c: c["datasets"]["mnist"]["training"].update(epochs_by_temperature={100: 0}),
         "datasets.mnist.training.epochs_by_temperature.100", "minimum"),
        (lambda c: c["datasets"].update(svhn={}), "datasets", "unknown key"),
        (lambda c: c["datasets"]["mnist"].pop("attack"), "datasets.mnist.attack", "missing"),
        (lambda c: c["datasets"]["mnist"]["attack"].update(max_features=111), "datasets.mnist.attack.max_features", "even"),
        (lambda c: c.update(run_name="my run"), "run_name", "letters"),
    ],
)
def test_bad_config_names_field_and_fix(paper_cfg, mutate, field, fix):
    cfg = copy.deepcopy(paper_cfg)
    mutate(cfg)
    msg = _errors(cfg)
    assert f"'{field}'" in msg
    assert fix in msg


def test_string_booleans_from_the_command_line_are_read(paper_cfg):
    cfg = copy.deepcopy(paper_cfg)
    cfg.update(verify_checksums="false", download="True")
    out = validate_config(cfg)
    assert out["verify_checksums"] is False and out["download"] is True


def test_epochs_by_temperature():
    tr = {"epochs": 2, "epochs_by_temperature": {100: 3, "50": 4}}
    assert epochs_for(tr, 1) == 2 and epochs_for(tr, 100.0) == 3 and epochs_for(tr, 50) == 4


def test_snakemake_stops_with_the_field_named(repo_root, tmp_path):
    """The real workflow refuses a bad --config before planning anything."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "-s", str(repo_root / "Snakefile"),
         "--directory", str(tmp_path), "--config", "seed=-3"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert "config field 'seed'" in proc.stdout + proc.stderr
    assert "non-negative integer" in proc.stdout + proc.stderr
