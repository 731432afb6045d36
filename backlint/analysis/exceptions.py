"""What an ``except`` clause catches, by the roles in the exception-classes table."""

from __future__ import annotations

import libcst as cst

from backlint.core.rule import FileContext


def caught_names(handler: cst.ExceptHandler, context: FileContext) -> list[str] | None:
    """Qualified names of the caught classes; None for a bare ``except:``."""
    if handler.type is None:
        return None
    elements = handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]
    names = []
    for element in elements:
        value = element.value if isinstance(element, cst.Element) else element
        names.append(context.qualified_name(value) or "")
    return names


def roles(names: list[str], context: FileContext) -> set[str]:
    table = {row["name"]: row["role"] for row in context.knowledge.rows("exception-classes")}
    return {table[n] for n in names if n in table}


def is_broad(handler: cst.ExceptHandler, context: FileContext) -> bool:
    """``except:``, ``except Exception``/``BaseException`` or a data-store error."""
    names = caught_names(handler, context)
    return names is None or bool(roles(names, context) & {"broad", "database"})


def catches_every_error(handler: cst.ExceptHandler, context: FileContext) -> bool:
    """``except:``, ``except Exception``/``BaseException`` or a data-store *base* error: not one kind of
    failure (``IntegrityError``, a lost connection; ``specific`` in the exception-classes table)."""
    names = caught_names(handler, context)
    if names is None:
        return True
    rows = {row["name"]: row for row in context.knowledge.rows("exception-classes")}
    return any(n in rows and rows[n]["role"] in ("broad", "database") and not rows[n].get("specific") for n in names)
