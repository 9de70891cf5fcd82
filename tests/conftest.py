from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from datasets_on_disk import write_both  # noqa: E402


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small MNIST + CIFAR-10 in torchvision's layout (1000/500 and 500/500 images)."""
    return write_both(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
