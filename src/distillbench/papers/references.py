"""A paper's reference values as the benchmark/<paper>/reference.yaml files hold them: each value carries its
status, ``confirmed`` (with where the paper states it) or ``unconfirmed`` (with why it could not be checked), and
the report marks the unconfirmed ones wherever it shows them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

CONFIRMED = "confirmed"
UNCONFIRMED = "unconfirmed"
STATUSES = (CONFIRMED, UNCONFIRMED)


def value(entry: Mapping[str, Any]) -> float:
    """The number of a reference entry ``{value, status, ...}``."""
    return float(entry["value"])


def optional_value(entry: Mapping[str, Any] | None) -> float | None:
    """The number of a reference entry, or None for an absent one."""
    return None if entry is None else value(entry)


def is_confirmed(entry: Mapping[str, Any]) -> bool:
    return entry.get("status") == CONFIRMED


def mark(entry: Mapping[str, Any] | None) -> str:
    """What follows the value in a report: nothing when confirmed, " (unconfirmed)" otherwise."""
    return "" if entry is None or is_confirmed(entry) else f" ({UNCONFIRMED})"


def shown(entry: Mapping[str, Any] | None, fmt: str = "{:g}") -> str:
    """The value as the report shows it, with its mark; "–" for an absent entry."""
    return "–" if entry is None else fmt.format(entry["value"]) + mark(entry)


def entries(tree: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every reference entry (a mapping with a ``value`` key) in a reference file's tree, with its path."""
    if isinstance(tree, Mapping):
        if "value" in tree:
            yield path, tree
            return
        for k, v in tree.items():
            yield from entries(v, f"{path}.{k}" if path else str(k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from entries(v, f"{path}.{i}")


def problems(tree: Any, where: str) -> list[str]:
    """Entries without a valid status, or unconfirmed without a reason, or confirmed without a source."""
    out = []
    for path, e in entries(tree):
        status = e.get("status")
        if status not in STATUSES:
            out.append(f"{where}: '{path}' has status {status!r}; fix: set status to confirmed or unconfirmed")
        elif status == UNCONFIRMED and not str(e.get("reason") or "").strip():
            out.append(f"{where}: '{path}' is unconfirmed without a reason; fix: add a one-line reason")
        elif status == CONFIRMED and not str(e.get("source") or "").strip():
            out.append(f"{where}: '{path}' is confirmed without a source; fix: add where the paper states it")
    return out
