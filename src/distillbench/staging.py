"""How to get a dataset into ``data_dir``: the fix quoted by every missing- or bad-data error."""

from __future__ import annotations

from pathlib import Path

from .dataspec import CIFAR10_FOLDER


def missing_message(dataset: str, data_dir: Path, missing: list[str], *, download_on: bool, reason: str = "") -> str:
    """One paragraph: which files are missing, why they were not fetched, and how to stage them."""
    from .dataspec import spec_for

    if len(missing) == len(spec_for(dataset).files):
        what = f"no {dataset} files in {data_dir}"
    else:
        what = f"files missing in {data_dir} ({', '.join(missing)})"
    why = f"the download failed ({reason})" if download_on else "download is off"
    return f"{dataset}: {what} and {why}; fix: " + staging_help(dataset, data_dir, download_on=download_on)


def staging_help(dataset: str, data_dir: Path, *, download_on: bool) -> str:
    """How to get ``dataset`` into ``data_dir``; never suggests the download setting already in force."""
    if dataset == "mnist":
        layout = "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte (or the same names + .gz)"
        cls = "MNIST"
    else:
        layout = f"{CIFAR10_FOLDER}/{{data_batch_1..5,test_batch,batches.meta}}"
        cls = "CIFAR10"
    msg = (
        f"stage a local copy: put {layout} under {data_dir}, or point the run at a folder that has them "
        f"(--config data_dir=/path/to/copy); to make a copy, run "
        f"python -c \"import torchvision as tv; tv.datasets.{cls}('DIR', download=True)\" on a machine with "
        f"internet and copy DIR over"
    )
    if download_on:
        return msg + "; on a machine without internet also pass --config download=false"
    return msg + "; or set 'download: true' where this machine can reach the internet"


def restage_hint(dataset: str, data_dir: Path) -> str:
    """How to replace a bad file of ``dataset`` (the fix of every content-check error)."""
    if dataset == "mnist":
        where = f"{data_dir}/MNIST/raw/"
        src = "tv.datasets.MNIST"
    else:
        where = f"{data_dir}/{CIFAR10_FOLDER}/"
        src = "tv.datasets.CIFAR10"
    return (
        f"replace the file with a good copy: delete {where} and run again with 'download: true' (needs internet), "
        f"or copy that folder again from a good copy (e.g. made elsewhere with "
        f"python -c \"import torchvision as tv; {src}('DIR', download=True)\")"
    )
