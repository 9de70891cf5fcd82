"""Write small MNIST / CIFAR-10 copies in torchvision's on-disk format (for tests only).

Images are class-dependent patterns plus noise, so a network learns them in one short epoch.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np


def _patterns(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return (rng.random((10, *shape)) > 0.7).astype(np.float32)


def _images(rng: np.random.Generator, labels: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    noise = rng.random((len(labels), *patterns.shape[1:])) * 0.35
    img = 0.65 * patterns[labels] + noise
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def _write_idx(path: Path, array: np.ndarray) -> None:
    magic = 0x0803 if array.ndim == 3 else 0x0801
    with open(path, "wb") as fh:
        fh.write(struct.pack(">I", magic))
        for dim in array.shape:
            fh.write(struct.pack(">I", dim))
        fh.write(array.astype(np.uint8).tobytes())


def write_mnist(root: Path, n_train: int = 1000, n_test: int = 500, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    pats = _patterns(rng, (28, 28))
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        _write_idx(raw / f"{split}-images-idx3-ubyte", _images(rng, labels, pats))
        _write_idx(raw / f"{split}-labels-idx1-ubyte", labels.astype(np.uint8))


def write_cifar10(root: Path, n_train: int = 500, n_test: int = 500, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    pats = _patterns(rng, (3, 32, 32))
    base = Path(root) / "cifar-10-batches-py"
    base.mkdir(parents=True, exist_ok=True)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(base / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": names, "num_cases_per_batch": n_train // 5, "num_vis": 3072}, fh, protocol=2)
    per = n_train // 5
    batches = [(f"data_batch_{i + 1}", per) for i in range(5)] + [("test_batch", n_test)]
    for name, n in batches:
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        data = _images(rng, labels, pats).reshape(n, 3072)
        with open(base / name, "wb") as fh:
            pickle.dump({"batch_label": name, "labels": labels.tolist(), "data": data}, fh, protocol=2)


def write_both(root: Path) -> Path:
    write_mnist(root)
    write_cifar10(root)
    return Path(root)
