"""BL402 and BL403: an exception that is the expected answer (a duplicate answered 409, a token answered 401, a
host that does not resolve), and a handler's own chosen 200 answer, beside the look-alikes that still lose a
failure (corpus batch 4: timesketch, mlflow, octoprint; askbot's true finding). Each snippet is the shape of
a real app's code."""

from __future__ import annotations

from annotations import check_annotated

# timesketch/lib/definitions.py: the statuses the API answers with, as named constants.
DEFINITIONS = """
    HTTP_STATUS_CODE_OK = 200
    HTTP_STATUS_CODE_CREATED = 201
    HTTP_STATUS_CODE_BAD_REQUEST = 400
    HTTP_STATUS_CODE_UNAUTHORIZED = 401
    HTTP_STATUS_CODE_NOT_FOUND = 404
    HTTP_STATUS_CODE_CONFLICT = 409
    HTTP_STATUS_CODE_INTERNAL_SERVER_ERROR = 500
"""


def test_bl403_a_status_named_by_its_constant_is_that_status(project) -> None:  # type: ignore[no-untyped-def]
    """timesketch's sigma rules resource answers a duplicate rule (an ``IntegrityError``) with
    ``abort(HTTP_STATUS_CODE_CONFLICT, ...)`` and its JWT check a failed validation with
    ``abort(HTTP_STATUS_CODE_UNAUTHORIZED, ...)``: a 409 and a 401, the expected answers, not unlogged server
    errors. The same handler answering ``HTTP_STATUS_CODE_INTERNAL_SERVER_ERROR`` stays reported, and so does
    a 4xx from an ``except Exception`` around a commit (timesketch's event resource: ``abort(
    HTTP_STATUS_CODE_BAD_REQUEST, ...)``): a database failure answered as the client's fault, logged nowhere."""
    files = {
        "ts/lib/definitions.py": DEFINITIONS,
        "ts/api/sigma.py": """
            import logging

            from flask import abort, request
            from sqlalchemy.exc import IntegrityError

            from ts.lib.definitions import (
                HTTP_STATUS_CODE_BAD_REQUEST,
                HTTP_STATUS_CODE_CONFLICT,
                HTTP_STATUS_CODE_INTERNAL_SERVER_ERROR,
                HTTP_STATUS_CODE_UNAUTHORIZED,
            )
            from ts.models import SigmaRule, db_session

            logger = logging.getLogger(__name__)


            def post_rule(rule_yaml):
                sigma_rule = SigmaRule.get_or_create(rule_yaml=rule_yaml)
                try:
                    db_session.add(sigma_rule)
                    db_session.commit()
                except IntegrityError as e:
                    error_msg = f"Error adding Sigma rule {e!s}"
                    logger.error(error_msg)
                    abort(HTTP_STATUS_CODE_CONFLICT, error_msg)
                return sigma_rule


            def validate_session(token_json, expected_issuer):
                try:
                    validate_jwt(token_json, expected_issuer)
                except (ImportError, NameError, UnboundLocalError):
                    raise
                except Exception as e:
                    return abort(HTTP_STATUS_CODE_UNAUTHORIZED, f"Unable to validate the JWT token, with error: {e!s}.")
                return token_json


            def add_event(sketch, timeline):
                try:
                    sketch.timelines.append(timeline)
                    db_session.add(timeline)
                    db_session.commit()
                # TODO: Can this be narrowed down, not to catch a generic exception.
                except Exception as e:  # expect: BL403
                    abort(HTTP_STATUS_CODE_BAD_REQUEST, f"Failed to add event ({e!s})")
                return timeline


            def export_rules(rules):
                try:
                    return build_archive(rules)
                except Exception as e:  # expect: BL403
                    logger.error(f"Export failed: {e!s}")
                    abort(HTTP_STATUS_CODE_INTERNAL_SERVER_ERROR, "Export failed")
        """,
    }
    check_annotated(project, files, "BL403")


def test_bl403_a_default_200_answers_a_failure_only_when_it_carries_it(project) -> None:  # type: ignore[no-untyped-def]
    """mlflow's UI telemetry endpoint tells the UI to stop sending records when anything fails (``return
    jsonify({"status": "disabled"})``: a 200 the handler chose, not a server error). askbot's ``ajax_only``
    wrapper answers the exception's message with a 200 (``HttpResponse(json.dumps({"message": str(e),
    "success": 0}))``) and logs it at debug level only: the failure answered and lost to the log, reported."""
    files = {
        "app/telemetry.py": """
            import logging

            from flask import jsonify, request

            _logger = logging.getLogger(__name__)


            def upload_ui_telemetry():
                try:
                    records = [Record(**event) for event in request.json.get("records", [])]
                    get_telemetry_client().add_records(records)
                    return jsonify({"status": "success"})
                except Exception as e:
                    _logger.debug(f"Failed to process UI telemetry records: {e}")
                    return jsonify({"status": "disabled"})
        """,
        "app/decorators.py": """
            import functools
            import json
            import logging

            from django.http import HttpResponse


            def ajax_only(view_func):
                @functools.wraps(view_func)
                def wrapper(request, *args, **kwargs):
                    try:
                        data = view_func(request, *args, **kwargs)
                    except Exception as e:  # expect: BL403
                        if hasattr(e, "messages"):
                            message = e.messages[0]
                        else:
                            message = str(e)
                        logging.debug(message)
                        data = {"message": message, "success": 0}
                        return HttpResponse(json.dumps(data), content_type="application/json")
                    return HttpResponse(json.dumps(data), content_type="application/json")

                return wrapper
        """,
    }
    check_annotated(project, files, "BL403")


def test_bl402_a_host_that_does_not_resolve_is_the_answer(project) -> None:  # type: ignore[no-untyped-def]
    """octoprint's connectivity test endpoint answers whether a host name resolves: ``resolve_host`` answers
    ``[]`` when ``socket.getaddrinfo`` fails and the endpoint reads ``len(resolve_host(name)) > 0``. A name
    that does not resolve is what was asked, not a failure that vanishes. The same fallback around a
    data-store query stays reported."""
    files = {
        "app/__init__.py": "",
        "app/util/__init__.py": "",
        "app/util/net.py": """
            def resolve_host(host):
                import socket

                from app.util import to_unicode

                try:
                    return [to_unicode(x[4][0]) for x in socket.getaddrinfo(host, 80)]
                except Exception:
                    return []


            def known_hosts(db, host):
                try:
                    return [row.address for row in db.session.execute(select_hosts(host)).fetchall()]
                except Exception:  # expect: BL402
                    return []
        """,
        "app/api.py": """
            from flask import Blueprint, jsonify, request

            from app.extensions import db
            from app.util.net import known_hosts, resolve_host

            bp = Blueprint("api", __name__)


            @bp.post("/util/test/resolution")
            def test_resolution():
                name = request.json["name"]
                resolvable = len(resolve_host(name)) > 0
                return jsonify(name=name, result=resolvable)


            @bp.get("/util/hosts/<host>")
            def hosts(host):
                return jsonify(result=known_hosts(db, host))
        """,
    }
    check_annotated(project, files, "BL402")
