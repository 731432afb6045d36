"""The project's deployment files: Dockerfiles, compose files, Kubernetes and Helm manifests, platform configs.

They are project facts like the modules' (a Dockerfile's ``HEALTHCHECK`` says which path the orchestrator
probes): found by a walk from the project root, read as text through ``ProjectFiles`` (an open buffer
first), and part of the project pass's cache key (``version``), so a full run, one file, standard
input, the editor and the cache judge with the same ones. Nothing is executed or parsed here; the walk
is bounded in depth, entries and files, and a file over ``MAX_SIZE`` is left out.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable

from backlint.core.facts import SideFile
from backlint.core.globs import is_excluded
from backlint.pipeline.projectfiles import ProjectFiles

MAX_DEPTH = 6  # directories below the root (charts/app/templates/deployment.yaml is 3)
MAX_ENTRIES = 50_000  # directory entries looked at, in all
MAX_FILES = 200  # deployment files read
MAX_SIZE = 512 * 1024

# Dockerfile, Dockerfile.prod, api.Dockerfile, Containerfile; docker-compose*.yml, compose.yaml;
# Procfile; fly.toml, render.yaml, app.yaml (Google App Engine); any YAML may be a Kubernetes/Helm manifest.
_NAMES = re.compile(
    r"(?i:(?:[\w.-]+\.)?(?:dockerfile|containerfile)(?:\.[\w.-]+)?)$|Procfile(?:\.[\w.-]+)?$|fly\.toml$|[\w.-]*\.ya?ml$"
)
_SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "static", "locale", "locales"})


def deployment_paths(
    files: ProjectFiles, excludes: tuple[str, ...], modules: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(project path, scope) of the candidate deployment files under the root, in a stable order.

    A file's scope is the nearest directory above it with Python files below (``""``: the root):
    ``docker/`` and ``deploy/k8s/`` hold none, so their files are the whole project's, and a fixture
    app's own Dockerfile is that app's. An excluded directory is not walked unless it holds modules
    of the run (``modules``: project paths): a run over an excluded tree judges its apps, with their
    deployment files.
    """
    root = str(files.root)
    linted = {""}
    for module in modules:
        directory = posixpath.dirname(module)
        while directory not in linted:
            linted.add(directory)
            directory = posixpath.dirname(directory)
    found: list[str] = []
    python_dirs: set[str] = set()
    entries = 0
    # (directory, its project path, depth, walked although excluded: everything below it is walked)
    stack: list[tuple[str, str, int, bool]] = [(root, "", 0, False)]
    while stack and len(found) < MAX_FILES and entries <= MAX_ENTRIES:
        directory, relative, depth, forced = stack.pop()
        try:
            with os.scandir(directory) as scan:
                listed = sorted(scan, key=lambda e: e.name)
        except OSError:
            continue
        prefix = relative + "/" if relative else ""
        subdirs: list[tuple[str, str, int, bool]] = []
        for entry in listed:
            entries += 1
            if entries > MAX_ENTRIES or len(found) >= MAX_FILES:
                break
            name = entry.name
            path = prefix + name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = not is_dir and entry.is_file(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if depth >= MAX_DEPTH or name.startswith(".") or name in _SKIPPED_DIRS:
                    continue
                if forced or not is_excluded(path, excludes, name_only=name):
                    subdirs.append((entry.path, path, depth + 1, forced))
                elif path in linted:
                    subdirs.append((entry.path, path, depth + 1, True))
            elif is_file and name.endswith(".py"):
                python_dirs.add(relative)
            elif is_file and _NAMES.match(name) and (forced or not is_excluded(path, excludes, name_only=name)):
                found.append(path)
        stack.extend(reversed(subdirs))
    above: set[str] = set()
    for directory in python_dirs:
        while directory not in above:
            above.add(directory)
            if not directory:
                break
            directory = posixpath.dirname(directory)
    return [(path, _scope(path, above)) for path in sorted(found)]


def _scope(path: str, above: set[str]) -> str:
    directory = posixpath.dirname(path)
    while directory and directory not in above:
        directory = posixpath.dirname(directory)
    return directory


def versions(files: ProjectFiles, paths: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What identifies each file's text and scope now (for the project pass's cache key)."""
    return [(path, ":".join((scope, *(files.version(path) or ("none",))))) for path, scope in paths]


def read_deployment_files(files: ProjectFiles, paths: list[tuple[str, str]]) -> tuple[SideFile, ...]:
    """The texts of ``paths`` (unreadable, undecodable or too large ones left out)."""
    out: list[SideFile] = []
    for path, scope in paths:
        text = files.read(path, MAX_SIZE)
        if text is not None and len(text) <= MAX_SIZE:
            out.append(SideFile(path, text, scope))
    return tuple(out)
