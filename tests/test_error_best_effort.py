"""BL402 and BL403: failures tolerated by what the code does (corpus batches 1 and 2), beside the shapes of the
same calls that still lose a failure. Each snippet is the shape of a real app's code."""

from __future__ import annotations

from annotations import check_annotated


def test_bl402_best_effort_steps_by_what_the_call_does(project) -> None:  # type: ignore[no-untyped-def]
    """A message redacted (mautrix-telegram), a future's outcome retrieved so that asyncio does not warn
    (opal-server), a child process reaped with a timeout, a signal sent to its receivers (changedetection.io),
    a mirror of a file just written and a recomputed sort value (archivebox, gramps-webapi), a message
    written to the console from a signal handler (archivebox), anonymous usage data posted by a logging
    class (label-studio), a row count read for display (archivebox's admin): their failure loses nothing.
    The same calls' look-alikes that lose data stay reported."""
    files = {
        "app/bot.py": """
            import os
            import sys

            import requests
            from blinker import signal

            watch_check_update = signal("watch_check_update")


            async def login_qr(evt, qr_login, qr_event_id):
                user = await qr_login.wait()
                try:
                    await evt.main_intent.redact(evt.room_id, qr_event_id, reason="QR code scanned")
                except Exception:
                    pass
                return user


            def _consume_future_result(fut) -> None:
                if not fut.cancelled():
                    try:
                        fut.exception()
                    except Exception:
                        pass


            def poll(self):
                proc = self.proc
                if proc is not None:
                    try:
                        proc.wait(timeout=0.001)
                    except Exception:
                        pass
                return self.exit_code


            def cancel_running(uuid):
                cancelled = stop_worker(uuid)
                try:
                    watch_check_update.send(watch_uuid=uuid)
                except Exception:
                    pass
                return cancelled


            def write_config(config_path, text):
                atomic_write(config_path, text)
                try:
                    flat, _mtime = _load_file_config_dict()
                    _mirror_file_to_machine_config(flat)
                except Exception:
                    pass


            def recalc_date_sortvals(data):
                if data.get("_class") == "Date":
                    try:
                        date = data_to_object(data)
                        date.recalc_sort_value()
                        data["sortval"] = date.sortval
                    except Exception:  # never block a write on one bad date
                        pass
                return data


            def handle_shutdown(_signum, _frame):
                try:
                    os.write(sys.stderr.fileno(), b"interrupted: run `app init` to continue")
                except Exception:
                    pass
                os._exit(1)


            class ContextLog:
                def send_job(self, request, response, body):
                    payload = self.create_payload(request, response, body)
                    try:
                        requests.post(url="https://telemetry.example.org", json=payload, timeout=3.0)
                    except:  # noqa: E722
                        pass


            def object_counts(connection, models_by_table):
                for table in list(models_by_table):
                    try:
                        with connection.cursor() as cursor:
                            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
                            count = int(cursor.fetchone()[0])
                    except Exception:
                        continue
                    models_by_table[table].count = count
                return models_by_table
        """,
        "app/lost.py": """
            import requests


            def send_receipt(mail, message):
                try:
                    mail.send(message)
                except Exception:  # expect: BL402
                    pass


            def mark_archived(connection, table):
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(f"UPDATE {table} SET archived = 1")
                except Exception:  # expect: BL402
                    pass


            class PaymentClient:
                def notify_paid(self, order):
                    try:
                        requests.post(url=self.webhook_url, json=order.as_dict(), timeout=3.0)
                    except Exception:  # expect: BL402
                        pass


            def finish(job):
                try:
                    job.wait()
                except Exception:  # expect: BL402
                    pass
        """,
    }
    check_annotated(project, files, "BL402")


def test_bl402_a_container_dropped_to_be_rebuilt(project) -> None:  # type: ignore[no-untyped-def]
    """open-webui deletes a file's vector collection before indexing the new content into it: the deletion
    fails when the collection is not there yet. A deletion nothing fills again afterwards stays reported."""
    files = {
        "app/retrieval.py": """
            from fastapi.concurrency import run_in_threadpool


            async def process_file(request, form_data, file):
                collection_name = f"file-{file.id}"
                try:
                    await VECTOR_DB_CLIENT.delete_collection(collection_name=collection_name)
                except Exception:
                    pass
                docs = split(form_data.content)
                return await run_in_threadpool(
                    save_docs_to_vector_db, request, docs=docs, collection_name=collection_name
                )


            async def delete_knowledge(knowledge_id):
                try:
                    await VECTOR_DB_CLIENT.delete_collection(collection_name=knowledge_id)
                except Exception:  # expect: BL402
                    pass
                await Knowledges.delete_knowledge_by_id(knowledge_id)
        """,
    }
    check_annotated(project, files, "BL402")


def test_bl402_request_path_predicates_and_context_processors(project) -> None:  # type: ignore[no-untyped-def]
    """A yes/no check of a client's key (``-> bool``, or answering a comparison: opal-server) answers False
    for a key that does not parse; a Django context processor (modoboa: ``context_processors.py``, taking
    ``request`` like a view) degrades to defaults on every page by design. A view answering a page without
    the data it failed to load stays reported, in both modules."""
    files = {
        "scopes/api.py": """
            from fastapi import APIRouter, HTTPException

            router = APIRouter()


            def verify_private_key(private_key: str, key_format) -> bool:
                try:
                    key = cast_private_key(private_key, key_format=key_format)
                    return key is not None
                except Exception as e:
                    return False


            def key_parses(private_key, key_format):
                try:
                    key = cast_private_key(private_key, key_format=key_format)
                    return key is not None
                except Exception:
                    return False


            def load_scope(scope_id):
                try:
                    return scopes.get(scope_id)
                except Exception:  # expect: BL402
                    return None


            @router.put("/scopes")
            async def put_scope(scope_in: dict):
                if not verify_private_key(scope_in["key"], "pem") or not key_parses(scope_in["key"], "ssh"):
                    raise HTTPException(status_code=422, detail="invalid private key")
                return load_scope(scope_in["id"])
        """,
        "core/context_processors.py": """
            from core.parameters import get_global_parameters


            def theme(request):
                try:
                    params = dict(get_global_parameters(app="core"))
                except Exception:
                    return {}
                return {"theme_primary_color": params.get("theme_primary_color", "")}
        """,
        "core/views.py": """
            from django.shortcuts import render

            from core.parameters import get_global_parameters


            def settings_page(request):
                try:
                    params = dict(get_global_parameters(app="core"))
                except Exception:  # expect: BL402
                    return render(request, "settings.html", {})
                return render(request, "settings.html", params)
        """,
    }
    check_annotated(project, files, "BL402")


def test_bl403_upstream_failures_logged_or_relayed(project) -> None:  # type: ignore[no-untyped-def]
    """changedetection.io answers a failed page fetch 502, with its message in one of its answers; label-studio
    answers an optional tips fetch with the upstream's status or 404: the other service's failure relayed. A
    500 for a failure of this service, logged without its traceback, stays reported."""
    files = {
        "app/views.py": """
            import json
            import logging

            import requests
            from django.http import HttpResponse
            from flask import make_response

            logger = logging.getLogger(__name__)


            def snapshot(url):
                try:
                    screenshot = run_async_in_browser_loop(fetch_snapshot(url))
                except Exception as e:
                    logger.error(f"Add-watch snapshot fetch failed for {url}: {e}")
                    if "ECONNREFUSED" in str(e):
                        return make_response("Unable to start the browser session", 502)
                    return make_response(str(e).splitlines()[0], 502)
                return make_response(screenshot, 200)


            def heidi_tips(request):
                response = None
                try:
                    response = requests.get(TIPS_URL, timeout=5)
                    response.raise_for_status()
                except Exception:
                    content = {}
                    status_code = 404
                    if response is not None:
                        content["detail"] = response.reason
                        status_code = response.status_code
                    return HttpResponse(json.dumps(content), content_type="application/json", status=status_code)
                return HttpResponse(response.content, content_type="application/json")


            def save_order(request):
                try:
                    order = Order.objects.create(**json.loads(request.body))
                except Exception as e:  # expect: BL403
                    logger.error(f"could not save the order: {e}")
                    status_code = 500
                    return HttpResponse("could not save", status=status_code)
                return HttpResponse(order.pk)
        """,
    }
    check_annotated(project, files, "BL403")


def test_bl402_batch3_best_effort_and_parses(project) -> None:  # type: ignore[no-untyped-def]
    """Corpus batch 3 (octoprint, arize-phoenix): a dummy LDAP bind run for its timing, a request body parsed
    into a default only to read its keys, SSDP datagrams over UDP, a parse-or-None helper of an endpoint, and an
    optional UserInfo call whose fallback is the claims the function already holds. A write whose failure
    answers the claims it already has is still reported, in the endpoint's module."""
    files = {
        "app/ldap.py": """
            from secrets import token_hex


            class LDAPAuthenticator:
                def _dummy_bind_for_timing(self, server, password):
                    dummy_dn = f"cn=dummy-{token_hex(8)},dc=invalid,dc=local"
                    try:
                        self._verify_user_password(server, dummy_dn, password)
                    except Exception:
                        # Expected to fail - we only care about the timing, not the result
                        pass
        """,
        "app/discovery.py": """
            import socket

            import tornado.httputil


            def reserved_keys(handler):
                keys = list(handler.request.query_arguments.keys())
                arguments = {}
                files = {}
                try:
                    tornado.httputil.parse_body_arguments(handler.content_type, handler.buffer, arguments, files)
                except Exception:
                    pass
                return keys + list(arguments.keys())


            def notify(sock, message, addr, port):
                try:
                    for _ in range(2):
                        # send twice, stuff might get lost, it's only UDP
                        sock.sendto(message.encode("utf-8"), (addr, port))
                except Exception:
                    pass
        """,
        "app/routes.py": """
            from typing import Optional

            from fastapi import APIRouter

            router = APIRouter()


            def _parse_session_global_id(session_identifier: str) -> Optional[int]:
                try:
                    global_id = GlobalID.from_id(session_identifier)
                    return from_global_id_with_expected_type(global_id, "ProjectSession")
                except Exception:
                    return None


            async def _claims(oauth2_client, token_data, id_token_claims):
                try:
                    userinfo_claims = await oauth2_client.userinfo(token=token_data)
                    return {**userinfo_claims, **id_token_claims}
                except Exception:
                    # Fallback: ID token has essential claims for authentication
                    return id_token_claims


            async def _remember(db, id_token_claims):
                try:
                    await db.save(id_token_claims)
                    await db.commit()
                except Exception:  # expect: BL402
                    return id_token_claims
                return id_token_claims


            @router.get("/sessions/{session_identifier}")
            async def get_session(session_identifier: str, oauth2_client, token_data, db):
                session_id = _parse_session_global_id(session_identifier)
                claims = await _claims(oauth2_client, token_data, {"sub": session_identifier})
                return {"id": session_id, "claims": await _remember(db, claims)}
        """,
    }
    check_annotated(project, files, "BL402")


def test_bl402_batch4_fail_closed_branches_filters_and_retry_flags(project) -> None:  # type: ignore[no-untyped-def]
    """mlflow's authentication helpers answer None for a caller they cannot authenticate, also when the user
    store fails (fail closed: the middleware answers 401 or tries the next scheme); mlflow's scorer loop uses
    an exception as a yes/no test (``try: builtin(); continue`` then the other branch); appdaemon skips a
    config entry that does not validate; askbot's badge setup leaves its ``READY`` flag unset on failure so
    the next request retries. askbot's account deletion answered as done and a lookup without a "not
    authenticated" answer of its own stay reported."""
    files = {
        "auth/middleware.py": """
            from django.http import HttpResponseRedirect
            from django.urls import reverse
            from starlette.requests import Request as StarletteRequest

            from auth.store import store

            BADGES_READY = False


            def _authenticate_internal_delegation_token(request: StarletteRequest) -> "User | None":
                username = verify_delegation_credential(request.headers.get("X-Delegation"))
                if username is None:
                    return None
                try:
                    return store.get_user(username)
                except Exception:
                    return None


            def _authenticate_flask_delegation_token(request):
                username = verify_delegation_credential(request.headers.get("X-Delegation"))
                if not username:
                    return None
                try:
                    store.get_user(username)
                except Exception:
                    return None
                return Authorization("basic", data={"username": username, "password": ""})


            def _authenticate_fastapi_request(request: StarletteRequest) -> "User | None":
                if user := _authenticate_internal_delegation_token(request):
                    return user
                credentials = basic_auth_credentials(request)
                try:
                    return authenticate_cached(*credentials)
                except Exception:
                    return None


            def user_from_token(request):
                try:
                    return store.get_user(request.headers["X-User"])
                except Exception:  # expect: BL402
                    return None


            def _registered_scorer_names(names):
                registered = set()
                for name in names:
                    builtin = get_builtin_scorer_class(name)
                    if builtin is not None:
                        try:
                            builtin()
                            continue
                        except Exception:
                            pass
                    registered.add(name)
                return sorted(registered)


            def from_config_files(cls, paths):
                cfg = {}
                for p in paths:
                    for new, new_cfg in read_config_file(p).items():
                        try:
                            cls.model_validate({new: new_cfg})
                        except Exception:
                            continue
                        cfg[new] = new_cfg
                return cls.model_validate(cfg)


            def init_badges_once(sender, **kwargs):
                global BADGES_READY
                if not BADGES_READY:
                    try:
                        init_badges()
                    except:
                        pass
                    else:
                        BADGES_READY = True


            def edit_user(request, subject):
                if request.method == "POST" and "terminate_account" in request.POST:
                    try:
                        subject.delete()
                    except:  # expect: BL402
                        pass
                    return HttpResponseRedirect(reverse("index"))


            def send_all(messages, transport):
                for message in messages:
                    try:
                        transport.send(message)
                        continue
                    except Exception:  # expect: BL402
                        continue
        """,
    }
    check_annotated(project, files, "BL402")


def test_bl402_documented_failures_and_datagram_sockets(project) -> None:  # type: ignore[no-untyped-def]
    """archivebox's optional planner maintenance (a comment in the handler says why) and approximate row counts
    (the docstring: "Returns {} on any failure"), privacyidea's log sanitiser (the docstring names the
    placeholder it answers), fides' documented fallback to the raw config, octoprint's SSDP announcements over
    a UDP socket. A comment naming only what is caught, a TODO, an undocumented empty answer and a TCP
    socket stay reported."""
    files = {
        "app/db.py": """
            import socket

            import sqlalchemy
            from django.db import connection


            def approximate_row_counts(connection) -> dict[str, int]:
                \"\"\"Cheap per-table approximate row counts from the backend's optimizer stats.

                Returns {} on any failure; tables never analyzed may be absent.
                \"\"\"
                counts: dict[str, int] = {}
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT tbl, stat FROM sqlite_stat1")
                        counts = {t: int(s) for t, s in cursor.fetchall()}
                except Exception:
                    return {}
                return counts


            def connector_type(connection_config):
                \"\"\"The SaaS connector type if available, None otherwise.\"\"\"
                try:
                    saas_config = connection_config.get_saas_config()
                    if saas_config:
                        return saas_config.type
                except Exception:
                    # If the SaaS config is invalid, read the type directly from the raw config
                    if isinstance(connection_config.saas_config, dict):
                        return connection_config.saas_config.get("type")
                return None


            def run_db_analyze_batch(remaining):
                try:
                    with connection.cursor() as cursor:
                        next_table, *rest = remaining
                        cursor.execute(f"ANALYZE {connection.ops.quote_name(next_table)}")
                        return rest
                except Exception:
                    # Optional planner maintenance must not prevent queued captures.
                    return []


            def censor_connect_string(connect_string):
                \"\"\"Return a sanitized connect string that can be written to the log.

                In case any error occurs, return "<error when censoring connect string>"
                \"\"\"
                try:
                    parsed = sqlalchemy.engine.url.make_url(connect_string)
                    return parsed.__repr__()
                except Exception:
                    return "<error when censoring connect string>"


            def load_stats(connection):
                \"\"\"Row counts for the admin index.\"\"\"
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("DELETE FROM stale_stats")
                        return cursor.fetchall()
                except Exception:  # expect: BL402  # connection / integrity error
                    return []


            def load_events(connection):
                \"\"\"Events of the admin index; an error page when the store fails.\"\"\"
                try:
                    return connection.events.all()
                except Exception:  # expect: BL402
                    return []


            def admin_index(request):
                return {
                    "counts": approximate_row_counts(connection),
                    "stats": load_stats(connection),
                    "events": load_events(connection),
                    "type": connector_type(request.connection_config),
                    "url": censor_connect_string(request.url),
                }


            def save_all(items):
                for item in items:
                    try:
                        item.save()
                    except Exception:  # expect: BL402
                        # TODO handle this
                        pass


            def ssdp_notify(addresses, message, logger):
                for addr in addresses:
                    try:
                        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
                        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
                        sock.bind((addr, 0))
                        logger.debug("Sending NOTIFY via {}".format(addr))
                        for _ in range(2):
                            sock.sendto(message.encode("utf-8"), ("239.255.255.250", 1900))
                    except Exception:
                        pass


            def push_status(hosts, message):
                for host in hosts:
                    try:
                        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                        sock.connect((host, 9000))
                        sock.sendall(message)
                    except Exception:  # expect: BL402
                        pass
        """,
    }
    check_annotated(project, files, "BL402")
