"""Training and test splits swapped on disk are refused by content, whether or not checksums are verified."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pytest

from datasets_on_disk import write_cifar10, write_mnist
from distillbench import data, datafiles
from distillbench.datafiles import DataError, read_split
from distillbench.dataspec import SPECS


def _official(monkeypatch, dataset: str, root: Path, n_train: int, n_test: int, md5s: bool = True) -> None:
    """Make the small copy in ``root`` the 'official release' (its sizes, and its md5s if ``md5s``)."""
    spec = SPECS[dataset]
    files = {rel: hashlib.md5((root / rel).read_bytes()).hexdigest() if md5s else "0" * 32 for rel in spec.files}
    fake = dataclasses.replace(spec, n_train=n_train, n_test=n_test, files=files)
    for module in (data, datafiles):
        monkeypatch.setattr(module, "spec_for", lambda name, fake=fake: fake)


def _swap(a: Path, b: Path) -> None:
    tmp = a.with_name(a.name + ".swap")
    os.replace(a, tmp)
    os.replace(b, a)
    os.replace(tmp, b)


RAW = "MNIST/raw"


@pytest.mark.parametrize("verify", [False, True], ids=["checksums-waived", "checksums-on"])
@pytest.mark.parametrize("md5s", [True, False], ids=["official-files", "sizes-only"])
def test_mnist_splits_swapped_are_refused(tmp_path, monkeypatch, verify, md5s):
    write_mnist(tmp_path, n_train=1000, n_test=500)
    _official(monkeypatch, "mnist", tmp_path, 1000, 500, md5s)
    for kind in ("images-idx3", "labels-idx1"):
        _swap(tmp_path / RAW / f"train-{kind}-ubyte", tmp_path / RAW / f"t10k-{kind}-ubyte")
    with pytest.raises(DataError, match="swapped") as exc:
        data.prepare("mnist", tmp_path, allow_download=False, verify_checksums=verify)
    assert "train-" in str(exc.value) and "fix:" in str(exc.value)


@pytest.mark.parametrize("md5s", [True, False], ids=["official-files", "sizes-only"])
def test_mnist_images_alone_swapped_blame_the_images_file(tmp_path, monkeypatch, md5s):
    write_mnist(tmp_path, n_train=1000, n_test=500)
    _official(monkeypatch, "mnist", tmp_path, 1000, 500, md5s)
    _swap(tmp_path / RAW / "train-images-idx3-ubyte", tmp_path / RAW / "t10k-images-idx3-ubyte")
    with pytest.raises(DataError, match="swapped") as exc:
        data.prepare("mnist", tmp_path, allow_download=False, verify_checksums=False)
    first = str(exc.value).split(":")[0]
    assert first.endswith("-images-idx3-ubyte"), str(exc.value)
    if not md5s:  # what a training job's loader says too
        with pytest.raises(DataError, match="swapped") as exc:
            read_split("mnist", tmp_path, train=True)
        assert str(exc.value).split(":")[0].endswith("train-images-idx3-ubyte")


@pytest.mark.parametrize("verify", [False, True], ids=["checksums-waived", "checksums-on"])
def test_cifar_test_batch_swapped_with_a_training_batch_is_refused(tmp_path, monkeypatch, verify):
    write_cifar10(tmp_path, n_train=500, n_test=100)
    _official(monkeypatch, "cifar10", tmp_path, 500, 100)
    folder = tmp_path / "cifar-10-batches-py"
    _swap(folder / "data_batch_3", folder / "test_batch")
    with pytest.raises(DataError, match="swapped") as exc:
        data.prepare("cifar10", tmp_path, allow_download=False, verify_checksums=verify)
    assert "test_batch" in str(exc.value) and "data_batch_3" in str(exc.value)


def test_an_unswapped_copy_still_passes(tmp_path, monkeypatch):
    write_mnist(tmp_path, n_train=1000, n_test=500)
    _official(monkeypatch, "mnist", tmp_path, 1000, 500)
    manifest = data.prepare("mnist", tmp_path, allow_download=False, verify_checksums=True)
    assert manifest.official and (manifest.n_train, manifest.n_test) == (1000, 500)


def test_every_datasets_checks_run_at_planning_before_any_job(tmp_path, repo_root, tiny_data_dir):
    """A damaged CIFAR-10 file and MNIST files that are not the official ones with ``verify_checksums: true``
    for MNIST: both are refused by a dry run, before any job (they used to be found by jobs, MNIST's
    trainings meanwhile running)."""
    import shutil
    import subprocess
    import sys

    staged = tmp_path / "data"
    shutil.copytree(tiny_data_dir, staged)
    batch = staged / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(batch.read_bytes()[:1000])
    work = tmp_path / "wd"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "-s", str(repo_root / "Snakefile")]
        + ["--directory", str(work), "--configfile", str(repo_root / "config" / "smoke.yaml"), "--config"]
        + [f"data_dir={staged}", "download=false", "verify_checksums={mnist: true, cifar10: false}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "rule prepare_data" not in out and "Traceback" not in out, out[-3000:]
    assert f"cifar10 data file {batch}" in out and "mnist: checksums differ from the official release" in out
