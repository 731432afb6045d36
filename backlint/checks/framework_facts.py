"""Records the facts of the framework model for the project pass (``backlint/analysis/web/model.py``).

The walk itself is ``FrameworkFile`` (``backlint/analysis/web/framework_file.py``): this collector
runs it on the modules that mention a framework, a data-store client or a setting the model reads,
and stores what it found in the module's facts.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from backlint.analysis.web.file import framework_triggers
from backlint.analysis.web.framework_file import FrameworkFile
from backlint.core.catalog import Knowledge
from backlint.core.facts import FactCollector


class FrameworkFacts(FactCollector):
    """Apps, routers, routes, hooks, handlers, data stores and per-function summaries of a module."""

    REQUIRES = (FrameworkFile,)

    @classmethod
    def trigger_tokens(cls, knowledge: Knowledge) -> Iterable[str]:
        # "import": a module without framework names still links an endpoint to the data store when it
        # calls project functions (fixtures/sql_helpers_app/shopdata/reports.py): without its summaries the
        # pre-filter would change BL401's answer (tests/test_parallel.py runs both ways).
        return (*framework_triggers(knowledge), "import")

    def leave_Module(self, node: cst.Module) -> None:
        self.context.facts.update(self.context.get(FrameworkFile).facts)
