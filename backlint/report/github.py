"""GitHub Actions workflow commands: one annotation per finding on the PR's files view."""

from __future__ import annotations

from backlint.report.model import ReportInput

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render_github(data: ReportInput) -> str:
    lines = []
    for f in data.result.active:
        name = data.catalog.rules[f.rule_id].name if f.rule_id in data.catalog.rules else ""
        props = ",".join(
            [
                f"file={_escape_property(f.path)}",
                f"line={f.span.line}",
                f"col={f.span.column}",
                f"endLine={f.span.end_line}",
                f"endColumn={f.span.end_column}",
                f"title={_escape_property(f'{f.rule_id} {name}'.strip())}",
            ]
        )
        lines.append(f"::{_COMMAND[f.level]} {props}::{_escape_data(f.message)}")
    for n in data.result.notices:
        where = f"file={_escape_property(n.path)}" + (f",line={n.line}" if n.line else "")
        lines.append(f"::{_COMMAND.get(n.level, 'warning')} {where},title=backlint::{_escape_data(n.message)}")
    return "".join(line + "\n" for line in lines)
