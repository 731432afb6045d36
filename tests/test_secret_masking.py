"""No output of backlint contains a detected secret: every format is grepped for the fixtures' raw
secrets, and every secret regex runs in linear time on adversarial input."""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import re
import shutil
import time
import tokenize
from pathlib import Path

import pytest
from annotations import expected_findings
from conftest import FIXTURES, ROOT, run_cli

from backlint.analysis import strings
from backlint.core.catalog import load_catalog

SECRET_FIXTURES = FIXTURES / "secrets"
SECRET_RULES = ("BL201", "BL202", "BL203", "BL204", "BL205")
_URL_PASSWORD = re.compile(r"://[^\s:/@]*:([^\s@/]+)@")
_TOKEN_WORD = re.compile(r"\S{16,}")


def _secret_lines() -> dict[Path, set[int]]:
    """Lines of the secrets fixtures annotated with a BL2xx finding."""
    out: dict[Path, set[int]] = {}
    for path in sorted(SECRET_FIXTURES.rglob("*.py")):
        lines = {line for line, rule in expected_findings(path.read_text("utf-8")) if rule in SECRET_RULES}
        if lines:
            out[path] = lines
    return out


def raw_secrets() -> set[str]:
    """The secrets written in the fixtures, read from the fixtures themselves: the last string
    literal of each annotated line (the value; keys and user names come first), the password inside
    a URL, and the long words of an annotated comment line."""
    found: set[str] = set()
    for path, lines in _secret_lines().items():
        last: dict[int, str] = {}
        for token in tokenize.generate_tokens(io.StringIO(path.read_text("utf-8")).readline):
            if token.start[0] not in lines:
                continue
            if token.type == tokenize.STRING and not token.string.lower().startswith(("f", "rf", "fr")):
                value = ast.literal_eval(token.string)
                last[token.start[0]] = value.decode("latin-1") if isinstance(value, bytes) else value
            elif token.type == tokenize.COMMENT and token.start[1] == 0:
                found.update(_TOKEN_WORD.findall(token.string.split("# expect")[0]))
        for text in last.values():
            found.add(text)
            found.update(_URL_PASSWORD.findall(text))
    return {s for s in found if len(s.strip()) >= 4}


def _leaks(output: str, secret: str) -> bool:
    """The whole secret, or (for long ones) everything but the prefix that masking may show. A short
    secret counts only as a whole word: `postgres` inside the scheme `postgresql://` is no leak."""
    if len(secret) < 12:
        return re.search(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", output) is not None
    return secret in output or secret[len(secret) // 6 :] in output


def test_the_fixtures_hold_secrets_to_look_for() -> None:
    secrets = raw_secrets()
    assert len(secrets) >= 20
    assert any(s.startswith("sk_live_") for s in secrets)
    assert any(s.startswith("ghp_") for s in secrets), "the secret in a comment is collected"
    assert "Pr0dPassw0rd" in secrets, "the password inside a URL is collected"


FORMATS = ["text", "concise", "json", "github", "sarif"]


@pytest.mark.parametrize("output_format", FORMATS)
def test_no_output_format_contains_a_secret(output_format: str) -> None:
    if output_format == "sarif" and importlib.util.find_spec("backlint.report.sarif") is None:
        pytest.skip("the SARIF reporter is not there yet")
    result = run_cli(
        "fixtures/secrets", "--select", "ALL", "--format", output_format, "--no-cache", "--exit-zero", cwd=ROOT
    )
    assert result.exit_code == 0, result.stderr
    expected = sum(len(lines) for lines in _secret_lines().values())
    if output_format == "json":
        reported = [f for f in result.json()["findings"] if f["rule_id"] in SECRET_RULES]
        assert len(reported) >= expected, "every annotated secret is detected, so its masking is tested"
    assert "BL20" in result.stdout
    output = result.stdout + result.stderr
    if output_format == "sarif":
        # The rule descriptors carry each rule's documentation, whose examples show sample secrets
        # on purpose; only what was found in the linted code must be masked.
        document = json.loads(result.stdout)
        for run in document["runs"]:
            run["tool"]["driver"].pop("rules", None)
        output = json.dumps(document, ensure_ascii=False)
    leaked = sorted(s for s in raw_secrets() if _leaks(output, s))
    assert not leaked, f"{output_format} output shows secrets: {leaked}"


def test_a_baseline_file_does_not_contain_a_secret(tmp_path: Path) -> None:
    target = tmp_path / "baseline.json"
    result = run_cli("baseline", "fixtures/secrets", "--select", "BL2", "--no-cache", "--output", str(target), cwd=ROOT)
    assert result.exit_code == 0, result.stderr
    text = target.read_text("utf-8")
    assert text.strip()
    assert not [s for s in raw_secrets() if _leaks(text, s)]


def test_diff_of_secret_fixes_does_not_contain_a_secret(tmp_path: Path) -> None:
    """``--diff`` shows the lines a fix removes: the secrets in them are masked like in every report."""
    shutil.copytree(ROOT / "fixtures" / "secrets", tmp_path / "secrets")
    for args in (("--diff", "--unsafe-fixes"), ("--diff", "--unsafe-fixes", "--select", "ALL")):
        result = run_cli("secrets", "--no-cache", *args, cwd=tmp_path)
        assert result.exit_code == 1, result.stderr
        assert "os.environ[" in result.stdout  # the BL202/BL203 fixes are in the diff
        leaked = [s for s in raw_secrets() if _leaks(result.stdout + result.stderr, s)]
        assert not leaked, f"the diff shows secrets: {leaked}"

    target = tmp_path / "app.py"
    target.write_text('SECRET_KEY = "k8s-prod-9f2c1e7a5b3d4c6e8f0a1b2c3d4e5f6a"\n', encoding="utf-8")
    result = run_cli(
        "-", "--stdin-filename", "app.py", "--diff", "--unsafe-fixes", cwd=tmp_path, input=target.read_text("utf-8")
    )
    assert 'os.environ["SECRET_KEY"]' in result.stdout
    assert "9f2c1e7a5b3d" not in result.stdout


def test_other_findings_on_a_secret_line_are_masked_too(project) -> None:  # type: ignore[no-untyped-def]
    """BL402 reports the whole try statement; the key inside it is still masked in its snippet."""
    key = "sk_live_" + "Q4mZ7tR2wX9kLp3VnB8cJ5hY"
    project.write(
        "app/pay.py",
        f'import stripe\n\ndef charge():\n    try: stripe.Charge.create(api_key="{key}")\n    except Exception: pass\n',
    )
    result = project.lint("app/pay.py", "--select", "BL201,BL402", "--no-cache")
    assert "BL201" in result.stdout and "BL402" in result.stdout
    assert key[4:] not in result.stdout


def test_short_secrets_show_no_prefix(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app/db.py", 'import psycopg2\nconn = psycopg2.connect(host="db", password="s3cr3t!")\n')
    result = project.lint("app/db.py", "--select", "BL202", "--no-cache")
    assert "…(7 chars)" in result.stdout
    assert "s3cr" not in result.stdout


# --- regexes run in linear time -------------------------------------------------------------------

MEGABYTE = 1024 * 1024
# Generous: a linear scan of 1 MB takes milliseconds; a quadratic one takes minutes.
SECONDS_PER_SEARCH = 2.0


def _adversarial(seed: str) -> list[str]:
    """1 MB single-line strings that make a backtracking regex explode if it can: the pattern's
    own prefix repeated, then followed by long runs of what its body accepts."""
    body = "aZ09_-./+=~"
    return [
        (seed * (MEGABYTE // len(seed) + 1))[:MEGABYTE],
        seed + "a" * MEGABYTE,
        (seed + "-" * 17 + ".") * (MEGABYTE // (len(seed) + 18)),
        (seed + body * 4) * (MEGABYTE // (len(seed) + 4 * len(body))),
    ]


def _catalog_regexes() -> list[tuple[str, re.Pattern[str], list[str]]]:
    knowledge = load_catalog().knowledge
    out = []
    for row in knowledge.rows("secret-patterns"):
        seeds = [*row.get("triggers", []), *row["keywords"]][:2]
        out.append((row["id"], re.compile(row["regex"]), seeds))
        if row.get("allowlist"):
            out.append((row["id"] + ":allowlist", re.compile(row["allowlist"]), seeds))
    for row in knowledge.rows("secret-allowlist"):
        out.append(("allowlist " + row["regex"], re.compile(row["regex"]), ["x", "{{"]))
    for name in dir(strings):
        value = getattr(strings, name)
        if isinstance(value, re.Pattern):
            out.append((f"strings.{name}", value, ["a://b:c@", "{%(<_a"]))
    return out


@pytest.mark.parametrize(("name", "regex", "seeds"), _catalog_regexes(), ids=lambda v: v if isinstance(v, str) else "")
def test_secret_regexes_are_linear_on_one_megabyte(name: str, regex: re.Pattern[str], seeds: list[str]) -> None:
    for seed in seeds:
        for text in _adversarial(seed):
            start = time.perf_counter()
            regex.search(text)
            elapsed = time.perf_counter() - start
            assert elapsed < SECONDS_PER_SEARCH, f"{name} took {elapsed:.1f}s on {seed!r}"


def test_the_whole_pattern_set_is_fast_on_one_megabyte() -> None:
    patterns = strings.secret_patterns(load_catalog().knowledge)
    keywords = sorted({k for p in patterns.patterns for k in p.keywords})
    text = (" ".join(keywords) + " ") * (MEGABYTE // (len(" ".join(keywords)) + 1))
    start = time.perf_counter()
    list(patterns.search(text, name="aws_mailgun_key"))
    patterns.recognizes(text, name="aws_secret_access_key")
    assert time.perf_counter() - start < 5 * SECONDS_PER_SEARCH
