"""Mock data as the body walk reads it: literal records returned (or kept in module constants),
random values filling response fields, reads of fake-named stores, switches to mock data on a
configuration flag, and comments or docstrings saying the data is a stub."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator

import libcst as cst

from backlint.analysis.lazy import LazySpan
from backlint.analysis.strings import name_tokens
from backlint.analysis.web.answers import argument, literal_status
from backlint.analysis.web.bodies import BodyFacts, Flagged, Records
from backlint.analysis.web.frames import BodyState, Frame
from backlint.analysis.web.syntax import (
    annotation_head,
    has_elements,
    int_value,
    is_class_name,
    is_collection,
    is_literal,
    short,
    strings,
    target_names,
    text,
)
from backlint.core.catalog import Knowledge
from backlint.core.imports import dotted_name
from backlint.core.results import Span
from backlint.pipeline.walk import children, scope_descendants

_FINAL = frozenset({"typing.Final", "typing_extensions.Final", "Final"})
_PICKS = frozenset({"choice", "choices", "sample"})  # random picks: fabricated only from literal options
_REORDERS = frozenset({"sorted", "list", "tuple", "reversed"})  # builtins that return the records they are given
_CONVERSIONS = frozenset({"str", "int", "float", "round", "True", "False", "None"})
_MAX_ITERATIONS = 10_000


class RecordReader:
    """Reads literal records, random values, fake stores, mock toggles and stub markers."""

    def __init__(self, state: BodyState) -> None:
        self.state = state
        self.context = state.context
        self.answers = state.answers
        self.tables = state.tables
        self.extras = state.extras

    # ----------------------------------------------------------------- the module

    def module_binding(self, small: cst.BaseSmallStatement) -> None:
        annotation: cst.BaseExpression | None = None
        if isinstance(small, cst.Assign):
            targets = [t.target for t in small.targets]
            value: cst.BaseExpression | None = small.value
        elif isinstance(small, cst.AnnAssign):
            targets, value, annotation = [small.target], small.value, small.annotation.annotation
        elif isinstance(small, cst.AugAssign):
            targets, value = [small.target], None
        else:
            return
        for target in targets:
            self.state.module_names.update(target_names(target))
        target = targets[0]
        if value is None or len(targets) != 1 or not isinstance(target, cst.Name):
            return
        name = target.value
        self.state.module_names.add(name)
        tokens = set(name_tokens(name))
        tables = self.tables
        if is_collection(value) and (tokens & tables.fake_tokens or self.state.fake_module):
            self.extras.fake_stores[name] = "data"
        if isinstance(value, cst.Call):
            ref = self.context.qualified_name(value.func) or ""
            if ref in tables.schemes:
                self.extras.schemes.append(name)
            if ref in tables.random_factories:
                self.state.random_instances.add(name)
        final = annotation is not None and (self.context.qualified_name(annotation_head(annotation)) or "") in _FINAL
        if not final and not tokens & tables.reference_tokens:
            records = self.records(value, None)
            if records is not None and not records.reference:
                self.extras.constants[name] = records

    def marker_comments(self) -> None:
        """Comments matching a marker pattern (strict anywhere, loose next to records, decided in the
        project pass); ``tokenize`` runs only when a pattern matched a comment candidate."""
        source = self.context.source
        strict, loose = self.tables.markers, _record_markers(self.context.knowledge)
        if not _maybe_marked(source, (*strict, *loose)):
            return
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            return
        for token in tokens:
            if token.type != tokenize.COMMENT:
                continue
            (line, column), (end_line, end_column) = token.start, token.end
            span = Span(line, column + 1, end_line, end_column + 1)
            comment = token.string.lstrip("# ").split("  #")[0].strip()
            if any(p.search(token.string) for p in strict):
                self.extras.markers.append(Flagged(span, comment[:120]))
            elif any(p.search(token.string) for p in loose):
                self.extras.record_markers.append(Flagged(span, comment[:120]))

    def docstring(self, node: cst.FunctionDef, facts: BodyFacts) -> None:
        """A function docstring matching a marker pattern (a loose one counts if it returns records)."""
        docstring = node.get_docstring()
        if not docstring:
            return
        first = node.body.body[0] if isinstance(node.body, cst.IndentedBlock) and node.body.body else node
        if _announced_empty_fallback(node):
            return
        if any(p.search(docstring) for p in self.tables.markers):
            facts.docstring_marker = Flagged(self.state.web.locate(first), docstring.strip().splitlines()[0][:120])
            return
        loose = [p.search(docstring) for p in _record_markers(self.context.knowledge)]
        found = next((m for m in loose if m is not None), None)
        if found is not None:
            line = next(x for x in docstring.strip().splitlines() if found.group(0) in x)
            facts.docstring_record_marker = Flagged(self.state.web.locate(first), line.strip()[:120])

    def returned(self, node: cst.Return, value: cst.BaseExpression, frame: Frame) -> None:
        """Records, a module constant or random values in a ``return``."""
        facts = frame.facts
        records = self.records(value, frame)
        if records is not None:
            frame.exempt.update(id(n) for n in scope_descendants(value) if isinstance(n, cst.Call))
            facts.records.append(records)
        else:
            name = self._returned_name(value)
            constant = self._constant_ref(name) if name is not None and not self.state.is_local(name) else None
            if constant is not None:
                facts.records.append(Records(self.state.web.locate(node), 0, [], [], False, constant))
        for found, field in self.random_fields(value, frame, None):
            if field and not set(name_tokens(field)) & self.tables.random_exempt:
                facts.random_values.append(Flagged(self.state.web.locate(found), short(found), field))

    def assigned(self, name: str, value: cst.BaseExpression, frame: Frame) -> None:
        """``name = value`` in the function: literal records or random values kept in a local."""
        if frame.assignments[name] == 1 and self.records(value, frame) is not None:
            frame.literal_locals[name] = value
            frame.exempt.update(id(n) for n in scope_descendants(value) if isinstance(n, cst.Call))
        fields = [(n, f) for n, f in self.random_fields(value, frame, None) if f]
        if fields:
            frame.random_records[name] = fields  # records whose fields are random, kept for a later return
        elif self.contains_random(value, frame):
            frame.random_locals.add(name)

    def locate_constant(self, target: cst.BaseExpression | None, value: cst.BaseExpression) -> None:
        """A module constant of records found by the prescan gets its place when the walk reaches it."""
        if isinstance(target, cst.Name) and target.value in self.extras.constants:
            records = self.extras.constants[target.value]
            if not isinstance(records.span, LazySpan):
                records.span = self.state.web.locate(value)

    def _returned_name(self, value: cst.BaseExpression) -> str | None:
        """The name returned, bare or wrapped in a response (``jsonify(BESTSELLERS)``)."""
        if isinstance(value, cst.Call) and self.answers.response_row(value.func) is not None:
            inner = argument(value, 0, "content")
            value = inner if inner is not None else value
        return value.value if isinstance(value, cst.Name) else None

    def _constant_ref(self, name: str) -> str | None:
        """A returned module-level record list: defined here, or an imported UPPER_CASE constant."""
        if name in self.extras.constants:
            return f"{self.state.module}.{name}"
        target = self.context.imports.aliases.get(name)
        if target is not None and name.isupper() and not set(name_tokens(name)) & self.tables.reference_tokens:
            return str(target)
        return None

    def fake_read(self, node: cst.Name, frame: Frame) -> None:
        """A read of a module-level name with a fake-data word (``fake_users_db``)."""
        if not self.state.fake_gate or node.value in frame.fake_seen:
            return
        if not set(name_tokens(node.value)) & self.tables.fake_tokens or self.state.is_local(node.value):
            return
        ancestors = self.context.ancestors
        parent = ancestors[-2]
        if _is_binding_position(node, parent):
            return
        reference: cst.CSTNode = node
        index = len(ancestors) - 2
        while index > 0:
            above = ancestors[index]
            if not (isinstance(above, cst.Attribute) and above.value is reference):
                break
            reference = above
            index -= 1
        ref = self.state.ref(reference)
        if ref is None or (
            node.value not in self.state.module_names and node.value not in self.context.imports.aliases
        ):
            return  # a builtin or an unknown global, not a module-level store
        frame.fake_seen.add(node.value)
        frame.facts.fake_reads.append(
            Flagged(self.state.web.locate(reference), dotted_name(reference) or node.value, ref)
        )

    # ----------------------------------------------------------------- records and randomness

    def records(self, value: cst.BaseExpression, frame: Frame | None) -> Records | None:
        """``[{...}, {...}]`` (or constructor calls with literal arguments), unwrapped from a response or a dict."""
        if isinstance(value, cst.Name) and frame is not None and value.value in frame.literal_locals:
            value = frame.literal_locals[value.value]
        if isinstance(value, cst.Call) and self.answers.response_row(value.func) is not None:
            inner = argument(value, 0, "content") or argument(value, None, "data") or argument(value, None, "body")
            return self.records(inner, frame) if inner is not None else None
        if isinstance(value, cst.Call) and _reorders(value):
            return self.records(value.args[0].value, frame)
        if isinstance(value, (cst.ListComp, cst.GeneratorExp)):
            return self._generated(value, frame)
        if isinstance(value, cst.Tuple) and 2 <= len(value.elements) <= 3 and literal_status(value.elements[1].value):
            return self.records(value.elements[0].value, frame)
        if isinstance(value, cst.Dict):
            for element in value.elements:
                if isinstance(element, cst.DictElement) and isinstance(element.value, (cst.List, cst.Tuple)):
                    found = self.records(element.value, frame)
                    if found is not None:
                        return found
            return None
        if not isinstance(value, (cst.List, cst.Tuple)) or len(value.elements) < 2:
            return None
        rows: list[list[tuple[str, cst.BaseExpression]]] = []
        for item in value.elements:
            if isinstance(item, cst.StarredElement):
                return None
            row = self._record(item.value)
            if row is None or len(row) < 2:
                return None
            rows.append(row)
        return self._summary(value, rows)

    def _generated(self, node: cst.ListComp | cst.GeneratorExp, frame: Frame | None) -> Records | None:
        """``[{"id": i, "name": f"Product {i}"} for i in range(1, 11)]``: records made in a loop over
        literal values, from the loop variable, literals and random values only."""
        loop = node.for_in
        if loop.inner_for_in is not None or loop.ifs:
            return None
        count = _iterations(loop.iter)
        if count is None or count < 2:
            return None
        names = frozenset(target_names(loop.target))
        row = self._record(node.elt, names, frame)
        if row is None or len(row) < 2:
            return None
        records = self._summary(node, [row])
        records.count = count
        if _range_start(loop.iter) == 1:
            for key, value in row:
                if (key == "id" or key.endswith("_id")) and isinstance(value, cst.Name) and value.value in names:
                    records.signs.insert(0, f"sequential `{key}` values")
        return records

    def _record(
        self, node: cst.BaseExpression, loop: frozenset[str] = frozenset(), frame: Frame | None = None
    ) -> list[tuple[str, cst.BaseExpression]] | None:
        if isinstance(node, cst.Dict):
            pairs = []
            for element in node.elements:
                if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
                    return None
                key = element.key.evaluated_value
                if not isinstance(key, str) or not self._made(element.value, loop, frame):
                    return None
                pairs.append((key, element.value))
            return pairs
        if isinstance(node, cst.Call) and is_class_name(node.func):
            if self.answers.response_row(node.func) is not None:
                return None
            pairs = []
            for arg in node.args:
                if arg.keyword is None or arg.star or not self._made(arg.value, loop, frame):
                    return None
                pairs.append((arg.keyword.value, arg.value))
            return pairs
        return None

    def _made(self, value: cst.BaseExpression, loop: frozenset[str], frame: Frame | None) -> bool:
        """A literal; in a generated record also a value made from the loop variable or a random source."""
        if is_literal(value):
            return True
        if not loop:
            return False
        if frame is not None and self.contains_random(value, frame):
            return True
        for child in scope_descendants(value):
            if isinstance(child, cst.Name) and child.value not in loop and child.value not in _CONVERSIONS:
                return False
            if isinstance(child, (cst.Attribute, cst.Subscript, cst.Await, cst.Lambda)):
                return False
        return True

    def _summary(self, node: cst.BaseExpression, rows: list[list[tuple[str, cst.BaseExpression]]]) -> Records:
        """Keys, corroborating signs and shape of literal records; a module constant is placed later."""
        tables = self.tables
        keys = sorted({k for row in rows for k, _ in row})
        signs: list[str] = []
        for key in keys:
            if key == "id" or key.endswith("_id"):
                numbers = [int_value(v) for row in rows for k, v in row if k == key]
                if (
                    len(numbers) == len(rows)
                    and all(n is not None for n in numbers)
                    and numbers == list(range(1, len(rows) + 1))
                ):
                    signs.append(f"sequential `{key}` values")
        made_up = [s for row in rows for _, v in row for s in strings(v) if any(p.search(s) for p in tables.fabricated)]
        if made_up:
            signs.append(f"made-up values such as `{made_up[0]}`")
        entities = [k for k in keys if k in tables.entity_keys]
        if entities:
            signs.append(f"entity fields ({', '.join(entities[:3])})")
        reference = set(keys) <= tables.reference_keys and not made_up
        span = self.state.web.locate(node) if self.state.frames else Span()
        return Records(span, len(rows), keys, signs, reference)

    def contains_random(self, value: cst.BaseExpression, frame: Frame) -> bool:
        if not self.state.random_gate:
            return False
        for node in _value_nodes(value):  # type() tests: isinstance() on libcst classes is 10x slower
            if type(node) is cst.Name and node.value in frame.random_locals:
                return True
            if type(node) is not cst.Call:
                continue
            func = node.func
            ref = self.context.qualified_name(func) or ""
            last = ref.rpartition(".")[2]
            if ref in self.tables.random_names or ref.startswith(self.tables.random_prefixes):
                if last not in _PICKS or _literal_options(node):
                    return True
                continue
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
                receiver = func.value.value
                if receiver in self.state.random_instances and not self.state.is_local(receiver):
                    return True
        return False

    def random_fields(
        self, value: cst.BaseExpression, frame: Frame, field: str | None
    ) -> Iterator[tuple[cst.CSTNode, str | None]]:
        """(random value, the field it fills) inside a returned dict/list/model/response."""
        if not self.state.random_gate:
            return
        if isinstance(value, cst.Dict):
            for element in value.elements:
                if not isinstance(element, cst.DictElement):
                    continue
                key = element.key.evaluated_value if isinstance(element.key, cst.SimpleString) else None
                name = key if isinstance(key, str) else None
                yield from self.random_fields(element.value, frame, name)
        elif isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            for item in value.elements:
                yield from self.random_fields(item.value, frame, field)
        elif isinstance(value, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            yield from self.random_fields(value.elt, frame, field)
        elif isinstance(value, cst.Name) and value.value in frame.random_records:
            yield from frame.random_records[value.value]
        elif isinstance(value, cst.Call) and _reorders(value):
            yield from self.random_fields(value.args[0].value, frame, field)
        elif isinstance(value, cst.Call) and (
            self.answers.response_row(value.func) is not None or is_class_name(value.func)
        ):
            for arg in value.args:
                yield from self.random_fields(arg.value, frame, arg.keyword.value if arg.keyword is not None else field)
        elif self.contains_random(value, frame):
            yield value, field

    # ----------------------------------------------------------------- mock toggles

    def toggle(self, test: cst.BaseExpression, branches: list[cst.CSTNode]) -> None:
        frame = self.state.frame()
        if frame is None or not self.state.toggle_gate:
            return
        flag = self._toggle_flag(test, frame)
        if flag is None:
            return
        for branch in branches:
            mock = self._mock_branch(branch)
            if mock is not None:
                frame.facts.toggles.append(Flagged(self.state.web.locate(test), flag, mock))
                return

    def _toggle_flag(self, test: cst.BaseExpression, frame: Frame) -> str | None:
        tables = self.tables
        for node in scope_descendants(test):
            key: str | None = None
            holder: cst.BaseExpression | None = None
            if isinstance(node, cst.Call):
                first = argument(node, 0, None)
                if isinstance(first, cst.SimpleString) and isinstance(node.func, cst.Attribute):
                    key, holder = text(first), node.func.value
                elif (
                    isinstance(first, cst.SimpleString)
                    and (self.context.qualified_name(node.func) or "") == "os.getenv"
                ):
                    key, holder = text(first), node.func
            elif isinstance(node, cst.Subscript) and len(node.slice) == 1:
                index = node.slice[0].slice
                if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                    key, holder = text(index.value), node.value
            elif isinstance(node, cst.Attribute):
                key, holder = node.attr.value, node.value
            elif (
                isinstance(node, cst.Name)
                and not self.state.is_local(node.value)
                and set(name_tokens(node.value)) & tables.toggle_tokens
                and (node.value in self.state.module_names or node.value in self.context.imports.aliases)
            ):
                return node.value
            if not key or holder is None or not set(name_tokens(key)) & tables.toggle_tokens:
                continue
            written = dotted_name(holder) or ""
            qualified = self.context.qualified_name(holder) or ""
            configured = any(set(name_tokens(part)) & tables.config_tokens for part in written.split("."))
            if qualified == "os" or qualified.startswith("os.") or configured:
                return short(node)
        return None

    def _mock_branch(self, branch: cst.CSTNode) -> str | None:
        """What a branch serves if it is mock data: a literal collection, or a fake-named store or function."""
        values: list[cst.BaseExpression] = []
        if isinstance(branch, cst.BaseExpression):
            values.append(branch)
        else:
            values += [n.value for n in scope_descendants(branch) if isinstance(n, cst.Return) and n.value is not None]
        for value in values:
            if isinstance(value, cst.Call) and self.answers.response_row(value.func) is not None:
                value = argument(value, 0, "content") or value
            if is_collection(value) and has_elements(value):
                return "a literal collection"
            target = value.func if isinstance(value, cst.Call) else value
            name = dotted_name(target)
            if name and set(name_tokens(name.rpartition(".")[2])) & self.tables.fake_tokens:
                return f"`{name}`"
        return None


# --------------------------------------------------------------------------- small syntax helpers


def _is_binding_position(node: cst.Name, parent: cst.CSTNode) -> bool:
    """The name is being bound or is a label (a keyword, an attribute name), not read."""
    if isinstance(parent, cst.Attribute) and parent.attr is node:
        return True
    if isinstance(parent, (cst.AssignTarget, cst.Param, cst.ImportAlias, cst.AsName, cst.FunctionDef, cst.ClassDef)):
        return True
    if isinstance(parent, cst.Arg) and parent.keyword is node:
        return True
    return isinstance(parent, (cst.AnnAssign, cst.AugAssign)) and parent.target is node


_WARNS = frozenset({"warning", "warn", "error", "critical", "exception"})
_EMPTY = frozenset({cst.Dict, cst.List, cst.Tuple})


def _announced_empty_fallback(node: cst.FunctionDef) -> bool:
    """A fallback the docstring documents rather than data it fakes: every ``return`` answers an empty
    collection (or nothing) and the function logs a warning that it runs (opal-server's default data
    route: "a fake data source ... will return an empty dataset" and a warning that the data sources
    are not configured). Nothing made up reaches a client, and operators are told."""
    returns, warns = 0, False
    for current in scope_descendants(node.body):
        if type(current) is cst.Return:
            value = current.value
            if value is not None and not (
                (type(value) in _EMPTY and not getattr(value, "elements", None))
                or (type(value) is cst.Name and value.value == "None")
            ):
                return False
            returns += 1
        elif type(current) is cst.Call and type(current.func) is cst.Attribute and current.func.attr.value in _WARNS:
            receiver = dotted_name(current.func.value) or ""
            warns = warns or "log" in receiver.rpartition(".")[2].lower()
    return returns > 0 and warns


# Calls whose result is their argument's value, converted or formatted: a random argument stays random.
_CARRIES = frozenset(
    {"str", "int", "float", "round", "abs", "bool", "format", "repr", "hex", "min", "max", "sum", "list", "tuple",
     "set", "dict", "sorted", "reversed", "join", "dumps", "upper", "lower", "strip", "floor", "ceil", "timedelta"}
)  # fmt: skip


_SCOPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})  # what runs later, not with the value


def _value_nodes(value: cst.BaseExpression) -> Iterator[cst.CSTNode]:
    """The nodes of ``value`` whose value it carries: every node of its scope but the arguments of a
    call that computes something else from them. ``transcribe(audio_path)`` with a random file name
    answers the transcription of the file, not a random value; ``round(random.uniform(1, 5), 1)``
    and ``Decimal(...)``, ``str(uuid4())``, ``"{}".format(...)`` keep their argument's value."""
    stack: list[cst.CSTNode] = [value]
    while stack:
        current = stack.pop()
        yield current
        kids = children(current)
        if type(current) is cst.Call and not _carries(current.func):
            kids = [current.func]
        stack.extend(child for child in reversed(kids) if type(child) not in _SCOPES)


def _literal_options(pick: cst.Call) -> bool:
    """A pick (``random.choice``, ``random.sample``) fabricates a value only from options written in the code."""
    options = argument(pick, 0, "population") or argument(pick, 0, "seq")
    return isinstance(options, (cst.List, cst.Tuple))


def _carries(func: cst.BaseExpression) -> bool:
    name = func.attr.value if type(func) is cst.Attribute else getattr(func, "value", "")
    return name in _CARRIES or is_class_name(func)


def _reorders(node: cst.Call) -> bool:
    """``sorted(records, key=...)``, ``list(records)``: the same records, reordered or copied."""
    return (
        isinstance(node.func, cst.Name) and node.func.value in _REORDERS and bool(node.args) and not node.args[0].star
    )


def _iterations(node: cst.BaseExpression) -> int | None:
    """How many times a loop over ``node`` runs when that is written in the code: ``range(1, 11)``, a literal list."""
    if isinstance(node, (cst.List, cst.Tuple)) and is_literal(node):
        return len(node.elements)
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "range"):
        return None
    bounds = [int_value(a.value) for a in node.args if a.keyword is None]
    if not 1 <= len(bounds) <= 2 or any(b is None for b in bounds):
        return None
    start, stop = (0, bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
    assert start is not None and stop is not None
    return min(max(stop - start, 0), _MAX_ITERATIONS)


def _range_start(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "range":
        bounds = [int_value(a.value) for a in node.args if a.keyword is None]
        return 0 if len(bounds) == 1 else bounds[0] if bounds else None
    return None


_LINE_END = re.compile(r"[\r\n]")


def _maybe_marked(source: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
    """Whether a pattern matches the text from some ``#`` to the end of its line: every comment
    token (``#[^\\r\\n]*``, tokenize's) is one of these, so a file where none matches has no marked
    comment. Ten times cheaper than searching the whole source (0.63 s -> 0.06 s on Django's
    files), and fewer files pay for ``tokenize`` (67 -> 37). True is always safe (``tokenize`` then
    decides): lines of many ``#`` give up past twice the source's length searched."""
    find = source.find
    budget = 2 * len(source)
    start = find("#")
    while start >= 0:
        end = _LINE_END.search(source, start)
        candidate = source[start : end.start() if end is not None else len(source)]
        budget -= len(candidate)
        if budget < 0 or any(p.search(candidate) for p in patterns):
            return True
        start = find("#", start + 1)
    return False


def _record_markers(knowledge: Knowledge) -> tuple[re.Pattern[str], ...]:
    return knowledge.derived(_compile_record_markers)


def _compile_record_markers(knowledge: Knowledge) -> tuple[re.Pattern[str], ...]:
    rows = knowledge.rows("mock-data")
    return tuple(re.compile(r["pattern"]) for r in rows if r["role"] == "record-marker" and "pattern" in r)
