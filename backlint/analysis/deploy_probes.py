"""The HTTP paths the project's own deployment files probe: where the orchestrator asks "is this instance up?".

Read from the deployment files' text (``ProjectContext.deployment``, ``pipeline/deployfiles.py``):

- a Dockerfile's ``HEALTHCHECK CMD curl -f http://localhost:8000/healthz`` (curl, wget or any command
  naming a local URL);
- a Kubernetes manifest's or Helm chart template's ``livenessProbe``/``readinessProbe``/``startupProbe``
  ``httpGet.path``;
- a docker-compose ``healthcheck.test`` with a local URL, on a service built from the project
  (``build:``; a service running someone else's image probes that image);
- fly.toml ``[[services.http_checks]]``/``[[http_service.checks]]`` ``path``, render.yaml
  ``healthCheckPath``, Google App Engine app.yaml ``liveness_check``/``readiness_check`` ``path``.

A small line-based reader of indented ``key: value`` blocks, not a YAML parser: it reads only these
keys, ignores what it does not understand, never raises on malformed input and runs in time linear in
the file. A path that is templated (``{{ .Values.probe.path }}``) or built from a variable is left out;
a URL on another host (another service) too.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Iterable, Iterator

from backlint.core.facts import SideFile

MAX_LINES = 20_000  # lines read per file
_MAX_COMMAND = 4_000  # characters of a health-check command, of a YAML line read for a key


@dataclasses.dataclass(frozen=True)
class Probe:
    path: str  # the probed path, "/healthz"
    file: str  # project path of the deployment file
    line: int
    source: str  # "HEALTHCHECK", "readinessProbe", "compose healthcheck", ...
    scope: str  # the directory whose apps it probes ("": the whole project)
    suffix_only: bool = False  # the URL starts with a variable (``$ENDPOINT/info``): its prefix is unknown


def probes(files: Iterable[SideFile]) -> list[Probe]:
    """Every HTTP probe of the deployment files, in file order."""
    out: list[Probe] = []
    for side in files:
        name = posixpath.basename(side.path).lower()
        try:
            if "dockerfile" in name or "containerfile" in name:
                out += _dockerfile(side)
            elif name == "fly.toml":
                out += _fly(side)
            elif name.endswith((".yaml", ".yml")):
                out += _yaml(side, compose="compose" in name)
        except (ValueError, IndexError, RecursionError):  # malformed input: nothing read from it
            continue
    return out


# ------------------------------------------------------------------------------------------ URLs

# http(s)://host[:port]/path — the host may be a variable (${HOST:-localhost}); the path ends at a
# quote, a space or a shell operator.
_URL = re.compile(r"""https?://([^/\s"'`|;&)<>]*)(/[^\s"'`|;&)<>]*)?""")
# curl localhost:8000/health, wget -qO- 127.0.0.1/ping (no scheme: only after curl/wget)
_BARE = re.compile(r"""(?<![\w/.@-])(?:localhost|127\.0\.0\.1|0\.0\.0\.0)(?::[^/\s"'`|;&)<>]*)?(/[^\s"'`|;&)<>]*)?""")
# $ENDPOINT/info, ${BASE_URL}/healthz: the variable holds scheme, host and maybe a prefix
_VARIABLE = re.compile(r"""(?<![\w/])\$\$?(?:\{[^}\s]{1,80}\}|\w+)(/[^\s"'`|;&)<>]*)""")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "[::1]", "::1", ""})
_HTTP_CLIENT = re.compile(r"\b(?:curl|wget|http|httpie|urlopen|requests|httpx|aiohttp)\b")


def _url_paths(command: str) -> Iterator[tuple[str, bool]]:
    """(path, suffix_only) of each local URL a health-check command requests."""
    found = False
    for match in _URL.finditer(command):
        host = match.group(1).rpartition("@")[2]
        host = host.partition("]")[0] + "]" if host.startswith("[") else host.partition(":")[0]
        if host.lower() not in _LOCAL_HOSTS and not host.startswith("$") and "{{" not in host:
            found = True  # another service's URL
            continue
        found = True
        path = _clean(match.group(2) or "/")
        if path is not None:
            yield path, False
    if found or not _HTTP_CLIENT.search(command):
        return
    for match in _BARE.finditer(command):
        path = _clean(match.group(1) or "/")
        if path is not None:
            yield path, False
            return
    for match in _VARIABLE.finditer(command):
        path = _clean(match.group(1))
        if path is not None:
            yield path, True
            return


def _clean(path: str) -> str | None:
    """The path without query and fragment; None when it is templated or built from a variable."""
    path = path.split("?", 1)[0].split("#", 1)[0].rstrip("\\")
    if not path.startswith("/") or "$" in path or "{{" in path or "%" in path:
        return None
    return path


# ------------------------------------------------------------------------------------------ Dockerfile


def _instructions(side: SideFile) -> Iterator[tuple[int, str, str]]:
    """A Dockerfile's instructions with an argument: (line, keyword in upper case, argument), lines
    continued by a backslash joined, each cut at ``_MAX_COMMAND`` characters."""
    lines = side.text.splitlines()[:MAX_LINES]
    index = 0
    while index < len(lines):
        start = index
        parts = [lines[index]]
        while parts[-1].rstrip().endswith("\\") and index + 1 < len(lines):
            parts[-1] = parts[-1].rstrip()[:-1]
            index += 1
            parts.append(lines[index])
        index += 1
        words = " ".join(parts)[:_MAX_COMMAND].split(None, 1)
        if len(words) == 2:
            yield start + 1, words[0].upper(), words[1]


def _dockerfile(side: SideFile) -> list[Probe]:
    out: list[Probe] = []
    for line, keyword, argument in _instructions(side):
        if keyword != "HEALTHCHECK" or argument.strip().upper().startswith("NONE"):
            continue
        for path, suffix_only in _url_paths(argument):
            out.append(Probe(path, side.path, line, "Dockerfile HEALTHCHECK", side.scope, suffix_only))
    return out


# ------------------------------------------------------------------------------------------ fly.toml

_TOML_SECTION = re.compile(r"^\s*\[\[?\s*([\w.\-\"]+)\s*\]\]?\s*(?:#.*)?$")
_TOML_PATH = re.compile(r"""^\s*path\s*=\s*["']([^"']*)["']""")


def _fly(side: SideFile) -> list[Probe]:
    out: list[Probe] = []
    section = ""
    for number, line in enumerate(side.text.splitlines()[:MAX_LINES], 1):
        header = _TOML_SECTION.match(line)
        if header:
            section = header.group(1)
            continue
        value = _TOML_PATH.match(line)
        if value and "check" in section:
            path = _clean(value.group(1))
            if path is not None:
                out.append(Probe(path, side.path, number, "fly.toml check", side.scope))
    return out


# ------------------------------------------------------------------------------------------ YAML


@dataclasses.dataclass
class _Node:
    key: str | None  # None: a list item
    value: str  # the scalar after the colon (or the item's), block scalars and flow lists joined
    line: int
    indent: int
    children: list[_Node] = dataclasses.field(default_factory=list)

    def child(self, key: str) -> _Node | None:
        return next((c for c in self.children if c.key == key), None)


_KEY = re.compile(r"""^(?:"([^"]*)"|'([^']*)'|([^\s:#"'][^:#]*?))\s*:(?:\s+(.*))?$""")
_BLOCK_SCALAR = re.compile(r"^[|>][+-]?\d*$")


def _unquote(value: str) -> str:
    """A scalar's text: without its quotes, or without a trailing ``# comment``."""
    value = value.strip()
    if value[:1] in ("'", '"'):
        end = value.find(value[0], 1)
        return value[1:end] if end > 0 else value
    return value.replace("\t", " ").split(" #", 1)[0].strip()


def _tree(text: str) -> list[_Node]:
    """Indented ``key: value`` blocks and ``- `` items as a tree; documents (``---``) side by side."""
    roots: list[_Node] = []
    stack: list[_Node] = []
    block: _Node | None = None  # a block scalar or an open flow list collecting its lines
    for number, raw in enumerate(text.splitlines()[:MAX_LINES], 1):
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip(" "))
        if block is not None:
            if block.value.startswith("[") and "]" not in block.value:
                block.value += " " + stripped
                continue
            if not stripped or indent > block.indent:
                block.value += "\n" + stripped
                continue
            block = None
        if not stripped or stripped.startswith("#") or len(stripped) > _MAX_COMMAND:
            continue
        if stripped.startswith("---") or stripped.startswith("..."):
            stack = []
            continue
        nodes: list[_Node] = []
        content = stripped
        column = indent
        while content == "-" or content.startswith("- "):
            nodes.append(_Node(None, "", number, column))
            rest = content[1:].lstrip(" ")
            column += len(content) - len(rest)
            content = rest
        if content:
            match = _KEY.match(content)
            if match:
                key = next(g for g in match.groups()[:3] if g is not None).strip()
                nodes.append(_Node(key, (match.group(4) or "").strip(), number, column))
            elif nodes:
                nodes[-1].value = content
            else:
                continue
        for node in nodes:
            while stack and (
                stack[-1].indent > node.indent
                or (stack[-1].indent == node.indent and not (node.key is None and stack[-1].key is not None))
            ):
                stack.pop()
            if stack and stack[-1].indent == node.indent and node.key is None and stack[-1].value:
                stack.pop()  # an item beside a key that has a value is not its child
                while stack and stack[-1].indent >= node.indent:
                    stack.pop()
            (stack[-1].children if stack else roots).append(node)
            stack.append(node)
        last = nodes[-1] if nodes else None
        if last is not None and (
            _BLOCK_SCALAR.match(last.value) or (last.value.startswith("[") and "]" not in last.value)
        ):
            block = last
    return roots


def _walk(nodes: list[_Node]) -> Iterator[_Node]:
    pending = list(reversed(nodes))
    while pending:
        node = pending.pop()
        yield node
        pending.extend(reversed(node.children))


_KUBE_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_GAE_CHECKS = ("liveness_check", "readiness_check")


def _yaml(side: SideFile, *, compose: bool) -> list[Probe]:
    text = side.text
    if not any(
        word in text for word in ("Probe", "healthcheck", "healthCheckPath", "liveness_check", "readiness_check")
    ):
        return []
    roots = _tree(text)
    out: list[Probe] = []
    for node in _walk(roots):
        if node.key in _KUBE_PROBES:
            get = node.child("httpGet")
            path_node = get.child("path") if get is not None else None
            if path_node is not None:
                path = _clean(_unquote(path_node.value))
                if path is not None:
                    out.append(Probe(path, side.path, path_node.line, node.key, side.scope))
        elif node.key in _GAE_CHECKS:
            path_node = node.child("path")
            if path_node is not None:
                path = _clean(_unquote(path_node.value))
                if path is not None:
                    out.append(Probe(path, side.path, path_node.line, f"app.yaml {node.key}", side.scope))
        elif node.key == "healthCheckPath":
            path = _clean(_unquote(node.value))
            if path is not None:
                out.append(Probe(path, side.path, node.line, "render.yaml healthCheckPath", side.scope))
    if compose or any(r.key == "services" for r in roots):
        out += _compose(side, roots)
    return out


def _compose(side: SideFile, roots: list[_Node]) -> list[Probe]:
    """Health checks of the services built from the project (``build:``)."""
    out: list[Probe] = []
    for root in roots:
        if root.key != "services":
            continue
        for service in root.children:
            check = service.child("healthcheck")
            if check is None or service.child("build") is None:
                continue
            disable = check.child("disable")
            test = check.child("test")
            if test is None or (disable is not None and _unquote(disable.value).lower() == "true"):
                continue
            command = " ".join([test.value, *(_unquote(item.value) for item in test.children)])
            for path, suffix_only in _url_paths(command):
                out.append(Probe(path, side.path, test.line, "compose healthcheck", side.scope, suffix_only))
    return out


# ------------------------------------------------------------------------------------------ commands


@dataclasses.dataclass(frozen=True)
class Command:
    """A command the deployment runs: a Dockerfile ``CMD``/``ENTRYPOINT``, a compose ``command``/
    ``entrypoint``, a Kubernetes container's ``command``/``args``, a Procfile process."""

    text: str
    file: str
    line: int
    source: str
    scope: str


def commands(files: Iterable[SideFile]) -> list[Command]:
    out: list[Command] = []
    for side in files:
        name = posixpath.basename(side.path).lower()
        try:
            if "dockerfile" in name or "containerfile" in name:
                out += _docker_commands(side)
            elif name == "procfile" or name.startswith("procfile."):
                for number, line in enumerate(side.text.splitlines()[:MAX_LINES], 1):
                    process, _, command = line.partition(":")
                    if command.strip() and not process.lstrip().startswith("#"):
                        out.append(Command(command.strip()[:_MAX_COMMAND], side.path, number, "Procfile", side.scope))
            elif name.endswith((".yaml", ".yml")) and ("command" in side.text or "args" in side.text):
                for node in _walk(_tree(side.text)):
                    if node.key in ("command", "entrypoint", "args"):
                        text = " ".join([_unquote(node.value), *(_unquote(c.value) for c in node.children)])
                        out.append(Command(text, side.path, node.line, f"{node.key}:", side.scope))
        except (ValueError, IndexError, RecursionError):
            continue
    return out


def _docker_commands(side: SideFile) -> list[Command]:
    return [
        Command(argument, side.path, line, keyword, side.scope)
        for line, keyword, argument in _instructions(side)
        if keyword in ("CMD", "ENTRYPOINT")
    ]


_PYTHON_RUN = re.compile(r"""\bpython[\d.]*["',\s]+((?:-[A-Za-z]+["',\s]+)*)([\w./-]+)""")


def runs_module(command: str, module: str, path: str) -> bool:
    """Does the command run the module as a script (``python run.py``, ``python -m pkg.run``)?
    ``module``: its dotted name; ``path``: its project path. A script path matches by its file name,
    since the image's working directory is unknown."""
    for match in _PYTHON_RUN.finditer(command):
        flags, target = match.group(1), match.group(2)
        if "-m" in re.split(r"""["',\s]+""", flags):
            if module == target or module.endswith("." + target) or target.endswith("." + module):
                return True
        elif target.endswith(".py") and posixpath.basename(target) == posixpath.basename(path):
            return True
    return False
