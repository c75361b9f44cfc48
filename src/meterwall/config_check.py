"""Configuration mistakes caught before the settings are built: names, syntax, secret files.

Pydantic validates the values; this module checks what pydantic cannot see:
an environment variable or a TOML key that names no setting (a typo would
otherwise be ignored, and the site would run with a setting the operator did
not mean), a TOML file that does not parse (said with its line and column,
never a traceback), and secrets kept in files: ``METERWALL_<NAME>_FILE``
variables and a secrets folder (``METERWALL_SECRETS_DIR``, e.g.
``/run/secrets``) holding one file per variable.
"""

from __future__ import annotations

import difflib
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

PREFIX = "METERWALL_"
RESERVED = frozenset({"METERWALL_CONFIG", "METERWALL_SECRETS_DIR"})
"""Variables meterwall reads that are not settings."""
RESERVED_PREFIXES = ("METERWALL_TEST_", "METERWALL_FUZZ_", "METERWALL_BENCH_")
"""Variables of the test suite and the benchmarks, never read by the server."""
FILE_SUFFIX = "_FILE"
MAX_SECRET_BYTES = 64 * 1024


class ConfigProblem(Exception):
    """A configuration mistake, with a one-line message for each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a field holds directly (``Model`` or ``Model | None``), not inside lists."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def setting_paths(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every setting's path: ``("policy", "anonymous_limit")``; a section is a path too."""
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        yield path
        for inner in _models_in(field.annotation):
            yield from setting_paths(inner, path)


def section_paths(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """The paths of settings that are sections (tables) of further settings."""
    for name, field in model.model_fields.items():
        for inner in _models_in(field.annotation):
            yield (*prefix, name)
            yield from section_paths(inner, (*prefix, name))


def env_name(path: tuple[str, ...]) -> str:
    """The environment variable of a setting: ``METERWALL_POLICY__ANONYMOUS_LIMIT``."""
    return PREFIX + "__".join(p.upper() for p in path)


def _nearest(name: str, known: list[str], separator: str, quote: bool = False) -> str:
    """``; did you mean X?``: the closest spelling, else the settings whose last part
    contains this one's (``limit`` -> ``anonymous_limit`` or ``registered_limit``)."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:
        last = name.rsplit(separator, 1)[-1]
        close = [k for k in known if last and last in k.rsplit(separator, 1)[-1]][:2]
    if not close:
        return ""
    shown = [repr(c) if quote else c for c in close]
    return f"; did you mean {' or '.join(shown)}?"


def unknown_variables(model: type[BaseModel], environ: Mapping[str, str]) -> list[str]:
    """A message for each ``METERWALL_*`` variable that names no setting."""
    known = {env_name(p) for p in setting_paths(model)}
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in RESERVED:
            continue
        if upper.startswith(RESERVED_PREFIXES) or upper in known:
            continue
        if upper.endswith(FILE_SUFFIX) and upper.removesuffix(FILE_SUFFIX) in known:
            continue
        problems.append(f"{name} is not a meterwall setting{_nearest(upper, sorted(known), '__')}")
    return problems


def _toml_paths(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in data.items():
        path = (*prefix, key)
        yield path
        if isinstance(value, Mapping):
            yield from _toml_paths(value, path)


def unknown_keys(model: type[BaseModel], data: Mapping[str, Any], source: str) -> list[str]:
    """A message for each key of a TOML file that names no setting.

    A key inside a setting that is a list of tables (``[[offers]]``) is left
    to that setting's own validation.
    """
    known = {".".join(p) for p in setting_paths(model)}
    sections = {".".join(p) for p in section_paths(model)}
    problems = []
    for path in _toml_paths(data):
        dotted = ".".join(path)
        parent = ".".join(path[:-1])
        if dotted in known or (parent and parent not in sections):
            continue  # below a value or an unknown section: that is reported, or validated
        section = [k for k in known if k.count(".") == len(path) - 1 and k.startswith(parent)]
        suggestion = _nearest(dotted, sorted(section), ".", quote=True)
        problems.append(f"{source}: unknown setting {dotted!r}{suggestion}")
    return problems


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file at ``path``; :class:`ConfigProblem` naming the line and column of a
    syntax error, or why the file cannot be read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigProblem([f"{path}: cannot read the config file: {exc.strerror}"]) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigProblem([f"{path}: the config file is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblem([f"{path}: TOML syntax error: {exc}"]) from None


def _nested(path: tuple[str, ...], value: str) -> dict[str, Any]:
    result: dict[str, Any] = {path[-1]: value}
    for part in reversed(path[:-1]):
        result = {part: result}
    return result


def _merge(into: dict[str, Any], more: Mapping[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _secret(path: Path, name: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigProblem([f"{name}: cannot read {path}: {exc.strerror}"]) from None
    if len(data) > MAX_SECRET_BYTES:
        raise ConfigProblem([f"{name}: {path} is larger than a secret can be"])
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ConfigProblem([f"{name}: {path} is not UTF-8 text"]) from None


def secret_values(model: type[BaseModel], environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings read from files: ``METERWALL_<NAME>_FILE`` and the secrets folder.

    A variable set both directly and as a file is a mistake; a file in the
    secrets folder gives way to the variable set directly.
    """
    by_env = {env_name(p): p for p in setting_paths(model)}
    upper_env = {k.upper(): v for k, v in environ.items()}
    found: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in upper_env.items():
        base = name.removesuffix(FILE_SUFFIX)
        if not name.endswith(FILE_SUFFIX) or base not in by_env:
            continue
        if base in upper_env:
            problems.append(f"set {base} or {name}, not both")
            continue
        _merge(found, _nested(by_env[base], _secret(Path(value), name)))
    folder = upper_env.get("METERWALL_SECRETS_DIR")
    if folder:
        directory = Path(folder)
        if not directory.is_dir():
            problems.append(f"METERWALL_SECRETS_DIR: {directory} is not a folder")
        else:
            for entry in sorted(directory.iterdir()):
                name = entry.name.upper()
                if name not in by_env or not entry.is_file():
                    continue
                if name in upper_env or name + FILE_SUFFIX in upper_env:
                    continue
                _merge(found, _nested(by_env[name], _secret(entry, name)))
    if problems:
        raise ConfigProblem(problems)
    return found


def merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` laid on top, nested tables merged key by key."""
    result: dict[str, Any] = {}
    _merge(result, base)
    _merge(result, over)
    return result
