"""Human output: ``path:line:col: BL101 message``, the source line with a caret underline, a summary.

Notices (skipped files, suppression warnings) go to stderr, written by the ``check`` command.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import Any

from backlint.core.results import Finding
from backlint.report.model import ReportInput

_COLORS = {"error": "\033[31m", "warning": "\033[33m", "note": "\033[36m", "bold": "\033[1m", "dim": "\033[2m"}
_RESET = "\033[0m"


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\x1b": "\\x1b"}


def printable(text: str) -> str:
    """``text`` with control characters written as escapes (``\\n``, ``\\x1b``, ``\\u202e``): a file
    name or a message cannot start a line of its own (a CI workflow command), move the cursor,
    colour the terminal or reorder what is shown. Tabs stay."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), _escape(m.group())), text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_COLORS[style]}{text}{_RESET}" if color else text


def _header(finding: Finding, color: bool, unsafe_fixes: bool) -> str:
    where = f"{printable(finding.path)}:{finding.span.line}:{finding.span.column}:"
    marker = "[*] " if _fixable(finding, unsafe_fixes) else ""
    message = printable(finding.message)
    return f"{_paint(where, 'bold', color)} {_paint(finding.rule_id, finding.level, color)} {marker}{message}"


def _fixable(finding: Finding, unsafe_fixes: bool) -> bool:
    """``--fix`` would fix it (with ``--unsafe-fixes`` when given): marked ``[*]`` like ruff does."""
    fix = finding.fix
    return fix is not None and (fix.safety == "safe" or unsafe_fixes)


def _fix_hint(data: ReportInput) -> list[str]:
    active = data.result.active
    fixable = sum(1 for f in active if _fixable(f, data.unsafe_fixes))
    hidden = sum(1 for f in active if f.fix is not None and not _fixable(f, data.unsafe_fixes))
    if not fixable and not hidden:
        return []
    unsafe = "`--fix --unsafe-fixes`"
    if not fixable:
        return [f"[*] {hidden} fixable with {unsafe}."]
    more = f" ({hidden} more with {unsafe})" if hidden else ""
    return [f"[*] {fixable} fixable with {unsafe if data.unsafe_fixes else '`--fix`'}{more}."]


def _snippet(finding: Finding, color: bool) -> list[str]:
    if not finding.source_lines:
        return []
    line = printable(finding.source_lines[0].rstrip("\r\n"))
    number = str(finding.span.line)
    gutter = " " * len(number)
    start = max(0, finding.span.column - 1)
    end = finding.span.end_column - 1 if finding.span.end_line == finding.span.line else len(line)
    caret = " " * start + "^" * max(1, end - start)
    return [
        f"  {_paint(number, 'dim', color)} | {line}",
        f"  {gutter} | {_paint(caret, finding.level, color)}",
    ]


def _statistics(data: ReportInput) -> list[str]:
    """``--statistics``: the number of findings per rule, most frequent first (the whole report)."""
    counts = Counter(f.rule_id for f in data.result.active)
    lines = []
    for rule_id, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        name = data.catalog.rules[rule_id].name if rule_id in data.catalog.rules else ""
        lines.append(f"{count:6d}  {rule_id}  {name}")
    return lines


def _summary(data: ReportInput) -> list[str]:
    active = data.result.active
    suppressed = len(data.result.findings) - len(active)
    lines = []
    files = data.result.files
    tail = f" ({suppressed} suppressed)" if suppressed else ""
    in_files = f"{files} file{'s' * (files != 1)}"
    errors = data.result.internal_errors
    unanalysed = f"{errors} file{'s' * (errors != 1)} could not be analysed (see the errors above)"
    if active:
        found = f"Found {len(active)} finding{'s' * (len(active) != 1)} in {in_files}{tail}"
        lines.append(f"{found}; {unanalysed}." if errors else f"{found}.")
    elif errors:
        lines.append(f"No findings in {in_files}{tail}, but {unanalysed}.")
    else:
        lines.append(f"All clean: {in_files} checked{tail}.")
    return lines + _not_judged(data) + _fix_hint(data)


def _not_judged(data: ReportInput) -> list[str]:
    """Files whose project findings could not be judged: facts they depend on are missing."""
    files, held = len(data.result.not_judged_files), data.result.not_judged
    if not files and not held:
        return []
    held_back = f"; {held} project finding{'s' * (held != 1)} held back" if held else ""
    return [
        f"Project rules not judged in {files} file{'s' * (files != 1)}: a file they depend on could not be "
        f"analysed (see the warnings above){held_back}."
    ]


# BL401's findings name their app in a related location opening with this (checks/error_handling.py).
_APP_NOTE = "the app `"


def _app_groups(findings: list[Finding]) -> dict[int, list[Finding]]:
    """BL401 findings of one app (two or more), keyed by the id of the group's first finding."""
    groups: dict[tuple[str, int, str], list[Finding]] = {}
    for finding in findings:
        if finding.rule_id != "BL401":
            continue
        app = next((r for r in finding.related if r.message.startswith(_APP_NOTE)), None)
        if app is not None:
            groups.setdefault((app.path, app.span.line, app.message), []).append(finding)
    return {id(group[0]): group for group in groups.values() if len(group) > 1}


def _group_header(group: list[Finding], color: bool) -> str:
    """One line for an app's BL401 findings: where the app is built, and what fixes them all, as the app's
    related location says (one handler; or, for an app built with debug on, debug off)."""
    app = next(r for r in group[0].related if r.message.startswith(_APP_NOTE))
    name, _, fix = app.message[len(_APP_NOTE) :].partition("`")
    fix = fix.removeprefix(":").strip() or "one app-level exception handler fixes every endpoint of it"
    where = f"{printable(app.path)}:{app.span.line}:{app.span.column}:"
    return (
        f"{_paint(where, 'bold', color)} {_paint('BL401', group[0].level, color)} app `{printable(name)}`: "
        f"{len(group)} endpoints below do data-store or network I/O without error handling; {printable(fix)}"
    )


def render_text(data: ReportInput) -> str:
    if data.statistics:
        return "".join(line + "\n" for line in _statistics(data))
    out: list[str] = []
    groups = _app_groups(data.result.active)
    grouped = {id(f) for group in groups.values() for f in group}
    for finding in data.result.active:
        members = groups.get(id(finding))
        if members is not None:
            out.append(_group_header(members, data.color))
            for member in members:
                out.append("  " + _header(member, data.color, data.unsafe_fixes))
                out.extend("  " + line for line in _snippet(member, data.color))
            out.append("")
            continue
        if id(finding) in grouped:
            continue
        out.append(_header(finding, data.color, data.unsafe_fixes))
        out.extend(_snippet(finding, data.color))
        out.append("")
    out.extend(_summary(data))
    return "\n".join(out) + "\n"


def render_concise(data: ReportInput) -> str:
    """One line per finding, then the summary line (an editor's pattern matches the findings only)."""
    if data.statistics:
        return "".join(line + "\n" for line in _statistics(data))
    out = [_header(f, False, data.unsafe_fixes) for f in data.result.active]
    out.extend(_summary(data))
    return "".join(line + "\n" for line in out)


def use_color(option: bool | None, stream: Any) -> bool:
    """``--color``/``--no-color``; else NO_COLOR turns colour off and FORCE_COLOR on (no-color.org,
    force-color.org: any non-empty value; NO_COLOR wins when both are set); else colour on a terminal."""
    if option is not None:
        return option
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())
