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
