"""Shapes of valid code that hurt libcst or a recursive walk (issue 19 items 2, 3 and 8).

Each shape just past its pre-check limit (backlint/pipeline/precheck.py) is one BL000 naming the
limit, and never reaches libcst; deep shapes under the limits are analysed, their findings placed,
never an internal error. The other files' findings stay intact. Through the real CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_process

from backlint.pipeline import precheck
from backlint.pipeline.walk import BatchedWalker

SWALLOW = "try:\n    sync()\nexcept Exception:\n    pass\n"
ENDPOINT = (
    "import sqlite3\nfrom flask import Flask, request\napp = Flask(__name__)\n\n\n"
    '@app.route("/items")\ndef items():\n    name = request.args["name"]\n'
)


def _limit(measure: str) -> int:
    return precheck.LIMITS[measure][0]


PAST_LIMITS = {
    "operators": lambda n: "x = (\n    a\n" + "    + a\n" * n + ")\n",
    "conditionals": lambda n: "x = (\n" + "    a if b else\n" * n + "    c\n)\n",
    "dots": lambda n: "x = (\n    a\n" + "    .b()\n" * n + ")\n",
    "unary_run": lambda n: "x = " + "-" * n + "a\n",
    "elifs": lambda n: "if a:\n    pass\n" + "elif a:\n    pass\n" * n,
    "string_run": lambda n: "x = (\n" + "    'abcdefgh'\n" * n + ")\n",
    "bool_chain": lambda n: "x = " + " and ".join(["a"] * (n + 1)) + "\n",
}


@pytest.fixture(scope="module")
def deep_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deep")
    (root / "pyproject.toml").write_text("[tool.backlint]\n")
    for name, build in PAST_LIMITS.items():
        measure = "operators" if name == "bool_chain" else name
        (root / f"past_{name}.py").write_text(build(_limit(measure) + 1) + SWALLOW)
    # Under the limits, deep: analysed, findings placed.
    (root / "dict_150.py").write_text("x = " + "{'a': " * 150 + "1" + "}" * 150 + "\n" + SWALLOW)
    (root / "ternary_400.py").write_text("x = (\n" + "    a if b else\n" * 400 + "    c\n)\n" + SWALLOW)
    (root / "sql_chain.py").write_text(
        ENDPOINT
        + '    q = ("select * from t where a = \'"\n'
        + "         + name\n" * (_limit("operators") - 10)
        + "    )\n    return sqlite3.connect('a').execute(q)\n"
    )
    (root / "call_chain.py").write_text("x = (\n    a\n" + "    .b()\n" * (_limit("dots") - 5) + ")\n" + SWALLOW)
    (root / "fstrings.py").write_text('x = f"{f\'{f"{1}"}\'}"\n' + SWALLOW)
    (root / "healthy.py").write_text(SWALLOW)
    return root


def _lint(root: Path, *args: str):  # type: ignore[no-untyped-def]
    result = run_process(".", "--format", "json", "--no-cache", *args, cwd=root)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert not [n for n in result.json()["notices"] if n["level"] == "error"], result.stderr
    found: dict[str, list[tuple[str, int, str]]] = {}
    for f in result.json()["findings"]:
        found.setdefault(f["path"], []).append((f["rule_id"], f["line"], f["message"]))
    return found


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_each_shape_past_its_limit_is_one_bl000_naming_it(deep_tree: Path, jobs: str) -> None:
    found = _lint(deep_tree, "-j", jobs)
    for name in PAST_LIMITS:
        measure = "operators" if name == "bool_chain" else name
        (rule, line, message), *rest = found[f"past_{name}.py"]
        assert (rule, line, rest) == ("BL000", 1, []), found[f"past_{name}.py"]
        assert precheck.LIMITS[measure][1] in message and f"{_limit(measure):,}" in message, message
    for name in ("dict_150.py", "ternary_400.py", "call_chain.py", "fstrings.py", "healthy.py"):
        assert [r for r, _, _ in found[name]] == ["BL402"], (name, found[name])
    sql = [(rule, line) for rule, line, _ in found["sql_chain.py"] if rule in ("BL000", "BL101")]
    assert sql == [("BL101", 10)], found["sql_chain.py"]


def test_the_pre_check_reads_most_files_without_tokenizing() -> None:
    ordinary = (Path(__file__).resolve().parent.parent / "backlint" / "pipeline" / "engine.py").read_text()
    assert precheck.screen(ordinary) == []
    assert precheck.overrun(ordinary) is None


def _no_tokenize(text: str) -> dict[str, int]:
    raise AssertionError("tokenized")


@pytest.mark.skipif(precheck.statement_bounds("x = 1\n", ["dots"]) is None, reason="Python 3.12+ tokenizes in C")
def test_a_file_whose_statements_are_all_short_is_not_tokenized(monkeypatch: pytest.MonkeyPatch) -> None:
    # Over the whole file more dots, operators and strings than one statement may hold (Django's
    # models and SQLAlchemy's dialects: docstrings, many statements), but no statement near a limit:
    # the statement scan (comments, strings, brackets, newlines) answers without tokenize.
    docstring = '"""' + "See a.b.c(x + y) or z.w; " * 300 + '"""\n'
    body = "".join(f"    value_{i} = self.a.b(c + d - e * f) if g and h else 'x.y' 'z'  # w.v\n" for i in range(600))
    text = docstring + "class A:\n" + body
    assert set(precheck.screen(text)) >= {"dots", "operators", "conditionals"}
    monkeypatch.setattr(precheck, "measure", _no_tokenize)
    assert precheck.overrun(text) is None


@pytest.mark.parametrize("name", ["operators", "conditionals", "dots", "string_run"])
def test_a_statement_past_a_limit_is_measured_whatever_strings_and_comments_it_holds(name: str) -> None:
    # The statement scan must not end a statement early: brackets and newlines in strings and
    # comments, escaped quotes, backslash continuations, triple-quoted strings across lines.
    noise = '    # ) ] } a comment\'s brackets\n    (\'(\\\'[\' \'"{\\n\') \\\n    + """\n)]}\n""" +\n'
    shape = PAST_LIMITS[name](_limit(name) + 1)
    head, _, tail = shape.partition("(\n")
    text = head + "(\n" + noise + tail
    found = precheck.overrun(text)
    assert found is not None and found.measure == name, (found, text[:300])
    bounds = precheck.statement_bounds(text, [name])
    assert bounds is None or bounds[name] > _limit(name)  # the scan read it as one statement
    compile(text, "shape.py", "exec")  # and the shape is Python


def test_the_walk_needs_no_recursion_room() -> None:
    """The walker keeps its own stack: a tree 20,000 levels deep walks at the default recursion limit."""
    import libcst as cst

    from backlint.core.rule import FileContext

    expr: cst.BaseExpression = cst.Name("a")
    for _ in range(20_000):
        expr = cst.UnaryOperation(cst.Minus(), expr)
    module = cst.Module(body=[cst.SimpleStatementLine([cst.Expr(expr)])])
    seen = []

    class Counter:
        def visit_UnaryOperation(self, node: cst.UnaryOperation) -> None:
            seen.append(len(context.ancestors))

    context = FileContext.__new__(FileContext)
    context.ancestors = []
    BatchedWalker([Counter()], context).walk(module)  # type: ignore[list-item]
    assert len(seen) == 20_000 and max(seen) == 20_003


def test_json_of_a_past_limit_file_is_plain(deep_tree: Path) -> None:
    result = run_process("past_elifs.py", "--format", "sarif", "--no-cache", cwd=deep_tree)
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    assert sarif["runs"][0]["results"][0]["ruleId"] == "BL000"


def test_a_long_statement_of_many_short_chains_is_not_one_long_chain() -> None:
    """A real policy table (privacyidea's lib/policy.py: one dict literal of ~700 `SCOPE.ADMIN`,
    `ACTION.X`, `_("…")` rows) holds many `.` in one statement but no long chain: it is parsed, not
    refused; one chain past the limit still is."""
    rows = "".join(
        f'    ACTION.RULE{i}: {{"type": "bool", "desc": _("Rule {i}."), "group": GROUP.TOKEN}},\n' for i in range(700)
    )
    table = "from .lib import ACTION, GROUP, _\n\nget_static_policy_definitions = {\n" + rows + "}\n"
    assert precheck.measure(table)["dots"] == 1
    assert precheck.overrun(table) is None
    chain = "x = (\n    a\n" + "    .b()\n" * (_limit("dots") + 1) + ")\n"
    assert precheck.measure(chain)["dots"] == _limit("dots") + 1
    assert precheck.overrun(chain) is not None
