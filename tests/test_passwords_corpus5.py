"""BL304 false-alarm patterns of corpus batch 5 (scrapydweb), with their hard positives: ``# expect:``
comments are the exact findings."""

from __future__ import annotations

from annotations import check_annotated


def test_a_key_files_path_and_the_uploaded_files_logged(project) -> None:  # type: ignore[no-untyped-def]
    """scrapydweb logs the paths of its HTTPS certificate and private key (``PRIVATEKEY_FILEPATH``: where
    the key is, not the key) and, in debug, ``request.files`` (FileStorage reprs: each file's name and
    type). The basic-auth password it logs at startup, and the form it logs, stay reported."""
    check_annotated(
        project,
        {
            "scrapydweb/utils/check_app_config.py": """
            import logging

            logger = logging.getLogger(__name__)


            def check_app_config(config):
                if config.get("ENABLE_AUTH", False):
                    user, password = config["USERNAME"], config["PASSWORD"]
                    logger.info("Basic auth enabled with USERNAME/PASSWORD: '%s'/'%s'", user, password)  # expect: BL304
                if config.get("ENABLE_HTTPS", False):
                    certificate, key = config["CERTIFICATE_FILEPATH"], config["PRIVATEKEY_FILEPATH"]
                    logger.info("Running in HTTPS mode: %s, %s", certificate, config["PRIVATEKEY_FILEPATH"])
            """,
            "scrapydweb/views/baseview.py": """
            import logging

            from flask import request
            from flask.views import View

            logger = logging.getLogger(__name__)


            class BaseView(View):
                def dispatch_request(self, **kwargs):
                    if request.files:
                        logger.debug("request.files from %s\\n\\n    %s\\n", request.url, request.files)
                    return "ok"


            class LoginView(View):
                def dispatch_request(self, **kwargs):
                    logger.debug("login form %s", request.form)  # expect: BL304
                    return "ok"
            """,
        },
        "BL304",
    )
