"""Config validation: every profile loads; bad input names the field and the fix."""

import copy
import subprocess
import sys

import pytest
import yaml

from distillbench.config import (
    ConfigError,
    cpu_fallback_note,
    load_config,
    read_config_file,
    validate_config,
    verify_checksums_for,
)
from distillbench.settings import epochs_for


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
        assert ds["attack"] == {
            **ds["attack"],
            "variant": "jsma_f",
            "samples": 100,
            "targets_per_sample": 9,
            "max_features": 112,  # the dataset's budget
        }
        assert ds["max_features"] == 112
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
        (
            lambda c: c["datasets"]["cifar10"]["attack"].update(variant="fgsm"),
            "datasets.cifar10.attack.variant",
            "jsma_f",
        ),
        (lambda c: c.update(temperatures=[]), "temperatures", "non-empty list"),
        (lambda c: c.update(verify_checksums="maybe"), "verify_checksums", "true"),
        (
            lambda c: c["datasets"]["mnist"]["training"].update(epochs_by_temperature={100: 0}),
            "datasets.mnist.training.epochs_by_temperature.100",
            "minimum",
        ),
        (lambda c: c["datasets"].update(svhn={}), "datasets", "unknown key"),
        (lambda c: c["datasets"]["mnist"].pop("attack"), "datasets.mnist.attack", "missing"),
        (lambda c: c["datasets"]["mnist"].update(max_features=111), "datasets.mnist.max_features", "even"),
        (lambda c: c.update(run_name="my run"), "run_name", "letters"),
        # Checks that know the data: budgets and counts against each dataset's size.
        (
            lambda c: c["datasets"]["mnist"].update(max_features=1000),
            "datasets.mnist.max_features",
            "more than the 784 input elements",
        ),
        (lambda c: c["datasets"]["cifar10"].update(max_features=3074), "datasets.cifar10.max_features", "at most 3072"),
        (lambda c: c["datasets"]["mnist"].pop("max_features"), "datasets.mnist.max_features", "missing"),
        (
            lambda c: c["datasets"]["mnist"]["attack"].update(samples=10001),
            "datasets.mnist.attack.samples",
            "use at most 10000",
        ),
        (
            lambda c: c["datasets"]["cifar10"].update(train_subset=50001),
            "datasets.cifar10.train_subset",
            "at most 50000",
        ),
        (lambda c: c["datasets"]["mnist"].update(test_subset=10001), "datasets.mnist.test_subset", "null for all"),
        (lambda c: c.update(verify_checksums={"svhn": False}), "verify_checksums", "per dataset"),
        (
            lambda c: c.update(verify_checksums={"mnist": "yes"}),
            "verify_checksums.mnist",
            "{mnist: true, cifar10: false}",
        ),
        # Refused before the data-aware checks too; kept here so that every kind of mistake stays covered.
        (
            lambda c: c["datasets"]["mnist"]["attack"].update(samples=0),
            "datasets.mnist.attack.samples",
            "first test samples",
        ),
        (lambda c: c.update(temperatures=[0, 1]), "temperatures.0", "fix: expected a positive temperature"),
        (lambda c: c.update(temperature=[1, 2]), "(top level)", "remove or rename the unknown key"),
        (lambda c: c.update(device="gpu"), "device", "auto, cpu or cuda"),
        (lambda c: c["execution"].update(jobs_per_gpu=0), "execution.jobs_per_gpu", "1 to 64"),
        (lambda c: c["execution"].update(fast_path="plain"), "execution.fast_path", "channels_last or compile"),
        (lambda c: c["execution"].update(threads=2), "execution", "unknown key"),
        (lambda c: c["execution"]["resources"]["train"].update(threads=0), "execution.resources.train.threads", "1"),
        # Execution settings at the top level, as before they moved: refused with their new place.
        (lambda c: c.update(fast_path="compile"), "fast_path", "it is now 'execution.fast_path'"),
        (lambda c: c.update(train_in_groups=True), "train_in_groups", "--config 'execution={train_in_groups: ...}'"),
        (lambda c: c.update(jobs_per_gpu=4), "jobs_per_gpu", "under 'execution:'"),
        (lambda c: c.update(gpu_lock_dir="/tmp/l"), "gpu_lock_dir", "it is now 'execution.gpu_lock_dir'"),
        (lambda c: c.update(resources={}), "resources", "it is now 'execution.resources'"),
        (
            lambda c: c["datasets"]["cifar10"]["training"].update(lr_decay={"factor": 1.5, "after_epoch": 10}),
            "datasets.cifar10.training.lr_decay.factor",
            "multiply lr",
        ),
        (
            lambda c: c["datasets"]["mnist"]["training"].update(momentum=1.5),
            "datasets.mnist.training.momentum",
            "between 0",
        ),
        (
            lambda c: c["datasets"]["mnist"]["training"].update(init="xavier"),
            "datasets.mnist.training.init",
            "glorot_uniform",
        ),
        (lambda c: c.update(seed="abc"), "seed", "non-negative integer"),
        (
            lambda c: c["datasets"]["mnist"]["attack"].update(targets_per_sample=10),
            "datasets.mnist.attack.targets_per_sample",
            "1 to 9",
        ),
    ],
)
def test_bad_config_names_field_and_fix(paper_cfg, mutate, field, fix):
    cfg = copy.deepcopy(paper_cfg)
    mutate(cfg)
    msg = _errors(cfg)
    assert f"'{field}'" in msg
    assert fix in msg
    assert "Traceback" not in msg and len(msg) < 600  # a short paragraph


def test_paper_profile_on_the_cpu_gets_a_note_not_an_error(paper_cfg, repo_root):
    cfg = validate_config(copy.deepcopy(paper_cfg), check_device=False)
    assert cfg["device"] == "auto" and cfg["profile"] == "paper"
    note = cpu_fallback_note(cfg, cuda_visible=lambda: False)
    assert note is not None and "trains the paper profile on the CPU" in note and "config/cpu.yaml" in note
    assert cpu_fallback_note(cfg, cuda_visible=lambda: True) is None  # a GPU: nothing to say
    assert cpu_fallback_note(dict(cfg, device="cpu"), cuda_visible=lambda: False) is None  # asked for the CPU
    cpu = load_config(repo_root / "config" / "cpu.yaml")
    assert cpu_fallback_note(cpu, cuda_visible=lambda: False) is None  # the profile sized for a CPU


def test_cuda_without_a_visible_gpu_is_refused_at_validation(paper_cfg):
    cfg = dict(copy.deepcopy(paper_cfg), device="cuda")
    msg = str(pytest.raises(ConfigError, validate_config, cfg, cuda_visible=lambda: False).value)
    assert "config field 'device': cuda, but no CUDA device is visible" in msg and "'device: auto'" in msg
    assert validate_config(cfg, cuda_visible=lambda: True)["device"] == "cuda"
    assert validate_config(cfg, check_device=False)["device"] == "cuda"  # e.g. a SLURM login node


@pytest.mark.parametrize(
    "value,mnist,cifar10",
    [
        (True, True, True),
        (False, False, False),
        ("false", False, False),
        ("True", True, True),
        ({"mnist": True, "cifar10": False}, True, False),
        ({"cifar10": "false"}, True, False),
    ],
)
def test_verify_checksums_per_dataset(paper_cfg, value, mnist, cifar10):
    cfg = validate_config(dict(copy.deepcopy(paper_cfg), verify_checksums=value))
    assert (verify_checksums_for(cfg, "mnist"), verify_checksums_for(cfg, "cifar10")) == (mnist, cifar10)


BAD_FILES = {
    "syntax": (
        "run_name: x\ndatasets:\n  mnist:\n    training:\n      lr: 0.1\n     momentum: 0.5\n",
        ":6:6: YAML syntax error",
        "indentation",
    ),
    "tab": ("run_name: x\n\tseed: 1\n", ":2:1: YAML syntax error", "spaces, not tabs"),
    "unclosed": ("temperatures: [1, 2\nseed: 1\n", ":2:", "closing bracket"),
    "duplicate": (
        "seed: 1\nrun_name: a\nseed: 2\n",
        ":3:1: duplicate key: key 'seed' appears twice",
        "keep one of the two",
    ),
    "list": ("- run_name\n- seed\n", ": the top level is a list", "'key: value' lines"),
    "empty": ("# nothing here\n", ": empty", "add the settings"),
    "binary": (b"\xff\xfe\x00garbage", ": cannot be read", "UTF-8"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_config_file_names_file_line_and_fix(tmp_path, name):
    text, where, fix = BAD_FILES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    msg = str(pytest.raises(ConfigError, read_config_file, path).value)
    assert msg.startswith(f"config file {path}{where}"), msg  # the file, and the line where YAML says so
    assert "; fix: " in msg and fix in msg and "\n" not in msg


def test_validate_config_cli_shows_file_and_line(tmp_path, repo_root):
    bad = tmp_path / "bad.yaml"
    bad.write_text((repo_root / "config" / "smoke.yaml").read_text().replace("  mnist:\n", "  mnist:\n   oops\n", 1))
    proc = subprocess.run(
        [sys.executable, "-m", "distillbench", "validate-config", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(repo_root / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: config file {bad}:") and "YAML syntax error" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


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
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "-s",
            str(repo_root / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--config",
            "seed=-3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "config field 'seed'" in proc.stdout + proc.stderr
    assert "non-negative integer" in proc.stdout + proc.stderr


def test_run_datasets_keeps_only_those(repo_root):
    import yaml

    from distillbench.config import ConfigError, validate_config

    raw = yaml.safe_load((repo_root / "config" / "config.yaml").read_text())
    cfg = validate_config({**raw, "run_datasets": ["mnist"]}, check_device=False)
    assert list(cfg["datasets"]) == ["mnist"]
    with pytest.raises(ConfigError, match="run_datasets"):
        validate_config(
            {**raw, "datasets": {"mnist": raw["datasets"]["mnist"]}, "run_datasets": ["cifar10"]}, check_device=False
        )


def test_execution_settings_default_and_pass_through(paper_cfg):
    from distillbench.config_execution import DEFAULT_JOBS_PER_GPU

    cfg = validate_config(copy.deepcopy(paper_cfg))
    assert cfg["execution"]["fast_path"] == "auto"  # the fastest measured path on each device (fastpath.AUTO)
    assert cfg["execution"]["gpu_lock_dir"] is None and cfg["execution"]["resources"]["attack"]["threads"] == 4
    bare = {k: v for k, v in copy.deepcopy(paper_cfg).items() if k != "execution"}
    ex = validate_config(bare)["execution"]
    assert (ex["jobs_per_gpu"], ex["fast_path"], ex["train_in_groups"]) == (DEFAULT_JOBS_PER_GPU, "auto", False)
    assert ex["resources"]["train"] == {"mem_mb": 4000, "runtime": 120, "threads": 2}
    # What `--config 'execution={...}'` passes: strings, merged into the block key by key.
    given = dict(copy.deepcopy(paper_cfg))
    given["execution"].update(jobs_per_gpu="2", fast_path="channels_last", gpu_lock_dir="null", train_in_groups="false")
    given["execution"]["resources"]["train"]["threads"] = "3"
    ex = validate_config(given)["execution"]
    assert (ex["jobs_per_gpu"], ex["fast_path"], ex["gpu_lock_dir"], ex["train_in_groups"]) == (
        2,
        "channels_last",
        None,
        False,
    )
    assert ex["resources"]["train"] == {"mem_mb": 8000, "runtime": 240, "threads": 3}


def test_train_in_groups_needs_one_epoch_count_per_dataset(paper_cfg):
    cfg = copy.deepcopy(paper_cfg)
    cfg["execution"]["train_in_groups"] = "true"  # as `--config 'execution={train_in_groups: true}'` passes it
    assert validate_config(copy.deepcopy(cfg))["execution"]["train_in_groups"] is True
    cfg["datasets"]["mnist"]["training"]["epochs_by_temperature"] = {100: 60}
    msg = _errors(cfg)
    assert "datasets.mnist.training.epochs_by_temperature" in msg and "execution.train_in_groups: false" in msg
    assert "cifar10" not in msg


def test_snakemake_refuses_an_old_overlay_naming_the_new_place(repo_root, tmp_path):
    """A profile written before the execution block: the workflow stops before planning, naming where it went."""
    old = tmp_path / "old.yaml"
    old.write_text("fast_path: compile\ntrain_in_groups: false\n")
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "-s", str(repo_root / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(old)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config field 'fast_path' has moved: it is now 'execution.fast_path'" in out, out[-2000:]
    assert "config field 'train_in_groups' has moved" in out and "Traceback" not in out
