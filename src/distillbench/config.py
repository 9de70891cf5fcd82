"""Load and validate a workflow configuration, with errors that name the field and the fix."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from . import config_adaptive, config_execution, settings
from .config_guards import coerce_numbers, run_name_problems, temperature_problems, unknown_keys
from .errors import UserError
from .settings import REPO_ROOT

SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(UserError, ValueError):
    """A configuration value is missing or invalid, or a config file cannot be read."""


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    with open(path) as fh:
        return yaml.safe_load(fh)


def _field_name(path: Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "(top level)"


def _describe(schema: Mapping[str, Any], error: jsonschema.ValidationError) -> str:
    field = _field_name(error.absolute_path)
    hint = error.schema.get("description") if isinstance(error.schema, Mapping) else None
    if error.validator in ("oneOf", "anyOf") and isinstance(error.instance, Mapping) and error.context:
        # A mapping given where a scalar-or-mapping is allowed: report what is wrong inside the mapping.
        inner = [
            e for e in error.context if e.validator != "type" or list(e.absolute_path) != list(error.absolute_path)
        ]
        if inner:
            deepest = max(inner, key=lambda e: len(e.absolute_path))
            msg = f"config field '{_field_name(deepest.absolute_path)}': {deepest.message}"
            return msg + (f"; fix: expected {hint}" if hint else "")
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = _field_name(list(error.absolute_path) + [missing])
        return f"config field '{field}' is missing: add it (see config/config.yaml for an example)"
    if error.validator == "additionalProperties":
        unknown = unknown_keys(error.instance, error.schema) if isinstance(error.schema, Mapping) else []
        if unknown:
            return "\n  - ".join(
                f"config field '{field}': unknown key '{k}'; fix: remove or rename the unknown key "
                "(allowed keys are in workflow/schemas/config.schema.yaml)"
                for k in unknown
            )
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
    cfg.setdefault("seeds", [cfg["seed"]] if "seed" in cfg else [])
    cfg.setdefault("length_study", None)
    config_execution.fill_defaults(cfg)
    for ds in cfg.get("datasets", {}).values():
        ds.setdefault("train_subset", None)
        ds.setdefault("test_subset", None)
        ds.setdefault("seed_models", [])
        tr = ds.setdefault("training", {})
        tr.setdefault("nesterov", False)
        tr.setdefault("epochs_by_temperature", {})
        tr.setdefault("lr_decay", None)
        tr.setdefault("warm_start_epochs", 0)
        at = ds.setdefault("attack", {})
        at.setdefault("targets_per_sample", 9)
        at.setdefault("batch_size", 256)
        at.setdefault("numerics", "exact")
        at.setdefault("compare_numerics", [])
        at.setdefault("spread_orders", [])
        config_adaptive.fill_defaults(ds)  # the budget into attack:, adaptive: and robustness:
    return cfg


def validate_config(
    config: Mapping[str, Any],
    schema: Mapping[str, Any] | None = None,
    *,
    check_device: bool = True,
    cuda_visible: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Validate ``config`` against the schema, the reproductions' checks (src/distillbench/papers/) and the
    studies', and fill defaults.

    Raises :class:`ConfigError` listing every bad field with what to write instead. With
    ``check_device``, ``device: cuda`` is refused when no CUDA device is visible here
    (``cuda_visible`` overrides the probe, for tests).
    """
    schema = load_schema() if schema is None else schema
    moved = config_execution.moved_key_problems(config) + config_adaptive.moved_budget_problems(config)
    if moved:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(moved))
    config = config_execution.coerce(_coerce_booleans(config))
    config = _coerce_study_values(config)
    config = coerce_numbers(config, schema)  # --config 'temperatures=[1,100]' passes strings
    # YAML mappings like {100: 6} arrive with int keys; the schema speaks JSON (string keys).
    as_json = _stringify_keys(config)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(as_json), key=lambda e: list(map(str, e.absolute_path)))
    schema_lines = [_describe(schema, e) for e in errors]
    lines = schema_lines + run_name_problems(config) + temperature_problems(config)
    checks: list[Callable[[dict[str, Any]], list[str]]] = [
        _restrict_datasets,
        _reproduction_problems,
        _top_level_problems,
        _study_problems,
        config_execution.problems,
    ]
    if check_device:
        checks.append(lambda c: device_problems(c, cuda_visible))
    # Every problem at once: the later checks run even after schema errors, each skipped if a field it
    # reads is one the schema already reported as missing or malformed.
    cfg: dict[str, Any] = {}
    try:
        cfg = _with_defaults(dict(config))
    except Exception:
        if not schema_lines:
            raise
        checks = []
    for check in checks:
        try:
            lines += check(cfg)
        except Exception:
            if not schema_lines:
                raise
    if lines:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(lines))
    return cfg


def _reproduction_problems(cfg: dict[str, Any]) -> list[str]:
    """``reproductions:`` and the paper blocks: defaults from each paper's module in src/distillbench/papers/,
    then the names, the blocks and each enabled paper's own checks, there."""
    from .papers import apply_defaults, config_problems

    apply_defaults(cfg)
    return config_problems(cfg)


def _top_level_problems(cfg: dict[str, Any]) -> list[str]:
    """The top-level blocks a paper reads besides its own (e.g. ``datasets:``), checked by that paper's module
    beyond the schema (budgets and counts against each dataset's size)."""
    from .papers import top_level_problems

    return top_level_problems(cfg)


def _study_problems(cfg: dict[str, Any]) -> list[str]:
    """Seeds (src/distillbench/seeds.py) and the training-length study (length_study.py)."""
    from .length_study import length_study_problems
    from .seeds import seed_problems

    return seed_problems(cfg) + length_study_problems(cfg)


def cuda_is_visible() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def device_problems(cfg: Mapping[str, Any], cuda_visible: Callable[[], bool] | None = None) -> list[str]:
    """``device: cuda`` where no CUDA device is visible would only fail in the first training job."""
    if cfg.get("device") != "cuda":
        return []
    if (cuda_visible or cuda_is_visible)():
        return []
    cvd = os.environ.get("CUDA_VISIBLE_DEVICES")
    where = f" (CUDA_VISIBLE_DEVICES={cvd!r})" if cvd is not None else ""
    return [
        f"config field 'device': cuda, but no CUDA device is visible on this machine{where}; fix: use "
        "'device: auto' (the GPU when there is one, else the CPU) or 'device: cpu', or run where a GPU and its "
        "driver are visible (with the SLURM executor this check is left to the jobs)"
    ]


def cpu_fallback_note(cfg: Mapping[str, Any], cuda_visible: Callable[[], bool] | None = None) -> str | None:
    """The paper profile with ``device: auto`` where no CUDA device is visible trains on the CPU: a run that is
    sized for a GPU. Not an error (a big CPU box may be meant), but worth a line before the first job."""
    if cfg.get("device") != "auto" or cfg.get("profile") != "paper":
        return None
    if (cuda_visible or cuda_is_visible)():
        return None
    return (
        "note: no CUDA device is visible here, so 'device: auto' trains the paper profile on the CPU; that profile "
        "is sized for a GPU (50 epochs per network, 900 targets per model). Without a GPU, run the cpu profile "
        "instead: --configfile config/cpu.yaml (README, 'Profiles and what they cost'); to go on with this one on "
        "the CPU without this note, set 'device: cpu'."
    )


def verify_checksums_for(config: Mapping[str, Any], dataset: str) -> bool:
    """``verify_checksums`` for one dataset: a plain boolean applies to all, a mapping per dataset (default true)."""
    return settings.verify_checksums_for(_coerce_booleans(dict(config)), dataset)


def _restrict_datasets(cfg: dict[str, Any]) -> list[str]:
    """``run_datasets: [mnist]`` keeps only those datasets of ``datasets`` (a run of part of a profile,
    e.g. ``--config run_datasets=[mnist]``); returns the problems found."""
    only = cfg.get("run_datasets")
    if not only:
        return []
    unknown = [d for d in only if d not in cfg["datasets"]]
    if unknown:
        return [
            f"config field 'run_datasets': {unknown} not in 'datasets' ({sorted(cfg['datasets'])}); "
            "fix: name datasets the config defines, e.g. [mnist]"
        ]
    cfg["datasets"] = {d: v for d, v in cfg["datasets"].items() if d in only}
    return []


BOOLEAN_FIELDS = ("download", "verify_checksums")


def _as_bool(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _coerce_booleans(config: Mapping[str, Any]) -> dict[str, Any]:
    """``snakemake --config verify_checksums=false`` passes the string 'false': read it as the boolean
    (also inside ``verify_checksums={mnist: true, cifar10: false}``, which arrives as strings)."""
    cfg = dict(config)
    for key in BOOLEAN_FIELDS:
        value = cfg.get(key)
        if isinstance(value, Mapping):
            cfg[key] = {k: _as_bool(v) for k, v in value.items()}
        elif key in cfg:
            cfg[key] = _as_bool(value)
    return cfg


def _as_int(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


def _coerce_study_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """``--config seeds=[1234,1]`` passes strings, ``--config length_study=null`` the string 'null': read them as
    the numbers and the null they stand for (seeds.py, length_study.py); each paper reads its own fields the same
    way (papers/: ``coerce_command_line``)."""
    cfg = dict(config)
    if isinstance(cfg.get("seeds"), list):
        cfg["seeds"] = [_as_int(v) for v in cfg["seeds"]]
    study = cfg.get("length_study")
    if isinstance(study, str) and study.strip().lower() in ("null", "none", "~", ""):
        cfg["length_study"] = None
    elif isinstance(study, Mapping):
        study = dict(study)
        for key in ("epochs", "seeds"):
            if isinstance(study.get(key), list):
                study[key] = [_as_int(v) for v in study[key]]
        if "samples" in study:
            study["samples"] = _as_int(study["samples"])
        cfg["length_study"] = study
    from .papers import coerce_command_line

    return coerce_command_line(cfg)


def _stringify_keys(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _stringify_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_stringify_keys(v) for v in obj]
    return obj


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML would keep the last silently)."""


class _DuplicateKey(yaml.constructor.ConstructorError):
    pass


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.setdefault(key, key_node.start_mark.line + 1)
        except TypeError:  # unhashable key: let the base loader report it
            continue
        if first != key_node.start_mark.line + 1:
            raise _DuplicateKey(
                None, None, f"key {key!r} appears twice in one mapping (first on line {first})", key_node.start_mark
            )
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse one YAML (or JSON) config file; a syntax error names the file, line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path}: not found; fix: check the path (relative paths are taken from "
            f"the working directory {Path.cwd()})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc}); fix: pass a readable UTF-8 YAML file") from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "invalid YAML"
        lines = text.splitlines()
        tabs = mark is not None and mark.line < len(lines) and "\t" in lines[mark.line]
        if isinstance(exc, _DuplicateKey):
            kind, fix = "duplicate key", "keep one of the two (YAML would silently use the last one)"
        elif tabs:
            kind, fix = "YAML syntax error", "indent with spaces, not tabs"
        else:
            kind = "YAML syntax error"
            fix = (
                "check that line and the last lines above it that are not comments (indentation, a missing ':' "
                "or closing bracket or quote)"
            )
        raise ConfigError(f"config file {where}: {kind}: {problem}; fix: {fix}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path}: not valid YAML ({exc}); fix: correct the file") from None
    if raw is None:
        raise ConfigError(f"config file {path}: empty; fix: add the settings (see config/config.yaml for an example)")
    if not isinstance(raw, dict):
        raise ConfigError(
            f"config file {path}: the top level is a {type(raw).__name__}, not a mapping of "
            "settings; fix: write 'key: value' lines at the top level, as in config/config.yaml"
        )
    return raw


def load_config(path: str | Path, **checks: Any) -> dict[str, Any]:
    """Read and validate one config file as the workflow reads it: merged over config/config.yaml, as
    ``--configfile`` is (``checks``: :func:`validate_config`'s keyword arguments)."""
    from .config_profiles import read_profile

    return validate_config(read_profile(path, read_config_file), **checks)
