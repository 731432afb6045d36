"""The pure logic of benchmarks/corpus/triage.py: line-free keys, precision, vanished true findings."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CORPUS = Path(__file__).resolve().parent.parent / "benchmarks" / "corpus"


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, CORPUS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fetch = _load("fetch")
triage = _load("triage")

VIEWS = """\
from db import conn


def search(request):
    q = request.args["q"]
    rows = conn.execute(f"SELECT * FROM t WHERE name = '{q}'")
    return rows


def other(request):
    rows = conn.execute(f"SELECT * FROM t WHERE name = '{q}'")
"""


def _report(*items: tuple[str, int, int]) -> dict[str, object]:
    return {
        "findings": [
            {"rule_id": rule, "path": "app/views.py", "line": line, "end_line": end, "column": 5, "message": "m"}
            for rule, line, end in items
        ]
    }


def _findings(source: str, *items: tuple[str, int, int], tmp_path: Path) -> list[object]:
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / "views.py").write_text(source, encoding="utf-8")
    return triage.findings_from_report("demo", _report(*items), tmp_path)


def test_key_has_no_line_number_and_survives_lines_added_above(tmp_path: Path) -> None:
    before = _findings(VIEWS, ("BL101", 6, 6), tmp_path=tmp_path)
    shifted = "import os\n\n\n" + VIEWS.replace("    rows = conn", "    rows  =   conn", 1)
    after = _findings(shifted, ("BL101", 9, 9), tmp_path=tmp_path)
    assert before[0].key == after[0].key
    assert before[0].key == (
        "demo",
        "BL101",
        "app/views.py",
        "rows = conn.execute(f\"SELECT * FROM t WHERE name = '{q}'\")",
        0,
    )
    assert before[0].at == "app/views.py:6" and after[0].at == "app/views.py:9"


def test_identical_flagged_lines_get_occurrence_indexes_in_line_order(tmp_path: Path) -> None:
    found = _findings(VIEWS, ("BL101", 11, 11), ("BL101", 6, 6), tmp_path=tmp_path)
    assert [(f.line, f.occurrence) for f in found] == [(6, 0), (11, 1)]
    assert found[0].key[:4] == found[1].key[:4]
    # another rule on the same line is counted apart
    found = _findings(VIEWS, ("BL101", 6, 6), ("BL104", 6, 6), ("BL101", 11, 11), tmp_path=tmp_path)
    assert sorted((f.rule, f.occurrence) for f in found) == [("BL101", 0), ("BL101", 1), ("BL104", 0)]


def test_short_spans_use_every_line_long_spans_only_the_first() -> None:
    lines = ["try:", "    x()", "except Exception:", "    pass", "y = 1", "z = 2"]
    assert triage.key_code(lines, 3, 4, "BL402") == "except Exception: pass"
    assert triage.key_code(lines, 1, 6, "BL401") == "try:"
    assert triage.key_code(lines, 1, 4, "BL401") == "try: x() except Exception: pass"
    assert triage.key_code(lines, 99, 99, "BL401") == ""


def test_secret_rules_never_key_on_the_secret_itself() -> None:
    secret = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2"
    lines = [f'STRIPE_KEY = "{secret}"', 'PASSWORD = "hunter22"', 'sql = "SELECT secret_value FROM t"']
    masked = triage.key_code(lines, 1, 1, "BL201")
    assert secret not in masked and masked == 'STRIPE_KEY = "sk_l…(32 chars)"'
    assert triage.key_code(lines, 2, 2, "BL202") == 'PASSWORD = "…(8 chars)"'
    # a literal left open on the flagged line (a PEM block) is masked to the end of the line
    pem = "KEY = '''-----BEGIN RSA PRIVATE KEY-----MIIEpAIBAAKCAQEA"
    assert triage.key_code([pem], 1, 1, "BL201") == "KEY = '''----…(47 chars)"
    # masking is stable on text that is already masked
    assert triage.mask_literals('X = "…(8 chars)"') == 'X = "…(8 chars)"'
    # other rules keep their literals (SQL text is what identifies them)
    assert triage.key_code(lines, 3, 3, "BL101") == 'sql = "SELECT secret_value FROM t"'


def _entry(rule: str, code: str, verdict: str, occurrence: int = 0, app: str = "demo") -> object:
    return triage.Entry(app, rule, "app/views.py", code, occurrence, verdict, "why", "app/views.py:1", "m")


def _finding(rule: str, code: str, occurrence: int = 0, app: str = "demo") -> object:
    return triage.Finding(app, rule, "app/views.py", 1, 1, 1, "message", code, occurrence)


def test_precision_per_rule_and_overall() -> None:
    findings = [_finding("BL101", "a"), _finding("BL101", "b"), _finding("BL101", "c"), _finding("BL402", "d")]
    findings.append(_finding("BL105", "e"))
    entries = {e.key: e for e in [_entry("BL101", "a", "tp"), _entry("BL101", "b", "fp"), _entry("BL402", "d", "tp")]}
    entries[("demo", "BL105", "app/views.py", "e", 0)] = _entry("BL105", "e", "fp")
    cmp = triage.compare(findings, entries, {"demo"}, {"BL101", "BL402", "BL105"}, {"BL101", "BL402"})
    bl101 = cmp.by_rule["default"]["BL101"]
    assert (bl101.tp, bl101.fp, bl101.untriaged) == (1, 1, 1)
    assert bl101.precision == pytest.approx(0.5)
    overall = cmp.overall("default")
    assert (overall.tp, overall.fp, overall.untriaged) == (2, 1, 1)
    assert overall.precision == pytest.approx(2 / 3)
    # the off-by-default rule is counted in its own section only
    assert cmp.overall("opt_in").fp == 1 and "BL105" not in cmp.by_rule["default"]
    assert [f.code for f in cmp.untriaged] == ["c"]
    assert [f.code for f, _ in cmp.fp_present] == ["b", "e"]
    assert cmp.vanished_tp == []
    assert triage.Tally().precision is None


def test_vanished_true_findings_are_found_and_fixed_false_alarms_counted() -> None:
    entries = {
        e.key: e
        for e in [
            _entry("BL101", "a", "tp"),
            _entry("BL101", "a", "tp", occurrence=1),
            _entry("BL101", "b", "fp"),
            _entry("BL105", "x", "tp"),
            _entry("BL101", "z", "tp", app="other-app"),
        ]
    }
    findings = [_finding("BL101", "a")]
    cmp = triage.compare(findings, entries, {"demo"}, {"BL101"}, {"BL101"})
    assert [(e.code, e.occurrence) for e in cmp.vanished_tp] == [("a", 1)]
    assert cmp.fp_gone == 1
    # BL105 did not run (off by default): listed apart, not a vanished true finding
    assert [e.rule for e in cmp.tp_not_run] == ["BL105"]
    # with it selected, its missing true finding is one
    cmp = triage.compare(findings, entries, {"demo"}, {"BL101", "BL105"}, {"BL101"})
    assert sorted(e.rule for e in cmp.vanished_tp) == ["BL101", "BL105"]


def test_stub_round_trips_and_bad_triage_files_are_rejected() -> None:
    f = _finding("BL202", 'PASSWORD = "…(8 chars)" # "quoted" \\ back')
    text = triage.stub(f, "fp", "fp: placeholder")
    entries = triage.parse_triage(text, "t.toml", {"demo"})
    assert list(entries) == [f.key]
    assert entries[f.key].verdict == "fp"
    # a stub not yet filled in is untriaged, not an error
    assert triage.parse_triage(triage.stub(f), "t.toml")[f.key].verdict == ""
    with pytest.raises(triage.TriageError, match="verdict must be"):
        triage.parse_triage(triage.stub(f, "maybe", "x"), "t.toml")
    with pytest.raises(triage.TriageError, match="needs a one-line reason"):
        triage.parse_triage(triage.stub(f, "tp", " "), "t.toml")
    with pytest.raises(triage.TriageError, match="duplicate key"):
        triage.parse_triage(text + "\n" + text, "t.toml")
    with pytest.raises(triage.TriageError, match="not an app of this set"):
        triage.parse_triage(text, "t.toml", {"someone-else"})
    with pytest.raises(triage.TriageError, match="missing"):
        triage.parse_triage('[[finding]]\napp = "demo"\n', "t.toml")


def test_apps_file_is_valid_and_holds_a_mixed_holdout() -> None:
    apps = fetch.load_apps()
    assert len(apps) >= 18
    holdout = [a for a in apps if a.set == "holdout"]
    assert len(holdout) >= 6
    assert len({a.framework for a in holdout}) >= 3
    assert fetch.select_apps(apps, "holdout") == holdout
    with pytest.raises(fetch.CorpusError, match="unknown app"):
        fetch.select_apps(apps, "all", "no-such-app")


def test_batches_are_recorded_selected_and_reported_apart(tmp_path: Path) -> None:
    apps = fetch.load_apps()
    assert {a.batch for a in apps} >= {1, 2}
    second = fetch.select_apps(apps, "holdout", batch=2)
    assert len(second) >= 4 and all(a.set == "holdout" and a.batch == 2 for a in second)
    assert all(a.batch == 1 for a in fetch.select_apps(apps, "all", batch=1))
    # batch 2's split is the mechanical rule of apps.toml's header: sorted by (framework, name), alternated
    batch2 = sorted((a for a in apps if a.batch == 2), key=lambda a: (a.framework, a.name))
    assert [a.set for a in batch2] == [("tuning", "holdout")[i % 2] for i in range(len(batch2))]
    # batch 5's split: the same rule starting with holdout (apps.toml's header)
    batch5 = sorted((a for a in apps if a.batch == 5), key=lambda a: (a.framework, a.name))
    assert len(batch5) == 12
    assert [a.set for a in batch5] == [("holdout", "tuning")[i % 2] for i in range(len(batch5))]
    bad = tmp_path / "apps.toml"
    entry = 'name = "x"\nversion = "1"\nframework = "flask"\nset = "tuning"\nfile = "x.whl"\npaths = ["x"]\n'
    bad.write_text(f'[[app]]\n{entry}sha256 = "{"0" * 64}"\nbatch = "2"\n', encoding="utf-8")
    with pytest.raises(fetch.CorpusError, match="batch must be an integer"):
        fetch.load_apps(bad)
    first, later = apps[0], second[0]
    runs = [triage.Run(later, [], 1, 0.0, 0.0, []), triage.Run(first, [], 1, 0.0, 0.0, [])]
    assert [[r.app.name for r in rs] for rs in triage.by_batch(runs).values()] == [[first.name], [later.name]]
    report = triage.batch_report("holdout", 2, runs[:1], triage.Comparison(), select_all=False)
    assert report[0].startswith(f"--- holdout, batch 2 (1 app(s): {later.name})")


def test_unpack_refuses_members_outside_the_app_directory(tmp_path: Path) -> None:
    import tarfile

    src = tmp_path / "src"
    (src / "app-1.0" / "pkg").mkdir(parents=True)
    (src / "app-1.0" / "pkg" / "mod.py").write_text("x = 1\n")
    (src / "evil.py").write_text("y = 2\n")
    archive = tmp_path / "app-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src / "app-1.0", arcname="app-1.0")
        tf.add(src / "evil.py", arcname="app-1.0/../../evil.py")
    dest = tmp_path / "out"
    fetch.unpack(archive, dest)
    assert (dest / "pkg" / "mod.py").read_text() == "x = 1\n"
    assert not (tmp_path / "evil.py").exists() and not list(dest.rglob("evil.py"))


# -- --write-precision: the catalog's measured field ---------------------------------------------

RULE_FILE = """id = "BL402"
name = "exception-swallowed"
level = "warning"
precision = "high"
tags = ["reliability"]
"""


def test_measured_precision_is_written_after_the_precision_line_then_replaced(tmp_path: Path) -> None:
    from backlint.core.catalog import parse_measured  # the catalog loader's validation of the written line

    (tmp_path / "BL402.toml").write_text(RULE_FILE)
    by_set = {"tuning": {"BL402": triage.Tally(tp=12, fp=1, untriaged=2)}, "holdout": {}}
    assert triage.write_precision(by_set, ["BL402", "BL999"], "2026-12-07", "9d0baa9", tmp_path) == ["BL402"]
    text = (tmp_path / "BL402.toml").read_text()
    line = (
        'measured = { date = "2026-12-07", commit = "9d0baa9", tuning = { tp = 12, all = 13 }, '
        "holdout = { tp = 0, all = 0 } }"
    )
    assert text == RULE_FILE.replace('precision = "high"\n', f'precision = "high"\n{line}\n')
    measured = parse_measured(tomllib.loads(text)["measured"])
    assert measured.text() == "92 % (12/13) on tuning, no findings on holdout (2026-12-07, 9d0baa9)"
    by_set["tuning"]["BL402"] = triage.Tally(tp=13, fp=0)
    triage.write_precision(by_set, ["BL402"], "2026-12-08", "abcdef1", tmp_path)
    again = (tmp_path / "BL402.toml").read_text()
    assert again.count("measured = ") == 1 and "tuning = { tp = 13, all = 13 }" in again


@pytest.mark.parametrize(
    "value",
    [
        {"date": "7 Dec", "commit": "9d0baa9", "tuning": {"tp": 1, "all": 1}},
        {"date": "2026-12-07", "commit": "HEAD", "tuning": {"tp": 1, "all": 1}},
        {"date": "2026-12-07", "commit": "9d0baa9", "tuning": {"tp": 2, "all": 1}},
        {"date": "2026-12-07", "commit": "9d0baa9", "tuning": {"tp": True, "all": 1}},
        {"date": "2026-12-07", "commit": "9d0baa9"},
        {"date": "2026-12-07", "commit": "9d0baa9", "tuning": {"tp": 1, "all": 1}, "recall": 1},
    ],
)
def test_the_catalog_rejects_a_malformed_measured_field(value: dict) -> None:  # type: ignore[type-arg]
    from backlint.core.catalog import parse_measured

    with pytest.raises(ValueError):
        parse_measured(value)


def test_the_rules_doc_shows_the_measured_precision() -> None:
    import dataclasses

    from backlint.core.catalog import Measured, load_catalog

    catalog = load_catalog()
    measured = Measured("2026-12-07", "9d0baa9", (("tuning", 27, 28), ("holdout", 5, 5)))
    rules = dict(catalog.rules)
    rules["BL403"] = dataclasses.replace(rules["BL403"], measured=measured)
    page = dataclasses.replace(catalog, rules=rules).rules_markdown()
    assert "| warning | on | high | 96 % (27/28) · 100 % (5/5) |" in page
    assert "Measured precision: 96 % (27/28) on tuning, 100 % (5/5) on holdout (2026-12-07, 9d0baa9)." in page


# -- defaults earned by precision ----------------------------------------------------------------


def _rule(tmp_path: Path, rule: str, measured: str, enabled: bool = True) -> None:
    flag = "" if enabled else "enabled = false\n"
    (tmp_path / f"{rule}.toml").write_text(f'id = "{rule}"\nprecision = "high"\nmeasured = {measured}\n{flag}')


def test_a_default_rule_under_the_bar_is_named_unless_it_is_kept_on(tmp_path: Path) -> None:
    stamp = 'date = "2026-12-08", commit = "2fe3d62"'
    _rule(tmp_path, "BL777", f"{{ {stamp}, tuning = {{ tp = 17, all = 20 }}, holdout = {{ tp = 4, all = 4 }} }}")
    _rule(tmp_path, "BL778", f"{{ {stamp}, tuning = {{ tp = 2, all = 3 }}, holdout = {{ tp = 1, all = 3 }} }}")
    _rule(tmp_path, "BL779", f"{{ {stamp}, tuning = {{ tp = 1, all = 4 }}, holdout = {{ tp = 0, all = 0 }} }}")
    _rule(tmp_path, "BL780", f"{{ {stamp}, tuning = {{ tp = 0, all = 9 }}, holdout = {{ tp = 0, all = 0 }} }}", False)
    _rule(tmp_path, "BL403", f"{{ {stamp}, tuning = {{ tp = 50, all = 52 }}, holdout = {{ tp = 7, all = 10 }} }}")
    found = {(s.rule, s.where, s.tp, s.total, s.kept) for s in triage.short_of_bar(tmp_path)}
    assert found == {
        ("BL777", "tuning", 17, 20, False),  # 85 % on a set with 5+ findings
        ("BL778", "both sets", 3, 6, False),  # neither set has 5, together they do
        ("BL403", "holdout", 7, 10, True),  # kept on by decision
    }  # BL779: 4 findings keep their default; BL780 is off by default
    texts = {s.rule: s.text() for s in triage.short_of_bar(tmp_path)}
    assert texts["BL777"] == "BL777 is on by default at 85 % (17/20) on tuning: turn it off (enabled = false) or fix it"
    assert texts["BL403"].endswith("kept on by decision: fix its false alarms")


def test_every_rule_on_by_default_earns_it_by_its_measured_precision() -> None:
    """The committed `measured` fields (written by --write-precision) decide the defaults."""
    rules = CORPUS.parent.parent / "rules"
    assert [s.text() for s in triage.short_of_bar(rules) if not s.kept] == []
