"""Read and check the dataset files themselves: MNIST's idx files and CIFAR-10's pickled batches.

Every file is parsed and checked for its header, size, shapes, counts and label range, whether or not
checksums are verified. A file that fails raises :class:`DataError` naming the file, what is wrong and
how to re-stage it. CIFAR-10 batches are unpickled with a loader that only admits numpy arrays and
plain Python values, so a foreign pickle cannot run code.
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

from .dataspec import CIFAR10_FOLDER, NUM_CLASSES, spec_for
from .errors import UserError, paragraph, quote
from .staging import restage_hint

IDX_MAGIC = {"images": 0x00000803, "labels": 0x00000801}  # unsigned byte, 3 resp. 1 dimensions
IDX_HEADER = {"images": 16, "labels": 8}


class DataError(UserError, RuntimeError):
    """Data missing, unreadable, or not what was asked for."""


def _bad(dataset: str, data_dir: Path, path: Path, problem: str) -> DataError:
    return DataError(paragraph(f"{dataset} data file {path}", problem, restage_hint(dataset, data_dir)))


def file_bytes(dataset: str, data_dir: Path, rel: str) -> tuple[Path, bytes]:
    """The (decompressed) bytes of one dataset file; MNIST files may be staged as ``.gz`` only."""
    path = Path(data_dir) / rel
    if not path.exists() and dataset == "mnist":
        gz = path.with_name(path.name + ".gz")
        if gz.exists():
            try:
                with gzip.open(gz, "rb") as fh:
                    return gz, fh.read()
            except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
                raise _bad(dataset, data_dir, gz, f"not a readable gzip file ({type(exc).__name__}: {exc})") from None
    try:
        return path, path.read_bytes()
    except FileNotFoundError:
        raise _bad(dataset, data_dir, path, "the file is missing") from None
    except OSError as exc:
        raise _bad(dataset, data_dir, path, f"cannot be read ({exc.strerror or exc})") from None


def parse_idx(data: bytes, kind: str, *, dataset: str, data_dir: Path, path: Path) -> np.ndarray:
    """An MNIST idx file: ``images`` -> uint8 (N, 28, 28), ``labels`` -> uint8 (N,) in 0..9."""
    header = IDX_HEADER[kind]
    if len(data) < header:
        raise _bad(
            dataset, data_dir, path, f"{len(data)} bytes, shorter than the {header}-byte idx header (truncated?)"
        )
    magic = struct.unpack(">I", data[:4])[0]
    if magic != IDX_MAGIC[kind]:
        other = {v: k for k, v in IDX_MAGIC.items()}.get(magic)
        what = f"an idx {other} file" if other else f"magic number 0x{magic:08x}, not an idx file"
        raise _bad(
            dataset,
            data_dir,
            path,
            f"expected an idx {kind} file (magic 0x{IDX_MAGIC[kind]:08x}) but found {what} (swapped or foreign file?)",
        )
    dims = struct.unpack(">" + "I" * ((header - 4) // 4), data[4:header])
    n = dims[0]
    if kind == "images" and tuple(dims[1:]) != (28, 28):
        raise _bad(dataset, data_dir, path, f"images of {dims[1]}x{dims[2]}, expected 28x28")
    expected = header + n * (28 * 28 if kind == "images" else 1)
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "has trailing bytes"
        raise _bad(
            dataset,
            data_dir,
            path,
            f"{state}: its header announces {n} {kind} ({expected} bytes) but the file has {len(data)} bytes",
        )
    arr = np.frombuffer(data, dtype=np.uint8, offset=header)
    if kind == "labels":
        if n and int(arr.max()) >= NUM_CLASSES:
            raise _bad(dataset, data_dir, path, f"label {int(arr.max())} found; labels must be 0..{NUM_CLASSES - 1}")
        return arr
    return arr.reshape(n, 28, 28)


class _BatchUnpickler(pickle.Unpickler):
    """Admits only what a CIFAR-10 batch holds: dicts, lists, strings, numbers and numpy arrays."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in (("numpy", "ndarray"), ("numpy", "dtype")):
            return getattr(np, name)
        if (module, name) == ("_codecs", "encode"):  # how Python 3 writes bytes in a protocol-2 pickle
            import codecs

            return codecs.encode
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in ("_reconstruct", "scalar"):
            try:
                from numpy._core import multiarray
            except ImportError:  # numpy < 2
                from numpy.core import multiarray  # type: ignore[no-redef]
            return getattr(multiarray, name)
        raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a CIFAR-10 file never contains")


def _unpickle(data: bytes, *, dataset: str, data_dir: Path, path: Path) -> Any:
    try:
        return _BatchUnpickler(BytesIO(data), encoding="latin1").load()
    except Exception as exc:  # random bytes raise almost anything: UnpicklingError, EOFError, UnicodeDecodeError, ...
        raise _bad(
            dataset, data_dir, path, f"not a CIFAR-10 pickle ({type(exc).__name__}: {quote(exc, 160)})"
        ) from None


def parse_cifar_batch(data: bytes, *, data_dir: Path, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A CIFAR-10 data or test batch -> images uint8 (N, 3, 32, 32), labels int64 (N,) in 0..9."""
    ds = "cifar10"
    obj = _unpickle(data, dataset=ds, data_dir=data_dir, path=path)
    if not isinstance(obj, dict) or "data" not in obj or "labels" not in obj:
        keys = sorted(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
        raise _bad(ds, data_dir, path, f"expected a dict with 'data' and 'labels', found {keys}")
    images, labels = obj["data"], obj["labels"]
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3072:
        got = (
            f"{images.dtype} array of shape {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
        )
        raise _bad(ds, data_dir, path, f"'data' should be a uint8 array of shape (N, 3072), found {got}")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise _bad(ds, data_dir, path, "'labels' is not a list of integers") from None
    if labels.shape != (images.shape[0],):
        raise _bad(ds, data_dir, path, f"{images.shape[0]} images but 'labels' has shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise _bad(ds, data_dir, path, f"labels outside 0..{NUM_CLASSES - 1} (min {labels.min()}, max {labels.max()})")
    return images.reshape(-1, 3, 32, 32), labels


def parse_cifar_meta(data: bytes, *, data_dir: Path, path: Path) -> list[str]:
    obj = _unpickle(data, dataset="cifar10", data_dir=data_dir, path=path)
    names = obj.get("label_names") if isinstance(obj, dict) else None
    if not isinstance(names, list) or len(names) != NUM_CLASSES:
        raise _bad("cifar10", data_dir, path, f"expected 'label_names' with {NUM_CLASSES} class names")
    return [str(n) for n in names]


def _split_files(dataset: str, train: bool) -> list[str]:
    if dataset == "mnist":
        p = "train" if train else "t10k"
        return [f"MNIST/raw/{p}-images-idx3-ubyte", f"MNIST/raw/{p}-labels-idx1-ubyte"]
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    return [f"{CIFAR10_FOLDER}/{n}" for n in names]


def _read_split(
    dataset: str, data_dir: Path, train: bool, md5s: dict[str, str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Parse one split (images uint8 NCHW, labels int64); with ``md5s`` also record each file's md5."""
    data_dir = Path(data_dir)
    rels = _split_files(dataset, train)
    blobs = []
    for rel in rels:
        path, data = file_bytes(dataset, data_dir, rel)
        if md5s is not None:
            md5s[rel] = hashlib.md5(data).hexdigest()
            _refuse_other_official_file(dataset, data_dir, rel, path, md5s[rel])
        blobs.append((path, data))
    if dataset == "mnist":
        (ipath, idata), (lpath, ldata) = blobs
        images = parse_idx(idata, "images", dataset=dataset, data_dir=data_dir, path=ipath)
        labels = parse_idx(ldata, "labels", dataset=dataset, data_dir=data_dir, path=lpath)
        if len(images) != len(labels):
            raise _count_mismatch(dataset, data_dir, train, (ipath, len(images)), (lpath, len(labels)))
        return images[:, None, :, :], labels.astype(np.int64)
    parts = [parse_cifar_batch(d, data_dir=data_dir, path=p) for p, d in blobs]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _split_name(train: bool) -> str:
    return "training" if train else "test"


def _refuse_other_official_file(dataset: str, data_dir: Path, rel: str, path: Path, md5: str) -> None:
    """A file whose content is another file of the official release (the same md5): swapped files, refused
    whether or not checksums are verified."""
    spec = spec_for(dataset)
    if md5 == spec.files.get(rel):
        return
    for other_rel, official in spec.files.items():
        if other_rel != rel and md5 == official:
            raise DataError(
                paragraph(
                    f"{dataset} data file {path}",
                    f"its content is the official {other_rel} (the same md5, {md5}): the two files are swapped",
                    f"swap {Path(rel).name} and {Path(other_rel).name} back, or {restage_hint(dataset, data_dir)}",
                )
            )


def _count_mismatch(
    dataset: str, data_dir: Path, train: bool, images: tuple[Path, int], labels: tuple[Path, int]
) -> DataError:
    """MNIST images and labels of one split disagree in count: blame the file whose count is the other split's
    official size (swapped with the other split's file), else name both."""
    spec = spec_for(dataset)
    own, other = (spec.n_train, spec.n_test) if train else (spec.n_test, spec.n_train)
    (ipath, n_img), (lpath, n_lab) = images, labels
    for path, n, partner, n_partner in ((ipath, n_img, lpath, n_lab), (lpath, n_lab, ipath, n_img)):
        if n == other and n_partner == own and own != other:
            return _bad(
                dataset,
                data_dir,
                path,
                f"it holds {n} items, the size of the official {_split_name(not train)} split, while {partner.name} "
                f"holds the {own} of the {_split_name(train)} split: this file is swapped with the "
                f"{_split_name(not train)} split's",
            )
    return _bad(dataset, data_dir, lpath, f"{n_lab} labels for {n_img} images in {ipath.name}")


def _refuse_swapped_splits(dataset: str, data_dir: Path, n_train: int, n_test: int) -> None:
    """The training split has the official test size and the other way round: the splits are swapped."""
    spec = spec_for(dataset)
    if (n_train, n_test) == (spec.n_test, spec.n_train) and n_train != n_test:
        rel = _split_files(dataset, True)[0]
        raise _bad(
            dataset,
            data_dir,
            data_dir / rel,
            f"the training split holds {n_train} images and the test split {n_test}: the official release has "
            f"{spec.n_train} and {spec.n_test}, so the training and test files are swapped (training on the test "
            "set would make every accuracy meaningless)",
        )


def read_split(dataset: str, data_dir: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """One split as checked arrays: images uint8 (N, C, H, W), labels int64 (N,)."""
    return _read_split(dataset, data_dir, train, None)


@dataclass
class ContentCheck:
    """What :func:`check_files` found: per-file md5s and the split sizes."""

    md5: dict[str, str]
    n_train: int
    n_test: int
    label_names: list[str] | None = None


def check_files(dataset: str, data_dir: Path) -> ContentCheck:
    """Parse every file of ``dataset`` (sizes, headers, shapes, counts, labels).

    Raises :class:`DataError` on the first bad one.
    """
    spec = spec_for(dataset)
    data_dir = Path(data_dir)
    md5s: dict[str, str] = {}
    n = {}
    for train in (True, False):
        images, _ = _read_split(dataset, data_dir, train, md5s)  # the parsers guarantee spec.image_shape
        if len(images) == 0:
            rel = _split_files(dataset, train)[0]
            raise _bad(dataset, data_dir, data_dir / rel, "the split holds no images")
        n[train] = len(images)
    _refuse_swapped_splits(dataset, data_dir, n[True], n[False])
    names = None
    if dataset == "cifar10":
        rel = f"{CIFAR10_FOLDER}/batches.meta"
        path, data = file_bytes(dataset, data_dir, rel)
        md5s[rel] = hashlib.md5(data).hexdigest()
        names = parse_cifar_meta(data, data_dir=data_dir, path=path)
    return ContentCheck(md5={rel: md5s[rel] for rel in spec.files}, n_train=n[True], n_test=n[False], label_names=names)


@dataclass
class Verified:
    """What :func:`verify` found: the content check and each file's md5 against the official one."""

    content: ContentCheck
    files: dict[str, dict[str, Any]]
    official: bool


def verify(dataset: str, data_dir: Path, *, verify_checksums: bool, min_test_images: int = 0) -> Verified:
    """Every check of a staged dataset, torch-free (the Snakefile runs it at planning, ``prepare-data`` again):
    content (:func:`check_files`, swaps included), official md5s unless waived, and a test split that covers
    the attack's ``min_test_images`` samples. Raises :class:`DataError` naming the file or field and the fix."""
    spec = spec_for(dataset)
    data_dir = Path(data_dir)
    content = check_files(dataset, data_dir)
    files: dict[str, dict[str, Any]] = {}
    mismatched = []
    for rel, official_md5 in spec.files.items():
        got = content.md5[rel]
        files[rel] = {"md5": got, "official_md5": official_md5, "matches": got == official_md5}
        if got != official_md5:
            mismatched.append(f"{rel} (md5 {got}, official {official_md5})")
    if mismatched and verify_checksums:
        raise DataError(
            f"{dataset}: checksums differ from the official release for: {'; '.join(mismatched)}; fix: "
            "re-download the official files, or, to use this copy knowingly, set "
            f"'verify_checksums: {{{dataset}: false}}' (or 'verify_checksums: false' for every dataset) in the config "
            "(REPORT.md will then mark the data as unofficial and list these checksums)."
        )
    if min_test_images > content.n_test:
        raise DataError(
            f"{dataset}: the test split in {data_dir} has {content.n_test} images but the attack asks for "
            f"{min_test_images} samples; fix: lower 'datasets.{dataset}.attack.samples' to at most {content.n_test}, "
            "or stage the full test set"
        )
    return Verified(content, files, official=not mismatched)
