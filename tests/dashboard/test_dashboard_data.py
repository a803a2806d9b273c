"""The dashboard's data without a browser: reading reports (audit schema and zoo sweep), clear
messages for files it cannot read, base-file impact, the baseline diff, and escaping."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import dash_reports
from audit_helpers import validate_report
from detaudit.dashboard import markdown
from detaudit.faces.cli.dashboard import cmd_dashboard
from detaudit.dashboard.data import combine
from detaudit.dashboard.model import ReportError, baseline_fingerprints, fingerprint, load
from detaudit.dashboard.site import script_data, script_json, single_page

ROOT = Path(__file__).resolve().parents[2]


def _data_of(site: Path) -> dict:
    text = (site / "data.js").read_text().rstrip()
    head, tail = "window.DETAUDIT_DATA=JSON.parse(", ");"
    assert text.startswith(head) and text.endswith(tail)
    return json.loads(json.loads(text[len(head):-len(tail)]))


def test_report_with_suppressions_follows_schema_1_2(tmp_path):
    doc = json.loads(dash_reports.write(tmp_path / "r.json", dash_reports.config_names(4)).read_text())
    assert doc["schema_version"] == "1.2"
    validate_report(doc)
    assert doc["audits"][1]["suppressed"][0]["code"] == "DA603"
    assert "suppressed" not in doc["audits"][0]   # only when there are some


def test_audit_report_rows_keep_fingerprints_and_tables(tmp_path):
    names = dash_reports.config_names(10)
    loaded = load(dash_reports.write(tmp_path / "r.json", names))
    assert [a["path"] for a in loaded.audits] == names
    report = dash_reports.report(names)
    assert [f["fp"] for f in loaded.audits[0]["findings"]] == [f.fingerprint for f in report.audits[0].findings]
    first = loaded.audits[0]
    assert first["model"]["modules"][2] == {"path": "rpn_head", "type": "RPNHead", "params": 600_000,
                                            "trainable": 600_000, "mode": "train", "bn_train": 2}
    assert first["run"]["changes"] == [{"key": "train_cfg.max_epochs", "why": "one epoch is enough to run every hook",
                                        "value": "1"}]
    assert {f["group"] for f in first["findings"]} == {"freezing", "data/classes", "checkpoints"}


def test_zoo_sweep_report_is_read_and_fingerprinted_like_findings():
    loaded = load(ROOT / "docs" / "zoo-report-projects.json")
    assert loaded.source.kind == "zoo" and loaded.source.configs == len(loaded.audits) == 48
    a = next(a for a in loaded.audits if a["findings"])
    f = a["findings"][0]
    assert f["fp"] == fingerprint(f["code"], a["path"], f["key"], f["mod"])
    assert a["run"] is None and a["model"] is None


@pytest.mark.parametrize("content, expected", [
    ('{"schema_version": "1.1", "tool": {"name": "detaudit"', "looks truncated"),
    ('{"schema_version": "9.0", "tool": {"name": "detaudit", "version": "9"}, "audits": []}',
     "report schema 9.0 is not one this dashboard reads"),
    ('{"tool": {"name": "other"}, "audits": []}', "not a detaudit report (tool.name is 'other')"),
    ('[1, 2]', "not a detaudit report (no 'audits' list)"),
    ('{"schema_version": "1.1", "tool": {"name": "detaudit"}, "audits": [{"config": ""}]}',
     "malformed audit: an audit without a config path"),
])
def test_unreadable_report_has_a_one_line_message_naming_the_file(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ReportError) as err:
        load(path)
    assert str(err.value).startswith(str(path)) and expected in str(err.value)
    assert "\n" not in str(err.value)


def test_dashboard_renders_the_good_reports_and_names_each_bad_one(tmp_path, capsys):
    good = dash_reports.write(tmp_path / "good.json", dash_reports.config_names(6))
    older = dash_reports.edit(dash_reports.write(tmp_path / "older.json", ["other/x.py"]),
                              tool={"name": "detaudit", "version": "0.0.9", "rule_packs": []}, schema_version="1.0")
    truncated = tmp_path / "truncated.json"
    truncated.write_text(good.read_text()[:500])
    future = dash_reports.edit(dash_reports.write(tmp_path / "future.json", ["z.py"]), schema_version="2.0")
    code = cmd_dashboard([str(good), str(truncated), str(older), str(future), "-o", str(tmp_path / "site")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{truncated}: not valid JSON" in err and f"{future}: report schema 2.0" in err
    assert f"different detaudit versions (0.0.9: {older}; 0.1.0: {good})" in err
    data = _data_of(tmp_path / "site")
    assert len(data["configs"]) == 7 and len(data["errors"]) == 2
    assert data["versions"] == ["0.0.9", "0.1.0"]


def test_dashboard_with_no_readable_report_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert cmd_dashboard([str(bad), "-o", str(tmp_path / "site")]) == 2
    assert not (tmp_path / "site").exists()
    assert "no report could be read" in capsys.readouterr().err


def test_impact_groups_findings_by_the_base_file_line_that_owns_them(tmp_path):
    names = dash_reports.config_names(30)
    data = combine([load(dash_reports.write(tmp_path / "r.json", names))])
    top = data["impact"][0]
    assert (top["file"], top["line"]) == ("_base_/schedules/schedule_1x.py", 12)
    assert top["configs"] == [i for i in range(30) if i % 3 == 0]
    assert top["codes"] == {"DA604": 10} and top["fix"] == "set end to train_cfg.max_epochs"
    # a finding located in the config itself owns no base file
    assert all(s["file"].startswith("_base_/") for s in data["impact"])


def test_diff_against_an_earlier_report_is_by_fingerprint_not_line(tmp_path):
    names = dash_reports.config_names(10)
    before = dash_reports.write(tmp_path / "before.json", names[:8])
    doc = json.loads(dash_reports.write(tmp_path / "now.json", names[2:]).read_text())
    for a in doc["audits"]:             # every line moved: still the same findings
        for f in a["findings"]:
            f["location"]["line"] = (f["location"]["line"] or 0) + 40
    Path(tmp_path / "now.json").write_text(json.dumps(doc))
    data = combine([load(tmp_path / "now.json")], baseline=(*baseline_fingerprints(before), str(before)))
    diff = data["diff"]
    report = dash_reports.report(names)
    old = {(a.config, f.code) for a in report.audits[:8] for f in a.findings}
    new = {(a.config, f.code) for a in report.audits[2:] for f in a.findings}
    assert {(data["configs"][e["config"]]["path"], e["code"]) for e in diff["new"]} == new - old
    assert {(e["config"], e["code"]) for e in diff["fixed"]} == old - new
    assert len(diff["unchanged"]) == len(old & new) > 0
    assert all(not e["audited"] for e in diff["fixed"])   # configs 0-1 are not in the new report


def test_diff_against_a_baseline_file(tmp_path, monkeypatch):
    from detaudit.report import baseline

    monkeypatch.chdir(tmp_path)
    names = dash_reports.config_names(6)
    baseline.write(dash_reports.report(names[:3]), tmp_path / "baseline.json")
    data = combine([load(dash_reports.write(tmp_path / "now.json", names))],
                   baseline=(*baseline_fingerprints(tmp_path / "baseline.json"), "baseline.json"))
    assert data["diff"]["kind"] == "baseline"
    unchanged = data["diff"]["unchanged"]
    assert {data["configs"][e["config"]]["path"] for e in unchanged} == {names[0]} and len(unchanged) == 3
    assert len(data["diff"]["new"]) == sum(len(dash_reports.audit(c, i).findings) for i, c in enumerate(names[3:], 3))
    assert data["diff"]["fixed"] == []


def test_text_cannot_break_out_of_the_script_or_the_markup():
    payload = "</script><script>alert(1)</script>\u2028&"
    text = script_json({"x": payload})
    assert "</script>" not in text and "<" not in text and "\u2028" not in text
    assert json.loads(text) == {"x": payload}
    literal = script_data({"x": payload})
    assert "<" not in literal and json.loads(json.loads(literal[len("JSON.parse("):-1])) == {"x": payload}
    assert markdown.render("# <b>t</b>\n\nA `<i>` and [x](javascript:alert(1)) <script>") == (
        '<h2>&lt;b&gt;t&lt;/b&gt;</h2>\n<p>A <code>&lt;i&gt;</code> and <a href="#">x</a>) &lt;script&gt;</p>')
    page = single_page({"title": "<t>", "configs": [], "groups": [], "sources": [], "errors": [payload],
                        "versions": [], "impact": [], "rules": {}, "suppressions": [], "diff": None})
    assert page.count("</script>") == 2 and "<title>&lt;t&gt;</title>" in page


def test_rule_docs_render_as_pages(tmp_path):
    cmd_dashboard([str(dash_reports.write(tmp_path / "r.json", dash_reports.config_names(3))),
                   "-o", str(tmp_path / "site")])
    page = (tmp_path / "site" / "rules" / "DA101.html").read_text()
    assert "<h3>What it does</h3>" in page and "lr-mult-zero-freeze" in page
    assert 'href="../app.css"' in page


def test_cli_report_carries_suppressed_findings_and_the_dashboard_lists_them(tmp_path, cli):
    from audit_helpers import validate_report

    (tmp_path / "c.py").write_text("load_from = 'missing.pth'  # detaudit: ignore[DA201]\n")
    r = cli("--tier", "static", "--select", "DA201", "--isolated", "--format", "json:r.json", "c.py", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    validate_report(doc)
    (audit,) = doc["audits"]
    assert audit["findings"] == [] and [f["code"] for f in audit["suppressed"]] == ["DA201"]
    data = combine([load(tmp_path / "r.json")])
    assert [(s["code"], s["key"], s["line"]) for s in data["suppressions"]] == [("DA201", "load_from", 1)]
    assert data["suppressions"][0]["since"] == (tmp_path / "r.json").stat().st_mtime


def test_dashboard_command_line(tmp_path, cli):
    good = dash_reports.write(tmp_path / "good.json", dash_reports.config_names(3))
    (tmp_path / "bad.json").write_text("{\"schema_version\": \"1.2\", \"tool\"")
    r = cli("dashboard", good, tmp_path / "bad.json", "-o", tmp_path / "site")
    assert r.returncode == 1
    assert f"detaudit: dashboard: {tmp_path / 'bad.json'}: not valid JSON" in r.stderr
    assert "dashboard of 3 config(s) from 1 report(s)" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    r = cli("dashboard", good, "--baseline", tmp_path / "nope.json", "-o", tmp_path / "site2")
    assert r.returncode == 2 and f"detaudit: error: --baseline {tmp_path / 'nope.json'}: no such file" in r.stderr
    r = cli("dashboard", good)
    assert r.returncode == 2 and "-o/--output" in r.stderr


def test_a_later_report_replaces_an_earlier_audit_of_the_same_config(tmp_path):
    names = dash_reports.config_names(4)
    early = dash_reports.write(tmp_path / "early.json", names)
    late = dash_reports.edit(dash_reports.write(tmp_path / "late.json", names[:1]),
                             audits=[dict(json.loads(early.read_text())["audits"][0], findings=[])])
    data = combine([load(early, 0), load(late, 1)])
    assert data["replaced"] == 1 and [c["path"] for c in data["configs"]] == names
    assert data["configs"][0]["findings"] == [] and data["configs"][0]["src"] == 1
    assert len(data["configs"][3]["findings"]) == 1 and data["configs"][3]["src"] == 0


def test_numbers_json_cannot_carry_are_dropped_not_fatal(tmp_path):
    path = dash_reports.write(tmp_path / "r.json", dash_reports.config_names(2))
    text = path.read_text().replace('"total": 8.56', '"total": NaN').replace('"seconds": 6.0', '"seconds": Infinity')
    path.write_text(text)
    assert cmd_dashboard([str(path), "-o", str(tmp_path / "site")]) == 0
    config = _data_of(tmp_path / "site")["configs"][0]
    assert "total" not in config["timings"] and "seconds" not in config["run"] and config["timings"]["run"] == 6.0
