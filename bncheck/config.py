"""Settings from ``[tool.bncheck]`` in ``pyproject.toml`` (or a ``bncheck.toml`` / ``--config FILE``).

```toml
[tool.bncheck]
select = ["BN00"]                 # rule-code prefixes, or "ALL"
ignore = ["BN007"]
extend-select = []                # added to select (also to the default: every rule)
fail-on = "warning"
output-format = "concise"
exclude = ["**/tmp/**"]           # shell-style globs on the paths found; extend-exclude adds to them
extend-exclude = []

[tool.bncheck.per-path."models/train/*"]   # settings for the inputs whose path matches
train-op = ["train_op"]
serve-output = []
ignore = ["BN002"]

[[tool.bncheck.suppress]]         # a model has no source line for a noqa: suppress by path, layer, code
path = "models/legacy/*"
layer = "block1/*"
code = "BN007"
reason = "momentum 0.1 kept on purpose for the legacy export"   # required
```

Command-line options override the file; ``--isolated`` ignores it. Paths in globs are relative to
the folder holding the config file (as given on the command line, when that is where bncheck runs).
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KEYS = {"select", "ignore", "extend-select", "fail-on", "output-format", "exclude", "extend-exclude",
        "per-path", "suppress"}
PER_PATH_KEYS = {"train-op", "serve-output", "ignore", "select"}
SUPPRESS_KEYS = {"path", "layer", "code", "reason"}


class ConfigError(ValueError):
    """A config file bncheck cannot use; the message is one line naming the file."""


@dataclass(frozen=True)
class Suppression:
    """Findings to leave out: every given field must match (shell-style globs; ``code`` a prefix)."""

    reason: str
    path: str = "*"
    layer: str = "*"
    code: str = ""
    origin: str = ""  # where it was written, for the report

    def matches(self, path: str, layer: str, code: str) -> bool:
        return (code.startswith(self.code.upper()) and fnmatchcase(layer, self.layer)
                and (fnmatchcase(path, self.path) or fnmatchcase(_relative(path), self.path)))

    def __str__(self) -> str:
        return f"{self.origin}: path={self.path!r} layer={self.layer!r} code={self.code or '*'!r}"


@dataclass(frozen=True)
class PerPath:
    pattern: str
    train_op: tuple[str, ...] = ()
    serve_output: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    select: tuple[str, ...] | None = None

    def matches(self, path: str) -> bool:
        return fnmatchcase(path, self.pattern) or fnmatchcase(_relative(path), self.pattern)


@dataclass
class Settings:
    source: str | None = None  # the file read, None when none was found (or --isolated)
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    fail_on: str | None = None
    output_format: str | None = None
    exclude: list[str] = field(default_factory=list)
    per_path: list[PerPath] = field(default_factory=list)
    suppress: list[Suppression] = field(default_factory=list)

    def excluded(self, path: str) -> bool:
        return any(fnmatchcase(path, g) or fnmatchcase(_relative(path), g) for g in self.exclude)

    def describe(self) -> dict[str, Any]:
        return {
            "config": self.source, "select": self.select, "ignore": self.ignore,
            "extend-select": self.extend_select, "fail-on": self.fail_on, "output-format": self.output_format,
            "exclude": self.exclude,
            "per-path": {p.pattern: {"train-op": list(p.train_op), "serve-output": list(p.serve_output),
                                     "ignore": list(p.ignore), "select": p.select} for p in self.per_path},
            "suppress": [{"path": s.path, "layer": s.layer, "code": s.code, "reason": s.reason}
                         for s in self.suppress],
        }


def _relative(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel.replace(os.sep, "/")


def find_config(start: str = ".") -> str | None:
    """The nearest ``bncheck.toml``, or ``pyproject.toml`` with a ``[tool.bncheck]`` table, from
    ``start`` up to the file system root."""
    folder = os.path.abspath(start)
    while True:
        own = os.path.join(folder, "bncheck.toml")
        if os.path.isfile(own):
            return own
        pyproject = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(pyproject) and _has_table(pyproject):
            return pyproject
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _has_table(pyproject: str) -> bool:
    try:
        tool = _read_toml(pyproject).get("tool", {})
    except ConfigError:
        return True  # broken: say so rather than run with no settings
    return not isinstance(tool, dict) or "bncheck" in tool


#: the largest config file read (real ones are a few KiB)
MAX_CONFIG_FILE_BYTES = 1 << 20
_CODE = re.compile(r"[A-Za-z]*[0-9]*\Z")


def _read_toml(path: str) -> dict[str, Any]:
    """A config file's TOML: a regular file of at most :data:`MAX_CONFIG_FILE_BYTES`, UTF-8, nested
    within Python's recursion limit; :class:`ConfigError` (one line) otherwise."""
    from bncheck.errors import InputError
    from bncheck.loaders.safe_io import read_bounded

    try:
        data = read_bounded(path, MAX_CONFIG_FILE_BYTES, "a config file", raised_by=None)
    except InputError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.reason})") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML (arrays or tables nested too deeply)") from None


def load_settings(path: str | None = None, *, isolated: bool = False) -> Settings:
    """Settings from ``path`` (or the nearest config file); raises :class:`ConfigError`."""
    if isolated:
        return Settings()
    path = path or find_config()
    if path is None:
        return Settings()
    data = _read_toml(path)
    if os.path.basename(path) == "pyproject.toml":
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{path}: tool must be a table ([tool.bncheck])")
        table = tool.get("bncheck", {})
    else:
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.bncheck] must be a table")
    return _settings(table, path)


def _strings(value: Any, where: str, path: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {where} must be a string or a list of strings")
    return [c.strip() for v in value for c in v.split(",") if c.strip()]


def _codes(value: Any, where: str, path: str, known_only: bool = False) -> list[str]:
    """Rule-code prefixes (or ``ALL``). With ``known_only`` a prefix of no rule is refused here, as the
    command line refuses the top-level ones (per-path codes reach no other check)."""
    codes = [c.upper() for c in _strings(value, where, path)]
    bad = [c for c in codes if not _CODE.match(c)]
    if bad:
        raise ConfigError(f"{path}: {where}: {bad[0]!r} is not a rule code")
    if known_only and codes and codes != ["ALL"]:
        from bncheck.catalogue import SelectionError, check_known

        try:
            check_known(codes, where)
        except SelectionError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return codes


def _settings(table: dict[str, Any], path: str) -> Settings:
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    settings = Settings(source=path)
    if "select" in table:
        settings.select = _codes(table["select"], "select", path)
    settings.ignore = _codes(table.get("ignore", []), "ignore", path)
    settings.extend_select = _codes(table.get("extend-select", []), "extend-select", path)
    for key in ("fail-on", "output-format"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{path}: {key} must be a string")
    settings.fail_on = table.get("fail-on")
    if settings.fail_on is not None and settings.fail_on not in ("error", "warning", "info"):
        raise ConfigError(f"{path}: fail-on must be error, warning or info, not {settings.fail_on!r}")
    settings.output_format = table.get("output-format")
    settings.exclude = _strings(table.get("exclude", []), "exclude", path) + _strings(
        table.get("extend-exclude", []), "extend-exclude", path)
    per_path = table.get("per-path", {})
    if not isinstance(per_path, dict):
        raise ConfigError(f"{path}: per-path must be a table of path globs")
    for pattern, entry in per_path.items():
        if not isinstance(entry, dict) or set(entry) - PER_PATH_KEYS:
            raise ConfigError(f"{path}: per-path.{pattern!r} takes {', '.join(sorted(PER_PATH_KEYS))}")
        where = f"per-path.{pattern!r}"
        settings.per_path.append(PerPath(
            pattern, tuple(_strings(entry.get("train-op", []), where, path)),
            tuple(_strings(entry.get("serve-output", []), where, path)),
            tuple(_codes(entry.get("ignore", []), f"{where}.ignore", path, known_only=True)),
            tuple(_codes(entry["select"], f"{where}.select", path, known_only=True)) if "select" in entry else None))
    suppress = table.get("suppress", [])
    if not isinstance(suppress, list):
        raise ConfigError(f"{path}: suppress must be an array of tables ([[tool.bncheck.suppress]])")
    for i, entry in enumerate(suppress, 1):
        where = f"suppress #{i}"
        if not isinstance(entry, dict) or set(entry) - SUPPRESS_KEYS:
            raise ConfigError(f"{path}: {where} takes {', '.join(sorted(SUPPRESS_KEYS))}")
        if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            raise ConfigError(f"{path}: {where} needs a reason (why these findings do not matter)")
        if not any(k in entry for k in ("path", "layer", "code")):
            raise ConfigError(f"{path}: {where} must name a path, a layer or a code")
        values = {k: entry.get(k, "*" if k != "code" else "") for k in ("path", "layer", "code")}
        if not all(isinstance(v, str) for v in values.values()):
            raise ConfigError(f"{path}: {where}: path, layer and code must be strings")
        if not _CODE.match(values["code"]):
            raise ConfigError(f"{path}: {where}: {values['code']!r} is not a rule code")
        settings.suppress.append(Suppression(entry["reason"].strip(), values["path"], values["layer"],
                                             values["code"].upper(), f"{os.path.basename(path)} suppress #{i}"))
    return settings
