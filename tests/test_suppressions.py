"""Inline and file-level suppressions, on any physical line of the statement, and warnings for typos."""

from __future__ import annotations

import pytest

from backlint.pipeline.suppress import Suppressions, physical_lines


def swallow(comment: str = "") -> str:
    return f"def save(db):\n    try:\n        db.commit()\n    except Exception:{comment}\n        pass\n"


MULTI_LINE_HEADER = """\
def save(db):
    try:
        db.commit()
    except (  {first}
        Exception
    ):  {last}
        pass
"""


def lint(project, text: str, *args: str):  # type: ignore[no-untyped-def]
    project.write("app.py", text)
    return project.lint("app.py", "--format", "json", *args)


def active(result) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return [(f["line"], f["rule_id"]) for f in result.json()["findings"]]


@pytest.mark.parametrize(
    "comment",
    [
        "  # backlint: ignore[BL402]",
        "  # backlint: ignore[BL4]",
        "  # backlint: ignore[BL000, BL402]",
        "  # backlint: ignore[bl402] -- the job retries on its own",
        "  # backlint: ignore",
        "  # BACKLINT: IGNORE[BL402]",
        "  # noqa: BL402",
        "  # noqa:BL402,E722",
        "  # noqa",
        "  # type: ignore  # backlint: ignore[BL402]",
    ],
)
def test_suppressed(project, comment: str) -> None:  # type: ignore[no-untyped-def]
    result = lint(project, swallow(comment))
    assert active(result) == []
    assert result.json()["summary"]["suppressed"] == 1
    assert result.exit_code == 0


@pytest.mark.parametrize(
    "comment",
    [
        "  # backlint: ignore[BL000]",  # another rule
        "  # noqa: E722",  # other tools' codes only
        "  # backlint: ignore-file[BL402]",  # file-level syntax only counts on a line of its own
    ],
)
def test_not_suppressed(project, comment: str) -> None:  # type: ignore[no-untyped-def]
    result = lint(project, swallow(comment))
    assert active(result) == [(4, "BL402")]
    assert result.exit_code == 1


@pytest.mark.parametrize("comment", ["  # noqa: BLE001", "  # nosec", "  # nosemgrep"])
def test_other_tools_reviews_count_unless_turned_off(project, comment: str) -> None:  # type: ignore[no-untyped-def]
    """flake8-blind-except's BLE001, bandit's and semgrep's blanket comments: the foreign-ignores table."""
    assert active(lint(project, swallow(comment))) == []
    project.write("pyproject.toml", "[tool.backlint]\nhonor-foreign-ignores = false\n")
    assert active(lint(project, swallow(comment))) == [(4, "BL402")]


def test_other_lines_do_not_suppress(project) -> None:  # type: ignore[no-untyped-def]
    text = swallow().replace("db.commit()", "db.commit()  # backlint: ignore[BL402]")
    text = text.replace("pass", "pass  # backlint: ignore[BL402]")  # the body is not the except header
    assert active(lint(project, text)) == [(4, "BL402")]


@pytest.mark.parametrize(("first", "last"), [("# backlint: ignore[BL402]", ""), ("", "# backlint: ignore[BL402]")])
def test_first_or_last_line_of_a_multi_line_statement(project, first: str, last: str) -> None:  # type: ignore[no-untyped-def]
    unsuppressed = lint(project, MULTI_LINE_HEADER.format(first="", last=""))
    assert active(unsuppressed) == [(4, "BL402")]
    result = lint(project, MULTI_LINE_HEADER.format(first=first, last=last))
    assert active(result) == []
    assert result.json()["summary"]["suppressed"] == 1


def test_file_level_suppression(project) -> None:  # type: ignore[no-untyped-def]
    broken = "def f(:\n"
    assert active(lint(project, "# backlint: ignore-file[BL402]\n" + swallow())) == []
    assert active(lint(project, "# backlint: ignore-file\n" + swallow() + swallow().replace("save", "load"))) == []
    assert active(lint(project, "# backlint: ignore-file[BL000]\n" + swallow())) == [(5, "BL402")]
    assert active(lint(project, swallow() + "    # backlint: ignore-file[BL4]\n")) == []  # anywhere in the file
    assert active(lint(project, "# backlint: ignore-file[BL000]\n" + broken)) == []


def test_suppressed_findings_are_counted_not_shown(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app.py", swallow("  # backlint: ignore[BL402]"))
    result = project.lint("app.py")
    assert result.stdout == "All clean: 1 file checked (1 suppressed).\n"
    assert result.exit_code == 0


def test_unknown_ids_are_warned_about_on_stderr(project) -> None:  # type: ignore[no-untyped-def]
    text = swallow("  # backlint: ignore[BL4O2]") + "x = 1  # noqa: BL999, E501\n# backlint: ignore-file[BL99]\n"
    project.write("app.py", text)
    result = project.lint("app.py", "--format", "concise")
    assert result.stdout.startswith("app.py:4:5: BL402")  # the typo suppressed nothing
    assert result.exit_code == 1  # warnings do not change the exit code
    assert result.stderr.splitlines() == [
        "backlint: warning: app.py:4: unknown rule id 'BL4O2' in suppression comment `# backlint: ignore[BL4O2]`",
        "backlint: warning: app.py:6: unknown rule id 'BL999' in suppression comment `# noqa: BL999, E501`",
        "backlint: warning: app.py:7: unknown rule id 'BL99' in suppression comment `# backlint: ignore-file[BL99]`",
    ]
    document = project.lint("app.py", "--format", "json").json()
    assert [f["rule_id"] for f in document["findings"]] == ["BL402"]  # a warning, not a finding


def test_known_ids_and_foreign_codes_are_not_warned_about(project) -> None:  # type: ignore[no-untyped-def]
    text = swallow("  # backlint: ignore[BL4, BL000]") + "y = 2  # noqa: E501, F401, BLE001\nz = 3  # noqa\n"
    project.write("app.py", text)
    result = project.lint("app.py")
    assert (result.exit_code, result.stderr) == (0, "")


def test_quiet_silences_suppression_warnings(project) -> None:  # type: ignore[no-untyped-def]
    project.write("app.py", "x = 1  # backlint: ignore[BL999]\n")
    assert project.lint("app.py", "--quiet").stderr == ""


def test_warnings_for_stdin_name_the_stdin_filename(project) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_cli

    result = run_cli("--stdin-filename", "api/app.py", cwd=project.root, input="x = 1  # noqa: BL999\n")
    assert "backlint: warning: api/app.py:1: unknown rule id 'BL999'" in result.stderr


def test_line_numbers_ignore_form_feeds_and_unicode_line_separators() -> None:
    """``str.splitlines`` breaks at \\f and U+2028; Python's tokenizer does not."""
    text = "a = 1\n\x0c\nb = '\u2028'  # noqa: BL402\r\nc = 3\rd = 4"
    assert physical_lines(text) == ["a = 1", "\x0c", "b = '\u2028'  # noqa: BL402", "c = 3", "d = 4"]
    suppressions = Suppressions(text)
    assert suppressions.find("BL402", 3, 3) is not None
    assert suppressions.find("BL402", 4, 5) is None


def test_suppression_after_a_form_feed_applies_to_the_right_line(project) -> None:  # type: ignore[no-untyped-def]
    result = lint(project, "import os\n\x0c\n" + swallow("  # backlint: ignore[BL402]"))
    assert active(result) == []
    assert result.json()["summary"]["suppressed"] == 1


MULTI_LINE_CALL = """\
import sqlite3


def find_user(name):
    cur = sqlite3.connect("app.db").cursor()
    cur.execute({first}
        f"SELECT * FROM users WHERE name = '{{name}}'"
    ){last}
    return cur.fetchall()
"""


@pytest.mark.parametrize(("first", "last"), [("  # backlint: ignore[BL101]", ""), ("", "  # noqa: BL101"), ("", "")])
def test_a_multi_line_call_is_suppressed_on_its_first_or_last_line(project, first: str, last: str) -> None:  # type: ignore[no-untyped-def]
    result = lint(project, MULTI_LINE_CALL.format(first=first, last=last), "--select", "BL101")
    suppressed = bool(first or last)
    assert [rule for _, rule in active(result)] == ([] if suppressed else ["BL101"])
    assert result.json()["summary"]["suppressed"] == int(suppressed)
