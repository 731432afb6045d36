#!/usr/bin/env python3
"""Fetch the real-app corpus pinned in ``benchmarks/corpus/apps.toml``.

    python benchmarks/corpus/fetch.py [--workdir DIR] [--apps a,b] [--set tuning|holdout|all] [--batch N]
    python benchmarks/corpus/fetch.py --pin NAME [VERSION]    # print an apps.toml stub

For each app it downloads the pinned file (a wheel or an sdist) straight from the package
registry's file host, at the URL that the registry's JSON API gives for that exact version and
file name, checks its sha256 against the pin, and unpacks it into ``WORKDIR/<name>-<version>/``.
Nothing of the app is built, installed, imported or run (no ``pip download``: building an sdist
runs the app's setup code). Archive members that would land outside the app's directory, links
and special files are skipped.

The work directory is outside the repository: ``--workdir``, else ``$BACKLINT_CORPUS_DIR``, else
``${XDG_CACHE_HOME:-~/.cache}/backlint-corpus``. A second run is offline and does nothing for apps
already unpacked (a ``.backlint-corpus-ok`` stamp holding the sha256 marks a complete unpack);
downloaded archives are kept in ``WORKDIR/_downloads`` and re-verified before reuse.

Exit codes: 0 all fetched, 1 some app failed (download, checksum, unpack), 2 usage error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older interpreters only
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
APPS_FILE = HERE / "apps.toml"
JSON_API = "https://pypi.org/pypi/{name}/{version}/json"
PROJECT_API = "https://pypi.org/pypi/{name}/json"
STAMP = ".backlint-corpus-ok"
SETS = ("tuning", "holdout")
FRAMEWORKS = ("django", "flask", "fastapi", "starlette", "aiohttp", "asgi", "pyramid", "tornado", "werkzeug")


@dataclass(frozen=True)
class App:
    name: str
    version: str
    framework: str
    set: str
    file: str
    sha256: str
    paths: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    notes: str = ""
    batch: int = 1  # when the app joined the corpus (apps.toml's header); absent = 1
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def dirname(self) -> str:
        return f"{self.name}-{self.version}"


class CorpusError(Exception):
    """A problem with apps.toml or with fetching one app (reported, never a traceback)."""


def default_workdir() -> Path:
    env = os.environ.get("BACKLINT_CORPUS_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "backlint-corpus"


def load_apps(path: Path = APPS_FILE) -> list[App]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CorpusError(f"{path}: {exc}") from exc
    apps: list[App] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("app", [])):
        where = f"{path.name}: app #{i + 1}"
        try:
            app = App(
                name=str(raw["name"]),
                version=str(raw["version"]),
                framework=str(raw["framework"]),
                set=str(raw["set"]),
                file=str(raw["file"]),
                sha256=str(raw["sha256"]).lower(),
                paths=tuple(str(p) for p in raw["paths"]),
                exclude=tuple(str(p) for p in raw.get("exclude", ())),
                notes=str(raw.get("notes", "")),
                batch=raw.get("batch", 1),
                extra={k: v for k, v in raw.items() if k not in App.__dataclass_fields__},
            )
        except KeyError as exc:
            raise CorpusError(f"{where}: missing key {exc}") from exc
        if app.set not in SETS:
            raise CorpusError(f"{where} ({app.name}): set must be one of {SETS}, got {app.set!r}")
        if app.framework not in FRAMEWORKS:
            raise CorpusError(f"{where} ({app.name}): unknown framework {app.framework!r}")
        if len(app.sha256) != 64 or any(c not in "0123456789abcdef" for c in app.sha256):
            raise CorpusError(f"{where} ({app.name}): sha256 must be 64 hex digits")
        if not isinstance(app.batch, int) or isinstance(app.batch, bool) or app.batch < 1:
            raise CorpusError(f"{where} ({app.name}): batch must be an integer >= 1, got {app.batch!r}")
        if not app.paths:
            raise CorpusError(f"{where} ({app.name}): paths is empty")
        if app.name in seen:
            raise CorpusError(f"{where}: duplicate app {app.name!r}")
        seen.add(app.name)
        apps.append(app)
    if not apps:
        raise CorpusError(f"{path}: no [[app]] entries")
    return apps


def select_apps(
    apps: list[App], set_name: str = "all", names: str | None = None, batch: int | None = None
) -> list[App]:
    """The apps of a set (or all), of one batch (or all), optionally only the named ones."""
    chosen = [a for a in apps if (set_name == "all" or a.set == set_name) and (batch is None or a.batch == batch)]
    if names:
        wanted = [n.strip() for n in names.split(",") if n.strip()]
        known = {a.name for a in apps}
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise CorpusError(f"unknown app(s): {', '.join(unknown)} (see {APPS_FILE.name})")
        chosen = [a for a in chosen if a.name in wanted]
    return chosen


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _get_json(url: str) -> Any:
    req = urllib.request.Request(url, headers={"User-Agent": "backlint-corpus-fetch"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)


def _release_files(name: str, version: str) -> tuple[str, list[dict[str, Any]]]:
    """The files of one release and the URL of the JSON document that listed them.

    The per-version document is the registry's usual answer; a mirror that serves only the
    project document has the same entries under ``releases[version]``.
    """
    url = JSON_API.format(name=name, version=version)
    try:
        return url, list(_get_json(url).get("urls", []))
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
    url = PROJECT_API.format(name=name)
    releases = _get_json(url).get("releases", {})
    if version not in releases:
        raise CorpusError(f"{name}: version {version} is not on the registry")
    return url, list(releases[version])


def file_url(app: App) -> str:
    """The download URL of the pinned file, from the registry's JSON API for that version."""
    base, files = _release_files(app.name, app.version)
    for entry in files:
        if entry.get("filename") == app.file:
            digest = entry.get("digests", {}).get("sha256", "").lower()
            if digest and digest != app.sha256:
                raise CorpusError(
                    f"{app.name}: the registry lists sha256 {digest} for {app.file}, the pin says {app.sha256}"
                )
            # absolute on the registry itself (its file host); a mirror may answer relative URLs
            return urllib.parse.urljoin(base, str(entry["url"]))
    raise CorpusError(f"{app.name}: {app.file} is not a file of {app.name} {app.version} on the registry")


def download(app: App, downloads: Path, log: Any = print) -> Path:
    downloads.mkdir(parents=True, exist_ok=True)
    target = downloads / app.file
    if target.is_file() and _sha256(target) == app.sha256:
        return target
    url = file_url(app)
    log(f"{app.name}: downloading {app.file}")
    fd, tmp_name = tempfile.mkstemp(dir=downloads, prefix=".part-")
    tmp = Path(tmp_name)
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "backlint-corpus-fetch"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(req, timeout=120) as resp:
            shutil.copyfileobj(resp, out, 1 << 20)
        got = _sha256(tmp)
        if got != app.sha256:
            raise CorpusError(f"{app.name}: sha256 mismatch for {app.file}: got {got}, pinned {app.sha256}")
        tmp.replace(target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _safe_member(name: str) -> PurePosixPath | None:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return None
    return p


def _strip_top(parts: tuple[str, ...], top: str | None) -> tuple[str, ...]:
    if top is not None and parts and parts[0] == top:
        return parts[1:]
    return parts


def unpack(archive: Path, dest: Path) -> None:
    """Unpack a wheel (as is) or an sdist (its single top directory removed) into dest."""
    dest.mkdir(parents=True)
    name = archive.name
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            tops = {n.parts[0] for i in infos if (n := _safe_member(i.filename)) is not None}
            top = tops.pop() if name.endswith(".zip") and len(tops) == 1 else None
            for info in infos:
                rel = _safe_member(info.filename)
                if rel is None:
                    continue
                # a symlink stored in a zip has S_IFLNK in the high bits of external_attr
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    continue
                parts = _strip_top(rel.parts, top)
                if not parts:
                    continue
                out = dest.joinpath(*parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
    elif name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar")):
        with tarfile.open(archive) as tf:
            members = [m for m in tf.getmembers() if m.isfile()]
            tops = {n.parts[0] for m in members if (n := _safe_member(m.name)) is not None}
            top = tops.pop() if len(tops) == 1 else None
            for m in members:
                rel = _safe_member(m.name)
                if rel is None:
                    continue
                parts = _strip_top(rel.parts, top)
                if not parts:
                    continue
                out = dest.joinpath(*parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                member = tf.extractfile(m)
                if member is None:
                    continue
                with member, out.open("wb") as dst:
                    shutil.copyfileobj(member, dst)
    else:
        raise CorpusError(f"don't know how to unpack {name}")


def app_root(app: App, workdir: Path) -> Path:
    return workdir / app.dirname


def is_fetched(app: App, workdir: Path) -> bool:
    stamp = app_root(app, workdir) / STAMP
    try:
        return stamp.read_text(encoding="utf-8").strip() == app.sha256
    except OSError:
        return False


def fetch(app: App, workdir: Path, log: Any = print) -> Path:
    """Make sure the app is unpacked under workdir; return its root. Offline when already there."""
    root = app_root(app, workdir)
    if is_fetched(app, workdir):
        return root
    archive = download(app, workdir / "_downloads", log)
    if root.exists():
        shutil.rmtree(root)
    tmp_root = workdir / f".unpack-{app.dirname}"
    if tmp_root.exists():
        shutil.rmtree(tmp_root)
    try:
        unpack(archive, tmp_root)
        missing = [p for p in app.paths if not (tmp_root / p).exists()]
        if missing:
            raise CorpusError(f"{app.name}: path(s) not in the unpacked {app.file}: {', '.join(missing)}")
        (tmp_root / STAMP).write_text(app.sha256 + "\n", encoding="utf-8")
        tmp_root.rename(root)
    finally:
        if tmp_root.exists():
            shutil.rmtree(tmp_root)
    log(f"{app.name}: unpacked into {root}")
    return root


def pin(name: str, version: str | None) -> str:
    """An apps.toml stub for NAME (latest version unless given): the smaller of wheel and sdist."""
    meta = _get_json(PROJECT_API.format(name=name))
    version = version or str(meta["info"]["version"])
    files = [u for u in meta.get("releases", {}).get(version, []) if u["packagetype"] in ("bdist_wheel", "sdist")]
    if not files:
        raise CorpusError(f"{name}: no wheel or sdist")
    best = min(files, key=lambda u: u["size"])
    return "\n".join(
        [
            "[[app]]",
            f'name = "{meta["info"]["name"]}"',
            f'version = "{version}"',
            'framework = ""',
            'set = ""',
            f'file = "{best["filename"]}"',
            f'sha256 = "{best["digests"]["sha256"]}"',
            "paths = []",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--workdir", type=Path, default=None, help="where apps are unpacked (outside the repo)")
    ap.add_argument("--set", choices=("tuning", "holdout", "all"), default="all")
    ap.add_argument("--apps", default=None, help="comma-separated app names")
    ap.add_argument("--batch", type=int, default=None, help="only the apps of this batch (apps.toml's header)")
    ap.add_argument("--pin", nargs="+", metavar=("NAME", "VERSION"), help="print an apps.toml stub and exit")
    args = ap.parse_args(argv)
    try:
        if args.pin:
            if len(args.pin) > 2:
                ap.error("--pin takes NAME and an optional VERSION")
            print(pin(args.pin[0], args.pin[1] if len(args.pin) > 1 else None))
            return 0
        apps = select_apps(load_apps(), args.set, args.apps, args.batch)
    except CorpusError as exc:
        print(f"fetch: error: {exc}", file=sys.stderr)
        return 2
    workdir = (args.workdir or default_workdir()).expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for app in apps:
        try:
            root = fetch(app, workdir)
        except (CorpusError, OSError, ValueError, zipfile.BadZipFile, tarfile.TarError) as exc:
            print(f"fetch: {app.name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{app.name} {app.version}: {root}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
