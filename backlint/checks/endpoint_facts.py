"""Records what function bodies answer, leak, fabricate and check, for the endpoint rules' project pass.

The walk itself is ``BodyFile`` (``backlint/analysis/web/body_file.py``); which functions are served
as endpoints is known only across modules (``backlint/analysis/web/served.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from backlint.analysis.exception_text import ExceptionTexts
from backlint.analysis.web.body_file import BodyFile
from backlint.analysis.web.file import body_triggers
from backlint.core.catalog import Knowledge
from backlint.core.facts import FactCollector


class EndpointFacts(FactCollector):
    """Answers from ``except`` clauses, leaked errors, literal records, fake data and auth evidence."""

    REQUIRES = (BodyFile,)

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        return body_triggers(knowledge)

    def leave_Module(self, node: cst.Module) -> None:
        self.context.facts.update(self.context.get(BodyFile).facts)


class ExceptionTextFacts(FactCollector):
    """The project's exception classes, what their constructions carry, and sanitising message helpers."""

    REQUIRES = (ExceptionTexts,)

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        # The modules whose bodies are summarised: a file that records facts and then fails to parse
        # withholds the project findings (backlint/pipeline/engine.py), so no file is added here.
        return body_triggers(knowledge)

    def leave_Module(self, node: cst.Module) -> None:
        self.context.facts.update(self.context.get(ExceptionTexts).facts())
