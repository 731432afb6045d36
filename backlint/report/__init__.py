"""Reporters format a finished run; they never compute. ``get_reporter`` picks one by format name;
each renderer module is imported only when its format is asked for."""

from __future__ import annotations

from backlint.report.model import Reporter

FORMATS = ("text", "concise", "json", "sarif", "github")


def get_reporter(name: str) -> Reporter:
    # Imported here, not at the top: the SARIF renderer's sarif_om (54 attrs classes built at import)
    # cost every run ~0.34 G instructions (~0.1 s) whatever its format.
    if name == "text":
        from backlint.report.text import render_text

        return render_text
    if name == "concise":
        from backlint.report.text import render_concise

        return render_concise
    if name == "json":
        from backlint.report.json import render_json

        return render_json
    if name == "github":
        from backlint.report.github import render_github

        return render_github
    if name == "sarif":
        from backlint.report.sarif import render_sarif

        return render_sarif
    raise ValueError(name)
