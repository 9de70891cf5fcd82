"""Write a tiny MNIST and CIFAR-10 in torchvision's on-disk layout (for the SLURM end-to-end test).

MNIST: idx-ubyte files under ``MNIST/raw/``; CIFAR-10: pickled batches under ``cifar-10-batches-py/``
(data_batch_1..5, test_batch, batches.meta). The images are class-dependent patterns plus noise, so the
networks learn something and the attacks have non-trivial outcomes; they are not real digits or photos.
Usable as a script: ``python tests/slurm/tiny_data.py DIR``.
"""

from __future__ import annotations

import hashlib
import pickle
import struct
import sys
from pathlib import Path

import numpy as np

# torchvision checks batches.meta's md5 even when it skips the batches' (CIFAR10._load_meta), so write the
# official 158-byte file: a protocol-2 pickle of {num_cases_per_batch: 10000, label_names: [...], num_vis: 3072}.
CIFAR_META = bytes.fromhex(
    "80027d71012855136e756d5f63617365735f7065725f626174636871024d1027550b6c6162656c5f6e616d657371035d"
    "7104285508616972706c616e657105550a6175746f6d6f62696c65710655046269726471075503636174710855046465"
    "657271095503646f67710a550466726f67710b5505686f727365710c550473686970710d5505747275636b710e655507"
    "6e756d5f766973710f4d000c752e"
)
CIFAR_META_MD5 = "5ff9c542aee3614f3951f8cda6e48888"


def _images(rng: np.random.Generator, prototypes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One noisy copy of its class prototype per label."""
    noise = rng.normal(0.0, 60.0, size=(len(labels), *prototypes.shape[1:])).astype(np.float32)
    return np.clip(prototypes[labels] * 0.6 + noise + 40, 0, 255).astype(np.uint8)


def _idx(path: Path, array: np.ndarray) -> None:
    magic = 0x0800 | array.ndim  # unsigned byte, ndim dimensions
    with open(path, "wb") as fh:
        fh.write(struct.pack(">I", magic))
        for dim in array.shape:
            fh.write(struct.pack(">I", dim))
        fh.write(np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_mnist(root: Path, n_train: int = 300, n_test: int = 120, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    prototypes = rng.integers(0, 256, size=(10, 28, 28)).astype(np.float32)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        images = _images(rng, prototypes, labels)
        _idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", labels)


def write_cifar10(root: Path, n_per_batch: int = 60, n_test: int = 120, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    base = Path(root) / "cifar-10-batches-py"
    base.mkdir(parents=True, exist_ok=True)
    prototypes = rng.integers(0, 256, size=(10, 3, 32, 32)).astype(np.float32)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = n_test if name == "test_batch" else n_per_batch
        labels = (np.arange(n) % 10).astype(np.int64)
        rng.shuffle(labels)
        images = _images(rng, prototypes, labels)
        entry = {"batch_label": name, "labels": labels.tolist(), "data": images.reshape(n, 3072),
                 "filenames": [f"{name}_{i}.png" for i in range(n)]}
        with open(base / name, "wb") as fh:
            pickle.dump(entry, fh)
    assert hashlib.md5(CIFAR_META).hexdigest() == CIFAR_META_MD5
    (base / "batches.meta").write_bytes(CIFAR_META)


def write_tiny_datasets(root: Path) -> Path:
    root = Path(root)
    write_mnist(root)
    write_cifar10(root)
    return root


if __name__ == "__main__":
    print(write_tiny_datasets(Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-data")))
