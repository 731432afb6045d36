"""CI sharding: ``check --shard i/n`` lints a stable 1/n of the files, ``backlint merge`` joins them.

A file belongs to shard ``i`` of ``n`` by a hash of its path relative to the project root, so every
runner agrees without talking to the others, and a file stays in its shard from run to run. A shard
writes its per-file findings, notices and ModuleFacts to a JSON file (plain data, readable by any
backlint of the same version on any machine); the merge runs the project rules once over the facts
of all shards, in discovery order, and so reports exactly what one unsharded run would.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import gzip
import hashlib
import importlib
import json
import math
import re
import types
import typing
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backlint import __version__
from backlint.core.files import atomic_write, read_limited
from backlint.core.results import Finding, ModuleFacts, Notice

FORMAT = "backlint-shard"
VERSION = 1
MAX_SHARD_BYTES = 1024 * 1024 * 1024  # a shard file (also once decompressed) larger than this is refused
_SHARD = re.compile(r"^\s*(?P<index>[0-9]+)\s*/\s*(?P<count>[0-9]+)\s*$")


class ShardError(Exception):
    """A bad ``--shard`` value or shard file: reported with exit code 2."""


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` → ``(2, 4)``: shards are numbered from 1, like a CI matrix."""
    match = _SHARD.match(text)
    if match is None:
        raise ShardError(f"--shard: expected INDEX/COUNT such as 1/4, got {text!r}")
    index, count = int(match.group("index")), int(match.group("count"))
    if not 1 <= index <= count:
        raise ShardError(f"--shard: the index must be between 1 and {count}, got {text!r}")
    return index, count


def shard_of(relative: str, count: int) -> int:
    """The 1-based shard of a project-relative POSIX path: the same on every machine and run."""
    digest = hashlib.sha256(relative.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def settings_key(settings: Any, config: Any) -> str:
    """The engine's settings and the configuration (but where it lives), comparable across machines."""
    placeless = dataclasses.replace(config, root=Path("."), source=None)
    return hashlib.sha256(f"{__version__}\n{settings!r}\n{placeless!r}".encode()).hexdigest()[:32]


# -- plain data <-> JSON ---------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """JSON-ready data that ``decode`` turns back into equal values (tuples, sets, dataclasses kept)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return {"$t": [encode(v) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"$d": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, (set, frozenset)):
        items = sorted((encode(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
        return {"$fs" if isinstance(value, frozenset) else "$s": items}
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, enum.Enum):
        return {"$e": _name_of(type(value)), "v": encode(value.value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if "__dataclass_fields__" not in type(value).__dict__:
            # A plain subclass of a dataclass keeps its own state (frameworks.LazySpan: a node's
            # place, resolved to a position only when used): saved as is, like pickle does.
            return {"$o": _name_of(type(value)), "state": encode(vars(value))}
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$dc": _name_of(type(value)), "f": fields}
    raise TypeError(f"cannot write {type(value).__name__} to a shard file")


def _name_of(cls: type) -> str:
    if not cls.__module__.startswith("backlint."):
        raise TypeError(f"cannot write {cls.__module__}.{cls.__qualname__} to a shard file")
    return f"{cls.__module__}:{cls.__qualname__}"


def decode(data: Any) -> Any:
    """The inverse of ``encode``; only backlint's own dataclasses and enums are built."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, dict):
        return _decoded({k: decode(v) for k, v in data.items()})
    return data


def _decoded(data: dict[str, Any]) -> Any:
    """One JSON object whose values are decoded already: ``json.loads``'s ``object_hook``."""
    if "$t" in data:
        return tuple(data["$t"])
    if "$d" in data:
        return {_hashable(k): v for k, v in data["$d"]}
    if "$s" in data:
        return {_hashable(v) for v in data["$s"]}
    if "$fs" in data:
        return frozenset(_hashable(v) for v in data["$fs"])
    if "$f" in data:
        return float(data["$f"])
    if "$b" in data:
        return base64.b64decode(data["$b"])
    if "$e" in data:
        return _class(data["$e"], enum=True)(data["v"])
    if "$o" in data:
        instance = object.__new__(_class(data["$o"], enum=False))
        instance.__dict__.update(data["state"])
        return instance
    if "$dc" in data:
        cls = _class(data["$dc"], enum=False)
        obj = object.__new__(cls)
        hints = _field_types(cls)
        if not isinstance(data["f"], dict) or set(data["f"]) != set(hints):
            raise ShardError(f"{data['$dc']}: expected the fields {sorted(hints)}, got {_cut(data['f'])}")
        checked = cls.__module__.startswith("backlint.core.")  # the report's data; facts are the rules' own
        for name, value in data["f"].items():
            if checked and not _conforms(value, hints[name]):
                wanted = getattr(hints[name], "__name__", None) or str(hints[name]).replace("typing.", "")
                raise ShardError(f"{data['$dc']}.{name}: expected {wanted}, got {_cut(value)}")
            object.__setattr__(obj, name, value)
        return obj
    return data


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    """Each field's type (``Any`` where a type cannot be resolved here)."""
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):
        hints = {}
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls)}


def _conforms(value: Any, hint: Any) -> bool:
    """Whether decoded ``value`` has type ``hint``: a shard file's data is checked as it is read,
    so that a damaged or forged file fails there (exit 2) and not deep inside the merge."""
    if hint is Any or isinstance(hint, (typing.TypeVar, str, typing.ForwardRef)):
        return True
    if hint is None or hint is type(None):
        return value is None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(_conforms(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    # Containers: the container's type, and its items' where their type is not itself generic.
    if origin in (list, set, frozenset):
        return isinstance(value, origin) and all(_conforms(v, args[0]) for v in value if _plain_type(args))
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value if _plain_type(args[:1]))
        return not args or (len(args) == len(value) and all(_conforms(v, a) for v, a in zip(value, args)))
    if origin is dict:
        return isinstance(value, dict) and all(
            _conforms(k, args[0]) and (not _plain_type(args[1:]) or _conforms(v, args[1]))
            for k, v in value.items()
            if _plain_type(args[:1])
        )
    if origin is not None:  # Callable, abstract collections: not in shard data
        return True
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _plain_type(args: tuple[Any, ...]) -> bool:
    return bool(args) and typing.get_origin(args[0]) is None


def _cut(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, dict, set)):
        raise ShardError(f"unhashable key in shard file: {value!r}")
    return value


@functools.cache
def _class(name: str, *, enum: bool) -> Any:
    module_name, _, qualname = name.partition(":")
    if not (module_name == "backlint" or module_name.startswith("backlint.")):
        raise ShardError(f"refusing to build {name} from a shard file")
    try:
        value: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError) as exc:
        raise ShardError(f"unknown type {name} in shard file") from exc
    wanted = isinstance(value, type) and (issubclass(value, _Enum) if enum else dataclasses.is_dataclass(value))
    if not wanted:
        raise ShardError(f"refusing to build {name} from a shard file")
    return value


_Enum = enum.Enum


# -- shard files -----------------------------------------------------------------------------------


@dataclasses.dataclass
class ShardData:
    """One shard's output: its per-file results, facts, and where its files stand in discovery order."""

    index: int
    count: int
    settings_key: str
    selection: dict[str, Any]  # the command line's rule selection, re-applied by the merge
    files: list[tuple[int, str]]  # (position in the unsharded discovery order, display path)
    findings: list[Any]
    notices: list[Any]
    facts: list[tuple[int, Any]]  # (position, ModuleFacts)
    internal_errors: int


def write(path: Path, data: ShardData) -> None:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "backlint": __version__,
        "shard": [data.index, data.count],
        "settings": data.settings_key,
        "selection": data.selection,
        "files": [list(item) for item in data.files],
        "internal_errors": data.internal_errors,
        "findings": encode(data.findings),
        "notices": encode(data.notices),
        "facts": [[position, encode(facts)] for position, facts in data.facts],
    }
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    payload = text.encode("utf-8")
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    atomic_write(path, payload)


def read(path: Path) -> ShardData:
    try:
        payload = read_limited(path, MAX_SHARD_BYTES)
        if payload[:2] == b"\x1f\x8b":
            payload = _gunzip(payload)
        text = payload.decode("utf-8")
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise ShardError(f"{path}: cannot read shard file: {exc}") from exc
    try:
        document = json.loads(text, object_hook=_decoded)  # decoded while parsed: 5x faster than after
    except RecursionError as exc:
        raise ShardError(f"{path}: cannot read shard file: nested too deeply") from exc
    except (ShardError, KeyError, TypeError, ValueError, AttributeError) as exc:
        _check_header(path, _plain(text))  # another version's types: say that rather than the detail
        raise ShardError(f"{path}: cannot read shard file: {exc}") from exc
    _check_header(path, document)
    try:
        index, count = document["shard"]
        data = ShardData(
            index=int(index),
            count=int(count),
            settings_key=str(document["settings"]),
            selection=dict(document["selection"]),
            files=[(int(position), str(display)) for position, display in document["files"]],
            findings=list(document["findings"]),
            notices=list(document["notices"]),
            facts=[(int(position), facts) for position, facts in document["facts"]],
            internal_errors=int(document["internal_errors"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ShardError(f"{path}: malformed shard file: {exc!r}") from exc
    problem = _shape_problem(data)
    if problem:
        raise ShardError(f"{path}: malformed shard file: {problem}")
    return data


def _gunzip(payload: bytes) -> bytes:
    """``gzip.decompress`` that stops at MAX_SHARD_BYTES: a small file never inflates without end."""
    inflater = zlib.decompressobj(wbits=31)
    out = inflater.decompress(payload, MAX_SHARD_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError(f"more than {MAX_SHARD_BYTES} bytes once decompressed")
    return out


def _shape_problem(data: ShardData) -> str | None:
    """What the merge would trip on in an otherwise well-formed file, or None."""
    if not 1 <= data.index <= data.count:
        return f"shard {data.index}/{data.count}"
    selection = data.selection
    for key in ("extend_select", "ignore"):
        if not _conforms(selection.get(key, []), list[str]):
            return f"selection.{key}: expected a list of rule ids, got {_cut(selection.get(key))}"
    if not _conforms(selection.get("select"), list[str] | None):
        return f"selection.select: expected a list of rule ids or null, got {_cut(selection.get('select'))}"
    for name, items, kind in (("findings", data.findings, Finding), ("notices", data.notices, Notice)):
        wrong = next((item for item in items if not isinstance(item, kind)), None)
        if wrong is not None:
            return f"{name}: expected {kind.__name__} entries, got {_cut(wrong)}"
    wrong = next((facts for _, facts in data.facts if not isinstance(facts, ModuleFacts)), None)
    if wrong is not None:
        return f"facts: expected ModuleFacts entries, got {_cut(wrong)}"
    if data.internal_errors < 0:
        return f"internal_errors: {data.internal_errors}"
    return None


def _plain(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _check_header(path: Path, document: Any) -> None:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ShardError(f"{path}: not a backlint shard file")
    if document.get("version") != VERSION or document.get("backlint") != __version__:
        raise ShardError(
            f"{path}: written by backlint {document.get('backlint')} (shard format {document.get('version')}); "
            f"this is backlint {__version__}: run every shard and the merge with the same version"
        )


def check_complete(shards: Sequence[tuple[Path, ShardData]]) -> None:
    """Every shard of one split, each once, made with the same settings: else the merge would lie."""
    if not shards:
        raise ShardError("no shard files given")
    counts = {data.count for _, data in shards}
    if len(counts) != 1:
        raise ShardError(f"shard files come from different splits: {sorted(counts)} shards")
    (count,) = counts
    seen: dict[int, Path] = {}
    for path, data in shards:
        if data.index in seen:
            raise ShardError(f"shard {data.index}/{count} given twice: {seen[data.index]} and {path}")
        seen[data.index] = path
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise ShardError(f"missing shard file(s) for {', '.join(f'{i}/{count}' for i in missing)}")
    positions = sorted(position for _, data in shards for position, _ in data.files)
    if positions != list(range(len(positions))):
        raise ShardError("the shards saw different file trees: run every shard on the same checkout")
    keys = {data.settings_key for _, data in shards}
    selections = {json.dumps(data.selection, sort_keys=True) for _, data in shards}
    if len(keys) != 1 or len(selections) != 1:
        raise ShardError("shard files were made with different configurations or rule selections")
