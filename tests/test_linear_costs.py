"""Per-file costs grow linearly with the findings (issue 19 item 4), proved by structure, not by clocks.

A file's statements are indexed once (backlint/pipeline/positions.py): each finding's statement
lines and scope names bisect that index; every statement's start line is computed at most once.
The fixes that read a module's imports (backlint/analysis/config_fixes.py) index them once per
module. ``benchmarks/scaling.py`` measures the times (2x the findings: about 2x the time).
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from backlint.analysis import config_fixes, scopes
from backlint.analysis.sql import judge, templates
from backlint.api import settings_for
from backlint.core.catalog import load_catalog
from backlint.core.config import Config
from backlint.core.results import FileKind
from backlint.core.rule import FileContext
from backlint.pipeline import filestage
from backlint.pipeline.discovery import SourceFile
from backlint.pipeline.positions import StatementIndex

SETTINGS = settings_for(Config(root=Path.cwd(), source=None, select=("ALL",)), load_catalog())


def _analyse(text: str):  # type: ignore[no-untyped-def]
    source = SourceFile(path=Path("app/settings.py"), display="app/settings.py", relative="app/settings.py")
    return filestage.analyse_here(source, text, FileKind.PRODUCTION, SETTINGS)[0]


def _many_secrets(n: int) -> str:
    body = "".join(f'    password_{i} = "hunter2hunter2_{i:05d}"\n' for i in range(n))
    return "import os\n\n\nclass Settings:\n" + body


def test_one_statement_index_per_file_and_each_statement_indexed_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    built: list[StatementIndex] = []
    original = StatementIndex.__init__

    def record(self, module, positions) -> None:  # type: ignore[no-untyped-def]
        original(self, module, positions)
        built.append(self)

    monkeypatch.setattr(StatementIndex, "__init__", record)
    n = 400
    findings = _analyse(_many_secrets(n))
    assert len([f for f in findings if f.rule_id == "BL202"]) == n
    assert len(built) == 1
    assert built[0].suites_indexed <= n + 3  # the module's 2 statements and the class body's n, once each
    assert {f.scope for f in findings if f.rule_id == "BL202"} == {"Settings"}
    assert all(f.statement_lines == (f.span.line, f.span.line) for f in findings if f.rule_id == "BL202")


def test_a_module_s_imports_are_indexed_once_for_all_its_fixes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    scans = []
    original = config_fixes._module_imports

    def counting(body):  # type: ignore[no-untyped-def]
        scans.append(len(body))
        return original(body)

    monkeypatch.setattr(config_fixes, "_module_imports", counting)
    n = 200
    text = "import os\n" + "".join(f'password_{i} = "hunter2hunter2_{i:05d}"\n' for i in range(n))
    findings = _analyse(text)
    assert len([f for f in findings if f.rule_id == "BL202" and f.fix is not None]) == n
    assert sum(scans) <= n + 1 + 10  # each top-level statement read once (not once per fix)


def _reassigned_sql(n: int) -> str:
    lines = "".join(
        (f'    q = q + " and a{i} = \'" + name + "\'"\n' if i % 2 else f'    q = q + " and b{i} = 1"\n')
        for i in range(n)
    )
    return (
        "import sqlite3\nfrom flask import Flask, request\napp = Flask(__name__)\n\n\n"
        '@app.route("/items")\ndef items():\n    name = request.args["name"]\n    q = "select * from t where 1=1"\n'
        + lines
        + "    return sqlite3.connect('a').execute(q)\n"
    )


def test_a_sql_variable_re_assigned_n_times_is_lexed_a_bounded_number_of_times(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # benchmarks/scaling.py's ``sql`` shape: each re-assignment holds the holes already reported, so
    # backlint/analysis/sql/judge.py answers without lexing its text again (issue 19 item 4).
    calls: list[int] = []
    original = judge.slot_positions

    def counting(template, string_quotes="'"):  # type: ignore[no-untyped-def]
        calls.append(len(template))
        return original(template, string_quotes)

    monkeypatch.setattr(judge, "slot_positions", counting)
    small = _analyse(_reassigned_sql(40))
    small_calls = len(calls)
    calls.clear()
    large = _analyse(_reassigned_sql(160))
    assert small and large
    assert small_calls <= 4 and len(calls) <= 4  # not one per re-assignment (40, 160)


def test_a_sql_variable_re_assigned_n_times_copies_a_bounded_text_per_re_assignment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Each ``q = q + ...`` folds q's text again: the parts it copies (``merge``, every fold's copy)
    # stay under a bound per re-assignment, as the text is cut at MAX_PARTS
    # (backlint/analysis/sql/templates.py); uncut, the copies grow with the square of N.
    monkeypatch.setattr(templates, "MAX_PARTS", 32)
    copied: list[int] = []
    original = templates.merge

    def counting(template):  # type: ignore[no-untyped-def]
        copied.append(len(template))
        return original(template)

    monkeypatch.setattr(templates, "merge", counting)
    costs = {}
    found = {}
    for n in (100, 200, 400):
        copied.clear()
        found[n] = [(f.rule_id, f.span.line, f.message) for f in _analyse(_reassigned_sql(n))]
        costs[n] = sum(copied)
    assert costs[400] <= 2.2 * costs[200] and costs[200] <= 2.2 * costs[100], costs
    assert max(costs.values()) <= 400 * 4 * 2 * 32  # per re-assignment: a few joins of two cut texts
    # The holes kept are judged as uncut: the same findings as with the default limit.
    monkeypatch.setattr(templates, "MAX_PARTS", 1_000)
    assert [(f.rule_id, f.span.line, f.message) for f in _analyse(_reassigned_sql(100))] == found[100]
    assert {r for r, _, _ in found[400]} == {"BL101", "BL105"}


def test_a_name_s_reaching_bindings_are_found_back_from_the_use() -> None:
    # backlint/analysis/scopes.py's ``reaching`` starts at the use and stops at the last binding that
    # kills the earlier ones: N re-assignments read a bounded number of bindings per use, not N.
    reads: list[int] = []

    class Counting(list):  # type: ignore[type-arg]
        def __getitem__(self, index):  # type: ignore[no-untyped-def]
            reads.append(1)
            return super().__getitem__(index)

        def __iter__(self):  # type: ignore[no-untyped-def]
            for item in super().__iter__():
                reads.append(1)
                yield item

    scope = scopes.Scope("function", cst.Module([]), None)
    bindings = Counting(
        scopes.Binding("assign", cst.Name("q"), None, scope, point, (0,)) for point in range(2, 20_002, 2)
    )
    use = scopes.Site(scope, 15_001, (0,))
    found = scopes.reaching(bindings, use)
    assert [b.point for b in found] == list(range(15_000, 20_002, 2))  # the last before the use, and after
    assert len(reads) <= 40  # bisection and one step back, not 7,500 reads


def _elif_ladder(n: int) -> str:
    branches = "".join(
        f'        elif a == "{i}":\n            x = {i}\n            log.info("v %s", x)\n' for i in range(1, n)
    )
    return (
        "import logging, sqlite3\nfrom flask import Flask, request\napp = Flask(__name__)\n"
        'log = logging.getLogger(__name__)\n\n\n@app.route("/a")\ndef f():\n    a = request.args["a"]\n'
        '    try:\n        if a == "0":\n            x = 0\n'
        + branches
        + '        return sqlite3.connect("a").execute("select ?", (x,))\n    except Exception:\n        raise\n'
    )


def test_an_elif_ladder_reads_each_ancestor_a_bounded_number_of_times(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Each elif is an If in the one before: a statement of branch k has ~2k ancestors. The walks up
    # the ancestors (the blocks around a binding, backlint/analysis/scopes.py; the innermost def,
    # backlint/analysis/web/body_file.py; the enclosing try, backlint/analysis/web/framework_guards.py)
    # stop at the nearest node answered before: the ancestors read grow with N, not N². (The blocks
    # of a ladder, backlint/analysis/passwords/values.py's _blocks, are read in a loop.)
    reads = [0]

    class Counting(list):  # type: ignore[type-arg]
        def __getitem__(self, index):  # type: ignore[no-untyped-def]
            reads[0] += 1
            return super().__getitem__(index)

        def __iter__(self):  # type: ignore[no-untyped-def]
            for item in super().__iter__():
                reads[0] += 1
                yield item

        def __reversed__(self):  # type: ignore[no-untyped-def]
            for index in range(len(self) - 1, -1, -1):
                yield self[index]

    original = FileContext.__init__

    def counting_init(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        self.ancestors = Counting()

    monkeypatch.setattr(FileContext, "__init__", counting_init)
    costs = {}
    for n in (150, 300, 600):
        reads[0] = 0
        assert _analyse(_elif_ladder(n)) is not None
        costs[n] = reads[0]
    assert costs[600] <= 2.3 * costs[300] and costs[300] <= 2.3 * costs[150], costs


def test_the_rules_a_file_wakes_are_found_in_one_pass_over_its_text(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The trigger tokens that occur come from one RE2 set match; without it each token is looked
    # for with `in` (the reference): the same rules and collectors for every role and text.
    texts = [
        "",
        "x = 1\n",
        "import os\ncursor.execute('SELECT 1')\n",
        "from fastapi import FastAPI\napp = FastAPI()\n@app.get('/')\ndef f():\n    return {}\n",
        "PASSWORD = 'hunter2'\ntry:\n    pass\nexcept Exception:\n    pass\n",
        "token = 'ghp_' + x  # \ud800 a lone surrogate: RE2 cannot take it\n",
        "from unittest.mock import MagicMock\nDEBUG = True\nSECRET_KEY = 'x'\n",
    ]
    kinds = (FileKind.PRODUCTION, FileKind.TEST, FileKind.SCRIPT)
    assert filestage._present_tokens(texts[2], SETTINGS)  # the set is in use here
    found = [filestage.active_rules(kind, text, SETTINGS) for text in texts for kind in kinds]
    monkeypatch.setattr(filestage, "_present_tokens", lambda text, settings: None)
    assert found == [filestage.active_rules(kind, text, SETTINGS) for text in texts for kind in kinds]


def test_a_generated_module_of_plain_literals_evaluates_none_of_them_with_the_compiler(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # calibreweb's iso_language_names.py: 23k dict literals, each string once evaluated by
    # ast.literal_eval (a compile) about three times. Plain literals are read from their text.
    import libcst._nodes.expression as expression

    evaluated: list[str] = []
    real = expression.literal_eval

    def counting(text: str):  # type: ignore[no-untyped-def]
        evaluated.append(text)
        return real(text)

    monkeypatch.setattr(expression, "literal_eval", counting)
    rows = "".join(f'        "k{i:04d}": "Language {i}",\n' for i in range(500))
    rows += '        "pwn": "Paiwan",\n'  # "pw": a trigger token of the password rules
    body = f'    "de": {{\n{rows}    }},\n    "fr": {{\n{rows}    }},\n'
    text = f"# -*- coding: utf-8 -*-\nLANGUAGE_NAMES = {{\n{body}}}\n"
    assert _analyse(text) == []
    assert len(evaluated) < 10, evaluated[:10]
