"""The per-file stage: pre-filter on trigger tokens, parse once, one walk, positions only if needed."""

from __future__ import annotations

import ast
import bisect
import dataclasses
import gc
import re
import traceback
import warnings
from typing import TYPE_CHECKING, Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from backlint.core.catalog import Knowledge
from backlint.core.facts import FactCollector
from backlint.core.imports import ImportTable
from backlint.core.masking import SecretText, mask_lines, mask_spans, scrub
from backlint.core.results import FileKind, Finding, Fix, ModuleFacts, RelatedLocation, Span, TextEdit
from backlint.core.rule import FileContext, NodeEdit, PendingFix, PendingReport, Rule, required_analyses
from backlint.pipeline import limits as _limits
from backlint.pipeline import precheck
from backlint.pipeline.discovery import SourceFile
from backlint.pipeline.filters import rule_applies
from backlint.pipeline.positions import StatementIndex
from backlint.pipeline.registry import load_class, load_registry
from backlint.pipeline.source import file_error, module_name
from backlint.pipeline.suppress import physical_lines
from backlint.pipeline.walk import BatchedWalker
from backlint.pipeline.workers import Failure, isolated

if TYPE_CHECKING:
    from backlint.pipeline.settings import Settings


class InternalError(Exception):
    """A rule or an analysis raised on this file: a bug in backlint, reported with the rule's name."""

    def __init__(self, rule: str | None, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


def _parse_unvalidated(text: str) -> cst.Module:
    """``libcst.parse_module`` without re-validating every node the native parser built.

    Each node's ``__post_init__`` runs ``_validate`` (checks meant for hand-built trees; libcst's
    own comment calls it avoidable when parsing): ~20% of the parse, measured on Django.
    """
    post_init = cst.CSTNode.__post_init__
    cst.CSTNode.__post_init__ = _skip_validation  # type: ignore[method-assign]
    try:
        return cst.parse_module(text)
    finally:
        cst.CSTNode.__post_init__ = post_init  # type: ignore[method-assign]


def _skip_validation(self: cst.CSTNode) -> None:
    pass


def _triggers(owner: type[Rule] | type[FactCollector], settings: Settings) -> tuple[str, ...]:
    """A rule's or collector's trigger tokens, derived from the tables once per run, not per file."""
    if not settings.prefilter:
        return ()
    return settings.knowledge.derived(_minimal_tokens, owner)


def _minimal_tokens(knowledge: Knowledge, owner: type[Rule] | type[FactCollector]) -> tuple[str, ...]:
    """A token containing another one is dropped (``executemany`` occurs only where ``execute``
    does), and the shortest are tried first: the same files pass, with fewer scans of the text."""
    tokens = sorted(set(owner.trigger_tokens(knowledge)), key=lambda t: (len(t), t))
    return tuple(t for i, t in enumerate(tokens) if not any(s in t for s in tokens[:i]))


def active_rules(
    kind: FileKind, text: str, settings: Settings
) -> tuple[list[tuple[type[Rule], str]], list[type[FactCollector]]]:
    """The rules and collectors that apply to this file and whose triggers occur in its text."""
    registry = load_registry(settings.rule_packages)
    file_rules, collectors = registry.file_rules, registry.collectors
    applies = dict(settings.applies_to)
    found: dict[str, bool] = {}  # rules share tokens (the password rules share 120): scan for each once
    present = _present_tokens(text, settings) if settings.prefilter else None
    if present is not None:
        found = dict.fromkeys(present, True)

    def occurs(token: str) -> bool:
        hit = found.get(token)
        if hit is None:
            hit = found[token] = present is None and token in text
        return hit

    rules = []
    for rule_id, level in settings.rule_levels:
        cls = file_rules.get(rule_id)  # settings come from the catalog: an entry may have no class yet
        if cls is None or not rule_applies(applies[rule_id], kind):
            continue
        tokens = _triggers(cls, settings)
        if not tokens or any(occurs(t) for t in tokens):
            rules.append((cls, level))
    active_collectors: list[type[FactCollector]] = []
    if settings.collect_facts and kind is not FileKind.TEST:
        for collector in collectors:
            tokens = _triggers(collector, settings)
            if not tokens or any(occurs(t) for t in tokens):
                active_collectors.append(collector)
    return rules, active_collectors


def _present_tokens(text: str, settings: Settings) -> list[str] | None:
    """The trigger tokens of the run's rules and collectors that occur in ``text``, found in one pass
    (RE2's set of literal patterns); None when that cannot say (then each token is looked for with
    ``in``: ~360 scans of the text, 0.5 s of a cold serial run on django/, against 0.02 s)."""
    tokens, matcher = settings.knowledge.derived(_token_matcher, settings.rule_levels, settings.rule_packages)
    if matcher is None:
        return None
    try:
        hits = matcher.Match(text)
    except Exception:  # text RE2 cannot take (lone surrogates): look for each token
        return None
    # RE2 answers no match when it fails (its DFA out of memory) as when nothing occurs: a file
    # without any token is rare, and looked at token by token.
    return [tokens[i] for i in hits] if hits else None


def _token_matcher(
    knowledge: Knowledge, rule_levels: tuple[tuple[str, str], ...], rule_packages: tuple[str, ...]
) -> tuple[tuple[str, ...], Any]:
    """Every trigger token of the enabled file rules and of the collectors, and an RE2 set matching
    them as literals (None without RE2 or tokens)."""
    registry = load_registry(rule_packages)
    owners: list[Any] = [registry.file_rules[i] for i, _ in rule_levels if i in registry.file_rules]
    owners += registry.collectors
    tokens = tuple(sorted({t for owner in owners for t in knowledge.derived(_minimal_tokens, owner)}))
    if not tokens:
        return tokens, None
    try:
        import re2

        options = re2.Options()
        options.max_mem = 64 << 20
        matcher = re2.Set.SearchSet(options)
        for token in tokens:
            matcher.Add(re2.escape(token))
        matcher.Compile()
    except Exception:  # no RE2 here, or a set it refuses: each token is looked for with ``in``
        return tokens, None
    return tokens, matcher


def analyse(
    source: SourceFile, text: str, kind: FileKind, settings: Settings
) -> tuple[list[Finding], ModuleFacts | None, list[Span] | None]:
    """Lint one file within the limits: a file the pre-checks find risky goes to a child process
    when this process must not die with it (the serial path, standard input, the language server)."""
    if _limits.risky_files_context is not None and _risky(text):
        return _analyse_isolated(source, text, kind, settings, _limits.risky_files_context)
    return analyse_here(source, text, kind, settings)


def analyse_here(
    source: SourceFile, text: str, kind: FileKind, settings: Settings
) -> tuple[list[Finding], ModuleFacts | None, list[Span] | None]:
    """Lint one file in this process, under its CPU-time limit, with the collector paused.

    A file's tree is ~100k young objects: with the collector running, the walk's allocations set
    off collections that traverse the whole tree again and again. Some rules' per-file state holds
    the tree in reference cycles (the SQL analysis and its rules point at each other), so it is
    not freed when ``_analyse`` returns: one young-generation collection right after the file frees
    it in a single pass, instead of letting it age into older generations that are traversed again
    (3.5 s -> 0.5 s of collector time on Django's 885 files).

    The tree itself holds no cycle (its nodes only point down), so ``_analyse`` freezes it once
    parsed (``gc.freeze``): that collection then traverses only the analyses' objects, and clearing
    their cycles frees the tree by reference counting, ten times cheaper than the collector freeing
    it (60 ms -> 5 ms for django/db/models/query.py; ~3 s of a cold serial run on django/). What was
    frozen is unfrozen after the collection, unless this process had frozen objects before (a worker
    freezes what it inherits: backlint/pipeline/engine.py's _init_worker).
    """
    was_enabled = gc.isenabled()
    frozen_before = gc.get_freeze_count()
    gc.disable()
    limits = settings.limits
    try:
        with warnings.catch_warnings(), _limits.cpu_time_limit(limits.time):
            # Compiling the analysed code (the syntax check; libcst evaluating string literals) warns
            # about *its* flaws ("invalid escape sequence", "invalid hexadecimal literal"), printing
            # its source lines: not ours to print, and a line may hold a secret.
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            with _limits.recursion_room():
                return _analyse(source, text, kind, settings)
    except _limits.TimeLimitExceeded:
        return [file_error(source.display, over_time_limit(limits))], None, None
    except MemoryError:
        _limits.exhausted = True
        return [file_error(source.display, over_memory_limit(limits))], None, None
    finally:
        _limits.set_phase(_limits.IDLE)
        if was_enabled:
            gc.enable()
            gc.collect(0)
        if not frozen_before:
            gc.unfreeze()


def over_time_limit(limits: _limits.Limits) -> str:
    return f"cannot analyse: over the time limit ({limits.describe_time()}; `time-limit` sets it)"


def over_memory_limit(limits: _limits.Limits) -> str:
    if limits.memory is None:
        return "cannot analyse: out of memory"
    return f"cannot analyse: over the memory limit ({limits.describe_memory()}; `memory-limit` sets it)"


def parser_crashed(signal_name: str) -> str:
    return f"cannot parse: libcst's parser crashed ({signal_name})"


def failure_message(failure: Failure, limits: _limits.Limits) -> tuple[bool, str]:
    """(whether it is the file's BL000, the message) for a worker lost while on a file."""
    if failure.kind == "time":
        return True, over_time_limit(limits)
    if failure.kind == "memory":
        return True, over_memory_limit(limits)
    if failure.kind == "crash":
        return True, parser_crashed(failure.detail)
    return False, f"internal error: the worker process was lost ({failure.detail})"


def _analyse_isolated(
    source: SourceFile, text: str, kind: FileKind, settings: Settings, context: str
) -> tuple[list[Finding], ModuleFacts | None, list[Span] | None]:
    outcome = isolated(_analyse_in_child, (source, text, kind, settings), settings.limits, context or None)
    if isinstance(outcome, Failure):
        is_finding, message = failure_message(outcome, settings.limits)
        if is_finding:
            return [file_error(source.display, message)], None, None
        raise InternalError(None, message.removeprefix("internal error: "))
    if outcome[0] == "internal":
        raise InternalError(outcome[1], outcome[2])
    return outcome[1], outcome[2], outcome[3]


def parses(text: str, limits: _limits.Limits | None = None) -> bool:
    """Whether libcst parses ``text`` (what ``--fix`` asks of its edits), with the per-file stage's
    care: over a pre-check limit it does not; a risky text is parsed in a child process."""
    limits = limits if limits is not None else _limits.Limits()
    if precheck.too_complex(text):
        return False
    if _limits.risky_files_context is not None and _risky(text):
        outcome = isolated(_parses_here, (text,), limits, _limits.risky_files_context or None)
        return outcome is True
    return _parses_here(text)


def _parses_here(text: str) -> bool:
    try:
        cst.parse_module(text)
    except Exception:  # libcst raises ParserSyntaxError, and ValueError/RecursionError on odd input
        return False
    return True


def _analyse_in_child(source: SourceFile, text: str, kind: FileKind, settings: Settings) -> tuple[Any, ...]:
    try:
        findings, facts, secrets = analyse_here(source, text, kind, settings)
    except InternalError as exc:  # crosses back as data: the exception does not pickle with its fields
        return ("internal", exc.rule, exc.detail)
    return ("ok", findings, facts, secrets)


def _analyse(
    source: SourceFile, text: str, kind: FileKind, settings: Settings
) -> tuple[list[Finding], ModuleFacts | None, list[Span] | None]:
    rules, collectors = active_rules(kind, text, settings)
    name, is_package = module_name(source.path)
    if not rules and not collectors:
        return _syntax_check(source, text), None, None
    too_complex = precheck.too_complex(text)
    if too_complex:
        return [file_error(source.display, too_complex)], None, None
    try:
        _limits.set_phase(_limits.PARSING)
        module = _parse_unvalidated(text)
        gc.freeze()  # the collection after the file leaves the tree to reference counting (analyse_here)
        _limits.set_phase(_limits.ANALYSING)
    except cst.ParserSyntaxError as exc:
        # CPython's parser says where and what far better ("expected ':'" at the colon's place);
        # libcst's own error is kept for code only libcst rejects.
        better = _syntax_check(source, text)
        if better:
            return better, None, None
        message = f"cannot parse: {exc.message}" if exc.message else "cannot parse: syntax error"
        return [file_error(source.display, message, exc.raw_line, exc.raw_column + 1)], None, None
    except RecursionError:
        return [file_error(source.display, "cannot parse: the code is nested too deeply")], None, None
    except (ValueError, IndexError) as exc:  # libcst raises these on some invalid input (e.g. NUL bytes)
        return [file_error(source.display, f"cannot parse: {exc}")], None, None
    except (KeyboardInterrupt, SystemExit, GeneratorExit, _limits.TimeLimitExceeded, MemoryError):
        raise
    except BaseException as exc:  # a panic in the native parser arrives as pyo3's PanicException
        return [file_error(source.display, f"cannot parse: libcst's parser failed ({type(exc).__name__})")], None, None
    imports = ImportTable(name, is_package)
    _prescan_imports(module.body, imports)
    context = FileContext(
        path=source.project_path,  # the same from any working directory: facts name files by it
        module_name=name,
        kind=kind,
        source=text,
        imports=imports,
        knowledge=settings.knowledge,
        options=dict(settings.options),
    )
    instances: list[Any] = [_ImportRecorder(context)]
    finder = _finder(text, settings)
    owners: list[Any] = [*(cls for cls, _ in rules), *collectors, *([_Needs(finder)] if finder else [])]
    for analysis in required_analyses(owners):
        context.analyses[analysis] = analysis(context)  # walked before the rules that read it
        instances.append(context.analyses[analysis])
    instances += [cls(context, level) for cls, level in rules]
    instances += [cls(context) for cls in collectors]
    try:
        BatchedWalker(instances, context).walk(module)
    except Exception as exc:
        if _limits.from_recursion(exc):
            return [file_error(source.display, "cannot analyse: the code is nested too deeply")], None, None
        raise InternalError(_rule_in_traceback(exc), f"{type(exc).__name__}: {exc}") from exc
    locations = context.locations
    findings: list[Finding] = []
    finding_secrets: Any = context.analyses[finder] if finder is not None else None  # SecretSpans
    spotted = list(finding_secrets.facts()) if finding_secrets is not None else []
    secrets: list[Span] = []
    values: set[str] = set()
    if context.reports or locations or spotted:
        try:
            positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
            for node, span in locations:
                _fill_span(span, positions[node])
            lines = physical_lines(text)
            index = StatementIndex(module, positions)  # one per file: each finding bisects it
            findings = [_to_finding(report, source.display, index, lines) for report in context.reports]
            _attach_fixes(findings, context.reports, module, positions, text)
        except Exception as exc:
            if _limits.from_recursion(exc):
                return [file_error(source.display, "cannot analyse: the code is nested too deeply")], None, None
            raise
        if spotted:
            starts = line_starts(text)
            for found in finding_secrets.found(positions, starts):
                secrets.append(_offsets_span(starts, found.start, found.end))
                values.add(text[found.start : found.end])
            values.update(fact.secret for fact in spotted)
        _mask_secrets(findings, secrets, SecretText(values))
    facts = ModuleFacts(source.project_path, name, kind.value, context.facts) if collectors else None
    if facts is not None and values:
        # The facts' names are the collectors' own, not the file's text: only their values are masked
        # (a secret "k3y-default-2024" masked "-default-" out of "bl202-default-guards").
        masker = SecretText(values)
        facts.facts = {key: scrub(value, masker) for key, value in facts.facts.items()}
    return findings, facts, secrets if settings.secret_finder else None  # [] when no token of the finder occurs


RISKY_BYTES = 512 * 1024


def _risky(text: str) -> bool:
    """Whether parsing ``text`` could crash this process or take it past its limits."""
    return len(text) > RISKY_BYTES or _suspicious(text)


def _suspicious(text: str) -> bool:
    return precheck.bracket_depth(text) > precheck.MAX_BRACKET_DEPTH // 2 or precheck.has_long_line(text)


def _syntax_check(source: SourceFile, text: str) -> list[Finding]:
    """BL000 for a file no rule needed to parse: the stdlib parser is 7x cheaper than libcst."""
    try:
        ast.parse(text, filename=source.display)
    except SyntaxError as exc:
        if parses(text):  # newer syntax than this interpreter's (3.12 f-strings on 3.11): libcst reads it
            return []
        return [file_error(source.display, f"cannot parse: {exc.msg}", exc.lineno or 1, exc.offset or 1)]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [file_error(source.display, f"cannot parse: {exc}")]
    return []


class _ImportRecorder:
    """Adds imports met inside functions and classes to the alias table as the walk reaches them."""

    def __init__(self, context: FileContext) -> None:
        self.context = context

    def visit_Import(self, node: cst.Import) -> None:
        self.context.imports.add(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.context.imports.add(node)


def _prescan_imports(body: Any, imports: ImportTable) -> None:
    """Module-level imports, including those under if/try/with, before any rule runs."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    imports.add(small)
        elif isinstance(statement, (cst.If, cst.Try, cst.With, cst.TryStar)):
            blocks = [statement.body]
            blocks += [h.body for h in getattr(statement, "handlers", ())]
            for attr in ("orelse", "finalbody"):
                extra = getattr(statement, attr, None)
                if extra is not None:
                    blocks.append(extra.body)
            for block in blocks:
                if isinstance(block, cst.IndentedBlock):
                    _prescan_imports(block.body, imports)


def _fill_span(span: Span, code_range: Any) -> None:
    span.line = code_range.start.line
    span.column = code_range.start.column + 1
    span.end_line = code_range.end.line
    span.end_column = code_range.end.column + 1


def _span(positions: Any, node: cst.CSTNode) -> Span:
    span = Span()
    _fill_span(span, positions[node])
    return span


def _to_finding(report: PendingReport, path: str, index: StatementIndex, lines: list[str]) -> Finding:
    positions = index.positions
    span = _span(positions, report.node)
    source_lines = lines[span.line - 1 : span.end_line]
    if report.sensitive:
        source_lines = mask_lines(source_lines, span)
    return Finding(
        rule_id=report.rule_id,
        path=path,
        span=span,
        message=report.message,
        level=report.level,
        statement_lines=index.statement_lines(span.line, span.end_line),
        related=[RelatedLocation(path, _span(positions, node), message) for node, message in report.related],
        sensitive=report.sensitive,
        source_lines=source_lines,
        scope=index.scope_names(span.line),
        facet=report.facet,
    )


def _attach_fixes(
    findings: list[Finding], reports: list[PendingReport], module: cst.Module, positions: Any, text: str
) -> None:
    """Node edits become offsets into ``text``; a fix with an edit that cannot be placed exactly is dropped."""
    if not any(report.fix is not None for report in reports):
        return
    starts = line_starts(text)
    for finding, report in zip(findings, reports):
        if report.fix is not None:
            finding.fix = place_fix(report.fix, module, positions, text, starts)


def line_starts(text: str) -> list[int]:
    return [0] + [match.end() for match in _LINE_BREAK.finditer(text)]


def place_fix(fix: PendingFix, module: cst.Module, positions: Any, text: str, starts: list[int]) -> Fix | None:
    """The fix as offsets into ``text``; None if an edit cannot be placed exactly."""
    edits = []
    for edit in fix.edits:
        placed = _place(edit, module, positions, text, starts)
        if placed is None:
            return None
        edits.append(placed)
    return Fix(fix.safety, fix.description, tuple(edits))


_LINE_BREAK = re.compile(r"\r\n?|\n")  # libcst's positions count lines as the tokenizer does


def _place(edit: NodeEdit, module: cst.Module, positions: Any, text: str, starts: list[int]) -> TextEdit | None:
    """The edit as offsets; None when the node is not in the tree or its text is not where positions say."""

    def offsets(node: cst.CSTNode) -> tuple[int, int]:
        where = positions[node]
        return starts[where.start.line - 1] + where.start.column, starts[where.end.line - 1] + where.end.column

    try:
        start, end = offsets(edit.node)
        pieces = [edit.text] if isinstance(edit.text, str) else edit.text
        replacement = "".join(p if isinstance(p, str) else text[offsets(p[0])[1] : offsets(p[1])[0]] for p in pieces)
    except KeyError:
        return None
    if edit.where in ("lines", "below"):
        first, last = positions[edit.node].start.line, positions[edit.node].end.line
        start, end = starts[first - 1], (starts[last] if last < len(starts) else len(text))
        if edit.where == "below":
            if last >= len(starts):
                return None  # the last line has no line break to insert after
            start = end
    elif isinstance(edit.node, cst.BaseExpression):
        # Positions leave out the node's own parentheses, and code_for_node does not know the
        # indentation around the node: compare the code inside the parentheses, spaces aside.
        try:
            bare = edit.node.with_changes(lpar=[], rpar=[]) if getattr(edit.node, "lpar", None) else edit.node
        except cst.CSTValidationError:  # `()` has no text without its parentheses
            return None
        if _SPACES.sub("", text[start:end]) != _SPACES.sub("", module.code_for_node(bare)):
            return None
    if edit.where == "after":
        start = end
    elif edit.where == "before":
        end = start
    return TextEdit(start, end, replacement, _offsets_span(starts, start, end))


_SPACES = re.compile(r"\s+")


def _offsets_span(starts: list[int], start: int, end: int) -> Span:
    first = bisect.bisect_right(starts, start)
    last = bisect.bisect_right(starts, end)
    return Span(first, start - starts[first - 1] + 1, last, end - starts[last - 1] + 1)


def _finder(text: str, settings: Settings) -> Any:
    """The secret finder (``Settings.secret_finder``) if a token it needs occurs in ``text``, else None."""
    if not settings.secret_finder:
        return None
    finder = load_class(settings.secret_finder)
    tokens = _triggers(finder, settings)
    return finder if not tokens or any(token in text for token in tokens) else None


class _Needs:
    """An owner of ``REQUIRES`` for ``required_analyses``: the secret finder runs with every file's rules."""

    def __init__(self, analysis: type) -> None:
        self.REQUIRES = (analysis,)


def _mask_secrets(findings: list[Finding], secrets: list[Span], text: SecretText) -> None:
    """Every secret of the file is masked in every finding's snippet, message and fix description,
    whatever rule found it and whatever rules are selected: results are cached and sent as they are."""
    by_line: dict[int, list[Span]] = {}  # a finding masks the secrets on its lines only: linear per file
    for secret in secrets:
        for line in range(secret.line, secret.end_line + 1):
            by_line.setdefault(line, []).append(secret)
    for finding in findings:
        first = finding.span.line
        near = {id(s): s for n in range(first, first + len(finding.source_lines)) for s in by_line.get(n, ())}
        if near:
            finding.source_lines = mask_spans(finding.source_lines, first, near.values())
        if text:
            finding.message = text.mask(finding.message)
            for related in finding.related:
                related.message = text.mask(related.message)
            if finding.fix is not None:
                finding.fix = dataclasses.replace(finding.fix, description=text.mask(finding.fix.description))


def _rule_in_traceback(exc: BaseException) -> str | None:
    for frame, _ in reversed(list(traceback.walk_tb(exc.__traceback__))):
        owner = frame.f_locals.get("self")
        if isinstance(owner, Rule):
            return owner.id
        if isinstance(owner, FactCollector):
            return type(owner).__name__
    return None
