"""MNIST and CIFAR-10: staging checks, downloads, checksum manifests, and in-memory tensors in [0, 1]."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .datafiles import DataError, read_split, verify
from .dataspec import SPECS, missing_files, spec_for
from .errors import quote
from .staging import missing_message, staging_help

log = logging.getLogger(__name__)

DATASETS = tuple(SPECS)
MNIST_FILES = dict(SPECS["mnist"].files)

__all__ = [
    "DATASETS",
    "DataError",
    "DataManifest",
    "TensorDataset",
    "download",
    "expected_files",
    "load_split",
    "md5sum",
    "missing_files",
    "prepare",
    "staging_help",
]


def expected_files(dataset: str) -> dict[str, str]:
    """Relative path -> official md5 for every file the loader needs."""
    return dict(spec_for(dataset).files)


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def download(dataset: str, data_dir: Path) -> None:
    """torchvision's checksummed download (needs internet)."""
    import torchvision

    cls = torchvision.datasets.MNIST if dataset == "mnist" else torchvision.datasets.CIFAR10
    for train in (True, False):
        cls(str(data_dir), train=train, download=True)


@dataclass
class DataManifest:
    dataset: str
    data_dir: str
    official: bool
    files: dict[str, dict[str, Any]]
    checksums_verified: bool = True
    n_train: int | None = None
    n_test: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "data_dir": self.data_dir,
            "official": self.official,
            "files": self.files,
            "checksums_verified": self.checksums_verified,
            "n_train": self.n_train,
            "n_test": self.n_test,
        }


def _one_line(exc: BaseException, limit: int = 240) -> str:
    return quote(exc, limit)


def prepare(
    dataset: str, data_dir: Path, *, allow_download: bool, verify_checksums: bool, min_test_images: int = 0
) -> DataManifest:
    """Make sure ``dataset`` is in ``data_dir`` and sound; check md5s; return what was found.

    Missing files are downloaded when allowed, else a :class:`DataError` names them and how to stage
    them. Every file is then parsed and checked by content (header, size, shapes, counts, labels)
    whatever ``verify_checksums`` says. Files whose md5 differs from the official one are refused
    unless ``verify_checksums`` is false. ``min_test_images``: the attack's sample count, which the
    test split must cover.
    """
    data_dir = Path(data_dir)
    spec = spec_for(dataset)
    missing = missing_files(dataset, data_dir)
    if missing and allow_download:
        try:
            download(dataset, data_dir)
        except Exception as exc:  # no internet, server down, ...
            reason = _one_line(exc)
            raise DataError(missing_message(dataset, data_dir, missing, download_on=True, reason=reason)) from None
        missing = missing_files(dataset, data_dir)
    if missing:
        raise DataError(
            missing_message(
                dataset, data_dir, missing, download_on=allow_download, reason="it finished without these files"
            )
        )
    checked = verify(dataset, data_dir, verify_checksums=verify_checksums, min_test_images=min_test_images)
    content = checked.content
    if (content.n_train, content.n_test) != (spec.n_train, spec.n_test):
        log.warning(
            "%s: %d training and %d test images, the official release has %d and %d",
            dataset,
            content.n_train,
            content.n_test,
            spec.n_train,
            spec.n_test,
        )
    return DataManifest(
        dataset,
        str(data_dir),
        official=checked.official,
        files=checked.files,
        checksums_verified=bool(verify_checksums),
        n_train=content.n_train,
        n_test=content.n_test,
    )


@dataclass
class TensorDataset:
    """A split held in memory: images (N, C, H, W) float32 in [0, 1], labels (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, n: int | None) -> TensorDataset:
        if n is None or n >= len(self):
            return self
        return TensorDataset(self.images[:n], self.labels[:n])


def load_split(dataset: str, data_dir: Path, train: bool) -> TensorDataset:
    """Load a split from torchvision's on-disk layout, every file parsed and checked (md5s: :func:`prepare`)."""
    images, labels = read_split(dataset, Path(data_dir), train)
    x = torch.from_numpy(images.copy()).to(torch.float32).div_(255.0)
    return TensorDataset(x.contiguous(), torch.from_numpy(labels.copy()))
