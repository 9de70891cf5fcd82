"""Profiles as overlays: a profile file (config/cpu.yaml, config/smoke.yaml) holds only what differs from
config/config.yaml, which the Snakefile always loads first.

Snakemake merges every ``--configfile`` (and then ``--config``) over the Snakefile's ``configfile:`` key by
key: a mapping merges into the mapping below it, anything else (a list, a number, null) replaces what was there.
:func:`merged` applies the same rule, so that :func:`read_profile` (and ``load_config``, ``distillbench
validate-config``) see a profile as a run does; :func:`repeated_values` finds what an overlay restates.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


def merged(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``overlay`` over ``base``, as Snakemake merges a ``--configfile`` over the workflow's config file."""
    out = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        below = out.get(key)
        if isinstance(value, Mapping):
            out[key] = merged(below if isinstance(below, Mapping) else {}, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_profile(path: str | Path, read: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """The raw settings of a run with ``--configfile path``: config/config.yaml with the file merged over it
    (config/config.yaml itself is read alone). ``read``: the parser of one file (``config.read_config_file``)."""
    path = Path(path)
    if path.resolve() == DEFAULT_CONFIG.resolve():
        return read(path)
    return merged(read(DEFAULT_CONFIG), read(path))


def repeated_values(base: Mapping[str, Any], overlay: Mapping[str, Any], where: str = "") -> list[str]:
    """Dotted names of the overlay's settings that restate ``base``'s value at the same place (a mapping is
    looked into; a list or scalar is one setting, since the merge replaces it whole)."""
    out = []
    for key, value in overlay.items():
        name = f"{where}{key}"
        if key not in base:
            continue
        if isinstance(value, Mapping) and isinstance(base[key], Mapping):
            out += repeated_values(base[key], value, f"{name}.")
        elif value == base[key] and type(value) is type(base[key]):
            out.append(name)
    return out
