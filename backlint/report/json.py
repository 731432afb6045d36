"""Machine output with a stable, documented schema (docs/json-output.md); version bumps on change."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from backlint import __version__
from backlint.core.results import Fix
from backlint.report.model import ReportInput

SCHEMA_VERSION = 1


def _fix(fix: Fix) -> dict[str, Any]:
    return {
        "safety": fix.safety,
        "description": fix.description,
        "edits": [
            {
                "line": e.span.line,
                "column": e.span.column,
                "end_line": e.span.end_line,
                "end_column": e.span.end_column,
                "content": e.text,
            }
            for e in fix.edits
        ],
        **({"path": fix.path} if fix.path else {}),
    }


def render_json(data: ReportInput) -> str:
    rules = data.catalog.rules
    findings = [
        {
            "rule_id": f.rule_id,
            "rule_name": rules[f.rule_id].name if f.rule_id in rules else None,
            "level": f.level,
            "message": f.message,
            "path": f.path,
            "line": f.span.line,
            "column": f.span.column,
            "end_line": f.span.end_line,
            "end_column": f.span.end_column,
            "related": [
                {"path": r.path, "line": r.span.line, "column": r.span.column, "message": r.message} for r in f.related
            ],
            **({"fix": _fix(f.fix)} if f.fix is not None else {}),
        }
        for f in data.result.active
    ]
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "backlint", "version": __version__},
        "findings": findings,
        "notices": [
            {"path": n.path, "line": n.line or None, "level": n.level, "message": n.message}
            for n in data.result.notices
        ],
        "summary": {
            "files": data.result.files,
            "findings": len(findings),
            "suppressed": len(data.result.findings) - len(findings),
            "by_rule": dict(sorted(Counter(f["rule_id"] for f in findings).items())),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
