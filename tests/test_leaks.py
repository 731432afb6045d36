"""Issue 20: no secret of the linted code leaves backlint, in any output or any file it writes, with
any rule selection; and a configuration from a pull request cannot turn the linter against CI.

The leak battery lints a small Flask project holding one secret of each kind the masker knows (a
known token format, a credential slot, a URL password, a password in SQL text, a settings value, a
class attribute, two secrets on one line, a token quoted by a BL404 message) and searches every
channel for every 8-character run of every secret, as written and decoded (JSON ``\\u`` escapes,
percent-encoding): any longer leak contains one of them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import run_cli

# Built by concatenation so that backlint's own run over its tests does not flag this file.
AWS_ID = "AKIA" + "Z7QX3MNB4VPL2KD6"
AWS_SECRET = "q8Zr3Lm0Vx7Tn2Kw5Yb9" + "Hc4Jd6Fg1Ps0Ae3Ru8Wi"
GITHUB = "ghp_" + "R7dK2mQ9vX4nL8pW3zT6yB1cF5hJ0sA2gE4u"
STRIPE = "sk_live_" + "Q4mZ7tR2wX9kLp3VnB8cJ5hY"
URL_PASSWORD = "Vb3nK8q" + "T2mZx9"
SLOT_PASSWORD = "Hn4pW8z" + "R2kQx7T"
SQL_PASSWORD = "Zq7vR2nW" + "9xKp4Lm8"
CLASS_SECRET = "Xk9mP2vQ7rT4" + "wZ8nB3cF6hJ1"
SETTINGS_SECRET = "Jw5tY8uR3eQ6" + "zL1mN4bV7cX2"
SECRETS = (AWS_ID, AWS_SECRET, GITHUB, STRIPE, URL_PASSWORD, SLOT_PASSWORD, SQL_PASSWORD, CLASS_SECRET, SETTINGS_SECRET)

APP = f'''import os

import boto3
import psycopg2
from flask import Flask, request

app = Flask(__name__)
app.config["DEBUG"] = True
s3 = boto3.client("s3", aws_access_key_id="{AWS_ID}", aws_secret_access_key="{AWS_SECRET}")
DATABASE_URL = "postgresql://app:{URL_PASSWORD}@db.internal:5432/app"


class Config:
    SECRET_KEY = "{CLASS_SECRET}"
    STRIPE_KEY = "{STRIPE}"


@app.route("/users", methods=["POST"])
def create_user():
    try:
        conn = psycopg2.connect(host="db", user="app", password="{SLOT_PASSWORD}")
        cur = conn.cursor()
        cur.execute("CREATE USER bob WITH PASSWORD '{SQL_PASSWORD}'")
        cur.execute("SELECT * FROM users WHERE name = '" + request.args["name"] + "'")
    except Exception:
        return {{"error": "{GITHUB}"}}, 200
    return {{"ok": True}}


LEGACY = "{STRIPE}"  # backlint: ignore[BL999] {STRIPE}
RETRIES = 3  # backlint: ignore[{SLOT_PASSWORD}]
'''
BROKEN = f'TOKEN = "{GITHUB}"\ndef broken(:\n    pass\n'

SETTINGS = f'''SECRET_KEY = "{SETTINGS_SECRET}"
DEBUG = True
ALLOWED_HOSTS = ["*"]
'''

SELECTIONS = {
    "default": (),
    "select-BL1": ("--select", "BL1"),
    "ignore-BL2": ("--ignore", "BL2"),
    "select-BL4": ("--select", "BL4"),
}
GRAMS = {secret: {secret[i : i + 8] for i in range(len(secret) - 7)} for secret in SECRETS}
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def leaked(text: str) -> list[str]:
    """The secrets of which some 8-character run occurs in ``text``, as written or decoded, in any case."""
    decoded = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    views = [view.lower() for view in (text, decoded, unquote(text), unquote(decoded))]
    return sorted(secret for secret, grams in GRAMS.items() if any(g.lower() in view for view in views for g in grams))


def written_files(root: Path, sources: set[Path]) -> str:
    """Every file under ``root`` but the linted sources, read as text (pickles hold strings as UTF-8)."""
    paths = [path for path in sorted(root.rglob("*")) if path.is_file() and path not in sources]
    return "\n".join(path.read_bytes().decode("latin-1") for path in paths)


def make_project(root: Path) -> set[Path]:
    (root / "pyproject.toml").write_text("[tool.backlint]\n", encoding="utf-8")
    (root / "app").mkdir()
    files = {root / "app" / "main.py": APP, root / "app" / "settings.py": SETTINGS, root / "app" / "broken.py": BROKEN}
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return {*files, root / "pyproject.toml"}


def test_each_masking_path_alone(tmp_path: Path) -> None:
    """The five leaks of issue 20, each checked where it happened."""
    make_project(tmp_path)
    two = run_cli("app", "--no-cache", "--select", "BL201", cwd=tmp_path)
    assert "BL201" in two.stdout and not leaked(two.stdout), "two secrets on one line"
    quoted = run_cli("app", "--no-cache", "--select", "BL404", "--format", "concise", cwd=tmp_path)
    assert "BL404" in quoted.stdout and not leaked(quoted.stdout), "a message quoting a token"
    without = run_cli("app", "--no-cache", "--ignore", "BL2", cwd=tmp_path)
    assert "BL404" in without.stdout and not leaked(without.stdout), "masking without the secret rules"


def test_a_line_with_several_secrets_is_masked_in_every_finding() -> None:
    from backlint.core.masking import SecretText

    text = SecretText([AWS_ID, AWS_SECRET, "s3cr3t!"])
    line = f's3 = client(id="{AWS_ID}", key="{AWS_SECRET[:20]}…", pw="s3cr3t!", word="s3cr3t!x")'
    masked = text.mask(line)
    assert not leaked(masked)
    assert 'pw="*******"' in masked and 'word="s3cr3t!x"' in masked  # a short secret only where it stands alone


def _run_channels(root: Path, selection: tuple[str, ...], label: str) -> dict[str, str]:
    """Every output and written file of backlint over the fixture project, by channel name."""
    out: dict[str, str] = {}
    cache = root / ".backlint_cache"
    for output_format in ("text", "concise", "json", "sarif", "github"):
        args = ("app", "--format", output_format, "--exit-zero", *selection)
        result = run_cli(*args, cwd=root)
        assert result.exit_code == 0, result.stderr
        text = result.stdout + result.stderr
        if output_format == "sarif":  # the rule descriptors quote the documentation's sample secrets
            document = json.loads(result.stdout)
            for run in document["runs"]:
                run["tool"]["driver"].pop("rules", None)
            text = json.dumps(document) + result.stderr
        out[output_format] = text
    out["cache"] = written_files(cache, set())
    diff = run_cli("app", "--diff", "--unsafe-fixes", "--no-cache", *selection, cwd=root)
    out["diff"] = diff.stdout + diff.stderr
    baseline = root / f"baseline-{label}.json"
    made = run_cli("baseline", "app", "--no-cache", "--output", str(baseline), *selection, cwd=root)
    out["baseline"] = made.stdout + made.stderr + (baseline.read_text("utf-8") if baseline.exists() else "")
    shard_file = root / f"shard-{label}.json"
    sharded = run_cli("app", "--shard", "1/1", "--shard-output", str(shard_file), "--no-cache", *selection, cwd=root)
    merged = run_cli("merge", str(shard_file), "--format", "json", "--exit-zero", cwd=root)
    shard_text = shard_file.read_text("utf-8") if shard_file.exists() else ""
    out["shard"] = sharded.stdout + sharded.stderr + shard_text
    out["merge"] = merged.stdout + merged.stderr
    return out


@pytest.mark.parametrize("label", sorted(SELECTIONS))
def test_leak_battery(tmp_path: Path, label: str) -> None:
    sources = make_project(tmp_path)
    channels = _run_channels(tmp_path, SELECTIONS[label], label)
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    fixed_sources = make_project(fixed)
    fix = run_cli("app", "--fix", "--unsafe-fixes", "--no-cache", *SELECTIONS[label], cwd=fixed)
    channels["fix"] = fix.stdout + fix.stderr + written_files(fixed, fixed_sources)
    channels["files written"] = written_files(tmp_path, sources | {fixed, *fixed.rglob("*")})
    found = {name: leaked(text) for name, text in channels.items()}
    assert not {name: secrets for name, secrets in found.items() if secrets}
    assert "BL" in channels["concise"]  # the runs did report findings
    assert "BL999" in channels["text"] and "broken.py" in channels["text"]  # notices and errors were shown


def test_language_server_diagnostics_and_actions_are_masked(tmp_path: Path) -> None:
    pytest.importorskip("pygls")
    from pygls.workspace.position_codec import PositionCodec

    from backlint import lsp

    make_project(tmp_path)
    path = tmp_path / "app" / "main.py"
    uri = path.as_uri()
    server = lsp.create_server()
    server._default_root = lambda _: tmp_path  # type: ignore[method-assign]
    document = lsp._Open(uri, path, 1, APP)
    judged = server._lint(uri, path, [document])
    codec = PositionCodec()
    lines = lsp.split_lines(APP)
    pairs = [(lsp.to_diagnostic(f, lines, uri, judged.catalog, codec), f) for f in judged.findings[uri]]
    assert pairs
    actions = lsp.code_actions(uri, APP, pairs, lsp.autofixes, codec)
    shown = [d.message for d, _ in pairs] + [r.message for d, _ in pairs for r in d.related_information or ()]
    shown += [a.title for a in actions] + [n.message for n in judged.notices]
    assert not leaked("\n".join(shown))


def test_secrets_of_a_file_are_masked_when_only_the_project_rules_quote_it(tmp_path: Path) -> None:
    """A file shown in a merge (no per-file stage ran in that process): its secrets are found again."""
    make_project(tmp_path)
    shard_file = tmp_path / "shard.json"
    run_cli("app", "--shard", "1/1", "--shard-output", str(shard_file), "--no-cache", "--select", "BL4", cwd=tmp_path)
    merged = run_cli("merge", str(shard_file), cwd=tmp_path)
    assert "BL404" in merged.stdout
    assert not leaked(merged.stdout + merged.stderr)


def test_battery_covers_every_secret_kind() -> None:
    from backlint.analysis.secrets.spans import find_secret_spans
    from backlint.core.catalog import load_catalog

    knowledge = load_catalog().knowledge
    found = {APP[f.start : f.end] for f in find_secret_spans(APP, knowledge)}
    found |= {SETTINGS[f.start : f.end] for f in find_secret_spans(SETTINGS, knowledge)}
    assert set(SECRETS) <= found


# -- a pull request's configuration cannot turn the linter against CI ------------------------------

EVIL_PATH = "/" + "a" * 5000 + "!"
ROUTES = (
    f'from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.route("{EVIL_PATH}")\ndef page():\n    return "x"\n'
)


@pytest.mark.parametrize(
    "setting",
    [
        "health-path-regex = '^/(a+)+$'",
        "public-paths = ['^/(a|aa)+$']",
        "[tool.backlint.tables]\n"
        "secret-patterns = [{ id = 'evil', description = 'x', regex = '(a+)+$', keywords = ['aaa'] }]",
        "[tool.backlint.tables]\nmock-data = [{ role = 'static-path', pattern = '^/(a*)*$' }]",
    ],
)
def test_catastrophic_user_patterns_run_in_linear_time(project, setting: str) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", f"[tool.backlint]\n{setting}\n")
    project.write("app/main.py", ROUTES + f'TOKEN = "{"a" * 5000}!"\n')
    start = _cpu_seconds()
    result = project.lint("app", "--no-cache", "--select", "ALL")
    assert _cpu_seconds() - start < 10
    assert result.exit_code in (0, 1), result.stderr


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("health-path-regex = '^/(?=health)'", "tool.backlint.health-path-regex"),
        ("public-paths = ['^/(login)\\1$']", "tool.backlint.public-paths"),
        (
            "[tool.backlint.tables]\nsecret-sql = [{ regex = '(?<=PASSWORD )(\\w+)', description = 'x' }]",
            "tool.backlint.tables.secret-sql.regex",
        ),
    ],
)
def test_patterns_re2_cannot_run_are_rejected_at_load(project, setting: str, key: str) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", f"[tool.backlint]\n{setting}\n")
    project.write("app/main.py", "x = 1\n")
    result = project.lint("app", "--no-cache")
    assert result.exit_code == 2
    assert "pyproject.toml" in result.stderr and key in result.stderr and "RE2" in result.stderr
    assert "re2.cc" not in result.stderr  # RE2's own log line stays quiet


def test_builtin_patterns_stay_linear_on_a_megabyte_of_adversarial_text() -> None:
    from backlint.analysis.secrets.spans import find_secret_spans
    from backlint.core.catalog import load_catalog

    knowledge = load_catalog().knowledge
    for filler in ("a" * 1_000_000, "ghp_" * 250_000, "password=" + "x" * 999_990, "://u:" + "@" * 999_995):
        source = f'TOKEN = "{filler}"\nquery = "CREATE USER x WITH PASSWORD \'{filler[:1000]}"\n'
        start = _cpu_seconds()
        find_secret_spans(source, knowledge)
        assert _cpu_seconds() - start < 10, filler[:10]


@pytest.mark.parametrize(
    ("cache_dir", "why"),
    [("~", "outside the project root"), (".", "project root itself"), ("../..", "outside the project root")],
)
def test_a_config_file_cache_dir_stays_inside_the_project(project, cache_dir: str, why: str) -> None:  # type: ignore[no-untyped-def]
    project.write("pyproject.toml", f'[tool.backlint]\ncache-dir = "{cache_dir}"\n')
    project.write("app/main.py", "x = 1\n")
    result = project.lint("app")
    assert result.exit_code == 2
    assert "cache-dir" in result.stderr and why in result.stderr
    assert not (project.root / "CACHEDIR.TAG").exists()
    assert not (project.root / ".gitignore").exists()


def test_command_line_cache_dir_may_point_anywhere_but_fills_only_its_own(project, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    project.write("app/main.py", 'import os\nPASSWORD = "Hn4pW8zR2kQx7T"\n')
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "cache"
    result = project.lint("app", "--cache-dir", str(elsewhere))
    assert result.exit_code in (0, 1), result.stderr
    assert (elsewhere / "CACHEDIR.TAG").exists()
    again = project.lint("app", "--cache-dir", str(elsewhere))
    assert again.stdout == result.stdout
    occupied = tmp_path_factory.mktemp("home")
    (occupied / "notes.txt").write_text("mine\n", encoding="utf-8")
    refused = project.lint("app", "--cache-dir", str(occupied))
    assert "cache disabled" in refused.stderr and "CACHEDIR.TAG" in refused.stderr
    assert sorted(p.name for p in occupied.iterdir()) == ["notes.txt"]


def test_the_environment_chooses_the_cache_directory(project, tmp_path_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    project.write("app/main.py", "x = 1\n")
    chosen = tmp_path_factory.mktemp("env") / "c"
    monkeypatch.setenv("BACKLINT_CACHE_DIR", str(chosen))
    project.lint("app")
    assert (chosen / "CACHEDIR.TAG").exists()
    assert not (project.root / ".backlint_cache").exists()


def test_names_cannot_inject_workflow_commands_or_terminal_escapes(project) -> None:  # type: ignore[no-untyped-def]
    name = "x\n::error file=app.py,line=1::injected\x1b[31m.py"
    project.write(f"app/{name}", 'import os\nPASSWORD = "Hn4pW8zR2kQx7T"\n')
    project.write("app/broken\r::warning::x.py", "def (:\n")
    for output_format in ("text", "concise"):
        result = project.lint("app", "--no-cache", "--format", output_format)
        for line in (result.stdout + result.stderr).splitlines():
            assert not line.startswith("::"), line
        assert "\x1b" not in result.stdout + result.stderr
        assert "\\n::error" in result.stdout


def test_the_baseline_and_suppress_commands_escape_names_too(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/broken\r::warning::x\x1b[31m.py", "def (:\n")
    for command in (("baseline", "app"), ("suppress", "app")):
        result = project.lint(*command, "--no-cache")
        for line in (result.stdout + result.stderr).splitlines():
            assert not line.startswith("::"), (command, line)
        assert "\x1b" not in result.stdout + result.stderr, command
    assert "broken\\r::warning" in result.stderr  # `suppress` names the file it cannot edit, escaped


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children: wall time on a loaded CI machine runs
    several times ahead of it (a bound on wall time would fail there without any regression)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def test_a_plain_word_secret_masks_only_where_it_stands_alone() -> None:
    """A fallback of ``"password"`` is masked where it is quoted, not in every message about passwords."""
    from backlint.core.masking import SecretText

    text = SecretText(["password", AWS_SECRET])
    assert text.mask('os.getenv("LDAP_PASSWORD", "password")') == 'os.getenv("LDAP_PASSWORD", "********")'
    assert text.mask("password read from the URL query") == "password read from the URL query"
    assert text.mask("password") == "********"


def test_a_plain_word_secret_of_one_file_leaves_other_files_messages_alone(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/config.py", 'import os\nLDAP_PASSWORD = os.getenv("LDAP_PASSWORD", "password")\n')
    project.write(
        "app/views.py",
        "from flask import Flask, request\n\napp = Flask(__name__)\n\n\n@app.route('/login')\n"
        "def login():\n    return {'ok': request.args.get('password') == 'x'}\n",
    )
    result = project.lint("app", "--no-cache", "--select", "BL306", "--format", "concise")
    assert "BL306 password read from the URL query" in result.stdout
