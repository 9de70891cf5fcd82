"""MNIST and CIFAR-10 as in-memory tensors in [0, 1], with checksum checks and offline staging."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

DATASETS = ("mnist", "cifar10")

# md5 of the decompressed files torchvision reads (official bytes; see torchvision's MNIST.resources
# for the .gz md5s, whose decompressions these are).
MNIST_FILES = {
    "MNIST/raw/train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "MNIST/raw/train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "MNIST/raw/t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "MNIST/raw/t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def _cifar_files() -> dict[str, str]:
    from torchvision.datasets import CIFAR10

    base = CIFAR10.base_folder
    files = {f"{base}/{name}": md5 for name, md5 in CIFAR10.train_list + CIFAR10.test_list}
    files[f"{base}/{CIFAR10.meta['filename']}"] = CIFAR10.meta["md5"]
    return files


def expected_files(dataset: str) -> dict[str, str]:
    """Relative path -> official md5 for every file the loader needs."""
    if dataset == "mnist":
        return dict(MNIST_FILES)
    if dataset == "cifar10":
        return _cifar_files()
    raise ValueError(f"unknown dataset {dataset!r}; use one of {DATASETS}")


class DataError(RuntimeError):
    """Data missing or not what was asked for."""


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def staging_help(dataset: str, data_dir: Path) -> str:
    if dataset == "mnist":
        layout = f"{data_dir}/MNIST/raw/{{train,t10k}}-{{images-idx3,labels-idx1}}-ubyte (or their .gz)"
    else:
        layout = f"{data_dir}/cifar-10-batches-py/{{data_batch_1..5,test_batch,batches.meta}}"
    return (
        f"stage it offline: on a machine with internet run\n"
        f"    python -c \"import torchvision as tv; tv.datasets.{'MNIST' if dataset == 'mnist' else 'CIFAR10'}"
        f"('{data_dir}', download=True)\"\n"
        f"  and copy the folder over, so that it holds {layout};\n"
        f"  or set 'download: true' in the config and run the workflow where it can reach the internet."
    )


def missing_files(dataset: str, data_dir: Path) -> list[str]:
    data_dir = Path(data_dir)
    missing = []
    for rel in expected_files(dataset):
        p = data_dir / rel
        if not p.exists() and not (dataset == "mnist" and Path(str(p) + ".gz").exists()):
            missing.append(rel)
    return missing


def download(dataset: str, data_dir: Path) -> None:
    """torchvision's checksummed download (needs internet)."""
    import torchvision

    cls = torchvision.datasets.MNIST if dataset == "mnist" else torchvision.datasets.CIFAR10
    for train in (True, False):
        cls(str(data_dir), train=train, download=True)


def _gunzip_mnist(data_dir: Path) -> None:
    """torchvision reads decompressed idx files; accept a folder staged with only the .gz files."""
    import gzip
    import shutil

    for rel in MNIST_FILES:
        p = data_dir / rel
        gz = Path(str(p) + ".gz")
        if not p.exists() and gz.exists():
            tmp = p.with_suffix(".tmp")
            with gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.replace(p)


@dataclass
class DataManifest:
    dataset: str
    data_dir: str
    official: bool
    files: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "data_dir": self.data_dir, "official": self.official, "files": self.files}


def prepare(dataset: str, data_dir: Path, *, allow_download: bool, verify_checksums: bool) -> DataManifest:
    """Make sure ``dataset`` is in ``data_dir``; check md5s; return what was found.

    Missing files are downloaded when allowed, else a :class:`DataError` names them and how to stage them.
    Files whose md5 differs from the official one are refused unless ``verify_checksums`` is false.
    """
    data_dir = Path(data_dir)
    missing = missing_files(dataset, data_dir)
    if missing and allow_download:
        try:
            download(dataset, data_dir)
        except Exception as exc:  # no internet, server down, ...
            raise DataError(
                f"{dataset}: files missing in {data_dir}: {', '.join(missing)}; the download failed ({exc}).\n  "
                + staging_help(dataset, data_dir)
            ) from exc
        missing = missing_files(dataset, data_dir)
    if missing:
        raise DataError(
            f"{dataset}: files missing in {data_dir}: {', '.join(missing)} (download is off).\n  "
            + staging_help(dataset, data_dir)
        )
    if dataset == "mnist":
        _gunzip_mnist(data_dir)
    files: dict[str, dict[str, Any]] = {}
    mismatched = []
    for rel, official_md5 in expected_files(dataset).items():
        got = md5sum(data_dir / rel)
        ok = got == official_md5
        files[rel] = {"md5": got, "official_md5": official_md5, "matches": ok}
        if not ok:
            mismatched.append(f"{rel} (md5 {got}, official {official_md5})")
    if mismatched and verify_checksums:
        raise DataError(
            f"{dataset}: checksums differ from the official release for: {'; '.join(mismatched)}.\n  "
            "Re-download the official files, or, to use this copy knowingly, set 'verify_checksums: false' "
            "in the config (REPORT.md will then mark the data as unofficial and list these checksums)."
        )
    return DataManifest(dataset, str(data_dir), official=not mismatched, files=files)


@dataclass
class TensorDataset:
    """A split held in memory: images (N, C, H, W) float32 in [0, 1], labels (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, n: int | None) -> "TensorDataset":
        if n is None or n >= len(self):
            return self
        return TensorDataset(self.images[:n], self.labels[:n])


def load_split(dataset: str, data_dir: Path, train: bool) -> TensorDataset:
    """Load a split from torchvision's on-disk layout (no md5 check here: :func:`prepare` does that)."""
    import torchvision

    data_dir = Path(data_dir)
    if dataset == "mnist":
        _gunzip_mnist(data_dir)
        ds = torchvision.datasets.MNIST(str(data_dir), train=train, download=False)
        images = ds.data.unsqueeze(1).to(torch.float32).div_(255.0)
        labels = ds.targets.to(torch.int64)
    elif dataset == "cifar10":

        class _Cifar(torchvision.datasets.CIFAR10):
            # md5s are checked (or knowingly waived) by prepare(); torchvision would refuse any copy.
            def _check_integrity(self) -> bool:
                return True

            def _load_meta(self) -> None:
                import pickle

                with open(Path(self.root) / self.base_folder / self.meta["filename"], "rb") as fh:
                    meta = pickle.load(fh, encoding="latin1")
                self.classes = meta[self.meta["key"]]
                self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

        ds = _Cifar(str(data_dir), train=train, download=False)
        images = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
        labels = torch.as_tensor(ds.targets, dtype=torch.int64)
    else:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {DATASETS}")
    return TensorDataset(images.contiguous(), labels)
