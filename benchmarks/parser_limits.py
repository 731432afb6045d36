#!/usr/bin/env python3
"""Where libcst's native parser (and backlint's per-file stage) break: one threshold per input shape.

    python benchmarks/parser_limits.py [--quick] [--json FILE] [--markdown FILE]
        [--shapes bool_chain_line,elif_branches,...] [--targets libcst,ast,tokenize,backlint]
        [--memory-mb 1024] [--time-limit 20] [--budget-seconds 5] [--budget-mb 500]
        [--stack-sweep 512,65536] [--thread-stack-kb KB] [--no-corpus]

Run it niced and alone (it keeps one core busy): ``nice -n 10 python benchmarks/parser_limits.py
--quick`` is a smoke run of about 5 minutes on an idle machine (more when the cores are shared);
the full mode, which wrote ``benchmarks/parser_limits.md``, takes one to two hours.

For each shape (a family of small, valid modules that grows with N: ``x = a and a and …`` with N
operands, N ``elif`` branches, brackets nested N deep, …; ``SHAPES``) and each target it runs one
child process per probe, under ``RLIMIT_AS`` (``--memory-mb``), ``RLIMIT_CPU`` (``--time-limit``
seconds; a wall-clock limit of three times that backs it up) and no core dumps. The child builds the
module and runs the target on it:

- ``libcst``: ``libcst.parse_module`` (the native parser of the installed libcst), on the main thread
  or, with ``--thread-stack-kb``, in a thread with that stack;
- ``ast``: ``ast.parse``; ``tokenize``: a full ``tokenize.generate_tokens`` pass: the tools a
  pre-check before libcst can use;
- ``backlint``: ``python -m backlint FILE --format json --no-cache -j 1 --select ALL`` under the
  same limits: the whole per-file stage as it is today, its guard included (full mode only).

N grows geometrically (×2; ×4 with ``--quick``) until the target fails, the module passes
``--max-bytes`` or N passes the shape's cap (for ast, tokenize and backlint: 4 × libcst's
boundary); the boundary is then bisected to ``--precision``. Outcomes: ``ok``; ``rejected`` (a
clean exception: SyntaxError, RecursionError, libcst's ParserSyntaxError; for backlint a BL000
finding or a notice); ``internal`` (backlint's exit 2 or error notice); ``memory`` (MemoryError or
an allocation abort at the cap); ``timeout``; ``crash`` (killed by a signal, named). For libcst
and backlint a second bisection finds the largest N inside the budget (``--budget-seconds`` of CPU
and ``--budget-mb`` of peak RSS). ``ast``, ``tokenize`` and the metrics pass are also timed on
libcst's two boundary modules: what a pre-check pays on exactly the files it must catch.

The boundary modules are measured with a prototype of the pre-check (``source_metrics``: one
``tokenize`` pass counting operators, dots, conditional ``if`` and tokens per logical line, runs
of unary operators and of adjacent string literals, bracket, f-string and indent depth, elif
chains, file tokens, line length; ``ast`` for expression depth), so that each threshold comes out in
the pre-check's units; ``propose_limits`` turns them into limits with a margin. ``--stack-sweep``
parses the shapes that crashed again in threads of other stack sizes (a crash threshold scales
with the stack). Last, unless ``--no-corpus``, the installed Django and SQLAlchemy give the real
code's maximum of every metric, the cost of tokenize / ast / libcst, and how many files the cheap
``screen`` (whole-file upper bounds from ``str.count`` and two regexes) would send to the tokenize
pass under the proposed limits.

``--quick``: ×4 steps, 25% precision, 512 MB and 3 s per probe with half the budget (2.5 s, 250 MB),
2 MB modules, ast and tokenize only at libcst's boundaries, 1/40 of the corpus, no stack sweep: its
thresholds are lower than the full run's, by design.

Prints a markdown report (thresholds per shape, pre-check costs, backlint today, stack sweep,
metrics at the boundaries, proposed limits, corpus costs and maxima) on stdout, or writes it to
``--markdown FILE``; ``--json FILE`` writes every probe. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import datetime
import io
import json
import math
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backlint.pipeline import precheck  # noqa: E402

TARGETS = ("libcst", "ast", "tokenize", "backlint")


# --------------------------------------------------------------------------------------------------
# Shapes: N -> a valid module (valid for libcst; CPython may reject some on purpose, e.g. 201 brackets)


@dataclasses.dataclass(frozen=True)
class Shape:
    name: str
    title: str
    unit: str  # what N counts
    metric: str  # the pre-check metric (key of source_metrics) that grows with N
    build: Callable[[int], str]
    start: int = 16
    cap: int = 1 << 22


def _chain(op: str) -> Callable[[int], str]:
    return lambda n: "x = " + f" {op} ".join(["a"] * n) + "\n"


def _chain_lines(op: str) -> Callable[[int], str]:
    return lambda n: "x = (\n    a\n" + f"    {op} a\n" * (n - 1) + ")\n"


def _nested(open_: str, close: str, inner: str = "a") -> Callable[[int], str]:
    return lambda n: "x = " + open_ * n + inner + close * n + "\n"


def _fstrings(n: int) -> str:
    text = "a"
    for _ in range(n):
        text = 'f"{' + text + '}"'
    return "x = " + text + "\n"


def _indented(n: int) -> str:
    return "".join("    " * i + "if a:\n" for i in range(n)) + "    " * n + "pass\n"


SHAPES: tuple[Shape, ...] = (
    Shape("bool_chain_line", "`x = a and a and …` on one line", "operands", "operators", _chain("and")),
    Shape("plus_chain_line", "`x = a + a + …` on one line", "operands", "operators", _chain("+")),
    Shape("compare_chain_line", "`x = a < a < …` on one line", "operands", "operators", _chain("<")),
    Shape("plus_chain_lines", "`x = (a\\n + a\\n + …)`, one operand per line", "lines", "operators", _chain_lines("+")),
    Shape(
        "or_chain_lines", "`x = (a\\n or a\\n or …)`, one operand per line", "lines", "operators", _chain_lines("or")
    ),
    Shape(
        "elif_branches",
        "`if a: pass` + N × `elif a: pass`",
        "elif branches",
        "elifs",
        lambda n: "if a:\n    pass\n" + "elif a:\n    pass\n" * n,
    ),
    Shape(
        "attribute_chain_lines",
        "`x = (a\\n .b\\n .b …)`, one attribute per line",
        "links",
        "dots",
        lambda n: "x = (\n    a\n" + "    .b\n" * n + ")\n",
    ),
    Shape(
        "call_chain_lines",
        "`x = (a\\n .b()\\n .b() …)`, one call per line",
        "links",
        "dots",
        lambda n: "x = (\n    a\n" + "    .b()\n" * n + ")\n",
    ),
    Shape("nested_lists", "`[[[…a…]]]`", "depth", "bracket_depth", _nested("[", "]")),
    Shape("nested_dicts", "`{'a': {'a': …1…}}`", "depth", "bracket_depth", _nested("{'a': ", "}", "1")),
    Shape("nested_calls", "`f(f(f(…a…)))`", "depth", "bracket_depth", _nested("f(", ")")),
    Shape("nested_parens", "`((((a))))`", "depth", "bracket_depth", _nested("(", ")")),
    Shape(
        "ternary_line",
        "`x = a if b else a if b else … c` on one line",
        "conditionals",
        "conditionals",
        lambda n: "x = " + "a if b else " * n + "c\n",
    ),
    Shape(
        "ternary_lines",
        "`x = (\\n a if b else\\n … c\\n)`, one conditional per line",
        "lines",
        "conditionals",
        lambda n: "x = (\n" + "    a if b else\n" * n + "    c\n)\n",
    ),
    Shape("nested_fstrings", '`f"{f"{…a…}"}"` (PEP 701 quotes)', "depth", "fstring_depth", _fstrings),
    Shape("unary_minus_run", "`x = ----…a`", "signs", "unary_run", lambda n: "x = " + "-" * n + "a\n"),
    Shape("not_run", "`x = not not … a`", "nots", "unary_run", lambda n: "x = " + "not " * n + "a\n"),
    Shape(
        "list_elements_lines",
        "`x = [\\n 123456,\\n …]`, one element per line",
        "elements",
        "file_tokens",
        lambda n: "x = [\n" + "    123456,\n" * n + "]\n",
        start=1024,
    ),
    Shape(
        "list_elements_line",
        "`x = [123456, 123456, …]` on one line",
        "elements",
        "file_tokens",
        lambda n: "x = [" + "123456, " * n + "]\n",
        start=256,
    ),
    Shape(
        "dict_entries_lines",
        "`x = {\\n 'key': 123456,\\n …}`, one entry per line",
        "entries",
        "file_tokens",
        lambda n: "x = {\n" + "".join(f"    'k{i}': 123456,\n" for i in range(n)) + "}\n",
        start=256,
    ),
    Shape(
        "string_concat_lines",
        "`x = (\\n 'abcdef'\\n …)`, adjacent literals, one per line",
        "literals",
        "string_run",
        lambda n: "x = (\n" + "    'abcdefgh'\n" * n + ")\n",
        start=256,
    ),
    Shape(
        "long_string_line",
        "`x = 'aaaa…'`, one string literal on one line",
        "bytes",
        "line_length",
        lambda n: "x = '" + "a" * n + "'\n",
        start=4096,
    ),
    Shape("indented_blocks", "N nested `if a:` blocks", "depth", "indent_depth", _indented),
    Shape(
        "statements",
        "N statements `x = f(a, b.c, 'd')`",
        "statements",
        "file_tokens",
        lambda n: "x = f(a, b.c, 'd')\n" * n,
        start=1024,
    ),
)
SHAPE_BY_NAME = {shape.name: shape for shape in SHAPES}


# --------------------------------------------------------------------------------------------------
# The pre-check's measures (backlint/pipeline/precheck.py, the ones the product enforces) plus a few
# this benchmark reports beside them


METRICS = (
    "operators",
    "dots",
    "tokens",
    "string_run",
    "file_tokens",
    "conditionals",
    "unary_run",
    "bracket_depth",
    "fstring_depth",
    "elifs",
    "indent_depth",
    "line_length",
    "bytes",
    "expr_depth",
)
METRIC_DOC = {
    "operators": "binary, boolean and comparison operators in one logical line (statement or header)",
    "dots": "links of the longest attribute and method-call chain (`.`) in one logical line",
    "tokens": "tokens in one logical line",
    "string_run": "longest run of adjacent string literals (implicit concatenation)",
    "file_tokens": "tokens in the file (NEWLINE, NL, COMMENT, INDENT, DEDENT not counted)",
    "conditionals": "`if` keywords inside one logical line, after its first token (conditional expressions)",
    "unary_run": "longest run of consecutive unary operators (`-`, `+`, `~`, `not`)",
    "bracket_depth": "deepest nesting of `(`, `[`, `{` (tokenize; the f-string braces on 3.12+)",
    "fstring_depth": "deepest nesting of f-strings (FSTRING_START tokens on 3.12+; before: of `{}` fields in one"
    " f-string token)",
    "elifs": "`elif` clauses of one `if` statement",
    "indent_depth": "deepest INDENT nesting",
    "line_length": "longest physical line, in characters",
    "bytes": "size of the file, in UTF-8 bytes",
    "expr_depth": "deepest nesting of expression nodes in `ast` (iterative walk)",
}


def token_metrics(text: str) -> dict[str, int]:
    """The pre-check's measures (one tokenize pass of backlint's own) plus this benchmark's extras
    (raises tokenize.TokenError / SyntaxError)."""
    measured = precheck.measure(text)
    out = dict.fromkeys(METRICS, 0)
    for name in ("operators", "dots", "string_run", "conditionals", "unary_run", "fstring_depth", "elifs"):
        out[name] = measured[name]
    out["tokens"] = measured["statement_tokens"]
    out["bytes"] = len(text.encode("utf-8", "surrogatepass"))
    out["line_length"] = max((len(line) for line in text.splitlines()), default=0)
    depth = indent = 0
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        kind, string = token.type, token.string
        if kind == tokenize.INDENT:
            indent += 1
            out["indent_depth"] = max(out["indent_depth"], indent)
        elif kind == tokenize.DEDENT:
            indent -= 1
        elif kind not in _NOT_COUNTED:
            out["file_tokens"] += 1
            if kind == tokenize.OP and string in "([{":
                depth += 1
                out["bracket_depth"] = max(out["bracket_depth"], depth)
            elif kind == tokenize.OP and string in ")]}":
                depth = max(0, depth - 1)
    return out


_NOT_COUNTED = {tokenize.NL, tokenize.COMMENT, tokenize.ENCODING, tokenize.NEWLINE, tokenize.ENDMARKER}


def expression_depth(tree: ast.AST) -> int:
    """Deepest chain of nested ast.expr nodes, iteratively (a statement resets the count)."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        level = level + 1 if isinstance(node, ast.expr) else 0
        deepest = max(deepest, level)
        stack.extend((child, level) for child in ast.iter_child_nodes(node))
    return deepest


_WORD_OPERATORS = re.compile(r"\b(?:and|or|in|is)\b")
_IF = re.compile(r"\bif\b")
_ELIF = re.compile(r"\belif\b")
_BRACKETS = re.compile(r"[^()\[\]{}]+")
_TOKENISH = re.compile(r"\w+|\S")  # every token holds at least one match (bar `1if`-style fusions)


def _bracket_depth(text: str) -> int:
    """Every bracket character counts, in strings and comments too: an upper bound for bracket and
    f-string depth."""
    depth = deepest = 0
    for char in _BRACKETS.sub("", text):
        depth = depth + 1 if char in "([{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def screen(text: str, limits: dict[str, int]) -> list[str]:
    """The metrics whose cheap upper bound (str.count, one regex or one bracket scan over the whole
    file) reaches its limit: only a file with such a metric needs the tokenize pass. [] = safe."""
    bounds: dict[str, Callable[[], int]] = {
        "operators": lambda: sum(map(text.count, "+-*/%@<>&|^=!")) + len(_WORD_OPERATORS.findall(text)),
        "dots": lambda: text.count("."),
        "conditionals": lambda: len(_IF.findall(text)),
        "elifs": lambda: len(_ELIF.findall(text)),
        "string_run": lambda: (text.count('"') + text.count("'")) // 2,
        "file_tokens": lambda: len(_TOKENISH.findall(text)) if len(text) > limits["file_tokens"] else 0,
        "bracket_depth": lambda: _bracket_depth(text),
        "fstring_depth": lambda: _bracket_depth(text),
    }
    flagged = [metric for metric, bound in bounds.items() if metric in limits and bound() > limits[metric]]
    if "unary_run" in limits:
        run = max(1, limits["unary_run"])
        if re.search(r"(?:[-+~]|\bnot\b)(?:\s*(?:[-+~]|\bnot\b)){%d}" % run, text):  # noqa: UP031
            flagged.append("unary_run")
    return flagged


def source_metrics(text: str) -> dict[str, Any]:
    """token_metrics plus expr_depth; a metric the tools cannot compute holds the error instead."""
    try:
        out: dict[str, Any] = dict(token_metrics(text))
    except (tokenize.TokenError, SyntaxError, RecursionError, MemoryError) as exc:
        out = {"tokenize_error": f"{type(exc).__name__}: {exc}"[:120]}
    try:
        out["expr_depth"] = expression_depth(ast.parse(text))
    except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:
        out["expr_depth"] = None
        out["ast_error"] = f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}"[:120]
    return out


# --------------------------------------------------------------------------------------------------
# One probe = one child process


@dataclasses.dataclass
class Limits:
    memory_mb: int
    time_limit: float
    budget_seconds: float
    budget_mb: float
    thread_stack_kb: int = 0  # 0: parse on the main thread; else in a thread with this stack size


@dataclasses.dataclass
class Probe:
    n: int
    outcome: str  # ok | rejected | internal | memory | timeout | crash | error
    detail: str = ""
    seconds: float = 0.0  # CPU seconds of the operation (backlint: of the whole process)
    wall: float = 0.0  # wall seconds of the whole child
    peak_mb: float = 0.0  # peak RSS of the child
    base_mb: float = 0.0  # RSS before the operation (imports and the module's text)
    size: int = 0  # bytes of the module
    lines: int = 0
    metrics: dict[str, Any] | None = None  # target "metrics": source_metrics of the module

    def within(self, limits: Limits) -> bool:
        return self.outcome == "ok" and self.seconds <= limits.budget_seconds and self.peak_mb <= limits.budget_mb

    def brief(self) -> str:
        what = self.outcome if not self.detail else f"{self.outcome}: {self.detail}"
        return f"N={self.n:,} {what} ({self.seconds:.2f} s, {self.peak_mb:.0f} MB)"


def _set_limits(memory_mb: int, cpu_seconds: float) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = max(1, math.ceil(cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    size = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size, size))


def _child(spec: dict[str, Any]) -> None:
    """Runs in the child: limits, build the module, run the target, print one JSON line."""
    _set_limits(spec["memory_mb"], spec["time_limit"])
    text = SHAPE_BY_NAME[spec["shape"]].build(spec["n"])
    target = spec["target"]
    if target == "backlint":
        path = Path(spec["dir"]) / "probe.py"
        path.write_text(text, encoding="utf-8")
        command = [sys.executable, "-m", "backlint", str(path), "--format", "json", "--no-cache", "-j", "1"]
        os.execv(sys.executable, [*command, "--select", "ALL"])
    operation: Callable[[], object]
    result: dict[str, Any] = {"outcome": "ok"}
    if target == "libcst":
        import libcst

        def operation() -> object:
            return libcst.parse_module(text)

    elif target == "ast":

        def operation() -> object:
            return ast.parse(text)

    elif target == "metrics":

        def operation() -> object:
            result["metrics"] = source_metrics(text)
            return None

    else:

        def operation() -> object:
            return sum(1 for _ in tokenize.generate_tokens(io.StringIO(text).readline))

    if spec.get("thread_stack_kb"):  # as in a language server's or a thread pool's worker thread
        import threading

        threading.stack_size(spec["thread_stack_kb"] * 1024)
        main_operation = operation
        outcome: list[BaseException] = []

        def in_thread() -> None:
            try:
                main_operation()
            except BaseException as exc:
                outcome.append(exc)

        def operation() -> object:
            thread = threading.Thread(target=in_thread)
            thread.start()
            thread.join()
            if outcome:
                raise outcome[0]
            return None

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        operation()
    except MemoryError:
        result = {"outcome": "memory", "detail": "MemoryError"}
    except (SyntaxError, RecursionError, ValueError, tokenize.TokenError) as exc:
        message = getattr(exc, "msg", None) or (str(exc).splitlines() or [""])[0]
        result = {"outcome": "rejected", "detail": f"{type(exc).__name__}: {message}"[:100]}
    except Exception as exc:  # libcst.ParserSyntaxError and anything else the parser raises
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        result = {"outcome": "rejected", "detail": f"{type(exc).__name__}: {first}"[:100]}
    result.update(seconds=time.process_time() - cpu, wall=time.perf_counter() - wall, base_kb=base)
    print(json.dumps(result), flush=True)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def run_probe(shape: Shape, n: int, target: str, limits: Limits) -> Probe:
    text = shape.build(n)
    probe = Probe(n, "error", size=len(text.encode()), lines=text.count("\n"))
    del text
    spec = {"shape": shape.name, "n": n, "target": target, "memory_mb": limits.memory_mb}
    spec.update(time_limit=limits.time_limit, thread_stack_kb=limits.thread_stack_kb)
    with tempfile.TemporaryDirectory(prefix="parser-limits-") as tmp:
        spec["dir"] = tmp
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        started = time.perf_counter()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            child = subprocess.Popen(
                [sys.executable, __file__, "--child", json.dumps(spec)], stdout=out, stderr=err, cwd=tmp, env=env
            )
            deadline = started + 3 * limits.time_limit + 10
            timed_out = False
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    child.kill()
                    pid, status, usage = os.wait4(child.pid, 0)
                    timed_out = True
                    break
                time.sleep(0.01)
            child.returncode = code = os.waitstatus_to_exitcode(status)
        probe.wall = time.perf_counter() - started
        probe.peak_mb = usage.ru_maxrss / 1024
        cpu = usage.ru_utime + usage.ru_stime
        stdout = out_path.read_text(errors="replace")
        stderr = err_path.read_text(errors="replace")
    if target == "backlint":
        return _backlint_outcome(probe, code, cpu, stdout, stderr, timed_out)
    result: dict[str, Any] = {}
    if stdout.strip():
        try:
            result = json.loads(stdout.strip().splitlines()[-1])
        except json.JSONDecodeError:
            result = {}
    if result:
        probe.outcome, probe.detail = result["outcome"], result.get("detail", "")
        probe.seconds, probe.base_mb = result["seconds"], result["base_kb"] / 1024
        probe.metrics = result.get("metrics")
    else:
        probe.seconds = cpu
        probe.outcome, probe.detail = _death(code, stderr, timed_out)
    return probe


def _death(code: int, stderr: str, timed_out: bool) -> tuple[str, str]:
    """What killed a child that printed no result."""
    if timed_out or code == -signal.SIGXCPU:
        return "timeout", "CPU limit" if not timed_out else "wall-clock limit"
    lines = stderr.strip().splitlines()
    tail = next((line for line in lines if "memory allocation" in line), lines[-1] if lines else "")[:100]
    if "memory allocation" in stderr or "MemoryError" in stderr or "Cannot allocate" in stderr:
        return "memory", tail or _signal_name(-code)
    if code < 0:
        return "crash", _signal_name(-code) + (f" ({tail})" if tail else "")
    return "error", f"exit {code}" + (f" ({tail})" if tail else "")


def _backlint_outcome(probe: Probe, code: int, cpu: float, stdout: str, stderr: str, timed_out: bool) -> Probe:
    probe.seconds = cpu
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        report = None
    if report is None:
        probe.outcome, probe.detail = _death(code, stderr, timed_out)
        return probe
    errors = [n["message"] for n in report.get("notices", []) if n.get("level") == "error"]
    notices = [n["message"] for n in report.get("notices", []) if n.get("level") != "error"]
    bl000 = [f["message"] for f in report.get("findings", []) if f.get("rule_id") == "BL000"]
    if code == 2 or errors:
        probe.outcome, probe.detail = "internal", (errors[0] if errors else f"exit {code}")[:100]
    elif bl000:
        probe.outcome, probe.detail = "rejected", "BL000 " + bl000[0][:90]
    elif notices:
        probe.outcome, probe.detail = "rejected", "notice: " + notices[0][:90]
    elif "Traceback" in stderr:
        probe.outcome, probe.detail = "internal", "traceback on stderr"
    else:
        probe.outcome = "ok"
    return probe


# --------------------------------------------------------------------------------------------------
# The search


@dataclasses.dataclass
class Search:
    target: str
    probes: dict[int, Probe] = dataclasses.field(default_factory=dict)
    max_ok: Probe | None = None  # the largest N that worked
    first_fail: Probe | None = None  # the smallest N above it that did not (None: none up to the cap)
    max_in_budget: Probe | None = None
    first_over_budget: Probe | None = None
    capped_by: str = ""  # why the ladder stopped without a failure

    def to_json(self) -> dict[str, Any]:
        def one(probe: Probe | None) -> dict[str, Any] | None:
            return dataclasses.asdict(probe) if probe else None

        return {
            "target": self.target,
            "max_ok": one(self.max_ok),
            "first_fail": one(self.first_fail),
            "max_in_budget": one(self.max_in_budget),
            "first_over_budget": one(self.first_over_budget),
            "capped_by": self.capped_by,
            "probes": [dataclasses.asdict(self.probes[n]) for n in sorted(self.probes)],
        }


@dataclasses.dataclass
class Settings:
    limits: Limits
    factor: int
    precision: float
    max_bytes: int
    log: Callable[[str], None]
    spot_tools: bool = False  # ast and tokenize only at libcst's boundaries, no search of their own


def _bisect(lo: int, hi: int, good: Callable[[int], bool], precision: float) -> tuple[int, int]:
    """lo is good, hi is not: narrow until hi/lo <= 1 + precision (or adjacent)."""
    while hi - lo > 1 and hi > lo * (1 + precision):
        mid = max(lo + 1, min(hi - 1, round(math.sqrt(lo * hi))))
        if good(mid):
            lo = mid
        else:
            hi = mid
    return lo, hi


def search(shape: Shape, target: str, settings: Settings, budget: bool, cap: int | None = None) -> Search:
    found = Search(target)
    cap = min(cap or shape.cap, shape.cap)

    def at(n: int) -> Probe:
        if n not in found.probes:
            found.probes[n] = probe = run_probe(shape, n, target, settings.limits)
            settings.log(f"  {shape.name:<22} {target:<9} {probe.brief()}")
        return found.probes[n]

    n = shape.start
    while True:
        probe = at(n)
        if probe.outcome != "ok":
            break
        if probe.size * settings.factor > settings.max_bytes:
            found.capped_by = f"module size cap ({settings.max_bytes:,} bytes)"
            break
        if n * settings.factor > cap:
            found.capped_by = f"N cap ({cap:,})"
            break
        n *= settings.factor
    ok = [m for m, p in found.probes.items() if p.outcome == "ok"]
    if not ok:
        found.first_fail = found.probes[min(found.probes)]
        return found
    failing = [m for m, p in found.probes.items() if p.outcome != "ok" and m > min(ok)]
    if failing:
        hi = min(failing)
        lo = max(m for m in ok if m < hi)
        lo, hi = _bisect(lo, hi, lambda m: at(m).outcome == "ok", settings.precision)
        found.max_ok, found.first_fail = found.probes[lo], found.probes[hi]
    else:
        found.max_ok = found.probes[max(ok)]
    if budget:
        inside = [m for m, p in found.probes.items() if p.within(settings.limits)]
        if inside:
            lo = max(inside)
            above = [m for m in found.probes if m > lo]
            if above:
                lo, hi = _bisect(lo, min(above), lambda m: at(m).within(settings.limits), settings.precision)
                found.first_over_budget = found.probes[hi]
            found.max_in_budget = found.probes[lo]
        else:
            found.first_over_budget = found.probes[min(found.probes)]
    return found


@dataclasses.dataclass
class ShapeResult:
    shape: Shape
    searches: dict[str, Search]
    precheck: dict[str, dict[str, Probe]]  # "ast"/"tokenize"/"metrics" -> {"budget": probe, "fail": probe}
    metrics: dict[str, dict[str, Any]]  # "budget" / "fail" -> source_metrics of libcst's boundary modules

    def to_json(self) -> dict[str, Any]:
        return {
            "shape": self.shape.name,
            "title": self.shape.title,
            "unit": self.shape.unit,
            "metric": self.shape.metric,
            "searches": {name: s.to_json() for name, s in self.searches.items()},
            "precheck_cost": {
                tool: {where: dataclasses.asdict(p) for where, p in probes.items()}
                for tool, probes in self.precheck.items()
            },
            "metrics_at_libcst_boundaries": self.metrics,
        }


def measure_shape(shape: Shape, targets: list[str], settings: Settings) -> ShapeResult:
    searches: dict[str, Search] = {}
    cap = None
    for target in sorted(targets, key=lambda t: t != "libcst"):
        if settings.spot_tools and target in ("ast", "tokenize") and "libcst" in targets:
            searches[target] = Search(target)
            continue
        searches[target] = search(shape, target, settings, budget=target in ("libcst", "backlint"), cap=cap)
        if target == "libcst":
            # The pre-check tools only matter up to a little past libcst's own boundary.
            boundary = searches[target].first_fail or searches[target].max_ok
            cap = 4 * boundary.n if boundary else None
    precheck: dict[str, dict[str, Probe]] = {}
    metrics: dict[str, dict[str, Any]] = {}
    libcst_search = searches.get("libcst")
    if libcst_search:
        points = {"budget": libcst_search.max_in_budget, "fail": libcst_search.first_fail}
        for where, probe in points.items():
            if probe is None:
                continue
            measured = run_probe(shape, probe.n, "metrics", settings.limits)
            settings.log(f"  {shape.name:<22} {'metrics':<9} {measured.brief()} (at libcst's {where})")
            metrics[where] = measured.metrics or {"error": f"{measured.outcome}: {measured.detail}"}
            if shape.metric == "fstring_depth" and not hasattr(tokenize, "FSTRING_START"):
                # Before 3.12 tokenize sees no f-string nesting (and ast rejects reused quotes): N itself.
                metrics[where]["fstring_depth"] = probe.n
            precheck.setdefault("metrics", {})[where] = measured
            for tool in ("ast", "tokenize"):
                if tool in searches:
                    known = searches[tool].probes.get(probe.n)
                    if known is None:
                        known = run_probe(shape, probe.n, tool, settings.limits)
                        searches[tool].probes[probe.n] = known
                        settings.log(f"  {shape.name:<22} {tool:<9} {known.brief()} (at libcst's {where})")
                    precheck.setdefault(tool, {})[where] = known
    return ShapeResult(shape, searches, precheck, metrics)


# --------------------------------------------------------------------------------------------------
# Real code: the pre-check's cost and the metrics' maxima on Django and SQLAlchemy


def corpus_files() -> list[Path]:
    import importlib.util

    files: list[Path] = []
    for package in ("django", "sqlalchemy"):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            files += sorted(Path(location).rglob("*.py"))
    return files


def measure_corpus(files: list[Path], limits: dict[str, int], log: Callable[[str], None]) -> dict[str, Any]:
    """CPU seconds of the screen, tokenize, ast.parse, the ast depth walk and libcst over the files;
    the files the screen sends to the tokenize pass; the maxima of every metric."""
    import libcst

    keys = ("screen", "tokenize_metrics", "tokenize_metrics_flagged", "ast_parse", "ast_depth", "libcst")
    spent = dict.fromkeys(keys, 0.0)
    maxima: dict[str, tuple[int, str]] = {}
    flagged: dict[str, int] = {}
    flagged_files = flagged_bytes = size = 0
    clock = time.process_time
    for number, path in enumerate(files):
        if number % 200 == 0:
            log(f"  corpus {number}/{len(files)}")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        size += len(text.encode())
        t0 = clock()
        reasons = screen(text, limits)
        t1 = clock()
        try:
            values = token_metrics(text)
        except (tokenize.TokenError, SyntaxError):
            values = {}
        t2 = clock()
        try:
            tree = ast.parse(text)
        except SyntaxError:
            tree = None
        t3 = clock()
        if tree is not None:
            values["expr_depth"] = expression_depth(tree)
        t4 = clock()
        with contextlib.suppress(Exception):  # a file libcst rejects costs its time all the same
            libcst.parse_module(text)
        t5 = clock()
        for key, spent_time in zip(
            ("screen", "tokenize_metrics", "ast_parse", "ast_depth", "libcst"),
            (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4),
        ):
            spent[key] += spent_time
        if reasons:
            flagged_files += 1
            flagged_bytes += len(text.encode())
            spent["tokenize_metrics_flagged"] += t2 - t1
            for reason in reasons:
                flagged[reason] = flagged.get(reason, 0) + 1
        for key, value in values.items():
            if value > maxima.get(key, (-1, ""))[0]:
                maxima[key] = (value, str(path))
    base = os.path.commonpath([str(p) for p in files]) if files else ""
    return {
        "files": len(files),
        "bytes": size,
        "cpu_seconds": spent,
        "screen": {"limits": limits, "flagged_files": flagged_files, "flagged_bytes": flagged_bytes, "by": flagged},
        "maxima": {k: {"value": v, "file": os.path.relpath(p, base)} for k, (v, p) in maxima.items()},
    }


# --------------------------------------------------------------------------------------------------
# Report


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def environment(limits: Limits, settings: Settings, quick: bool) -> dict[str, Any]:
    stack = resource.getrlimit(resource.RLIMIT_STACK)[0]
    if limits.thread_stack_kb:
        stack_text = f"{limits.thread_stack_kb} KB (parsing in a thread)"
    else:
        stack_text = "unlimited" if stack == resource.RLIM_INFINITY else f"{stack // 1024} KB"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "libcst": _version("libcst"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "stack_limit": stack_text,
        "memory_cap_mb": limits.memory_mb,
        "time_limit_s": limits.time_limit,
        "budget": {"cpu_seconds": limits.budget_seconds, "peak_mb": limits.budget_mb},
        "ladder_factor": settings.factor,
        "precision": settings.precision,
        "max_bytes": settings.max_bytes,
        "mode": "quick" if quick else "full",
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cell(probe: Probe | None, unit: str = "") -> str:
    if probe is None:
        return "–"
    return f"{probe.n:,}{unit} ({_kb(probe.size)}, {probe.seconds:.2f} s, {probe.peak_mb:.0f} MB)"


def _kb(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


def _beyond(search_: Search) -> str:
    if search_.first_fail is None:
        return f"no failure ({search_.capped_by})" if search_.capped_by else "–"
    p = search_.first_fail
    detail = f"{p.outcome}: {p.detail}" if p.detail else p.outcome
    return f"N={p.n:,}: {detail}"


def _accepts(search_: Search | None) -> str:
    if search_ is None:
        return "–"
    if search_.first_fail is None:
        return f"all (to {search_.max_ok.n:,})" if search_.max_ok else "–"
    largest = search_.max_ok.n if search_.max_ok else 0
    return f"≤ {largest:,}; {search_.first_fail.outcome}: {search_.first_fail.detail}"[:90]


def propose_limits(results: list[ShapeResult]) -> dict[str, dict[str, Any]]:
    """Per metric: the lowest value, over the shapes it governs, of min(budget boundary, crash / 2)."""
    out: dict[str, dict[str, Any]] = {}
    for result in results:
        metric = result.shape.metric
        found = result.searches.get("libcst")
        if found is None or (found.first_fail is None and found.first_over_budget is None):
            continue  # nothing went wrong up to the cap: no limit needed for this shape
        failure = found.first_fail.outcome if found.first_fail else "over budget"
        at_budget = result.metrics.get("budget", {}).get(metric)
        at_fail = result.metrics.get("fail", {}).get(metric)
        candidates = []
        if isinstance(at_budget, int):
            candidates.append(at_budget)
        if isinstance(at_fail, int):
            candidates.append(at_fail // 2)
        if not candidates:
            continue
        value = _round_down(min(candidates))
        entry = out.setdefault(metric, {"limit": value, "shape": result.shape.name, "failure": failure, "shapes": []})
        entry["shapes"].append(
            {"shape": result.shape.name, "at_budget": at_budget, "at_fail": at_fail, "failure": failure}
        )
        if value < entry["limit"]:
            entry["limit"], entry["shape"], entry["failure"] = value, result.shape.name, failure
    return out


def _round_down(value: int) -> int:
    """To 1, 2 or 5 times a power of ten: a limit people can remember."""
    if value <= 0:
        return 0
    power: int = 10 ** int(math.log10(value))
    for step in (5, 2, 1):
        if value >= step * power:
            return int(step * power)
    return power


def markdown(
    env: dict[str, Any],
    results: list[ShapeResult],
    corpus: dict[str, Any] | None,
    stacks: dict[tuple[str, int], Search] | None = None,
) -> str:
    out: list[str] = []
    write = out.append
    write("# libcst parser limits\n")
    write(
        f"Measured by `benchmarks/parser_limits.py` ({env['mode']} mode) on {env['date']}: libcst **{env['libcst']}**, "
        f"Python {env['python']}, {env['platform']}, {env['cpus']} × {env['cpu_model']}, stack "
        f"{env['stack_limit']}. Each probe is a child process under RLIMIT_AS = {env['memory_cap_mb']} MB, "
        f"RLIMIT_CPU = {env['time_limit_s']:g} s; budget = {env['budget']['cpu_seconds']:g} s CPU and "
        f"{env['budget']['peak_mb']:g} MB peak RSS; N grows ×{env['ladder_factor']}, boundaries bisected to "
        f"{env['precision']:.0%}, modules capped at {_kb(env['max_bytes'])}. Times are CPU seconds of the "
        "operation alone (backlint: of the whole process, start-up included); memory is the child's peak RSS, "
        "imports included (about 25 MB for ast/tokenize, 30 MB with libcst, 60 MB for backlint).\n"
    )
    write("## libcst.parse_module\n")
    write("Cells: N (module size, CPU time, peak RSS).\n")
    write("| shape | N counts | largest N within budget | largest N that parses | beyond |")
    write("|---|---|---|---|---|")
    for r in results:
        s = r.searches.get("libcst")
        if s:
            write(f"| {r.shape.title} | {r.shape.unit} | {_cell(s.max_in_budget)} | {_cell(s.max_ok)} | {_beyond(s)} |")
    if any(r.precheck for r in results):
        write("\n## What the pre-check tools accept, and what they cost at libcst's boundaries\n")
        write(
            "`ast` = `ast.parse`; `tokenize` = a full `tokenize.generate_tokens` pass (pure Python before 3.12); "
            "`metrics` = the prototype `source_metrics` (tokenize pass + ast parse + depth walk). Accepts: the "
            "largest N that passes (searched up to 4 × libcst's boundary). Cost: CPU seconds and peak MB on the "
            "module at libcst's budget boundary / at its first failure.\n"
        )
        write("| shape | ast accepts N | tokenize accepts N | ast cost | tokenize cost | metrics cost |")
        write("|---|---|---|---|---|---|")
        for r in results:
            costs = []
            for tool in ("ast", "tokenize", "metrics"):
                probes = r.precheck.get(tool, {})
                costs.append(
                    " / ".join(
                        f"{p.seconds:.2f} s {p.peak_mb:.0f} MB" + ("" if p.outcome == "ok" else f" ({p.outcome})")
                        for p in (probes.get("budget"), probes.get("fail"))
                        if p is not None
                    )
                    or "–"
                )
            write(
                f"| {r.shape.name} | {_accepts(r.searches.get('ast'))} | {_accepts(r.searches.get('tokenize'))} | "
                f"{' | '.join(costs)} |"
            )
    if any("backlint" in r.searches for r in results):
        write("\n## backlint's per-file stage today (`python -m backlint FILE --select ALL -j 1`)\n")
        write("| shape | largest N linted | first N not linted | largest N within budget |")
        write("|---|---|---|---|")
        for r in results:
            s = r.searches.get("backlint")
            if s:
                write(f"| {r.shape.name} | {_cell(s.max_ok)} | {_beyond(s)} | {_cell(s.max_in_budget)} |")
    if stacks:
        sizes = sorted({kb for _, kb in stacks})
        write("\n## The crashes depend on the stack size\n")
        write(
            "The shapes whose libcst failure above is a crash, parsed again in a thread with the given stack "
            "(`threading.stack_size`; 512 KB is a macOS secondary thread's default, Windows gives its main "
            "thread 1 MB). Cells: largest N that parses → what the next N did.\n"
        )
        write("| shape | main thread | " + " | ".join(f"{kb:,} KB thread" for kb in sizes) + " |")
        write("|---" * (len(sizes) + 2) + "|")
        for r in results:
            if not any(shape == r.shape.name for shape, _ in stacks):
                continue
            cells = [_stack_cell(r.searches["libcst"])]
            cells += [_stack_cell(stacks[(r.shape.name, kb)]) if (r.shape.name, kb) in stacks else "–" for kb in sizes]
            write(f"| {r.shape.name} | " + " | ".join(cells) + " |")
    write("\n## The shapes in the pre-check's units\n")
    write(
        "Metric values of the module at libcst's budget boundary and at its first failure, "
        "as `source_metrics` computes them (one tokenize pass + an iterative ast walk).\n"
    )
    write("| shape | metric | at budget boundary | at first failure | ast.parse rejects from N |")
    write("|---|---|---|---|---|")
    for r in results:
        b = r.metrics.get("budget", {}).get(r.shape.metric, "–")
        f = r.metrics.get("fail", {}).get(r.shape.metric, "–")
        ast_search = r.searches.get("ast")
        rejects = f"{ast_search.first_fail.n:,}" if ast_search and ast_search.first_fail else "–"
        write(f"| {r.shape.name} | {r.shape.metric} | {_num(b)} | {_num(f)} | {rejects} |")
    limits = propose_limits(results)
    write("\n## Proposed pre-check limits\n")
    write(
        "Per metric, the lowest over the shapes it governs of min(value at the budget boundary, half the value "
        "at the first failure), rounded down to 1/2/5 × 10^k. Corpus maximum: the installed Django and "
        "SQLAlchemy (must sit far below).\n"
    )
    write("| metric | how it is measured | proposed limit | set by (libcst's failure there) | corpus maximum |")
    write("|---|---|---|---|---|")
    maxima = (corpus or {}).get("maxima", {})
    for metric, entry in sorted(limits.items()):
        top = maxima.get(metric)
        corpus_cell = f"{top['value']:,} (`{top['file']}`)" if top else "–"
        setter = f"{entry['shape']} ({entry['failure']})"
        write(f"| {metric} | {METRIC_DOC[metric]} | {entry['limit']:,} | {setter} | {corpus_cell} |")
    fine = [
        r.shape.name
        for r in results
        if "libcst" in r.searches
        and r.searches["libcst"].first_fail is None
        and r.searches["libcst"].first_over_budget is None
    ]
    if fine:
        write(f"\nNo limit needed (nothing failed up to the module cap): {', '.join(fine)}.")
    if corpus:
        spent = corpus["cpu_seconds"]
        screened = corpus["screen"]
        write("\n## Cost of the pre-check on real code\n")
        write(
            f"{corpus['files']:,} files, {_kb(corpus['bytes'])} (installed Django and SQLAlchemy), CPU seconds in "
            "one process. Screen: `screen()`, upper bounds of each metric from `str.count`, two regexes and a "
            "bracket scan over the whole text; only the files where a bound reaches its proposed limit need the "
            "tokenize pass.\n"
        )
        write("| screen | tokenize + metrics, all files | … flagged files only | ast.parse | ast depth walk | libcst |")
        write("|---|---|---|---|---|---|")
        write(
            f"| {spent['screen']:.2f} s | {spent['tokenize_metrics']:.2f} s | "
            f"{spent['tokenize_metrics_flagged']:.2f} s | {spent['ast_parse']:.2f} s | {spent['ast_depth']:.2f} s | "
            f"{spent['libcst']:.2f} s |"
        )
        by = ", ".join(f"{metric} {count}" for metric, count in sorted(screened["by"].items())) or "none"
        write(
            f"\nThe screen flags {screened['flagged_files']:,} of {corpus['files']:,} files "
            f"({_kb(screened['flagged_bytes'])} of {_kb(corpus['bytes'])}); by metric: {by}.\n"
        )
        write("| metric | corpus maximum | file |")
        write("|---|---|---|")
        for metric in METRICS:
            if metric in maxima:
                write(f"| {metric} | {maxima[metric]['value']:,} | `{maxima[metric]['file']}` |")
    return "\n".join(out) + "\n"


def _stack_cell(found: Search) -> str:
    top = f"{found.max_ok.n:,}" if found.max_ok else "–"
    if found.first_fail is None:
        return f"{top} (no failure: {found.capped_by})"
    return f"{top} → {found.first_fail.outcome}" + (
        f" ({found.first_fail.detail[:40]})" if found.first_fail.detail else ""
    )


def stack_sweep(results: list[ShapeResult], settings: Settings, sizes: list[int]) -> dict[tuple[str, int], Search]:
    """libcst again, in a thread of each stack size, for the shapes whose failure was a crash."""
    out: dict[tuple[str, int], Search] = {}
    for result in results:
        found = result.searches.get("libcst")
        if not sizes or found is None or found.first_fail is None or found.first_fail.outcome != "crash":
            continue
        for kb in sizes:
            limits = dataclasses.replace(settings.limits, thread_stack_kb=kb)
            settings.log(f"{result.shape.name} in a {kb} KB thread")
            out[(result.shape.name, kb)] = search(
                result.shape, "libcst", dataclasses.replace(settings, limits=limits), False
            )
    return out


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


# --------------------------------------------------------------------------------------------------


def main(argv: Iterable[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["--child"]:
        _child(json.loads(args_list[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: x4 steps, 25%% precision, 512 MB / 3 s limits and half the budget, 2 MB modules, "
        "ast/tokenize only at libcst's boundaries, 1/40 of the corpus",
    )
    parser.add_argument("--shapes", help="comma-separated shape names (default: all)")
    parser.add_argument("--targets", help="comma-separated, of " + ",".join(TARGETS))
    parser.add_argument("--memory-mb", type=int, help="RLIMIT_AS of each probe (default 1024, quick 512)")
    parser.add_argument("--time-limit", type=float, help="CPU seconds per probe (default 20, quick 3)")
    parser.add_argument("--budget-seconds", type=float, help="default 5, quick 2.5")
    parser.add_argument("--budget-mb", type=float, help="default 500, quick 250")
    parser.add_argument("--precision", type=float, help="relative width of a bisected boundary (default 0.05)")
    parser.add_argument("--max-bytes", type=int, help="largest module tried (default 16 MB, quick 2 MB)")
    parser.add_argument("--no-corpus", action="store_true", help="skip the Django/SQLAlchemy pre-check costs")
    parser.add_argument(
        "--stack-sweep",
        help="after the main run, parse the shapes that crashed again in threads of these stack sizes, in KB "
        "(default 512,65536; quick: none)",
    )
    parser.add_argument(
        "--thread-stack-kb", type=int, default=0, help="parse in a thread with this stack (macOS threads: 512)"
    )
    parser.add_argument("--json", type=Path, help="write every probe here")
    parser.add_argument("--markdown", type=Path, help="write the report here instead of stdout")
    args = parser.parse_args(args_list)
    quick = args.quick
    limits = Limits(
        memory_mb=args.memory_mb or (512 if quick else 1024),
        time_limit=args.time_limit or (3.0 if quick else 20.0),
        budget_seconds=args.budget_seconds or (2.5 if quick else 5.0),
        budget_mb=args.budget_mb or (250.0 if quick else 500.0),
        thread_stack_kb=args.thread_stack_kb,
    )
    names = args.shapes.split(",") if args.shapes else [s.name for s in SHAPES]
    unknown = [n for n in names if n not in SHAPE_BY_NAME]
    targets = args.targets.split(",") if args.targets else (["libcst", "ast", "tokenize"] if quick else list(TARGETS))
    unknown += [t for t in targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown shape or target: {', '.join(unknown)}")

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    settings = Settings(
        limits=limits,
        factor=4 if quick else 2,
        precision=args.precision or (0.25 if quick else 0.05),
        max_bytes=args.max_bytes or ((2 if quick else 16) * 1024 * 1024),
        log=log,
        spot_tools=quick,
    )
    if args.stack_sweep is None and not quick:
        args.stack_sweep = "512,65536"
    env = environment(limits, settings, quick)
    started = time.perf_counter()
    results = []
    for name in names:
        log(f"{name} ({time.perf_counter() - started:.0f} s)")
        results.append(measure_shape(SHAPE_BY_NAME[name], targets, settings))
    stacks = stack_sweep(
        results, settings, [int(kb) for kb in args.stack_sweep.split(",") if kb] if args.stack_sweep else []
    )
    corpus = None
    if not args.no_corpus:
        files = corpus_files()
        if quick:
            files = files[::40]
        log(f"corpus: {len(files)} files")
        proposed = {metric: entry["limit"] for metric, entry in propose_limits(results).items()}
        corpus = measure_corpus(files, proposed, log) if files else None
    env["seconds"] = round(time.perf_counter() - started)
    report = markdown(env, results, corpus, stacks)
    report += f"\nThe run took {env['seconds']} s of wall-clock time.\n"
    if args.markdown:
        args.markdown.write_text(report, encoding="utf-8")
    else:
        sys.stdout.write(report)
    if args.json:
        data = {
            "environment": env,
            "shapes": [r.to_json() for r in results],
            "proposed_limits": propose_limits(results),
            "corpus": corpus,
            "stack_sweep": {f"{shape}@{kb}": found.to_json() for (shape, kb), found in stacks.items()},
        }
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    log(f"done in {env['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
