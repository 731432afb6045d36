"""The language server end to end (a real client over stdio, pytest-lsp) and the CLI modes editors use."""

from __future__ import annotations

import asyncio
import collections
import sys
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp", reason="pytest-lsp needs Python 3.10+")

from conftest import HANDLED, SWALLOWED, run_cli  # noqa: E402
from lsprotocol import types  # noqa: E402
from pygls.protocol import default_converter  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features  # noqa: E402

from backlint.core.catalog import load_catalog  # noqa: E402
from backlint.core.results import Finding, Span  # noqa: E402
from backlint.lsp import Fix, code_actions, fix_edit, split_lines, suppression_line  # noqa: E402

PUBLISH = types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS


def make_client() -> LanguageClient:
    """pytest-lsp's test client, plus: every publish queued per document (so no test can miss or
    take another's), and client/registerCapability answered as VS Code does."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = collections.defaultdict(asyncio.Queue)  # type: ignore[attr-defined]
    client.registered = []  # type: ignore[attr-defined]

    def publish(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        DEFAULT_CLIENT_FEATURES[PUBLISH](client, params)
        client.published[params.uri].put_nowait(params)  # type: ignore[attr-defined]

    def register(client: LanguageClient, params: types.RegistrationParams) -> None:
        client.registered.extend(params.registrations)  # type: ignore[attr-defined]

    features = {**DEFAULT_CLIENT_FEATURES, PUBLISH: publish, types.CLIENT_REGISTER_CAPABILITY: register}
    register_lsp_features(client, features)
    return client


SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "backlint", "server", "--stdio"], client_factory=make_client
)
# One server per module (starting one costs a second or two); each test uses its own files.
on_server = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.backlint]\nextend-exclude = ["generated"]\nper-file-ignores = { "legacy/**" = ["BL402"] }\n',
        encoding="utf-8",
    )
    return tmp_path


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await lsp_client.initialize_session(types.InitializeParams(capabilities=client_capabilities("visual-studio-code")))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER, scope="module")
async def utf32_client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    capabilities = client_capabilities("visual-studio-code")
    capabilities.general = types.GeneralClientCapabilities(
        position_encodings=[types.PositionEncodingKind.Utf32, types.PositionEncodingKind.Utf16]
    )
    result = await lsp_client.initialize_session(types.InitializeParams(capabilities=capabilities))
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf32
    yield
    await lsp_client.shutdown_session()


async def published(client: LanguageClient, path: Path) -> types.PublishDiagnosticsParams:
    """The next diagnostics published for ``path``."""
    queue: asyncio.Queue[types.PublishDiagnosticsParams] = client.published[path.as_uri()]  # type: ignore[attr-defined]
    return await asyncio.wait_for(queue.get(), 30)


async def open_doc(client: LanguageClient, path: Path, text: str) -> types.PublishDiagnosticsParams:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=text)
        )
    )
    return await published(client, path)


def replace_all(client: LanguageClient, path: Path, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def apply(text: str, edit: types.TextEdit) -> str:
    """Apply an edit to ASCII text (UTF-16 units are code points there)."""
    lines = text.splitlines(keepends=True)

    def offset(position: types.Position) -> int:
        return sum(len(line) for line in lines[: position.line]) + position.character

    return text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]


async def actions_for(client: LanguageClient, path: Path, diagnostics: tuple[types.Diagnostic, ...]) -> list:  # type: ignore[type-arg]
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
            range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=list(diagnostics)),
        )
    )
    return list(result or [])


# --- diagnostics ---------------------------------------------------------------------------------


@on_server
async def test_open_publishes_a_full_diagnostic(client: LanguageClient, workspace: Path) -> None:
    params = await open_doc(client, workspace / "app" / "orders.py", SWALLOWED)
    assert params.version == 1
    (diagnostic,) = params.diagnostics
    rule = load_catalog().rules["BL402"]
    assert diagnostic.code == "BL402"
    assert diagnostic.source == "backlint"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.code_description is not None and diagnostic.code_description.href == rule.help_uri
    assert "swallows" in diagnostic.message
    # `except Exception:` starts at line 4, column 5 (1-based): LSP counts from 0
    assert diagnostic.range.start == types.Position(line=3, character=4)
    assert diagnostic.range.end.line == 4


@on_server
async def test_clean_buffer_publishes_no_diagnostics(client: LanguageClient, workspace: Path) -> None:
    assert (await open_doc(client, workspace / "app" / "orders.py", HANDLED)).diagnostics == ()


BROKEN_AFTER_EMOJI = 'greeting = "😀" + )\n'


@on_server
async def test_unparsable_buffer_gives_bl000_in_utf16_units_and_the_server_goes_on(
    client: LanguageClient, workspace: Path
) -> None:
    path = workspace / "app" / "views.py"
    params = await open_doc(client, path, BROKEN_AFTER_EMOJI)
    (diagnostic,) = params.diagnostics
    assert (diagnostic.code, diagnostic.severity) == ("BL000", types.DiagnosticSeverity.Error)
    # the stray ")" is code point 17 (0-based) but UTF-16 unit 18: the emoji takes two units
    assert diagnostic.range.start == types.Position(line=0, character=18)
    assert diagnostic.range.end.character > diagnostic.range.start.character  # visible, not an empty range
    replace_all(client, path, 2, SWALLOWED)
    assert [d.code for d in (await published(client, path)).diagnostics] == ["BL402"]


@on_server
async def test_utf32_client_gets_code_point_columns(utf32_client: LanguageClient, workspace: Path) -> None:
    params = await open_doc(utf32_client, workspace / "app" / "views.py", BROKEN_AFTER_EMOJI)
    assert params.diagnostics[0].range.start == types.Position(line=0, character=17)


@on_server
async def test_changes_are_debounced_to_the_last_version(client: LanguageClient, workspace: Path) -> None:
    path = workspace / "app" / "orders.py"
    await open_doc(client, path, HANDLED)
    for version, text in ((2, SWALLOWED), (3, HANDLED), (4, SWALLOWED)):
        replace_all(client, path, version, text)
    params = await published(client, path)
    assert params.version == 4  # versions 2 and 3 were never linted
    assert [d.code for d in params.diagnostics] == ["BL402"]


@on_server
async def test_config_and_per_file_ignores_follow_the_document_path(client: LanguageClient, workspace: Path) -> None:
    assert len((await open_doc(client, workspace / "app" / "orders.py", SWALLOWED)).diagnostics) == 1
    assert (await open_doc(client, workspace / "legacy" / "orders.py", SWALLOWED)).diagnostics == ()  # per-file-ignores
    assert (await open_doc(client, workspace / "generated" / "orders.py", SWALLOWED)).diagnostics == ()  # excluded
    assert (await open_doc(client, workspace / "tests" / "test_orders.py", SWALLOWED)).diagnostics == ()  # test file


@on_server
async def test_save_picks_up_a_changed_pyproject(client: LanguageClient, workspace: Path) -> None:
    path = workspace / "app" / "orders.py"
    assert len((await open_doc(client, path, SWALLOWED)).diagnostics) == 1
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + 'ignore = ["BL402"]\n', encoding="utf-8")
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()))
    )
    assert (await published(client, path)).diagnostics == ()


@on_server
async def test_watched_pyproject_change_relints_open_buffers(client: LanguageClient, workspace: Path) -> None:
    path = workspace / "app" / "orders.py"
    assert len((await open_doc(client, path, SWALLOWED)).diagnostics) == 1
    (registration,) = client.registered  # type: ignore[attr-defined]
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + 'ignore = ["BL402"]\n', encoding="utf-8")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    assert (await published(client, path)).diagnostics == ()


@on_server
async def test_broken_pyproject_is_reported_not_fatal(client: LanguageClient, workspace: Path) -> None:
    (workspace / "pyproject.toml").write_text('[tool.backlint]\nselect = "BL402"\n', encoding="utf-8")
    assert (await open_doc(client, workspace / "app" / "orders.py", SWALLOWED)).diagnostics == ()
    assert any("tool.backlint.select" in m.message for m in client.messages)


@on_server
async def test_close_clears_diagnostics(client: LanguageClient, workspace: Path) -> None:
    path = workspace / "app" / "orders.py"
    await open_doc(client, path, SWALLOWED)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()))
    )
    assert (await published(client, path)).diagnostics == ()


# --- code actions --------------------------------------------------------------------------------

MULTILINE_HANDLER = """\
def mark_paid(db, order):
    try:
        db.commit()
    except (
        ValueError,
        Exception,
    ):
        # TODO: retry the order in the nightly job
        pass
"""


@on_server
async def test_suppress_action_goes_on_the_statements_line_and_silences_it(
    client: LanguageClient, workspace: Path
) -> None:
    path = workspace / "app" / "orders.py"
    diagnostics = tuple((await open_doc(client, path, MULTILINE_HANDLER)).diagnostics)
    (action,) = await actions_for(client, path, diagnostics)
    assert action.title == "Suppress BL402 with `# backlint: ignore[BL402]`"
    assert action.kind == types.CodeActionKind.QuickFix
    (edit,) = action.edit.changes[path.as_uri()]
    fixed = apply(MULTILINE_HANDLER, edit)
    assert fixed.splitlines()[6] == "    ):  # backlint: ignore[BL402]"  # the header's last line, not the comment
    replace_all(client, path, 2, fixed)
    assert (await published(client, path)).diagnostics == ()


@on_server
async def test_suppress_action_extends_an_existing_ignore(client: LanguageClient, workspace: Path) -> None:
    path = workspace / "app" / "orders.py"
    text = SWALLOWED.replace("except Exception:", "except Exception:  # backlint: ignore[BL000]")
    diagnostics = tuple((await open_doc(client, path, text)).diagnostics)
    (action,) = await actions_for(client, path, diagnostics)
    fixed = apply(text, action.edit.changes[path.as_uri()][0])
    assert "    except Exception:  # backlint: ignore[BL000, BL402]\n" in fixed
    replace_all(client, path, 2, fixed)
    assert (await published(client, path)).diagnostics == ()


@on_server
async def test_no_actions_for_a_buffer_edited_since_its_lint(client: LanguageClient, workspace: Path) -> None:
    path = workspace / "app" / "orders.py"
    diagnostics = tuple((await open_doc(client, path, SWALLOWED)).diagnostics)
    replace_all(client, path, 2, "\n\n" + SWALLOWED)  # the lint of version 2 waits for the debounce
    assert await actions_for(client, path, diagnostics) == []


# --- the pieces an autofix plugs into (in-process) -----------------------------------------------


class _Utf16:
    """The position codec of a UTF-16 client, as pygls provides it."""

    @staticmethod
    def client_num_units(text: str) -> int:
        return len(text.encode("utf-16-le")) // 2


def _finding(line: int, statement: tuple[int, int], rule_id: str = "BL101") -> Finding:
    return Finding(rule_id, "app.py", Span(line, 5, line, 9), "message", "warning", statement_lines=statement)


def test_fix_edit_is_minimal_and_counts_utf16_units() -> None:
    text = 'label = "😀"\r\nquery = "SELECT " + name\r\n'
    fixed = 'label = "😀"\r\nquery = ("SELECT ", name)\r\n'
    edit = fix_edit(text, split_lines(text), fixed, _Utf16())
    assert edit.range == types.Range(
        start=types.Position(line=1, character=8), end=types.Position(line=1, character=24)
    )
    assert edit.new_text == '("SELECT ", name)'
    text = 'x = "😀"; y = 1\n'
    edit = fix_edit(text, split_lines(text), 'x = "😀"; y = 2\n', _Utf16())
    assert (edit.range.start.character, edit.new_text) == (14, "2")  # the emoji counts as two units


def test_autofixes_come_first_and_preferred() -> None:
    text = "import os\nquery = 'SELECT ' + os.environ['X']\n"
    finding = _finding(2, (2, 2))

    def fixer(source: str, found: Finding) -> list[Fix]:
        return [Fix("Use a bound parameter", source.replace("'SELECT ' + os.environ['X']", "'SELECT ?'"))]

    diagnostic = types.Diagnostic(range=types.Range(start=types.Position(1, 8), end=types.Position(1, 12)), message="m")
    actions = code_actions("file:///app.py", text, [(diagnostic, finding)], fixer, _Utf16())
    assert [a.title for a in actions] == ["Use a bound parameter", "Suppress BL101 with `# backlint: ignore[BL101]`"]
    assert actions[0].is_preferred
    (edit,) = actions[0].edit.changes["file:///app.py"]
    assert apply(text, edit) == "import os\nquery = 'SELECT ?'\n"


def test_suppression_line_skips_multiline_strings_and_continuations() -> None:
    text = 'cursor.execute("""\n    SELECT * FROM t WHERE id = %s\n""" % order_id)\nx = 1 + \\\n    2\n'
    assert suppression_line(text, _finding(1, (1, 3))) == 3
    assert suppression_line(text, _finding(4, (4, 5))) == 5


def test_parse_errors_get_no_suppress_action() -> None:
    text = "def f(:\n"
    finding = Finding("BL000", "app.py", Span(1, 7, 1, 7), "cannot parse", "error", statement_lines=(1, 1))
    diagnostic = types.Diagnostic(range=types.Range(start=types.Position(0, 6), end=types.Position(0, 7)), message="m")
    assert code_actions("file:///app.py", text, [(diagnostic, finding)], lambda s, f: [], _Utf16()) == []


# --- the command line -------------------------------------------------------------------------------


def test_server_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "backlint.lsp", raising=False)
    for name in [m for m in sys.modules if m == "pygls" or m.startswith("pygls.")]:
        monkeypatch.setitem(sys.modules, name, None)
    result = run_cli("server")
    assert result.exit_code == 2
    assert "install backlint with its lsp extra from a checkout" in result.stderr
    assert "pip install '/path/to/backlint[lsp]'" in result.stderr
    assert "pip install 'backlint[lsp]'" not in result.stderr  # no registry release to install from yet


def test_stdin_filename_uses_the_paths_config(workspace: Path) -> None:
    """What ALE, flycheck and efm run: the buffer on stdin, its path for config, ignores and output."""

    def lint(*args: str) -> tuple[int, str]:
        result = run_cli("--format", "concise", "--quiet", *args, cwd=workspace, input=SWALLOWED)
        return result.exit_code, result.stdout

    code, out = lint("--stdin-filename", "app/orders.py", "-")
    assert code == 1
    assert out.startswith("app/orders.py:4:5: BL402 ")
    assert out.count("\n") == 1
    assert lint("--stdin-filename", "legacy/orders.py") == (0, "")  # per-file-ignores
    assert lint("--force-exclude", "--stdin-filename", "generated/orders.py") == (0, "")  # excluded
    assert lint("--stdin-filename", "generated/orders.py")[0] == 1  # without --force-exclude, still linted


INJECTABLE = """\
import sqlite3

conn = sqlite3.connect("app.db")


def find_user(name):
    return conn.execute(f"SELECT id FROM users WHERE name = '{name}'").fetchall()
"""


@on_server
async def test_autofix_action_is_the_fix_the_cli_applies(client: LanguageClient, workspace: Path) -> None:
    path = workspace / "app" / "users.py"
    diagnostics = tuple((await open_doc(client, path, INJECTABLE)).diagnostics)
    assert [d.code for d in diagnostics] == ["BL101"]
    fix, suppress = await actions_for(client, path, diagnostics)
    assert fix.title.endswith("(unsafe: review the change)") and not fix.is_preferred  # never applied unasked
    assert suppress.title.startswith("Suppress BL101")
    fixed = apply(INJECTABLE, fix.edit.changes[path.as_uri()][0])
    assert 'conn.execute("SELECT id FROM users WHERE name = ?", (name,))' in fixed
    (workspace / "cli_copy.py").write_text(INJECTABLE, encoding="utf-8")
    assert run_cli("--fix", "--unsafe-fixes", "--no-cache", "cli_copy.py", cwd=workspace).exit_code == 0
    assert (workspace / "cli_copy.py").read_text(encoding="utf-8") == fixed
    replace_all(client, path, 2, fixed)
    assert (await published(client, path)).diagnostics == ()


# --- the project rules in the editor: the same findings as `backlint check` -----------------------

ORDERS = "shopapi/routers/orders.py"
REPORTS = "shopapi/routers/reports.py"
MAIN = "shopapi/main.py"
APP_HANDLER = """

from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError


@app.exception_handler(SQLAlchemyError)
async def database_error(request, exc):
    logger.exception("database error on %s", request.url.path)
    return JSONResponse(status_code=500, content={"detail": "database unavailable"})
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The FastAPI fixture app in debug mode with its configuration: the project rules judge it (BL401, BL404,
    BL405, BL801)."""
    import shutil

    from conftest import FIXTURES, debug_shop

    debug_shop(shutil.copytree(FIXTURES / "endpoints_fastapi", tmp_path / "shop"))
    (tmp_path / "shop" / "pyproject.toml").write_text(
        '[tool.backlint]\nextend-select = ["BL304", "BL405", "BL407", "BL801", "BL802"]\n', encoding="utf-8"
    )
    return tmp_path / "shop"


def cli_findings(root: Path, relative: str) -> list[tuple[str, int]]:
    result = run_cli("check", "--format", "json", "--no-cache", relative, cwd=root)
    return sorted((f["rule_id"], f["line"]) for f in result.json()["findings"])


def published_findings(params: types.PublishDiagnosticsParams) -> list[tuple[str, int]]:
    return sorted((str(d.code), d.range.start.line + 1) for d in params.diagnostics)


@on_server
async def test_the_editor_shows_what_the_cli_reports_project_rules_included(client: LanguageClient, shop: Path) -> None:
    for relative in (ORDERS, REPORTS, MAIN):
        path = shop / relative
        shown = published_findings(await open_doc(client, path, path.read_text(encoding="utf-8")))
        expected = cli_findings(shop, relative)
        assert shown == expected, relative
    assert {"BL401", "BL801"} <= {code for code, _ in cli_findings(shop, ORDERS)}
    assert {"BL404", "BL405"} <= {code for code, _ in cli_findings(shop, REPORTS)}


@on_server
async def test_a_change_in_one_buffer_re_judges_the_other_open_documents(client: LanguageClient, shop: Path) -> None:
    orders, main = shop / ORDERS, shop / MAIN
    assert ("BL401", 23) in published_findings(await open_doc(client, orders, orders.read_text(encoding="utf-8")))
    text = main.read_text(encoding="utf-8")
    await open_doc(client, main, text)
    replace_all(client, main, 2, text + APP_HANDLER)  # an app-level handler for database errors
    assert (await published(client, main)).version == 2
    again = await published(client, orders)  # orders.py was not edited: its project findings changed
    assert again.version == 1
    assert ("BL401", 23) not in published_findings(again)
    replace_all(client, main, 3, text + APP_HANDLER + "\ndef broken(:\n")  # main.py stops parsing
    assert [d.code for d in (await published(client, main)).diagnostics] == ["BL000"]
    # its last good facts (with the handler) still judge orders.py: nothing changed there, no publish
    replace_all(client, main, 4, text)
    assert ("BL401", 23) in published_findings(await published(client, orders))


@on_server
async def test_project_rules_autofixes_and_fix_all(client: LanguageClient, shop: Path) -> None:
    path = shop / REPORTS
    text = path.read_text(encoding="utf-8")
    diagnostics = tuple((await open_doc(client, path, text)).diagnostics)
    leak = tuple(d for d in diagnostics if d.code in ("BL404", "BL405"))
    assert {d.code for d in leak} == {"BL404", "BL405"}
    for diagnostic in leak:
        titles = [a.title for a in await actions_for(client, path, (diagnostic,))]
        assert len(titles) == 2 and titles[1].startswith(f"Suppress {diagnostic.code}"), titles
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
            range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.SourceFixAll]),
        )
    )
    (fix_all,) = result or []
    assert fix_all.kind == "source.fixAll.backlint"
    fixed = apply(text, fix_all.edit.changes[path.as_uri()][0])
    assert run_cli("check", "--fix", "--no-cache", REPORTS, cwd=shop).exit_code in (0, 1)
    assert path.read_text(encoding="utf-8") == fixed  # the editor's fix-all is `backlint check --fix`
    replace_all(client, path, 2, fixed)
    codes = {d.code for d in (await published(client, path)).diagnostics}
    assert "BL403" not in codes  # its fix is safe: fix-all applied it
    assert {"BL404", "BL405"} <= codes  # theirs need review: offered one by one, never applied unasked
