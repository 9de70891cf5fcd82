from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from datasets_on_disk import write_both  # noqa: E402


@pytest.fixture(autouse=True)
def _same_draws_every_run() -> None:
    """Every test starts from the same global random state, whichever tests ran before it: a test that draws
    from torch, numpy or ``random`` without its own generator sees the same numbers on every run (CI once
    failed on an unseeded draw)."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small MNIST + CIFAR-10 in torchvision's layout (1000/500 and 500/500 images)."""
    return write_both(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture
def float64_default():
    """torch's default dtype float64 for one test (comparisons whose tolerance comes from float64 rounding)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)
