#!/usr/bin/env python3
"""Run this checkout's backlint on the real-app corpus and measure its precision against the triage.

    python benchmarks/corpus/triage.py [--set tuning|holdout|all] [--apps a,b] [--batch N] [--select ALL]
                                       [--json] [--write-untriaged FILE] [--jobs 2] [--workdir DIR]
                                       [--summary-only] [--reveal-holdout]

For each app of ``apps.toml`` (fetched with ``fetch.py`` first; offline once fetched) it runs
``python -m backlint check PATHS --format json --no-cache`` with the ``backlint`` package of this
checkout (``PYTHONPATH`` is set to it), the default rules (``--select ALL``: every rule), and the
current directory at the app's unpacked root, one app at a time.

Every finding gets a line-free key: app, rule id, path relative to the app's root, the flagged
source text with whitespace collapsed (all flagged lines when the span has at most
``MAX_SPAN_LINES`` lines, else its first line; string literals masked for the secret and password
rules BL2xx/BL3xx, so that no secret is written into the repository), and the occurrence index
among findings with the same key so far (in line order). No line number and no message text is
part of the key, so edits elsewhere in a file and rewording a message keep it.

The committed triage files ``triage/tuning.toml`` and ``triage/holdout.toml`` hold one
``[[finding]]`` per key with ``verdict = "tp" | "fp"`` and a one-line ``reason`` (``at`` and
``message`` are for readers only). The report gives, per set:

- per-app run time (wall and CPU seconds) and finding counts;
- per-rule and overall precision tp/(tp+fp) over the findings present now, for the rules on by
  default, and in a separate section (only with ``--select ALL``) for the rules off by default;
- untriaged findings (path:line, rule, message), to triage;
- triaged false alarms still present;
- triaged true findings that vanished: must be none. A true finding of a rule that did not run
  (off by default without ``--select ALL``) is listed apart and does not count.

Apps join the corpus in batches (``batch`` in ``apps.toml``, absent = 1): ``--batch N`` runs only
the apps of batch N, and a run over several batches also gives each batch's precision apart (a
later batch's holdout apps are the ones nobody has read yet).

Holdout apps are for measuring only: their findings are listed only with ``--reveal-holdout``
(for the corpus owner); everyone else gets their counts and precision.

Exit codes: 0 no triaged true finding vanished; 1 some did; 2 usage, configuration or run error.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older interpreters only
    import tomli as tomllib

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fetch import (  # a script beside this one, not a package
    App,
    CorpusError,
    default_workdir,
    fetch,
    load_apps,
    select_apps,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TRIAGE_DIR = HERE / "triage"
SETS = ("tuning", "holdout")
VERDICTS = ("tp", "fp")
MAX_SPAN_LINES = 4
MAX_CODE_CHARS = 300
MESSAGE_EXCERPT = 120
CONFIG_NAME = ".backlint-corpus.toml"
KEY_FIELDS = ("app", "rule", "path", "code", "occurrence")

Key = tuple[str, str, str, str, int]


# --------------------------------------------------------------------------- keys


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces, trimmed."""
    return " ".join(text.split())


_LITERAL = re.compile(r"""(?P<prefix>[rRbBuUfF]{0,2})(?P<q>'''|\"\"\"|'|")(?P<body>.*?)(?P=q)""")
_OPENER = re.compile(r"""'''|\"\"\"|'|\"""")
_MASKED = re.compile(r".{0,4}…\(\d+ chars\)")


def mask_secret(value: str) -> str:
    """Like backlint's own masking: nothing shown below 12 characters, else at most a sixth (≤ 4)."""
    visible = 0 if len(value) < 12 else min(4, len(value) // 6)
    return f"{value[:visible]}…({len(value)} chars)"


def mask_literals(code: str) -> str:
    """Every string literal body of 4 characters or more replaced by its masked form."""

    def repl(m: re.Match[str]) -> str:
        body = m.group("body")
        if len(body) < 4 or _MASKED.fullmatch(body):
            return m.group(0)
        return f"{m.group('prefix')}{m.group('q')}{mask_secret(body)}{m.group('q')}"

    masked = _LITERAL.sub(repl, code)
    # A literal left open on this line (a triple-quoted block starting here) is masked to its end.
    rest = 0
    for m in _LITERAL.finditer(masked):
        rest = m.end()
    opener = _OPENER.search(masked, rest)
    if opener is None:
        return masked
    tail = masked[opener.end() :]
    if len(tail) < 4 or _MASKED.fullmatch(tail):
        return masked
    return masked[: opener.end()] + mask_secret(tail)


def is_secret_rule(rule: str) -> bool:
    """Secret (BL2xx) and password (BL3xx) rules: their flagged lines may hold a credential."""
    return rule.startswith(("BL2", "BL3"))


def key_code(lines: Sequence[str], line: int, end_line: int, rule: str) -> str:
    """The normalised flagged text for the key (1-based, inclusive line numbers)."""
    if line < 1 or line > len(lines):
        return ""
    end = max(line, min(end_line, len(lines)))
    if end - line + 1 > MAX_SPAN_LINES:
        end = line
    code = normalise(" ".join(lines[line - 1 : end]))
    if is_secret_rule(rule):
        code = mask_literals(code)
    if len(code) > MAX_CODE_CHARS:
        code = code[:MAX_CODE_CHARS] + "…"
    return code


@dataclass
class Finding:
    app: str
    rule: str
    path: str
    line: int
    column: int
    end_line: int
    message: str
    code: str
    occurrence: int = 0

    @property
    def key(self) -> Key:
        return (self.app, self.rule, self.path, self.code, self.occurrence)

    @property
    def at(self) -> str:
        return f"{self.path}:{self.line}"


def assign_occurrences(findings: Iterable[Finding]) -> list[Finding]:
    """Sort by place and number findings that share app, rule, path and code: 0, 1, 2, …"""
    ordered = sorted(findings, key=lambda f: (f.app, f.path, f.line, f.column, f.rule, f.code))
    seen: Counter[tuple[str, str, str, str]] = Counter()
    for f in ordered:
        base = (f.app, f.rule, f.path, f.code)
        f.occurrence = seen[base]
        seen[base] += 1
    return ordered


def findings_from_report(app: str, report: dict[str, Any], root: Path) -> list[Finding]:
    """Findings of one backlint JSON report, keyed against the files under root."""
    cache: dict[str, list[str]] = {}
    out = []
    for item in report.get("findings", []):
        path = str(item["path"])
        if path not in cache:
            try:
                text = (root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            cache[path] = text.splitlines()
        line = int(item.get("line") or 0)
        end_line = int(item.get("end_line") or line)
        rule = str(item["rule_id"])
        out.append(
            Finding(
                app=app,
                rule=rule,
                path=path,
                line=line,
                column=int(item.get("column") or 0),
                end_line=end_line,
                message=str(item.get("message", "")),
                code=key_code(cache[path], line, end_line, rule),
            )
        )
    return assign_occurrences(out)


# --------------------------------------------------------------------------- triage files


class TriageError(Exception):
    """A malformed triage file (reported with its location, exit 2)."""


@dataclass
class Entry:
    app: str
    rule: str
    path: str
    code: str
    occurrence: int
    verdict: str
    reason: str
    at: str = ""
    message: str = ""

    @property
    def key(self) -> Key:
        return (self.app, self.rule, self.path, self.code, self.occurrence)


def parse_triage(text: str, source: str, apps_of_set: set[str] | None = None) -> dict[Key, Entry]:
    """Entries of one triage file by key; every mistake is a TriageError naming the entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TriageError(f"{source}: {exc}") from exc
    entries: dict[Key, Entry] = {}
    for i, raw in enumerate(data.get("finding", [])):
        where = f"{source}: finding #{i + 1}"
        missing = [k for k in (*KEY_FIELDS, "verdict", "reason") if k not in raw]
        if missing:
            raise TriageError(f"{where}: missing {', '.join(missing)}")
        if not isinstance(raw["occurrence"], int) or raw["occurrence"] < 0:
            raise TriageError(f"{where}: occurrence must be an integer >= 0")
        entry = Entry(
            app=str(raw["app"]),
            rule=str(raw["rule"]),
            path=str(raw["path"]),
            code=str(raw["code"]),
            occurrence=raw["occurrence"],
            verdict=str(raw["verdict"]),
            reason=str(raw["reason"]),
            at=str(raw.get("at", "")),
            message=str(raw.get("message", "")),
        )
        if entry.verdict not in (*VERDICTS, ""):
            raise TriageError(f"{where} ({entry.at}): verdict must be 'tp' or 'fp', got {entry.verdict!r}")
        if entry.verdict and not entry.reason.strip():
            raise TriageError(f"{where} ({entry.at}): a verdict needs a one-line reason")
        if apps_of_set is not None and entry.app not in apps_of_set:
            raise TriageError(f"{where}: app {entry.app!r} is not an app of this set")
        if entry.key in entries:
            raise TriageError(f"{where} ({entry.at}): duplicate key (same app, rule, path, code, occurrence)")
        entries[entry.key] = entry
    return entries


def load_triage(set_name: str, apps: Sequence[App], directory: Path = TRIAGE_DIR) -> dict[Key, Entry]:
    path = directory / f"{set_name}.toml"
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TriageError(f"{path}: {exc}") from exc
    return parse_triage(text, path.name, {a.name for a in apps if a.set == set_name})


def toml_str(value: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def stub(f: Finding, verdict: str = "", reason: str = "") -> str:
    return "\n".join(
        [
            "[[finding]]",
            f"app = {toml_str(f.app)}",
            f"rule = {toml_str(f.rule)}",
            f"path = {toml_str(f.path)}",
            f"code = {toml_str(f.code)}",
            f"occurrence = {f.occurrence}",
            f"verdict = {toml_str(verdict)}",
            f"reason = {toml_str(reason)}",
            f"at = {toml_str(f.at)}",
            f"message = {toml_str(excerpt(f.message))}",
            "",
        ]
    )


def excerpt(message: str, limit: int = MESSAGE_EXCERPT) -> str:
    message = normalise(message)
    return message if len(message) <= limit else message[: limit - 1] + "…"


# --------------------------------------------------------------------------- comparison


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    untriaged: int = 0

    @property
    def precision(self) -> float | None:
        judged = self.tp + self.fp
        return self.tp / judged if judged else None

    def as_dict(self) -> dict[str, Any]:
        p = self.precision
        return {
            "tp": self.tp,
            "fp": self.fp,
            "untriaged": self.untriaged,
            "precision": None if p is None else round(p, 4),
        }


@dataclass
class Comparison:
    """What the findings of one run say against one set's triage."""

    by_rule: dict[str, dict[str, Tally]] = field(default_factory=lambda: {"default": {}, "opt_in": {}})
    untriaged: list[Finding] = field(default_factory=list)
    fp_present: list[tuple[Finding, Entry]] = field(default_factory=list)
    vanished_tp: list[Entry] = field(default_factory=list)
    tp_not_run: list[Entry] = field(default_factory=list)
    fp_gone: int = 0

    def overall(self, section: str) -> Tally:
        total = Tally()
        for t in self.by_rule[section].values():
            total.tp += t.tp
            total.fp += t.fp
            total.untriaged += t.untriaged
        return total


def compare(
    findings: Sequence[Finding],
    entries: dict[Key, Entry],
    apps_run: set[str],
    rules_run: set[str],
    default_rules: set[str],
) -> Comparison:
    """Judge the present findings by the triage; find triaged true findings that vanished.

    ``apps_run``: apps linted in this run (entries of other apps are not judged);
    ``rules_run``: rules enabled in this run; ``default_rules``: rules on by default (the others
    are reported in the ``opt_in`` section).
    """
    cmp = Comparison()
    present: set[Key] = set()
    for f in findings:
        present.add(f.key)
        section = "default" if f.rule in default_rules else "opt_in"
        tally = cmp.by_rule[section].setdefault(f.rule, Tally())
        entry = entries.get(f.key)
        if entry is None or not entry.verdict:
            tally.untriaged += 1
            cmp.untriaged.append(f)
        elif entry.verdict == "tp":
            tally.tp += 1
        else:
            tally.fp += 1
            cmp.fp_present.append((f, entry))
    for key, entry in entries.items():
        if entry.app not in apps_run or key in present:
            continue
        if entry.verdict == "tp":
            (cmp.vanished_tp if entry.rule in rules_run else cmp.tp_not_run).append(entry)
        elif entry.verdict == "fp" and entry.rule in rules_run:
            cmp.fp_gone += 1
    return cmp


# --------------------------------------------------------------------------- measured precision

_MEASURED_LINE = re.compile(r"^measured = .*$", re.MULTILINE)
_PRECISION_LINE = re.compile(r"^precision = .*$", re.MULTILINE)


def per_rule(cmp: Comparison) -> dict[str, Tally]:
    """A set's tallies by rule, default and opt-in rules together."""
    return {rule: t for section in cmp.by_rule.values() for rule, t in section.items()}


def measured_line(counts: dict[str, Tally], date: str, commit: str) -> str:
    """A rule's ``measured`` field (backlint/core/catalog.py reads it): true findings over triaged ones per set."""
    sets = [f"{name} = {{ tp = {t.tp}, all = {t.tp + t.fp} }}" for name, t in counts.items()]
    return "measured = { " + ", ".join([f'date = "{date}"', f'commit = "{commit}"', *sets]) + " }"


def with_measured(text: str, line: str) -> str:
    """A rule file's text with its ``measured`` line replaced, or added after its ``precision`` line."""
    if _MEASURED_LINE.search(text):
        return _MEASURED_LINE.sub(lambda _: line, text, count=1)
    if not _PRECISION_LINE.search(text):
        raise ValueError("no precision line to put the measured line after")
    return _PRECISION_LINE.sub(lambda m: m.group(0) + "\n" + line, text, count=1)


def write_precision(
    by_set: dict[str, dict[str, Tally]], rules_run: Iterable[str], date: str, commit: str, rules_dir: Path
) -> list[str]:
    """Write every rule's measured precision into its catalog entry; the rule ids written.

    A rule without findings in a set is written as ``{ tp = 0, all = 0 }`` there: measured, and silent.
    """
    written = []
    for rule in sorted(rules_run):
        path = rules_dir / f"{rule}.toml"
        if not path.is_file():
            continue
        counts = {name: by_set[name].get(rule, Tally()) for name in SETS if name in by_set}
        text = path.read_text(encoding="utf-8")
        updated = with_measured(text, measured_line(counts, date, commit))
        if updated != text:
            path.write_text(updated, encoding="utf-8")
        written.append(rule)
    return written


def regenerate_rules_doc() -> None:
    """docs/rules.md shows the measured figures: generate it again from the catalog."""
    cmd = [sys.executable, "-m", "backlint", "rules", "--format", "markdown"]
    proc = subprocess.run(cmd, cwd=REPO, env=backlint_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RunError(f"backlint rules failed (is a measured line malformed?): {proc.stderr.strip()[-2000:]}")
    (REPO / "docs" / "rules.md").write_text(proc.stdout, encoding="utf-8")


# --------------------------------------------------------------------------- defaults earned by precision

BAR = 0.9  # a rule on by default is right at least 9 times in 10 ...
LEAST = 5  # ... where it has at least this many triaged findings; with fewer it keeps its default
# Rules that stay on by default whatever they measure: their findings must be brought to the bar,
# the rule is not turned off (benchmarks/corpus/README.md, "Defaults earned by precision").
KEPT_ON = frozenset(
    {"BL101", "BL102", "BL104", "BL201", "BL202", "BL204", "BL301", "BL302"}
    | {"BL401", "BL402", "BL403", "BL501", "BL601", "BL603"}
)


@dataclass(frozen=True)
class ShortOfBar:
    """A rule on by default whose committed measured precision is under the bar somewhere."""

    rule: str
    where: str  # a set's name, or "both sets" when neither set alone has LEAST findings
    tp: int
    total: int
    kept: bool  # in KEPT_ON: stays on, its false alarms are to be fixed

    def text(self) -> str:
        pct = round(100 * self.tp / self.total)
        then = "kept on by decision: fix its false alarms" if self.kept else "turn it off (enabled = false) or fix it"
        return f"{self.rule} is on by default at {pct} % ({self.tp}/{self.total}) on {self.where}: {then}"


def short_of_bar(rules_dir: Path) -> list[ShortOfBar]:
    """The rules on by default whose ``measured`` field (rules/BLxxx.toml) falls under ``BAR`` on a set
    with at least ``LEAST`` triaged findings, or on both sets together when neither has that many."""
    out: list[ShortOfBar] = []
    for path in sorted(rules_dir.glob("BL*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if not data.get("enabled", True) or not isinstance(data.get("measured"), dict):
            continue
        rule = str(data.get("id", path.stem))
        sets = [(name, c["tp"], c["all"]) for name, c in data["measured"].items() if isinstance(c, dict)]
        if not any(total >= LEAST for _, _, total in sets):
            sets = [("both sets", sum(tp for _, tp, _ in sets), sum(total for _, _, total in sets))]
        out += [
            ShortOfBar(rule, where, tp, total, rule in KEPT_ON)
            for where, tp, total in sets
            if total >= LEAST and tp < BAR * total
        ]
    return out


# --------------------------------------------------------------------------- running backlint


@dataclass
class Run:
    app: App
    findings: list[Finding]
    files: int
    wall: float
    cpu: float
    notices: list[dict[str, Any]]


class RunError(Exception):
    """backlint could not be run on an app, or its output was unusable."""


def write_config(app: App, root: Path) -> Path:
    """A dedicated config at the app's root: the root is the project root, vendored code excluded."""
    path = root / CONFIG_NAME
    lines = ["# written by benchmarks/corpus/triage.py"]
    if app.exclude:
        lines.append("extend-exclude = [" + ", ".join(toml_str(e) for e in app.exclude) + "]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def backlint_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("NO_COLOR", None)
    return env


def run_app(app: App, root: Path, select_all: bool, jobs: int) -> Run:
    config = write_config(app, root)
    with tempfile.TemporaryDirectory(prefix="backlint-corpus-") as tmp:
        out = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "backlint", "check", *app.paths, "--config", str(config)]
        cmd += ["--format", "json", "--no-cache", "--exit-zero", "-j", str(jobs), "-o", str(out)]
        if select_all:
            cmd += ["--select", "ALL"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=root, env=backlint_env(), capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise RunError(f"{app.name}: backlint exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        try:
            report = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunError(f"{app.name}: unreadable backlint report: {exc}") from exc
    return Run(
        app=app,
        findings=findings_from_report(app.name, report, root),
        files=int(report.get("summary", {}).get("files", 0)),
        wall=wall,
        cpu=cpu,
        notices=list(report.get("notices", [])),
    )


def rule_catalog() -> list[dict[str, Any]]:
    cmd = [sys.executable, "-m", "backlint", "rules", "--format", "json"]
    proc = subprocess.run(cmd, cwd=REPO, env=backlint_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RunError(f"backlint rules failed: {proc.stderr.strip()[-2000:]}")
    return list(json.loads(proc.stdout))


def checkout_commit() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "backlint", "rules"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


# --------------------------------------------------------------------------- report


def fmt_precision(t: Tally) -> str:
    p = t.precision
    return "   n/a" if p is None else f"{100 * p:5.1f}%"


def precision_table(cmp: Comparison, section: str) -> list[str]:
    rows = [f"  {'rule':<7} {'tp':>4} {'fp':>4} {'untriaged':>9} {'precision':>9}"]
    for rule in sorted(cmp.by_rule[section]):
        t = cmp.by_rule[section][rule]
        rows.append(f"  {rule:<7} {t.tp:>4} {t.fp:>4} {t.untriaged:>9} {fmt_precision(t):>9}")
    t = cmp.overall(section)
    rows.append(f"  {'all':<7} {t.tp:>4} {t.fp:>4} {t.untriaged:>9} {fmt_precision(t):>9}")
    return rows


def text_report(
    set_name: str,
    runs: Sequence[Run],
    cmp: Comparison,
    select_all: bool,
    reveal: bool,
    summary_only: bool,
    batch_lines: Sequence[str] = (),
) -> list[str]:
    """One set's report; ``batch_lines`` (each batch's figures) come before any list of findings."""
    out = [f"=== {set_name}: {len(runs)} app(s)"]
    out.append(f"  {'app':<20} {'files':>6} {'findings':>8} {'wall s':>7} {'cpu s':>7}")
    for r in runs:
        out.append(f"  {r.app.name:<20} {r.files:>6} {len(r.findings):>8} {r.wall:>7.1f} {r.cpu:>7.1f}")
    out.append(
        f"  {'total':<20} {sum(r.files for r in runs):>6} {sum(len(r.findings) for r in runs):>8} "
        f"{sum(r.wall for r in runs):>7.1f} {sum(r.cpu for r in runs):>7.1f}"
    )
    out.append(f"--- {set_name}: precision, rules on by default")
    out += precision_table(cmp, "default")
    if select_all:
        out.append(f"--- {set_name}: precision, rules off by default (--select ALL)")
        out += precision_table(cmp, "opt_in")
    lists = reveal or set_name != "holdout"
    out.append(
        f"--- {set_name}: {len(cmp.untriaged)} untriaged, {len(cmp.fp_present)} triaged false alarms present, "
        f"{cmp.fp_gone} triaged false alarms gone, {len(cmp.vanished_tp)} triaged true findings VANISHED"
    )
    if cmp.tp_not_run:
        rules = ", ".join(sorted({e.rule for e in cmp.tp_not_run}))
        out.append(f"  ({len(cmp.tp_not_run)} triaged true findings of rules not run here: {rules})")
    out += batch_lines
    if not lists:
        if cmp.vanished_tp:
            counts = Counter(e.rule for e in cmp.vanished_tp)
            out.append("  vanished true findings by rule: " + ", ".join(f"{r} {n}" for r, n in sorted(counts.items())))
        out.append("  (holdout findings are not listed: measure only; --reveal-holdout is for the corpus owner)")
        return out
    if cmp.vanished_tp:
        out.append(f"--- {set_name}: triaged TRUE findings that vanished")
        for e in sorted(cmp.vanished_tp, key=lambda e: (e.app, e.at)):
            out.append(f"  {e.app} {e.at} {e.rule} [was tp: {e.reason}]  code: {e.code}")
    if summary_only:
        return out
    if cmp.untriaged:
        out.append(f"--- {set_name}: untriaged findings")
        for f in cmp.untriaged:
            out.append(f"  {f.app} {f.at} {f.rule} {excerpt(f.message)}")
    if cmp.fp_present:
        out.append(f"--- {set_name}: triaged false alarms still present")
        for f, e in cmp.fp_present:
            out.append(f"  {f.app} {f.at} {f.rule} [{e.reason}]")
    return out


def by_batch(runs: Sequence[Run]) -> dict[int, list[Run]]:
    """A set's runs grouped by the batch of their app, in batch order."""
    groups: dict[int, list[Run]] = defaultdict(list)
    for r in runs:
        groups[r.app.batch].append(r)
    return dict(sorted(groups.items()))


def batch_report(set_name: str, batch: int, runs: Sequence[Run], cmp: Comparison, select_all: bool) -> list[str]:
    """One batch's figures within a set: apps, precision tables and counts (never a finding)."""
    names = ", ".join(r.app.name for r in runs)
    out = [f"--- {set_name}, batch {batch} ({len(runs)} app(s): {names}): precision, rules on by default"]
    out += precision_table(cmp, "default")
    if select_all:
        out.append(f"--- {set_name}, batch {batch}: precision, rules off by default (--select ALL)")
        out += precision_table(cmp, "opt_in")
    out.append(
        f"--- {set_name}, batch {batch}: {len(cmp.untriaged)} untriaged, {len(cmp.fp_present)} triaged false alarms "
        f"present, {cmp.fp_gone} gone, {len(cmp.vanished_tp)} triaged true findings VANISHED"
    )
    return out


def json_summary(set_name: str, runs: Sequence[Run], cmp: Comparison, select_all: bool, reveal: bool) -> dict[str, Any]:
    lists = reveal or set_name != "holdout"
    sections = ["default", "opt_in"] if select_all else ["default"]
    doc: dict[str, Any] = {
        "apps": {
            r.app.name: {
                "version": r.app.version,
                "files": r.files,
                "findings": len(r.findings),
                "wall_s": round(r.wall, 2),
                "cpu_s": round(r.cpu, 2),
            }
            for r in runs
        },
        "precision": {
            s: {
                "rules": {rule: t.as_dict() for rule, t in sorted(cmp.by_rule[s].items())},
                "overall": cmp.overall(s).as_dict(),
            }
            for s in sections
        },
        "untriaged": len(cmp.untriaged),
        "fp_present": len(cmp.fp_present),
        "fp_gone": cmp.fp_gone,
        "vanished_tp": len(cmp.vanished_tp),
        "tp_of_rules_not_run": len(cmp.tp_not_run),
    }
    if lists:
        doc["untriaged_findings"] = [
            {"app": f.app, "rule": f.rule, "at": f.at, "code": f.code, "message": excerpt(f.message)}
            for f in cmp.untriaged
        ]
        doc["vanished_tp_findings"] = [
            {"app": e.app, "rule": e.rule, "at": e.at, "code": e.code, "reason": e.reason} for e in cmp.vanished_tp
        ]
    return doc


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Measure backlint's precision on the real-app corpus against the committed triage."
    )
    ap.add_argument("--set", choices=("tuning", "holdout", "all"), default="all")
    ap.add_argument("--apps", default=None, help="comma-separated app names (within --set)")
    ap.add_argument("--batch", type=int, default=None, help="only the apps of this batch (apps.toml's header)")
    ap.add_argument("--select", choices=("ALL",), default=None, help="ALL: every rule, off-by-default ones apart")
    ap.add_argument("--json", action="store_true", help="print a JSON summary instead of the text report")
    ap.add_argument("--write-untriaged", type=Path, metavar="FILE", help="write TOML stubs of untriaged findings")
    ap.add_argument("--jobs", "-j", type=int, default=2, help="backlint worker processes (default 2)")
    ap.add_argument("--workdir", type=Path, default=None, help="where fetch.py unpacked the apps")
    ap.add_argument("--summary-only", action="store_true", help="no lists of findings, figures only")
    ap.add_argument("--reveal-holdout", action="store_true", help="list holdout findings (corpus owner only)")
    ap.add_argument(
        "--write-precision",
        action="store_true",
        help="write each rule's measured precision (both sets, every app) into rules/BLxxx.toml and docs/rules.md",
    )
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    if args.write_precision and (args.set != "all" or args.apps or args.batch is not None):
        ap.error("--write-precision measures both sets on every app: no --set, --apps or --batch")
    select_all = args.select == "ALL"
    log = (lambda msg: print(msg, file=sys.stderr)) if args.json else print
    try:
        all_apps = load_apps()
        apps = select_apps(all_apps, args.set, args.apps, args.batch)
        triage = {s: load_triage(s, all_apps) for s in SETS}
        catalog = rule_catalog()
    except (CorpusError, TriageError, RunError, ValueError) as exc:
        print(f"triage: error: {exc}", file=sys.stderr)
        return 2
    if not apps:
        print("triage: error: no app selected", file=sys.stderr)
        return 2
    default_rules = {r["id"] for r in catalog if r.get("enabled")}
    rules_run = {r["id"] for r in catalog} if select_all else default_rules
    workdir = (args.workdir or default_workdir()).expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    commit = checkout_commit()
    mode = "--select ALL" if select_all else "default rules"
    log(f"backlint {commit} ({mode}) on {len(apps)} app(s), -j {args.jobs}, work directory {workdir}")

    runs: dict[str, list[Run]] = defaultdict(list)
    for app in apps:
        try:
            root = fetch(app, workdir, log=log)
            run = run_app(app, root, select_all, args.jobs)
        except (CorpusError, RunError, OSError) as exc:
            print(f"triage: error: {exc}", file=sys.stderr)
            return 2
        for notice in run.notices:
            if notice.get("level") == "error":
                print(f"triage: error: {app.name}: backlint notice: {notice}", file=sys.stderr)
                return 2
        runs[app.set].append(run)
        log(f"  {app.name}: {len(run.findings)} findings in {run.wall:.1f} s")

    results: dict[str, Any] = {"commit": commit, "select": "ALL" if select_all else "default", "sets": {}}
    lines: list[str] = []
    stubs: list[str] = []
    vanished = 0
    measured: dict[str, dict[str, Tally]] = {}
    for set_name in SETS:
        if set_name not in runs:
            continue
        set_runs = runs[set_name]
        findings = [f for r in set_runs for f in r.findings]
        cmp = compare(findings, triage[set_name], {r.app.name for r in set_runs}, rules_run, default_rules)
        vanished += len(cmp.vanished_tp)
        measured[set_name] = per_rule(cmp)
        results["sets"][set_name] = json_summary(set_name, set_runs, cmp, select_all, args.reveal_holdout)
        batch_lines: list[str] = []
        batches = by_batch(set_runs)
        if len(batches) > 1:
            results["sets"][set_name]["batches"] = {}
            for batch, batch_runs in batches.items():
                batch_findings = [f for r in batch_runs for f in r.findings]
                apps_run = {r.app.name for r in batch_runs}
                batch_cmp = compare(batch_findings, triage[set_name], apps_run, rules_run, default_rules)
                batch_lines += batch_report(set_name, batch, batch_runs, batch_cmp, select_all)
                doc = json_summary(set_name, batch_runs, batch_cmp, select_all, reveal=False)
                results["sets"][set_name]["batches"][str(batch)] = {
                    k: v for k, v in doc.items() if not k.endswith("_findings")
                }
        lines += text_report(set_name, set_runs, cmp, select_all, args.reveal_holdout, args.summary_only, batch_lines)
        if args.write_untriaged and cmp.untriaged and (set_name != "holdout" or args.reveal_holdout):
            stubs.append(f"# ---- set: {set_name} (append to triage/{set_name}.toml once filled in)\n")
            stubs += [stub(f) for f in cmp.untriaged]
    if args.write_untriaged:
        args.write_untriaged.write_text("\n".join(stubs), encoding="utf-8")
        log(f"wrote {sum(1 for s in stubs if s.startswith('[[finding]]'))} stub(s) to {args.write_untriaged}")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print("\n".join(lines))
    if args.write_precision:
        if commit == "unknown":
            print("triage: error: --write-precision needs the checkout's commit (git)", file=sys.stderr)
            return 2
        untriaged = sum(t.untriaged for tallies in measured.values() for t in tallies.values())
        if untriaged:
            log(f"warning: {untriaged} untriaged finding(s) are left out of the measured precision")
        try:
            written = write_precision(measured, rules_run, datetime.date.today().isoformat(), commit, REPO / "rules")
            regenerate_rules_doc()
        except (OSError, ValueError, RunError) as exc:
            print(f"triage: error: {exc}", file=sys.stderr)
            return 2
        log(f"wrote the measured precision of {len(written)} rule(s) into rules/ and docs/rules.md")
        for short in short_of_bar(REPO / "rules"):
            log(f"{'note' if short.kept else 'warning'}: {short.text()}")
    return 1 if vanished else 0


if __name__ == "__main__":
    sys.exit(main())
