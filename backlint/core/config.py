"""``[tool.backlint]`` in pyproject.toml → a frozen Config; unknown keys and wrong types are errors."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from backlint.core.catalog import LEVELS, ROLES, Catalog, validate_row
from backlint.core.files import read_limited
from backlint.core.globs import GlobError, compile_glob
from backlint.core.ids import PARSE_ERROR
from backlint.core.patterns import UserPattern, re2_problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
    """Bad configuration: reported as ``file: key: problem`` and exit code 2."""


DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".env", "env", "virtualenv", ".tox", ".nox",
    "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".backlint_cache",
    "build", "dist", "site-packages", "_build", "buck-out", ".eggs", "*.egg-info", ".direnv",
    "__pypackages__", ".ipynb_checkpoints",
)  # fmt: skip
DEFAULT_TEST_PATHS = (
    "**/tests/**", "**/test/**", "**/__tests__/**", "**/testutils/**", "**/test_utils/**",
    "**/test_*.py", "**/*_test.py", "**/*_tests.py", "**/tests.py", "**/conftest.py",
)  # fmt: skip
DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024
DEFAULT_MEMORY_LIMIT_MB = 1024  # address space of a process that parses (backlint/pipeline/limits.py)
DEFAULT_TIME_LIMIT = 20.0  # CPU seconds per file

MAX_CONFIG_BYTES = 16 * 1024 * 1024  # a configuration file read past this is not one
# Options whose values are regular expressions (one, or a list): compiled when the file is loaded.
REGEX_OPTIONS = frozenset({"health-path-regex", "readiness-path-regex", "public-paths"})
LEVEL_OPTIONS = frozenset({"debug-in-main-guard"})

ALWAYS_SELECTED = PARSE_ERROR  # file-not-analysable: only an explicit `ignore` turns it off
_STR_LIST = "a list of strings"


@dataclasses.dataclass(frozen=True)
class Config:
    root: Path
    source: Path | None
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    extend_exclude: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()
    test_paths: tuple[str, ...] = DEFAULT_TEST_PATHS
    # The user's non-production-paths: offline code, judged as scripts. The roles' default globs are
    # the file-roles table's (rules/tables/file-roles.toml).
    non_production_paths: tuple[str, ...] = ()
    roles: tuple[tuple[str, str], ...] = ()  # [tool.backlint.roles]: (glob, role), first match wins
    sarif_category: str | None = None
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB  # 0: no limit
    time_limit: float = DEFAULT_TIME_LIMIT  # 0: no limit
    respect_gitignore: bool = True
    cache_dir: str = ".backlint_cache"  # relative to the project root
    baseline: str | None = None  # findings file (`backlint baseline`), relative to the project root
    honor_foreign_ignores: bool = True  # bandit nosec, ruff noqa and nosemgrep comments suppress the equivalent rules
    table_extensions: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    options: tuple[tuple[str, Any], ...] = ()

    def enabled_rules(self, catalog: Catalog) -> list[str]:
        """Rule ids after select / extend-select / ignore, in id order."""
        ids = sorted(catalog.rules)
        if self.select is None:
            chosen = {i for i in ids if catalog.rules[i].enabled}
        else:
            # A file that cannot be parsed was checked by no rule: say so whatever was selected.
            chosen = {i for i in ids if _matches(i, self.select) or i == ALWAYS_SELECTED}
        chosen |= {i for i in ids if _matches(i, self.extend_select)}
        chosen -= {i for i in ids if _matches(i, self.ignore)}
        return sorted(chosen)

    def level_of(self, rule_id: str, default: str) -> str:
        return dict(self.severity).get(rule_id, default)

    def option(self, name: str, catalog: Catalog) -> Any:
        return dict(self.options).get(name, catalog.option_defaults[name])


def _matches(rule_id: str, selectors: Iterable[str]) -> bool:
    return any(s == "ALL" or rule_id.startswith(s) for s in selectors)


# Directories (or files: a git worktree's or submodule's ``.git``) that mark a version-control checkout's top.
VCS_MARKERS = (".git", ".hg", ".svn", ".jj", ".bzr")


def find_project_root(start: Path) -> tuple[Path, Path | None]:
    """The project root for a run starting at ``start`` (the first path given, or the current directory),
    found one way: the nearest directory at or above it with a pyproject.toml holding ``[tool.backlint]``
    (returned too), else the version-control root above it, else the directory itself.

    Project rules see the files under the root, globs are matched against paths relative to it, and
    the cache lives in it: so the answer never depends on the directory backlint is started from.
    """
    start = start.absolute()
    directory = start if start.is_dir() else start.parent
    config = find_config_file(directory)
    if config is not None:
        return config.parent.resolve(), config
    for candidate in [directory, *directory.parents]:
        if any(os.path.lexists(candidate / marker) for marker in VCS_MARKERS):
            return candidate.resolve(), None
    return directory.resolve(), None


def find_config_file(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` that has a ``[tool.backlint]`` table."""
    directory = start if start.is_dir() else start.parent
    for candidate_dir in [directory, *directory.parents]:
        candidate = candidate_dir / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(read_limited(candidate, MAX_CONFIG_BYTES).decode("utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
                # A broken pyproject next to the code is the user's config: report it.
                return candidate
            tool = data.get("tool")
            if isinstance(tool, dict) and "backlint" in tool:
                return candidate
    return None


def load_config(catalog: Catalog, *, explicit: Path | None, start: Path) -> Config:
    if explicit is not None:
        path: Path | None = explicit
    else:
        root, path = find_project_root(start)
        if path is None:
            return Config(root=root, source=None)
    assert path is not None
    try:
        text = read_limited(path, MAX_CONFIG_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: invalid TOML: arrays or tables nested too deeply") from exc
    if path.name == "pyproject.toml" or "tool" in data:
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{path}: tool: expected a table, got {_shown(tool)}")
        section = tool.get("backlint", {})
        prefix = "tool.backlint"
    else:  # a dedicated backlint.toml holds the keys at top level
        section, prefix = data, ""
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: {prefix}: expected a table of settings, got {_shown(section)}")
    return parse_section(section, catalog, path=path, prefix=prefix)


def _shown(value: Any, limit: int = 80) -> str:
    """``repr`` of a configuration value, cut short: an error names the value, never pages of it."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_section(section: Mapping[str, Any], catalog: Catalog, *, path: Path, prefix: str = "tool.backlint") -> Config:
    def fail(key: str, problem: str) -> ConfigError:
        where = f"{prefix}.{key}" if prefix else key
        return ConfigError(f"{path}: {where}: {problem}")

    def str_list(key: str) -> tuple[str, ...]:
        value = section[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, f"expected {_STR_LIST}, got {_shown(value)}")
        return tuple(value)

    def globs(key: str) -> tuple[str, ...]:
        value = str_list(key)
        for pattern in value:
            try:
                compile_glob(pattern)
            except GlobError as exc:
                raise fail(key, str(exc)) from exc
        return value

    def selectors(key: str) -> tuple[str, ...]:
        value = str_list(key)
        for selector in value:
            problem = selector_problem(selector, catalog)
            if problem:
                raise fail(key, problem)
        return value

    option_defaults = catalog.option_defaults
    kwargs: dict[str, Any] = {"root": path.parent.resolve(), "source": path}
    options: dict[str, Any] = {}
    for key, value in section.items():
        if key in ("select", "extend-select", "ignore"):
            kwargs[key.replace("-", "_")] = selectors(key)
        elif key in ("exclude", "extend-exclude"):
            kwargs[key.replace("-", "_")] = globs(key)
        elif key == "test-paths":
            kwargs["test_paths"] = DEFAULT_TEST_PATHS + globs(key)
        elif key == "non-production-paths":
            kwargs["non_production_paths"] = globs(key)
        elif key == "roles":
            kwargs["roles"] = _roles(value, fail)
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise fail(key, f"expected a table of glob = [rule ids], got {_shown(value)}")
            entries = []
            for glob, ids in value.items():
                try:
                    compile_glob(glob)
                except GlobError as exc:
                    raise fail(f"{key}.{glob!r}", str(exc)) from exc
                sub = _Sub(section=value, fail=fail, key=key)
                entries.append((glob, sub.selectors(glob, ids, catalog)))
            kwargs["per_file_ignores"] = tuple(entries)
        elif key == "severity":
            if not isinstance(value, dict):
                raise fail(key, f"expected a table of rule id = level, got {_shown(value)}")
            for rule_id, level in value.items():
                if rule_id not in catalog.rules:
                    raise fail(f"{key}.{rule_id}", "unknown rule id")
                if level not in LEVELS:
                    raise fail(f"{key}.{rule_id}", f"expected one of {list(LEVELS)}, got {_shown(level)}")
            kwargs["severity"] = tuple(sorted(value.items()))
        elif key == "sarif-category":
            if not isinstance(value, str) or not value:
                raise fail(key, f"expected a non-empty string, got {_shown(value)}")
            kwargs["sarif_category"] = value
        elif key == "max-file-size":
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise fail(key, f"expected a positive integer (bytes), got {_shown(value)}")
            kwargs["max_file_size"] = value
        elif key == "memory-limit":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise fail(key, f"expected a number of megabytes (0: no limit), got {_shown(value)}")
            kwargs["memory_limit_mb"] = value
        elif key == "time-limit":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1e6:
                raise fail(key, f"expected a number of seconds (0: no limit), got {_shown(value)}")
            kwargs["time_limit"] = float(value)
        elif key == "respect-gitignore":
            if not isinstance(value, bool):
                raise fail(key, f"expected true or false, got {_shown(value)}")
            kwargs["respect_gitignore"] = value
        elif key == "cache-dir":
            if not isinstance(value, str) or not value.strip():
                raise fail(key, f"expected a directory path (string), got {_shown(value)}")
            problem = _outside_project(value, kwargs["root"])
            if problem:
                raise fail(key, f"{_shown(value)} {problem}; --cache-dir or {CACHE_DIR_ENV} may point anywhere")
            kwargs["cache_dir"] = value
        elif key == "baseline":
            if not isinstance(value, str) or not value.strip():
                raise fail(key, f"expected a file path (string), got {_shown(value)}")
            kwargs["baseline"] = value
        elif key == "honor-foreign-ignores":
            if not isinstance(value, bool):
                raise fail(key, f"expected true or false, got {_shown(value)}")
            kwargs["honor_foreign_ignores"] = value
        elif key == "tables":
            kwargs["table_extensions"] = _table_extensions(value, catalog, fail)
        elif key in option_defaults:
            problem = _option_problem(key, value, option_defaults[key])
            if problem:
                raise fail(key, problem)
            options[key] = _user_patterns(key, value, fail) if key in REGEX_OPTIONS else value
        else:
            raise fail(key, "unknown key")
    kwargs["options"] = tuple(sorted(options.items()))
    return Config(**kwargs)


@dataclasses.dataclass
class _Sub:
    section: Any
    fail: Any
    key: str

    def selectors(self, glob: str, ids: Any, catalog: Catalog) -> tuple[str, ...]:
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise self.fail(f"{self.key}.{glob!r}", f"expected {_STR_LIST}, got {_shown(ids)}")
        for selector in ids:
            problem = selector_problem(selector, catalog)
            if problem:
                raise self.fail(f"{self.key}.{glob!r}", problem)
        return tuple(ids)


def selector_problem(selector: str, catalog: Catalog) -> str | None:
    """Why ``selector`` selects no rule (or, empty, every rule by accident), or None."""
    if not selector.strip():
        return "an empty rule selector (it would select every rule; write 'ALL' for that)"
    if selector != "ALL" and not any(i.startswith(selector) for i in catalog.rules):
        return f"unknown rule id or prefix {selector!r}"
    return None


def _option_problem(key: str, value: Any, default: Any) -> str | None:
    """Why ``value`` cannot be rule option ``key`` (whose built-in value is ``default``), or None."""
    expected = type(default)
    if type(value) is not expected and not (expected is float and type(value) is int):
        return f"expected {'a list of strings' if expected is list else expected.__name__}, got {_shown(value)}"
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        return f"expected {_STR_LIST}, got {_shown(value)}"
    if key in LEVEL_OPTIONS and value not in LEVELS:
        return f"expected one of {list(LEVELS)}, got {_shown(value)}"
    if key.endswith("-globs"):
        for pattern in value:
            try:
                compile_glob(pattern)
            except GlobError as exc:
                return str(exc)
    if key in REGEX_OPTIONS:
        for pattern in value if isinstance(value, list) else [value]:
            try:
                re.compile(pattern)
            except (re.error, RecursionError, OverflowError) as exc:
                return f"invalid regular expression {_shown(pattern)}: {exc}"
    return None


def _roles(value: Any, fail: Any) -> tuple[tuple[str, str], ...]:
    """``[tool.backlint.roles]``: glob = role, for files whose role the defaults get wrong."""
    if not isinstance(value, dict):
        raise fail("roles", f'expected a table of glob = role (e.g. "tools/*.py" = "production"), got {_shown(value)}')
    out = []
    for glob, role in value.items():
        try:
            compile_glob(glob)
        except GlobError as exc:
            raise fail(f"roles.{glob!r}", str(exc)) from exc
        if role not in ROLES:
            raise fail(f"roles.{glob!r}", f"unknown role {_shown(role)}; expected one of {list(ROLES)}")
        out.append((glob, role))
    return tuple(out)


def _table_extensions(value: Any, catalog: Catalog, fail: Any) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if not isinstance(value, dict):
        raise fail("tables", "expected a table of table-name = [rows]")
    out = []
    for name, rows in value.items():
        spec = catalog.table_specs.get(name)
        if spec is None:
            raise fail(f"tables.{name}", f"unknown table; known: {sorted(catalog.table_specs)}")
        if not isinstance(rows, list):
            raise fail(f"tables.{name}", "expected a list of rows (an array of tables)")
        checked = []
        for row in rows:
            problem = validate_row(spec, row, catalog.knowledge.rows(name))
            if problem:
                raise fail(f"tables.{name}", problem)
            for field in spec.regex_fields:
                if isinstance(row.get(field), str):
                    row = {**row, field: _user_patterns(f"tables.{name}.{field}", row[field], fail)}
            checked.append(row)
        out.append((name, tuple(checked)))
    return tuple(out)


CACHE_DIR_ENV = "BACKLINT_CACHE_DIR"


def _outside_project(value: str, root: Path) -> str | None:
    """Why a configuration file's ``cache-dir`` may not be used: a pull request's configuration must
    not make backlint write (a tag file, a ``.gitignore`` of ``*``) in a home directory, outside the
    checkout, or over the project itself."""
    if value.startswith("~"):
        return "is outside the project root (a configuration file's cache-dir must be inside it)"
    try:
        resolved = (root / value).resolve()
    except (OSError, RuntimeError) as exc:
        return f"cannot be resolved ({exc})"
    if resolved == root:
        return "is the project root itself (it must be a directory inside it)"
    if not resolved.is_relative_to(root):
        return "is outside the project root (a configuration file's cache-dir must be inside it)"
    return None


def cache_directory(config: Config, option: Path | None = None) -> Path:
    """Where the cache is: ``--cache-dir``, else the ``BACKLINT_CACHE_DIR`` variable (both may point
    anywhere: the person running backlint chose them), else the configuration's ``cache-dir``
    (checked at load to be inside the project root)."""
    chosen = option or (Path(os.environ[CACHE_DIR_ENV]) if os.environ.get(CACHE_DIR_ENV) else None)
    if chosen is not None:
        return chosen.expanduser().absolute()
    return config.root / config.cache_dir


def _user_patterns(key: str, value: Any, fail: Any) -> Any:
    """A pattern (or a list of them) from the configuration, checked and marked for RE2
    (backlint/core/patterns.py): one RE2 cannot run is rejected here, before any file is read."""
    if isinstance(value, list):
        return [_user_patterns(key, item, fail) for item in value]
    if not isinstance(value, str):
        return value
    problem = re2_problem(value)
    if problem is not None:
        raise fail(
            key,
            f"regex {_shown(value)} cannot be run in linear time by RE2 ({problem}); user patterns may not use "
            "lookarounds or backreferences",
        )
    return UserPattern(value)
