"""``[tool.backlint]``: where it is found, what every key does, and how every mistake is reported."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_cli

from backlint.core.catalog import TableSpec, load_catalog, validate_row

SWALLOW = """\
def save(db):
    try:
        db.commit()
    except Exception:
        pass
"""


def findings(result) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(f["path"], f["rule_id"]) for f in result.json()["findings"]]


# --- where the configuration comes from


def test_nearest_pyproject_with_a_backlint_table_wins(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint]\nignore = ["BL402"]\n')
    project.write("svc/pyproject.toml", "[project]\nname = 'svc'\n")  # no [tool.backlint]: passed over
    project.write("svc/api/app.py", SWALLOW)
    project.write("other/pyproject.toml", "[tool.backlint]\n")
    project.write("other/app.py", SWALLOW)
    assert findings(project.lint("svc/api/app.py", "--format", "json")) == []
    assert findings(project.lint("other/app.py", "--format", "json")) == [("other/app.py", "BL402")]


def test_config_is_looked_up_from_the_linted_path_not_the_cwd(project) -> None:  # type: ignore[no-untyped-def]
    project.write("proj/pyproject.toml", '[tool.backlint]\nignore = ["BL402"]\n')
    project.write("proj/app.py", SWALLOW)
    (project.root / "elsewhere").mkdir()
    result = run_cli("../proj/app.py", "--format", "json", cwd=project.root / "elsewhere")
    assert findings(result) == []


def test_explicit_config_file(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint]\nignore = ["BL402"]\n')
    project.write("app.py", SWALLOW)
    project.write("ci/strict.toml", '[tool.backlint]\nseverity = { BL402 = "error" }\n')
    project.write("ci/backlint.toml", 'severity = { BL402 = "note" }\n')  # a dedicated file: keys at top level
    strict = project.lint("app.py", "--format", "json", "--config", "ci/strict.toml").json()["findings"]
    assert [(f["rule_id"], f["level"]) for f in strict] == [("BL402", "error")]
    dedicated = project.lint("app.py", "--format", "json", "--config", "ci/backlint.toml").json()["findings"]
    assert [(f["rule_id"], f["level"]) for f in dedicated] == [("BL402", "note")]


def test_no_config_anywhere_uses_the_defaults(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app.py", SWALLOW)
    assert findings(project.lint("app.py", "--format", "json")) == [("app.py", "BL402")]


# --- what each key does


def test_select_ignore_extend_select_keys(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app.py", SWALLOW)
    project.write("broken.py", "def f(:\n")

    def ids(config: str) -> set[str]:
        project.write("pyproject.toml", "[tool.backlint]\n" + config)
        return {rule for _, rule in findings(project.lint(".", "--format", "json"))}

    assert ids("") == {"BL000", "BL402"}
    assert ids('select = ["BL000"]\n') == {"BL000"}
    assert ids('select = ["BL000"]\nextend-select = ["BL4"]\n') == {"BL000", "BL402"}
    assert ids('ignore = ["BL4"]\n') == {"BL000"}
    assert ids('select = ["ALL"]\nignore = ["BL000"]\n') == {"BL402"}


def test_per_file_ignores_globs(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "pyproject.toml",
        "[tool.backlint.per-file-ignores]\n"
        '"app/legacy/**" = ["BL402"]\n'  # with a slash: relative to this file's directory
        '"vendored" = ["BL4"]\n'  # a bare name: any path component
        '"generated_*.py" = ["ALL"]\n',
    )
    paths = ("app/legacy/old.py", "lib/app/legacy/old.py", "x/vendored/y/z.py", "a/generated_models.py", "app/new.py")
    for path in paths:
        project.write(path, SWALLOW)
    assert sorted(findings(project.lint(".", "--format", "json"))) == [
        ("app/new.py", "BL402"),
        ("lib/app/legacy/old.py", "BL402"),  # the slash pattern is anchored at the project root
    ]
    # the same from a subdirectory: globs stay relative to the config's directory
    result = run_cli(".", "--format", "json", cwd=project.root / "app")
    assert findings(result) == [("new.py", "BL402")]


def test_exclude_replaces_the_defaults_and_extend_exclude_adds(project) -> None:  # type: ignore[no-untyped-def]
    for path in ("build/gen.py", "legacy/old.py", "app/migrations_helper.py", "app/views.py"):
        project.write(path, SWALLOW)

    def paths(config: str) -> list[str]:
        project.write("pyproject.toml", "[tool.backlint]\n" + config)
        return [p for p, _ in findings(project.lint(".", "--format", "json"))]

    assert paths("") == ["app/migrations_helper.py", "app/views.py", "legacy/old.py"]  # build/ is a default exclude
    assert paths('extend-exclude = ["legacy", "app/migrations_*.py"]\n') == ["app/views.py"]
    assert paths('exclude = ["legacy"]\n') == ["app/migrations_helper.py", "app/views.py", "build/gen.py"]


def test_severity_overrides(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint.severity]\nBL402 = "error"\n')
    project.write("app.py", SWALLOW)
    result = project.lint("app.py", "--format", "json")
    assert [f["level"] for f in result.json()["findings"]] == ["error"]
    assert "::error file=app.py" in project.lint("app.py", "--format", "github").stdout


def test_test_and_non_production_paths_extend_the_defaults(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", '[tool.backlint]\ntest-paths = ["qa/**"]\nnon-production-paths = ["**/ops/**"]\n')
    for path in ("qa/smoke.py", "tools/ops/backfill.py", "tests/test_db.py", "app/views.py"):
        project.write(path, SWALLOW)
    # BL402 applies to production code only: test and non-production files are judged by other rules
    assert findings(project.lint(".", "--format", "json")) == [("app/views.py", "BL402")]


def test_max_file_size(project) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", "[tool.backlint]\nmax-file-size = 100\n")
    project.write("big.py", SWALLOW + "x = 1\n" * 20)
    project.write("small.py", SWALLOW)
    result = project.lint(".", "--format", "json")
    assert findings(result) == [("small.py", "BL402")]
    assert "big.py: file is" in result.stderr and "max-file-size" in result.stderr


def test_table_extension_from_config(project) -> None:  # type: ignore[no-untyped-def]
    code = "from app.errors import AppError\n\n" + SWALLOW.replace("except Exception:", "except AppError:")
    project.write("app/views.py", code)
    assert findings(project.lint("app", "--format", "json")) == []
    project.write(
        "pyproject.toml",
        '[tool.backlint]\ntables = { exception-classes = [{ name = "app.errors.AppError", role = "broad" }] }\n',
    )
    assert findings(project.lint("app", "--format", "json")) == [("app/views.py", "BL402")]


def test_rule_option_from_config(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app.py", SWALLOW.replace("except Exception:", "except KeyError:"))
    assert findings(project.lint("app.py", "--format", "json")) == []
    project.write("pyproject.toml", "[tool.backlint]\ncheck-typed-exceptions = true\n")
    assert findings(project.lint("app.py", "--format", "json")) == [("app.py", "BL402")]


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def test_every_catalog_option_is_a_config_key(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app.py", "x = 1\n")
    for meta in load_catalog().rules.values():
        for option in meta.options:
            project.write("pyproject.toml", f"[tool.backlint]\n{option.name} = {_toml(option.default)}\n")
            result = project.lint("app.py")
            assert result.exit_code == 0, (option.name, result.stderr)


# --- every mistake: exit 2, naming the file, the key and what was expected, never a traceback

PFI, SEVERITY, TABLES = "[tool.backlint.per-file-ignores]\n", "[tool.backlint.severity]\n", "[tool.backlint.tables]\n"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("colour = true\n", "tool.backlint.colour: unknown key"),
        ('select = "BL4"\n', "tool.backlint.select: expected a list of strings, got 'BL4'"),
        ("ignore = [402]\n", "tool.backlint.ignore: expected a list of strings"),
        ('select = ["BL999"]\n', "tool.backlint.select: unknown rule id or prefix 'BL999'"),
        ('extend-select = ["SQL1"]\n', "tool.backlint.extend-select: unknown rule id or prefix 'SQL1'"),
        ('exclude = ["build/[abc"]\n', "tool.backlint.exclude: invalid glob 'build/[abc'"),
        ('extend-exclude = "dist"\n', "tool.backlint.extend-exclude: expected a list of strings"),
        ('test-paths = ["qa/[x"]\n', "tool.backlint.test-paths: invalid glob"),
        (PFI + "'legacy[' = ['BL4']\n", "tool.backlint.per-file-ignores.'legacy[': invalid glob"),
        (PFI + "'legacy' = 'BL4'\n", "per-file-ignores.'legacy': expected a list of strings"),
        (PFI + "'legacy' = ['BL9']\n", "per-file-ignores.'legacy': unknown rule id or prefix"),
        ('per-file-ignores = ["x"]\n', "tool.backlint.per-file-ignores: expected a table of glob = [rule ids]"),
        (SEVERITY + "BL999 = 'error'\n", "tool.backlint.severity.BL999: unknown rule id"),
        (SEVERITY + "BL402 = 'fatal'\n", "BL402: expected one of ['error', 'warning', 'note'], got 'fatal'"),
        ('severity = "error"\n', "tool.backlint.severity: expected a table of rule id = level"),
        ("sarif-category = ''\n", "tool.backlint.sarif-category: expected a non-empty string"),
        ("max-file-size = '2MB'\n", "tool.backlint.max-file-size: expected a positive integer (bytes), got '2MB'"),
        ("max-file-size = 0\n", "tool.backlint.max-file-size: expected a positive integer"),
        ("respect-gitignore = 'yes'\n", "tool.backlint.respect-gitignore: expected true or false"),
        ("check-typed-exceptions = 'yes'\n", "tool.backlint.check-typed-exceptions: expected bool, got 'yes'"),
        ("tables = []\n", "tool.backlint.tables: expected a table of table-name = [rows]"),
        (TABLES + "no-such-table = []\n", "tool.backlint.tables.no-such-table: unknown table; known: ["),
        (TABLES + "exception-classes = {name = 'X'}\n", "tables.exception-classes: expected a list of rows"),
        (
            TABLES + "exception-classes = [{name = 'X', kind = 'broad'}]\n",
            "tables.exception-classes: unknown field(s) ['kind'] in exception-classes; "
            "expected ['name', 'role', 'specific']",
        ),
        (
            TABLES + "exception-classes = [{name = 'X'}]\n",
            "tables.exception-classes: missing field(s) ['role']",
        ),
        ("[tool.backlint\nselect = []\n", "invalid TOML: "),
        ("[tool.backlint]\nselect = [\n", "invalid TOML: "),
    ],
)
def test_config_errors(project, config: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    if not config.startswith("[tool"):
        config = "[tool.backlint]\n" + config
    path = project.write("pyproject.toml", config)
    project.write("app.py", SWALLOW)
    result = project.lint("app.py")  # in-process: any exception would fail the test
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"backlint: error: {path}: ")
    assert expected in result.stderr


def test_errors_in_an_explicit_config_name_that_file(project) -> None:  # type: ignore[no-untyped-def]
    path = project.write("ci/backlint.toml", 'select = ["BL999"]\n')
    project.write("app.py", SWALLOW)
    result = project.lint("app.py", "--config", "ci/backlint.toml")
    assert result.exit_code == 2
    assert "ci/backlint.toml: select: unknown rule id or prefix 'BL999'" in result.stderr
    assert Path(path).name in result.stderr


def test_undecodable_config_is_an_error(project) -> None:  # type: ignore[no-untyped-def]
    (project.root / "pyproject.toml").write_bytes(b"[tool.backlint]\n# caf\xe9\n")
    project.write("app.py", SWALLOW)
    result = project.lint("app.py")
    assert result.exit_code == 2 and "pyproject.toml: cannot read" in result.stderr


def _regex_table() -> TableSpec | None:
    return next((spec for spec in load_catalog().table_specs.values() if spec.regex_fields), None)


def test_bad_regex_in_a_table_row(project) -> None:  # type: ignore[no-untyped-def]
    spec = _regex_table()
    if spec is None:  # the check itself, on a table shaped like the catalog's regex tables
        spec = TableSpec("allow", "", ("regex", "why"), ("regex",), ("regex",))
        assert validate_row(spec, {"regex": "(unclosed"}) is not None
        pytest.skip("no catalog table has regex fields yet")
    field = spec.regex_fields[0]
    row = {f: "x" for f in spec.required} | {field: "(unclosed"}
    inline = ", ".join(f"{k} = {v!r}" for k, v in row.items())
    project.write("pyproject.toml", f"[tool.backlint.tables]\n{spec.name} = [{{ {inline} }}]\n")
    project.write("app.py", SWALLOW)
    result = project.lint("app.py")
    assert result.exit_code == 2
    assert f"tool.backlint.tables.{spec.name}: {spec.name}.{field}: invalid regex '(unclosed'" in result.stderr


# --- the documentation's examples are real configuration

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def _toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", DOCS.read_text("utf-8"), flags=re.DOTALL)


@pytest.mark.parametrize("block", _toml_blocks())
def test_every_documented_snippet_is_valid_configuration(project, block: str) -> None:  # type: ignore[no-untyped-def]
    config = block if block.lstrip().startswith("[tool.backlint") else "[tool.backlint]\n" + block
    project.write("pyproject.toml", config)
    project.write("app/views.py", "x = 1\n")
    result = project.lint("app")
    assert result.exit_code == 0, result.stderr


def test_every_key_is_documented() -> None:
    text = DOCS.read_text("utf-8")
    keys = ("select", "extend-select", "ignore", "per-file-ignores", "severity", "exclude", "extend-exclude",
            "respect-gitignore", "max-file-size", "memory-limit", "time-limit", "test-paths", "non-production-paths",
            "sarif-category",
            "cache-dir", "tables")  # fmt: skip
    for key in keys:
        assert f"### `{key}`" in text, key
