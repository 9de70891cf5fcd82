"""The package's import contracts (pyproject.toml, [tool.importlinter]): they hold on this tree, and they fail on a
tree with an upward import or an import circle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(config: Path, src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LINT, str(config), "--no-cache"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        cwd=config.parent,
        timeout=300,
    )


def test_contracts_hold(repo_root):
    out = lint_imports(repo_root / "pyproject.toml", repo_root / "src")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def _tree_with(tmp_path: Path, repo_root: Path, module: str, line: str) -> Path:
    """A copy of src/ and pyproject.toml with ``line`` added at the end of ``module`` (a path under the package)."""
    shutil.copytree(repo_root / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(repo_root / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "src" / "distillbench" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    return tmp_path


def test_an_upward_import_breaks_the_layers(tmp_path, repo_root):
    """The core importing a paper (as the training loops once imported Papernot's architecture names)."""
    tree = _tree_with(tmp_path, repo_root, "training.py", "from .papers.papernot2016 import models as _upward")
    out = lint_imports(tree / "pyproject.toml", tree / "src")
    assert out.returncode != 0
    assert "distillbench.training -> distillbench.papers.papernot2016" in out.stdout


def test_config_validation_naming_a_paper_breaks_the_contracts(tmp_path, repo_root):
    """Config validation importing a paper's module (as it once imported Papernot's recipe study) instead of asking
    the registry."""
    tree = _tree_with(tmp_path, repo_root, "config.py", "from .papers.papernot2016 import recipe_study as _named")
    out = lint_imports(tree / "pyproject.toml", tree / "src")
    assert out.returncode != 0
    assert "distillbench.config -> distillbench.papers.papernot2016" in out.stdout


def test_a_circle_between_siblings_breaks_the_contracts(tmp_path, repo_root):
    """Two modules of one layer importing each other (a circle the layers alone would allow)."""
    tree = _tree_with(tmp_path, repo_root, "checkpoints.py", "from . import training as _circle")
    out = lint_imports(tree / "pyproject.toml", tree / "src")
    assert out.returncode != 0
    assert "No import circles" in out.stdout and "BROKEN" in out.stdout


def test_every_module_of_the_package_has_a_layer(repo_root):
    """A module missing from the layers contract would escape it: every top-level module and subpackage of
    distillbench is named in one layer."""
    import tomllib

    contracts = tomllib.loads((repo_root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    named = {m.strip() for layer in layers for m in layer.split(":")}
    package = repo_root / "src" / "distillbench"
    modules = {f"distillbench.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    modules |= {f"distillbench.{p.parent.name}" for p in package.glob("*/__init__.py")}
    assert not modules - named, f"modules in no layer of pyproject.toml's layers contract: {sorted(modules - named)}"
