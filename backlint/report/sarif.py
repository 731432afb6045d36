"""SARIF 2.1.0 as GitHub code scanning reads it, built from sarif-om objects (tests/test_sarif.py and
tests/test_multitool.py hold it to GitHub's ingestion rules).

sarif-om's attrs classes give the shape; ``to_sarif`` is our own serializer because the usual one
drops ``level: "warning"`` (a schema default) and sarif-om's ``Suppression.state`` is not in the
final schema. Inline-suppressed findings are left out unless asked for: GitHub shows them as open.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attr
import sarif_om as om

from backlint import __version__
from backlint.core.catalog import REPOSITORY_URL, RuleMeta
from backlint.core.ids import PARSE_ERROR
from backlint.core.results import Finding, Notice, Span
from backlint.pipeline.source import decode_source
from backlint.report.fingerprint import (
    content_key,
    decode_like_github,
    enclosing_scope,
    flagged_text,
    line_hashes,
    parse_quietly,
)
from backlint.report.model import ReportInput

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = REPOSITORY_URL
SRCROOT = "%SRCROOT%"
MAX_DESCRIPTION = 1024
MAX_NAME = 255
MAX_TAGS = 20
# GitHub rejects a run with more results than this.
MAX_RESULTS = 25_000
_SEVERITY_RANK = {"error": 0, "warning": 1, "note": 2}
_PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}


def render_sarif(data: ReportInput) -> str:
    document = to_sarif(build_log(data))
    ordered = {"$schema": document.pop("$schema"), "version": document.pop("version"), **document}
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


def to_sarif(obj: Any) -> Any:
    """attrs objects → JSON data: schema names, ``None`` and schema defaults dropped, ``level`` always kept."""
    if isinstance(obj, (list, tuple)):
        return [to_sarif(item) for item in obj]
    if isinstance(obj, dict):
        return {key: to_sarif(value) for key, value in obj.items() if value is not None}
    if not attr.has(type(obj)):
        return obj
    out: dict[str, Any] = {}
    for field in attr.fields(type(obj)):
        value = getattr(obj, field.name)
        factory = getattr(field.default, "factory", None)  # an attr.Factory default
        default = factory() if callable(factory) else field.default
        if value is None or (value == default and field.name != "level"):
            continue
        out[field.metadata["schema_property_name"]] = to_sarif(value)
    return out


def build_log(data: ReportInput) -> om.SarifLog:
    """One run: every enabled rule, the reported findings, and the files that could not be linted."""
    locator = _Locator(data)
    findings, dropped = within_result_limit(data.result.findings if data.include_suppressed else data.result.active)
    rule_ids = sorted((set(data.enabled_rules) | {f.rule_id for f in findings}) & set(data.catalog.rules))
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    levels = dict(data.rule_levels)
    rules = [rule_descriptor(data.catalog.rules[i], levels.get(i)) for i in rule_ids]
    fingerprints = _Fingerprints(locator)
    results = [
        _result(f, index.get(f.rule_id), locator, fingerprints, data.include_suppressed)
        for f in sorted(findings, key=lambda f: f.sort_key)
    ]
    run = om.Run(
        tool=om.Tool(
            driver=om.ToolComponent(
                name="backlint",
                version=__version__,
                semantic_version=__version__,
                information_uri=INFORMATION_URI,
                rules=rules,
            )
        ),
        results=results,
        column_kind="unicodeCodePoints",
        invocations=[_invocation(data, locator, dropped)],
        automation_details=_automation(data.sarif_category),
    )
    return om.SarifLog(version="2.1.0", schema_uri=SCHEMA_URI, runs=[run])


def within_result_limit(findings: list[Finding], limit: int | None = None) -> tuple[list[Finding], int]:
    """At most ``limit`` findings, the most severe kept (errors, then warnings, then notes), and how many were cut."""
    limit = MAX_RESULTS if limit is None else limit
    if len(findings) <= limit:
        return findings, 0
    ranked = sorted(findings, key=lambda f: (_SEVERITY_RANK.get(f.level, len(_SEVERITY_RANK)), f.sort_key))
    return ranked[:limit], len(findings) - limit


def _automation(category: str | None) -> om.RunAutomationDetails | None:
    """``automationDetails.id`` is ``category/run``; a trailing slash makes the whole value the category."""
    if not category:
        return None
    return om.RunAutomationDetails(id=category if category.endswith("/") else f"{category}/")


def rule_descriptor(meta: RuleMeta, level: str | None) -> om.ReportingDescriptor:
    """A rule as GitHub lists it: ``security`` rules get a security-severity, the others a problem.severity."""
    tags = list(dict.fromkeys([*meta.tags, *(f"external/cwe/cwe-{c}" for c in meta.cwe)]))
    security = "security" in tags
    if security:
        tags.remove("security")
        tags.insert(0, "security")  # kept when the tag list is cut to GitHub's limit
    properties: dict[str, Any] = {"tags": tags[:MAX_TAGS], "precision": meta.precision}
    if security and meta.security_severity:
        properties["security-severity"] = str(meta.security_severity)
    else:
        properties["problem.severity"] = _PROBLEM_SEVERITY[level or meta.level]
    return om.ReportingDescriptor(
        id=meta.id,
        name=meta.name[:MAX_NAME],
        # GitHub shows shortDescription as the alert's title: one line (catalog.MAX_TITLE characters at most).
        short_description=om.MultiformatMessageString(text=meta.title),
        full_description=om.MultiformatMessageString(text=_limit(meta.summary)),
        help=om.MultiformatMessageString(text=_help_text(meta), markdown=meta.markdown()),
        help_uri=meta.help_uri,
        default_configuration=om.ReportingConfiguration(level=level or meta.level),
        properties=properties,
    )


def _help_text(meta: RuleMeta) -> str:
    parts = [meta.summary, meta.why.strip()]
    if meta.fix.strip():
        parts.append(f"Fix: {meta.fix.strip()}")
    return "\n\n".join(parts)


def _limit(text: str) -> str:
    """GitHub rejects descriptions over 1024 characters."""
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1].rstrip() + "…"


def _result(
    finding: Finding,
    rule_index: int | None,
    locator: _Locator,
    fingerprints: _Fingerprints,
    include_suppressed: bool,
) -> om.Result:
    related = [
        om.Location(id=i, physical_location=locator.physical(r.path, r.span), message=om.Message(text=r.message))
        for i, r in enumerate(finding.related, start=1)
    ]
    suppressions = None
    if include_suppressed:  # the SARIF 2.1.0 standard: all results carry suppressions, or none does
        suppressions = []
        if finding.suppressed_by == "baseline":  # backlint.baseline.BASELINED
            suppressions.append(om.Suppression(kind="external", justification="accepted in the baseline file"))
        elif finding.suppressed_by is not None:
            suppressions.append(om.Suppression(kind="inSource", justification=finding.suppressed_by))
    return om.Result(
        rule_id=finding.rule_id,
        rule_index=rule_index if rule_index is not None else -1,
        level=finding.level,
        message=om.Message(text=finding.message),
        locations=[om.Location(physical_location=locator.physical(finding.path, finding.span))],
        related_locations=related or None,
        partial_fingerprints=fingerprints.of(finding),
        suppressions=suppressions,
        baseline_state=finding.baseline_state,  # "new"/"unchanged" when a baseline is in use
        fixes=[_fix(finding, locator)] if finding.fix is not None else None,
        properties={"backlint/fix-safety": finding.fix.safety} if finding.fix is not None else None,
    )


def _fix(finding: Finding, locator: _Locator) -> om.Fix:
    """The autofix as SARIF replacements: each edit deletes a region (empty for an insertion) and inserts text."""
    assert finding.fix is not None
    replacements = [
        om.Replacement(
            deleted_region=om.Region(
                start_line=e.span.line,
                start_column=e.span.column,
                end_line=e.span.end_line,
                end_column=e.span.end_column,
            ),
            inserted_content=om.ArtifactContent(text=e.text) if e.text else None,
        )
        for e in finding.fix.edits
    ]
    return om.Fix(
        description=om.Message(text=finding.fix.description),
        artifact_changes=[
            om.ArtifactChange(
                artifact_location=locator.artifact(finding.fix.path or finding.path), replacements=replacements
            )
        ],
    )


def _invocation(data: ReportInput, locator: _Locator, dropped: int) -> om.Invocation:
    """Files that could not be linted (and BL000 files) as notifications; a crash makes the run unsuccessful."""
    notes = [_notification(n, locator) for n in data.result.notices]
    if dropped:
        message = (
            f"{dropped} lower-severity results were left out: GitHub code scanning rejects a run with more than "
            f"{MAX_RESULTS:,} results. Fix or suppress findings, or upload parts of the tree with --sarif-category."
        )
        notes.append(om.Notification(message=om.Message(text=message), level="warning"))
    notes += [
        _notification(Notice(f.path, f.message, "error"), locator, f.span)
        for f in data.result.active
        if f.rule_id == PARSE_ERROR
    ]
    return om.Invocation(
        execution_successful=data.result.internal_errors == 0,
        tool_execution_notifications=notes or None,
    )


def _notification(notice: Notice, locator: _Locator, span: Span | None = None) -> om.Notification:
    if span is None and notice.line > 0:
        span = Span(notice.line, 1, notice.line, 1)
    return om.Notification(
        message=om.Message(text=notice.message),
        level=notice.level if notice.level in ("error", "warning", "note") else "warning",
        locations=[om.Location(physical_location=locator.physical(notice.path, span))],
    )


class _Locator:
    """Display paths → SARIF artifact locations relative to the source root, and the files' bytes."""

    def __init__(self, data: ReportInput) -> None:
        self.cwd = Path.cwd()
        self.bases = [self.cwd.resolve()]
        if data.root is not None and data.root.resolve() not in self.bases:
            self.bases.append(data.root.resolve())
        self.sources = dict(data.sources)
        self._bytes: dict[str, bytes | None] = {}

    def artifact(self, path: str) -> om.ArtifactLocation:
        """A relative, percent-encoded POSIX URI under ``%SRCROOT%``; a ``file:`` URI only for outside files."""
        given = Path(path)
        absolute = Path(os.path.normpath(given if given.is_absolute() else self.cwd / given))
        for candidate in (absolute.resolve(), absolute):  # symlinks resolved when that stays inside
            for base in self.bases:
                try:
                    relative = candidate.relative_to(base).as_posix()
                except ValueError:
                    continue
                return om.ArtifactLocation(uri=quote(relative, safe="/", errors="surrogateescape"), uri_base_id=SRCROOT)
        return om.ArtifactLocation(uri=absolute.as_uri())

    def physical(self, path: str, span: Span | None) -> om.PhysicalLocation:
        region = None
        if span is not None and span.line > 0:
            region = om.Region(
                start_line=span.line,
                start_column=max(1, span.column),
                end_line=max(span.line, span.end_line),
                end_column=max(1, span.end_column),
            )
        return om.PhysicalLocation(artifact_location=self.artifact(path), region=region)

    def read(self, path: str) -> bytes | None:
        """The file as it is on disk now (or the buffer given on stdin), None if it is gone."""
        if path in self.sources:
            return self.sources[path]
        if path not in self._bytes:
            try:
                self._bytes[path] = Path(path).read_bytes()
            except OSError:
                self._bytes[path] = None
        return self._bytes[path]


class _Fingerprints:
    """``primaryLocationLineHash`` as GitHub computes it, plus backlint's own ``backlint/v1`` key."""

    def __init__(self, locator: _Locator) -> None:
        self.locator = locator
        self._hashes: dict[str, dict[int, str]] = {}
        self._trees: dict[str, Any] = {}
        self._seen: dict[tuple[str, str], int] = {}

    def of(self, finding: Finding) -> dict[str, str]:
        out: dict[str, str] = {}
        data = self.locator.read(finding.path)
        if data is not None:
            if finding.path not in self._hashes:
                self._hashes[finding.path] = line_hashes(decode_like_github(data))
            line_hash = self._hashes[finding.path].get(max(1, finding.span.line))
            if line_hash:
                out["primaryLocationLineHash"] = line_hash
        span = finding.span
        flagged = flagged_text(finding.source_lines, span.line, span.column, span.end_line, span.end_column)
        scope = finding.scope if finding.scope is not None else self._scope(finding.path, data, span.line)
        key = content_key(finding.rule_id, scope, flagged or finding.message)
        count = self._seen.get((finding.path, key), 0) + 1
        self._seen[(finding.path, key)] = count
        out["backlint/v1"] = f"{key}:{count}"
        return out

    def _scope(self, path: str, data: bytes | None, line: int) -> str:
        if path not in self._trees:
            self._trees[path] = parse_quietly(_decode_source(data)) if data is not None else None
        return enclosing_scope(self._trees[path], line)


def _decode_source(data: bytes) -> str:
    """Decode as the engine does (PEP 263 cookie or BOM), without failing."""

    text, _, _ = decode_source(data, "")
    return text if text is not None else ""
