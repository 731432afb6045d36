"""Long literals bound to a name that does not name a secret, that may be keys (BL205's detector)."""

from __future__ import annotations

import re

import libcst as cst

from backlint.analysis.secrets.facts import HighEntropy
from backlint.analysis.secrets.slots import string_value, target_name
from backlint.analysis.strings import (
    is_password_hash,
    is_sequential,
    is_templated,
    lexicon,
    name_tokens,
    secret_patterns,
)
from backlint.core.rule import Analysis, FileContext

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class HighEntropyLiterals(Analysis):
    """Every long literal bound to a name that could be a key: no secret name, no UUID, template, hash,
    known format or alphabet run. How random it must look is BL205's option (``high_entropy``)."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.lexicon = lexicon(context.knowledge)
        self.patterns = secret_patterns(context.knowledge)
        self.facts: list[HighEntropy] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            name = target_name(target.target)
            if name is not None:
                self._check(node.value, name)
                return

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        name = target_name(node.target)
        if name is not None and node.value is not None:
            self._check(node.value, name)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._check(node.value, node.keyword.value)

    def _check(self, literal: cst.BaseExpression, name: str) -> None:
        value = string_value(literal)
        if value is None or len(value) < 20 or " " in value:
            return
        tokens = name_tokens(name)
        if not tokens or any(t in self.lexicon.entropy_exempt for t in tokens):
            return
        if self.lexicon.sensitivity_of(tokens) is not None:  # BL202's
            return
        if _UUID.match(value) or is_sequential(value) or is_templated(value) or is_password_hash(value):
            return
        if self.patterns.recognizes(value, name):
            return
        self.facts.append(HighEntropy(literal, value, tuple(self.context.ancestors), name))
