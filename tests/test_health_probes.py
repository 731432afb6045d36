"""BL603 by the project's own deployment: a probe (Dockerfile HEALTHCHECK, Kubernetes/Helm httpGet, compose
healthcheck, fly.toml/render.yaml/app.yaml) that asks for a path no route of the app serves
(backlint/analysis/deploy_probes.py, backlint/pipeline/deployfiles.py); the literal reading behind
``require-health-endpoint``; the same verdict from partial runs, standard input and the cache."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, run_cli

from backlint.analysis.deploy_probes import probes
from backlint.core.facts import SideFile

APP = """from fastapi import APIRouter, FastAPI

router = APIRouter(prefix="/api/v1")


@router.get("/orders/{order_id}")
async def get_order(order_id: int):
    return {"id": order_id}
{extra}

app = FastAPI()
app.include_router(router)
"""
APP_LINE = 11
DOCKERFILE = """FROM python:3.12-slim
COPY . /srv
RUN pip install /srv
HEALTHCHECK --interval=30s --timeout=3s \\
    CMD curl -fsS http://localhost:8000/healthz || exit 1
CMD ["uvicorn", "shop.main:app", "--host", "0.0.0.0"]
"""
HEALTHZ = '\n\n@router.get("/healthz")\nasync def healthz():\n    return {"ok": True}\n'


def _app(project: Any, extra: str = "") -> None:
    project.write("shop/__init__.py", "")
    project.write("shop/main.py", APP.replace("{extra}", extra))


def _bl603(project: Any, *args: str) -> list[dict[str, Any]]:
    result = project.lint(".", "--select", "BL603", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.stderr
    return list(result.json()["findings"])


def test_a_dockerfile_probe_the_app_does_not_serve(project: Any) -> None:
    _app(project)
    project.write("Dockerfile", DOCKERFILE)
    (found,) = _bl603(project)
    assert (found["path"], found["line"]) == ("shop/main.py", APP_LINE)
    assert "`/healthz`" in found["message"] and "Dockerfile HEALTHCHECK" in found["message"]
    assert [(r["path"], r["line"]) for r in found["related"]] == [("Dockerfile", 4)]


def test_a_probe_the_app_serves_under_its_router_prefix_is_no_finding(project: Any) -> None:
    """The manifest asks for the routes' full paths (the router's prefix joined): served; a path no route
    serves is reported with the manifest's line."""
    _app(project, HEALTHZ)
    project.write(
        "deploy/k8s/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
        "      - name: shop\n        image: registry.example.com/shop:2.1\n        readinessProbe:\n"
        "          httpGet:\n            path: /api/v1/healthz\n            port: 8000\n"
        "        livenessProbe:\n          httpGet:\n            path: '/api/v1/orders/1'\n            port: 8000\n",
    )
    assert _bl603(project) == []
    project.write("deploy/k8s/deployment.yaml", "spec:\n  readinessProbe:\n    httpGet:\n      path: /ready\n")
    (found,) = _bl603(project)
    assert found["related"][0]["path"] == "deploy/k8s/deployment.yaml" and "`/ready`" in found["message"]


def test_the_served_probe_path(project: Any) -> None:
    """A route with a parameter serves the probed path (a business route probed: the deployment's choice)."""
    _app(project)
    project.write("Dockerfile", DOCKERFILE.replace("/healthz", "/api/v1/orders/7"))
    assert _bl603(project) == []


def test_no_deployment_files_no_finding_unless_required(project: Any) -> None:
    _app(project)
    assert _bl603(project) == []
    project.write("pyproject.toml", "[tool.backlint]\nrequire-health-endpoint = true\n")
    (found,) = _bl603(project)
    assert "no health endpoint" in found["message"] and found["line"] == APP_LINE


def test_compose_probes_only_of_services_built_from_the_project(project: Any) -> None:
    _app(project)
    project.write(
        "docker-compose.yml",
        "services:\n  redis:\n    image: redis:7\n    healthcheck:\n"
        '      test: ["CMD", "curl", "-f", "http://localhost:8001/metrics"]\n'
        "  api:\n    build: .\n    healthcheck:\n      test:\n        - CMD-SHELL\n"
        "        - wget -qO- http://127.0.0.1:8000/status || exit 1\n"
        "  worker:\n    build: .\n    healthcheck:\n      disable: true\n"
        "      test: curl -f http://localhost:8000/nothing\n",
    )
    (found,) = _bl603(project)
    assert "`/status`" in found["message"] and "/metrics" not in found["message"]
    assert found["related"][0]["line"] == 9  # the test key


def test_a_fixture_apps_own_dockerfile_is_that_apps(tmp_path: Path) -> None:
    """Deployment files apply to the apps under the nearest directory above them with Python files: in
    the fixtures (linted although the repository's configuration excludes them) each app has its own."""
    result = run_cli(
        "fixtures/flask_factory_app", "fixtures/probe_served_app", "--select", "BL603", "--format", "json",
        cwd=FIXTURES.parent,
    )  # fmt: skip
    found = result.json()["findings"]
    assert [(f["path"], [r["path"] for r in f["related"]]) for f in found] == [
        ("fixtures/flask_factory_app/library/__init__.py", ["fixtures/flask_factory_app/Dockerfile"])
    ]


@pytest.fixture
def probed(tmp_path: Path) -> Path:
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "flask_factory_app", root)
    (root / "pyproject.toml").write_text("[tool.backlint]\n", encoding="utf-8")
    return root


def _places(root: Path, *args: str, stdin: str | None = None) -> set[tuple[str, int, str]]:
    result = run_cli("--select", "BL603", "--format", "json", *args, cwd=root, input=stdin)
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    return {(f["path"], f["line"], f["related"][0]["path"]) for f in result.json()["findings"]}


def test_partial_runs_stdin_and_the_cache_read_the_same_deployment(probed: Path) -> None:
    full = _places(probed, "--no-cache")
    assert full == {("library/__init__.py", 15, "Dockerfile")}
    assert _places(probed) == full  # fills the cache
    assert _places(probed) == full  # from it
    assert _places(probed, "library/__init__.py") == full
    text = (probed / "library" / "__init__.py").read_text(encoding="utf-8")
    assert _places(probed, "--stdin-filename", "library/__init__.py", "-", stdin=text) == full
    # The probe now asks for a served route: the cached verdict is not reused.
    dockerfile = probed / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text(encoding="utf-8").replace("/healthz", "/books/"), encoding="utf-8")
    assert _places(probed) == set()
    assert _places(probed, "library/__init__.py") == set()
    assert _places(probed, "--stdin-filename", "library/__init__.py", "-", stdin=text) == set()


# --------------------------------------------------------------------------- the reader


def _read(name: str, text: str) -> list[tuple[str, int, bool]]:
    return [(p.path, p.line, p.suffix_only) for p in probes([SideFile(name, text)])]


def test_dockerfile_forms() -> None:
    text = (
        "FROM x\n"
        'HEALTHCHECK CMD ["wget", "-q", "--spider", "http://127.0.0.1:5000/ping?full=1"]\n'
        "HEALTHCHECK NONE\n"
        "healthcheck --start-period=5s CMD curl -f localhost:8080/live || exit 1\n"
        "HEALTHCHECK CMD curl -f http://db.internal:5432/ready\n"  # another host
        "HEALTHCHECK CMD curl -f http://localhost:${PORT:-8080}/health | jq .status\n"
        "HEALTHCHECK CMD curl -f http://localhost/$PROBE_PATH\n"  # a variable path: not judged
        "HEALTHCHECK CMD pg_isready -U postgres\n"
    )
    assert _read("docker/api.Dockerfile", text) == [
        ("/ping", 2, False),
        ("/live", 4, False),
        ("/health", 6, False),
    ]


def test_kubernetes_helm_and_platform_files() -> None:
    manifest = (
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: web\n      startupProbe:\n"
        "        httpGet: {path: /x}\n"  # a flow mapping: not read
        '      readinessProbe:\n        httpGet:\n          path: "/readyz"  # ready\n'
        "    - name: sidecar\n      livenessProbe:\n        exec:\n          command: [cat, /tmp/ok]\n"
        "---\nkind: Pod\nspec:\n  containers:\n  - livenessProbe:\n      httpGet:\n"
        "        path: {{ .Values.livePath }}\n"
    )
    assert _read("k8s/pod.yaml", manifest) == [("/readyz", 10, False)]
    assert _read("render.yaml", "services:\n  - type: web\n    healthCheckPath: /healthz\n") == [("/healthz", 3, False)]
    gae = "runtime: python312\nreadiness_check:\n  path: '/readiness_check'\n  check_interval_sec: 5\n"
    assert _read("app.yaml", gae) == [("/readiness_check", 3, False)]
    fly = '[http_service]\n  internal_port = 8080\n[[http_service.checks]]\n  path = "/up"\n[env]\n  path = "/no"\n'
    assert _read("fly.toml", fly) == [("/up", 4, False)]
    compose = (
        "services:\n  isso:\n    build:\n      context: .\n    healthcheck:\n"
        "      test: wget --no-verbose --spider $$ISSO_ENDPOINT/info || exit 1\n"
    )
    assert _read("docker-compose.yml", compose) == [("/info", 6, True)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00\x01\x02 livenessProbe:\n\thttpGet:\n\t\tpath: /x\n",
        "readinessProbe:\n" + "  " * 5000 + "httpGet:\n",
        "- - - - - -\n" * 2000 + "livenessProbe:\n  httpGet:\n    path: /ok\n",
        "services:\n  a:\n    build: .\n    healthcheck:\n      test: [\n" + "x, " * 50000 + "\n",
        "key: |\n  readinessProbe:\n    httpGet:\n      path: /in-a-block\n",
        "HEALTHCHECK CMD curl " + "\\\n" * 5000 + "http://localhost/h\n",
        "livenessProbe: " + ":" * 100000 + "\n" + " " * 100000 + "a: b\n",
    ],
)
def test_malformed_files_never_raise(text: str) -> None:
    for name in ("Dockerfile", "deploy.yaml", "docker-compose.yml", "fly.toml"):
        found = probes([SideFile(name, text)])
        assert all(p.path.startswith("/") for p in found)
    assert probes([SideFile("deploy.yaml", "key: |\n  readinessProbe:\n    httpGet:\n      path: /x\n")]) == []


def test_the_walk_finds_deployment_files_and_their_scopes(tmp_path: Path) -> None:
    from backlint.pipeline.deployfiles import deployment_paths
    from backlint.pipeline.projectfiles import ProjectFiles

    for name in (
        "Dockerfile",
        "deploy/k8s/api.yaml",
        "services/billing/Procfile",
        "services/billing/billing/app.py",
        "node_modules/pkg/docker-compose.yml",
        ".github/workflows/ci.yml",
        "vendor/tool/Dockerfile",
        "vendor/tool/tool.py",
        "shop/app.py",
        "a/b/c/d/e/f/g/Dockerfile",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    files = ProjectFiles(tmp_path)
    assert deployment_paths(files, ("vendor",)) == [
        ("Dockerfile", ""),
        ("deploy/k8s/api.yaml", ""),
        ("services/billing/Procfile", "services/billing"),
    ]
    # a run over the excluded tree reads its deployment files
    assert ("vendor/tool/Dockerfile", "vendor/tool") in deployment_paths(files, ("vendor",), ["vendor/tool/tool.py"])
