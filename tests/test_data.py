"""Data preparation: checksums, unofficial copies, offline staging messages, loading."""

import gzip
import os
import shutil
from pathlib import Path

import pytest
import torch

from datasets_on_disk import write_mnist
from distillbench.data import DataError, expected_files, load_split, md5sum, prepare


def test_unofficial_copy_is_refused_unless_waived(tiny_data_dir):
    with pytest.raises(DataError) as exc:
        prepare("cifar10", tiny_data_dir, allow_download=False, verify_checksums=True)
    msg = str(exc.value)
    assert "checksums differ" in msg and "verify_checksums: false" in msg and "data_batch_1" in msg
    man = prepare("cifar10", tiny_data_dir, allow_download=False, verify_checksums=False)
    assert man.official is False
    assert set(man.files) == set(expected_files("cifar10"))
    rel = "cifar-10-batches-py/data_batch_1"
    assert man.files[rel]["md5"] == md5sum(tiny_data_dir / rel)
    assert man.files[rel]["matches"] is False


def test_missing_files_offline_name_the_files_and_how_to_stage(tmp_path):
    with pytest.raises(DataError) as exc:
        prepare("mnist", tmp_path, allow_download=False, verify_checksums=True)
    msg = str(exc.value)
    assert f"no mnist files in {tmp_path}" in msg and "download is off" in msg
    assert "stage a local copy" in msg and "MNIST/raw/{train,t10k}" in msg and "--config data_dir=" in msg
    assert "'download: true'" in msg  # download is off, so turning it on is a valid hint
    write_mnist(tmp_path, n_train=20, n_test=10)
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError) as exc:
        prepare("mnist", tmp_path, allow_download=False, verify_checksums=True)
    assert "(MNIST/raw/t10k-labels-idx1-ubyte)" in str(exc.value)  # only the missing file is named


def test_failed_download_says_how_to_stage(tmp_path, monkeypatch):
    import distillbench.data as data

    def no_internet(dataset, root):
        raise OSError("network unreachable")

    monkeypatch.setattr(data, "download", no_internet)
    with pytest.raises(DataError, match="download failed .*network unreachable") as exc:
        prepare("cifar10", tmp_path, allow_download=True, verify_checksums=True)
    msg = str(exc.value)
    # Download is already on: the hint must not say to turn it on, but how to stage a copy without internet.
    assert "'download: true'" not in msg
    assert "stage a local copy" in msg and "--config download=false" in msg and "--config data_dir=" in msg
    assert "\n" not in msg  # one paragraph


def test_load_split_shapes_and_range(tiny_data_dir):
    for ds, shape, n in (("mnist", (1, 28, 28), 1000), ("cifar10", (3, 32, 32), 500)):
        split = load_split(ds, tiny_data_dir, train=True)
        assert split.images.shape == (n, *shape) and split.images.dtype == torch.float32
        assert 0.0 <= float(split.images.min()) and float(split.images.max()) <= 1.0
        assert split.labels.dtype == torch.int64 and set(split.labels.tolist()) == set(range(10))
        assert len(split.subset(10)) == 10 and len(split.subset(None)) == n


def test_mnist_staged_as_gz_only(tmp_path):
    write_mnist(tmp_path, n_train=20, n_test=10)
    raw = tmp_path / "MNIST" / "raw"
    for f in list(raw.iterdir()):
        with open(f, "rb") as src, gzip.open(str(f) + ".gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        f.unlink()
    man = prepare("mnist", tmp_path, allow_download=False, verify_checksums=False)
    assert man.official is False  # synthetic bytes
    assert len(load_split("mnist", tmp_path, train=False)) == 10


# The real data for the checks that need the official files: $DISTILLBENCH_DATA, else the repository's data/
# (where README's set-up stages it), in torchvision's layout (MNIST/raw/..., cifar-10-batches-py/...).
REAL_DATA = Path(os.environ.get("DISTILLBENCH_DATA") or Path(__file__).resolve().parents[1] / "data")


@pytest.mark.skipif(
    not (REAL_DATA / "MNIST").exists(),
    reason=f"no official MNIST at {REAL_DATA / 'MNIST'}: stage it as README's set-up does, or set DISTILLBENCH_DATA "
    "to a directory holding MNIST/ in torchvision's layout",
)
def test_official_mnist_is_recognised(tmp_path):
    src = REAL_DATA / "MNIST"
    shutil.copytree(src, tmp_path / "MNIST")
    man = prepare("mnist", tmp_path, allow_download=False, verify_checksums=True)
    assert man.official is True
