"""BL701 and BL703 judged where the value is deployed (backlint/checks/debug_mode.py,
backlint/analysis/settings_chain.py): a Werkzeug debug run only a main guard reaches is the development
server unless the project's deployment runs the module; a settings value in a base module is judged in
the settings modules that star-import it; a value the deployment's own settings overlay is a default."""

from __future__ import annotations

from typing import Any

import pytest

# ihatemoney's run.py: the dev server in a main() only the main guard calls (the deployment runs gunicorn).
IHATEMONEY_RUN = """from flask import Flask

from ihatemoney.web import main as web_interface


def create_app():
    app = Flask(__name__)
    app.register_blueprint(web_interface)
    return app


def main():
    app = create_app()
    app.run(host="0.0.0.0", debug=True)


if __name__ == "__main__":
    main()
"""
# superdesk's content_api/app/__init__.py: the development runner under the guard, host and port computed.
SUPERDESK_APP = """import os

from flask import Flask


def get_app():
    return Flask(__name__)


if __name__ == "__main__":
    host = "0.0.0.0"
    port = int(os.environ.get("PORT", "5400"))
    app = get_app()
    app.run(host=host, port=port, debug=True, use_reloader=True)
"""


def _found(project: Any, select: str, *paths: str) -> set[tuple[str, int, str]]:
    result = project.lint(*(paths or (".",)), "--select", select, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    return {(f["path"], f["line"], f["level"]) for f in result.json()["findings"]}


def test_a_dev_server_only_the_main_guard_reaches(project: Any) -> None:
    project.write("ihatemoney/__init__.py", "")
    project.write("ihatemoney/web.py", "from flask import Blueprint\n\nmain = Blueprint('main', __name__)\n")
    project.write("ihatemoney/run.py", IHATEMONEY_RUN)
    project.write("content_api/__init__.py", "")
    project.write("content_api/app/__init__.py", SUPERDESK_APP)
    project.write("Dockerfile", 'FROM python:3.12\nCOPY . /srv\nCMD ["gunicorn", "ihatemoney.wsgi:application"]\n')
    assert _found(project, "BL701") == set()
    project.write("Procfile", "web: python -m ihatemoney.run\n")
    assert _found(project, "BL701") == {("ihatemoney/run.py", 14, "error")}
    project.write(
        "deploy/api.yaml",
        "spec:\n  containers:\n    - name: content-api\n      command: [python, -u, -m, content_api.app]\n",
    )
    found = project.lint(".", "--select", "BL701", "--format", "json").json()["findings"]
    assert {(f["path"], f["line"]) for f in found} == {("ihatemoney/run.py", 14), ("content_api/app/__init__.py", 14)}
    api = next(f for f in found if f["path"].startswith("content_api"))
    assert api["related"][0]["path"] == "deploy/api.yaml" and "command:" in api["message"]


def test_a_main_called_from_elsewhere_is_not_dev_only(project: Any) -> None:
    """A console entry point calling ``main()`` runs the debugger wherever it is installed."""
    code = IHATEMONEY_RUN + "\n\ndef cli():\n    main()\n"
    project.write("ihatemoney/run.py", code)
    assert _found(project, "BL701") == {("ihatemoney/run.py", 14, "error")}


KIWI_COMMON = """import os

INSTALLED_APPS = ["django.contrib.auth", "tcms"]
ROOT_URLCONF = "tcms.urls"

# ~~ You have to override the following settings in product.py
# Set to False for production
DEBUG = True

# ~~ You may want to override the following settings as well
ALLOWED_HOSTS = ["*"]
"""
KIWI_PRODUCT = """import os

from tcms.settings.common import *  # noqa: F401,F403

# Debug settings
DEBUG = False

try:
    from .local_settings import *  # noqa: F401,F403
except ImportError:
    pass
"""
KIWI_DEVEL = "from .common import *  # noqa: F403\n\nDEBUG = True\n"
KIWI_WSGI = (
    "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
    'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tcms.settings.product")\napplication = get_wsgi_application()\n'
)


def _kiwi(project: Any, product: str = KIWI_PRODUCT) -> None:
    project.write("tcms/__init__.py", "")
    project.write("tcms/settings/__init__.py", "")
    project.write("tcms/settings/common.py", KIWI_COMMON)
    project.write("tcms/settings/product.py", product)
    project.write("tcms/settings/devel.py", KIWI_DEVEL)
    project.write("tcms/wsgi.py", KIWI_WSGI)


def test_a_base_settings_module_the_deployed_one_overrides(project: Any) -> None:
    """kiwitcms: common.py's documented defaults; product.py (named by wsgi.py) sets DEBUG = False and
    overlays the deployment's local settings; devel.py is dev-only."""
    _kiwi(project)
    assert _found(project, "BL701,BL703") == set()
    assert _found(project, "BL701,BL703", "tcms/settings/common.py") == set(), "one file judges with the project"
    _kiwi(project, KIWI_PRODUCT.replace("DEBUG = False\n", ""))
    assert _found(project, "BL701") == {("tcms/settings/common.py", 8, "warning")}
    no_overlay = KIWI_PRODUCT.replace("try:\n    from .local_settings import *  # noqa: F401,F403\n", "")
    _kiwi(project, no_overlay.replace("except ImportError:\n    pass\n", ""))
    assert _found(project, "BL703") == {("tcms/settings/common.py", 11, "note")}
    assert _found(project, "BL701") == set()


def test_an_override_before_the_import_does_not_count_and_the_named_base_is_deployed(project: Any) -> None:
    _kiwi(project, "DEBUG = False\nfrom tcms.settings.common import *  # noqa: F403\n")
    assert _found(project, "BL701") == {("tcms/settings/common.py", 8, "warning")}
    _kiwi(project)
    project.write("tcms/wsgi.py", KIWI_WSGI.replace("tcms.settings.product", "tcms.settings.common"))
    assert _found(project, "BL701") == {("tcms/settings/common.py", 8, "warning")}


@pytest.mark.parametrize("only", ["config/settings.py", "config/settings/production.py"])
def test_the_only_settings_module_keeps_its_findings(project: Any, only: str) -> None:
    project.write(only, KIWI_COMMON)
    assert _found(project, "BL701,BL703") == {(only, 8, "warning"), (only, 11, "note")}


PULP_SETTINGS = """from dynaconf import DjangoDynaconf, Validator

INSTALLED_APPS = ["django.contrib.auth", "pulpcore.app"]
ROOT_URLCONF = "pulpcore.app.urls"
DEBUG = False
ALLOWED_HOSTS = ["*"]

settings = DjangoDynaconf(
    __name__,
    ENVVAR_PREFIX_FOR_DYNACONF="PULP",
    validators=[Validator("SECRET_KEY", must_exist=True)],
)
"""


def test_a_settings_module_overlaid_by_dynaconf(project: Any) -> None:
    """pulpcore: DjangoDynaconf(__name__) reads the deployment's settings file and PULP_* variables over
    the module's names: ALLOWED_HOSTS there is a default, like env.list(..., default=["*"])."""
    project.write("pulpcore/app/settings.py", PULP_SETTINGS)
    assert _found(project, "BL703") == set()
    project.write("pulpcore/app/settings.py", PULP_SETTINGS.replace("settings = DjangoDynaconf(", "LOADER = dict("))
    assert _found(project, "BL703") == {("pulpcore/app/settings.py", 6, "note")}
    project.write("pulpcore/app/settings.py", PULP_SETTINGS.replace("DEBUG = False", "DEBUG = True"))
    assert _found(project, "BL701") == {("pulpcore/app/settings.py", 5, "warning")}, "a default that turns debug on"


# doccano's backend/config: base.py reads DEBUG with a true default; production.py (named by wsgi.py,
# celery.py and the CLI) sets it off; heroku.py and aws.py are alternatives no entry point names;
# manage.py names the development settings.
DOCCANO_BASE = """from environs import Env

env = Env()
INSTALLED_APPS = ["django.contrib.auth", "api"]
ROOT_URLCONF = "config.urls"

# SECURITY WARNING: don't run with debug turned on in production!
DEBUG = env.bool("DEBUG", True)
ALLOWED_HOSTS = ["*"]
"""
DOCCANO_ENTRY = (
    "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
    'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")\n'
    "application = get_wsgi_application()\n"
)


def _doccano(project: Any) -> None:
    project.write("config/__init__.py", "")
    project.write("config/settings/__init__.py", "")
    project.write("config/settings/base.py", DOCCANO_BASE)
    project.write("config/settings/production.py", "from .base import *  # noqa: F401,F403\n\nDEBUG = False\n")
    project.write("config/settings/development.py", "from .base import *  # noqa: F403\n")
    project.write("config/settings/heroku.py", "import django_heroku\n\nfrom .base import *  # noqa: F403\n")
    project.write("config/settings/aws.py", "from .base import *  # noqa: F403\n\nAWS_REGION = 'eu-west-1'\n")
    project.write("config/wsgi.py", DOCCANO_ENTRY)
    project.write("manage.py", DOCCANO_ENTRY.replace("production", "development"))


def test_the_settings_module_the_entry_points_name_is_the_deployed_one(project: Any) -> None:
    """doccano: DEBUG survives in heroku.py and aws.py, which no entry point names; the production.py that
    wsgi.py names turns it off. ALLOWED_HOSTS = ["*"] survives in production.py: still reported."""
    _doccano(project)
    assert _found(project, "BL701,BL703") == {("config/settings/base.py", 9, "note")}
    # Without the entry point naming it, every leaf settings module is deployed.
    project.write("config/wsgi.py", "from django.core.wsgi import get_wsgi_application\n\napplication = 1\n")
    assert _found(project, "BL701") == {("config/settings/base.py", 8, "warning")}
    # A deployment file naming the heroku settings deploys them.
    project.write("config/wsgi.py", DOCCANO_ENTRY)
    project.write("Dockerfile", "FROM python:3.12\nENV DJANGO_SETTINGS_MODULE=config.settings.heroku\nCMD gunicorn\n")
    assert _found(project, "BL701") == {("config/settings/base.py", 8, "warning")}
    project.write("Dockerfile", "FROM python:3.12\nCMD python manage.py migrate --settings=config.settings.aws\n")
    assert _found(project, "BL701") == {("config/settings/base.py", 8, "warning")}
    project.write("Dockerfile", "FROM python:3.12\nCMD gunicorn config.wsgi\n")
    assert _found(project, "BL701") == set()
    project.write(
        "deploy/web.yaml",
        "spec:\n  containers:\n    - name: web\n      env:\n        - name: DJANGO_SETTINGS_MODULE\n"
        '          value: "config.settings.heroku"\n',
    )
    assert _found(project, "BL701") == {("config/settings/base.py", 8, "warning")}


# allianceauth's Django project template: base.py ("DO NOT EDIT", defaults with debug on) and the
# settings/local.py every install edits and deploys: it star-imports the base, switches debug off and
# names its host; the template's wsgi.py names it (with startproject's placeholder for the package).
AA_BASE = """INSTALLED_APPS = ["django.contrib.auth", "allianceauth"]
ROOT_URLCONF = "allianceauth.urls"

DEBUG = True
ALLOWED_HOSTS = ["*"]
"""
AA_LOCAL = """from .base import *
from urllib.parse import urlparse

SITE_URL = "https://example.com"

# Django security
ALLOWED_HOSTS = [urlparse(SITE_URL).hostname]

# Change this to enable/disable debug mode, which displays
# useful error messages but can leak sensitive data.
DEBUG = False
"""
AA_WSGI = (
    "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
    'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{{ project_name }}.settings.local")\n'
    "application = get_wsgi_application()\n"
)


def test_a_local_settings_module_that_switches_debug_off_is_the_deployed_one(project: Any) -> None:
    """A module matching `dev-settings-globs` (settings/local*.py) that sets DEBUG = False is written for
    deployment: the base's defaults it re-assigns are not deployed; one that leaves debug alone stays dev-only."""
    project.write("project_name/__init__.py", "")
    project.write("project_name/settings/__init__.py", "")
    project.write("project_name/settings/base.py", AA_BASE)
    project.write("project_name/wsgi.py", AA_WSGI)
    project.write("project_name/settings/local.py", AA_LOCAL)
    assert _found(project, "BL701,BL703") == set()
    assert _found(project, "BL701,BL703", "project_name/settings/base.py") == set(), "one file judges with the project"
    # Deployed now, so its own wildcard is reported there.
    project.write("project_name/settings/local.py", AA_LOCAL.replace("[urlparse(SITE_URL).hostname]", '["*"]'))
    assert _found(project, "BL703") == {("project_name/settings/local.py", 7, "note")}
    # A local module that leaves debug as the base sets it is a developer's: the base is what deploys.
    project.write("project_name/settings/local.py", AA_LOCAL.replace("DEBUG = False\n", ""))
    assert _found(project, "BL701,BL703") == {
        ("project_name/settings/base.py", 4, "warning"),
        ("project_name/settings/base.py", 5, "note"),
    }
