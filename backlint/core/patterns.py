"""Regular expressions from two sources: backlint's own tables compile with ``re`` (some use
lookarounds; they are tested against adversarial input), the user's (rows added under
``[tool.backlint.tables]``, ``*-regex`` options) with RE2, which runs in time linear in the text: a
configuration from a pull request cannot hang the run with a catastrophic pattern (issue 20)."""

from __future__ import annotations

import functools
import re
from typing import Any


class UserPattern(str):
    """A pattern written in the user's configuration: ``compile_pattern`` gives it to RE2."""

    __slots__ = ()


def compile_pattern(pattern: str, ignore_case: bool = False) -> Any:
    """The compiled pattern (``search``, ``match``, ``finditer``, groups as in ``re``)."""
    return _compile(pattern, isinstance(pattern, UserPattern), ignore_case)


@functools.lru_cache(maxsize=512)
def _compile(pattern: str, user: bool, ignore_case: bool) -> Any:
    if not user:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    import re2  # google-re2: only when the configuration has patterns of its own

    return re2.compile(f"(?i){pattern}" if ignore_case else str(pattern), _options())


def re2_problem(pattern: str) -> str | None:
    """Why RE2 cannot run ``pattern`` (lookarounds, backreferences, bad syntax), or None."""
    import re2

    try:
        re2.compile(str(pattern), _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    except (TypeError, ValueError) as exc:
        return str(exc)
    return None


def _options() -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print its own message on stderr
    return options
