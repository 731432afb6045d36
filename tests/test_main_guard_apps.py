"""Apps built under ``if __name__ == "__main__":`` (backlint/analysis/web/model.py): next to the deployed
app they are try-outs, not apps to judge; alone they are the app ``python -m`` runs."""

from __future__ import annotations

from typing import Any

import pytest

# gns3-server: a router module serves itself by hand under its main guard (a websocket test page);
# the deployed app, in another module, mounts the router and has a health route.
ROUTER = (
    "from fastapi import APIRouter, WebSocket\n\nrouter = APIRouter()\n\n\n"
    "@router.websocket('/notifications/ws')\nasync def notifications(websocket: WebSocket) -> None:\n"
    "    await websocket.accept()\n\n\n"
    "if __name__ == '__main__':\n\n    import uvicorn\n    from fastapi import FastAPI\n"
    "    from starlette.responses import HTMLResponse\n\n    app = FastAPI()\n    app.include_router(router)\n\n"
    "    @app.get('/')\n    async def get() -> HTMLResponse:\n        return HTMLResponse('<html></html>')\n\n"
    "    uvicorn.run(app, host='localhost', port=8000)\n"
)
SERVER = (
    "from fastapi import FastAPI\n\nfrom .notifications import router\n\napp = FastAPI()\n"
    "app.include_router(router)\n\n\n@app.get('/v3/health')\ndef health():\n    return {'status': 'ok'}\n"
)


@pytest.fixture(autouse=True)
def _literal_bl603(project: Any) -> None:
    """These tests judge which routes an app serves through BL603's literal reading (every app needs a
    health route), on behind ``require-health-endpoint`` since BL603 follows the deployment's probes."""
    project.write("pyproject.toml", "[tool.backlint]\nrequire-health-endpoint = true\n")


def ids(project: Any) -> set[tuple[str, int, str]]:
    result = project.lint(".", "--format", "json", "--select", "BL603")
    assert result.exit_code in (0, 1), result.stderr
    return {(f["path"], f["line"], f["rule_id"]) for f in result.json()["findings"]}


def test_an_app_built_under_a_main_guard_next_to_the_deployed_app_is_a_try_out(project: Any) -> None:
    project.write("gns/__init__.py", "")
    project.write("gns/notifications.py", ROUTER)
    project.write("gns/server.py", SERVER)
    assert ids(project) == set()


def test_an_app_built_only_under_a_main_guard_is_the_app_that_runs(project: Any) -> None:
    """aiohttp style: routes at module level, the app built and run in the main block (``python -m``)."""
    project.write("svc/__init__.py", "")
    project.write("svc/notifications.py", ROUTER)
    assert ids(project) == {("svc/notifications.py", 17, "BL603")}
