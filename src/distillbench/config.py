"""Load and validate a workflow configuration, with errors that name the field and the fix."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Mapping

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration value is missing or invalid."""


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    with open(path) as fh:
        return yaml.safe_load(fh)


def _field_name(path: Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "(top level)"


def _describe(schema: Mapping[str, Any], error: jsonschema.ValidationError) -> str:
    field = _field_name(error.absolute_path)
    hint = error.schema.get("description") if isinstance(error.schema, Mapping) else None
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = _field_name(list(error.absolute_path) + [missing])
        return f"config field '{field}' is missing: add it (see config/config.yaml for an example)"
    if error.validator == "additionalProperties":
        return (
            f"config field '{field}': {error.message}; fix: remove or rename the unknown key "
            "(allowed keys are in workflow/schemas/config.schema.yaml)"
        )
    msg = f"config field '{field}': {error.message}"
    if hint:
        msg += f"; fix: expected {hint}"
    return msg


def _with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(config)
    cfg.setdefault("profile", "custom")
    cfg.setdefault("download", True)
    cfg.setdefault("verify_checksums", True)
    cfg.setdefault("device", "auto")
    cfg.setdefault("work_dir", f"work/{cfg.get('run_name', 'run')}")
    cfg.setdefault("resources", {})
    for kind, default in {
        "train": {"mem_mb": 4000, "runtime": 120, "threads": 2},
        "attack": {"mem_mb": 8000, "runtime": 120, "threads": 2},
    }.items():
        res = cfg["resources"].setdefault(kind, {})
        for key, value in default.items():
            res.setdefault(key, value)
    for ds in cfg.get("datasets", {}).values():
        ds.setdefault("train_subset", None)
        ds.setdefault("test_subset", None)
        tr = ds.setdefault("training", {})
        tr.setdefault("nesterov", False)
        tr.setdefault("epochs_by_temperature", {})
        tr.setdefault("lr_decay", None)
        tr.setdefault("warm_start_epochs", 0)
        at = ds.setdefault("attack", {})
        at.setdefault("targets_per_sample", 9)
        at.setdefault("batch_size", 256)
        at.setdefault("numerics", "defined")
        at.setdefault("compare_numerics", [])
    return cfg


def validate_config(config: Mapping[str, Any], schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate ``config`` against the schema and fill defaults.

    Raises :class:`ConfigError` listing every bad field with what to write instead.
    """
    schema = load_schema() if schema is None else schema
    config = _coerce_booleans(config)
    # YAML mappings like {100: 6} arrive with int keys; the schema speaks JSON (string keys).
    as_json = _stringify_keys(config)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(as_json), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [_describe(schema, e) for e in errors]
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(lines))
    cfg = _with_defaults(dict(config))
    for name, ds in cfg["datasets"].items():
        budget = ds["attack"]["max_features"]
        if budget % 2:
            raise ConfigError(
                f"config field 'datasets.{name}.attack.max_features': {budget} is odd; "
                "fix: use an even number (JSMA changes features in pairs), e.g. 112"
            )
    return cfg


BOOLEAN_FIELDS = ("download", "verify_checksums")


def _coerce_booleans(config: Mapping[str, Any]) -> dict[str, Any]:
    """``snakemake --config verify_checksums=false`` passes the string 'false': read it as the boolean."""
    cfg = dict(config)
    for key in BOOLEAN_FIELDS:
        value = cfg.get(key)
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            cfg[key] = value.strip().lower() == "true"
    return cfg


def _stringify_keys(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _stringify_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_stringify_keys(v) for v in obj]
    return obj


def load_config(path: str | Path) -> dict[str, Any]:
    with open(path) as fh:
        raw = yaml.safe_load(fh) or {}
    return validate_config(raw)


def epochs_for(training: Mapping[str, Any], temperature: float) -> int:
    """Epochs for a model trained at ``temperature`` (per-temperature override or the default)."""
    by_t = {float(k): int(v) for k, v in (training.get("epochs_by_temperature") or {}).items()}
    return by_t.get(float(temperature), int(training["epochs"]))


def format_temperature(t: float) -> str:
    """Temperatures as they appear in file names: 1, 2.5, 100."""
    return f"{float(t):g}"
