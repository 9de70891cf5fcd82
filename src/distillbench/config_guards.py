"""Checks on the config values that paths and file names are built from, and the reading of numbers given on
the command line. Plain Python, no torch: the Snakefile and ``validate-config`` call these before planning.

* A run name becomes a folder, ``results/<run_name>/``: it must name one folder inside ``results/``.
* A temperature becomes part of file names (``distilled_T20.pt``): names round-trip exactly (the shortest
  decimal that reads back as the same float, never in exponent notation) inside a stated range.
* ``snakemake --config 'temperatures=[1,100]'`` passes list items as strings: a string that spells a number is
  read as that number wherever the schema asks for a number, and nowhere else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .settings import format_temperature as temperature_name

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
RUN_NAME_MAX = 100

# Temperatures from 0.01 to 999: each network's seed adds round(100 T) to a per-role offset 100000 apart
# (teacher, student), so T < 1000 keeps the roles' seeds apart; below 0.01, round(100 T) is 0 for every T.
T_MIN, T_MAX = 0.01, 999.0


def run_name_problems(config: Mapping[str, Any]) -> list[str]:
    """``run_name`` must name one folder inside ``results/`` (and ``work/``): no '.', '..', leading dot, slash."""
    name = config.get("run_name")
    if not isinstance(name, str):
        return []  # the schema reports a missing or non-string run name
    if RUN_NAME.match(name) and len(name) <= RUN_NAME_MAX:
        return []
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        return []  # the schema's pattern reports it
    why = (
        "it would point outside results/"
        if name in (".", "..") or "/" in name or "\\" in name
        else "a run name starts with a letter or digit and holds only letters, digits, '_', '.' and '-' "
        f"(at most {RUN_NAME_MAX} characters), so that it names one folder results/<run_name>/"
    )
    return [f"config field 'run_name': {name!r} is not a usable run name: {why}; fix: use e.g. 'cpu-2026-12-06'"]


def temperature_problems(config: Mapping[str, Any]) -> list[str]:
    """Temperatures inside the stated range whose file names are distinct and read back as the same numbers."""
    temps = config.get("temperatures")
    if not isinstance(temps, list):
        return []
    out = []
    names: dict[str, Any] = {}
    for t in temps:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            continue  # the schema reports it
        if not T_MIN <= t <= T_MAX:
            out.append(
                f"config field 'temperatures': {t!r} is outside the supported range {T_MIN:g} to {T_MAX:g} "
                f"(each temperature names files and offsets its networks' seeds); fix: use temperatures in that "
                "range, e.g. [1, 2, 5, 10, 20, 30, 40, 50, 100]"
            )
            continue
        name = temperature_name(t)
        if name in names and names[name] != t:
            out.append(
                f"config field 'temperatures': {names[name]!r} and {t!r} give the same file name T{name}; "
                "fix: keep one of them"
            )
        names.setdefault(name, t)
    return out


_INT = re.compile(r"^[+-]?[0-9]+$")
_FLOAT = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def _types(schema: Mapping[str, Any]) -> set[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return set(t)
    if "enum" in schema:
        return {type_name(v) for v in schema["enum"]}
    return set()


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "object"


def _resolve(schema: Any, root: Mapping[str, Any]) -> Mapping[str, Any]:
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            return {}
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        schema = node
    return schema if isinstance(schema, Mapping) else {}


def _branches(schema: Mapping[str, Any], root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    alts = [_resolve(s, root) for key in ("oneOf", "anyOf") for s in schema.get(key, [])]
    return [schema, *alts] if alts else [schema]


def _as_number(text: str, types: set[str]) -> Any:
    s = text.strip()
    if "integer" in types and _INT.match(s):
        return int(s)
    if "number" in types and _FLOAT.match(s):
        value = float(s)
        if math.isfinite(value):
            return int(value) if _INT.match(s) else value
    return text


def coerce_numbers(value: Any, schema: Any, root: Mapping[str, Any] | None = None) -> Any:
    """``value`` with every string that spells a number read as that number where ``schema`` asks for a number
    (or integer) and does not accept a string, and every integer read as its digits where ``schema`` asks for a
    string only (``--config run_name=20261206``); everything else is returned as it is."""
    root = schema if root is None else root
    node = _resolve(schema, root)
    branches = _branches(node, root)
    if isinstance(value, str):
        types = set().union(*(_types(b) for b in branches))
        if types & {"number", "integer"} and "string" not in types:
            return _as_number(value, types)
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        types = set().union(*(_types(b) for b in branches))
        if types == {"string"} and "enum" not in node:  # --config run_name=20261206 arrives as an int
            return str(value)
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            sub = _child_schema(branches, str(key))
            out[key] = coerce_numbers(item, sub, root) if sub is not None else item
        return out
    if isinstance(value, list):
        items = [b.get("items") for b in branches if isinstance(b.get("items"), Mapping)]
        return [coerce_numbers(v, items[0], root) for v in value] if items else value
    return value


def _child_schema(branches: list[Mapping[str, Any]], key: str) -> Any:
    for b in branches:
        props = b.get("properties")
        if isinstance(props, Mapping) and key in props:
            return props[key]
        for pattern, sub in (b.get("patternProperties") or {}).items():
            if re.search(pattern, key):
                return sub
        if isinstance(b.get("additionalProperties"), Mapping):
            return b["additionalProperties"]
    return None


def unknown_keys(instance: Any, schema: Mapping[str, Any]) -> list[str]:
    """The keys of ``instance`` that ``schema`` (a mapping's schema with ``additionalProperties: false``) names
    neither in ``properties`` nor by a ``patternProperties`` pattern."""
    if not isinstance(instance, Mapping):
        return []
    props = schema.get("properties") or {}
    patterns = list((schema.get("patternProperties") or {}).keys())
    return [str(k) for k in instance if str(k) not in props and not any(re.search(p, str(k)) for p in patterns)]
