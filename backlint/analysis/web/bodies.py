"""What function bodies answer, leak, fabricate and check: facts for the BL4xx, BL5xx and BL8xx rules.

The walk (``backlint/analysis/web/body_file.py``) summarises every function that answers, leaks,
fabricates or checks something into a ``BodyFacts``, keyed by the same qualified name as the
framework model's ``FunctionFacts``; ``EndpointIndex`` (``backlint/analysis/web/served.py``) joins
them with the endpoints the model serves.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from backlint.core.results import Span

if TYPE_CHECKING:
    from backlint.analysis.lazy import LazyFix

BODIES, EXTRAS = "ep.bodies", "ep.module"

# --------------------------------------------------------------------------- facts


@dataclasses.dataclass
class Flagged:
    """Something found at a place: ``text`` is the code or comment, ``detail`` what it means."""

    span: Span
    text: str
    detail: str = ""


@dataclasses.dataclass
class Answer:
    """A response given by an ``except`` clause; ``status`` None means the framework's default (200)."""

    span: Span
    text: str
    status: int | None
    # BL404's fixes by framework ("" for any): a bare body is answered differently in Flask and FastAPI.
    fixes: dict[str, LazyFix] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Leak:
    """Exception text reaching a response (BL405)."""

    span: Span
    text: str
    sink: str  # "return" (a plain value) | "response" (a response object) | "http-error" (raise/abort)
    status: int | None  # None: implicit (200) or not known
    via_param: bool  # the exception is a parameter (a registered handler's ``exc``), not an ``except`` name
    fix: LazyFix | None = None
    caught: tuple[str, ...] = ()  # the classes the ``except`` catches, as project-wide references
    # When the text reaches the answer only through calls of functions the project may define
    # (``error_message(e, "Could not save")``): (callee reference, argument position, keyword) of each;
    # the project pass keeps the leak unless every callee sanitises that argument.
    helpers: tuple[tuple[str, int | None, str | None], ...] = ()


@dataclasses.dataclass
class Records:
    """A literal list of records returned by a function (BL503)."""

    span: Span
    count: int
    keys: list[str]
    signs: list[str]  # corroboration seen in the values: made-up names, sequential ids, entity keys
    reference: bool  # shaped like an enum/choices listing
    constant: str | None = None  # a module-level constant returned by reference, resolved in the project pass


@dataclasses.dataclass
class NetworkCall:
    span: Span
    text: str
    guarded: bool  # inside a ``try`` whose handler covers broad or request errors


@dataclasses.dataclass
class BodyFacts:
    """One function's answers, leaks, fabricated data and caller checks."""

    qualname: str
    span: Span | None = None
    depends: list[str] = dataclasses.field(default_factory=list)  # FastAPI Depends/Security providers
    dependency_calls: list[str] = dataclasses.field(default_factory=list)  # Depends(RateLimiter(...)) classes
    annotations: list[str] = dataclasses.field(default_factory=list)  # parameter annotations (qualified)
    ok_answers: list[Answer] = dataclasses.field(default_factory=list)  # BL404
    leaks: list[Leak] = dataclasses.field(default_factory=list)  # BL405
    validation_answers: list[Answer] = dataclasses.field(default_factory=list)  # BL407
    network: list[NetworkCall] = dataclasses.field(default_factory=list)  # BL401
    state_io: list[NetworkCall] = dataclasses.field(default_factory=list)  # BL401: stores kept in app state
    records: list[Records] = dataclasses.field(default_factory=list)  # BL503
    impure: bool = False  # calls or awaits something that may do I/O (BL503 asks for none)
    random_values: list[Flagged] = dataclasses.field(default_factory=list)  # BL504; detail: the field
    fake_reads: list[Flagged] = dataclasses.field(default_factory=list)  # BL502; detail: the reference
    toggles: list[Flagged] = dataclasses.field(default_factory=list)  # BL506; detail: the mock branch
    docstring_marker: Flagged | None = None  # BL505
    docstring_record_marker: Flagged | None = None  # BL505, when the function returns literal records
    auth: list[str] = dataclasses.field(default_factory=list)  # BL801: evidence in the body
    ratelimit: list[str] = dataclasses.field(default_factory=list)  # BL802: evidence in the body

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("qualname", "span"))


@dataclasses.dataclass
class ModuleExtras:
    """Module-level facts: fake stores, record constants, auth schemes, global limits, marker comments."""

    fake_stores: dict[str, str] = dataclasses.field(default_factory=dict)  # name → "data" | "function"
    constants: dict[str, Records] = dataclasses.field(default_factory=dict)
    schemes: list[str] = dataclasses.field(default_factory=list)  # names bound to security schemes
    limiters: list[str] = dataclasses.field(default_factory=list)  # global rate-limit evidence
    markers: list[Flagged] = dataclasses.field(default_factory=list)  # BL505 comments
    record_markers: list[Flagged] = dataclasses.field(default_factory=list)  # BL505: looser, next to records
    classes: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # module-level class → base refs

    def is_empty(self) -> bool:
        return not (
            self.fake_stores
            or self.constants
            or self.schemes
            or self.limiters
            or self.markers
            or self.record_markers
            or self.classes
        )
