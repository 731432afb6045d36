"""The rule catalog: rule metadata and knowledge tables, read once from ``rules/``.

Each rule is ``rules/<ID>.toml``; each knowledge table is ``rules/tables/<name>.toml``.
Adding a rule or a table row touches no Python code outside the rule's own check class.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import pickle
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable, TypeVar

from backlint import __version__
from backlint.core.files import (
    DIGEST_SIZE,
    SealedDataError,
    atomic_write,
    safe_loads,
    seal,
    unlink_quietly,
    unseal,
    user_cache_dir,
)
from backlint.core.results import FileKind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

T = TypeVar("T")

LEVELS = ("error", "warning", "note")
PRECISIONS = ("very-high", "high", "medium", "low")
# The file roles a rule's ``applies-to`` names (backlint/core/results.py, FileKind).
ROLES = tuple(kind.value for kind in FileKind)
# ``applies-to`` values of catalogs older than the roles, read as the roles they covered.
LEGACY_ROLES = {"non-production": ("script", "migration", "dev-tooling", "seed")}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COMMIT = re.compile(r"[0-9a-f]{7,40}(?:\+dirty)?")
# The canonical repository: every link backlint prints or writes derives from it (the SARIF helpUri and
# informationUri, the editor's rule links); pyproject's [project.urls] name the same base.
REPOSITORY_URL = "https://github.com/backlint/backlint"
DOCS_URL = REPOSITORY_URL + "/blob/main/docs/rules.md#{anchor}"
MAX_TITLE = 80  # a rule's one-line title (the SARIF shortDescription, GitHub's alert title)
# How words of a rule name are written in its title (pairs: kept as one hyphenated word).
_TITLE_WORDS = {
    "sql": "SQL", "orm": "ORM", "db": "DB", "io": "I/O", "api": "API", "url": "URL", "jwt": "JWT",
    "cors": "CORS", "django": "Django", "allowed-hosts": "ALLOWED_HOSTS", "known-format": "known-format",
    "high-entropy": "high-entropy", "test-double": "test-double", "rate-limit": "rate limit",
}  # fmt: skip
# The ``# expect: BL101`` markers the catalog's examples carry for tests/test_catalog_examples.py.
_EXPECT_MARKER = re.compile(r"[ \t]*#\s*expect:\s*BL\d{3}(?:\s*,\s*BL\d{3})*[ \t]*$", re.MULTILINE)


class CatalogError(Exception):
    """A malformed catalog file: a bug in backlint itself, not in the user's input."""


@dataclasses.dataclass(frozen=True)
class Example:
    kind: str  # "bad" or "good"
    code: str
    path: str  # the file name the example is linted as (decides its file kind)
    # Other files of the example's project (name → text), e.g. the Dockerfile whose probe BL603 reads.
    files: tuple[tuple[str, str], ...] = ()

    @property
    def shown(self) -> str:
        """The code as the documentation shows it: without the ``# expect:`` test markers."""
        return _EXPECT_MARKER.sub("", self.code)


@dataclasses.dataclass(frozen=True)
class RuleOption:
    name: str
    default: Any
    doc: str


@dataclasses.dataclass(frozen=True)
class Measured:
    """A rule's precision measured on the real-app corpus (benchmarks/corpus/triage.py --write-precision):
    true findings and all triaged findings per set, when and at which commit."""

    date: str
    commit: str
    sets: tuple[tuple[str, int, int], ...]  # (set name, true findings, triaged findings)

    def text(self) -> str:
        """``92 % (12/13) on tuning, 100 % (3/3) on holdout (2026-12-07, 9d0baa9)``."""
        parts = [
            f"{round(100 * tp / total)} % ({tp}/{total}) on {name}" if total else f"no findings on {name}"
            for name, tp, total in self.sets
        ]
        return f"{', '.join(parts)} ({self.date}, {self.commit})"


@dataclasses.dataclass(frozen=True)
class RuleMeta:
    id: str
    name: str
    category: str
    level: str
    security_severity: str | None
    cwe: tuple[int, ...]
    precision: str
    tags: tuple[str, ...]
    enabled: bool
    applies_to: tuple[str, ...]
    summary: str
    why: str
    fix: str
    examples: tuple[Example, ...]
    options: tuple[RuleOption, ...]
    project: bool  # judged over the whole project (ModuleFacts), not one file
    title_text: str | None = None  # ``title`` in the rule's TOML; else made from the name
    # Narrower roles for one kind of the rule's findings (``Finding.facet``): ``applies-to-facets``.
    facet_roles: tuple[tuple[str, tuple[str, ...]], ...] = ()
    measured: Measured | None = None
    # A file rule whose findings that depend on other modules (a helper's callers elsewhere) are
    # judged in the project pass, by a ProjectRule of the same id: ``cross-module = true``.
    cross_module: bool = False
    # The project rule reads the project's deployment files (Dockerfiles, manifests): ``deployment-files = true``.
    deployment_files: bool = False

    @property
    def title(self) -> str:
        """A one-line title of at most MAX_TITLE characters: ``Endpoint DB I/O without error handling``."""
        if self.title_text:
            return self.title_text
        words = self.name.split("-")
        out: list[str] = []
        while words:
            pair = "-".join(words[:2])
            if len(words) > 1 and pair in _TITLE_WORDS:
                out.append(_TITLE_WORDS[pair])
                del words[:2]
            else:
                out.append(_TITLE_WORDS.get(words[0], words[0]))
                del words[0]
        text = " ".join(out)
        return (text[:1].upper() + text[1:])[:MAX_TITLE]

    @property
    def help_uri(self) -> str:
        return DOCS_URL.format(anchor=f"{self.id.lower()}-{self.name}")

    def markdown(self) -> str:
        """The rule's documentation in ruff's shape: what, why, example, fix."""
        parts = [f"## {self.id} {self.name}", "", "### What it does", self.summary, ""]
        roles = ", ".join(f"`{r}`" for r in self.applies_to)
        parts += [f"Applies to files whose role is {roles}."]
        parts += [
            f"Its {facet} findings: {', '.join(f'`{r}`' for r in roles_)} only." for facet, roles_ in self.facet_roles
        ]
        if self.measured is not None:
            parts += [f"Measured precision: {self.measured.text()}."]
        parts += [""]
        parts += ["### Why is this bad?", self.why.strip(), ""]
        for example in self.examples:
            title = "Example" if example.kind == "bad" else "Use instead"
            parts += [f"### {title}", "```python", example.shown.rstrip(), "```", ""]
            for name, text in example.files:
                parts += [f"With `{name}`:", "", "```", text.strip("\n"), "```", ""]
        if self.fix.strip():
            parts += ["### Fix", self.fix.strip(), ""]
        if self.options:
            parts += ["### Options"]
            parts += [f"- `{o.name}` (default `{o.default!r}`): {o.doc}" for o in self.options]
            parts += [""]
        if self.cwe:
            parts += ["### References", *[_cwe_link(c) for c in self.cwe], ""]
        return "\n".join(parts).rstrip() + "\n"


def _cwe_link(cwe: int) -> str:
    return f"- [CWE-{cwe}](https://cwe.mitre.org/data/definitions/{cwe}.html)"


@dataclasses.dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    regex_fields: tuple[str, ...]
    # Fields whose value is one of a fixed set (``choices = { role = [...] }`` in the table's file).
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclasses.dataclass
class Knowledge:
    """Knowledge tables (sinks, loggers, secret formats, ...) as plain rows; picklable.

    Structures derived from the rows (indexes, compiled patterns) are built once per Knowledge with
    ``derived`` and kept on it, never in module-level state: a long-lived language server that
    reloads its configuration drops them with the old Knowledge.
    """

    tables: dict[str, list[dict[str, Any]]]
    _derived: dict[tuple[Any, ...], Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def rows(self, name: str) -> list[dict[str, Any]]:
        return self.tables[name]

    def values(self, name: str, field: str) -> frozenset[str]:
        return frozenset(row[field] for row in self.tables[name] if field in row)

    def derived(self, build: Callable[..., T], *args: Any) -> T:
        """``build(self, *args)``, computed on first use and kept for this Knowledge's lifetime."""
        key = (build, *args)
        try:
            return self._derived[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._derived[key] = build(self, *args)
            return value

    def __getstate__(self) -> dict[str, Any]:
        return {"tables": self.tables}  # derived structures are rebuilt where they are used

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.tables = state["tables"]
        self._derived = {}


@dataclasses.dataclass(frozen=True)
class Catalog:
    rules: dict[str, RuleMeta]
    table_specs: dict[str, TableSpec]
    knowledge: Knowledge

    def rules_markdown(self) -> str:
        """docs/rules.md: an index, then every rule's documentation (the target of each helpUri)."""
        lines = [
            "# backlint rules",
            "",
            "Generated by `backlint rules --format markdown`; do not edit by hand.",
            "",
            "*measured*: true findings over triaged findings on the real-app corpus, tuning apps · set-aside",
            "apps (benchmarks/corpus/README.md). A rule is on by default only when it is right at least 90 %",
            "of the time where it has 5 or more findings.",
            "",
            "| id | name | level | default | precision | measured |",
            "|---|---|---|---|---|---|",
        ]
        for meta in self.rules.values():
            anchor = f"{meta.id.lower()}-{meta.name}"
            default = "on" if meta.enabled else "opt-in"
            measured = _measured_cell(meta.measured)
            lines.append(
                f"| [{meta.id}](#{anchor}) | {meta.name} | {meta.level} | {default} | {meta.precision} | {measured} |"
            )
        lines.append("")
        for meta in self.rules.values():
            lines += [meta.markdown().rstrip(), ""]
        return "\n".join(lines)

    @property
    def option_defaults(self) -> dict[str, Any]:
        return {o.name: o.default for meta in self.rules.values() for o in meta.options}


def _measured_cell(measured: Measured | None) -> str:
    if measured is None:
        return "—"
    return " · ".join(f"{round(100 * tp / total)} % ({tp}/{total})" if total else "—" for _, tp, total in measured.sets)


def rules_dir() -> Path:
    """The catalog directory: inside the wheel, or the checkout's top-level ``rules/``."""
    package = Path(__file__).resolve().parent.parent  # backlint/, this file being backlint/core/catalog.py
    packaged = package / "_rules"
    if packaged.is_dir():
        return packaged
    return package.parent / "rules"


@functools.lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The catalog, from backlint's user-level cache when its TOML files are unchanged (a warm
    run would otherwise spend a fifth of its time parsing them)."""

    return cached_catalog(_parse_catalog, rules_dir())


def _parse_catalog() -> Catalog:
    root = rules_dir()
    rules = {}
    for path in sorted(root.glob("BL*.toml")):
        meta = _load_rule(path)
        if meta.id != path.stem:
            raise CatalogError(f"{path}: id {meta.id} does not match the file name")
        rules[meta.id] = meta
    specs, tables = {}, {}
    for path in sorted((root / "tables").glob("*.toml")):
        spec, rows = _load_table(path)
        specs[spec.name] = spec
        tables[spec.name] = rows
    return Catalog(rules=rules, table_specs=specs, knowledge=Knowledge(tables))


def _load_rule(path: Path) -> RuleMeta:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
        meta = RuleMeta(
            id=data["id"],
            name=data["name"],
            category=data["category"],
            level=data["level"],
            security_severity=data.get("security-severity"),
            cwe=tuple(data.get("cwe", ())),
            precision=data["precision"],
            tags=tuple(data.get("tags", ())),
            enabled=data.get("enabled", True),
            applies_to=role_names(data.get("applies-to", ["production"])),
            summary=data["summary"].strip(),
            why=data["why"],
            fix=data.get("fix", ""),
            examples=tuple(
                Example(
                    kind=e["kind"],
                    code=e["code"],
                    path=e.get("path", "app/example.py"),
                    files=tuple((name, text) for name, text in e.get("files", {}).items()),
                )
                for e in data.get("examples", [])
            ),
            options=tuple(
                RuleOption(name=name, default=o["default"], doc=o["doc"]) for name, o in data.get("options", {}).items()
            ),
            project=data.get("project", False),
            title_text=data.get("title"),
            facet_roles=tuple((facet, role_names(roles)) for facet, roles in data.get("applies-to-facets", {}).items()),
            measured=parse_measured(data["measured"]) if "measured" in data else None,
            cross_module=data.get("cross-module", False),
            deployment_files=data.get("deployment-files", False),
        )
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{path}: {exc!r}") from exc
    if meta.level not in LEVELS or meta.precision not in PRECISIONS:
        raise CatalogError(f"{path}: bad level or precision")
    if "\n" in meta.title or len(meta.title) > MAX_TITLE:
        raise CatalogError(f"{path}: title must be one line of at most {MAX_TITLE} characters")
    if not set(meta.applies_to) <= set(ROLES):
        raise CatalogError(f"{path}: applies-to must be among {ROLES} (or {sorted(LEGACY_ROLES)})")
    for facet, roles in meta.facet_roles:
        if not set(roles) <= set(meta.applies_to):
            raise CatalogError(f"{path}: applies-to-facets.{facet} must be among the rule's applies-to")
    return meta


def role_names(values: Any) -> tuple[str, ...]:
    """``applies-to`` values as roles: a legacy kind stands for the roles it covered."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise TypeError(f"applies-to: expected a list of role names, got {values!r}")
    out: list[str] = []
    for value in values:
        for role in LEGACY_ROLES.get(value, (value,)):
            if role not in out:
                out.append(role)
    return tuple(out)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parse_measured(value: Any) -> Measured:
    """The ``measured`` field: ``{ date, commit, tuning = { tp, all }, holdout = { tp, all } }``."""
    if not isinstance(value, dict):
        raise ValueError(f"measured: expected a table, got {value!r}")
    date, commit = value.get("date"), value.get("commit")
    if not isinstance(date, str) or not _DATE.fullmatch(date):
        raise ValueError(f"measured.date: expected YYYY-MM-DD, got {date!r}")
    if not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
        raise ValueError(f"measured.commit: expected a commit id, got {commit!r}")
    sets: list[tuple[str, int, int]] = []
    for name in ("tuning", "holdout"):
        counts = value.get(name)
        if counts is None:
            continue
        tp: Any = counts.get("tp") if isinstance(counts, dict) else None
        total: Any = counts.get("all") if isinstance(counts, dict) else None
        if not (_count(tp) and _count(total) and tp <= total):
            raise ValueError(f"measured.{name}: expected {{ tp = n, all = m }} with 0 <= n <= m, got {counts!r}")
        sets.append((name, tp, total))
    unknown = set(value) - {"date", "commit", "tuning", "holdout"}
    if unknown or not sets:
        raise ValueError(f"measured: expected date, commit and tuning/holdout counts, got {sorted(value)}")
    return Measured(date=date, commit=commit, sets=tuple(sets))


def _load_table(path: Path) -> tuple[TableSpec, list[dict[str, Any]]]:
    data = tomllib.loads(path.read_text("utf-8"))
    spec = TableSpec(
        name=path.stem,
        description=data["description"],
        fields=tuple(data["fields"]),
        required=tuple(data.get("required", data["fields"])),
        regex_fields=tuple(data.get("regex-fields", ())),
        choices=tuple((field, tuple(values)) for field, values in data.get("choices", {}).items()),
    )
    rows = data.get("rows", [])
    for row in rows:
        problem = validate_row(spec, row)
        if problem:
            raise CatalogError(f"{path}: {problem}")
    return spec, rows


def validate_row(spec: TableSpec, row: Any, builtin: Sequence[Mapping[str, Any]] = ()) -> str | None:
    """Why ``row`` is not a valid row of the table, or None.

    With ``builtin`` (the table's own rows), each field must have the type the built-in rows give
    it: a user's row of the wrong shape fails when the configuration is loaded, not in every file.
    """
    if not isinstance(row, dict):
        return f"a row of {spec.name} must be a table, got {_cut(row)}"
    unknown = set(row) - set(spec.fields)
    if unknown:
        return f"unknown field(s) {sorted(unknown)} in {spec.name}; expected {list(spec.fields)}"
    missing = set(spec.required) - set(row)
    if missing:
        return f"missing field(s) {sorted(missing)} in {spec.name} row {_cut(row)}"
    for field, allowed in spec.choices:
        if field in row and row[field] not in allowed:
            return f"{spec.name}.{field}: expected one of {list(allowed)}, got {_cut(row[field])}"
    kinds = _field_kinds(builtin)
    for field, value in row.items():
        expected = kinds.get(field)
        if expected is not None and _kind(value) not in expected:
            wanted = " or ".join(sorted(expected))
            return f"{spec.name}.{field}: expected {wanted}, got {_cut(value)} in row {_cut(row)}"
    for field in spec.regex_fields:
        if field in row:
            try:
                re.compile(row[field])
            except (re.error, TypeError) as exc:
                return f"{spec.name}.{field}: invalid regex {row[field]!r}: {exc}"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number" if isinstance(value, float) else "an integer"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "a list of strings"
    return type(value).__name__


def _field_kinds(rows: Sequence[Mapping[str, Any]]) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for row in rows:
        for field, value in row.items():
            kinds.setdefault(field, set()).add(_kind(value))
    for accepted in kinds.values():
        if "a number" in accepted:
            accepted.add("an integer")
    return kinds


def _cut(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_CATALOGS_KEPT = 8


def cached_catalog(parse: Callable[[], Catalog], rules: Path) -> Catalog:
    """The parsed catalog for these rule files (size + mtime of each), read back or parsed and saved."""

    directory = user_cache_dir()
    if directory is None:
        return parse()
    parts = [__version__, sys.version]
    for path in sorted(rules.rglob("*.toml")):
        info = path.stat()
        parts.append(f"{path.relative_to(rules)}:{info.st_size}:{info.st_mtime_ns}")
    name = "catalog-" + hashlib.blake2b("\n".join(parts).encode(), digest_size=DIGEST_SIZE).hexdigest()
    try:
        (blob,) = unseal((directory / name).read_bytes(), 1)
        catalog = safe_loads(blob)
        if isinstance(catalog, Catalog):
            return catalog
    except (OSError, SealedDataError, ValueError, TypeError):
        pass
    catalog = parse()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(directory / name, seal(pickle.dumps(catalog, pickle.HIGHEST_PROTOCOL)))
        older = sorted(directory.glob("catalog-*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in older[_CATALOGS_KEPT:]:
            unlink_quietly(stale)
    except OSError:
        pass
    return catalog
