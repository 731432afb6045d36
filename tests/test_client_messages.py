"""BL404–BL406 on patterns from real apps: whose text an answer carries, and which status it keeps."""

from __future__ import annotations

import textwrap

from annotations import expected_findings


def _lint(project, files: dict[str, str], rule: str) -> tuple[set[tuple[str, int, str]], set[tuple[str, int, str]]]:  # type: ignore[no-untyped-def]
    """(found, expected) for ``rule`` over the files, ``# expect:`` markers giving the expected ones."""
    texts = {path: textwrap.dedent(text).lstrip("\n") for path, text in files.items()}
    for path, text in texts.items():
        project.write(path, text)
    data = project.lint(*texts, "--format", "json", "--select", rule).json()
    found = {(f["path"], f["line"], f["rule_id"]) for f in data["findings"]}
    expected = {
        (path, line, rule_id)
        for path, text in texts.items()
        for line, rule_id in expected_findings(text)
        if rule_id == rule
    }
    return found, expected


ERRORS = """
    from fastapi import status


    class ServiceError(Exception):
        \"\"\"Raised by the services with a message for the user.\"\"\"

        status_code = status.HTTP_503_SERVICE_UNAVAILABLE


    class ElectrumError(ServiceError):
        pass


    class UpstreamError(Exception):
        pass
"""

SERVICES = """
    import requests

    from app.errors import ElectrumError, UpstreamError


    def fetch_tip(client):
        if client is None:
            raise ElectrumError("Not connected")
        return client.tip()


    def fetch_feed(url):
        try:
            return requests.get(url, timeout=5).json()
        except requests.RequestException as exc:
            message = f"feed failed: {exc}"
            raise UpstreamError(message) from exc
"""


def test_bl405_the_projects_own_exception_classes_carry_its_own_messages(project) -> None:  # type: ignore[no-untyped-def]
    """lnbits: ``except ElectrumError as e: raise HTTPException(503, detail=str(e))``, the class defined in
    another module and raised with literal text; a class given a library exception's text still leaks."""
    files = {
        "app/__init__.py": "",
        "app/errors.py": ERRORS,
        "app/services.py": SERVICES,
        "app/main.py": """
            from fastapi import FastAPI, HTTPException

            from app.errors import ServiceError, UpstreamError
            from app.services import fetch_feed, fetch_tip

            app = FastAPI()


            @app.get("/tip")
            async def tip():
                try:
                    return fetch_tip(None)
                except ServiceError as e:
                    raise HTTPException(status_code=503, detail=str(e)) from e


            @app.get("/feed")
            async def feed(url: str):
                try:
                    return fetch_feed(url)
                except UpstreamError as e:
                    raise HTTPException(status_code=502, detail=str(e)) from e  # expect: BL405
        """,
    }
    found, expected = _lint(project, files, "BL405")
    assert found == expected


def test_bl405_a_helper_that_never_returns_the_exceptions_text(project) -> None:  # type: ignore[no-untyped-def]
    """open-webui: ``detail=ERROR_MESSAGES.DEFAULT(e, "Error creating group")``, an enum member naming a
    function that answers the fallback for any exception; a helper formatting the exception still leaks."""
    files = {
        "app/__init__.py": "",
        "app/constants.py": """
            from enum import Enum


            def _error_message(err="", fallback=""):
                if not err:
                    return "Something went wrong"
                if isinstance(err, Exception):
                    return f"[ERROR: {fallback}]" if fallback else "Something went wrong"
                return f"[ERROR: {err}]"


            def describe(err):
                return f"failed: {err}"


            class ERROR_MESSAGES(str, Enum):
                DEFAULT = _error_message
                NOT_FOUND = "We could not find what you're looking for :/"
                INVALID_QUERY = "The search query is not valid."
        """,
        "app/main.py": """
            import logging

            from fastapi import FastAPI, HTTPException

            from app.constants import ERROR_MESSAGES, describe

            log = logging.getLogger(__name__)
            app = FastAPI()


            @app.post("/groups")
            async def create_group(form: dict):
                try:
                    return await groups.insert(form)
                except Exception as e:
                    log.exception("create_group failed")
                    raise HTTPException(status_code=400, detail=ERROR_MESSAGES.DEFAULT(e, "Error creating group"))


            @app.post("/tools")
            async def create_tool(form: dict):
                try:
                    return await tools.insert(form)
                except Exception as e:
                    log.exception("create_tool failed")
                    raise HTTPException(status_code=500, detail=describe(e))  # expect: BL405


            @app.post("/models")
            async def create_model(form: dict):
                try:
                    return await models.insert(form)
                except Exception as e:
                    log.exception("create_model failed")
                    raise HTTPException(status_code=500, detail=f"{ERROR_MESSAGES.DEFAULT(e)}: {e}")  # expect: BL405
        """,
    }
    found, expected = _lint(project, files, "BL405")
    assert found == expected


def test_bl406_a_5xx_raised_in_the_try_and_answered_as_500(project) -> None:  # type: ignore[no-untyped-def]
    """A 502 for a failed upstream call, caught by the broad handler below and answered 500."""
    files = {
        "app/main.py": """
            import logging

            from fastapi import FastAPI, HTTPException

            log = logging.getLogger(__name__)
            app = FastAPI()


            @app.get("/models")
            async def models():
                try:
                    response = await upstream.get("/models")
                    if response.status >= 500:
                        raise HTTPException(status_code=502, detail="Upstream unavailable")
                    return await response.json()
                except Exception:  # expect: BL406
                    log.exception("listing models failed")
                    raise HTTPException(status_code=500, detail="Server error")


            @app.get("/tasks")
            async def tasks():
                try:
                    rows = await store.fetch_tasks()
                    if rows is None:
                        raise HTTPException(status_code=500, detail="Task store failed")
                    return rows
                except Exception:
                    log.exception("listing tasks failed")
                    raise HTTPException(status_code=500, detail="Server error")
        """,
    }
    found, expected = _lint(project, files, "BL406")
    assert found == expected


def test_bl404_a_boolean_status_flag_the_success_answer_also_carries(project) -> None:  # type: ignore[no-untyped-def]
    """open-webui: ``return {"status": True}`` on success and ``{"status": False}`` from the logged broad
    ``except``: the client reads the flag; an error message answered 200 is still reported."""
    files = {
        "app/main.py": """
            import logging

            from fastapi import FastAPI

            log = logging.getLogger(__name__)
            app = FastAPI()


            @app.post("/collections/delete")
            async def delete_entries(form: dict):
                try:
                    await vector_db.delete(form["name"])
                    return {"status": True}
                except Exception as e:
                    log.exception(e)
                    return {"status": False}


            @app.post("/collections/reset")
            async def reset(form: dict):
                try:
                    await vector_db.reset(form["name"])
                    return {"status": True}
                except Exception as e:
                    log.exception(e)
                    return {"status": False, "error": "could not reset"}  # expect: BL404
        """,
    }
    found, expected = _lint(project, files, "BL404")
    assert found == expected


def test_bl405_a_4xx_about_the_clients_own_malformed_input(project) -> None:  # type: ignore[no-untyped-def]
    """dagster-webserver and open-webui: a ``try`` that only parses the request's values (``json.loads``,
    here through a compatibility module, a model constructed from them) answered 400 with the parse error;
    a ``try`` that does I/O still leaks."""
    files = {
        "app/main.py": """
            from fastapi import FastAPI, HTTPException, Request
            from fastapi.responses import JSONResponse

            from app.compat import json

            app = FastAPI()


            @app.post("/assets/{key}/materializations")
            async def report_materialization(request: Request, key: str):
                try:
                    metadata = json.loads(request.query_params["metadata"])
                except Exception as exc:
                    return JSONResponse({"error": f"Error parsing metadata json: {exc}"}, status_code=400)
                try:
                    materialization = AssetMaterialization(asset_key=AssetKey(key), metadata=metadata)
                except Exception as exc:
                    return JSONResponse({"error": f"Error constructing AssetMaterialization: {exc}"}, status_code=400)
                await store.report(materialization)
                return {}


            @app.post("/chat")
            async def chat(form_data: dict):
                try:
                    form = ChatForm.model_validate(form_data)
                except Exception as exc:
                    raise HTTPException(status_code=400, detail=str(exc))
                try:
                    return await completions.create(form)
                except Exception as exc:
                    raise HTTPException(status_code=400, detail=str(exc))  # expect: BL405
        """,
    }
    found, expected = _lint(project, files, "BL405")
    assert found == expected


def test_bl405_an_http_error_handed_back_to_the_framework(project) -> None:  # type: ignore[no-untyped-def]
    """zou and alerta: a handler for every exception returns an ``HTTPException`` (or a werkzeug routing
    redirect) as such, for Flask to render with its own description; the text of the others still leaks."""
    files = {
        "app/__init__.py": """
            import logging

            from flask import Flask, jsonify
            from werkzeug.exceptions import HTTPException
            from werkzeug.routing import RoutingException

            log = logging.getLogger(__name__)
            app = Flask(__name__)


            @app.errorhandler(Exception)
            def handle_exception(error):
                if isinstance(error, (HTTPException, RoutingException)):
                    return error
                log.exception("unhandled error")
                return jsonify({"status": "error", "errors": [str(error)]}), 500  # expect: BL405
        """,
    }
    found, expected = _lint(project, files, "BL405")
    assert found == expected


def test_bl405_flask_hands_a_500_handler_the_error_wrapped(project) -> None:  # type: ignore[no-untyped-def]
    """alerta: a renderer of every HTTP error, registered for each status werkzeug knows (500 included),
    answers ``str(error)``: in Flask it receives an unhandled error as an ``InternalServerError`` whose text
    is its generic description. ``error.original_exception`` is the unhandled error, which still leaks."""
    files = {
        "api/__init__.py": """
            from flask import Flask, jsonify
            from werkzeug.exceptions import default_exceptions

            app = Flask(__name__)


            def handle_http_error(error):
                return jsonify({"status": "error", "message": str(error), "code": error.code}), error.code


            for code in default_exceptions:
                app.register_error_handler(code, handle_http_error)
        """,
        "admin/__init__.py": """
            from flask import Flask, jsonify

            app = Flask(__name__)


            @app.errorhandler(500)
            def handle_server_error(error):
                return jsonify({"status": "error", "message": str(error.original_exception)}), 500  # expect: BL405
        """,
    }
    found, expected = _lint(project, files, "BL405")
    assert found == expected
