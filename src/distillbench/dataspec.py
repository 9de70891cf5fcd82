"""What each supported dataset is: input shape, split sizes, the files torchvision's layout holds and
their official md5s. Plain data, no torch import, so that config validation can use it cheaply."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from math import prod
from pathlib import Path
from types import MappingProxyType


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    image_shape: tuple[int, int, int]  # C, H, W
    n_train: int  # official training-set size
    n_test: int  # official test-set size
    files: Mapping[str, str]  # path relative to data_dir -> official md5 of the (decompressed) file

    @property
    def input_size(self) -> int:
        """Input elements per image (the JSMA budget counts these)."""
        return prod(self.image_shape)


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    image_shape=(1, 28, 28),
    n_train=60_000,
    n_test=10_000,
    # md5 of the decompressed files (torchvision's MNIST.resources lists the .gz md5s, whose decompressions these are)
    files=MappingProxyType(
        {
            "MNIST/raw/train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
            "MNIST/raw/train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
            "MNIST/raw/t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
            "MNIST/raw/t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
        }
    ),
)

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10 = DatasetSpec(
    name="cifar10",
    title="CIFAR-10",
    image_shape=(3, 32, 32),
    n_train=50_000,
    n_test=10_000,
    # torchvision.datasets.CIFAR10.train_list, test_list and meta
    files=MappingProxyType(
        {
            f"{CIFAR10_FOLDER}/data_batch_1": "c99cafc152244af753f735de768cd75f",
            f"{CIFAR10_FOLDER}/data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            f"{CIFAR10_FOLDER}/data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            f"{CIFAR10_FOLDER}/data_batch_4": "634d18415352ddfa80567beed471001a",
            f"{CIFAR10_FOLDER}/data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
            f"{CIFAR10_FOLDER}/test_batch": "40351d587109b95175f43aff81a1287e",
            f"{CIFAR10_FOLDER}/batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
        }
    ),
)

SPECS: Mapping[str, DatasetSpec] = MappingProxyType({"mnist": MNIST, "cifar10": CIFAR10})
NUM_CLASSES = 10


def spec_for(dataset: str) -> DatasetSpec:
    try:
        return SPECS[dataset]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {sorted(SPECS)}") from None


def missing_files(dataset: str, data_dir: str | os.PathLike[str]) -> list[str]:
    """Files of ``dataset`` absent from ``data_dir`` (an MNIST file counts as present as its ``.gz``)."""
    root = Path(data_dir)
    out = []
    for rel in spec_for(dataset).files:
        p = root / rel
        if not p.exists() and not (dataset == "mnist" and p.with_name(p.name + ".gz").exists()):
            out.append(rel)
    return out
