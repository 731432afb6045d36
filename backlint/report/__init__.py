"""Reporters format a finished run; they never compute. ``get_reporter`` picks one by format name;
each renderer module is imported only when its format is asked for."""

from __future__ import annotations

from backlint.report.github import render_github
from backlint.report.json import render_json
from backlint.report.model import Reporter
from backlint.report.sarif import render_sarif
from backlint.report.text import render_concise, render_text

FORMATS = ("text", "concise", "json", "sarif", "github")


def get_reporter(name: str) -> Reporter:
    if name == "text":
        return render_text
    if name == "concise":
        return render_concise
    if name == "json":
        return render_json
    if name == "github":
        return render_github
    if name == "sarif":
        return render_sarif
    raise ValueError(name)
