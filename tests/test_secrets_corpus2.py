"""BL2xx false-alarm patterns of the second corpus batch (benchmarks/corpus/triage/tuning.toml), each
with its hard positive: ``# expect: BL2xx`` comments are the exact findings."""

from __future__ import annotations

import textwrap

from annotations import expected_findings


def _check(project, path: str, code: str) -> None:  # type: ignore[no-untyped-def]
    text = textwrap.dedent(code).lstrip("\n")
    project.write(path, text)
    result = project.lint(path, "--select", "BL2", "--format", "json", "--no-cache")
    found = {(f["line"], f["rule_id"]) for f in result.json()["findings"]}
    assert found == {e for e in expected_findings(text) if e[1].startswith("BL2")}


def test_a_condition_on_settings_is_no_secret(project) -> None:  # type: ignore[no-untyped-def]
    """modoboa: a form's visibility rules map each secret setting's NAME to the condition that shows
    it (``"sms_provider=ovh"``); a value testing a secret, or a plain secret, is reported."""
    _check(
        project,
        "app/sms_backends/ovh.py",
        """
        class OVHBackend:
            visibility_rules = {
                "sms_ovh_endpoint": "sms_provider=ovh",
                "sms_ovh_application_secret": "sms_provider=ovh",
                "sms_ovh_consumer_key": "sms_password_recovery=true&sms_provider=ovh",
            }
            defaults = {
                "sms_ovh_application_secret": "Xk29vLq7Pz",  # expect: BL202
            }
        """,
    )


def test_a_command_loading_initial_data_creates_the_documented_default_admin(project) -> None:  # type: ignore[no-untyped-def]
    """modoboa: the management command ``load_initial_data`` (a script, run by an operator by its file
    name) creates the documented admin/password account when none exists; the same code in another
    command, or in the app's own startup code, is a hardcoded credential."""
    command = """
        from django.core.management.base import BaseCommand

        from app import models


        class Command(BaseCommand):
            def handle(self, *args, **options):
                if not models.User.objects.filter(is_superuser=True).count():
                    admin = models.User(username=options["admin_username"], is_superuser=True)
                    admin.set_password("password"){expect}
                    admin.save()
        """
    _check(project, "app/management/commands/load_initial_data.py", command.format(expect=""))
    _check(project, "app/management/commands/rotate_keys.py", command.format(expect="  # expect: BL202"))
    _check(
        project,
        "app/startup.py",
        """
        from app import models


        def create_initial_admin():
            if not models.User.objects.exists():
                admin = models.User(username="admin", is_superuser=True)
                admin.set_password("password")  # expect: BL202
                admin.save()
        """,
    )
