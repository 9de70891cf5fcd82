"""environment.yml (the conda route in README) installs what pyproject.toml does, tests' extras included, so that
README's test command runs the same suite either way."""

from __future__ import annotations

import re
import sys

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (README: >= 3.10) has no tomllib
    tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml needs Python >= 3.11 or tomli")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_pins_what_pyproject_requires(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    have = {_name(r): r.replace(" ", "") for r in pip if not r.startswith("-")}
    missing = [r for r in wanted if _name(r) not in have]
    assert not missing, f"environment.yml lacks {missing}"
    differ = [(r, have[_name(r)]) for r in wanted if have[_name(r)] != r.replace(" ", "")]
    assert not differ, f"pyproject.toml and environment.yml disagree: {differ}"
    assert "-e ." in pip  # the package itself, editable, as scripts/setup-env.sh installs it
