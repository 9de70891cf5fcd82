"""Data is checked by content before any training, whatever verify_checksums says: each corrupt or foreign
file is refused with its name, what is wrong and how to re-stage it (one paragraph, no traceback)."""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from datasets_on_disk import write_cifar10, write_mnist
from distillbench.data import DataError, load_split, prepare

RAW = Path("MNIST/raw")
CIF = Path("cifar-10-batches-py")


def _noise(n: int, seed: int) -> bytes:
    """Random bytes, the same on every run: a corruption test must not pass or fail by the draw."""
    return np.random.default_rng(seed).bytes(n)


def _truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def _repickle(path: Path, change: Callable[[dict], object]) -> None:
    with open(path, "rb") as fh:
        obj = pickle.load(fh, encoding="latin1")
    with open(path, "wb") as fh:
        pickle.dump(change(obj), fh, protocol=2)


def _set_label(path: Path, value: int) -> None:
    data = bytearray(path.read_bytes())
    data[8] = value
    path.write_bytes(bytes(data))


def _gz_only_garbage(root: Path) -> None:
    p = root / RAW / "train-images-idx3-ubyte"
    p.unlink()
    Path(str(p) + ".gz").write_bytes(b"\x1f\x8b\x08\x00" + _noise(200, 1))


def _idx(path: Path, shape: tuple[int, ...]) -> None:
    with open(path, "wb") as fh:
        fh.write(struct.pack(">I", 0x0803) + b"".join(struct.pack(">I", d) for d in shape))
        fh.write(bytes(int(np.prod(shape))))


class _Evil:
    """Unpickling this would run a shell command; the CIFAR loader must refuse it first."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# (dataset, file that must be named, corruption, words the problem must contain)
CORRUPT = [
    (
        "mnist",
        RAW / "train-images-idx3-ubyte",
        lambda r: _truncate(r / RAW / "train-images-idx3-ubyte", 16 + 784 * 10 + 5),
        "truncated: its header announces 50 images",
    ),
    ("mnist", RAW / "t10k-labels-idx1-ubyte", lambda r: _truncate(r / RAW / "t10k-labels-idx1-ubyte", 12), "truncated"),
    (
        "mnist",
        RAW / "train-images-idx3-ubyte",
        lambda r: (r / RAW / "train-images-idx3-ubyte").write_bytes(b""),
        "shorter than the 16-byte idx header",
    ),
    (
        "mnist",
        RAW / "train-images-idx3-ubyte",
        lambda r: (r / RAW / "train-images-idx3-ubyte").write_bytes((r / RAW / "train-labels-idx1-ubyte").read_bytes()),
        "expected an idx images file",
    ),
    (
        "mnist",
        RAW / "t10k-images-idx3-ubyte",
        lambda r: (r / RAW / "t10k-images-idx3-ubyte").write_bytes(_noise(4000, 2)),
        "not an idx file",
    ),
    (
        "mnist",
        RAW / "train-images-idx3-ubyte",
        lambda r: _idx(r / RAW / "train-images-idx3-ubyte", (50, 32, 32)),
        "expected 28x28",
    ),
    (
        "mnist",
        RAW / "train-images-idx3-ubyte",
        lambda r: (r / RAW / "train-images-idx3-ubyte").write_bytes(
            (r / RAW / "train-images-idx3-ubyte").read_bytes() + b"xx"
        ),
        "has trailing bytes",
    ),
    (
        "mnist",
        RAW / "train-labels-idx1-ubyte",
        lambda r: _set_label(r / RAW / "train-labels-idx1-ubyte", 12),
        "label 12 found",
    ),
    (
        "mnist",
        RAW / "train-labels-idx1-ubyte",
        lambda r: (r / RAW / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x0801, 40) + bytes(40)),
        "40 labels for 50 images",
    ),
    ("mnist", RAW / "train-images-idx3-ubyte.gz", _gz_only_garbage, "not a readable gzip file"),
    (
        "cifar10",
        CIF / "data_batch_3",
        lambda r: (r / CIF / "data_batch_3").write_bytes(_noise(30_000, 3)),
        "not a CIFAR-10 pickle",
    ),
    (  # pickle's own message here spans two lines (CI once drew such bytes at random); the error stays one line
        "cifar10",
        CIF / "data_batch_4",
        lambda r: (r / CIF / "data_batch_4").write_bytes(b"Pabc\n." + _noise(1000, 4)),
        "not a CIFAR-10 pickle (UnpicklingError: A load persistent id instruction was encountered, but",
    ),
    ("cifar10", CIF / "test_batch", lambda r: _truncate(r / CIF / "test_batch", 5000), "not a CIFAR-10 pickle"),
    (
        "cifar10",
        CIF / "data_batch_1",
        lambda r: _repickle(r / CIF / "data_batch_1", lambda o: {"data": o["data"]}),
        "expected a dict with 'data' and 'labels'",
    ),
    (
        "cifar10",
        CIF / "data_batch_2",
        lambda r: _repickle(r / CIF / "data_batch_2", lambda o: {**o, "data": o["data"][:, :1024]}),
        "shape (N, 3072)",
    ),
    (
        "cifar10",
        CIF / "data_batch_4",
        lambda r: _repickle(r / CIF / "data_batch_4", lambda o: {**o, "labels": o["labels"][:-1]}),
        "'labels' has shape",
    ),
    (
        "cifar10",
        CIF / "test_batch",
        lambda r: _repickle(r / CIF / "test_batch", lambda o: {**o, "labels": [10] * len(o["labels"])}),
        "labels outside 0..9",
    ),
    (
        "cifar10",
        CIF / "batches.meta",
        lambda r: _repickle(r / CIF / "batches.meta", lambda o: {**o, "label_names": o["label_names"][:9]}),
        "'label_names'",
    ),
]


def _fresh(root: Path) -> Path:
    write_mnist(root, n_train=50, n_test=20)
    write_cifar10(root, n_train=50, n_test=20)
    return root


@pytest.mark.parametrize(
    "dataset,rel,corrupt,problem", CORRUPT, ids=[f"{c[0]}-{c[1].name}-{c[3].split(':')[0][:24]}" for c in CORRUPT]
)
@pytest.mark.parametrize("verify", [False, True], ids=["checksums-waived", "checksums-on"])
def test_corrupt_file_is_refused_with_its_name(tmp_path, dataset, rel, corrupt, problem, verify):
    root = _fresh(tmp_path)
    corrupt(root)
    with pytest.raises(DataError) as exc:
        prepare(dataset, root, allow_download=False, verify_checksums=verify)
    msg = str(exc.value)
    assert str(root / rel) in msg and problem in msg  # the file, what is wrong ...
    assert "fix: replace the file with a good copy" in msg and "download: true" in msg  # ... and how to re-stage it
    assert "\n" not in msg and "checksums differ" not in msg  # one paragraph; content is checked before md5s
    # A training job reading the data directly is refused the same way (no bare RuntimeError mid-training).
    train = "t10k" not in rel.name and "test" not in rel.name
    if rel.name != "batches.meta":
        with pytest.raises(DataError, match=rel.name):
            load_split(dataset, root, train=train)


def test_foreign_pickle_is_refused_without_running_it(tmp_path):
    root = _fresh(tmp_path)
    marker = tmp_path / "pwned"
    with open(root / CIF / "data_batch_5", "wb") as fh:
        pickle.dump({"data": _Evil(marker), "labels": []}, fh, protocol=2)
    with pytest.raises(DataError, match=r"data_batch_5: not a CIFAR-10 pickle .*refers to (posix|os)\.system"):
        prepare("cifar10", root, allow_download=False, verify_checksums=False)
    assert not marker.exists()


def test_sound_copy_passes_and_the_manifest_records_counts(tmp_path):
    root = _fresh(tmp_path)
    for ds in ("mnist", "cifar10"):
        man = prepare(ds, root, allow_download=False, verify_checksums=False).to_dict()
        assert (man["n_train"], man["n_test"], man["checksums_verified"], man["official"]) == (50, 20, False, False)


def test_attack_samples_beyond_the_staged_test_split_are_refused(tmp_path):
    root = _fresh(tmp_path)
    with pytest.raises(
        DataError,
        match=r"test split .* has 20 images but the attack asks for 21 "
        r".*datasets\.mnist\.attack\.samples",
    ):
        prepare("mnist", root, allow_download=False, verify_checksums=False, min_test_images=21)
    prepare("mnist", root, allow_download=False, verify_checksums=False, min_test_images=20)


def test_loader_matches_torchvision(tmp_path):
    """The checked reader returns exactly what torchvision's MNIST and CIFAR10 classes read."""
    import torchvision

    root = _fresh(tmp_path)

    class Cifar(torchvision.datasets.CIFAR10):  # torchvision refuses any non-official md5
        def _check_integrity(self) -> bool:
            return True

        def _load_meta(self) -> None:
            self.classes = []

    for train in (True, False):
        ours = load_split("mnist", root, train)
        tv = torchvision.datasets.MNIST(str(root), train=train)
        assert torch.equal(ours.images, tv.data.unsqueeze(1).float().div(255)) and torch.equal(ours.labels, tv.targets)
        ours = load_split("cifar10", root, train)
        tv = Cifar(str(root), train=train)
        assert torch.equal(ours.images, torch.from_numpy(tv.data).permute(0, 3, 1, 2).float().div(255))
        assert ours.labels.tolist() == tv.targets


def test_cli_prints_one_paragraph_and_no_traceback(tmp_path, repo_root):
    """A truncated idx file is named in one paragraph at once (it once passed prepare_data and training died 52 s
    later naming no file)."""
    root = _fresh(tmp_path)
    _truncate(root / RAW / "train-images-idx3-ubyte", 20_000)
    env = {**os.environ, "PYTHONPATH": str(repo_root / "src")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "distillbench",
            "prepare-data",
            "--dataset",
            "mnist",
            "--data-dir",
            str(root),
            "--no-download",
            "--no-verify-checksums",
            "--out",
            str(tmp_path / "m.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and str(root / RAW / "train-images-idx3-ubyte") in errors[0] and "fix:" in errors[0]
    assert not (tmp_path / "m.json").exists()
